"""Views the function holds and the arrays they view, so that a write into a view is given
back to the array it views, as NumPy's write into their shared memory shows through both.

    M = np.outer(x, x)
    row = M[0]             # noted: row views M at [0]
    row[1] = 5.0 * x[2]    # row' = row with [1] = ...; then M' = M with [0] = row'
    return M.sum()         # reads M'

    for row in M:          # each row views M at [i] (i the loop's counter)
        row /= row.sum()   # M' = M with [i] = row / row.sum(): the loop carries M

A view is noted where it is made by basic indexing (ints, slices, ``None``, ``...``; not a
0-d int array, which indexes as a copy) of an array (``srcad.lower.expressions.
subscript_of``, a loop's rows). When a write replaces an array by its new value, the array's
later value is noted too (``replaced``), so a view made before the write (a loop's rows,
made once) gives its own writes back to the array's value of the moment
(``srcad.lower.assignments.give_to_viewed``). Where the data decide:

- the branches of an ``if`` (a ``with`` block, a loop's ``break`` flags) each note their
  own later values; after the join, an array written in a branch takes the joined value of
  the name that holds its new value in every branch, and a name that ends every branch as
  a view at one place is a view of the joined array (``srcad.lower.branches``);
- a loop kept as a loop carries the arrays its body wrote through a view, and its rows
  view the carried array (``srcad.lower.loops``);
- otherwise the array is ``UNKNOWN`` (written in one branch, bound to another array in the
  other; a row the loop chose): a write through such a view is refused.

A write into an array that another live view shares memory with is still refused
(``srcad.lower.aliasing.check_write``): that view would keep its old values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from srcad.ir import Const
from srcad.ir.builder import Tracer
from srcad.ir.primitive import COMPARISON, ELEMENTWISE, PARAMETRIC, REDUCTION
from srcad.ir.prims import PRIMS

if TYPE_CHECKING:
    from srcad.lower.context import Lowering


@dataclass(frozen=True)
class ViewOrigin:
    """``view`` is ``base[index]``, a view of ``base``'s memory."""

    view: object
    base: object
    index: object


@dataclass
class Views:
    """The views noted while lowering a function, and the values arrays took since (each
    kept alive by its entry, as its id is the key)."""

    origins: dict[int, ViewOrigin] = field(default_factory=dict)
    later: dict[int, tuple[object, object]] = field(default_factory=dict)
    # loops that wrote into the rows they go through, by id: whether the target still
    # names the row at the end of the body (``row *= 2``: after the loop, a row too)
    rows_written: dict[int, bool] = field(default_factory=dict)
    # loops kept as loops, by id: the carried names whose value is a view at the end of
    # the body -> the carried name that holds the array it views (or None), and the index
    carried_views: dict[int, dict[str, tuple[str | None, object]]] = field(default_factory=dict)

    def note(
        self, view: object, base: object, index: object, lowering: Lowering | None = None
    ) -> None:
        """``view = base[index]``: noted where it is a view of an array (``lowering`` tells
        0-d arrays among its ints, which index as copies)."""
        parts = index if isinstance(index, tuple) else (index,)
        is_view = _is_array(view) or (  # M[0, 1, ...]: a 0-d view
            isinstance(view, (Tracer, np.ndarray)) and any(part is Ellipsis for part in parts)
        )
        if is_view and isinstance(base, (Tracer, np.ndarray)) and is_view_index(index, lowering):
            self.origins[id(view)] = ViewOrigin(view, base, index)

    def note_unfollowed(self, view: object, base: object) -> None:
        """``view`` views ``base`` (or ``UNKNOWN``) at a place srcad does not follow."""
        self.origins[id(view)] = ViewOrigin(view, base, UNKNOWN)

    def origin(self, value: object) -> ViewOrigin | None:
        found = self.origins.get(id(value))
        return found if found is not None and found.view is value else None

    def replaced(self, old: object, new: object) -> None:
        """A write made ``new`` the value of the array ``old`` was."""
        if new is not old:
            self.later[id(old)] = (old, new)

    def current(self, value: object) -> object:
        """The array's value now, after the writes noted since ``value``."""
        while id(value) in self.later and self.later[id(value)][0] is value:
            value = self.later[id(value)][1]
        return value

    def viewed(self, value: object) -> list[object]:
        """The arrays ``value`` views, nearest first, each at its value now."""
        bases: list[object] = []
        origin = self.origin(value)
        while origin is not None and len(bases) < MAX_DEPTH:
            base = self.current(origin.base)
            bases.append(base)
            origin = self.origin(base)
        return bases

    def disjoint(self, first: object, second: object) -> bool:
        """Whether the two are views of one array at places that share no element
        (``theta[:3]`` and ``theta[3:]``, two rows of ``X``), known when compiling."""
        one, other = self.origin(first), self.origin(second)
        if one is None or other is None:
            return False
        base = self.current(one.base)
        if not isinstance(base, (Tracer, np.ndarray)) or self.current(other.base) is not base:
            return False
        indices = (one.index, other.index)
        if any(contains_tracer(index) or index is UNKNOWN for index in indices):
            return False
        places = np.arange(math.prod(base.shape)).reshape(base.shape)
        try:
            ours, theirs = (np.ravel(places[index]) for index in indices)  # type: ignore[call-overload]
        except (IndexError, TypeError, ValueError):
            return False
        return not np.intersect1d(ours, theirs).size

    def related(self, first: object, second: object) -> bool:
        """Whether the two are views noted of one array (or one views the other)."""
        family = {id(first), *map(id, self.viewed(first))}
        return any(id(v) in family for v in (second, *self.viewed(second)))


