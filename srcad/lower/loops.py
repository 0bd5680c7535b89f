"""Lowering ``for`` and ``while`` loops.

A ``for`` loop over ``range`` or over an array's first axis, and a ``while`` loop, become
``for`` / ``while`` equations whose body is a sub-graph from the loop-carried variables to
their next values; the loop stays a loop in the generated code. Loops over Python lists and
tuples (whose items may differ in shape), and loops whose body changes the shape of a
carried value or grows a Python list, are unrolled; so is a ``while`` whose condition is
known at compile time. ``break`` and ``continue`` become flags first (``srcad.lower.jumps``).
The ``else`` block runs after the loop when it did not break. A body that always raises
is unrolled (its first iteration raises).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from srcad.errors import InternalError, SrcadError, UnsupportedSyntax
from srcad.frontend.parse import written_outside_names
from srcad.frontend.syntax import nodes
from srcad.frontend.unbound import TARGET_FLAG, bound_in, walrus_targets
from srcad.ir import AVal, Const, Eqn, Graph, Var
from srcad.ir.builder import GraphBuilder, StaticValueNeeded, Tracer
from srcad.lower.aliasing import (
    carry_alternatives,
    iterated_item,
    iterating,
    next_alternatives,
    rewritten,
)
from srcad.lower.assignments import assign
from srcad.lower.blocks import all_statements
from srcad.lower.branches import RaiseReached, jumps_as_flags, lower_block
from srcad.lower.containers import (
    generator_states,
    restore_containers,
    restore_generators,
    snapshot_containers,
)
from srcad.lower.counted_loops import is_call_of, lower_counted_by_data
from srcad.lower.dispatch import (
    CALL,
    dispatch_statement,
    evaluate,
    evaluate_at,
    lowers_statement,
)
from srcad.lower.generators import Deferred, consumed, loop_over_generator
from srcad.lower.iteration import (
    Iteration,
    counter_name,
    live_items,
    loop_item,
    stop_dim,
    structured_iteration,
)
from srcad.lower.jumps import MAY_BREAK, STOPPED_AT, has_jumps
from srcad.lower.liveness import read_before_bound, reads
from srcad.lower.loop_tests import (
    ConditionalAssignment,
    assigns_in_test,
    hoisted_assignments,
    retest,
)
from srcad.lower.loop_views import (
    check_rows_written_in_place,
    follow_carried_views,
    follow_views_after_loop,
    item_after,
    named_rows,
    note_carried_views,
    note_rows,
    noted_items,
    row_of,
)
from srcad.lower.operator_methods import truth_of
from srcad.lower.returns import block_returns
from srcad.lower.rows import rows_read_when_used

if TYPE_CHECKING:
    from srcad.lower.context import Lowering

MAX_UNROLL = 10_000
# A body that fails lowered for all iterations at once is tried unrolled up to this many
# iterations (``vals[-1]`` under ``if i > 0``); a longer loop keeps the error (at once).
MAX_UNROLL_AFTER_ERROR = 100
INT = AVal((), "int64", is_weak=True)
Params = tuple[tuple[str, object], ...]
# A loop body lowered: its equations, its outputs and the carried values at its end.
LoweredBody = tuple[list[Eqn], list[Var | Const], list[object]]


class _Later:
    """The stand-in of a name the loop binds first (a result set later in the loop), told
    apart from a value of the user's: ``best = None`` before a loop is the user's None,
    which a loop cannot carry (the loop is unrolled: each ``best is None`` is then known).
    ``is_counter``: the name is an inner loop's counter (an int, kept where it broke)."""

    def __init__(self, is_counter: bool = False):
        self.is_counter = is_counter

    def __repr__(self) -> str:
        return "COUNTER_LATER" if self.is_counter else "LATER"


LATER = _Later()
COUNTER_LATER = _Later(is_counter=True)


class _Unroll(Exception):
    """The loop cannot be kept as a loop; lower it iteration by iteration. ``error``: what
    lowering the body for every iteration at once met (``vals[-1]`` under ``if i > 0`` while
    ``vals`` is empty), raised where the loop cannot be unrolled."""

    def __init__(self, error: SrcadError | None = None):
        super().__init__()
        self.error = error


class _CarryMore(Exception):
    """The body gave new values to ``names``, arrays from before the loop that no
    assignment of the body names: a write through a view (``r = M[i]; r *= 2`` writes into
    ``M``). The loop is lowered again, carrying them too."""

    def __init__(self, names: list[str]):
        super().__init__()
        self.names = names


