"""Helpers that the array-API variant of generated code calls where NumPy's function has no
one-call array-API spelling (``srcad.arrayapi.spellings`` names them).

Each takes arrays of any array-API library (its namespace from ``array_namespace``) and
computes exactly what the NumPy function of the same name computes for the ranks it takes;
ranks it does not take raise ``ValueError`` rather than compute something else.
"""

from __future__ import annotations

from array_api_compat import array_namespace, is_array_api_obj
from array_api_compat import is_numpy_array as _is_numpy_array


def to_xp(value: object, xp: object = None) -> object:
    """A NumPy array, NumPy scalar or float read from outside the function (a global, a
    closure cell, a default argument) as an array of ``xp``; other values as they are.
    Bound per namespace when the variant is loaded (``functools.partial``)."""
    if isinstance(value, float) or _is_numpy_array(value) or _is_numpy_scalar(value):
        return xp.asarray(value)  # type: ignore[attr-defined]
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(to_xp(item, xp) for item in value)
    if isinstance(value, dict):
        return {key: to_xp(item, xp) for key, item in value.items()}
    return value


def _is_numpy_scalar(value: object) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype")


def transpose(x):
    """``x.T``: the axes in reverse order."""
    xp = array_namespace(x)
    return xp.permute_dims(x, tuple(range(x.ndim - 1, -1, -1)))


def squeeze(x):
    """``x.squeeze()``: every axis of length 1 removed."""
    xp = array_namespace(x)
    return xp.squeeze(x, axis=tuple(k for k, n in enumerate(x.shape) if n == 1))


def dot(a, b):
    """``np.dot(a, b)``: a product of matrices or vectors (``b`` of rank 1 or 2); the
    product with a scalar for rank 0."""
    xp = array_namespace(a, b)
    if not is_array_api_obj(a) or not is_array_api_obj(b) or a.ndim == 0 or b.ndim == 0:
        return a * b
    if b.ndim > 2:
        raise ValueError("np.dot with a right operand of rank > 2 has no array-API spelling")
    return xp.matmul(a, b)


def vdot(a, b):
    """``np.vdot(a, b)``: the inner product of the flattened arrays (the first conjugated)."""
    xp = array_namespace(a, b)
    return xp.vecdot(xp.reshape(a, (-1,)), xp.reshape(b, (-1,)))


def may_share_memory(a, b):
    """``np.may_share_memory(a, b)``, where the namespace has it (NumPy, CuPy); where it
    does not, whether ``a`` and ``b`` are one array, the only sharing such a namespace
    lets code tell (``array_api_strict``: no views of one array to other names)."""
    xp = array_namespace(a, b)
    shares = getattr(xp, "may_share_memory", None)
    return bool(shares(a, b)) if shares is not None else a is b


def outer(a, b):
    """``np.outer(a, b)``: the products of every element of ``a`` with every one of ``b``
    (both flattened)."""
    xp = array_namespace(a, b)
    return xp.reshape(a, (-1, 1)) * xp.reshape(b, (1, -1))


def split(x, indices_or_sections, axis=0):
    """``np.split``: equal sections (an int) or pieces between the given indices."""
    length = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if length % indices_or_sections:
            raise ValueError("array split does not result in an equal division")
        step = length // indices_or_sections
        bounds = list(range(0, length + 1, step))
    else:
        bounds = [0, *indices_or_sections, length]
    before = (slice(None),) * (axis % x.ndim)
    return [
        x[(*before, slice(start, max(start, stop)), ...)]
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def hstack(arrays):
    """``np.hstack``: joined along the first axis for vectors, the second otherwise."""
    xp = array_namespace(*arrays)
    return xp.concat(arrays, axis=0 if arrays[0].ndim == 1 else 1)


def vstack(arrays):
    """``np.vstack``: vectors as rows, joined along the first axis."""
    xp = array_namespace(*arrays)
    rows = [xp.reshape(a, (1, -1)) if a.ndim == 1 else a for a in arrays]
    return xp.concat(rows, axis=0)


def trace(x):
    """``np.trace`` of a matrix."""
    if x.ndim != 2:
        raise ValueError("np.trace of an array of rank other than 2 is not spelled here")
    return array_namespace(x).linalg.trace(x)


def diagonal(x):
    """``np.diagonal`` of a matrix."""
    if x.ndim != 2:
        raise ValueError("np.diagonal of an array of rank other than 2 is not spelled here")
    return array_namespace(x).linalg.diagonal(x)


def cbrt(x):
    """``np.cbrt``: the real cube root, negative for negative ``x``."""
    xp = array_namespace(x)
    return xp.sign(x) * xp.abs(x) ** (1 / 3)


__all__ = [
    "array",
    "cbrt",
    "diagonal",
    "dot",
    "full",
    "hstack",
    "outer",
    "split",
    "squeeze",
    "to_xp",
    "trace",
    "transpose",
    "vdot",
    "vstack",
]


def full(shape, fill_value, dtype=None):
    """``np.full``: also with a 0-d array as the value (the array API takes a scalar)."""
    if isinstance(fill_value, (int, float, bool)):
        raise ValueError("np.full of a Python number: its namespace is unknown")
    xp = array_namespace(fill_value)
    return xp.zeros(shape, dtype=dtype or fill_value.dtype) + fill_value


def array(values):
    """``np.array`` of a list of arrays (stacked) or of Python numbers."""
    arrays = [v for v in values if is_array_api_obj(v)]
    if not arrays:
        raise ValueError("np.array of Python numbers only: its namespace is unknown")
    xp = array_namespace(*arrays)
    return xp.stack([xp.asarray(v, dtype=arrays[0].dtype) for v in values])
