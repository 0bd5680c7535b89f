"""Rules of the shape operations: each moves the cotangent back to the input layout.

Shape operations are linear, so most forward rules come from ``deflinear``: the operation
applied to the tangent. Joining (``concatenate``, ``stack`` and friends) and splitting are
each other's adjoints.
"""

from __future__ import annotations

import itertools

import numpy as np

from srcad.rules.registry import defjvp, deflinear, defvjp, unbroadcast


def _same_shape(g, x):
    return np.reshape(g, np.shape(x))


# --- one input, same elements ---------------------------------------------------------------
@defvjp(np.transpose)
def transpose_vjp(g, out, x, axes=None):
    if axes is None:
        return np.transpose(g)
    return np.transpose(g, tuple(int(i) for i in np.argsort(axes)))


deflinear(np.transpose)


@defvjp(np.matrix_transpose)
def matrix_transpose_vjp(g, out, x):
    return np.matrix_transpose(g)


deflinear(np.matrix_transpose)


@defvjp(np.reshape)
def reshape_vjp(g, out, x, shape, order=None):
    return np.reshape(g, np.shape(x), order=order)


deflinear(np.reshape)


@defvjp(np.ravel)
def ravel_vjp(g, out, x, order=None):
    return np.reshape(g, np.shape(x), order=order)


deflinear(np.ravel)


@defvjp(np.copy)
def copy_vjp(g, out, x, order=None):
    return g


@defjvp(np.copy)
def copy_jvp(tangents, out, x, order=None):
    (x_dot,) = tangents
    return x_dot


@defvjp(np.real)
def real_vjp(g, out, x):
    return g


deflinear(np.real)


@defvjp(np.real_if_close)
def real_if_close_vjp(g, out, x, tol=None):
    return g


@defjvp(np.real_if_close)
def real_if_close_jvp(tangents, out, x, tol=None):
    return tangents[0]


@defvjp(np.conjugate)
def conjugate_vjp(g, out, x):
    return g


deflinear(np.conjugate)


@defvjp(np.asarray)
def asarray_vjp(g, out, x, dtype=None, order=None):
    # a conversion: the cotangent goes back in the input's dtype
    return g if dtype is None else np.astype(g, x.dtype)


@defjvp(np.asarray)
def asarray_jvp(tangents, out, x, dtype=None, order=None):
    (x_dot,) = tangents
    return x_dot if dtype is None else np.astype(x_dot, dtype)


@defvjp("python_float")
def python_float_vjp(g, out, x):
    return g  # float(x32[0]) is a Python float, its cotangent too: x's adjoint takes it as is


@defjvp("python_float")
def python_float_jvp(tangents, out, x):
    return tangents[0]


@defvjp("math_fsum")
def math_fsum_vjp(g, out, x):
    return g * np.ones_like(x)  # each item adds once


@defjvp("math_fsum")
def math_fsum_jvp(tangents, out, x):
    return np.sum(tangents[0])


@defvjp(np.astype)
def astype_vjp(g, out, x, dtype, copy=None):
    return _cast(g, x.dtype)


@defjvp(np.astype)
def astype_jvp(tangents, out, x, dtype, copy=None):
    return _cast(tangents[0], dtype)


def _cast(value, dtype):
    """``value`` in ``dtype``: a 0-d cotangent or tangent may be a Python float (dout=1.0,
    the tangent of a float argument), which np.astype does not take; times one of the
    dtype, it is a NumPy scalar of that dtype."""
    if np.ndim(value) == 0 and getattr(getattr(value, "aval", None), "is_weak", True):
        return value * np.dtype(dtype).type(1)
    return np.astype(value, dtype)


@defvjp(np.broadcast_to)
def broadcast_to_vjp(g, out, x, shape):
    return unbroadcast(g, x)


deflinear(np.broadcast_to)


@defvjp(np.expand_dims)
def expand_dims_vjp(g, out, x, axis):
    return _same_shape(g, x)


deflinear(np.expand_dims)


@defvjp(np.squeeze)
def squeeze_vjp(g, out, x, axis=None):
    return _same_shape(g, x)


deflinear(np.squeeze)


@defvjp(np.swapaxes)
def swapaxes_vjp(g, out, x, axis1, axis2):
    return np.swapaxes(g, axis1, axis2)


