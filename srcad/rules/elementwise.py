"""Reverse and forward rules of the elementwise functions of one argument.

One line per function: how a seed (the cotangent ``g`` in reverse mode, the tangent
``x_dot`` in forward mode) is multiplied by the derivative, written with the primal output
``out`` where the derivative is naturally written with it (d exp(x) = exp(x), d tanh(x) =
1 - tanh(x)^2). The Jacobian of these functions is diagonal, so both modes apply the same
product (``registry.defdiagonal``). The exact tests check each line against sympy.
"""

from __future__ import annotations

import math

import numpy as np

from srcad.rules.registry import defdiagonal

LOG2 = math.log(2.0)
LOG10 = math.log(10.0)
DEGREE = math.pi / 180.0
PI_SQUARED_OVER_3 = math.pi**2 / 3.0
PI_FOURTH_OVER_30 = math.pi**4 / 30.0


SINC_SERIES_BELOW = 1e-3  # |x| under which the slope's series is exact to the last bits


def _sinc_slope(out, x):
    """(cos(pi x) - sinc(x)) / x; near 0 its series -pi^2 x / 3 + pi^4 x^3 / 30, which is 0
    at 0 and has the slope of the slope there (a second derivative of -pi^2 / 3, where 0 /
    0 guarded by a constant gave 0), without the quotient's cancellation."""
    near = np.abs(x) < SINC_SERIES_BELOW
    series = x * (PI_FOURTH_OVER_30 * x**2 - PI_SQUARED_OVER_3)
    return np.where(near, series, (np.cos(np.pi * x) - out) / np.where(near, 1.0, x))


# fmt: off
SEED_TIMES_DERIVATIVE = {
    np.negative: lambda d, out, x: -d,
    np.positive: lambda d, out, x: d,
    np.exp: lambda d, out, x: d * out,
    np.exp2: lambda d, out, x: d * out * LOG2,
    np.expm1: lambda d, out, x: d * (out + 1),
    np.log: lambda d, out, x: d / x,
    np.log2: lambda d, out, x: d / (x * LOG2),
    np.log10: lambda d, out, x: d / (x * LOG10),
    # 1 + x is exact where log1p matters (|x| small), so this needs no special care
    np.log1p: lambda d, out, x: d / (1 + x),
    np.sqrt: lambda d, out, x: d / (2 * out),
    np.cbrt: lambda d, out, x: d / (3 * out**2),
    np.square: lambda d, out, x: d * (2 * x),
    np.sinc: lambda d, out, x: d * _sinc_slope(out, x),
    np.reciprocal: lambda d, out, x: -d * out**2,
    np.sin: lambda d, out, x: d * np.cos(x),
    np.cos: lambda d, out, x: -d * np.sin(x),
    np.tan: lambda d, out, x: d * (1 + out**2),
    np.arcsin: lambda d, out, x: d / np.sqrt(1 - x**2),
    np.arccos: lambda d, out, x: -d / np.sqrt(1 - x**2),
    np.arctan: lambda d, out, x: d / (1 + x**2),
    np.sinh: lambda d, out, x: d * np.cosh(x),
    np.cosh: lambda d, out, x: d * np.sinh(x),
    np.tanh: lambda d, out, x: d * (1 - out**2),
    np.arcsinh: lambda d, out, x: d / np.sqrt(x**2 + 1),
    np.arccosh: lambda d, out, x: d / np.sqrt(x**2 - 1),
    np.arctanh: lambda d, out, x: d / (1 - x**2),
    np.absolute: lambda d, out, x: d * np.sign(x),
    np.fabs: lambda d, out, x: d * np.sign(x),
    np.deg2rad: lambda d, out, x: d * DEGREE,
    np.rad2deg: lambda d, out, x: d / DEGREE,
}
# fmt: on

# Derivatives that are infinite where the function is finite (sqrt, cbrt at 0; arcsin,
# arccos at 1 and -1; arccosh at 1)
INFINITE_SLOPES = frozenset({np.sqrt, np.cbrt, np.arcsin, np.arccos, np.arccosh})

for function, seed_times_derivative in SEED_TIMES_DERIVATIVE.items():
    defdiagonal(function, seed_times_derivative, function in INFINITE_SLOPES)
