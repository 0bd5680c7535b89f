"""Reverse rules of matrix products: ``matmul`` (``@``), ``dot`` and ``outer``.

The layout of each cotangent depends on the ranks of the operands, which are static, so the
rule picks the product that avoids transposes and length-one axes: for ``W @ x`` with a
vector ``x`` the cotangent of ``W`` is ``np.outer(g, x)``.
"""

from __future__ import annotations

import numpy as np

from srcad.rules.registry import defvjp, unbroadcast


@defvjp(np.matmul)
def matmul_vjp(g, out, x, y):
    x_ndim, y_ndim = np.ndim(x), np.ndim(y)
    if x_ndim == 1 and y_ndim == 1:
        return g * y, g * x
    if x_ndim == 1 and y_ndim == 2:
        return y @ g, np.outer(x, g)
    if x_ndim == 2 and y_ndim == 1:
        return np.outer(g, y), g @ x
    if x_ndim == 1:  # treat x as a one-row matrix
        dx, dy = matmul_vjp(np.expand_dims(g, -2), None, np.expand_dims(x, 0), y)
        return np.reshape(dx, np.shape(x)), dy
    if y_ndim == 1:  # treat y as a one-column matrix
        dx, dy = matmul_vjp(np.expand_dims(g, -1), None, x, np.expand_dims(y, -1))
        return dx, np.reshape(dy, np.shape(y))
    return unbroadcast(g @ _matrix_transpose(y), x), unbroadcast(_matrix_transpose(x) @ g, y)


def _matrix_transpose(a):
    return np.transpose(a) if np.ndim(a) == 2 else np.swapaxes(a, -1, -2)


@defvjp(np.dot)
def dot_vjp(g, out, x, y):
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return unbroadcast(g * y, x), unbroadcast(g * x, y)
    if np.ndim(x) > 2 or np.ndim(y) > 2:
        raise NotImplementedError("np.dot of arrays with more than 2 dimensions; use np.matmul")
    return matmul_vjp(g, out, x, y)


@defvjp(np.outer)
def outer_vjp(g, out, x, y):
    dx = np.reshape(g @ np.reshape(y, (-1,)), np.shape(x))
    dy = np.reshape(np.reshape(x, (-1,)) @ g, np.shape(y))
    return dx, dy