deflinear(np.swapaxes)


@defvjp(np.rollaxis)
def rollaxis_vjp(g, out, x, axis, start=0):
    # rollaxis moves ``axis`` to just before ``start``: to ``start - 1`` when after it
    ndim = np.ndim(x)
    axis, start = axis % ndim, start + ndim if start < 0 else start
    destination = start - 1 if axis < start else start
    return np.moveaxis(g, destination, axis)


deflinear(np.rollaxis)


@defvjp(np.moveaxis)
def moveaxis_vjp(g, out, x, source, destination):
    return np.moveaxis(g, destination, source)


deflinear(np.moveaxis)


@defvjp(np.atleast_1d)
def atleast_1d_vjp(g, out, x):
    return _same_shape(g, x)


deflinear(np.atleast_1d)


@defvjp(np.atleast_2d)
def atleast_2d_vjp(g, out, x):
    return _same_shape(g, x)


deflinear(np.atleast_2d)


@defvjp(np.atleast_3d)
def atleast_3d_vjp(g, out, x):
    return _same_shape(g, x)


deflinear(np.atleast_3d)


@defvjp(np.flip)
def flip_vjp(g, out, x, axis=None):
    return np.flip(g, axis)


deflinear(np.flip)


@defvjp(np.fliplr)
def fliplr_vjp(g, out, x):
    return np.fliplr(g)


deflinear(np.fliplr)


@defvjp(np.flipud)
def flipud_vjp(g, out, x):
    return np.flipud(g)


deflinear(np.flipud)


@defvjp(np.roll)
def roll_vjp(g, out, x, shift, axis=None):
    back = tuple(-s for s in shift) if isinstance(shift, tuple) else -shift
    return np.roll(g, back, axis=axis)


deflinear(np.roll)


@defvjp(np.rot90)
def rot90_vjp(g, out, x, k=1, axes=(0, 1)):
    return np.rot90(g, -k, axes=axes)


deflinear(np.rot90, defaults={"k": 1, "axes": (0, 1)})


# --- repetition and padding -----------------------------------------------------------------
@defvjp(np.tile)
def tile_vjp(g, out, x, reps):
    # each output axis of length r*n splits into (r, n); sum over the repetitions r
    reps = reps if isinstance(reps, tuple) else (reps,)
    ndim = max(len(reps), np.ndim(x))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - np.ndim(x)) + np.shape(x)
    split = np.reshape(g, tuple(itertools.chain.from_iterable(zip(reps, shape, strict=True))))
    return _same_shape(np.sum(split, axis=tuple(range(0, 2 * ndim, 2))), x)


deflinear(np.tile)


@defvjp(np.repeat)
def repeat_vjp(g, out, x, repeats, axis=None):
    if axis is None:  # repeats the flattened array
        return _same_shape(_sum_repeats(g, (np.size(x),), repeats, 0), x)
    return _sum_repeats(g, np.shape(x), repeats, axis)


def _sum_repeats(g, shape, repeats, axis):
    """Sum the copies ``np.repeat`` made along ``axis`` of an array of ``shape``."""
    length = shape[axis]
    if isinstance(repeats, tuple) and len(repeats) == 1:
        repeats = repeats[0]
    if isinstance(repeats, int):  # the axis splits into (length, repeats)
        split = shape[:axis] + (length, repeats) + shape[axis + 1 :]
        return np.sum(np.reshape(g, split), axis=axis + 1)
    # uneven repeats: a 0/1 matrix maps output positions to input positions
    sources = np.repeat(np.arange(length), repeats)
    gather = np.asarray(sources[:, None] == np.arange(length), dtype=g.dtype)
    return np.moveaxis(np.moveaxis(g, axis, -1) @ gather, -1, axis)


deflinear(np.repeat)


@defvjp(np.pad)
def pad_vjp(g, out, x, pad_width, mode=None, constant_values=None):
    if mode not in (None, "constant"):
        raise NotImplementedError(f"the gradient of np.pad with mode={mode!r}")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (np.ndim(x), 2))
    for axis, (before, _) in enumerate(widths.tolist()):
        length = np.shape(x)[axis]
        if np.shape(g)[axis] != length:  # keep the middle piece
            g = np.split(g, (before, before + length), axis=axis)[1]
    return g


