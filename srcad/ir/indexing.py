"""Subscript primitives: ``getitem`` (``x[i]``), ``setitem`` (``y[i] = v`` as a new value) and
``add_at`` (scatter-add, the adjoint of reading).

An index is split into a static part, kept as a param, and runtime index arrays, which are
inputs of the equation (``srcad.ir.index``). Boolean masks with runtime values would give
data-dependent shapes and are rejected; constant masks become integer index arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from srcad.ir.builder import Tracer
from srcad.ir.index import decode_index, has_arrays
from srcad.ir.prims import SHAPE, Prim, _add


def traceable(function: Callable) -> Callable:
    """Let ``function`` run on tracers too: then it records its primitive instead."""

    @functools.wraps(function)
    def dispatch(*args, **params):
        tracer = next((a for a in args if isinstance(a, Tracer)), None)
        if tracer is not None:
            return tracer.builder.apply(function.__name__, args, params)
        return function(*args, **params)

    return dispatch


@traceable
def getitem(x, *arrays, index):
    """``x[index]``."""
    return np.asarray(x)[decode_index(index, arrays)]


@traceable
def setitem(y, v, *arrays, index):
    """A copy of ``y`` with ``y[index] = v``."""
    out = np.array(y, copy=True)
    out[decode_index(index, arrays)] = v
    return out


@traceable
def add_at(g, *arrays, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate)."""
    out = np.zeros(shape, dtype=np.result_type(g))
    position = decode_index(index, arrays)
    if has_arrays(index):
        np.add.at(out, position, g)
    else:
        out[position] = g
    return out


@traceable
def index_add(base, values, *arrays, index):
    """A copy of ``base`` with ``values`` added at ``index`` (repeats accumulate)."""
    out = np.array(base, copy=True)
    position = decode_index(index, arrays)
    if has_arrays(index):
        np.add.at(out, position, values)
    else:
        out[position] += values
    return out


_add(
    Prim(
        "getitem",
        getitem,
        SHAPE,
        1,
        params=("index",),
        examples=(
            (((4, 3),), {"index": (1,)}),
            (((4, 3),), {"index": (("slice", 1, None, None), 0)}),
            (((4, 3),), {"index": ("...", ("slice", None, None, -1))}),
            (((4, 3),), {"index": (None, ("slice", None, 2, None))}),
        ),
        is_view=True,
    )
)
_add(
    Prim(
        "setitem",
        setitem,
        SHAPE,
        2,
        params=("index",),
        examples=(
            (((4, 3), (3,)), {"index": (1,)}),
            (((4, 3), (2,)), {"index": (("slice", 1, 3, None), 2)}),
            (((4, 3), ()), {"index": (("slice", None, None, None), 0)}),
            # a repeated position: NumPy keeps the last write
            (((4,), (3,), np.array([2, 0, 2])), {"index": (("array", 0),)}),
            (
                ((2, 3), (2, 2), np.array([1, 1])),
                {"index": (("slice", None, None, None), ("array", 0))},
            ),
        ),
        is_statement=True,
        updates_first_input=True,
    )
)
_add(
    Prim(
        "add_at",
        add_at,
        SHAPE,
        1,
        params=("index", "shape"),
        examples=(
            (((3,),), {"index": (1,), "shape": (4, 3)}),
            (((2, 3),), {"index": (("slice", 1, 3, None),), "shape": (4, 3)}),
        ),
        is_statement=True,
    )
)
_add(
    Prim(
        "index_add",
        index_add,
        SHAPE,
        2,
        params=("index",),
        examples=(
            (((4, 3), (3,)), {"index": (1,)}),
            (((4, 3), (2,)), {"index": (("slice", 1, 3, None), 2)}),
        ),
        is_statement=True,
        updates_first_input=True,
    )
)
