"""The constructor rows of the table: ``zeros``, ``ones``, ``eye``, ``arange``, the
``*_like`` functions, ``full``, ``full_like`` and ``linspace``; ``imag``, which of a real
array is zeros.
"""

from __future__ import annotations

import numpy as np

from srcad.ir.primitive import CONSTRUCTOR, Prim
from srcad.ir.table.registry import register

# Constant-valued ones pass no gradient; those with no array input are evaluated when the
# function is compiled and never reach the IR. ``full`` and ``full_like`` are
# differentiable in the fill value, ``linspace`` in its end points.
_LIKE_PARAMS = ("dtype", "order", "subok", "shape")
for _name in ["zeros_like", "ones_like", "empty_like"]:
    register(Prim(_name, getattr(np, _name), CONSTRUCTOR, 1, _LIKE_PARAMS, is_differentiable=False))
# the imaginary part of a real array: zeros
register(Prim("imag", np.imag, CONSTRUCTOR, 1, is_differentiable=False))
for _name, _params in [
    ("zeros", ("shape", "dtype", "order")),
    ("ones", ("shape", "dtype", "order")),
    ("eye", ("N", "M", "k", "dtype", "order")),
    ("identity", ("n", "dtype")),
    ("arange", ("start", "stop", "step", "dtype")),
]:
    register(Prim(_name, getattr(np, _name), CONSTRUCTOR, 0, _params, is_differentiable=False))
register(
    Prim(
        "full_like",
        np.full_like,
        CONSTRUCTOR,
        2,
        _LIKE_PARAMS,
        examples=((((2, 3), ()), {}), (((2, 3), (3,)), {})),
    )
)
register(
    Prim(
        "full",
        np.full,
        CONSTRUCTOR,
        1,
        ("dtype", "order"),
        leading_params=("shape",),
        examples=(
            (((),), {"shape": (2, 3)}),
            (((3,),), {"shape": (2, 3)}),
        ),
    )
)
register(
    Prim(
        "linspace",
        np.linspace,
        CONSTRUCTOR,
        2,
        ("num", "endpoint"),
        keyword_params=("axis",),
        examples=(
            (((), ()), {"num": 5}),
            (((), ()), {"num": 4, "endpoint": False}),
            (((2,), (3, 2)), {"num": 3, "axis": 1}),
        ),
    )
)
