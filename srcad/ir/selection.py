"""Selections through a boolean mask computed from data: ``x[x > 0]``.

How many elements ``x[mask]`` has is known only when the code runs, so the graph, whose
values have shapes fixed when compiling, cannot hold it as an array. A ``Selection`` stands
for it while lowering instead: the full array ``x`` (``values``) and the mask, with what the
selection is used for written as fixed-shape NumPy:

    positive = x[x > 0]             # Selection(values=x, mask=x > 0)
    np.sum(np.log(positive))        # np.sum(np.where(mask, np.log(filled), 0.0))
    np.mean(positive)               # np.sum(np.where(mask, filled, 0.0)) / np.sum(mask)
    np.max(positive ** 2)           # np.max(np.where(mask, filled ** 2, -np.inf))
    y[mask] = positive * 0.5        # np.where(mask, filled * 0.5, y)

``filled`` is ``x`` with its unselected elements replaced by the first selected one (its
gradient stopped), so an elementwise function only ever sees values the plain function
evaluates it on (no ``log`` of a negative, no warning the user would not see). The backward
pass of ``np.where`` sends the adjoint through the mask and zero elsewhere: the scatter
through the same mask that ``x[mask]``'s own derivative is.

Elementwise operations (operators, ufuncs, ``np.clip``) keep a selection; reductions (sum,
mean, max, min, prod, var, std, ``np.linalg.norm``, a dot product of two selections) and
``len`` end one; an index that keeps the selected axis whole (``x[mask][:, 1:]``) picks along
the others. Anything else (a row of it, sorting it, returning it) needs its length and is
refused at the user's line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from srcad.ir.errors import TraceError
from srcad.ir.graph import Loc

REFUSED = (
    "'{what}' of a selection through a mask computed from data (x[x > 0]) needs its length, "
    "which is known only when the code runs; reduce it (np.sum, np.mean, np.max, ...), or "
    "use np.where(mask, x, 0.0) to keep the shape"
)


def _picks_statically(item: object) -> bool:
    """A slice of literal bounds or an int: an index along an axis the mask did not select."""
    if isinstance(item, slice):
        return all(b is None or type(b) is int for b in (item.start, item.stop, item.step))
    return type(item) is int


class Selection:
    """``base[mask]`` for a boolean ``mask`` computed from data: ``values`` has ``base``'s
    shape (unselected elements filled with a selected one), ``mask`` the shape of its
    leading ``mask.ndim`` axes."""

    __array_priority__ = 2000  # above Tracer's: x * positive asks the selection

    def __init__(self, values: Any, mask: Any, loc: Loc | None, is_filled: bool = True):
        self.values = values
        self.mask = mask
        self.loc = loc
        self.is_filled = is_filled  # unselected elements are selected values (safe to compute on)

    @classmethod
    def of(cls, base: Any, mask: Any, loc: Loc | None) -> Selection:
        """``base[mask]``: reductions and writes read ``base`` through the mask as it is;
        an elementwise function first fills the unselected elements (``filled``)."""
        return cls(base, mask, loc, is_filled=False)

    @property
    def filled(self) -> Any:
        """The values with each unselected element replaced by the first selected one.
        Recorded where it is asked for, never kept: a selection made before a loop and used
        inside it must not hold a value of the loop's body."""
        if self.is_filled:
            return self.values
        base = self.values
        rows = np.reshape(base, (-1, *base.shape[self.mask.ndim :]))
        first = rows[np.argmax(np.ravel(self.mask))]
        first = base.builder.apply("stop_gradient", (first,), {})
        return np.where(_spread(self.mask, base.ndim), base, first)

    # --- facts ----------------------------------------------------------------------------
    @property
    def trailing(self) -> tuple[int, ...]:
        """The shape after the selected axis."""
        return tuple(self.values.shape[self.mask.ndim :])

    @property
    def ndim(self) -> int:
        return 1 + len(self.trailing)

    @property
    def count(self) -> Any:
        """How many rows are selected (known when the code runs), recorded where it is asked
        for (the builder merges equal computations of one block)."""
        return np.sum(self.mask)

    @property
    def shape(self) -> tuple:
        return (self.count, *self.trailing)

    @property
    def size(self) -> Any:
        return self.count * int(np.prod(self.trailing, dtype=np.int64))

    @property
    def T(self) -> Selection:  # noqa: N802 - NumPy's name
        if self.ndim == 1:
            return self
        raise self.refused("x[mask].T")

    def __len__(self) -> int:
        raise self.refused("len(x[mask])")  # len() must be an int; the lowering asks count

    def __bool__(self) -> bool:
        raise self.refused("bool(x[mask])")

    def __iter__(self):
        raise self.refused("iterating over x[mask]")

    def __getitem__(self, index: object) -> Selection:
        """``x[mask][:, 1:]``, ``x[mask][..., 0]``: an index that keeps the selected axis
        whole and picks along the others by slices and ints (known when compiling)."""
        items = index if isinstance(index, tuple) else (index,)
        first = items[0] if items else None
        keeps_selected = first is Ellipsis or isinstance(first, slice) and first == slice(None)
        rest = items[1:]
        if not keeps_selected or not all(map(_picks_statically, rest)):
            raise self.refused("x[mask][...]")
        if len(rest) > len(self.trailing):
            raise self.refused("x[mask][...] with more indices than it has axes")
        lead = (Ellipsis,) if items[0] is Ellipsis else (slice(None),) * self.mask.ndim
        return Selection(self.values[(*lead, *rest)], self.mask, self.loc, self.is_filled)

    def refused(self, what: str) -> TraceError:
        return TraceError(REFUSED.format(what=what), self.loc)

    # --- elementwise ----------------------------------------------------------------------
    def _values_of(self, other: object) -> object:
        """``other``'s values lined up with this selection's."""
        if isinstance(other, Selection):
            if other.mask is not self.mask and other.mask.atom != self.mask.atom:
                raise self.refused("combining selections through different masks")
            return other.filled
        if np.ndim(other) > len(self.trailing):  # type: ignore[arg-type]
            raise self.refused(f"combining x[mask] with an array of {np.ndim(other)} axes")  # type: ignore[arg-type]
        return other

    def elementwise(self, function: Callable, inputs: tuple, **kwargs: object) -> Selection:
        values = [self._values_of(i) for i in inputs]
        return Selection(function(*values, **kwargs), self.mask, self.loc)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs or ufunc.nout != 1:
            raise self.refused(f"np.{ufunc.__name__}.{method}")
        if ufunc.types and all(t.split("->")[1] == "?" for t in ufunc.types):
            raise self.refused(f"np.{ufunc.__name__}")  # a comparison: a mask of a selection
        return self.elementwise(ufunc, inputs)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.shape:
            return self.shape
        if func is np.ndim:
            return self.ndim
        if func is np.size:
            return self.size
        if func in REDUCTIONS:
            return REDUCTIONS[func](*args, **kwargs)
        if func is np.clip:
            return self.elementwise(np.clip, tuple(args), **kwargs)
        if func in (np.dot, np.inner, np.vdot, np.matmul):
            return _dot(*args)
        if func is np.linalg.norm and len(args) == 1 and not kwargs:
            return np.sqrt(np.sum(self * self))
        raise self.refused(f"np.{func.__name__}")

    def __add__(self, other):
        return self.elementwise(np.add, (self, other))

    def __radd__(self, other):
        return self.elementwise(np.add, (other, self))

    def __sub__(self, other):
        return self.elementwise(np.subtract, (self, other))

    def __rsub__(self, other):
        return self.elementwise(np.subtract, (other, self))

    def __mul__(self, other):
        return self.elementwise(np.multiply, (self, other))

    def __rmul__(self, other):
        return self.elementwise(np.multiply, (other, self))

    def __truediv__(self, other):
        return self.elementwise(np.divide, (self, other))

    def __rtruediv__(self, other):
        return self.elementwise(np.divide, (other, self))

    def __pow__(self, other):
        return self.elementwise(np.power, (self, other))

    def __rpow__(self, other):
        return self.elementwise(np.power, (other, self))

    def __matmul__(self, other):
        return _dot(self, other)

    def __rmatmul__(self, other):
        return _dot(other, self)

    def __neg__(self):
        return self.elementwise(np.negative, (self,))

    def __pos__(self):
        return self

    def __abs__(self):
        return self.elementwise(np.absolute, (self,))

    def _compared(self, other):
        raise self.refused("comparing x[mask] (a mask of a selection)")

    __gt__ = __ge__ = __lt__ = __le__ = _compared

    # --- reductions and methods -----------------------------------------------------------
    def reduce(self, kind: str, axis: object = None, keepdims: bool = False) -> object:
        """``np.<kind>(selection, axis)``: the unselected elements set to the reduction's
        identity, then the reduction over the axes the selection's axis stands for."""
        if keepdims:
            raise self.refused(f"np.{kind}(x[mask], keepdims=True)")
        axes = self._axes(axis)
        if axes is None:  # over the trailing axes only: still a selection
            reduced = getattr(np, kind)(self.filled, axis=self._values_axis(axis))
            return Selection(reduced, self.mask, self.loc)
        identity = {"sum": 0.0, "prod": 1.0, "max": -np.inf, "min": np.inf}[kind]
        spread = _spread(self.mask, self.values.ndim)
        kept = np.where(spread, self.values, identity)
        return getattr(np, kind)(kept, axis=axes or None)

    def sum(self, axis=None, keepdims=False):
        return self.reduce("sum", axis, keepdims)

    def prod(self, axis=None, keepdims=False):
        return self.reduce("prod", axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return self.reduce("max", axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return self.reduce("min", axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        total = self.reduce("sum", axis, keepdims)
        if isinstance(total, Selection):  # over trailing axes: every row has them all
            return total / int(np.prod(self.trailing, dtype=np.int64))
        return total / self._count_over(axis)

    def var(self, axis=None, ddof=0, keepdims=False):
        if axis not in (None, 0, -self.ndim):  # over trailing axes only
            raise self.refused(f"np.var(x[mask], axis={axis!r})")
        centered = self - self.mean(axis, keepdims)
        squares = centered * centered
        return squares.reduce("sum", axis, keepdims) / (self._count_over(axis) - ddof)

    def std(self, axis=None, ddof=0, keepdims=False):
        return np.sqrt(self.var(axis, ddof, keepdims))

    def dot(self, other):
        return _dot(self, other)

    def copy(self):
        return self

    def ravel(self):
        if self.ndim == 1:
            return self
        raise self.refused("x[mask].ravel()")

    flatten = ravel

    def _axes(self, axis: object) -> tuple[int, ...] | None:
        """The values' axes reduced for ``axis`` of the selection; None when the selected
        axis is kept (a reduction over trailing axes)."""
        if not (axis is None or isinstance(axis, int) and -self.ndim <= axis < self.ndim):
            raise self.refused(f"a reduction of x[mask] over axis={axis!r}")
        if axis is None or axis % self.ndim == 0 and self.mask.ndim == self.values.ndim:
            return ()  # every axis
        if axis % self.ndim == 0:
            return tuple(range(self.mask.ndim))
        return None

    def _values_axis(self, axis: object) -> int:
        return int(axis) % self.ndim - 1 + self.mask.ndim  # type: ignore[call-overload]

    def _count_over(self, axis: object) -> Any:
        """How many elements a reduction over ``axis`` adds up."""
        if axis is None:
            return self.size
        return self.count


def _spread(mask: Any, ndim: int) -> Any:
    """``mask`` with axes of length 1 appended, to broadcast against ``ndim`` axes."""
    if mask.ndim == ndim:
        return mask
    return np.reshape(mask, (*mask.shape, *(1,) * (ndim - mask.ndim)))


def _dot(left: object, right: object) -> object:
    """``a @ b`` where one side is a selection: a sum of products of two 1-d selections,
    the rows of a 2-d selection times a matrix (still a selection)."""
    if isinstance(left, Selection) and isinstance(right, Selection):
        if left.ndim == right.ndim == 1:
            return np.sum(left * right)
        raise left.refused("x[mask] @ y[mask] of more than one axis")
    if isinstance(left, Selection) and left.ndim == 2 and np.ndim(right) in (1, 2):  # type: ignore[arg-type]
        return Selection(left.filled @ right, left.mask, left.loc)
    selection = left if isinstance(left, Selection) else right
    assert isinstance(selection, Selection)
    raise selection.refused("x[mask] @ y")


def _reduction(kind: str) -> Callable:
    def reduce(selection: Selection, axis=None, keepdims=False, **kwargs):
        if kwargs:
            raise selection.refused(f"np.{kind}(x[mask], {', '.join(kwargs)}=...)")
        return getattr(selection, kind)(axis=axis, keepdims=keepdims)

    return reduce


def _with_ddof(kind: str) -> Callable:
    def reduce(selection: Selection, axis=None, ddof=0, keepdims=False):
        return getattr(selection, kind)(axis=axis, ddof=ddof, keepdims=keepdims)

    return reduce


REDUCTIONS: dict[Callable, Callable] = {
    np.sum: _reduction("sum"),
    np.prod: _reduction("prod"),
    np.max: _reduction("max"),
    np.amax: _reduction("max"),
    np.min: _reduction("min"),
    np.amin: _reduction("min"),
    np.mean: _reduction("mean"),
    np.var: _with_ddof("var"),
    np.std: _with_ddof("std"),
}


def is_selection(value: object) -> bool:
    return isinstance(value, Selection)


POSITIONS_REFUSED = (
    "the positions where a mask computed from data holds (np.where(mask), np.nonzero(mask)) "
    "are as many as the data says, known only when the code runs: srcad follows them as the "
    "whole index of an array the mask was made over, x[np.where(mask)] (or "
    "x[np.nonzero(mask)[0]] of a 1-d mask), which is x[mask], and not in {what}; count them "
    "with np.sum(mask)"
)


class Positions:
    """The indices along axis ``axis`` where ``mask`` holds (``np.nonzero(mask)[axis]``),
    for a boolean ``mask`` computed from data. Only indexing with them is followed: as the
    selection through the mask (``mask_of_positions``)."""

    def __init__(self, mask: Any, axis: int, loc: Loc | None):
        self.mask = mask
        self.axis = axis
        self.loc = loc

    def refused(self, what: str) -> TraceError:
        return TraceError(POSITIONS_REFUSED.format(what=what), self.loc)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raise self.refused(f"np.{ufunc.__name__}")

    def __array_function__(self, func, types, args, kwargs):
        raise self.refused(f"np.{func.__name__}")

    def __len__(self) -> int:
        raise self.refused("len()")

    def __iter__(self):
        raise self.refused("a loop over them")

    def __bool__(self) -> bool:
        raise self.refused("a condition")

    def __getitem__(self, index: object):
        raise self.refused("an index into them")

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise self.refused(f".{name}")

    def _operator(self, *other: object):
        raise self.refused("arithmetic")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _operator
    __floordiv__ = __rfloordiv__ = __mod__ = __neg__ = _operator
    __lt__ = __le__ = __gt__ = __ge__ = _operator


def positions_of(mask: Any, loc: Loc | None) -> tuple[Positions, ...]:
    """``np.nonzero(mask)``, ``np.where(mask)``: one ``Positions`` per axis of the mask."""
    return tuple(Positions(mask, axis, loc) for axis in range(mask.ndim))


def mask_of_positions(index: object) -> Any | None:
    """The mask an index of positions selects through: ``np.nonzero(mask)`` whole (a
    tuple of all its axes, in order) or its one array of a 1-d mask; None for other
    indices, and a refusal for positions used otherwise within an index."""
    items = index if isinstance(index, tuple) else (index,)
    found = [item for item in items if isinstance(item, Positions)]
    if not found:
        return None
    mask = found[0].mask
    whole = len(items) == len(found) == mask.ndim
    in_order = all(p.mask is mask and p.axis == k for k, p in enumerate(found))
    if not (whole and in_order):
        raise found[0].refused("an index with other parts, or with some of their arrays")
    return mask
