"""Lowering NumPy's statistics that have no rule of their own as the NumPy calls they are
made of (``srcad.lower.compositions`` finds them): NumPy's own steps, so that the values are
NumPy's bit for bit, and float64 where NumPy computes in float64.

    np.cov(m, y=None, rowvar=True, bias=False, ddof=None)
                                  the centred rows' products over n - ddof (squeezed), in
                                  float64 whatever the dtype given
    np.corrcoef(x, y=None, rowvar=True)
                                  cov over the products of the standard deviations, clipped
                                  to [-1, 1] as NumPy clips it
    np.average(a, axis, weights, returned)
                                  sum(a * w) / sum(w) along axis (1-d weights laid along it),
                                  np.mean without weights
    np.nanvar(a, axis, ddof, keepdims), np.nanstd
                                  NaNs read as 0 and not counted; NaN where ddof leaves no
                                  degrees of freedom; nanstd's slope 0 where all values are
                                  equal, as np.std's
    np.nanprod(a, axis, keepdims), np.nancumsum(a, axis), np.nancumprod(a, axis)
                                  NaNs replaced by 1 (0 for the sum), then np.prod,
                                  np.cumsum, np.cumprod: NumPy's own steps
    scipy.stats.zscore, sem, skew, kurtosis (axis, ddof, bias, fisher)
                                  centred moments by np.mean, SciPy's bias corrections where
                                  it makes them (more than 2 or 3 values); nan_policy refused
"""

from __future__ import annotations

from typing import Any

import numpy as np

from srcad.lower.callees import as_float64


def cov(
    m: Any,
    y: Any = None,
    rowvar: bool = True,
    bias: bool = False,
    ddof: Any = None,
    fweights: Any = None,
    aweights: Any = None,
    *,
    dtype: Any = None,
) -> Any:
    """``np.cov``: each row a variable (each column, ``rowvar=False``); weights refused."""
    if fweights is not None or aweights is not None or dtype is not None:
        raise ValueError("np.cov with weights or a dtype is not supported; weight the rows first")
    x = _variables(m, rowvar)
    if y is not None:
        x = np.concatenate((x, _variables(y, rowvar)), axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    centred = x - np.mean(x, axis=1, keepdims=True)
    return np.squeeze((centred @ centred.T) * (1.0 / (np.shape(x)[1] - ddof)))  # NumPy's order


def _variables(values: Any, rowvar: bool) -> Any:
    """The variables as rows, as np.cov lays them out (``np.array(m, ndmin=2)``, float64
    whatever the dtype given)."""
    if np.dtype(getattr(values, "dtype", np.float64)).kind == "c":
        raise ValueError("np.cov of complex values is not supported; pass real values")
    values = as_float64(values)
    rows = np.reshape(values, (1, -1)) if np.ndim(values) < 2 else values
    return rows.T if not rowvar and np.shape(rows)[0] != 1 else rows


def corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Any:
    """``np.corrcoef``: the covariances over the products of the standard deviations."""
    covariance = cov(x, y, rowvar, dtype=dtype)
    if np.ndim(covariance) == 0:
        return covariance / covariance
    deviations = np.sqrt(np.diagonal(covariance))
    scaled = covariance / deviations[:, None] / deviations[None, :]
    return np.clip(scaled, -1.0, 1.0)


def nanvar(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, **kw: Any
) -> Any:
    """``np.nanvar``: NumPy's steps, NaNs read as 0 and left out of the count; NaN where
    fewer than ``ddof`` + 1 values are left."""
    keepdims = kw.pop("keepdims", False)
    if dtype is not None or out is not None or kw:
        raise ValueError("np.nanvar and np.nanstd take axis, ddof and keepdims here")
    missing = np.isnan(a)
    values = np.where(missing, 0.0, a)
    count = np.sum(np.logical_not(missing), axis=axis, keepdims=True)
    mean = _in_dtype_of(values, np.sum(values, axis=axis, keepdims=True) / count)
    centred = np.where(missing, 0.0, values - mean)
    freedom = np.sum(np.logical_not(missing), axis=axis, keepdims=keepdims) - ddof
    spread = np.sum(centred * centred, axis=axis, keepdims=keepdims) / freedom
    return np.where(freedom <= 0, np.nan, _in_dtype_of(values, spread))


def nanprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, **kw: Any) -> Any:
    """``np.nanprod``: the product with NaNs read as 1."""
    _only_axis_and_keepdims("np.nanprod", dtype, out, kw)
    return np.prod(np.where(np.isnan(a), 1, a), axis=axis, **kw)


def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``np.nancumsum``: the running sum with NaNs read as 0."""
    _only_axis_and_keepdims("np.nancumsum", dtype, out, {})
    return np.cumsum(np.where(np.isnan(a), 0, a), axis=axis)


def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``np.nancumprod``: the running product with NaNs read as 1."""
    _only_axis_and_keepdims("np.nancumprod", dtype, out, {})
    return np.cumprod(np.where(np.isnan(a), 1, a), axis=axis)


