"""Lowering NumPy functions that have no rule of their own as the NumPy calls they are made
of: the generated code shows those calls, each commented with the user's line, and every
input gets its derivative through them (``np.interp``'s sample values and points too).

    np.polyval(p, x)                     Horner's rule, as NumPy computes it:
                                         y = 0 * x; y = y * x + p[0]; y = y * x + p[1]; ...
    np.trapezoid(y, x=None, dx=1.0, axis=-1)
                                         the sum along ``axis`` of the steps times the
                                         means of neighbours, as NumPy computes it
    np.interp(x, xp, fp, left=None, right=None)
                                         the segment of each ``x`` (how many sample points
                                         lie at or below it), then
                                         slope * (x - xp[k]) + fp[k], ``fp[-1]`` from the last
                                         point on, ``left``/``right`` (or the end values)
                                         outside: NumPy's values, the slope of the segment
                                         to the right as the derivative at a sample point

Each runs on the traced arguments, so it records the equations of the calls it makes. A call
these do not cover (``np.interp`` with a ``period``) is refused with the reason. A function
that has a row of its own but a param known only when the code runs (``np.clip`` with a
bound read from a global) is composed by its row instead (``Prim.composed``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def polyval(p: Any, x: Any) -> Any:
    """``np.polyval(p, x)``: NumPy's loop (``0 * x`` first, so inf and nan in ``x`` give
    NumPy's nan)."""
    total = np.zeros_like(x)
    for coefficient in p:
        total = total * x + coefficient
    return total


def trapezoid(y: Any, x: Any = None, dx: Any = 1.0, axis: int = -1) -> Any:
    """``np.trapezoid(y, x, dx, axis)``: ``sum(d * (y[1:] + y[:-1]) / 2.0)`` along ``axis``."""
    dimensions = np.ndim(y)
    if not isinstance(axis, int) or not -dimensions <= axis < dimensions:
        raise ValueError(f"np.trapezoid: axis must be an int within y's {dimensions} axes")
    later, earlier = [slice(None)] * dimensions, [slice(None)] * dimensions
    later[axis], earlier[axis] = slice(1, None), slice(None, -1)
    if x is None:
        steps = dx
    elif np.ndim(x) == 1:
        steps = np.diff(x)
        shape = [1] * dimensions
        shape[axis] = np.shape(steps)[0]
        steps = np.reshape(steps, tuple(shape))
    else:
        steps = np.diff(x, axis=axis)
    means = (y[tuple(later)] + y[tuple(earlier)]) / 2.0
    return np.sum(steps * means, axis=axis)


def interp(
    x: Any,
    xp: Any,
    fp: Any,
    left: Any = None,
    right: Any = None,
    period: Any = None,
) -> Any:
    """``np.interp(x, xp, fp, left, right)`` for increasing ``xp`` (see the module
    docstring)."""
    if period is not None:
        raise ValueError("np.interp with a period is not supported; map x into one period first")
    if np.ndim(xp) != 1 or np.shape(xp) != np.shape(fp) or np.shape(xp)[0] == 0:
        raise ValueError("np.interp needs xp and fp of one dimension and the same length")
    last = np.shape(xp)[0] - 1
    below = fp[0] if left is None else left
    above = fp[-1] if right is None else right
    if last == 0:  # one sample point: NumPy's values on either side of it
        return np.where(x < xp[0], below, np.where(x > xp[0], above, fp[0]))
    segment = np.clip(np.sum(np.expand_dims(x, -1) >= xp, axis=-1) - 1, 0, last - 1)
    following = segment + 1
    start, end = xp[segment], xp[following]
    slope = (fp[following] - fp[segment]) / (end - start)
    inside = slope * (x - start) + fp[segment]
    value = np.where(x >= xp[last], fp[last], inside)
    if right is not None:
        value = np.where(x > xp[last], right, value)
    return np.where(x < xp[0], below, value)


COMPOSITIONS: dict[Callable, Callable] = {
    np.polyval: polyval,
    np.trapezoid: trapezoid,
    np.interp: interp,
}


def composition_of(function: Any) -> Callable | None:
    """The composition that lowers ``function``, if it has one."""
    try:
        return COMPOSITIONS.get(function)
    except TypeError:  # an unhashable callable
        return None
