"""Rules of subscripts: reading (``x[i]``), functional writing (``y[i] = v``) and
scatter-adding (the adjoint of reading, which is read back in its own adjoint).

All four are linear in their data inputs, so each JVP applies the operation to the
tangents; index arrays take no tangent.
"""

from __future__ import annotations

import numpy as np

from srcad.ir.indexing import add_at, getitem, index_add, setitem
from srcad.rules.registry import defjvp, defvjp, unbroadcast


@defvjp(getitem)
def getitem_vjp(g, out, x, *arrays, index):
    # repeated fancy indices accumulate, as np.add.at does
    return (add_at(g, *arrays, index=index, shape=np.shape(x)),) + (None,) * len(arrays)


@defvjp(setitem)
def setitem_vjp(g, out, y, v, *arrays, index):
    # the overwritten part of y receives nothing; v receives what was written there
    dy = setitem(g, 0.0, *arrays, index=index)
    dv = unbroadcast(getitem(g, *arrays, index=index), v)
    return (dy, dv) + (None,) * len(arrays)


@defvjp(add_at)
def add_at_vjp(g, out, values, *arrays, index, shape):
    return (getitem(g, *arrays, index=index),) + (None,) * len(arrays)


@defvjp(index_add)
def index_add_vjp(g, out, base, values, *arrays, index):
    return (g, unbroadcast(getitem(g, *arrays, index=index), values)) + (None,) * len(arrays)


@defjvp(getitem)
def getitem_jvp(tangents, out, x, *arrays, index):
    return getitem(tangents[0], *arrays, index=index)


@defjvp(setitem)
def setitem_jvp(tangents, out, y, v, *arrays, index):
    y_dot, v_dot = tangents[:2]
    y_dot = np.zeros_like(y) if y_dot is None else y_dot
    return setitem(y_dot, 0.0 if v_dot is None else v_dot, *arrays, index=index)


@defjvp(add_at)
def add_at_jvp(tangents, out, values, *arrays, index, shape):
    return add_at(tangents[0], *arrays, index=index, shape=shape)


@defjvp(index_add)
def index_add_jvp(tangents, out, base, values, *arrays, index):
    base_dot, values_dot = tangents[:2]
    if values_dot is None:
        return base_dot
    base_dot = np.zeros_like(base) if base_dot is None else base_dot
    return index_add(base_dot, values_dot, *arrays, index=index)