def _only_axis_and_keepdims(name: str, dtype: Any, out: Any, kw: dict) -> None:
    if dtype is not None or out is not None or set(kw) - {"keepdims"}:
        raise ValueError(f"{name} takes axis (and keepdims) here")


def nanstd(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0, **kw):
    """``np.nanstd``: the square root of ``np.nanvar`` (with the slope 0, not NaN, where
    the values are all equal, as ``np.std``'s)."""
    variance = nanvar(a, axis, dtype, out, ddof, **kw)
    is_zero = variance == 0.0
    return np.where(is_zero, 0.0, np.sqrt(np.where(is_zero, 1.0, variance)))


def _in_dtype_of(values: Any, result: Any) -> Any:
    """``result`` cast to ``values``' dtype, as NumPy divides into the sum's own array."""
    return result if result.dtype == values.dtype else result.astype(values.dtype)


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, **kw: Any):
    """The weighted mean: sum(a * w) / sum(w) along ``axis`` (1-d weights along one axis are
    laid along it, as NumPy lays them)."""
    if weights is None:
        mean = np.mean(a, axis=axis, **kw)
        count = np.size(a) if axis is None else np.shape(a)[axis]
        return (mean, np.full(np.shape(mean), float(count))) if returned else mean
    w = weights
    if np.ndim(w) == 1 and np.ndim(a) > 1 and isinstance(axis, int):
        w = np.reshape(w, [-1 if k == axis % np.ndim(a) else 1 for k in range(np.ndim(a))])
    total = np.sum(w * np.ones_like(a), axis=axis, **kw)
    mean = np.sum(a * w, axis=axis, **kw) / total
    return (mean, total) if returned else mean


# --- scipy.stats' descriptive statistics ------------------------------------------------------
def zscore(a: Any, axis: Any = 0, ddof: Any = 0, nan_policy: str = "propagate") -> Any:
    """``scipy.stats.zscore``: each value less the mean, over the standard deviation."""
    _refuse_nan_policy(nan_policy)
    a, axis = _along(a, axis)
    mean = np.mean(a, axis=axis, keepdims=True)
    return (a - mean) / np.std(a, axis=axis, ddof=ddof, keepdims=True)


def sem(a: Any, axis: Any = 0, ddof: Any = 1, nan_policy: str = "propagate", **kw: Any) -> Any:
    """``scipy.stats.sem``: the standard deviation (n - 1) over the root of the count."""
    _refuse_nan_policy(nan_policy, kw)
    a, axis = _along(a, axis)
    return np.std(a, axis=axis, ddof=ddof) / np.sqrt(np.shape(a)[axis])


def skew(a: Any, axis: Any = 0, bias: bool = True, nan_policy: str = "propagate", **kw) -> Any:
    """``scipy.stats.skew``: the third central moment over the second's power 3/2
    (``bias=False``: times sqrt(n (n - 1)) / (n - 2), for n > 2)."""
    _refuse_nan_policy(nan_policy, kw)
    a, axis = _along(a, axis)
    n = np.shape(a)[axis]
    m2, m3 = _central_moment(a, axis, 2), _central_moment(a, axis, 3)
    value = m3 / m2**1.5
    if bias or n <= 2:  # SciPy corrects only where there are more than two values
        return value
    return value * np.sqrt((n - 1.0) * n) / (n - 2.0)


def kurtosis(
    a: Any,
    axis: Any = 0,
    fisher: bool = True,
    bias: bool = True,
    nan_policy: str = "propagate",
    **kw: Any,
) -> Any:
    """``scipy.stats.kurtosis``: the fourth central moment over the second's square (less 3
    where ``fisher``; ``bias=False``: SciPy's unbiased estimator)."""
    _refuse_nan_policy(nan_policy, kw)
    a, axis = _along(a, axis)
    n = np.shape(a)[axis]
    m2, m4 = _central_moment(a, axis, 2), _central_moment(a, axis, 4)
    value = m4 / m2**2.0
    if not bias and n > 3:  # SciPy corrects only where there are more than three values
        value = ((n * n - 1.0) * value - 3.0 * (n - 1.0) ** 2) / ((n - 2.0) * (n - 3.0)) + 3.0
    return value - 3.0 if fisher else value


def _central_moment(a: Any, axis: int, order: int) -> Any:
    return np.mean((a - np.mean(a, axis=axis, keepdims=True)) ** order, axis=axis)


def _along(a: Any, axis: Any) -> tuple[Any, int]:
    """``a`` as an array and the axis the statistic goes along (``axis=None``: flattened)."""
    a = as_float64(a) if not hasattr(a, "shape") else a
    if axis is None:
        return np.ravel(a), 0
    return a, axis


def _refuse_nan_policy(nan_policy: str, kw: dict | None = None) -> None:
    if nan_policy != "propagate" or (kw and set(kw) - {"keepdims"}) or (kw or {}).get("keepdims"):
        raise NotImplementedError("SciPy's statistic with nan_policy, keepdims or other options")