@lowers_statement(ast.For, ast.While)
def lower_loop(lowering: Lowering, node: ast.For | ast.While, since: int) -> None:
    original = node
    if isinstance(node, ast.While) and assigns_in_test(node):
        _lower_with_hoisted_assignments(lowering, node)
        return
    if isinstance(node, ast.For):
        node = rows_read_when_used(lowering, node)
    elif retest(node) and not has_jumps(node.body):  # the assignments end the body
        node = copy.copy(node)
        node.body = [*node.body, *retest(node)]
    if has_jumps(node.body):  # break / continue become flags first
        if block_returns(node.orelse):
            raise lowering.located(
                UnsupportedSyntax,
                "'return' in the 'else' of a loop that breaks or returns is not supported; "
                "assign the value in the 'else' and return it after the loop",
                node.orelse[0],
            )
        lowering.loop_depth += 1
        statements, kept = jumps_as_flags(lowering, node)
        with rewritten(lowering, original, statements, kept):  # kept: read after the loop
            for statement in statements:
                dispatch_statement(lowering, statement, len(lowering.builder.eqns))
        lowering.loop_depth -= 1
    elif block_returns(node.body):  # lower_block rewrites these; reaching here is a bug
        raise lowering.located(
            UnsupportedSyntax,
            "'return' inside this loop is not supported; assign the result to a "
            "variable and return it after the loop",
            node,
        )
    elif isinstance(node, ast.For):
        _lower_for(lowering, node)
        lower_block(lowering, node.orelse)  # it did not break: the 'else' runs
    else:
        _lower_while(lowering, node)
        lower_block(lowering, node.orelse)
    if isinstance(node, ast.For) and getattr(original, MAY_BREAK, False):
        _unfollow_target(lowering, node)


def _lower_with_hoisted_assignments(lowering: Lowering, node: ast.While) -> None:
    try:
        statements = hoisted_assignments(node)
    except ConditionalAssignment as error:
        raise lowering.located(
            UnsupportedSyntax,
            "':=' in this loop's condition assigns only on some tests (after 'and', 'or' or "
            "a chained comparison, in 'if'/'else', a lambda or a comprehension); assign before "
            "the loop and at the end of its body instead",
            error.node,
        ) from None
    with rewritten(lowering, node, statements):
        lower_block(lowering, statements)


def _unfollow_target(lowering: Lowering, node: ast.For) -> None:
    """After a loop that may break, its target holds the item it broke at: the value
    ``rewrite_jumps`` kept of it (``_stopped = i`` in the guarded body), where the loop ran
    at least once; else not followed (``rewrite_jumps`` marks the loop it makes of one with
    ``break``)."""
    stopped = getattr(node, STOPPED_AT, None)
    if stopped is not None and stopped in lowering.env:  # bound: the loop ran
        lowering.env[node.target.id] = lowering.env[stopped]  # type: ignore[attr-defined]
        return
    if stopped is not None:  # kept, yet never bound: the loop ran no iteration
        name = node.target.id  # type: ignore[attr-defined]
        if name in lowering.env:
            return  # bound before the loop: as it was, as in Python
        lowering.unfollowed[name] = (
            f"'{name}' after the loop on line {node.lineno}: the loop runs no iteration (its "
            f"range is empty), so it binds no '{name}' (Python raises UnboundLocalError)"
        )
        return
    for name in _target_names(node.target):
        lowering.env.pop(name, None)
        lowering.unfollowed[name] = (
            f"'{name}' after the loop on line {node.lineno} holds the item the loop "
            "stopped at, which depends on the data (it may break early); srcad does "
            f"not follow it: assign what you need to a variable of your own before "
            f"'break' (found = {name})"
        )


# --- for ----------------------------------------------------------------------------------
def _lower_for(lowering: Lowering, node: ast.For) -> None:
    try:
        iterable = _iterable(lowering, node)
    except StaticValueNeeded as needed:  # range(n) of an np.int64 argument n
        if not lower_counted_by_data(lowering, node, needed):
            raise
        return
    _refuse_an_iterator_left_part_way(lowering, node, iterable)
    with iterating(lowering, ast.unparse(node.iter), iterable):
        if isinstance(iterable, Deferred):  # a generator: runs now, then the body per item
            loop_over_generator(lowering, iterable, node, lambda item: _once(lowering, node, item))
        else:
            _lower_for_over(lowering, node, iterable)


def _refuse_an_iterator_left_part_way(lowering: Lowering, node: ast.For, iterable: object) -> None:
    """Refuse a loop that may break over an iterator that the code reads again after it
    (``it = iter(x); for v in it: ... break``, then ``next(it)``): Python leaves it where
    the loop broke, srcad goes through all of it when compiling."""
    if not getattr(node, MAY_BREAK, False) or not isinstance(node.iter, ast.Name):
        return
    if isinstance(iterable, Iterator) and not isinstance(iterable, (Deferred, Tracer)):
        if node.iter.id in _read_after(lowering, node):
            name = node.iter.id
            raise lowering.located(
                UnsupportedSyntax,
                f"this loop may break, and leave the iterator '{name}' part way through "
                f"(where depends on the data), but srcad goes through it whole when "
                f"compiling and '{name}' is read after the loop; loop over a list or a "
                "range and keep the position in a variable of your own",
                node,
            )


