"""Rules of subscripts: reading (``x[i]``), functional writing (``y[i] = v``) and
scatter-adding (the adjoint of reading, which is read back in its own adjoint).

All four are linear in their data inputs, so each JVP applies the operation to the
tangents (``deflinear`` gives reading's and scatter-adding's); index arrays take no tangent.
"""

from __future__ import annotations

import math

import numpy as np

from srcad.ir import Const
from srcad.ir.indexing import add_at, getitem, index_add, setitem
from srcad.rules.registry import defjvp, deflinear, defvjp, unbroadcast


@defvjp(getitem)
def getitem_vjp(g, out, x, *arrays, index):
    if index == () and not arrays and np.ndim(x) == 0:
        return (g,)  # x[()] of a 0-d array: its number, whose cotangent is x's
    # repeated fancy indices accumulate, as np.add.at does
    return (add_at(g, *arrays, index=index, shape=np.shape(x)),) + (None,) * len(arrays)


@defvjp(setitem)
def setitem_vjp(g, out, y, v, *arrays, index):
    # the overwritten part of y receives nothing; v receives what was written there, and
    # where index arrays repeat a position, only through the write NumPy keeps (the last)
    written = getitem(g, *arrays, index=index)  # read before zeroing: g can then be reused
    dy = setitem(g, 0.0, *arrays, index=index)
    repeats_possible = any(np.ndim(a) >= 1 for a in arrays)  # int arrays, not single ints
    kept = _kept_writes(np.shape(y), arrays, index) if repeats_possible else None
    written = written if kept is None else written * kept
    extra = np.ndim(v) - np.ndim(written)  # y[1:3] = ones((1, 2)): NumPy drops the 1s
    if extra > 0:
        written = np.reshape(written, (1,) * extra + np.shape(written))
    return (dy, unbroadcast(written, v)) + (None,) * len(arrays)


def _kept_writes(shape: tuple, arrays: tuple, index) -> object:
    """Where ``y[index] = v`` writes a position more than once (repeated index arrays), 1
    for the write that stays and 0 for those it overwrites, in the shape of ``y[index]``;
    None when every write stays. Computed when compiling for constant index arrays, by the
    generated code otherwise."""
    constants = [_constant_value(a) for a in arrays]
    if all(c is not None for c in constants):
        arrays = constants
    positions = getitem(np.arange(math.prod(shape)).reshape(shape), *arrays, index=index)
    order = np.arange(np.size(positions)).reshape(np.shape(positions))
    last = setitem(np.zeros(shape, dtype=np.int64), order, *arrays, index=index)
    kept = getitem(last, *arrays, index=index) == order
    if isinstance(kept, np.ndarray):
        return None if kept.all() else kept
    return kept


def _constant_value(array: object) -> np.ndarray | None:
    """The value of an index array known when compiling, or None."""
    if isinstance(array, np.ndarray):
        return array
    atom = getattr(array, "atom", None)
    return atom.value if isinstance(atom, Const) else None


@defvjp(add_at)
def add_at_vjp(g, out, values, *arrays, index, shape):
    return (getitem(g, *arrays, index=index),) + (None,) * len(arrays)


@defvjp(index_add)
def index_add_vjp(g, out, base, values, *arrays, index):
    return (g, unbroadcast(getitem(g, *arrays, index=index), values)) + (None,) * len(arrays)


deflinear(getitem, linear_inputs=1)


@defjvp(setitem)
def setitem_jvp(tangents, out, y, v, *arrays, index):
    y_dot, v_dot = tangents[:2]
    y_dot = np.zeros_like(y) if y_dot is None else y_dot
    return setitem(y_dot, 0.0 if v_dot is None else v_dot, *arrays, index=index)


deflinear(add_at, linear_inputs=1)


@defjvp(index_add)
def index_add_jvp(tangents, out, base, values, *arrays, index):
    base_dot, values_dot = tangents[:2]
    if values_dot is None:
        return base_dot
    base_dot = np.zeros_like(base) if base_dot is None else base_dot
    return index_add(base_dot, values_dot, *arrays, index=index)
