"""The state of lowering one function body: the context every lowering function takes.

``Lowering`` holds what the statements of one function (the user's, or a helper being
inlined) read and change: the names bound so far (``env``), the graph builder, the staged
outside world, which statement is being lowered and what is read after it (for the alias
checks). ``Inlining`` is what a function shares with the helpers inlined into it. Besides
that state, ``Lowering`` only locates things in the user's source: errors and equations
carry the user's file and line.

``EnclosingNames`` is what a ``def`` or ``lambda`` inside the function sees of the
functions around it: their names as they are bound when it is called (Python's late
binding), the nearest first.
"""

from __future__ import annotations

import ast
import functools
import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from srcad.errors import NoDerivativeRule, SrcadError, raised_as
from srcad.frontend import ParsedFunction
from srcad.ir import Loc
from srcad.ir.builder import GraphBuilder, TraceError, Tracer, UnknownPrimitiveError
from srcad.lower.liveness import live_after
from srcad.lower.views import Views
from srcad.lower.world import World

Node = ast.stmt | ast.expr | ast.excepthandler  # a node with a line in the user's source
E = TypeVar("E", bound=SrcadError)


@dataclass(frozen=True)
class HeldArray:
    """An array a caller reads after the call, and the slot it sits in: ``(id of the list,
    dict or object of the user's holding it, its index, key or attribute)``, or None for the
    value of a name itself (``v = s.v`` holds ``s.v``'s array by name)."""

    array: object
    slot: tuple[int, object] | None


@dataclass
class Inlining:
    """What a function shares with the helpers inlined into it: the builder and the world
    of the compilation, how deep the inlining goes, the values callers read later (a
    helper must not write into them) and, for each loop around, its iterable as written,
    the arrays it goes through and the item bound by the iteration being lowered (``for
    row in y[1:]``: a write into ``y`` would change the rows still to come, one into
    ``row`` would not)."""

    builder: GraphBuilder
    depth: int
    world: World
    caller_holds: tuple[HeldArray, ...] = ()
    iterated: tuple[tuple[str, tuple[object, ...], list[object]], ...] = ()
    # lowering np.vectorize's function on arrays: an 'if' on an array chooses element by
    # element (srcad.lower.vectorized)
    elementwise: bool = False

    @property
    def outside(self) -> tuple[object, ...]:
        """The arrays callers read later (a helper must not write into them)."""
        return tuple(held.array for held in self.caller_holds)


_NONE = object()  # no value before


