"""Rules of the constructors that are differentiable: ``full`` and ``full_like`` in the fill
value, ``linspace`` in its end points. (The other constructors make constants.)
"""

from __future__ import annotations

import numpy as np

from srcad.rules.registry import add_tangents, defjvp, defvjp, unbroadcast


@defvjp(np.full_like)
def full_like_vjp(g, out, x, fill_value, dtype=None, order=None, subok=None, shape=None):
    return None, unbroadcast(g, fill_value)


@defjvp(np.full_like)
def full_like_jvp(tangents, out, x, fill_value, dtype=None, order=None, subok=None, shape=None):
    _, fill_dot = tangents
    return None if fill_dot is None else np.broadcast_to(fill_dot, np.shape(out))


@defvjp(np.full)
def full_vjp(g, out, fill_value, shape, dtype=None, order=None):
    return unbroadcast(g, fill_value)


@defjvp(np.full)
def full_jvp(tangents, out, fill_value, shape, dtype=None, order=None):
    (fill_dot,) = tangents
    return np.broadcast_to(fill_dot, np.shape(out))


def _fractions(out, num, endpoint, axis):
    """Where each sample lies between start (0) and stop (1), shaped to broadcast along
    ``axis`` of the output."""
    fractions = np.linspace(0.0, 1.0, num, endpoint=endpoint, dtype=out.dtype)
    shape = [1] * np.ndim(out)
    shape[axis] = num
    return np.reshape(fractions, tuple(shape))


@defvjp(np.linspace)
def linspace_vjp(g, out, start, stop, num=50, endpoint=True, axis=0):
    # out = start + t (stop - start), with t = linspace(0, 1)
    axis = axis % np.ndim(out)
    t = _fractions(out, num, endpoint, axis)
    return (
        unbroadcast(np.sum(g * (1.0 - t), axis=axis), start),
        unbroadcast(np.sum(g * t, axis=axis), stop),
    )


@defjvp(np.linspace)
def linspace_jvp(tangents, out, start, stop, num=50, endpoint=True, axis=0):
    start_dot, stop_dot = tangents
    axis = axis % np.ndim(out)
    t = _fractions(out, num, endpoint, axis)
    ends_shape = np.shape(out)[:axis] + np.shape(out)[axis + 1 :]
    return add_tangents(
        None if start_dot is None else _along(start_dot, ends_shape, axis) * (1.0 - t),
        None if stop_dot is None else _along(stop_dot, ends_shape, axis) * t,
    )


def _along(end_dot, ends_shape, axis):
    """An end point's tangent, broadcast like the end points and ready to scale along
    ``axis``."""
    return np.expand_dims(np.broadcast_to(end_dot, ends_shape), axis)
