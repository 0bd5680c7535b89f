"""Reverse and forward rules of the elementwise functions of one argument.

Each rule reuses the primal output ``out`` where the derivative is naturally written with it
(d exp(x) = exp(x), d tanh(x) = 1 - tanh(x)^2).
"""

from __future__ import annotations

import math

import numpy as np

from srcad.rules.registry import defjvp, defvjp

LOG2 = math.log(2.0)
LOG10 = math.log(10.0)


@defvjp(np.negative)
def negative_vjp(g, out, x):
    return (-g,)


@defvjp(np.exp)
def exp_vjp(g, out, x):
    return (g * out,)


@defvjp(np.exp2)
def exp2_vjp(g, out, x):
    return (g * out * LOG2,)


@defvjp(np.expm1)
def expm1_vjp(g, out, x):
    return (g * (out + 1),)


@defvjp(np.log)
def log_vjp(g, out, x):
    return (g / x,)


@defvjp(np.log2)
def log2_vjp(g, out, x):
    return (g / (x * LOG2),)


@defvjp(np.log10)
def log10_vjp(g, out, x):
    return (g / (x * LOG10),)


@defvjp(np.log1p)
def log1p_vjp(g, out, x):
    return (g / (1 + x),)


@defvjp(np.sqrt)
def sqrt_vjp(g, out, x):
    return (g / (2 * out),)


@defvjp(np.cbrt)
def cbrt_vjp(g, out, x):
    return (g / (3 * out**2),)


@defvjp(np.square)
def square_vjp(g, out, x):
    return (g * (2 * x),)


@defvjp(np.reciprocal)
def reciprocal_vjp(g, out, x):
    return (-g * out**2,)


@defvjp(np.sin)
def sin_vjp(g, out, x):
    return (g * np.cos(x),)


@defvjp(np.cos)
def cos_vjp(g, out, x):
    return (-g * np.sin(x),)


@defvjp(np.tan)
def tan_vjp(g, out, x):
    return (g * (1 + out**2),)


@defvjp(np.arcsin)
def arcsin_vjp(g, out, x):
    return (g / np.sqrt(1 - x**2),)


@defvjp(np.arccos)
def arccos_vjp(g, out, x):
    return (-g / np.sqrt(1 - x**2),)


@defvjp(np.arctan)
def arctan_vjp(g, out, x):
    return (g / (1 + x**2),)


@defvjp(np.sinh)
def sinh_vjp(g, out, x):
    return (g * np.cosh(x),)


@defvjp(np.cosh)
def cosh_vjp(g, out, x):
    return (g * np.sinh(x),)


@defvjp(np.tanh)
def tanh_vjp(g, out, x):
    return (g * (1 - out**2),)


@defvjp(np.arcsinh)
def arcsinh_vjp(g, out, x):
    return (g / np.sqrt(x**2 + 1),)


@defvjp(np.arccosh)
def arccosh_vjp(g, out, x):
    return (g / np.sqrt(x**2 - 1),)


@defvjp(np.arctanh)
def arctanh_vjp(g, out, x):
    return (g / (1 - x**2),)


@defvjp(np.absolute)
def absolute_vjp(g, out, x):
    return (g * np.sign(x),)


@defjvp(np.exp)
def exp_jvp(x_dot, out, x):
    return x_dot * out
