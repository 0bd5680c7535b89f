"""Writes into an array that another name still in use shares: rejected with a clear error.

srcad lowers ``y[i] = v`` and ``y += v`` to a new value of ``y``. NumPy writes into the array
itself, so every other name for it changes too: a second name (``z = y``), a slice or
reshape of it (``v = y[1:]``), the array it is a slice of, or, inside a helper, the caller's
argument. When such a name is read afterwards, the two meanings differ, and srcad would
compute something else than NumPy. Rather than a silently wrong value and gradient, the
write is refused with advice (make the copy explicit). Names that are not read again
(``row = B[i]; B[i] = row / s``) are fine. "Read again" comes from ``srcad.lower.liveness``.
A write into an array passed in makes the function's own new value (the caller's array
keeps its values); since the caller may pass one array twice, the generated code checks,
before the first such write, that no other argument shares its memory
(``written_argument``; the check is ``srcad.lower.assignments.check_not_passed_twice``).
Iterators count as names for the arrays they will read: a write is refused into an array a
loop around it still goes through (``for v in y[1:]: y[-1] = ...``: NumPy's iterator sees
the write in a later row; ``iterating``), and into one that a ``zip``, a ``map`` or a
generator not run yet will go through.

Arrays are told apart by their tracers: binding a name to another (``z = y``) shares the
tracer, every computation makes a new one (even when the IR simplifies ``x * 1.0`` to ``x``),
and a view shares memory with the array its IR equation reads. A value that may be one of
several arrays has ``alternatives``: the result of an ``if`` (either branch's value), a value
a loop carries (the array it started from, what the body binds to it, or an array another
carried name also holds in the next iteration) and a loop's result (the body's last value).

    buf = x                      x2 = for(x) { x1 -> setitem(x1, ...) }
    for i in range(3):           alternatives: x1 -> (x, ...), x2 -> (setitem ...)
        x[0] *= 4.0              'x[0] *= 4.0' writes into x1, which may be x: buf sees it
    return np.sum(buf)
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.ir import Const, Var
from srcad.ir.builder import Tracer
from srcad.ir.prims import shares_memory
from srcad.lower.containers import ITERATORS, iterator_state
from srcad.lower.context import HeldArray, LocalFunction
from srcad.lower.generators import Deferred
from srcad.lower.iteration import Enumerated, Rows, Zipped
from srcad.lower.liveness import assigned, live_after, read_by_nested_functions
from srcad.lower.objects import Partial
from srcad.lower.user_code import LIBRARY_PACKAGES

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node


def check_write(lowering: Lowering, name: str, value: object, node: Node) -> list[str]:
    """Refuse writing into ``value`` (the array ``name`` holds) while another name that
    shares its memory is read afterwards; return the other names that hold the very same
    array (``z = y``), which the write changes too, when they can follow it: a statement of
    the function's own body (no branch or loop around it to carry the new value out)."""
    if not isinstance(value, (Tracer, np.ndarray)):
        return []
    live = lowering.live.get(id(lowering.statement), frozenset())
    is_top_level = any(lowering.statement is s for s in lowering.parsed.node.body)
    can_follow = is_top_level and _made_here(lowering, value)
    followers = []
    viewed = lowering.views.viewed(value)  # row = M[0]: M takes row's writes
    for other, held in lowering.env.items():
        if other == name or other not in live:
            continue
        if held is value and can_follow:
            followers.append(other)  # z = y; y[0] = 1.0: z is the new y too
        elif any(held is base for base in viewed):
            continue  # given the write (srcad.lower.assignments.give_to_viewed)
        elif any(_shares(lowering, h.array, value) for h in _held_apart_from(held, name)):
            raise _shared_write(lowering, name, f"'{other}'", node)
    sharing = [h for h in lowering.inlining.caller_holds if same_memory(lowering, h.array, value)]
    if sharing and not _writes_back(lowering, name, sharing):
        raise _shared_write(lowering, name, "the caller's argument", node, GIVEN_BACK)
    for text, arrays, items in lowering.inlining.iterated:
        is_current_item = any(_is_view_of(lowering, value, item) for item in items)
        if any(same_memory(lowering, a, value) for a in arrays) and not is_current_item:
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(node).splitlines()[0]}' writes into an array that the loop "
                f"over '{text}' still reads as it goes (its rows still to come, or what its "
                "generator reads): Python would see the write there, srcad reads the array "
                "as it was before the loop. Loop over range(len(...)) and read each row in "
                f"the body ({name}[i]), or write into a copy",
                node,
            )
    return followers


