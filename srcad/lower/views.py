"""Views the function holds and the arrays they view, so that a write into a view is given
back to the array it views, as NumPy's write into their shared memory shows through both.

    M = np.outer(x, x)
    row = M[0]             # noted: row views M at [0]
    row[1] = 5.0 * x[2]    # row' = row with [1] = ...; then M' = M with [0] = row'
    return M.sum()         # reads M'

    for row in M:          # each row views M at [i] (i the loop's counter)
        row /= row.sum()   # M' = M with [i] = row / row.sum(): the loop carries M

A view is noted where it is made by basic indexing (ints, slices, ``None``, ``...``) of an
array (``srcad.lower.expressions.subscript_of``, a loop's rows). When a write replaces an
array by its new value, the array's later value is noted too (``replaced``), so a view made
before the write (a loop's rows, made once) gives its own writes back to the array's value
of the moment. A write into an array that another live view shares memory with is still
refused (``srcad.lower.aliasing.check_write``): that view would keep its old values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from srcad.ir.builder import Tracer


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

    def note(self, view: object, base: object, index: object) -> None:
        """``view = base[index]``: noted where it is a view of an array."""
        if _is_array(view) and _is_array(base) and is_view_index(index):
            self.origins[id(view)] = ViewOrigin(view, base, index)

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

    def related(self, first: object, second: object) -> bool:
        """Whether the two are views noted of one array (or one views the other)."""
        family = {id(first), *map(id, self.viewed(first))}
        return any(id(v) in family for v in (second, *self.viewed(second)))


MAX_DEPTH = 64  # views of views: no program nests deeper; a guard against a cycle


def is_view_index(index: object) -> bool:
    """Whether ``y[index]`` is a view of ``y``: ints, slices, ``None`` and ``...`` only."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, Tracer):
            if part.ndim != 0 or np.dtype(part.dtype).kind not in "iu":
                return False
        elif not (part is None or part is Ellipsis or isinstance(part, (slice, int, np.integer))):
            return False
    return not any(isinstance(part, (bool, np.bool_)) for part in parts)


def _is_array(value: object) -> bool:
    return isinstance(value, (Tracer, np.ndarray)) and value.ndim >= 1
