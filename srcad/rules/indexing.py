"""Rules of the indexing-like functions: ``take take_along_axis choose select nan_to_num
diag diagonal triu tril``.

Gathering has scattering as its adjoint. The gather's indices are arrays (possibly
computed when the function runs), so the scatter compares them with the positions of the
input, ``indices[..., None] == np.arange(n)``, and sums the cotangent with that 0/1 mask;
index arrays take no gradient. Masks and diagonals are linear, so their rules apply the
same operation (or its transpose) to the cotangent and to the tangent (``deflinear``).
"""

from __future__ import annotations

import numpy as np

from srcad.rules.registry import add_tangents, defjvp, deflinear, defvjp, unbroadcast


def _one_hot(indices, length):
    """``indices[..., None] == arange(length)``, negative indices counted from the end as
    NumPy does. (Products of a float array with this boolean mask keep the float dtype.)"""
    indices = np.where(indices < 0, indices + length, indices)
    return np.expand_dims(indices, -1) == np.arange(length)


@defvjp(np.take)
def take_vjp(g, out, x, indices, axis=None):
    index_ndim = np.ndim(indices)
    if axis is None:  # takes from the flattened array
        one_hot = _one_hot(indices, np.size(x))
        return np.reshape(np.tensordot(g, one_hot, axes=index_ndim), np.shape(x)), None
    axis = axis % np.ndim(x)
    one_hot = _one_hot(indices, np.shape(x)[axis])
    g_axes = tuple(range(axis, axis + index_ndim))
    summed = np.tensordot(g, one_hot, axes=(g_axes, tuple(range(index_ndim))))
    return np.moveaxis(summed, -1, axis), None


deflinear(np.take, linear_inputs=1)


@defvjp(np.take_along_axis)
def take_along_axis_vjp(g, out, x, indices, axis=-1):
    if axis is None:  # takes from the flattened array
        one_hot = _one_hot(indices, np.size(x))
        return np.reshape(np.tensordot(g, one_hot, axes=1), np.shape(x)), None
    axis = axis % np.ndim(x)
    one_hot = _one_hot(indices, np.shape(x)[axis])
    summed = np.sum(np.expand_dims(g, -1) * one_hot, axis=axis)
    return unbroadcast(np.moveaxis(summed, -1, axis), x), None


deflinear(np.take_along_axis, linear_inputs=1, defaults={"axis": -1})


@defvjp(np.choose)
def choose_vjp(g, out, index, *choices):
    return (None,) + tuple(
        unbroadcast(np.where(index == k, g, 0.0), choice) for k, choice in enumerate(choices)
    )


@defjvp(np.choose)
def choose_jvp(tangents, out, index, *choices):
    return add_tangents(
        *(None if t is None else np.where(index == k, t, 0.0) for k, t in enumerate(tangents[1:]))
    )


@defvjp(np.select)
def select_vjp(g, out, conditions, choices, default):
    # each element comes from the first choice whose condition holds there, or from the
    # default where none holds: the cotangent goes back to that one
    g_choices = np.where(_first_true(conditions), g, 0.0)
    g_default = np.where(np.any(conditions, axis=0), 0.0, g)
    return (
        None,
        unbroadcast(_in_dtype_of(g_choices, choices), choices),
        unbroadcast(_in_dtype_of(g_default, default), default),
    )


@defjvp(np.select)
def select_jvp(tangents, out, conditions, choices, default):
    _, choices_dot, default_dot = tangents
    return add_tangents(
        (
            None
            if choices_dot is None
            else np.sum(np.where(_first_true(conditions), choices_dot, 0.0), axis=0)
        ),
        None if default_dot is None else np.where(np.any(conditions, axis=0), 0.0, default_dot),
    )


def _in_dtype_of(g, x):
    """``g`` in ``x``'s dtype (NumPy's result is float64 where the default is an int)."""
    x_dtype = np.dtype(x.dtype)
    return g if g.dtype == x_dtype or x_dtype.kind != "f" else np.astype(g, x_dtype)


def _first_true(conditions):
    """Where each condition is the first of the stack that holds."""
    return np.logical_and(conditions, np.cumsum(conditions, axis=0) == 1)


@defvjp(np.nan_to_num)
def nan_to_num_vjp(g, out, x, copy=True, nan=0.0, posinf=None, neginf=None):
    # the identity where x is finite; the replacements are constants
    return np.where(np.isfinite(x), g, 0.0)


@defjvp(np.nan_to_num)
def nan_to_num_jvp(tangents, out, x, copy=True, nan=0.0, posinf=None, neginf=None):
    return np.where(np.isfinite(x), tangents[0], 0.0)


@defvjp(np.diag)
def diag_vjp(g, out, x, k=0):
    if np.ndim(x) == 1:  # builds a matrix: its diagonal holds x
        return np.diag(g, k)
    return _diagonal_vjp(g, x, k, 0, 1)


deflinear(np.diag, defaults={"k": 0})


@defvjp(np.diagonal)
def diagonal_vjp(g, out, x, offset=0, axis1=0, axis2=1):
    return _diagonal_vjp(g, x, offset, axis1, axis2)


deflinear(np.diagonal, defaults={"offset": 0, "axis1": 0, "axis2": 1})


def _diagonal_vjp(g, x, offset, axis1, axis2):
    """Put ``g`` (the diagonal, on the last axis) back on the diagonal of ``x``'s shape."""
    ndim = np.ndim(x)
    axis1, axis2 = axis1 % ndim, axis2 % ndim
    rows, columns, length = np.shape(x)[axis1], np.shape(x)[axis2], np.shape(g)[-1]
    if ndim == 2 and rows == columns and abs(offset) < rows:  # np.diag builds it (numba has)
        square = np.diag(g, offset)
        return square if axis1 < axis2 else square.T
    row_of = np.eye(rows, length, k=-max(-offset, 0), dtype=g.dtype)
    column_of = np.eye(columns, length, k=-max(offset, 0), dtype=g.dtype)
    spread = np.einsum("...d,id,jd->...ij", g, row_of, column_of)
    return np.moveaxis(spread, (-2, -1), (axis1, axis2))


@defvjp(np.triu)
def triu_vjp(g, out, x, k=0):
    return np.triu(g, k)


deflinear(np.triu, defaults={"k": 0})


@defvjp(np.tril)
def tril_vjp(g, out, x, k=0):
    return np.tril(g, k)


deflinear(np.tril, defaults={"k": 0})