def _held_apart_from(held: object, name: str) -> list[HeldArray]:
    """The arrays ``held`` holds but the one a generator reads by ``name`` (it sees the
    write, which rebinds the name)."""
    return [h for h in held_arrays(held) if h.slot is None or h.slot[1] != reading(name)]


def _shares(lowering: Lowering, array: object, value: object) -> bool:
    """Whether ``array`` and ``value`` may share memory: in the IR (a view, alternatives),
    or as views noted of one array (``row`` and ``M`` after ``row[0] = v`` gave ``M`` its
    write: two values in the IR, one memory in NumPy)."""
    if lowering.views.disjoint(array, value):  # theta[:3] and theta[3:]: no element shared
        return False
    return same_memory(lowering, array, value) or lowering.views.related(array, value)


def _writes_back(lowering: Lowering, name: str, sharing: list[HeldArray]) -> bool:
    """Whether a write into parameter ``name`` of a helper, into the array the caller
    passed (``sharing``: the callers' arrays it shares memory with), can be given back: the
    callers hold that very array by name only (no view of it, no list holding it), and the
    helper never binds ``name`` to another value and returns at its end only. Then the
    caller's names take the array's new value when the call returns (``def step(y, out):
    out[0] = ...``), as NumPy's write into the same array shows through them."""
    original = lowering.parameters.get(name, NOT_A_PARAMETER)
    if not all(held.slot is None and held.array is original for held in sharing):
        return False
    if sum(value is original for value in lowering.parameters.values()) > 1:
        return False  # two(d, d): two names in the helper, which srcad does not both follow
    if not only_written_in_place(lowering.parsed.node, name):
        return False
    lowering.written_back[name] = original
    return True


NOT_A_PARAMETER = object()


def give_back(lowering: Lowering, original: object, new: object, call: ast.Call) -> list[str]:
    """After a helper called at ``call`` wrote into ``original``, an array of this
    function's (``_writes_back``): its names for the array take the ``new`` value. Where
    callers further out read it too, this function gives it back to them in turn (or the
    write is refused). Returns the names."""
    names = [name for name, held in lowering.env.items() if held is original]
    for name in names:
        lowering.env[name] = new
    sharing = [h for h in lowering.inlining.caller_holds if h.array is original]
    if sharing and not any(_writes_back(lowering, name, sharing) for name in names):
        given = names[0] if names else "?"
        raise _shared_write(lowering, given, "the caller's argument", call, GIVEN_BACK)
    return names


def only_written_in_place(function: ast.FunctionDef, name: str) -> bool:
    """Whether ``function``'s body never binds ``name`` to another value (``name = ...``,
    a loop's target, ``with ... as name``, ``del name``) and has no ``return`` before its
    end: its value at the end is the parameter's array, with the writes into it."""
    last = function.body[-1] if function.body else None
    in_place = {id(n.target) for n in ast.walk(function) if isinstance(n, ast.AugAssign)}
    for node in ast.walk(function):
        if id(node) in in_place:  # out += v: into the array
            continue
        if isinstance(node, ast.Return) and node is not last:
            return False
        if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.Global, ast.Nonlocal)):
            if node is not function and name in _names_bound_by(node):
                return False
        if (
            isinstance(node, ast.Name)
            and node.id == name
            and isinstance(node.ctx, (ast.Store, ast.Del))
        ):
            return False
    return True


def _names_bound_by(node: ast.AST) -> set[str]:
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return set(node.names)
    return {node.name} if isinstance(node, ast.FunctionDef) else set()


@contextlib.contextmanager
def iterating(lowering: Lowering, text: str, iterable: object) -> Iterator[None]:
    """While a loop over ``iterable`` (written ``text``) is lowered, writes into the arrays
    it goes through are refused (``check_write``), except into the item of the iteration
    being lowered (``iterated_item``): its row, which no later row shares."""
    inlining = lowering.inlining
    before = inlining.iterated
    inlining.iterated = (*before, (text, tuple(arrays_in(iterable)), []))
    try:
        yield
    finally:
        inlining.iterated = before


def iterated_item(lowering: Lowering, item: object) -> None:
    """The item the innermost loop binds in the iteration being lowered (``iterating``)."""
    if lowering.inlining.iterated:
        lowering.inlining.iterated[-1][2][:] = arrays_in(item)


