"""Reverse and forward rules of the elementwise functions of one argument.

Each rule reuses the primal output ``out`` where the derivative is naturally written with it
(d exp(x) = exp(x), d tanh(x) = 1 - tanh(x)^2). The Jacobian of these functions is diagonal,
so each JVP is its VJP with the tangent ``x_dot`` in place of the cotangent ``g``.
"""

from __future__ import annotations

import math

import numpy as np

from srcad.rules.registry import defjvp, defvjp

LOG2 = math.log(2.0)
LOG10 = math.log(10.0)
DEGREE = math.pi / 180.0


@defvjp(np.negative)
def negative_vjp(g, out, x):
    return (-g,)


@defjvp(np.negative)
def negative_jvp(tangents, out, x):
    (x_dot,) = tangents
    return -x_dot


@defvjp(np.positive)
def positive_vjp(g, out, x):
    return (g,)


@defjvp(np.positive)
def positive_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot


@defvjp(np.exp)
def exp_vjp(g, out, x):
    return (g * out,)


@defjvp(np.exp)
def exp_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * out


@defvjp(np.exp2)
def exp2_vjp(g, out, x):
    return (g * out * LOG2,)


@defjvp(np.exp2)
def exp2_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * out * LOG2


@defvjp(np.expm1)
def expm1_vjp(g, out, x):
    return (g * (out + 1),)


@defjvp(np.expm1)
def expm1_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * (out + 1)


@defvjp(np.log)
def log_vjp(g, out, x):
    return (g / x,)


@defjvp(np.log)
def log_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / x


@defvjp(np.log2)
def log2_vjp(g, out, x):
    return (g / (x * LOG2),)


@defjvp(np.log2)
def log2_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / (x * LOG2)


@defvjp(np.log10)
def log10_vjp(g, out, x):
    return (g / (x * LOG10),)


@defjvp(np.log10)
def log10_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / (x * LOG10)


@defvjp(np.log1p)
def log1p_vjp(g, out, x):
    # 1 + x is exact where log1p matters (|x| small), so this needs no special care
    return (g / (1 + x),)


@defjvp(np.log1p)
def log1p_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / (1 + x)


@defvjp(np.sqrt)
def sqrt_vjp(g, out, x):
    return (g / (2 * out),)


@defjvp(np.sqrt)
def sqrt_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / (2 * out)


@defvjp(np.cbrt)
def cbrt_vjp(g, out, x):
    return (g / (3 * out**2),)


@defjvp(np.cbrt)
def cbrt_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / (3 * out**2)


@defvjp(np.square)
def square_vjp(g, out, x):
    return (g * (2 * x),)


@defjvp(np.square)
def square_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * (2 * x)


@defvjp(np.reciprocal)
def reciprocal_vjp(g, out, x):
    return (-g * out**2,)


@defjvp(np.reciprocal)
def reciprocal_jvp(tangents, out, x):
    (x_dot,) = tangents
    return -x_dot * out**2


@defvjp(np.sin)
def sin_vjp(g, out, x):
    return (g * np.cos(x),)


@defjvp(np.sin)
def sin_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * np.cos(x)


@defvjp(np.cos)
def cos_vjp(g, out, x):
    return (-g * np.sin(x),)


@defjvp(np.cos)
def cos_jvp(tangents, out, x):
    (x_dot,) = tangents
    return -x_dot * np.sin(x)


@defvjp(np.tan)
def tan_vjp(g, out, x):
    return (g * (1 + out**2),)


@defjvp(np.tan)
def tan_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * (1 + out**2)


@defvjp(np.arcsin)
def arcsin_vjp(g, out, x):
    return (g / np.sqrt(1 - x**2),)


@defjvp(np.arcsin)
def arcsin_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / np.sqrt(1 - x**2)


@defvjp(np.arccos)
def arccos_vjp(g, out, x):
    return (-g / np.sqrt(1 - x**2),)


@defjvp(np.arccos)
def arccos_jvp(tangents, out, x):
    (x_dot,) = tangents
    return -x_dot / np.sqrt(1 - x**2)


@defvjp(np.arctan)
def arctan_vjp(g, out, x):
    return (g / (1 + x**2),)


@defjvp(np.arctan)
def arctan_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / (1 + x**2)


@defvjp(np.sinh)
def sinh_vjp(g, out, x):
    return (g * np.cosh(x),)


@defjvp(np.sinh)
def sinh_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * np.cosh(x)


@defvjp(np.cosh)
def cosh_vjp(g, out, x):
    return (g * np.sinh(x),)


@defjvp(np.cosh)
def cosh_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * np.sinh(x)


@defvjp(np.tanh)
def tanh_vjp(g, out, x):
    return (g * (1 - out**2),)


@defjvp(np.tanh)
def tanh_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * (1 - out**2)


@defvjp(np.arcsinh)
def arcsinh_vjp(g, out, x):
    return (g / np.sqrt(x**2 + 1),)


@defjvp(np.arcsinh)
def arcsinh_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / np.sqrt(x**2 + 1)


@defvjp(np.arccosh)
def arccosh_vjp(g, out, x):
    return (g / np.sqrt(x**2 - 1),)


@defjvp(np.arccosh)
def arccosh_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / np.sqrt(x**2 - 1)


@defvjp(np.arctanh)
def arctanh_vjp(g, out, x):
    return (g / (1 - x**2),)


@defjvp(np.arctanh)
def arctanh_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / (1 - x**2)


@defvjp(np.absolute)
def absolute_vjp(g, out, x):
    return (g * np.sign(x),)


@defjvp(np.absolute)
def absolute_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * np.sign(x)


@defvjp(np.fabs)
def fabs_vjp(g, out, x):
    return (g * np.sign(x),)


@defjvp(np.fabs)
def fabs_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * np.sign(x)


@defvjp(np.deg2rad)
def deg2rad_vjp(g, out, x):
    return (g * DEGREE,)


@defjvp(np.deg2rad)
def deg2rad_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot * DEGREE


@defvjp(np.rad2deg)
def rad2deg_vjp(g, out, x):
    return (g / DEGREE,)


@defjvp(np.rad2deg)
def rad2deg_jvp(tangents, out, x):
    (x_dot,) = tangents
    return x_dot / DEGREE
