"""Reverse rules of the broadcasting binary operations and ``where``.

Every cotangent goes through ``unbroadcast``: an input that was stretched by broadcasting
receives the sum of the cotangent over the stretched axes.
"""

from __future__ import annotations

import numpy as np

from srcad.rules.registry import defvjp, unbroadcast


@defvjp(np.add)
def add_vjp(g, out, x, y):
    return unbroadcast(g, x), unbroadcast(g, y)


@defvjp(np.subtract)
def subtract_vjp(g, out, x, y):
    return unbroadcast(g, x), unbroadcast(-g, y)


@defvjp(np.multiply)
def multiply_vjp(g, out, x, y):
    return unbroadcast(g * y, x), unbroadcast(g * x, y)


@defvjp(np.divide)
def divide_vjp(g, out, x, y):
    return unbroadcast(g / y, x), unbroadcast(-g * out / y, y)


@defvjp(np.power)
def power_vjp(g, out, x, y):
    # d x**y / dx = y x**(y-1); d x**y / dy = x**y log(x) (only needed when y is active)
    return unbroadcast(g * (y * x ** (y - 1)), x), unbroadcast(g * (out * np.log(x)), y)


@defvjp(np.maximum)
def maximum_vjp(g, out, x, y):
    is_x = x >= y
    return unbroadcast(np.where(is_x, g, 0.0), x), unbroadcast(np.where(is_x, 0.0, g), y)


@defvjp(np.minimum)
def minimum_vjp(g, out, x, y):
    is_x = x <= y
    return unbroadcast(np.where(is_x, g, 0.0), x), unbroadcast(np.where(is_x, 0.0, g), y)


@defvjp(np.arctan2)
def arctan2_vjp(g, out, y, x):
    scale = g / (x**2 + y**2)
    return unbroadcast(scale * x, y), unbroadcast(-scale * y, x)


@defvjp(np.hypot)
def hypot_vjp(g, out, x, y):
    return unbroadcast(g * (x / out), x), unbroadcast(g * (y / out), y)


@defvjp(np.logaddexp)
def logaddexp_vjp(g, out, x, y):
    # softmax weights of the two terms, computed without overflow
    return unbroadcast(g * np.exp(x - out), x), unbroadcast(g * np.exp(y - out), y)


@defvjp(np.where)
def where_vjp(g, out, condition, x, y):
    return (
        None,
        unbroadcast(np.where(condition, g, 0.0), x),
        unbroadcast(np.where(condition, 0.0, g), y),
    )
