"""SciPy's integrals of sampled values (``scipy.integrate``) as the NumPy calls they are
made of, written as SciPy computes them, so the values agree to rounding and every sample
value and sample point gets its derivative:

    trapezoid(y, x, dx, axis)            NumPy's: sum(d * (y[1:] + y[:-1]) / 2.0)
    cumulative_trapezoid(y, x, dx, axis, initial)
                                         np.cumsum of the same terms, a 0 first where
                                         ``initial=0``
    simpson(y, x, dx, axis)              Simpson's rule on each pair of intervals (their
                                         own widths where ``x`` is given); an even number
                                         of samples adds Cartwright's correction for the
                                         last interval, as SciPy does since 1.11

Before:  simpson(y, x=t)
After:   h = np.diff(t); h0, h1 = h[0::2], h[1::2]   (the pairs of intervals)
         np.sum((h0 + h1) / 6.0 * (y[:-2:2] * (2.0 - h1 / h0) + y[1:-1:2] * ... ))

SciPy divides where a width is zero by giving 0; so does this module, with the zero widths
replaced before the division, so that no infinity reaches a gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from srcad.ir.builder import Tracer
from srcad.lower.callees import array_of


def cumulative_trapezoid(
    y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1, initial: Any = None
) -> Any:
    """``scipy.integrate.cumulative_trapezoid(y, x, dx, axis, initial)``."""
    if initial is not None and (not np.isscalar(initial) or initial != 0):
        raise ValueError("`initial` must be `None` or `0`.")
    y, x = _last_axis(y, x, axis)
    if np.shape(y)[-1] == 0:
        raise ValueError("At least one point is required along `axis`.")
    widths = dx if x is None else np.diff(x, axis=-1)
    totals = np.cumsum(widths * (y[..., 1:] + y[..., :-1]) / 2.0, axis=-1)
    if initial is not None:
        totals = np.concatenate([np.zeros_like(totals[..., :1]), totals], axis=-1)
    return np.moveaxis(totals, -1, axis)


def simpson(y: Any, *, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """``scipy.integrate.simpson(y, x=x, dx=dx, axis=axis)``."""
    y, x = _last_axis(y, x, axis)
    count = np.shape(y)[-1]
    if count % 2 == 1:
        return _pairs(y, count - 2, x, dx)
    if count == 2:  # one interval: the trapezoid
        width = dx if x is None else x[..., -1] - x[..., -2]
        return 0.5 * width * (y[..., -1] + y[..., -2])
    result = _pairs(y, count - 3, x, dx)
    if x is None:
        before, last = np.float64(dx), np.float64(dx)
    else:
        widths = np.diff(x, axis=-1).astype(np.float64)
        before, last = widths[..., -2], widths[..., -1]
    alpha = _ratio(2 * last**2 + 3 * before * last, 6 * (last + before))
    beta = _ratio(last**2 + 3.0 * before * last, 6 * before)
    eta = _ratio(1 * last**3, 6 * before * (before + last))
    return result + (alpha * y[..., -1] + beta * y[..., -2] - eta * y[..., -3])


def _pairs(y: Any, stop: int, x: Any, dx: Any) -> Any:
    """Simpson's rule on the pairs of intervals that start at samples 0, 2, ..., before
    ``stop`` (SciPy's ``_basic_simpson``)."""
    first, middle, end = y[..., 0:stop:2], y[..., 1 : stop + 1 : 2], y[..., 2 : stop + 2 : 2]
    if x is None:
        return np.sum(first + 4.0 * middle + end, axis=-1) * (dx / 3.0)
    widths = np.diff(x, axis=-1)
    h0 = widths[..., 0:stop:2].astype(np.float64)
    h1 = widths[..., 1 : stop + 1 : 2].astype(np.float64)
    total, product = h0 + h1, h0 * h1
    ratio = _ratio(h0, h1)
    terms = (
        total
        / 6.0
        * (
            first * (2.0 - _ratio(1.0, ratio))
            + middle * (total * _ratio(total, product))
            + end * (2.0 - ratio)
        )
    )
    return np.sum(terms, axis=-1)


def _ratio(numerator: Any, denominator: Any) -> Any:
    """``numerator / denominator``, 0 where the denominator is 0 (SciPy's ``where=``)."""
    nonzero = denominator != 0
    if not isinstance(nonzero, Tracer) and np.all(nonzero):
        return numerator / denominator  # widths known now, none zero: the plain division
    safe = np.where(nonzero, denominator, 1.0)
    return np.where(nonzero, numerator / safe, 0.0)


def _last_axis(y: Any, x: Any, axis: int) -> tuple[Any, Any]:
    """``y`` (and an ``x`` of its dimensions) with the axis of integration last."""
    y = array_of(y) if isinstance(y, list | tuple) else y
    x = np.asarray(x) if isinstance(x, list | tuple) else x
    dimensions = np.ndim(y)
    if not isinstance(axis, int) or not -dimensions <= axis < dimensions:
        raise ValueError(f"axis {axis} is out of bounds for y of {dimensions} dimensions")
    y = np.moveaxis(y, axis, -1)
    if x is None or np.ndim(x) == 1:
        if x is not None and np.shape(x)[0] != np.shape(y)[-1]:
            raise ValueError("If given, length of x along axis must be the same as y.")
        return y, x
    if np.ndim(x) != dimensions:
        raise ValueError("If given, shape of x must be 1-D or the same as y.")
    return y, np.moveaxis(x, axis, -1)