@dataclass(eq=False)
class Lowering:
    """The state of lowering one function body.

    ``named``: ids of the vars already given a user's name; ``loop_depth``: how many loops
    rewritten with flags enclose the statement; ``statement``: the one being lowered;
    ``alternatives``: var id -> the values it may be (see ``srcad.lower.aliasing``);
    ``live``: statement id -> the names read after it; ``unfollowed``: names the code
    binds to values srcad does not follow (a loop's target after it broke) -> why, said
    when they are read; ``checks``: ids of the expression statements of ``try`` blocks,
    whose calls may be made for the exception they raise (``np.linalg.cholesky(K)``);
    ``passed_arrays``: the arrays of the function's arguments, and ``alias_checked`` the
    ids of those the generated code checks are not also another argument (a write into
    one, see ``srcad.lower.aliasing``).
    """

    parsed: ParsedFunction
    env: dict[str, object]
    inlining: Inlining
    named: set[int] = field(default_factory=set)
    loop_depth: int = 0
    statement: ast.stmt | None = None
    alternatives: dict[int, tuple[object, ...]] = field(default_factory=dict)
    unfollowed: dict[str, str] = field(default_factory=dict)
    checks: set[int] = field(default_factory=set)
    passed_arrays: tuple[Tracer, ...] = ()
    argument_names: dict[int, str] = field(default_factory=dict)  # passed array id -> name
    # the arrays of parameters whose default is an array (``acc=np.zeros(3)``), by name
    default_arrays: dict[str, tuple[Tracer, ...]] = field(default_factory=dict)
    alias_checked: set[int] = field(default_factory=set)
    # the arguments the code writes into (with the statement of the first write): checked
    # not to be (views of) arrays the function reads from outside (``srcad.lower.function``)
    written_arguments: dict[int, tuple[Tracer, str, Node]] = field(default_factory=dict)
    # per loop being lowered (by id), ``alias_checked`` before it: each lowering of its body
    # starts from it, as the checks a discarded attempt emitted are gone with it
    checked_before_loops: dict[int, frozenset[int]] = field(default_factory=dict)
    # the ids of the values a while loop's body starts from (its carried values): a range
    # counted from one is a while loop too (srcad.lower.counted_loops)
    while_inputs: set[int] = field(default_factory=set)
    # 0-d arrays NumPy changes in place (loss = np.array(0.0); loss += v), by id (kept
    # alive): names for one see its changes, as for larger arrays
    zero_d_arrays: dict[int, object] = field(default_factory=dict)
    # values None in one branch of an ``if`` on data and computed in the other (``ret =
    # None; if x > 0: ret = x``), by id: whether they are None, a truth value of the call
    # (``ret is None`` answers it; srcad.lower.branches)
    maybe_none: dict[int, object] = field(default_factory=dict)
    # a helper's: its parameters as the caller bound them, and those it writes into in
    # place that a caller reads afterwards (name -> the caller's array), whose new values
    # the caller takes when the call returns (srcad.lower.aliasing.check_write)
    parameters: dict[str, object] = field(default_factory=dict)
    written_back: dict[str, object] = field(default_factory=dict)
    # the views the function holds, whose writes go to the arrays they view (srcad.lower.views)
    views: Views = field(default_factory=Views)
    live: dict[int, frozenset[str]] = field(init=False)

    def __post_init__(self) -> None:
        self.live = live_after(self.parsed.node.body)

    def rebound_since(self, before: Mapping[str, object]) -> list[str]:
        """The names whose values are not those of ``before`` (a call that wrote into an
        array it was passed gave its caller's names the new value), new names included."""
        return [name for name, value in self.env.items() if before.get(name, _NONE) is not value]

    @property
    def builder(self) -> GraphBuilder:
        return self.inlining.builder

    @property
    def world(self) -> World:
        return self.inlining.world

    @functools.cached_property
    def visible_names(self) -> set[str]:
        """Names the user's code can see: generated flags (``_broke1``) must not hide them.
        Worked out only for a loop with break, continue or return (the module's globals)."""
        names = {n.id for n in ast.walk(self.parsed.node) if isinstance(n, ast.Name)}
        return names | set(self.parsed.globals)

    def location(self, statement: Node) -> Loc:
        """Where ``statement`` (or an expression) is in the user's source, as its equations
        record it."""
        return Loc(self.parsed.file, statement.lineno, self._text(statement), self.parsed.name)

    def _text(self, statement: Node) -> str:
        line = self.parsed.source_line(statement.lineno) or ast.unparse(statement).splitlines()[0]
        return line.split("  # ")[0]  # without a trailing comment

    def located(self, kind: type[E], message: str, node: Node) -> E:
        """An error of ``kind`` about ``node``, at its line of the user's file."""
        return kind(message, self.parsed.file, node.lineno)

    def trace_error(self, error: TraceError, statement: ast.stmt) -> SrcadError:
        """The error to report for ``error``, raised while lowering ``statement``."""
        line = error.loc.line if error.loc else statement.lineno
        file = error.loc.file if error.loc else self.parsed.file
        if isinstance(error, UnknownPrimitiveError):
            return NoDerivativeRule(
                f"{error}; rewrite it with supported NumPy operations or give it a rule with "
                "srcad.defvjp",
                file,
                line,
            )
        return (
            raised_as(error.plain)(str(error), file, line)
            if error.plain
            else SrcadError(str(error), file, line)
        )


@dataclass(frozen=True, eq=False)
class LocalFunction:
    """A ``def`` or ``lambda`` inside the lowered function; it sees the enclosing names."""

    parsed: ParsedFunction
    signature: inspect.Signature


class EnclosingNames(Mapping):
    """The names a nested function finds in the functions around it, read when it is
    called: ``enclosing.env`` then, not when the ``def`` ran (a loop or a branch rebinds
    them in a new ``env``), and further out through the enclosing function's own
    ``EnclosingNames``."""

    def __init__(self, enclosing: Lowering):
        self.enclosing = enclosing

    def __getitem__(self, name: str) -> object:
        env = self.enclosing.env
        if name in env:
            return env[name]
        return self.enclosing.parsed.closure[name]

    def __contains__(self, name: object) -> bool:
        return name in self.enclosing.env or name in self.enclosing.parsed.closure

    def __iter__(self) -> Iterator[str]:
        return iter({**dict(self.enclosing.parsed.closure), **self.enclosing.env})

    def __len__(self) -> int:
        return sum(1 for _ in self)
