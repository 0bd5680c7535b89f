"""Subscript primitives: ``getitem`` (``x[i]``), ``setitem`` (``y[i] = v`` as a new value) and
``add_at`` (scatter-add, the adjoint of reading).

An index is split into a static part, kept as a param, and runtime index arrays, which are
inputs of the equation. The static part is a tuple with one entry per position: an ``int``,
``("slice", start, stop, step)``, ``None`` (a new axis), ``"..."``, or ``("array", k)`` for
the k-th index array input. Boolean masks with runtime values would give data-dependent
shapes and are rejected; constant masks become integer index arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from srcad.ir.prims import SHAPE, Prim, _add

Index = tuple


def encode_index(index: object) -> tuple[Index, list]:
    """The static encoding of a Python index and the list of its array parts."""
    items = index if isinstance(index, tuple) else (index,)
    static, arrays = [], []
    for item in items:
        if isinstance(item, slice):
            static.append(("slice", item.start, item.stop, item.step))
        elif item is None or isinstance(item, int) and not isinstance(item, bool):
            static.append(item)
        elif item is Ellipsis:
            static.append("...")
        else:
            static.append(("array", len(arrays)))
            arrays.append(item)
    return tuple(static), arrays


def decode_index(static: Index, arrays: tuple) -> tuple:
    """The Python index that ``static`` and ``arrays`` stand for."""
    items = []
    for item in static:
        if isinstance(item, tuple) and item[0] == "slice":
            items.append(slice(*item[1:]))
        elif isinstance(item, tuple):
            items.append(arrays[item[1]])
        elif item == "...":
            items.append(Ellipsis)
        else:
            items.append(item)
    return tuple(items)


def has_arrays(static: Index) -> bool:
    return any(isinstance(item, tuple) and item[0] == "array" for item in static)


def traceable(function: Callable) -> Callable:
    """Let ``function`` run on tracers too: then it records its primitive instead."""

    @functools.wraps(function)
    def dispatch(*args, **params):
        from srcad.ir.builder import Tracer

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
    )
)
