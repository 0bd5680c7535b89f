"""NumPy array operations that numba has no typing for, as functions numba compiles: the
numba variant calls them where the NumPy code calls NumPy (see
``srcad.backends.numba_spellings``).

    add_at(a, index, values)   np.add.at(a, index, values): values added at index, repeated
                               positions accumulating in order, as NumPy adds them
    keepdims_all(value, like)  value as an array of like's number of dimensions, each 1:
                               x.sum(keepdims=True) is keepdims_all(np.sum(x), x)
    sum_kept(x), mean_kept(x)  x.sum(keepdims=True), x.mean(keepdims=True) (of an
                               expression, which keepdims_all would compute twice)
    cumprod_along(x, axis)     np.cumprod(x, axis=axis)
    roll_along(x, shift, axis) np.roll(x, shift, axis=axis)
    prod_along(x, axis)        np.prod(x, axis=axis) of a matrix
    squeeze_axis(x, axis)      np.squeeze(x, axis=axis): ValueError unless that axis has one
                               element, as NumPy
    stack_items(items)         np.stack(items) of a tuple of arrays, or of numbers (numba's
                               np.stack takes arrays only)
    tile_vector(x, reps)       np.tile(x, reps) of a vector, reps an int
    diagonal_of(a)             np.diagonal(a) of a matrix (a copy, where NumPy gives a
                               read-only view: the same values to read)
    reshaped(x, shape)         x.reshape(shape) of any array: numba reshapes contiguous
                               arrays only, so another layout (a transpose, a broadcast) is
                               copied first, as NumPy copies it; shape () gives a number
    clip_values(x, lo, hi)     np.clip(x, lo, hi), of a number too (NumPy's definition:
                               np.minimum(np.maximum(x, lo), hi); a bound may be None)
    inner_product(a, b)        np.inner(a, b) of numbers, vectors and matrices
    may_share_memory(a, b)     np.may_share_memory(a, b) of two arrays: whether the bytes
                               between their first and last elements overlap, as NumPy's
    vdot_values(a, b)          np.vdot(a, b) of arrays of any shape (flattened, as NumPy's),
                               of two float dtypes too: in the wider one, as NumPy computes
                               it (numba's takes vectors of one dtype)
    sort_along(x, axis)        np.sort(x, axis=axis) of a float vector or matrix
    argsort_along(x, axis)     np.argsort(x, axis=axis, kind="stable") of a vector or matrix
                               (ties in their order, as NumPy's stable sorts keep them)
    where_values(c, x, y)      np.where(c, x, y); of three numbers, a number (numba's, as
                               NumPy's, is a 0-d array, which numba cannot merge with a number
                               another branch assigns, nor add into an array's element); of a
                               boolean array and float arrays of its shape or numbers of
                               their type, a loop without branches (numba's branches on
                               each element: 1024x256 float32, 1.4 ms against 0.08)
    differences_along(x, axis) np.diff(x, axis=axis) of a vector or matrix (booleans: where
                               neighbours differ, as NumPy)
    padded(x, widths)          np.pad(x, widths) with zeros, of a vector or matrix: widths
                               an int, a pair, or one pair per axis (or one for all)
    detached(v, target)        v, or a copy of it where it may share memory with the array
                               target: what ``target[...] += v`` and ``add_at(target, i, v)``
                               read (NumPy buffers an operand that overlaps the array it
                               writes; numba reads it as it writes: ``g[::-1] += g`` summed
                               already updated elements)
    sum_values(x), mean_values(x), var_values(x), std_values(x)
                               np.sum(x), np.mean(x), np.var(x), np.std(x) of all of x; of
                               float32 numbers summed
                               in float64 (numba's own adds them one by one in float32: a
                               million of them lost 4 digits, where NumPy's pairwise sum
                               keeps them), the result float32
    power_of(a, b)             a ** b; of two ints, Python's ArithmeticError for a negative
                               exponent or a power beyond int64, where Python's answer is a
                               float or a bigger int (numba's int power gives 0, or wraps):
                               the NumPy code then answers the call
    item_of(x)                 x[()]: the number of a 0-d array, a number itself (numba
                               has no ``[()]`` of a number), any other array itself
    triangular_solve(a, b, lower, transposed, unit)
                               scipy.linalg.solve_triangular(a, b, trans, lower,
                               unit_diagonal) of a matrix and a vector or matrix of float64
                               (float32) values, by substitution; ValueError where SciPy
                               raises (a zero on the diagonal, a NaN or an infinity in its
                               operands): the NumPy code then answers the call
    integral(x)                x itself, for int(x), round(x), math.floor(x), ceil, trunc:
                               Python's ValueError for a NaN, OverflowError for an infinity
                               (and for a number beyond int64, which Python's int holds)
                               (numba's int of either is some int, 0 or the lowest)

The ``axis`` of these is a literal int (numba compiles a version for it); ``cumprod``,
``roll`` and ``prod`` take a float vector or matrix (for other arrays numba's typing fails,
and srcad runs NumPy's code).

``add_at`` takes the indices srcad's gradients scatter through: one integer array along
the first axis (negative positions count from the end), a boolean mask of the array's
shape, a pair of integer arrays into a matrix, and ``(slice(None), columns)``. For any
other index numba's typing fails, and srcad runs the NumPy code, naming the line.

Imported only by numba variants: importing it imports numba.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numba
import numpy as np
from numba import types
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple


def add_at(a, index, values):
    """``np.add.at(a, index, values)``."""
    np.add.at(a, index, values)


def integral(x):
    """``x``, which an int is made of: a number, not NaN nor an infinity."""
    return x


@overload(integral)
def _integral(x):
    if not isinstance(x, types.Float):
        return lambda x: x

    def checked(x):
        if x != x:
            raise ValueError("cannot convert float NaN to integer")
        if x - x != 0.0:
            raise OverflowError("cannot convert float infinity to integer")
        if abs(x) >= INT64_LIMIT:  # a Python int, beyond numba's int64
            raise OverflowError("an int beyond int64")
        return x

    return checked


def keepdims_all(value, like):
    """``value`` shaped ``(1,) * like.ndim``."""
    return np.full((1,) * np.ndim(like), value)


def sum_kept(x):
    """``x.sum(keepdims=True)``."""
    return np.sum(x, keepdims=True)


def mean_kept(x):
    """``x.mean(keepdims=True)``."""
    return np.mean(x, keepdims=True)


def cumprod_along(x, axis):
    """``np.cumprod(x, axis=axis)``."""
    return np.cumprod(x, axis=axis)


def roll_along(x, shift, axis):
    """``np.roll(x, shift, axis=axis)``."""
    return np.roll(x, shift, axis=axis)


def prod_along(x, axis):
    """``np.prod(x, axis=axis)``."""
    return np.prod(x, axis=axis)


def squeeze_axis(x, axis):
    """``np.squeeze(x, axis=axis)``."""
    return np.squeeze(x, axis=axis)


def stack_items(items):
    """``np.stack(items)``."""
    return np.stack(items)


def tile_vector(x, reps):
    """``np.tile(x, reps)``."""
    return np.tile(x, reps)


def diagonal_of(a):
    """``np.diagonal(a)``."""
    return np.diagonal(a)


def reshaped(x, shape):
    """``x.reshape(shape)``."""
    return np.reshape(x, shape)


def clip_values(x, lo, hi):
    """``np.clip(x, lo, hi)``."""
    return np.clip(x, lo, hi)


def inner_product(a, b):
    """``np.inner(a, b)``."""
    return np.inner(a, b)


def vdot_values(a, b):
    """``np.vdot(a, b)``."""
    return np.vdot(a, b)


def may_share_memory(a, b):
    """``np.may_share_memory(a, b)``."""
    return np.may_share_memory(a, b)


def sort_along(x, axis):
    """``np.sort(x, axis=axis)``."""
    return np.sort(x, axis=axis)


def argsort_along(x, axis):
    """``np.argsort(x, axis=axis, kind="stable")``."""
    return np.argsort(x, axis=axis, kind="stable")


def where_values(condition, x, y):
    """``np.where(condition, x, y)``."""
    return np.where(condition, x, y)


def item_of(x):
    """``x[()]``."""
    return x[()]


def triangular_solve(a, b, lower, transposed, unit):
    """``scipy.linalg.solve_triangular(a, b, trans=transposed, lower=lower,
    unit_diagonal=unit)``."""
    solve_triangular = sys.modules["scipy.linalg"].solve_triangular
    return solve_triangular(a, b, trans=int(transposed), lower=lower, unit_diagonal=unit)


def sum_values(x):
    """``np.sum(x)``."""
    return np.sum(x)


def mean_values(x):
    """``np.mean(x)``."""
    return np.mean(x)


def var_values(x):
    """``np.var(x)``."""
    return np.var(x)


def std_values(x):
    """``np.std(x)``."""
    return np.std(x)


def power_of(a, b):
    """``a ** b``."""
    return a**b


def detached(values, target):
    """``values``, copied where it may share memory with ``target``."""
    return values.copy() if np.may_share_memory(values, target) else values


def differences_along(x, axis):
    """``np.diff(x, axis=axis)``."""
    return np.diff(x, axis=axis)


def padded(x, widths):
    """``np.pad(x, widths)``."""
    return np.pad(x, widths)


def _integers(index: types.Type) -> bool:
    return isinstance(index, types.Array) and isinstance(index.dtype, types.Integer)


@overload(add_at)
def _add_at(a, index, values):
    if not isinstance(a, types.Array):
        return None
    if _integers(index) and index.ndim == 1:
        return _along_first_axis
    if isinstance(index, types.Array) and index.dtype == types.boolean:
        return _masked if index.ndim == a.ndim and a.layout == "C" else None
    if isinstance(index, types.BaseTuple) and len(index) == 2 and a.ndim == 2:
        first, second = _pair(index)
        if _integers(first) and _integers(second) and first.ndim == second.ndim == 1:
            return _pairs
        if isinstance(first, types.SliceType) and _integers(second) and second.ndim == 1:
            return _columns
    return None


def _pair(index: Any) -> tuple[Any, Any]:
    """The two item types of a numba tuple type of two items."""
    first, second = index
    return first, second


def _along_first_axis(a, index, values):
    spread = np.broadcast_to(values, (index.size,) + a.shape[1:])
    rows = a.shape[0]
    for k in range(index.size):
        row = index[k] + rows if index[k] < 0 else index[k]
        if not 0 <= row < rows:
            raise IndexError("add_at: an index is out of bounds")
        a[row] += spread[k]


def _masked(a, index, values):
    if index.shape != a.shape:
        raise IndexError("add_at: the mask's shape is not the array's")
    mask = index.ravel()
    flat = a.reshape(a.size)
    spread = np.broadcast_to(values, (int(np.count_nonzero(mask)),))
    k = 0
    for position in range(mask.size):
        if mask[position]:
            flat[position] += spread[k]
            k += 1


def _pairs(a, index, values):
    rows, columns = index
    count = columns.size if rows.size == 1 else rows.size  # one of length 1 stretches
    if columns.size not in (1, count):
        raise IndexError("add_at: the index arrays' lengths differ")
    spread = np.broadcast_to(values, (count,))
    for k in range(count):
        row = rows[k if rows.size > 1 else 0]
        column = columns[k if columns.size > 1 else 0]
        row = row + a.shape[0] if row < 0 else row
        column = column + a.shape[1] if column < 0 else column
        if not (0 <= row < a.shape[0] and 0 <= column < a.shape[1]):
            raise IndexError("add_at: an index is out of bounds")
        a[row, column] += spread[k]


def _columns(a, index, values):
    taken, columns = index
    selected = np.arange(a.shape[0])[taken]
    spread = np.broadcast_to(values, (selected.size, columns.size))
    for k in range(columns.size):
        column = columns[k] + a.shape[1] if columns[k] < 0 else columns[k]
        if not 0 <= column < a.shape[1]:
            raise IndexError("add_at: an index is out of bounds")
        for i in range(selected.size):
            a[selected[i], column] += spread[i, k]


@overload(keepdims_all)
def _keepdims_all(value, like):
    if not isinstance(like, types.Array):
        return None  # NumPy's keepdims of a list keeps its dimensions: not known here
    ones = (1,) * like.ndim
    return lambda value, like: np.full(ones, value)


def _literal_axis(x: types.Type, axis: types.Type) -> int | None:
    """Literal ``axis`` of array ``x``, counted from the start; None unless both are known
    when numba types the call."""
    if not (isinstance(x, types.Array) and isinstance(axis, types.IntegerLiteral)):
        return None
    along = axis.literal_value
    return along % x.ndim if -x.ndim <= along < x.ndim else None


def _kept(reduce: Callable) -> Callable:
    """The overload of ``reduce`` over all of an array, kept as ``keepdims_all`` keeps it."""

    def overloaded(x):
        return (lambda x: keepdims_all(reduce(x), x)) if isinstance(x, types.Array) else None

    return overloaded


overload(sum_kept)(_kept(np.sum))
overload(mean_kept)(_kept(np.mean))


@overload(cumprod_along)
def _cumprod_along(x, axis):
    return along_rows(_cumprod_rows, same_shape=True)(x, axis)


@overload(roll_along)
def _roll_along(x, shift, axis):
    work = rowwise(x, axis, _roll_rows, same_shape=True)
    if work is None or not isinstance(shift, types.Integer):
        return None
    return lambda x, shift, axis: work(x, shift)


@overload(prod_along)
def _prod_along(x, axis):
    if isinstance(x, types.Array) and x.ndim < 2:
        return None  # a number: numba's own np.prod
    work = rowwise(x, axis, _prod_rows, same_shape=False)
    return None if work is None else lambda x, axis: work(x, 0)


@overload(sort_along)
def _sort_along(x, axis):
    return along_rows(_sort_rows, same_shape=True)(x, axis)


# Each kernel works along the last axis of the 2-d ``rows`` into ``out``; ``shift`` is
# roll's.
@numba.njit
def _sort_rows(rows, out, shift):
    for r in range(rows.shape[0]):
        out[r, :] = np.sort(rows[r, :])  # NaNs last, as NumPy's


@numba.njit
def _argsort_rows(rows, out, shift):
    for r in range(rows.shape[0]):
        out[r, :] = np.argsort(rows[r, :], kind="mergesort")  # numba's stable sort


@numba.njit
def _cumprod_rows(rows, out, shift):
    for r in range(rows.shape[0]):
        running = rows.dtype.type(1)
        for c in range(rows.shape[1]):
            running *= rows[r, c]
            out[r, c] = running


@numba.njit
def _roll_rows(rows, out, shift):
    columns = rows.shape[1]
    for r in range(rows.shape[0]):
        for c in range(columns):
            out[r, (c + shift) % columns] = rows[r, c]


@numba.njit
def _prod_rows(rows, out, shift):
    for r in range(rows.shape[0]):
        product = rows.dtype.type(1)
        for c in range(rows.shape[1]):
            product *= rows[r, c]
        out[r] = product


def rowwise(x: types.Type, axis: types.Type, kernel, same_shape: bool, positions=False):
    """A compiled ``work(x, shift)`` that runs ``kernel`` along literal ``axis`` of a 1-d
    or 2-d array ``x`` (on a view: the array's rows, or its columns as the rows of its
    transpose), returning an array of ``x``'s shape (``same_shape``) or of it without the
    axis, of ``x``'s dtype (``positions``: of positions, for any ``x``). None for other
    arrays and where numba cannot know the axis."""
    along = _literal_axis(x, axis)
    if along is None or not isinstance(x, types.Array) or x.ndim > 2:
        return None
    if not (positions or isinstance(x.dtype, types.Float)):
        return None  # NumPy widens integer products to int64: its code keeps that
    if positions:
        empty = numba.njit(lambda x, shape: np.empty(shape, np.intp))
    else:
        empty = numba.njit(lambda x, shape: np.empty(shape, x.dtype))
    if x.ndim == 1:
        view = numba.njit(lambda a: a[np.newaxis, :])
    elif along == 0:
        view = numba.njit(lambda a: a.T)
    else:
        view = numba.njit(lambda a: a)

    def work(x, shift):
        rows = view(x)
        out = empty(x, x.shape if same_shape else rows.shape[:1])
        kernel(rows, view(out) if same_shape else out, shift)
        return out

    return numba.njit(work)


def along_rows(kernel: Callable, same_shape: bool) -> Callable:
    """An overload that runs ``kernel`` along a literal axis (see ``rowwise``)."""

    def overloaded(x, axis):
        work = rowwise(x, axis, kernel, same_shape)
        return None if work is None else lambda x, axis: work(x, 0)

    return overloaded


@overload(squeeze_axis)
def _squeeze_axis(x, axis):
    along = _literal_axis(x, axis)
    if along is None:
        return None
    kept = np.array([k for k in range(x.ndim) if k != along], dtype=np.intp)
    count = len(kept)

    def squeezed(x, axis):
        if x.shape[along] != 1:
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
        dims = np.array(x.shape)[kept]
        shape = to_fixed_tuple(dims, count)  # type: ignore[call-arg,var-annotated] # an intrinsic
        return np.ascontiguousarray(x).reshape(shape)

    return squeezed


@overload(stack_items)
def _stack_items(items):
    if isinstance(items, types.UniTuple) and isinstance(items.dtype, types.Number):
        return lambda items: np.array(items)
    if isinstance(items, types.BaseTuple):
        return lambda items: np.stack(items)
    return None


@overload(tile_vector)
def _tile_vector(x, reps):
    if not (isinstance(x, types.Array) and x.ndim == 1 and isinstance(reps, types.Integer)):
        return None

    def tiled(x, reps):
        if reps < 0:
            raise ValueError("negative dimensions are not allowed")
        size = x.size
        out = np.empty(size * reps, x.dtype)
        for copy in range(reps):
            out[copy * size : (copy + 1) * size] = x
        return out

    return tiled


@overload(diagonal_of)
def _diagonal_of(a):
    if not (isinstance(a, types.Array) and a.ndim == 2):
        return None
    return lambda a: np.diag(a)


@overload(reshaped)
def _reshaped(x, shape):
    if isinstance(x, (types.Number, types.Boolean)):  # dout of a size-1 output: (1,) etc.
        if isinstance(shape, types.BaseTuple) and len(shape) == 0:
            return lambda x, shape: x
        return lambda x, shape: np.full(1, x).reshape(shape)
    if not isinstance(x, types.Array):
        return None
    if isinstance(shape, types.BaseTuple) and len(shape) == 0:
        return _to_number  # a number, as NumPy's 0-d array acts: numba's would not merge
    if x.layout == "C":
        return lambda x, shape: x.reshape(shape)
    return lambda x, shape: np.ascontiguousarray(x).reshape(shape)


def _to_number(x, shape):
    if x.size != 1:
        raise ValueError("cannot reshape an array of more than one element into shape ()")
    return np.ravel(x)[0]


@overload(clip_values)
def _clip_values(x, lo, hi):
    if isinstance(x, types.Array):
        if isinstance(x.dtype, types.Integer) and any(_floats(bound) for bound in (lo, hi)):
            # numba's np.clip keeps the integers; NumPy's result is float64
            return lambda x, lo, hi: np.clip(x.astype(np.float64), lo, hi)
        return lambda x, lo, hi: np.clip(x, lo, hi)
    if not isinstance(x, types.Number):
        return None
    low = _bound(lo, np.maximum)
    high = _bound(hi, np.minimum)
    if low is None or high is None:
        return None
    return lambda x, lo, hi: high(low(x, lo), hi)


def _floats(bound: types.Type) -> bool:
    """A float, or an array of floats."""
    dtype = bound.dtype if isinstance(bound, types.Array) else bound
    return isinstance(dtype, types.Float)


def _bound(bound: types.Type, compare):
    """A compiled ``(x, bound) -> compare(x, bound)``; ``x`` alone for a None bound; None for
    a bound numba's typing should refuse (an array: NumPy's result would be one)."""
    if isinstance(bound, (types.NoneType, types.Omitted)):
        return numba.njit(lambda x, bound: x)
    if isinstance(bound, types.Number):
        return numba.njit(lambda x, bound: compare(x, bound))
    return None


@overload(inner_product)
def _inner_product(a, b):
    if isinstance(a, types.Number) or isinstance(b, types.Number):
        return lambda a, b: a * b
    if not (isinstance(a, types.Array) and isinstance(b, types.Array)):
        return None
    if a.ndim > 2 or b.ndim > 2:
        return None
    if b.ndim == 1:  # over b's only axis
        return lambda a, b: np.dot(a, b)
    if a.ndim == 1:  # the rows of b times a
        return lambda a, b: np.dot(b, a)
    return lambda a, b: np.dot(a, b.T)


@overload(vdot_values)
def _vdot_values(a, b):
    if not (isinstance(a, types.Array) and isinstance(b, types.Array)):
        return None
    if a.dtype == b.dtype:
        return lambda a, b: np.vdot(np.ravel(a), np.ravel(b))
    if not all(isinstance(x.dtype, types.Float) for x in (a, b)):
        return None
    wider = a.dtype if a.dtype.bitwidth > b.dtype.bitwidth else b.dtype
    return lambda a, b: np.vdot(np.ravel(a).astype(wider), np.ravel(b).astype(wider))


@overload(may_share_memory)
def _may_share_memory(a, b):
    if not (isinstance(a, types.Array) and isinstance(b, types.Array)):
        return None
    return lambda a, b: _overlap(_bounds(a), _bounds(b))


@numba.njit
def _bounds(x):
    """The first and one past the last byte address ``x`` may touch (NumPy's bounds)."""
    low = x.ctypes.data
    high = low
    for k in range(x.ndim):
        if x.shape[k] == 0:
            return low, low
        extent = (x.shape[k] - 1) * x.strides[k]
        if extent < 0:
            low += extent
        else:
            high += extent
    return low, high + x.itemsize


@numba.njit
def _overlap(first, second):
    return first[0] < second[1] and second[0] < first[1]


@overload(padded)
def _padded(x, widths):
    if not isinstance(x, types.Array) or x.ndim not in (1, 2):
        return None
    pairs = _pad_pairs(widths, x.ndim)
    if pairs is None:
        return None
    if x.ndim == 1:

        def pad_vector(x, widths):
            ((before, after),) = pairs(widths)
            if before < 0 or after < 0:
                raise ValueError("index can't contain negative values")
            out = np.zeros(x.shape[0] + before + after, x.dtype)
            out[before : before + x.shape[0]] = x
            return out

        return pad_vector

    def pad_matrix(x, widths):
        (top, bottom), (left, right) = pairs(widths)
        if min(top, bottom, left, right) < 0:
            raise ValueError("index can't contain negative values")
        rows, columns = x.shape
        out = np.zeros((rows + top + bottom, columns + left + right), x.dtype)
        out[top : top + rows, left : left + columns] = x
        return out

    return pad_matrix


def _pad_pairs(widths: types.Type, ndim: int):
    """A compiled ``widths -> one (before, after) pair per axis`` for the forms NumPy takes:
    an int, a pair, a 1-tuple of pairs (for every axis) or one pair per axis. None for
    another form."""
    if isinstance(widths, types.Integer):
        pair = numba.njit(lambda w: (w, w))
    elif _int_pair(widths):
        pair = numba.njit(lambda w: (w[0], w[1]))
    elif isinstance(widths, types.UniTuple) and _int_pair(widths.dtype) and widths.count == 1:
        pair = numba.njit(lambda w: (w[0][0], w[0][1]))
    elif isinstance(widths, types.UniTuple) and _int_pair(widths.dtype) and widths.count == ndim:
        if ndim == 1:
            return numba.njit(lambda w: ((w[0][0], w[0][1]),))
        return numba.njit(lambda w: ((w[0][0], w[0][1]), (w[1][0], w[1][1])))
    else:
        return None
    if ndim == 1:
        return numba.njit(lambda w: (pair(w),))
    return numba.njit(lambda w: (pair(w), pair(w)))


def _int_pair(widths: types.Type) -> bool:
    return (
        isinstance(widths, types.UniTuple)
        and widths.count == 2
        and isinstance(widths.dtype, types.Integer)
    )


@overload(differences_along)
def _differences_along(x, axis):
    along = _literal_axis(x, axis)
    if along is None or x.ndim > 2:
        return None
    if isinstance(x.dtype, types.Boolean):
        step = numba.njit(lambda later, earlier: later != earlier)
    else:
        step = numba.njit(lambda later, earlier: later - earlier)
    if along == 0:
        return lambda x, axis: step(x[1:], x[:-1])
    return lambda x, axis: step(x[:, 1:], x[:, :-1])


INT64_LIMIT = 2.0**63


@numba.njit(fastmath={"reassoc"})
def _float64_total(x):
    """The sum of a float32 array's numbers, added in float64 (reassociated: vectorised)."""
    total = 0.0
    for value in np.ravel(x):
        total += np.float64(value)
    return total


@numba.njit(fastmath={"reassoc"})
def _float64_variance(x):
    """The variance of a float32 array's numbers, in float64 (the mean, then the squares)."""
    mean = _float64_total(x) / x.size
    total = 0.0
    for value in np.ravel(x):
        deviation = np.float64(value) - mean
        total += deviation * deviation
    return total / x.size


def _in_float64_for_float32(float32_impl: Callable, numpy_impl: Callable) -> Callable:
    """The typing of a reduction: ``float32_impl`` for a float32 array, NumPy's else."""

    def implementation(x):
        is_single = isinstance(x, types.Array) and x.dtype == types.float32
        return float32_impl if is_single else numpy_impl

    return implementation


# the reductions of all of an array, and how a float32 one is computed (in float64)
for _reduction, _in_float64, _as_numpy in (
    (sum_values, lambda x: np.float32(_float64_total(x)), lambda x: np.sum(x)),
    (mean_values, lambda x: np.float32(_float64_total(x) / x.size), lambda x: np.mean(x)),
    (var_values, lambda x: np.float32(_float64_variance(x)), lambda x: np.var(x)),
    (std_values, lambda x: np.float32(np.sqrt(_float64_variance(x))), lambda x: np.std(x)),
):
    overload(_reduction)(_in_float64_for_float32(_in_float64, _as_numpy))


@overload(power_of)
def _power_of(a, b):
    if not (isinstance(a, types.Integer) and isinstance(b, types.Integer)):
        return lambda a, b: a**b

    def python_int_power(a, b):
        if b < 0:
            raise ArithmeticError("an int to a negative power is a float in Python")
        if abs(float(a)) ** b >= INT64_LIMIT:
            raise OverflowError("an int power beyond int64")
        return a**b

    return python_int_power


@overload(detached)
def _detached(values, target):
    if not (isinstance(values, types.Array) and isinstance(target, types.Array)):
        return lambda values, target: values  # a number is read before the write

    def copied_where_shared(values, target):
        if may_share_memory(values, target):
            return values.copy()
        return values

    return copied_where_shared


@overload(triangular_solve)
def _triangular_solve(a, b, lower, transposed, unit):
    if not (isinstance(a, types.Array) and isinstance(b, types.Array) and a.ndim == 2):
        return None
    if b.ndim not in (1, 2) or not all(isinstance(x.dtype, types.Float) for x in (a, b)):
        return None
    dtype = a.dtype if a.dtype.bitwidth >= b.dtype.bitwidth else b.dtype

    def solve(a, b, lower, transposed, unit):
        n = a.shape[0]
        if a.shape[1] != n or b.shape[0] != n:
            raise ValueError("shapes of a and b are incompatible")
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            raise ValueError("array must not contain infs or NaNs")
        x = np.ascontiguousarray(b.astype(dtype)).reshape((n, -1))
        # the triangle the solve runs down: a's, or for a.T x = b the other one
        from_the_top = lower != transposed
        for column in range(x.shape[1]):
            for step in range(n):
                i = step if from_the_top else n - 1 - step
                total = x[i, column]
                others = range(i) if from_the_top else range(i + 1, n)
                for j in others:
                    total -= (a[j, i] if transposed else a[i, j]) * x[j, column]
                if not unit:
                    if a[i, i] == 0.0:
                        raise ValueError("singular matrix")
                    total /= a[i, i]
                x[i, column] = total
        return x.reshape(b.shape)

    return solve


@overload(item_of)
def _item_of(x):
    if isinstance(x, (types.Number, types.Boolean)):
        return lambda x: x
    return lambda x: x[()]


@overload(where_values)
def _where_values(condition, x, y):
    if all(isinstance(t, (types.Number, types.Boolean)) for t in (condition, x, y)):
        return lambda condition, x, y: x if condition else y
    return _picked(condition, x, y) or (lambda condition, x, y: np.where(condition, x, y))


def _picked(condition: types.Type, x: types.Type, y: types.Type):
    """A loop for a boolean array ``condition`` and, for ``x`` and ``y``, arrays of its shape
    or numbers of one float type (a float32 array and a float32 number): numba's ``where``
    branches on each element, 10x slower on a condition that changes at random (ReLU's).
    None for other types; an array of another shape goes to ``np.where`` (broadcast)."""
    if not (isinstance(condition, types.Array) and condition.dtype == types.boolean):
        return None
    arrays = [t for t in (x, y) if isinstance(t, types.Array)]
    kinds = {t.dtype if isinstance(t, types.Array) else t for t in (x, y)}
    if not arrays or len(kinds) != 1 or not isinstance(next(iter(kinds)), types.Float):
        return None
    if any(a.ndim != condition.ndim for a in arrays):
        return None
    dtype = next(iter(kinds))
    x_flat, x_fits = _flat_operand(x)
    y_flat, y_fits = _flat_operand(y)
    pick = _PICKS[isinstance(x, types.Array), isinstance(y, types.Array)]

    def picked(condition, x, y):
        if not (x_fits(condition, x) and y_fits(condition, y)):
            return np.where(condition, x, y)
        out = np.empty(condition.size, dtype)
        pick(np.ravel(condition), x_flat(x), y_flat(y), out)
        return out.reshape(condition.shape)

    return picked


def _flat_operand(operand: types.Type):
    """(its elements in order, whether it fits the condition's shape), compiled."""
    if isinstance(operand, types.Array):
        return numba.njit(lambda a: np.ravel(a)), numba.njit(lambda c, a: a.shape == c.shape)
    return numba.njit(lambda a: a), numba.njit(lambda c, a: True)


@numba.njit(error_model="numpy")
def _pick_arrays(condition, x, y, out):
    for i in range(out.size):
        out[i] = x[i] if condition[i] else y[i]


@numba.njit(error_model="numpy")
def _pick_array_number(condition, x, y, out):
    for i in range(out.size):
        out[i] = x[i] if condition[i] else y


@numba.njit(error_model="numpy")
def _pick_number_array(condition, x, y, out):
    for i in range(out.size):
        out[i] = x if condition[i] else y[i]


_PICKS = {
    (True, True): _pick_arrays,
    (True, False): _pick_array_number,
    (False, True): _pick_number_array,
}


@overload(argsort_along)
def _argsort_along(x, axis):
    work = rowwise(x, axis, _argsort_rows, same_shape=True, positions=True)
    return None if work is None else lambda x, axis: work(x, 0)