@defjvp(np.pad)
def pad_jvp(tangents, out, x, pad_width, mode=None, constant_values=None):
    if mode not in (None, "constant"):
        raise NotImplementedError(f"the tangent of np.pad with mode={mode!r}")
    return np.pad(tangents[0], pad_width)


# --- joining and splitting ------------------------------------------------------------------
def _split_back(g, xs, lifted_shapes, axis):
    """The pieces of ``g`` that came from each of ``xs``, joined along ``axis`` after being
    lifted to ``lifted_shapes``; each piece in its input's shape."""
    if len(xs) == 1:
        return (_same_shape(g, xs[0]),)
    offsets = tuple(itertools.accumulate(shape[axis] for shape in lifted_shapes[:-1]))
    pieces = np.split(g, offsets, axis=axis)
    return tuple(_same_shape(piece, x) for piece, x in zip(pieces, xs, strict=True))


@defvjp(np.concatenate)
def concatenate_vjp(g, out, *xs, axis=0):
    if axis is None:  # joins the flattened arrays
        return _split_back(g, xs, [(np.size(x),) for x in xs], 0)
    return _split_back(g, xs, [np.shape(x) for x in xs], axis)


deflinear(np.concatenate, defaults={"axis": 0})


@defvjp(np.stack)
def stack_vjp(g, out, *xs, axis=0):
    axis = axis % np.ndim(out)
    lifted = [np.shape(x)[:axis] + (1,) + np.shape(x)[axis:] for x in xs]
    return _split_back(g, xs, lifted, axis)


deflinear(np.stack, defaults={"axis": 0})


@defvjp(np.hstack)
def hstack_vjp(g, out, *xs):
    axis = 0 if np.ndim(xs[0]) <= 1 else 1
    lifted = [np.shape(x) if np.ndim(x) else (1,) for x in xs]
    return _split_back(g, xs, lifted, axis)


deflinear(np.hstack)


@defvjp(np.vstack)
def vstack_vjp(g, out, *xs):
    return _split_back(g, xs, [_atleast_shape(x, 2) for x in xs], 0)


deflinear(np.vstack)


@defvjp(np.dstack)
def dstack_vjp(g, out, *xs):
    return _split_back(g, xs, [_atleast_shape(x, 3) for x in xs], 2)


deflinear(np.dstack)


@defvjp(np.column_stack)
def column_stack_vjp(g, out, *xs):
    lifted = [(np.size(x), 1) if np.ndim(x) < 2 else np.shape(x) for x in xs]
    return _split_back(g, xs, lifted, 1)


deflinear(np.column_stack)


def _atleast_shape(x, ndim):
    """The shape ``np.atleast_2d`` / ``np.atleast_3d`` give ``x``."""
    shape = np.shape(x)
    if ndim == 2:
        return {0: (1, 1), 1: (1,) + shape}.get(len(shape), shape)
    return {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}.get(len(shape), shape)


@defvjp(np.append)
def append_vjp(g, out, x, values, axis=None):
    if axis is None:
        return _split_back(g, (x, values), [(np.size(x),), (np.size(values),)], 0)
    return _split_back(g, (x, values), [np.shape(x), np.shape(values)], axis)


deflinear(np.append)


def _join_pieces(g, axis):
    """The adjoint of a split: the pieces' cotangents joined back together."""
    pieces = tuple(g) if isinstance(g, (tuple, list)) else (g,)
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=axis)


@defvjp(np.split)
def split_vjp(g, out, x, indices_or_sections, axis=0):
    return _join_pieces(g, axis)


deflinear(np.split, defaults={"axis": 0})


@defvjp(np.array_split)
def array_split_vjp(g, out, x, indices_or_sections, axis=0):
    return _join_pieces(g, axis)


deflinear(np.array_split, defaults={"axis": 0})


@defvjp(np.hsplit)
def hsplit_vjp(g, out, x, indices_or_sections):
    return _join_pieces(g, 1 if np.ndim(x) > 1 else 0)


deflinear(np.hsplit)


@defvjp(np.dsplit)
def dsplit_vjp(g, out, x, indices_or_sections):
    return _join_pieces(g, 2)


deflinear(np.dsplit)


@defvjp(np.vsplit)
def vsplit_vjp(g, out, x, indices_or_sections):
    return _join_pieces(g, 0)


deflinear(np.vsplit)
