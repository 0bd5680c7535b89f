"""Reverse rules of the reductions ``sum mean max min`` (with ``axis`` and ``keepdims``).

The cotangent of a reduction is spread back over the reduced axes: evenly for ``sum`` and
``mean``, and onto the positions that attain the extremum for ``max`` and ``min`` (split
evenly between ties).
"""

from __future__ import annotations

import numpy as np

from srcad.rules.registry import defvjp, expand_reduced


@defvjp(np.sum)
def sum_vjp(g, out, x, axis=None, keepdims=False, dtype=None):
    return (np.broadcast_to(expand_reduced(g, axis, keepdims), np.shape(x)),)


@defvjp(np.mean)
def mean_vjp(g, out, x, axis=None, keepdims=False, dtype=None):
    count = np.size(x) // max(np.size(out), 1)
    return (np.broadcast_to(expand_reduced(g, axis, keepdims) / count, np.shape(x)),)


@defvjp(np.max)
def max_vjp(g, out, x, axis=None, keepdims=False):
    return (_extremum_vjp(g, out, x, axis, keepdims),)


@defvjp(np.min)
def min_vjp(g, out, x, axis=None, keepdims=False):
    return (_extremum_vjp(g, out, x, axis, keepdims),)


def _extremum_vjp(g, out, x, axis, keepdims):
    is_extremum = x == expand_reduced(out, axis, keepdims)
    ties = np.sum(is_extremum, axis=axis, keepdims=True, dtype=x.dtype)  # keep float32
    return np.where(is_extremum, expand_reduced(g, axis, keepdims), 0.0) / ties
