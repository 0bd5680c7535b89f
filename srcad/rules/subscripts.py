"""Reverse rules of subscripts: reading (``x[i]``), functional writing (``y[i] = v``) and
scatter-adding (the adjoint of reading, which is read back in its own adjoint)."""

from __future__ import annotations

import numpy as np

from srcad.ir.indexing import add_at, getitem, index_add, setitem
from srcad.rules.registry import defvjp, unbroadcast


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
