"""Rules of the broadcasting binary operations, ``where`` and ``clip``.

Every cotangent goes through ``unbroadcast``: an input that was stretched by broadcasting
receives the sum of the cotangent over the stretched axes. Tangents need no such care: a
tangent term broadcasts to the output by itself.
"""

from __future__ import annotations

import numpy as np

from srcad.ir import Const
from srcad.ir.tracer import Tracer
from srcad.rules.registry import (
    add_tangents,
    defbilinear,
    defjvp,
    defvjp,
    unbroadcast,
    zero_stays_zero,
)


@defvjp(np.add)
def add_vjp(g, out, x, y):
    return unbroadcast(g, x), unbroadcast(g, y)


@defjvp(np.add)
def add_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    return add_tangents(x_dot, y_dot)


@defvjp(np.subtract)
def subtract_vjp(g, out, x, y):
    # negate after summing: on the broadcast (smaller) side that is less work
    return unbroadcast(g, x), -unbroadcast(g, y)


@defjvp(np.subtract)
def subtract_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    if y_dot is None:
        return x_dot
    return -y_dot if x_dot is None else x_dot - y_dot


@defvjp(np.multiply)
def multiply_vjp(g, out, x, y):
    return unbroadcast(g * y, x), unbroadcast(g * x, y)


defbilinear(np.multiply)


@defvjp(np.divide)
def divide_vjp(g, out, x, y):
    return unbroadcast(g / y, x), unbroadcast(-g * out / y, y)


@defjvp(np.divide)
def divide_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    return add_tangents(
        None if x_dot is None else x_dot / y,
        None if y_dot is None else -y_dot * out / y,
    )


def _exponent_slope(out, x):
    """d x**y / dy = x**y log(x), and 0 where x**y is 0 (a base of 0 with y > 0: x**y stays
    0 as y moves; out * log(x) would be 0 * -inf, and log(0) warn). Only kept where y is
    differentiated."""
    return out * np.log(np.where(out == 0, 1.0, x))


def _base_slope(x, y, power=np.power):
    """d x**y / dx = y x**(y-1), and 0 where y is 0: x**0 is 1 for every x, where y x**(y-1)
    would be 0 * inf at x = 0 (NaN; on Python floats, ZeroDivisionError). A constant y
    (``x ** 2``, ``x ** np.arange(4)``) is decided when compiling."""
    constant = y.atom.value if isinstance(y, Tracer) and isinstance(y.atom, Const) else y
    if isinstance(constant, (int, float)):
        return y * power(x, constant - 1 if constant != 0 else 0)
    if isinstance(constant, (np.ndarray, np.generic)):
        return y * power(x, np.where(constant == 0, 0, constant - 1))
    return y * power(x, np.where(y == 0, 0, y - 1))


def _base_tangent(x_dot, x, y, power=np.power):
    """x_dot y x**(y-1); 0 where x_dot is 0 unless the slope is finite everywhere (a
    constant exponent that is a whole number or at least 1: x ** 2, x ** 3.0)."""
    product = x_dot * _base_slope(x, y, power)
    constant = y.atom.value if isinstance(y, Tracer) and isinstance(y.atom, Const) else y
    is_finite = isinstance(constant, (int, float)) and (constant >= 1 or constant == 0)
    return product if is_finite else zero_stays_zero(x_dot, product)


@defvjp(np.power)
def power_vjp(g, out, x, y):
    return unbroadcast(g * _base_slope(x, y), x), unbroadcast(g * _exponent_slope(out, x), y)


@defjvp(np.power)
def power_jvp(tangents, out, x, y):
    # (a zero tangent stays zero where a slope may be infinite: x ** 0.5 at x = 0, log(x)
    # of a negative base)
    x_dot, y_dot = tangents
    return add_tangents(
        None if x_dot is None else _base_tangent(x_dot, x, y),
        None if y_dot is None else zero_stays_zero(y_dot, y_dot * _exponent_slope(out, x)),
    )


@defvjp(np.float_power)
def float_power_vjp(g, out, x, y):
    return (
        unbroadcast(g * _base_slope(x, y, np.float_power), x),
        unbroadcast(g * _exponent_slope(out, x), y),
    )


@defjvp(np.float_power)
def float_power_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    return add_tangents(
        None if x_dot is None else _base_tangent(x_dot, x, y, np.float_power),
        None if y_dot is None else zero_stays_zero(y_dot, y_dot * _exponent_slope(out, x)),
    )


def _select_vjp(g, is_x, x, y):
    """Route the cotangent to ``x`` where ``is_x`` holds and to ``y`` elsewhere."""
    return unbroadcast(np.where(is_x, g, 0.0), x), unbroadcast(np.where(is_x, 0.0, g), y)


def _select_jvp(is_x, x_dot, y_dot):
    x_part = 0.0 if x_dot is None else x_dot
    y_part = 0.0 if y_dot is None else y_dot
    return np.where(is_x, x_part, y_part)


@defvjp(np.maximum)
def maximum_vjp(g, out, x, y):
    return _select_vjp(g, x >= y, x, y)


@defjvp(np.maximum)
def maximum_jvp(tangents, out, x, y):
    return _select_jvp(x >= y, *tangents)


@defvjp(np.minimum)
def minimum_vjp(g, out, x, y):
    return _select_vjp(g, x <= y, x, y)


@defjvp(np.minimum)
def minimum_jvp(tangents, out, x, y):
    return _select_jvp(x <= y, *tangents)


