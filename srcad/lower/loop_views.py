"""The views a loop makes and carries (``srcad.lower.views``): its rows (``for row in M``,
each a view of the array's value in the body), the arrays its body writes through them
(carried, ``srcad.lower.loops._CarryMore``), and after the loop the target and the carried
names that are views of what the loop carried out.

    for row in M:            # row views M's carried value at [i]
        row /= row.sum()     # M's value in the body takes the write
    row[0] = 1.0             # after the loop: row is M's last row, a view of M's result
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, cast

from srcad.errors import UnsupportedSyntax
from srcad.ir import Var
from srcad.ir.builder import Tracer
from srcad.lower.iteration import Iteration, iteration_items, last_item
from srcad.lower.views import UNKNOWN, contains_tracer

if TYPE_CHECKING:
    from srcad.lower.context import Lowering


def noted_items(lowering: Lowering, iteration: Iteration) -> list[object]:
    """The items of a loop unrolled, each row noted as a view of the array it is a row of:
    a write into it goes to the array's value of the moment (``srcad.lower.views``)."""
    items = iteration_items(iteration)
    if len(iteration.arrays) == 1:
        positions = range(iteration.start, iteration.stop, iteration.step)
        for position, item in zip(positions, items, strict=True):
            lowering.views.note(row_of(item, iteration), iteration.arrays[0], position)
    return items


def item_after(lowering: Lowering, iteration: Iteration) -> object:
    """The target's value after a loop kept as a loop: its last item, a row of the array's
    value after the loop where the body wrote into the rows (``srcad.lower.views``)."""
    item = last_item(iteration)
    array = iteration.arrays[0] if len(iteration.arrays) == 1 else None
    now = lowering.views.current(array)
    if array is None or now is array or not isinstance(now, Tracer):
        return item
    last = range(iteration.start, iteration.stop, iteration.step)[-1]
    row = now[last]
    lowering.views.note(row, now, last)
    return (cast(tuple, item)[0], row) if iteration.is_enumerate else row


def note_carried_views(lowering: Lowering, node: ast.For | ast.While, carried: list[str]) -> None:
    """Which carried names end the body as views (``r = M[i]``), of which carried name's
    array and where (``UNKNOWN`` where the index is computed in the loop: the last
    iteration's row), for ``follow_carried_views`` after the loop."""
    views = lowering.views
    found: dict[str, tuple[str | None, object]] = {}
    for name in carried:
        origin = views.origin(lowering.env[name])
        if origin is None:
            continue
        base = views.current(origin.base)
        holders = [n for n in carried if lowering.env[n] is base]
        index = UNKNOWN if contains_tracer(origin.index) else origin.index
        found[name] = (holders[0] if holders else None, index)
    views.carried_views[id(node)] = found


def follow_carried_views(lowering: Lowering, node: ast.For | ast.While) -> None:
    """After a loop: a carried name that ended its body as a view is a view of the carried
    array it viewed (at an index of the loop's own: a view a write into is refused)."""
    views = lowering.views
    for name, (holder, index) in views.carried_views.pop(id(node), {}).items():
        base = lowering.env[holder] if holder is not None else UNKNOWN
        if index is UNKNOWN or base is UNKNOWN:
            views.note_unfollowed(lowering.env[name], base)
        else:
            views.note(lowering.env[name], base, index)


def named_rows(iteration: Iteration | None, before: dict[str, object]) -> tuple[object, str] | None:
    """The array whose rows a loop kept as a loop binds to its target, and the one name
    that holds it (``for row in M``): the rows' writes go to that name's value in the body
    (``srcad.lower.views``). None for other loops: a write into their rows is refused where
    another name reads the array (``srcad.lower.aliasing``)."""
    if iteration is None or len(iteration.arrays) != 1:
        return None
    array = iteration.arrays[0]
    holders = [name for name, value in before.items() if value is array]
    return (array, holders[0]) if len(holders) == 1 else None


def row_of(item: object, iteration: Iteration) -> object:
    return item[1] if iteration.is_enumerate and isinstance(item, tuple) else item


def note_rows(lowering: Lowering, row: object, rows: tuple[object, str], counter: Var) -> object:
    """The row the body binds views the array's value in the body (the carried one, which
    is returned)."""
    array, holder = rows
    start = lowering.env[holder]
    lowering.views.note(row, array, lowering.builder.tracer(counter))
    if start is not array:
        lowering.views.replaced(array, start)
    return start


def check_rows_written_in_place(
    lowering: Lowering, node: ast.For, holder: str, start: object, counter: Var
) -> None:
    """Where the body wrote into the array it goes through (``row *= 2``), note it (after
    the loop, the target is a row of the array's new value), and refuse a body that also
    binds the array's name to another array: NumPy's loop goes on through the first array,
    which srcad does not keep apart from the name's new value."""
    written = lowering.views.current(start)
    if written is start:
        return
    target = lowering.env.get(node.target.id) if isinstance(node.target, ast.Name) else None
    origin = lowering.views.origin(target)
    is_the_row = (  # row *= 2 leaves the row; row = row[1:] binds another view
        origin is not None
        and lowering.views.current(origin.base) is written
        and isinstance(origin.index, Tracer)
        and origin.index.atom is counter
    )
    lowering.views.rows_written[id(node)] = is_the_row
    if lowering.env[holder] is not written:
        raise lowering.located(
            UnsupportedSyntax,
            f"this loop writes into the rows of '{holder}' it goes through and binds "
            f"'{holder}' to another array: NumPy's loop goes on through the first array, "
            f"whose new values srcad does not keep apart; write '{holder}[i] = ...' in a "
            f"loop over range(len({holder})), or give the new array another name",
            node,
        )


def follow_views_after_loop(
    lowering: Lowering, node: ast.For, iteration: Iteration, before: dict[str, object]
) -> None:
    """After a loop kept as a loop: its carried views (``follow_carried_views``); where the
    body wrote into its rows, the array's value is the loop's result for the views made
    before, and the target, where it still names the row, is the result's last row."""
    follow_carried_views(lowering, node)
    rows = named_rows(iteration, before)
    if rows is None or id(node) not in lowering.views.rows_written:
        return
    lowering.views.replaced(rows[0], lowering.env[rows[1]])  # M after for row in M
    if lowering.views.rows_written[id(node)] and isinstance(node.target, ast.Name):
        lowering.env[node.target.id] = item_after(lowering, iteration)  # M's last row