def _is_view_of(lowering: Lowering, value: object, item: object) -> bool:
    """Whether ``value`` is ``item``, or a view of it (``row[1:]`` of a loop's row)."""
    atom = value.atom if isinstance(value, Tracer) else None
    target = item.atom if isinstance(item, Tracer) else None
    while isinstance(atom, Var) and target is not None:
        if atom is target:
            return True
        eqn = lowering.builder.producer(atom)
        if eqn is None or not shares_memory(eqn):
            return False
        atom = eqn.inputs[0]
    return value is item


def argument_arrays(value: object) -> list[Tracer]:
    """The arrays of an argument (in its lists, tuples and dicts too): NumPy arrays the
    caller holds, which the caller may also pass as another argument (not Python numbers;
    a 0-d one may be a 0-d array, which ``x += 1.0`` changes in place)."""
    return [a for a in arrays_in(value) if isinstance(a, Tracer) and not a.aval.is_weak]


def written_argument(lowering: Lowering, value: object) -> Tracer | None:
    """The array passed in that writing into ``value`` writes into (it, or a view of it),
    the first time only; None otherwise."""
    written = next((a for a in lowering.passed_arrays if same_memory(lowering, a, value)), None)
    if written is None or id(written) in lowering.alias_checked:
        return None
    lowering.alias_checked.add(id(written))
    return written


def _made_here(lowering: Lowering, value: object) -> bool:
    """Whether ``value`` is an array the function computed (not an argument, a value from
    outside, or a view of one): writing into it changes nothing the caller sees."""
    if not isinstance(value, Tracer):
        return False
    if value.fresh:
        return True
    is_computed = isinstance(value.atom, Var) and lowering.builder.producer(value.atom) is not None
    return is_computed and _is_plain(lowering, value)


def live_values(lowering: Lowering, call: ast.Call) -> tuple[HeldArray, ...]:
    """The arrays this function, or a caller, reads after ``call`` returns, with the slots
    that hold them: a helper called there must not write into them."""
    names = lowering.live.get(id(lowering.statement), frozenset()) - assigned(
        lowering.statement
    )  # later reads: new value
    names |= _reads_after(lowering.statement, call)
    names |= set(lowering.written_back)  # given back to the caller at the end: read there
    values = tuple(held for n in sorted(names) for held in held_arrays(lowering.env.get(n)))
    return values + lowering.inlining.caller_holds


@contextlib.contextmanager
def rewritten(
    lowering: Lowering,
    original: ast.stmt,
    statements: list[ast.stmt],
    read_after: frozenset[str] = frozenset(),
) -> Iterator[None]:
    """Liveness, while lowering them, for ``statements`` that lowering puts in place of
    ``original`` (a loop with ``break`` as a flag: copies of its statements); names of
    the lowering's own that it reads after them, ``read_after``."""
    always = read_by_nested_functions(lowering.parsed.node.body)
    after = lowering.live.get(id(original), frozenset()) | read_after
    added = live_after(statements, after, always)
    before = {key: lowering.live[key] for key in added if key in lowering.live}
    lowering.live.update(added)
    try:
        yield
    finally:  # nested rewrites may share statements: put back what was there
        for key in added:
            lowering.live.pop(key, None)
        lowering.live.update(before)


# --- values that may be one of several arrays ------------------------------------------
def join_alternatives(lowering: Lowering, outputs: list[Var], values: list[list[object]]) -> None:
    """An ``if``'s results: each may be the value of either branch."""
    for k, var in enumerate(outputs):
        lowering.alternatives[var.id] = tuple(branch[k] for branch in values)


def carry_alternatives(
    lowering: Lowering,
    before: dict[str, object],
    carried: list[str],
    in_vars: list[Var],
    extra: list[list[object]],
) -> None:
    """A loop body's carried values: the array each started from, and ``extra`` (what
    ``next_alternatives`` found it may be in later iterations)."""
    for name, var, more in zip(carried, in_vars, extra, strict=True):
        lowering.alternatives[var.id] = (before[name], *more)