# fmax/fmin ignore a NaN: the other operand is the result, and takes the derivative (a
# comparison with NaN is False: x >= y alone gave it to the NaN when it came second)
@defvjp(np.fmax)
def fmax_vjp(g, out, x, y):
    return _select_vjp(g, (x >= y) | np.isnan(y), x, y)


@defjvp(np.fmax)
def fmax_jvp(tangents, out, x, y):
    return _select_jvp((x >= y) | np.isnan(y), *tangents)


@defvjp(np.fmin)
def fmin_vjp(g, out, x, y):
    return _select_vjp(g, (x <= y) | np.isnan(y), x, y)


@defjvp(np.fmin)
def fmin_jvp(tangents, out, x, y):
    return _select_jvp((x <= y) | np.isnan(y), *tangents)


@defvjp(np.arctan2)
def arctan2_vjp(g, out, y, x):
    scale = g / (x**2 + y**2)
    return unbroadcast(scale * x, y), unbroadcast(-scale * y, x)


@defjvp(np.arctan2)
def arctan2_jvp(tangents, out, y, x):
    y_dot, x_dot = tangents
    numerator = add_tangents(
        None if y_dot is None else x * y_dot,
        None if x_dot is None else -y * x_dot,
    )
    return numerator / (x**2 + y**2)


@defvjp(np.hypot)
def hypot_vjp(g, out, x, y):
    # at the origin (out = 0, so x = y = 0) the subgradient 0, as np.linalg.norm's
    safe = np.where(out == 0.0, 1.0, out)
    return unbroadcast(g * (x / safe), x), unbroadcast(g * (y / safe), y)


@defjvp(np.hypot)
def hypot_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    safe = np.where(out == 0.0, 1.0, out)
    return add_tangents(
        None if x_dot is None else x_dot * (x / safe),
        None if y_dot is None else y_dot * (y / safe),
    )


def share_of(term, total, power=np.exp):
    """``term``'s share of a log-sum ``total`` (``exp(term - total)``), without overflow;
    0 where the total is -inf (every term -inf: log 0 in a log-space recursion, where
    ``-inf - -inf`` would make it NaN). A test and an ``np.where``: ``np.fmin`` (one pass)
    has no array-API spelling, and the gradient code must run on CuPy too."""
    return power(term - np.where(total == -np.inf, 0.0, total))


@defvjp(np.logaddexp)
def logaddexp_vjp(g, out, x, y):
    # softmax weights of the two terms
    return unbroadcast(g * share_of(x, out), x), unbroadcast(g * share_of(y, out), y)


@defjvp(np.logaddexp)
def logaddexp_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    return add_tangents(
        None if x_dot is None else x_dot * share_of(x, out),
        None if y_dot is None else y_dot * share_of(y, out),
    )


@defvjp(np.logaddexp2)
def logaddexp2_vjp(g, out, x, y):
    # d log2(2^x + 2^y) / dx = 2^x / (2^x + 2^y) = 2^(x - out)
    return (
        unbroadcast(g * share_of(x, out, np.exp2), x),
        unbroadcast(g * share_of(y, out, np.exp2), y),
    )


@defjvp(np.logaddexp2)
def logaddexp2_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    return add_tangents(
        None if x_dot is None else x_dot * share_of(x, out, np.exp2),
        None if y_dot is None else y_dot * share_of(y, out, np.exp2),
    )


@defvjp(np.copysign)
def copysign_vjp(g, out, x, y):
    # |x| sign(y): the sign of y is piecewise constant, so y takes no gradient
    slope = np.copysign(1.0, x) * np.copysign(1.0, y)
    return unbroadcast(g * slope, x), None


@defjvp(np.copysign)
def copysign_jvp(tangents, out, x, y):
    x_dot, _ = tangents
    if x_dot is None:
        return None
    return x_dot * (np.copysign(1.0, x) * np.copysign(1.0, y))


# floor and trunc are piecewise constant: away from the jumps only the linear parts count
@defvjp(np.remainder)
def remainder_vjp(g, out, x, y):
    # x mod y = x - y floor(x / y)
    return unbroadcast(g, x), unbroadcast(-g * np.floor(x / y), y)


@defjvp(np.remainder)
def remainder_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    return add_tangents(x_dot, None if y_dot is None else -y_dot * np.floor(x / y))


@defvjp(np.fmod)
def fmod_vjp(g, out, x, y):
    # fmod(x, y) = x - y trunc(x / y)
    return unbroadcast(g, x), unbroadcast(-g * np.trunc(x / y), y)


@defjvp(np.fmod)
def fmod_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    return add_tangents(x_dot, None if y_dot is None else -y_dot * np.trunc(x / y))


@defvjp(np.where)
def where_vjp(g, out, condition, x, y):
    return (None, *_select_vjp(g, condition, x, y))


@defjvp(np.where)
def where_jvp(tangents, out, condition, x, y):
    _, x_dot, y_dot = tangents
    return _select_jvp(condition, x_dot, y_dot)


def _inside_clip(x, a_min, a_max):
    """Where ``clip`` passes ``x`` through (None when it does everywhere)."""
    above = None if a_min is None else x >= a_min
    below = None if a_max is None else x <= a_max
    if above is None or below is None:
        return below if above is None else above
    return np.logical_and(above, below)


@defvjp(np.clip)
def clip_vjp(g, out, x, a_min=None, a_max=None):
    inside = _inside_clip(x, a_min, a_max)
    return g if inside is None else np.where(inside, g, 0.0)


@defjvp(np.clip)
def clip_jvp(tangents, out, x, a_min=None, a_max=None):
    (x_dot,) = tangents
    inside = _inside_clip(x, a_min, a_max)
    return x_dot if inside is None else np.where(inside, x_dot, 0.0)
