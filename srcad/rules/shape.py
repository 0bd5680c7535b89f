"""Reverse rules of the shape operations: each moves the cotangent back to the input layout."""

from __future__ import annotations

import numpy as np

from srcad.rules.registry import defvjp, unbroadcast


@defvjp(np.transpose)
def transpose_vjp(g, out, x, axes=None):
    if axes is None:
        return (np.transpose(g),)
    return (np.transpose(g, tuple(np.argsort(axes))),)


@defvjp(np.reshape)
def reshape_vjp(g, out, x, shape):
    return (np.reshape(g, np.shape(x)),)


@defvjp(np.broadcast_to)
def broadcast_to_vjp(g, out, x, shape):
    return (unbroadcast(g, x),)


@defvjp(np.expand_dims)
def expand_dims_vjp(g, out, x, axis):
    return (np.reshape(g, np.shape(x)),)


@defvjp(np.swapaxes)
def swapaxes_vjp(g, out, x, axis1, axis2):
    return (np.swapaxes(g, axis1, axis2),)
