"""The primitive operations of the IR: one table entry per NumPy function srcad knows.

Each ``Prim`` names the NumPy callable that computes it (used to evaluate, to infer shapes
and to spell it in generated code), how many array inputs it takes, which static parameters
follow them, and, for elementwise primitives, its sympy counterpart (used by the exact rule
checks). ``CALLABLES`` maps every Python object a user may call (``np.exp``, ``math.exp``,
``abs``) to its primitive. The table is filled at import time and only read afterwards.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ELEMENTWISE = "elementwise"
REDUCTION = "reduction"
LINALG = "linalg"
SHAPE = "shape"
COMPARISON = "comparison"


@dataclass(frozen=True)
class Prim:
    """A primitive: ``fn(*inputs, **params)`` computed by NumPy.

    ``domain`` is an interval where every input is away from poles and kinks, and
    ``examples`` lists ``(input shapes, params)`` cases; the rule tests draw inputs from
    both (elementwise primitives get broadcasting shapes by default).
    """

    name: str
    fn: Callable
    kind: str
    n_inputs: int
    params: tuple[str, ...] = ()
    sympy: str | None = None
    operator: str | None = None
    is_differentiable: bool = True
    domain: tuple[float, float] = (-2.0, 2.0)
    examples: tuple = ()

    @property
    def spelling(self) -> str:
        """How generated code calls it, e.g. ``np.exp``."""
        return f"np.{self.fn.__name__}"


PRIMS: dict[str, Prim] = {}
CALLABLES: dict[object, str] = {}


def _add(prim: Prim, *aliases: object) -> None:
    PRIMS[prim.name] = prim
    for target in (prim.fn, *aliases):
        CALLABLES[target] = prim.name


def _unary(name: str, sympy: str, *aliases: object, domain=(-2.0, 2.0)) -> None:
    _add(Prim(name, getattr(np, name), ELEMENTWISE, 1, sympy=sympy, domain=domain), *aliases)


POSITIVE = (0.2, 3.0)
UNIT = (-0.9, 0.9)


# Elementwise functions of one argument, with their sympy counterparts.
_add(Prim("negative", np.negative, ELEMENTWISE, 1, sympy="lambda x: -x", operator="-"))
_unary("exp", "exp", math.exp)
_unary("exp2", "lambda x: 2**x")
_unary("expm1", "lambda x: exp(x) - 1", math.expm1)
_unary("log", "log", math.log, domain=POSITIVE)
_unary("log2", "lambda x: log(x, 2)", math.log2, domain=POSITIVE)
_unary("log10", "lambda x: log(x, 10)", math.log10, domain=POSITIVE)
_unary("log1p", "lambda x: log(1 + x)", math.log1p, domain=(-0.5, 3.0))
_unary("sqrt", "sqrt", math.sqrt, domain=POSITIVE)
_unary("cbrt", "cbrt", domain=POSITIVE)
_unary("square", "lambda x: x**2")
_unary("reciprocal", "lambda x: 1 / x", domain=POSITIVE)
_unary("sin", "sin", math.sin)
_unary("cos", "cos", math.cos)
_unary("tan", "tan", math.tan)
_unary("arcsin", "asin", math.asin, domain=UNIT)
_unary("arccos", "acos", math.acos, domain=UNIT)
_unary("arctan", "atan", math.atan)
_unary("sinh", "sinh", math.sinh)
_unary("cosh", "cosh", math.cosh)
_unary("tanh", "tanh", math.tanh)
_unary("arcsinh", "asinh", math.asinh)
_unary("arccosh", "acosh", math.acosh, domain=(1.2, 3.0))
_unary("arctanh", "atanh", math.atanh, domain=UNIT)
_unary("absolute", "Abs", builtins.abs, math.fabs)

# Elementwise functions of two arguments (all broadcast).
_add(Prim("add", np.add, ELEMENTWISE, 2, sympy="lambda x, y: x + y", operator="+"))
_add(Prim("subtract", np.subtract, ELEMENTWISE, 2, sympy="lambda x, y: x - y", operator="-"))
_add(Prim("multiply", np.multiply, ELEMENTWISE, 2, sympy="lambda x, y: x * y", operator="*"))
_add(
    Prim(
        "divide",
        np.divide,
        ELEMENTWISE,
        2,
        sympy="lambda x, y: x / y",
        operator="/",
        domain=POSITIVE,
    )
)
_add(
    Prim(
        "power", np.power, ELEMENTWISE, 2, sympy="lambda x, y: x**y", operator="**", domain=POSITIVE
    ),
    math.pow,
)
_add(Prim("maximum", np.maximum, ELEMENTWISE, 2, sympy="Max"))
_add(Prim("minimum", np.minimum, ELEMENTWISE, 2, sympy="Min"))
_add(Prim("arctan2", np.arctan2, ELEMENTWISE, 2, sympy="atan2"), math.atan2)
_add(Prim("hypot", np.hypot, ELEMENTWISE, 2, sympy="lambda x, y: sqrt(x**2 + y**2)"))
_add(Prim("logaddexp", np.logaddexp, ELEMENTWISE, 2, sympy="lambda x, y: log(exp(x) + exp(y))"))

# Comparisons and other elementwise functions that pass no gradient.
for _name, _symbol in [
    ("greater", ">"),
    ("greater_equal", ">="),
    ("less", "<"),
    ("less_equal", "<="),
    ("equal", "=="),
    ("not_equal", "!="),
]:
    _add(Prim(_name, getattr(np, _name), COMPARISON, 2, operator=_symbol, is_differentiable=False))
_add(Prim("sign", np.sign, ELEMENTWISE, 1, sympy="sign", is_differentiable=False))

# where(condition, x, y): differentiable in x and y.
_add(Prim("where", np.where, ELEMENTWISE, 3))

# Reductions.
REDUCTION_EXAMPLES = (
    (((3, 4),), {}),
    (((3, 4),), {"axis": 1}),
    (((3, 4),), {"axis": 0, "keepdims": True}),
    (((2, 3, 4),), {"axis": (0, 2)}),
    (((2, 3, 4),), {"axis": -1, "keepdims": True}),
)
for _name, _aliases in [("sum", ()), ("mean", ()), ("max", (np.amax,)), ("min", (np.amin,))]:
    _add(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            params=("axis", "dtype", "keepdims"),
            examples=REDUCTION_EXAMPLES,
        ),
        *_aliases,
    )

# Linear algebra.
_add(
    Prim(
        "matmul",
        np.matmul,
        LINALG,
        2,
        operator="@",
        examples=(
            (((3, 4), (4, 5)), {}),
            (((3, 4), (4,)), {}),
            (((4,), (4, 5)), {}),
            (((4,), (4,)), {}),
            (((2, 3, 4), (4, 5)), {}),
            (((2, 3, 4), (2, 4, 5)), {}),
            (((4,), (2, 4, 5)), {}),
            (((2, 3, 4), (4,)), {}),
        ),
    )
)
_add(
    Prim(
        "dot",
        np.dot,
        LINALG,
        2,
        examples=(
            (((3, 4), (4, 5)), {}),
            (((3, 4), (4,)), {}),
            (((4,), (4,)), {}),
            (((), (3,)), {}),
        ),
    )
)
_add(Prim("outer", np.outer, LINALG, 2, examples=((((3,), (4,)), {}),)))

# Shape manipulation.
_add(
    Prim(
        "transpose",
        np.transpose,
        SHAPE,
        1,
        params=("axes",),
        examples=(
            (((3, 4),), {}),
            (((2, 3, 4),), {"axes": (2, 0, 1)}),
        ),
    )
)
_add(
    Prim(
        "reshape",
        np.reshape,
        SHAPE,
        1,
        params=("shape",),
        examples=(
            (((3, 4),), {"shape": (2, 6)}),
            (((3, 4),), {"shape": (-1,)}),
        ),
    )
)
_add(
    Prim(
        "broadcast_to",
        np.broadcast_to,
        SHAPE,
        1,
        params=("shape",),
        examples=((((3, 1),), {"shape": (2, 3, 4)}),),
    )
)
_add(
    Prim(
        "expand_dims",
        np.expand_dims,
        SHAPE,
        1,
        params=("axis",),
        examples=((((3, 4),), {"axis": 1}),),
    )
)
_add(
    Prim(
        "swapaxes",
        np.swapaxes,
        SHAPE,
        1,
        params=("axis1", "axis2"),
        examples=((((2, 3, 4),), {"axis1": 0, "axis2": 2}),),
    )
)


def prim_of(target: object) -> Prim | None:
    """The primitive a callable stands for, or None."""
    try:
        name = CALLABLES.get(target)
    except TypeError:  # unhashable callables are never primitives
        return None
    return PRIMS[name] if name else None


# Constructors of constants (no gradient flows through them).
_add(Prim("zeros_like", np.zeros_like, SHAPE, 1, is_differentiable=False))
_add(Prim("ones_like", np.ones_like, SHAPE, 1, is_differentiable=False))
