"""The elementwise rows of the table: NumPy's functions of one and two broadcasting
arguments with their sympy counterparts, ``where``, ``clip``, and the comparisons and
rounding functions that pass no gradient.
"""

from __future__ import annotations

import builtins
import math
import operator as python_operator  # operator.add and friends, as functional code passes them

import numpy as np

from srcad.ir.primitive import COMPARISON, ELEMENTWISE, PARAMETRIC, NotStatic, Prim
from srcad.ir.table.registry import POSITIVE, UNIT, register


def _unary(name: str, sympy: str, *aliases: object, domain=(-2.0, 2.0)) -> None:
    register(Prim(name, getattr(np, name), ELEMENTWISE, 1, sympy=sympy, domain=domain), *aliases)


register(
    Prim("negative", np.negative, ELEMENTWISE, 1, sympy="lambda x: -x", operator="-"),
    python_operator.neg,
)
_unary("positive", "lambda x: x")
_unary("exp", "exp", math.exp)
_unary("exp2", "lambda x: 2**x", math.exp2)
_unary("expm1", "lambda x: exp(x) - 1", math.expm1)
_unary("log", "log", math.log, domain=POSITIVE)
_unary("log2", "lambda x: log(x, 2)", math.log2, domain=POSITIVE)
_unary("log10", "lambda x: log(x, 10)", math.log10, domain=POSITIVE)
_unary("log1p", "lambda x: log(1 + x)", math.log1p, domain=(-0.5, 3.0))
_unary("sqrt", "sqrt", math.sqrt, domain=POSITIVE)
_unary("cbrt", "cbrt", math.cbrt, domain=POSITIVE)
_unary("square", "lambda x: x**2")
_unary("sinc", "lambda x: sin(pi * x) / (pi * x)", domain=(0.1, 2.0))  # NumPy's: normalized
_unary("reciprocal", "lambda x: 1 / x", domain=POSITIVE)
_unary("sin", "sin", math.sin)
_unary("cos", "cos", math.cos)
_unary("tan", "tan", math.tan, domain=(-1.2, 1.2))
_unary("arcsin", "asin", math.asin, domain=UNIT)
_unary("arccos", "acos", math.acos, domain=UNIT)
_unary("arctan", "atan", math.atan)
_unary("sinh", "sinh", math.sinh)
_unary("cosh", "cosh", math.cosh)
_unary("tanh", "tanh", math.tanh)
_unary("arcsinh", "asinh", math.asinh)
_unary("arccosh", "acosh", math.acosh, domain=(1.2, 3.0))
_unary("arctanh", "atanh", math.atanh, domain=UNIT)
_unary("absolute", "Abs", builtins.abs, python_operator.abs)
_unary("fabs", "Abs", math.fabs)
_unary("deg2rad", "lambda x: x * pi / 180", np.radians, math.radians)
_unary("rad2deg", "lambda x: x * 180 / pi", np.degrees, math.degrees)


# --- elementwise functions of two arguments (all broadcast) -------------------------------
def _binary(
    name: str, sympy: str, *aliases: object, operator: str | None = None, domain=(-2.0, 2.0)
) -> None:
    fn = getattr(np, name)
    register(
        Prim(name, fn, ELEMENTWISE, 2, sympy=sympy, operator=operator, domain=domain), *aliases
    )


_binary("add", "lambda x, y: x + y", python_operator.add, operator="+")
_binary("subtract", "lambda x, y: x - y", python_operator.sub, operator="-")
_binary("multiply", "lambda x, y: x * y", python_operator.mul, operator="*")
_binary(
    "divide", "lambda x, y: x / y", python_operator.truediv, operator="/", domain=POSITIVE
)  # also np.true_divide
_binary(
    "power",
    "lambda x, y: x**y",
    math.pow,
    builtins.pow,
    python_operator.pow,
    operator="**",
    domain=POSITIVE,
)
_binary("float_power", "lambda x, y: x**y", domain=POSITIVE)
_binary("maximum", "Max")
_binary("minimum", "Min")
_binary("fmax", "Max")
_binary("fmin", "Min")
_binary("arctan2", "atan2", math.atan2)
_binary("hypot", "lambda x, y: sqrt(x**2 + y**2)", math.hypot)
_binary("logaddexp", "lambda x, y: log(exp(x) + exp(y))")
_binary("logaddexp2", "lambda x, y: log(2**x + 2**y, 2)")
_binary("copysign", "lambda x, y: Abs(x) * sign(y)", math.copysign)
# x mod y = x - y floor(x / y) (np.mod, Python's %) and fmod(x, y) = x - y trunc(x / y). sympy
# cannot differentiate floor, so the counterparts use the sawtooth identity, exact wherever
# x / y is not an integer: frac(z) = 1/2 - atan(cot(pi z)) / pi. The domain keeps y away from 0.
_binary(
    "remainder",
    "lambda x, y: y * (S.Half - atan(cot(pi * x / y)) / pi)",
    python_operator.mod,
    operator="%",
    domain=POSITIVE,
)
_binary(
    "fmod",
    "lambda x, y: y * (sign(x / y) / 2 - atan(cot(pi * x / y)) / pi)",
    math.fmod,
    domain=POSITIVE,
)