def next_alternatives(
    lowering: Lowering,
    before: dict[str, object],
    in_vars: list[Var],
    ends: list[object],
    extra: list[list[object]],
) -> list[list[object]]:
    """``extra`` grown by what each carried value may be in the next iteration, given
    its value ``ends`` at the end of the body: an array from before the loop that the
    body bound to it, or the array of another carried name that ends up holding it too."""
    arrays = [a for value in before.values() for a in arrays_in(value)]
    outer = {id(root) for array in arrays for root in _roots(lowering, array)}
    end_roots = [_roots(lowering, end) if _is_array(end) else [] for end in ends]
    grown: list[list[object]] = [
        more + [r for r in roots if id(r) in outer]
        for more, roots in zip(extra, end_roots, strict=True)
    ]
    holders: dict[int, set[int]] = {}  # an array made in the loop -> who holds it
    for k, roots in enumerate(end_roots):
        for root in roots:
            if id(root) not in outer:
                holders.setdefault(id(root), set()).add(k)
    for group in holders.values():
        for k in group:
            grown[k] += [in_vars[j] for j in sorted(group - {k})]
    return [_unique(more) for more in grown]


def same_memory(lowering: Lowering, held: object, value: object) -> bool:
    """Whether NumPy's arrays for ``held`` and ``value`` (tracers, or constant arrays the
    function made, such as ``np.zeros(3)``) may share memory."""
    if held is value:
        return True  # z = y
    if (
        isinstance(held, Tracer)
        and isinstance(value, Tracer)
        and _is_plain(lowering, held)
        and _is_plain(lowering, value)
    ):
        return False  # two computations: two arrays
    return any(
        _overlap(first, second)
        for first in _roots(lowering, held)
        for second in _roots(lowering, value)
    )


def _is_plain(lowering: Lowering, tracer: Tracer) -> bool:
    """Whether ``tracer`` is an array of its own: not a view, nor one of alternatives."""
    if tracer.view:
        return False  # y.reshape(-1) of a vector: y's own array, seen again
    if tracer.fresh or not isinstance(tracer.atom, Var):
        return True
    eqn = lowering.builder.producer(tracer.atom)
    is_view = eqn is not None and shares_memory(eqn)
    return not is_view and tracer.atom.id not in lowering.alternatives


def _roots(lowering: Lowering, value: object, seen: set[int] | None = None) -> list[object]:
    """The arrays ``value``'s memory may belong to: constant arrays, vars (a view counts
    as the array it views) and fresh tracers; a var with alternatives counts as itself
    and as each of them."""
    seen = set() if seen is None else seen
    if isinstance(value, Tracer):
        if value.fresh:
            return [value]  # its own array
        value = value.atom
    while isinstance(value, Var):
        eqn = lowering.builder.producer(value)
        if eqn is not None and shares_memory(eqn):
            value = eqn.inputs[0]
            continue
        if value.id not in lowering.alternatives or value.id in seen:
            return [value]
        seen.add(value.id)
        options = lowering.alternatives[value.id]
        return [value] + [root for option in options for root in _roots(lowering, option, seen)]
    if isinstance(value, Const):
        value = value.value
    return [value] if isinstance(value, np.ndarray) else []


GIVEN_BACK = (
    " (srcad gives a helper's writes back to the caller where the helper binds its "
    "parameter to no other value, returns at its end only, is not passed the array twice, "
    "and the caller holds the array by name, not through a view or a list)"
)


def _shared_write(
    lowering: Lowering, name: str, other: str, node: Node, note: str = ""
) -> UnsupportedSyntax:
    return lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node).splitlines()[0]}' writes into an array that {other} also "
        f"refers to (or may: a reshape or a ravel is a view where NumPy can make one), and "
        f"{other} is used afterwards: NumPy would change both, srcad changes only "
        f"'{name}'{note}. To change only '{name}', write '{name} = {name}.copy()' "
        "first (or compute the new array with an expression); to change both, assign the "
        "new value where the other reads it (params[i] = p - lr * g, M[i] = row * 2)",
        node,
    )


def arrays_in(value: object) -> list[object]:
    """The arrays (traced or constant) a value holds, also inside lists, tuples, dicts and
    the attributes of objects the function made (``o.row = M[1]``), and those an iterator
    goes through (zip or enumerate of arrays, a generator or map not run yet, which will
    read them when it runs)."""
    return [held.array for held in held_arrays(value)]