def _iterable(lowering: Lowering, node: ast.For) -> object:
    """What the loop goes through; ``reversed(range(...))`` as the range that counts down
    (``range(n - 1, -1, -1)``), so that the loop stays a loop (a backward loop of srcad's
    own gradient code, differentiated again, counts so)."""
    iterable = node.iter
    _traced_if_rows_are_written(lowering, node)
    if not is_call_of(lowering, iterable, reversed, 1):
        return evaluate(lowering, iterable)
    assert isinstance(iterable, ast.Call)
    sequence = evaluate(lowering, iterable.args[0])
    if isinstance(sequence, range):
        return sequence[::-1]
    return CALL[0](lowering, reversed, [sequence], {}, iterable)


def _traced_if_rows_are_written(lowering: Lowering, node: ast.For) -> None:
    """``M = np.zeros((2, 3)); for row in M: row += x``: the array the function made, a
    constant, taken as a value of the graph (as ``M = x * 0.0`` would be), whose rows the
    loop writes into and carries (a constant's rows are NumPy's own views, which it does
    not follow)."""
    iterated = [node.iter]
    if isinstance(node.iter, ast.Call) and isinstance(node.iter.func, ast.Name):
        if node.iter.func.id == "enumerate":  # for i, row in enumerate(M)
            iterated = node.iter.args[:1]
    arrays = [lowering.env.get(n.id) for n in iterated if isinstance(n, ast.Name)]
    arrays = [a for a in arrays if isinstance(a, np.ndarray) and a.dtype.kind in "fc"]
    targets = {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    if not arrays or not any(_writes_into(statement, targets) for statement in node.body):
        return
    for array in arrays:
        traced = lowering.builder.tracer(Const(array))
        for name, held in list(lowering.env.items()):
            if held is array:
                lowering.env[name] = traced


IN_PLACE_METHODS = frozenset({"fill", "sort", "put", "partition"})  # row.fill(0.0)
FILLING_CALLS = frozenset({"copyto", "at", "fill_diagonal", "put", "place", "putmask"})


def _writes_into(statement: ast.stmt, names: set[str]) -> bool:
    """Whether ``statement`` (or one in it) writes into an array a name in ``names``
    holds: ``row += x``, ``row[0] = v``, ``row.fill(v)``, ``np.copyto(row, v)``,
    ``np.add.at(row, i, v)``, ``np.tanh(v, out=row)``."""

    def named(node: ast.expr | None) -> bool:
        return isinstance(node, ast.Name) and node.id in names

    for node in ast.walk(statement):
        if isinstance(node, ast.AugAssign) and named(node.target):
            return True
        if (
            isinstance(node, ast.Subscript)
            and named(node.value)
            and not isinstance(node.ctx, ast.Load)
        ):
            return True
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        method = function.attr if isinstance(function, ast.Attribute) else None
        if isinstance(function, ast.Attribute) and method in IN_PLACE_METHODS:
            if named(function.value):
                return True
        if method in FILLING_CALLS and node.args and named(node.args[0]):
            return True
        if any(k.arg == "out" and named(k.value) for k in node.keywords):
            return True
    return False


def _lower_for_over(lowering: Lowering, node: ast.For, iterable: object) -> None:
    if getattr(iterable, "handed_out", None) is not None:  # next(it) took the first items
        _unroll(lowering, node, consumed(lowering, iterable, node))  # type: ignore[arg-type]
        return
    iteration = structured_iteration(iterable)
    if iteration is None:
        _unroll(lowering, node, live_items(lowering, iterable, node))
        return
    consumed(lowering, iterable, node)  # zip(x, y): used up, as Python's
    if iteration.trip_count == 0:
        return
    node = _with_target_flags_set(lowering, node)
    try:
        _structured_loop(lowering, node, iteration)
    except _Unroll as why:
        if why.error is not None and iteration.trip_count > MAX_UNROLL_AFTER_ERROR:
            error = why.error
            longer = type(error)(
                f"{error.detail} (srcad lowers a loop's body once for all its iterations; "
                f"where that fails, as when an iteration reads what only earlier ones make, "
                f"it unrolls loops of up to {MAX_UNROLL_AFTER_ERROR} iterations, and this "
                f"one runs {iteration.trip_count}: bind the value before the loop, or test "
                "the iteration with the list's length instead of the counter)",
                error.file,
                error.line,
            )
            longer.srcad_unrolled = True  # type: ignore[attr-defined] # met again around it
            raise longer from None
        if iteration.trip_count > MAX_UNROLL:
            raise lowering.located(
                SrcadError,
                f"this loop changes the shape of a value it carries or grows a Python list, "
                f"and runs {iteration.trip_count} times (too many to unroll); keep shapes "
                "fixed across iterations (preallocate with np.zeros, assign y[i] = ...)",
                node,
            ) from None
        try:
            _unroll(lowering, node, noted_items(lowering, iteration))
        except SrcadError as error:
            if why.error is not None:  # met again unrolled: loops around it do not retry
                error.srcad_unrolled = True  # type: ignore[attr-defined]
            raise
        return
    # as in Python, the target holds the last item after the loop (``for k, v in ...``),
    # and in its ``else``
    read = _read_after(lowering, node).union(*map(reads, node.orelse))
    targets = set(_target_names(node.target))
    rebound = targets & bound_in(node.body)  # i = i * 2 in the body: its last value
    if targets & read and not rebound:
        assign(lowering, node.target, item_after(lowering, iteration), len(lowering.builder.eqns))
    elif targets & read and not isinstance(node.target, ast.Name):
        for name in targets:
            lowering.env.pop(name, None)
            lowering.unfollowed[name] = (
                f"'{name}' after the loop on line {node.lineno}: the loop's body rebinds part "
                "of its target, which srcad does not follow; assign what you need to a "
                "variable of your own in the body"
            )


def _with_target_flags_set(lowering: Lowering, node: ast.For) -> ast.For:
    """``node`` without the statements that note its target bound (``i_is_bound = True``,
    ``srcad.frontend.unbound``), the flags set now: a loop that runs binds its target."""
    flags = [s for s in node.body if getattr(s, TARGET_FLAG, False)]
    if not flags:
        return node
    for flag in flags:
        assert isinstance(flag, ast.Assign) and isinstance(flag.targets[0], ast.Name)
        lowering.env[flag.targets[0].id] = True
    node = copy.copy(node)
    node.body = [s for s in node.body if not getattr(s, TARGET_FLAG, False)]
    return node


def _unroll(lowering: Lowering, node: ast.For, items: Iterable[object]) -> None:
    """The body once per item, each item taken once the iteration before has run (a list
    the body appends to, as Python goes through it)."""
    for count, item in enumerate(items):
        if count == MAX_UNROLL:
            raise lowering.located(
                SrcadError,
                f"this loop ran more than {MAX_UNROLL} times while compiling (a list that "
                "grows as the loop goes through it?)",
                node,
            )
        _once(lowering, node, item)


def _once(lowering: Lowering, node: ast.For, item: object) -> None:
    """One iteration of a loop unrolled: the target bound to ``item``, then the body."""
    iterated_item(lowering, item)
    assign(lowering, node.target, item, len(lowering.builder.eqns))
    lower_block(lowering, node.body)


def _structured_loop(lowering: Lowering, node: ast.For, iteration: Iteration) -> None:
    env, checked = lowering.env, set(lowering.alias_checked)
    try:
        _structured_loop_of(lowering, node, iteration, _bound_later(lowering, node))
    except _Unroll:
        lowering.env = env  # without the placeholders: unrolled, the body binds them
        lowering.alias_checked = checked  # unrolled, its writes are checked again
        raise
    finally:
        lowering.checked_before_loops.pop(id(node), None)


def _structured_loop_of(
    lowering: Lowering, node: ast.For, iteration: Iteration, before: dict[str, object]
) -> None:
    carried = [n for n in _assigned_names(node.body) if n in before]
    while True:
        try:
            return _structured_loop_carrying(lowering, node, iteration, before, carried)
        except _CarryMore as more:
            carried += more.names


def _structured_loop_carrying(
    lowering: Lowering,
    node: ast.For,
    iteration: Iteration,
    before: dict[str, object],
    carried: list[str],
) -> None:
    builder = lowering.builder
    initial = [_carried_atom(before[n], n, node).aval for n in carried]
    # a placeholder (a result set later in the loop) takes its shape from the body
    guess = _numpy_float if not _holds_narrow_floats(before) else (lambda aval: aval)
    avals = [
        a if isinstance(before[n], _Later) else guess(a)
        for n, a in zip(carried, initial, strict=True)
    ]
    for _attempt in range(4):
        counter = builder.new_var(counter_name(node.target, iteration), INT)
        in_vars = [builder.new_var(n, a) for n, a in zip(carried, avals, strict=True)]
        body, outs, ends = _lower_loop_body(
            lowering, node, before, carried, in_vars, counter, iteration
        )
        out_avals = [a.aval for a in outs]
        widened = _widen(avals, out_avals)
        wrong = _wrong_guesses(initial, avals, out_avals)
        if widened == avals and not wrong:
            break
        avals = [
            _widen([initial[k]], [out_avals[k]])[0] if k in wrong else a
            for k, a in enumerate(widened)
        ]
    else:
        raise _Unroll
    graph = Graph(f"{lowering.parsed.name}_loop", (counter, *in_vars), tuple(body), tuple(outs))
    params: Params = (
        ("body", graph),
        ("start", iteration.start),
        ("step", iteration.step),
        ("stop", iteration.stop),
    )
    stop_axis = stop_dim(node, iteration, before)
    if stop_axis is not None:
        params += (("stop_dim", stop_axis),)
    _emit_loop(lowering, "for", node, before, carried, avals, params, ends)
    follow_views_after_loop(lowering, node, iteration, before)


def _lower_loop_body(
    lowering: Lowering,
    node: ast.For | ast.While,
    before: dict[str, object],
    carried: list[str],
    in_vars: list[Var],
    counter: Var | None = None,
    iteration: Iteration | None = None,
) -> LoweredBody:
    """The body as a sub-graph from the carried values (and the counter of a ``for``)
    to their next values, and those values; raises ``_Unroll`` when it cannot stay a
    loop. The body is lowered again while the carried values turn out to share arrays
    in later iterations that they did not in the first (see ``srcad.lower.aliasing``)."""
    extra: list[list[object]] = [[] for _ in carried]
    while True:
        carry_alternatives(lowering, before, carried, in_vars, extra)
        lowered = _lower_body_once(lowering, node, before, carried, in_vars, counter, iteration)
        grown = next_alternatives(lowering, before, in_vars, lowered[2], extra)
        if all(len(g) == len(e) for g, e in zip(grown, extra, strict=True)):
            return lowered  # nothing new: the checks in this lowering saw every alias
        extra = grown


def _lower_body_once(
    lowering: Lowering,
    node: ast.For | ast.While,
    before: dict[str, object],
    carried: list[str],
    in_vars: list[Var],
    counter: Var | None,
    iteration: Iteration | None,
) -> LoweredBody:
    builder = lowering.builder
    snapshot = snapshot_containers(before, lowering.world.made)
    generators = generator_states(before)
    checked = lowering.checked_before_loops.setdefault(id(node), frozenset(lowering.alias_checked))
    lowering.alias_checked = set(checked)  # an earlier attempt's checks went with its body
    lowering.env = dict(before)
    for name, var in zip(carried, in_vars, strict=True):
        lowering.env[name] = builder.tracer(var)
    rows = named_rows(iteration, before)
    start: object = None
    later = dict(lowering.views.later)
    try:
        with builder.block() as body:
            if isinstance(node, ast.For) and counter is not None and iteration is not None:
                since = len(builder.eqns)  # the row X[i] takes the target's name (row)
                item = loop_item(builder.tracer(counter), iteration)
                iterated_item(lowering, item)
                if rows is not None:  # for row in M: row *= 2 writes into M's value now
                    start = note_rows(lowering, row_of(item, iteration), rows, counter)
                assign(lowering, node.target, item, since)
            lower_block(lowering, node.body)
            if rows is not None and isinstance(node, ast.For) and counter is not None:
                check_rows_written_in_place(lowering, node, rows[1], start, counter)
            note_carried_views(lowering, node, carried)
            outs = [_carried_atom(lowering.env[n], n, node) for n in carried]
    except (StaticValueNeeded, RaiseReached, _Unroll, SrcadError) as error:
        restore_containers(snapshot)  # (a value it carries is no array: _carried_atom)
        restore_generators(before, generators)  # a body that always raises runs once
        if not isinstance(error, SrcadError):
            raise _Unroll from None
        if isinstance(error, InternalError) or not isinstance(node, ast.For):
            raise
        if getattr(error, "srcad_unrolled", False):
            raise  # an inner loop unrolled already met it: so would this one, at every level
        raise _Unroll(error) from None  # unrolled, each iteration knows its counter
    finally:
        after = lowering.env
        lowering.env = before
        lowering.views.later = later  # the body's values stay inside it
    drew = restore_generators(before, generators)
    written_through = _arrays_written_through(before, after, carried)
    if restore_containers(snapshot) or drew:
        raise _Unroll  # a generator made in the function drew once: each step must draw
    if written_through:
        raise _CarryMore(written_through)
    if _static_changed(before, after, carried):
        raise _Unroll  # a value known when compiling (an int counter): each step knows it
    return body, outs, [after[n] for n in carried]


def _carried_atom(value: object, name: str, node: ast.For | ast.While) -> Var | Const:
    if isinstance(value, Tracer):
        return value.atom
    if isinstance(value, _Later):  # a placeholder (a result set later in the loop)
        return Const(0) if value.is_counter else Const(0.0)
    if isinstance(value, (bool, float, np.ndarray, np.floating)):
        return Const(value)
    if isinstance(value, int) and isinstance(node, ast.While):
        return Const(value)  # a counter: a while loop carries it as a value
    raise _Unroll


def _widened_init(builder: GraphBuilder, init: Var | Const, aval: AVal) -> Var | Const:
    """A carried value's start made the shape the loop gives it: ``acc = 0.0`` that the body
    makes an array (``acc = acc + w``) starts as that array of zeros plus 0.0, so that the
    generated loop computes with an array from its first test on (``acc.sum()``)."""
    if init.aval.shape == aval.shape:
        return init
    zeros = builder.tracer(Const(np.zeros(aval.shape, aval.dtype)))
    widened = builder.apply("add", (zeros, builder.tracer(init)))
    assert isinstance(widened, Tracer)  # an array plus a number: an equation
    return widened.atom


def _emit_loop(
    lowering: Lowering,
    prim: str,
    node: ast.For | ast.While,
    before: dict[str, object],
    carried: list[str],
    avals: list[AVal],
    params: Params,
    ends: list[object],
) -> None:
    """The loop equation; ``ends``: the carried values at the end of the body (a result
    is the last one, or, for a ``while`` that may not run, the value before the loop)."""
    builder = lowering.builder
    inits = [
        _widened_init(builder, _carried_atom(before[n], n, node), aval)
        for n, aval in zip(carried, avals, strict=True)
    ]
    outputs = tuple(builder.new_var(n, a) for n, a in zip(carried, avals, strict=True))
    builder.emit(Eqn(prim, tuple(inits), outputs, params, builder.loc, "primal"))
    lowering.env = dict(before)
    for name, var, end in zip(carried, outputs, ends, strict=True):
        lowering.env[name] = builder.tracer(var)
        runs = (end,) if prim == "for" else (before[name], end)
        lowering.alternatives[var.id] = runs  # which arrays it may be (aliasing)


# --- while --------------------------------------------------------------------------------
def _lower_while(lowering: Lowering, node: ast.While) -> None:
    if _unroll_static_while(lowering, node):
        return
    before = _bound_later(lowering, node)
    carried = [n for n in _assigned_names(node.body) if n in before]
    try:
        while True:
            try:
                return _lower_while_carrying(lowering, node, before, carried)
            except _CarryMore as more:
                carried += more.names
    finally:
        lowering.checked_before_loops.pop(id(node), None)


def _lower_while_carrying(
    lowering: Lowering, node: ast.While, before: dict[str, object], carried: list[str]
) -> None:
    nones = [n for n in carried if before[n] is None]
    if nones:  # best = None before a loop decided by data: no value to carry
        raise lowering.located(
            UnsupportedSyntax,
            f"this 'while' loop carries '{nones[0]}', which is None before it: srcad carries "
            f"arrays and numbers through a loop whose end the data decides; start it as a "
            f"number ({nones[0]} = np.inf for a running minimum) or make the loop a 'for' "
            "over a range",
            node,
        )
    _refuse_carrying_objects(lowering, node, before, carried)
    try:
        avals = [_carried_atom(before[n], n, node).aval for n in carried]
    except _Unroll:
        raise _while_error(lowering, node) from None
    for _attempt in range(3):
        cond_graph = _while_condition(lowering, node, before, carried, avals)
        in_vars = [lowering.builder.new_var(n, a) for n, a in zip(carried, avals, strict=True)]
        lowering.while_inputs.update(var.id for var in in_vars)
        try:
            body, outs, ends = _lower_loop_body(lowering, node, before, carried, in_vars)
        except _Unroll:
            raise _while_error(lowering, node) from None
        try:
            widened = _widen(avals, [a.aval for a in outs])
        except _Unroll:  # a shape the body changes: (1,) then (3,)
            raise _while_error(lowering, node) from None
        if widened == avals:
            break
        avals = widened
    else:
        raise _while_error(lowering, node)
    graph = Graph(f"{lowering.parsed.name}_loop", tuple(in_vars), tuple(body), tuple(outs))
    params: Params = (("body", graph), ("cond", cond_graph))
    _emit_loop(lowering, "while", node, before, carried, avals, params, ends)
    follow_carried_views(lowering, node)


def _unroll_static_while(lowering: Lowering, node: ast.While) -> bool:
    """Run a loop whose condition stays known at compile time (``while tape:``) now.
    Returns False, changing nothing, when the condition comes to depend on data."""
    builder = lowering.builder
    before = dict(lowering.env)
    snapshot = snapshot_containers(before, lowering.world.made)
    raised = False
    with builder.block() as unrolled:
        try:
            is_unrolled = _unroll_while_body(lowering, node)
        except RaiseReached:  # an iteration raises: the loop ends there
            is_unrolled = raised = True
    if not is_unrolled:
        lowering.env = before
        restore_containers(snapshot)
        return False
    for eqn in unrolled:
        builder.emit(eqn)
    if raised:
        raise RaiseReached
    return True


def _unroll_while_body(lowering: Lowering, node: ast.While) -> bool:
    """The iterations of a ``while`` loop, into the current block, while its condition is
    known at compile time; False when it comes to depend on data."""
    for _ in range(MAX_UNROLL + 1):
        with lowering.builder.block():
            test = truth_of(lowering, evaluate_at(lowering, node, node.test), node.test)
        if isinstance(test, Tracer):
            return False
        if not test:
            return True
        lower_block(lowering, node.body)
    raise lowering.located(
        SrcadError,
        f"this 'while' loop ran more than {MAX_UNROLL} times while compiling",
        node,
    )


def _while_condition(
    lowering: Lowering,
    node: ast.While,
    before: dict[str, object],
    carried: list[str],
    avals: list[AVal],
) -> Graph:
    builder = lowering.builder
    in_vars = [builder.new_var(n, a) for n, a in zip(carried, avals, strict=True)]
    lowering.env = dict(before)
    for name, var in zip(carried, in_vars, strict=True):
        lowering.env[name] = builder.tracer(var)
    start = dict(lowering.env)
    with builder.block() as eqns:
        test = truth_of(lowering, evaluate(lowering, node.test), node.test)
    changed = lowering.rebound_since(start)
    lowering.env = before
    if changed:  # while h(d, v) < 0: the call's write, once per test, is not followed
        raise lowering.located(
            UnsupportedSyntax,
            f"this 'while' condition runs a call that changes '{changed[0]}' (a helper "
            "writing into an array you pass it); srcad follows such changes in the loop's "
            "body: call it there, and test what it gives",
            node,
        )
    if not isinstance(test, Tracer) or test.shape != ():
        raise lowering.located(
            SrcadError,
            "a 'while' condition must be a single truth value that changes as the loop "
            "runs (a value computed from the loop's variables)",
            node,
        )
    return Graph(f"{lowering.parsed.name}_cond", tuple(in_vars), tuple(eqns), (test.atom,))


def _refuse_carrying_objects(
    lowering: Lowering, node: ast.While, before: dict[str, object], carried: list[str]
) -> None:
    """A loop whose end the data decides carries arrays and numbers; one that rebinds a
    record or container (``s = step(s, dt)`` of a dataclass) is refused, naming it."""
    for name in carried:
        value = before[name]
        if isinstance(value, (Tracer, bool, int, float, np.ndarray, np.floating, _Later)):
            continue
        fields = list(getattr(value, "__dataclass_fields__", getattr(value, "_fields", ())))
        fields = fields[:3] or ["a", "b"]
        example = f"{', '.join(fields)} = {', '.join(f'{name}.{f}' for f in fields)}"
        raise lowering.located(
            UnsupportedSyntax,
            f"this 'while' loop carries '{name}', a {type(value).__name__}, and its end is "
            "decided by data: srcad carries arrays and numbers through such a loop, not "
            f"objects or containers; carry the parts of '{name}' as names of their own "
            f"({example}) and build the object after the loop, or make the loop a 'for' "
            "over a range",
            node,
        )


def _while_error(lowering: Lowering, node: ast.While) -> SrcadError:
    return lowering.located(
        SrcadError,
        "this 'while' loop changes the shape of a value it carries, counts with a Python "
        "int or grows a Python list; keep shapes fixed and count with a float or an array, "
        "and carry what you compute from a list instead of the list (a running sum, "
        "total = total + y), or make the loop a 'for' over a range of known length",
        node,
    )


# --- helpers ------------------------------------------------------------------------------
def _bound_later(lowering: Lowering, node: ast.For | ast.While) -> dict[str, object]:
    """The names before the loop, and ``LATER`` (a value set later in the loop) for those the
    body binds first and the code after the loop reads (``found`` of a search loop), or the
    body reads before binding them (``prev`` set at the end of an iteration, read in the
    next one: reading it in the first raises UnboundLocalError, ``srcad.frontend.unbound``)."""
    read = _read_after(lowering, node) | read_before_bound(node.body)
    outside = written_outside_names(lowering.parsed.node)  # global calls; calls += 1
    bound = set(_assigned_names(node.body, through_items=False)) - outside
    later = [n for n in bound if n not in lowering.env and n in read]
    counters = _range_counters(node.body)  # for k in range(...) inside: ints
    if isinstance(node, ast.For) and _counts_a_range(node):  # _stopped = i: an int too
        counters.add(getattr(node, STOPPED_AT, None) or "")
    return {**lowering.env, **{n: COUNTER_LATER if n in counters else LATER for n in later}}


def _range_counters(body: list[ast.stmt]) -> set[str]:
    """The names of the counters of ``for k in range(...)`` loops in ``body``."""
    loops = [n for s in body for n in ast.walk(s) if isinstance(n, ast.For) and _counts_a_range(n)]
    return {loop.target.id for loop in loops if isinstance(loop.target, ast.Name)}


def _counts_a_range(loop: ast.For) -> bool:
    """``for k in range(...)``: its target a counter."""
    call = loop.iter
    if not isinstance(loop.target, ast.Name) or not isinstance(call, ast.Call):
        return False
    return isinstance(call.func, ast.Name) and call.func.id == "range"


def _read_after(lowering: Lowering, node: ast.For | ast.While) -> frozenset[str]:
    """The names the code after the loop reads (of the statement being lowered, where the
    loop is one that srcad wrote for it)."""
    statement = lowering.statement
    return lowering.live.get(id(node), lowering.live.get(id(statement), frozenset()))


def _widen(avals: list[AVal], out_avals: list[AVal]) -> list[AVal]:
    """Loop-carried avals that fit both the values going in and coming out."""
    widened = []
    for before, after in zip(avals, out_avals, strict=True):
        if before == after:
            widened.append(before)
            continue
        if before.shape != after.shape and not (before.is_weak and before.shape == ()):
            raise _Unroll
        dtype = np.result_type(np.dtype(before.dtype), np.dtype(after.dtype)).name
        if before.is_weak and before.shape == () and _are_floats(before, after):
            dtype = after.dtype  # a Python float takes a NumPy float's dtype: float32 stays
        widened.append(AVal(after.shape, dtype, before.is_weak and after.is_weak))
    return widened


def _are_floats(*avals: AVal) -> bool:
    return all(np.dtype(a.dtype).kind == "f" for a in avals)


def _holds_narrow_floats(env: dict[str, object]) -> bool:
    """Whether the function has float32 (or float16) values at hand before a loop: a Python
    float carried through it may become one (``total = 0.0; total += x32[i]``), so it is
    not guessed a NumPy float64 (``_numpy_float``)."""
    for value in env.values():
        leaves = value if isinstance(value, (list, tuple)) else (value,)
        for leaf in leaves:
            if isinstance(leaf, Tracer) and leaf.aval.dtype in ("float32", "float16"):
                return True
    return False


def _numpy_float(aval: AVal) -> AVal:
    """The first guess for a carried value: a Python float is carried as a NumPy float64,
    what it becomes once the body adds a NumPy value to it (``total = 0.0`` then ``total =
    total + np.sum(x)``). Right, the body is lowered once instead of twice; wrong (the body
    keeps it a Python float), ``_wrong_guesses`` finds it and the body is lowered again."""
    if aval.is_weak and aval.shape == () and aval.dtype == "float64":
        return aval._replace(is_weak=False)
    return aval


def _wrong_guesses(initial: list[AVal], guessed: list[AVal], out_avals: list[AVal]) -> set[int]:
    """The carried values guessed NumPy floats that the body leaves Python floats."""
    return {
        k
        for k, (first, guess, out) in enumerate(zip(initial, guessed, out_avals, strict=True))
        if first.is_weak and not guess.is_weak and out.is_weak
    }


def _assigned_names(statements: list[ast.stmt], through_items: bool = True) -> list[str]:
    """Names a block assigns (including subscript and augmented targets, unless
    ``through_items`` is False: then only the names it binds), in order."""
    names: dict[str, None] = {}
    walrus = any(isinstance(n, ast.NamedExpr) for s in statements for n in nodes(s))
    for node in all_statements(statements):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
            targets = [node.target]
        for target in targets:
            names.update((name, None) for name in _target_names(target, through_items))
        if through_items and isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            names.update(dict.fromkeys(_written_by_call(node.value)))
        if walrus:  # if (s := f(x)) < 1.0:
            names.update(dict.fromkeys(sorted(walrus_targets(node))))
    return list(names)


# calls that write into their first argument (np.copyto(y, v), np.add.at(y, i, v),
# rng.shuffle(y)), and methods that write into their array (y.fill(v), y.sort())
WRITE_INTO_FIRST = frozenset({"copyto", "fill_diagonal", "at", "shuffle", "put", "place"})
WRITE_INTO_SELF = frozenset({"fill", "sort", "partition", "resize", "itemset", "put"})


def _written_by_call(call: ast.Call) -> list[str]:
    """The names of the arrays a call statement writes into, as far as its spelling says:
    ``out=y`` (or ``out=y[1:]``), ``np.copyto(y, v)`` and the like, ``y.fill(v)``."""
    written = [k.value for k in call.keywords if k.arg == "out"]
    if isinstance(call.func, ast.Attribute):
        if call.func.attr in WRITE_INTO_FIRST and call.args:
            written.append(call.args[0])
        if call.func.attr in WRITE_INTO_SELF:
            written.append(call.func.value)
    return [name for target in written for name in _target_names(target)]


def _target_names(target: ast.expr, through_items: bool = True) -> list[str]:
    """The names an assignment target binds or writes into: ``x`` of ``x``, ``x[i] = v``
    and ``x.w = v`` (not the names its index reads: ``np`` of ``x[np.array(k)] *= 2``);
    without ``through_items``, not those of ``x[i]`` and ``x.w``."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for element in target.elts for n in _target_names(element, through_items)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value, through_items)
    if isinstance(target, (ast.Subscript, ast.Attribute)) and through_items:
        return _target_names(target.value)
    return []


def _arrays_written_through(
    before: dict[str, object], after: dict[str, object], carried: list[str]
) -> list[str]:
    """The arrays from before the loop that the body gave new values without naming them
    in an assignment (``srcad.lower.views``): not carried yet."""
    return [
        name
        for name, value in before.items()
        if name not in carried
        and isinstance(value, (Tracer, np.ndarray))
        and after.get(name) is not value
    ]


def _static_changed(
    before: dict[str, object], after: dict[str, object], carried: list[str]
) -> bool:
    """Whether the body changed a compile-time value (an int counter, say)."""
    for name, value in before.items():
        if name in carried or isinstance(value, Tracer):
            continue
        if after.get(name) is not value:
            return True
    return False