MAX_DEPTH = 64  # views of views: no program nests deeper; a guard against a cycle


class _Unknown:
    """The value of an array that a branch on data wrote in one branch and bound to another
    array in the other, or a row a loop chose: a write through a view of it is refused."""

    ndim = -1

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def contains_tracer(index: object) -> bool:
    """Whether an index holds a value computed from data, also as a slice's bound or a
    list's item (``corpus[c - 1:c + 2]``, ``ker[[i, i + 1]]`` with a loop's counter)."""
    if isinstance(index, Tracer):
        return True
    if isinstance(index, slice):
        return any(contains_tracer(b) for b in (index.start, index.stop, index.step))
    if isinstance(index, (tuple, list)):
        return any(contains_tracer(item) for item in index)
    return False


def same_index(first: object, second: object) -> bool:
    """Whether two indices are the same (traced parts: the same values)."""
    if isinstance(first, tuple) and isinstance(second, tuple):
        return len(first) == len(second) and all(map(same_index, first, second))
    if isinstance(first, slice) and isinstance(second, slice):
        ours, theirs = (first.start, first.stop, first.step), (
            second.start,
            second.stop,
            second.step,
        )
        return all(same_index(a, b) for a, b in zip(ours, theirs, strict=True))
    if isinstance(first, Tracer) or isinstance(second, Tracer):
        return first is second
    return type(first) is type(second) and first == second


def is_view_index(index: object, lowering: Lowering | None = None) -> bool:
    """Whether ``y[index]`` is a view of ``y``: ints, slices, ``None`` and ``...`` only
    (not a 0-d int array, ``np.array(k)``, which indexes as an index array: a copy)."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, Tracer):
            if part.ndim != 0 or np.dtype(part.dtype).kind not in "iu":
                return False
            if lowering is not None and _may_be_zero_d_array(lowering, part, frozenset()):
                return False
        elif not (part is None or part is Ellipsis or isinstance(part, (slice, int, np.integer))):
            return False
    return not any(isinstance(part, (bool, np.bool_)) for part in parts)


def _may_be_zero_d_array(lowering: Lowering, part: object, seen: frozenset[int]) -> bool:
    """Whether the traced int ``part`` may be a 0-d array (an index array: a copy), not a
    NumPy int: anything but a loop's counter, arithmetic, a reduction (``np.argmax``) or an
    element read by an int (``perm[i]``). An argument may be either (one compile serves
    both); ``np.array(k)``, ``k.reshape(())``, ``a[0, ...]``, ``np.where``'s result and a
    0-d array NumPy changes in place (``i = np.zeros((), int); i += 1``) are arrays."""
    if isinstance(part, np.ndarray):
        return True
    if not isinstance(part, Tracer):
        return False
    if lowering.zero_d_arrays.get(id(part)) is part:
        return True
    atom = part.atom
    if isinstance(atom, Const):
        return isinstance(atom.value, np.ndarray)
    if atom.id in seen:
        return False
    eqn = lowering.builder.producer(atom)
    if eqn is None:  # an argument (either), or a value a loop carries: as it may start
        options = lowering.alternatives.get(atom.id, ())
        return atom.id in lowering.world.argument_ids or any(
            _may_be_zero_d_array(lowering, option, seen | {atom.id}) for option in options
        )
    if eqn.prim == "getitem":
        return "..." in str(eqn.param_dict.get("index"))  # a[0, ...]: a 0-d view
    return eqn.prim in ARRAY_RESULTS or PRIMS[eqn.prim].kind not in NUMBER_KINDS


NUMBER_KINDS = (ELEMENTWISE, PARAMETRIC, COMPARISON, REDUCTION)  # give NumPy scalars
ARRAY_RESULTS = ("where", "select")  # but these: arrays, 0-d ones of numbers


def _is_array(value: object) -> bool:
    return isinstance(value, (Tracer, np.ndarray)) and value.ndim >= 1