def held_arrays(
    value: object, slot: tuple[int, object] | None = None, seen: frozenset[int] = frozenset()
) -> list[HeldArray]:
    """``arrays_in``, each with the slot that holds it (None: ``value`` itself is one)."""
    if isinstance(value, (Tracer, np.ndarray)):
        return [HeldArray(value, slot)]
    if id(value) in seen:
        return []  # an object that holds itself
    seen = seen | {id(value)}
    if isinstance(value, (Zipped, Enumerated)) and value.consumed:
        return []  # used up: it reads nothing more
    items: list[tuple[object, object]] = []
    # what an iterator or a function will read (ITEMS: held inside, not by a name)
    if isinstance(value, Zipped):
        items = [(ITEMS, array) for array in value.arrays]
    elif isinstance(value, Enumerated):
        items = [(ITEMS, value.inner)]
    elif isinstance(value, Rows):  # iter(x): reads x's rows until it is done
        items = [] if value.is_done else [(ITEMS, value.array)]
    elif isinstance(value, Deferred):  # and the arrays of the names it reads when it runs
        items = [] if value.consumed else [(ITEMS, held) for held in value.held]
        scope = value.scope.env if value.scope is not None and not value.consumed else {}
        items += [(reading(name), scope[name]) for name in sorted(value.reads) if name in scope]
    elif isinstance(value, LocalFunction):  # lambda o=o: o[0]: its defaults
        defaults = [p.default for p in value.signature.parameters.values()]
        items = [(ITEMS, d) for d in defaults if d is not inspect.Parameter.empty]
    elif isinstance(value, (functools.partial, Partial)):  # made here, or outside
        items = [(ITEMS, a) for a in (*value.args, *value.keywords.values())]
    elif isinstance(value, np.flatiter):  # d.flat: reads d as it goes
        items = [(ITEMS, value.base)]
    elif isinstance(value, np.nditer):  # np.nditer(d): reads d as it goes
        items = [(ITEMS, operand) for operand in _operands(value)]
    elif type(value) in ITERATORS:  # iter([o]): the items it has still to give
        remaining, position = iterator_state(value)
        items = [(ITEMS, item) for item in remaining[position:]]
    elif isinstance(value, dict):
        items = list(value.items())
    elif _has_own_attributes(value):
        items = list(vars(value).items())
    elif isinstance(value, (list, tuple)):
        items = list(enumerate(value))
    return [
        held
        for key, item in items
        for held in held_arrays(item, None if key is None else (id(value), key), seen)
    ]


ITEMS = "items"  # the slot of what an iterator, a generator or a function holds


def reading(name: str) -> str:
    """The slot of the array a generator reads by ``name`` when it runs: a write through
    that name rebinds it, which the generator then reads (a write through another name
    would not reach it: refused)."""
    return f"read by name {name}"


def _operands(iterator: np.nditer) -> tuple[np.ndarray, ...]:
    try:
        return tuple(iterator.operands)
    except ValueError:  # closed: it reads nothing more
        return ()


def _has_own_attributes(value: object) -> bool:
    """An object of a class of the user's (made in the function, or a dataclass value),
    whose attributes may hold arrays (not srcad's, NumPy's or Python's own objects)."""
    module = type(value).__module__.split(".")[0]
    is_users = module not in LIBRARY_PACKAGES and module != "builtins"
    return is_users and not isinstance(value, type) and hasattr(value, "__dict__")


def _overlap(first: object, second: object) -> bool:
    if isinstance(first, np.ndarray) and isinstance(second, np.ndarray):
        return np.may_share_memory(first, second)
    return first is second


def _is_array(value: object) -> bool:
    return isinstance(value, (Tracer, np.ndarray))


def _unique(values: list[object]) -> list[object]:
    """``values`` without repeats (by identity), in order."""
    seen: set[int] = set()
    unique: list[object] = []
    for value in values:
        if id(value) not in seen:
            seen.add(id(value))
            unique.append(value)
    return unique


def _reads_after(statement: ast.stmt | None, call: ast.Call) -> frozenset[str]:
    """Names ``statement`` reads once ``call`` has returned: those written after it, and
    those in assignment targets (``y[i] = ...`` reads ``y`` last)."""
    if statement is None:
        return frozenset()
    end = (call.end_lineno, call.end_col_offset)
    targets = statement.targets if isinstance(statement, ast.Assign) else []
    if isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        targets = [statement.target]
    late = {id(n) for target in targets for n in ast.walk(target)}
    return frozenset(
        n.id
        for n in ast.walk(statement)
        if isinstance(n, ast.Name)
        and isinstance(n.ctx, ast.Load)
        and (id(n) in late or (n.lineno, n.col_offset) >= end)
    )
