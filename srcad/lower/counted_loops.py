"""Lowering: ``for i in range(n)`` whose count the data decide, as the while loop it is
(``reversed(range(n))`` too).

A range needs its bounds when compiling, to keep the loop a loop with a known number of
iterations. A count read from the data (an ``np.int64`` argument, ``int(mask.sum())`` of
an argument's mask or a global one) is a value of the run, as a ``while`` loop's end is: the
loop is lowered as the ``while`` loop that counts the same way (srcad tapes those)::

    Before:                          After:
        for i in range(n):               i_next = 0          # (bound directly)
            s = s + x[i] ** 2            while i_next < n:
                                             i = i_next
                                             i_next = i_next + 1
                                             s = s + x[i] ** 2

``for k, i in enumerate(range(n), start)`` counts ``k`` beside ``i`` the same way.

Only where the count comes from the arguments, other data read from outside, or the values
of a while loop around it (such as the counter of another loop counted by data): one
computed from a ``for`` loop's counter unrolls that loop instead, and one from outside
floats alone is fixed when compiling (``srcad.lower.fixed_floats``). The step must be an int
known when compiling (its sign says which way the test compares). A body that a ``while``
loop cannot carry keeps the range's own refusal.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

import numpy as np

from srcad.errors import SrcadError
from srcad.frontend.desugar import fresh_name, names_in
from srcad.ir.builder import StaticValueNeeded, TraceError, Tracer
from srcad.lower.aliasing import rewritten
from srcad.lower.dispatch import dispatch_statement, evaluate
from srcad.lower.fixed_floats import fixed_when_needed, sources_of
from srcad.lower.jumps import STOPPED_AT

if TYPE_CHECKING:
    from srcad.lower.context import Lowering

INTEGER_KINDS = "iu"  # NumPy's kinds of integer dtypes


def lower_counted_by_data(lowering: Lowering, node: ast.For, needed: StaticValueNeeded) -> bool:
    """Lower ``node``, a ``for`` over a range whose bounds ``needed`` says are computed, as
    a while loop where the data decide them; False (nothing lowered) otherwise."""
    if not _decided_by_data(lowering, needed):
        return False
    names = _loop_names(lowering, node)
    if names is None:
        return False
    iterable, target, count = names
    bounds = _range_bounds(lowering, iterable)  # (their values again: no effect, see above)
    if bounds is None:
        return False
    loop = _counting_while(lowering, node, bounds, target, count)
    if getattr(node, STOPPED_AT, None) is not None:  # its target where it broke: not kept
        lowering.env.pop(getattr(node, STOPPED_AT), None)  # (the count may be 0: refused)
        setattr(node, STOPPED_AT, None)
    with rewritten(lowering, node, [loop]):
        try:
            dispatch_statement(lowering, loop, len(lowering.builder.eqns))
        except (SrcadError, TraceError):
            raise needed from None  # the range's refusal: the user wrote a for loop
    return True


def _loop_names(
    lowering: Lowering, node: ast.For
) -> tuple[ast.expr, str, tuple[str, object] | None] | None:
    """What ``for i in <range>`` or ``for k, i in enumerate(<range>, start)`` iterates
    over, the counter's name, and the count's name and start (None without enumerate)."""
    target, call = node.target, node.iter
    if isinstance(target, ast.Name):
        return call, target.id, None
    if not isinstance(target, ast.Tuple) or len(target.elts) != 2:
        return None
    names = [e.id for e in target.elts if isinstance(e, ast.Name)]
    if len(names) != 2:
        return None
    count_name, name = names
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return None
    given = [*call.args, *(k.value for k in call.keywords if k.arg == "start")]
    plain = all(k.arg == "start" for k in call.keywords) and 1 <= len(given) <= 2
    if not plain or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    if evaluate(lowering, call.func) is not enumerate:
        return None
    start = evaluate(lowering, given[1]) if len(given) == 2 else 0
    return (given[0], name, (count_name, start)) if _is_int(start) else None


def _range_bounds(lowering: Lowering, call: ast.expr) -> tuple[object, object, int] | None:
    """``start, stop, step`` of ``range(...)`` (or of ``reversed(range(...))`` with a step
    of 1 or -1, as the range counting the other way); None for another iterable, or a step
    not known when compiling."""
    if is_call_of(lowering, call, reversed, 1):
        assert isinstance(call, ast.Call)
        inner = _bounds_of(lowering, call.args[0])
        if inner is None or inner[2] not in (1, -1):
            return None
        start, stop, step = inner
        return stop - step, start - step, -step  # type: ignore[operator]
    return _bounds_of(lowering, call)


def _bounds_of(lowering: Lowering, call: ast.expr) -> tuple[object, object, int] | None:
    if not is_call_of(lowering, call, range, 3):
        return None
    assert isinstance(call, ast.Call)
    values = [evaluate(lowering, a) for a in call.args]
    start, stop, step = (0, values[0], 1) if len(values) == 1 else (*values, 1)[:3]
    if type(step) is not int or step == 0 or not all(_is_int(v) for v in (start, stop)):
        return None
    return start, stop, step


def is_call_of(lowering: Lowering, call: ast.expr, function: object, most: int) -> bool:
    """Whether ``call`` calls ``function`` by its name with 1 to ``most`` plain arguments."""
    if not isinstance(call, ast.Call) or call.keywords or not 1 <= len(call.args) <= most:
        return False
    if any(isinstance(a, ast.Starred) for a in call.args) or not isinstance(call.func, ast.Name):
        return False
    return evaluate(lowering, call.func) is function


def _is_int(value: object) -> bool:
    if isinstance(value, Tracer):
        return np.dtype(value.aval.dtype).kind in INTEGER_KINDS
    return type(value) is int


def _decided_by_data(lowering: Lowering, needed: StaticValueNeeded) -> bool:
    """Whether the values ``needed`` names come from the arguments, data read from outside
    or a while loop's values, not from a ``for`` loop's counter or a random draw, nor from
    outside floats alone (those are fixed when compiling)."""
    sources = sources_of(lowering, needed.values, through_control=True)  # (none: constants)
    if sources is None or fixed_when_needed(lowering, needed.values):
        return False
    read = lowering.world.argument_ids | {var.id for var, _ in lowering.world.inputs}
    return all(var.id in read or var.id in lowering.while_inputs for var in sources)


def _counting_while(
    lowering: Lowering,
    node: ast.For,
    bounds: tuple[object, object, int],
    target: str,
    count: tuple[str, object] | None,
) -> ast.While:
    """The while loop that counts as ``range(start, stop, step)`` does (and as
    ``enumerate`` counts its items, given ``count``), its counters and end bound in the
    environment under names of their own."""
    start, stop, step = bounds
    taken = names_in(lowering.parsed.node) | set(lowering.env)
    counter = fresh_name(f"{target}_next", taken)
    end = fresh_name(f"{target}_stop", taken | {counter})
    lowering.env[counter] = start
    lowering.env[end] = stop
    # carried from here, an int: its value when no iteration ran is never read (the
    # unbound-read check raises there, srcad.frontend.unbound)
    lowering.env.setdefault(target, start)
    compare = ast.Lt() if step > 0 else ast.Gt()
    test = ast.Compare(ast.Name(counter, ast.Load()), [compare], [ast.Name(end, ast.Load())])
    body = _advanced(target, counter, step)
    if count is not None:  # for k, i in enumerate(range(n)): k counts from its start
        count_name, count_start = count
        count_counter = fresh_name(f"{count_name}_next", taken | {counter, end})
        lowering.env[count_counter] = count_start
        lowering.env.setdefault(count_name, count_start)
        body += _advanced(count_name, count_counter, 1)
    loop = ast.copy_location(ast.While(test, [*body, *node.body], []), node)  # (else: lower_loop)
    return ast.fix_missing_locations(loop)  # what it adds: at the loop's line


def _advanced(target: str, counter: str, step: int) -> list[ast.stmt]:
    """``target = counter`` then ``counter = counter + step``."""
    advance = ast.BinOp(ast.Name(counter, ast.Load()), ast.Add(), ast.Constant(step))
    return [
        ast.Assign([ast.Name(target, ast.Store())], ast.Name(counter, ast.Load())),
        ast.Assign([ast.Name(counter, ast.Store())], advance),
    ]
