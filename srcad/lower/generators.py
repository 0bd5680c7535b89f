"""Generators run when they are consumed, as Python runs them.

A generator expression bound to a name (``gen = (v * s for v in xs)``), the call of a
generator function (``batches(X, 32)``) and ``map(f, xs)`` are ``Deferred``: Python
evaluates the expression's first iterable, or binds the call's arguments, at once, and
runs the rest as the generator is consumed, reading the names and containers it uses at
that moment. srcad runs it, to its end, where it is consumed (``sum(gen)``, ``for b in
gen``, ``a, b = gen``, any call given it), with what those hold then; consuming it a second
time is refused (Python's would be exhausted), and so is a write, before it runs, into an
array it holds (``srcad.lower.aliasing``).

A ``for`` loop over one (``loop_over_generator``) is where Python interleaves the two: the
generator makes an item, the body runs, the generator makes the next. srcad runs the
generator first, then the body once per item; that is Python's meaning unless one of them
sees what the other changed. Between two items srcad checks that the body rebound no name
the generator reads and changed no list or dict it reads, and that the generator changed
nothing the body reads and did not print or draw while the body does too; where either
happened, the loop is refused at its line (Python would have seen the change).

Before: ``gen = (v * s for v in x); s = 3.0; return sum(gen)`` summed ``v * 1.0``.
After:  it sums ``v * 3.0``, as Python does.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from srcad.errors import UnsupportedSyntax
from srcad.ir import Eqn
from srcad.ir.prims import PRIMS
from srcad.ir.walk import walk_eqns
from srcad.lower.containers import Snapshot, container_labels, differs, snapshot_containers
from srcad.lower.context import EnclosingNames, LocalFunction, Lowering
from srcad.lower.jumps import MAY_BREAK

if TYPE_CHECKING:
    from srcad.lower.context import Node


@dataclass(eq=False)
class Deferred:
    """A generator not consumed yet: ``run()`` lowers it and returns its items (a list).
    ``reads``: the names of the enclosing function it reads as it goes (a generator
    expression's, a lambda's or a nested ``def``'s free names; none for a function of the
    module, whose scope is its own and its module's); ``held``: the
    values it holds until it runs (a write into one of their arrays is refused while the
    generator may still run: Python's would see it)."""

    run: Callable[[], object]
    text: str
    reads: frozenset[str] = field(default_factory=frozenset)
    consumed: bool = False
    held: tuple[object, ...] = ()  # its first iterable, the call's arguments, map's iterables
    scope: Lowering | None = None  # the function whose names ``reads`` are


class OneShot:
    """An iterator srcad keeps symbolic (``zip`` and ``enumerate`` of arrays): like
    Python's, it is used up by the first pass over it (``consumed``)."""

    def __init__(self, text: str):
        self.text = text
        self.consumed = False

    def use_up(self) -> None:
        self.consumed = True


def consumed(lowering: Lowering, value: object, node: Node) -> object:
    """``value``, or the items of a ``Deferred`` generator, run now; a ``OneShot``
    iterator is used up."""
    if not isinstance(value, (Deferred, OneShot)):
        return value
    handed_out = getattr(value, "handed_out", None)
    if isinstance(value, OneShot) and handed_out is not None:
        value.use_up()  # next(it) took the first items: the rest, as Python's gives them
        return list(handed_out)
    if value.consumed:
        what = "generator" if isinstance(value, Deferred) else "iterator"
        raise lowering.located(
            UnsupportedSyntax,
            f"the {what} '{value.text}' is consumed a second time, where Python's would be "
            "exhausted (empty); build a list (list(...)) to go over the items twice",
            node,
        )
    if isinstance(value, OneShot):
        value.use_up()
        return value
    value.consumed = True
    return value.run()


def loop_over_generator(
    lowering: Lowering, generator: Deferred, loop: ast.For, lower_item: Callable[[object], None]
) -> None:
    """``for target in generator:``, the body lowered by ``lower_item`` once per item (see
    the module docstring)."""
    builder = lowering.builder
    made = lowering.world.made
    before = snapshot_containers(lowering.env, made)
    labels = container_labels(lowering.env, made)
    start = len(builder.eqns)
    env = dict(lowering.env)
    items = consumed(lowering, generator, loop)
    assert isinstance(items, list)  # a Deferred runs to the list of its items
    generator_effects = _has_effects(builder.eqns[start:])
    changed = lowering.rebound_since(env)
    if changed and getattr(loop, MAY_BREAK, False):
        why = f"changes '{changed[0]}' (a helper writing into an array you pass it)"
        raise _interleaved(lowering, generator, loop, why + ", and the loop may break")
    if len(items) > 1:
        _refuse_changes_the_loop_reads(lowering, generator, loop, before, labels)
    scope = generator.scope or lowering
    names = {name: scope.env[name] for name in generator.reads if name in scope.env}
    held = {f"held {k}": value for k, value in enumerate(generator.held)}
    read = snapshot_containers({**names, **held}, made)
    for k, item in enumerate(items):
        start = len(builder.eqns)
        lower_item(item)
        if k == len(items) - 1:
            return
        if generator_effects and _has_effects(builder.eqns[start:]):
            why = "prints, logs or draws as it goes, and so does the loop"
            raise _interleaved(lowering, generator, loop, why)
        rebound = [name for name, value in names.items() if scope.env.get(name) is not value]
        written = [id(container) for container, saved in read if differs(container, saved)]
        if rebound or written:
            label = rebound[0] if rebound else container_labels(names, made).get(written[0])
            why = f"reads {label or 'a list or dict it holds'!r} as it goes, which the loop changes"
            raise _interleaved(lowering, generator, loop, why)


def _refuse_changes_the_loop_reads(
    lowering: Lowering, generator: Deferred, loop: ast.For, before: Snapshot, labels: dict
) -> None:
    """Refuse a generator that changed, while srcad ran it, a list or dict the loop's body
    reads (Python's body would see each change only once the item it follows is made)."""
    body_names = {n.id for s in loop.body for n in ast.walk(s) if isinstance(n, ast.Name)}
    changed = [labels[id(c)] for c, saved in before if differs(c, saved) and id(c) in labels]
    seen = [label for label in changed if _root_name(label) in body_names]
    if seen:
        raise _interleaved(lowering, generator, loop, f"changes {seen[0]!r}, which the loop reads")


def _interleaved(lowering: Lowering, generator: Deferred, loop: ast.For, why: str) -> Exception:
    return lowering.located(
        UnsupportedSyntax,
        f"this loop goes over '{generator.text}', which {why}: Python makes each item when "
        "the loop asks for it, after the body ran for the item before; srcad makes them all "
        "first. Build the list of items first (items = list(...)), or keep what one "
        "changes out of the other's sight",
        loop,
    )


def _has_effects(eqns: list[Eqn]) -> bool:
    """Whether the equations print, log, warn, raise or draw random numbers."""
    return any(PRIMS[eqn.prim].has_effect for eqn in walk_eqns(eqns))


def _root_name(label: str) -> str:
    """``d`` of ``d['items'][0]``: the name a container label starts from."""
    return label.split("[", 1)[0].split(".", 1)[0]


def function_reads(lowering: Lowering, function: object) -> tuple[frozenset[str], Lowering]:
    """The names ``function`` reads from the functions around it when it is called, and
    the lowering whose names they are: a ``lambda``'s or nested ``def``'s free names, in the
    function that defined it; none for a function of a module."""
    closure = function.parsed.closure if isinstance(function, LocalFunction) else None
    if isinstance(function, LocalFunction) and isinstance(closure, EnclosingNames):
        return free_names(function.parsed.node), closure.enclosing
    return frozenset(), lowering


def free_names(node: ast.FunctionDef) -> frozenset[str]:
    """The names a function reads from the scopes around it: those it loads and binds
    nowhere itself (parameters, assignments, loop targets, nested definitions)."""
    arguments = node.args
    bound = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    bound |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    loaded: set[str] = set()
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name):
            (loaded if isinstance(inner.ctx, ast.Load) else bound).add(inner.id)
        elif isinstance(inner, (ast.FunctionDef, ast.ClassDef)) and inner is not node:
            bound.add(inner.name)
        elif isinstance(inner, ast.alias):
            bound.add((inner.asname or inner.name).split(".")[0])
        elif isinstance(inner, ast.ExceptHandler) and inner.name:
            bound.add(inner.name)
    return frozenset(loaded - bound)


def reads_as_it_goes(node: ast.GeneratorExp) -> frozenset[str]:
    """The names a generator expression reads after its first iterable: its element, its
    conditions and its later iterables, less its own loop variables."""
    parts: list[ast.AST] = [node.elt, *node.generators[0].ifs]
    for generator in node.generators[1:]:
        parts += [generator.iter, *generator.ifs]
    own = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
    names = {n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name)}
    return frozenset(names - own)