# where(condition, x, y): differentiable in x and y.
register(Prim("where", np.where, ELEMENTWISE, 3))


# clip(x, a_min, a_max) with constant bounds (either may be None; NumPy 2.1's keywords min=
# and max=, which x.clip has always taken, too). A bound known only when the code runs (a
# global float, an argument) makes it np.minimum(np.maximum(x, a_min), a_max): the same values
# and, at the ends, the same derivative (x's where a_min <= x <= a_max).
def _clip_keywords(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    kwargs = dict(kwargs)
    for short, name, position in (("min", "a_min", 1), ("max", "a_max", 2)):
        given = name in kwargs or len(args) > position  # by name or by position
        if short in kwargs:
            if given:
                raise ValueError(f"np.clip got {name} and {short}= both: pass one")
            kwargs[name] = kwargs.pop(short)
        elif not given:
            kwargs[name] = None  # x.clip(max=1.0): no lower bound
    return args, kwargs


def _clip_call(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """The call with its bounds by name; a NumPy scalar bound (``np.float64(-1.0)``), whose
    dtype takes part in the promotion, makes it the composed form (a param would be a
    Python float)."""
    args, kwargs = _clip_keywords(args, kwargs)
    bounds = [*args[1:3], kwargs.get("a_min"), kwargs.get("a_max")]
    strong = next((bound for bound in bounds if isinstance(bound, np.number)), None)
    if strong is not None:
        raise NotStatic("a NumPy scalar bound promotes as its dtype", strong)
    return args, kwargs


def _clip_composed(*args: object, **kwargs: object) -> object:
    (x, *bounds), kwargs = _clip_keywords(args, kwargs)
    named = dict(zip(("a_min", "a_max", "out"), bounds, strict=False)) | kwargs
    if named.get("out") is not None or set(named) - {"a_min", "a_max", "out"}:
        raise ValueError("np.clip takes x, a_min and a_max here ('out=' is not supported)")
    low, high = named.get("a_min"), named.get("a_max")
    clipped = x if low is None else np.maximum(x, low)
    return clipped if high is None else np.minimum(clipped, high)


register(
    Prim(
        "clip",
        np.clip,
        PARAMETRIC,
        1,
        params=("a_min", "a_max", "out"),
        required_params=("a_min", "a_max"),
        rewrite_call=_clip_call,
        composed=_clip_composed,
        examples=(
            (((3, 4),), {"a_min": -0.5, "a_max": 0.7}),
            (((3, 4),), {"a_min": None, "a_max": 0.3}),
            (((5,),), {"a_min": -0.1, "a_max": None}),
        ),
    )
)

# Comparisons and other elementwise functions that pass no gradient.
for _name, _symbol in [
    ("greater", ">"),
    ("greater_equal", ">="),
    ("less", "<"),
    ("less_equal", "<="),
    ("equal", "=="),
    ("not_equal", "!="),
]:
    register(
        Prim(_name, getattr(np, _name), COMPARISON, 2, operator=_symbol, is_differentiable=False)
    )
for _name in ["logical_and", "logical_or", "logical_xor"]:
    register(Prim(_name, getattr(np, _name), COMPARISON, 2, is_differentiable=False))
# the tests of a real number: what they are of a symbol (no NaN, no infinity) for sympy
_REAL_TESTS = {"isnan": "lambda x: false", "isinf": "lambda x: false", "isfinite": "lambda x: true"}
for _name in ["logical_not", "isnan", "isinf", "isfinite", "signbit"]:
    _math = (getattr(math, _name),) if hasattr(math, _name) else ()  # math.isnan(v)
    _prim = Prim(
        _name,
        getattr(np, _name),
        COMPARISON,
        1,
        sympy=_REAL_TESTS.get(_name),
        is_differentiable=False,
    )
    register(_prim, *_math)
register(Prim("sign", np.sign, ELEMENTWISE, 1, sympy="sign", is_differentiable=False))
for _name, _sympy in [
    ("floor", "floor"),
    ("ceil", "ceiling"),
    ("trunc", "lambda x: sign(x) * floor(Abs(x))"),
    ("rint", None),
]:
    register(Prim(_name, getattr(np, _name), ELEMENTWISE, 1, sympy=_sympy, is_differentiable=False))
register(Prim("fix", np.fix, ELEMENTWISE, 1, is_differentiable=False))
register(
    Prim("floor_divide", np.floor_divide, ELEMENTWISE, 2, operator="//", is_differentiable=False)
)
register(Prim("heaviside", np.heaviside, ELEMENTWISE, 2, is_differentiable=False))
register(Prim("round", np.round, PARAMETRIC, 1, ("decimals", "out"), is_differentiable=False))
register(Prim("around", np.around, PARAMETRIC, 1, ("decimals", "out"), is_differentiable=False))
# the angle of a real number: 0 or pi (piecewise constant)
register(Prim("angle", np.angle, PARAMETRIC, 1, ("deg",), is_differentiable=False))
