"""NumPy ufuncs' methods lowered as the NumPy calls they are made of: the values NumPy
gives, and a derivative through the rules of those calls.

    np.add.reduce(x, axis=0), np.multiply.reduce, np.maximum.reduce, np.minimum.reduce,
    np.add.accumulate, np.multiply.accumulate
                                         np.sum, np.prod, np.max, np.min, np.cumsum,
                                         np.cumprod (which call them), axis 0 by default
    np.logaddexp.reduce(x, axis=0), np.logaddexp2.reduce
                                         log(sum(exp(x - m))) + m, m the largest element
                                         (0 where it is infinite): NumPy's values up to
                                         rounding (NumPy adds pairwise, in order)
    np.maximum.accumulate, np.minimum.accumulate, np.logaddexp.accumulate
                                         log2(n) steps of np.maximum (np.logaddexp) with
                                         the running values twice as far back: NumPy's
                                         values (up to rounding for logaddexp)
    np.multiply.outer(a, b) (any ufunc of two arguments)
                                         the ufunc of a with an axis of one for each of b's
                                         and b: a.reshape(a.shape + (1,) * b.ndim) * b

``srcad.lower.compositions.composition_of`` finds them for a ufunc's bound method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from srcad.lower.callees import named


# ufunc.reduce and ufunc.accumulate as the NumPy functions that call them (np.sum calls
# np.add.reduce): the same values, and the rules of those functions
def log_add_exp_reduce(array: Any, axis: Any = 0, keepdims: bool = False) -> Any:
    """``np.logaddexp.reduce``: log(sum(exp(x))) shifted by the largest element (0 where that
    is infinite), so nothing overflows; equal to NumPy's pairwise steps up to rounding."""
    return _shifted_log_sum(array, axis, keepdims, np.exp, np.log)


def log_add_exp2_reduce(array: Any, axis: Any = 0, keepdims: bool = False) -> Any:
    """``np.logaddexp2.reduce``: as ``log_add_exp_reduce`` in base 2."""
    return _shifted_log_sum(array, axis, keepdims, np.exp2, np.log2)


def _shifted_log_sum(array: Any, axis: Any, keepdims: bool, power: Any, log: Any) -> Any:
    largest = named(np.max(array, axis=axis, keepdims=True), "largest")
    shift = named(np.where(np.isfinite(largest), largest, 0.0), "shift")
    powers = named(power(array - shift), "powers")
    total = log(np.sum(powers, axis=axis, keepdims=True)) + shift
    return total if keepdims else np.squeeze(total, axis=axis)


REDUCED_BY: dict[np.ufunc, Callable] = {
    np.add: np.sum,
    np.multiply: np.prod,
    np.maximum: np.max,
    np.minimum: np.min,
    np.logaddexp: log_add_exp_reduce,
    np.logaddexp2: log_add_exp2_reduce,
}


def running_max(array: Any, axis: int = 0, dtype: Any = None) -> Any:
    """``np.maximum.accumulate``: in log2(n) steps, each the maximum with the running
    values twice as far back (NumPy's values exactly; the gradient goes to the element the
    running maximum is)."""
    return _running(np.maximum, array, axis, dtype)


def running_min(array: Any, axis: int = 0, dtype: Any = None) -> Any:
    """``np.minimum.accumulate``: as ``running_max``."""
    return _running(np.minimum, array, axis, dtype)


def _running(pairwise: Any, array: Any, axis: int, dtype: Any) -> Any:
    if dtype is not None:
        array = array.astype(dtype)
    axis = axis % np.ndim(array)
    length, step = np.shape(array)[axis], 1
    before = (slice(None),) * axis
    while step < length:
        head = array[(*before, slice(0, step))]
        tail = pairwise(array[(*before, slice(step, None))], array[(*before, slice(0, -step))])
        array = np.concatenate((head, tail), axis=axis)
        step *= 2
    return array


def running_log_sum(array: Any, axis: int = 0, dtype: Any = None) -> Any:
    """``np.logaddexp.accumulate`` (a log-cumsum-exp): as ``running_max``, with
    ``np.logaddexp``; NumPy's values up to rounding."""
    return _running(np.logaddexp, array, axis, dtype)


ACCUMULATED_BY: dict[np.ufunc, Callable] = {
    np.add: np.cumsum,
    np.multiply: np.cumprod,
    np.maximum: running_max,
    np.minimum: running_min,
    np.logaddexp: running_log_sum,
}


def ufunc_reduce(ufunc: np.ufunc, array: Any, axis: Any = 0, dtype: Any = None, **kw: Any):
    """``np.add.reduce(x, axis=0)``: ``np.sum(x, axis=0)`` (axis 0 by default, not None)."""
    reduction: Any = REDUCED_BY[ufunc]
    options = {"keepdims": kw.pop("keepdims")} if "keepdims" in kw else {}
    if kw or (dtype is not None and reduction not in (np.sum, np.prod)):
        raise ValueError(f"np.{ufunc.__name__}.reduce takes axis, dtype and keepdims here")
    typed = {"dtype": dtype} if dtype is not None else {}
    return reduction(array, axis=axis, **typed, **options)


def ufunc_accumulate(ufunc: np.ufunc, array: Any, axis: int = 0, dtype: Any = None) -> Any:
    """``np.add.accumulate(x)``: ``np.cumsum(x, axis=0)``."""
    return ACCUMULATED_BY[ufunc](array, axis=axis, dtype=dtype)


def ufunc_outer(ufunc: np.ufunc, a: Any, b: Any) -> Any:
    """``ufunc.outer(a, b)``: ``ufunc`` of every element of ``a`` with every one of ``b``."""
    return ufunc(np.reshape(a, np.shape(a) + (1,) * np.ndim(b)), b)
