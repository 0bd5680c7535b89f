"""Lowering ``scipy.spatial.distance``'s pairwise distances as the NumPy calls they are made
of (``srcad.lower.compositions`` finds them by name, as SciPy's own functions):

    cdist(XA, XB, metric)      the differences of every row of XA with every row of XB,
                               XA[:, None, :] - XB[None, :, :], reduced along the features
    pdist(X, metric)           the same for the rows i < j of X (np.triu_indices), in
                               SciPy's order
    squareform(v)              the symmetric matrix of a condensed vector: v gathered
                               into both triangles, zeros on the diagonal

Metrics: ``euclidean`` (``np.linalg.norm``, whose gradient is 0, not NaN, where two rows
coincide), ``sqeuclidean``, ``cityblock``, ``chebyshev`` and ``minkowski`` with its ``p``
(the same 0 where rows coincide).
As SciPy, the distances are float64 whatever the inputs' dtype. Other metrics, weights,
callables and ``out=`` are refused with what to write instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from srcad.lower.callees import as_float64, named

FEATURES = -1  # the axis a metric reduces: each row's features


def _minkowski(differences: Any, p: Any = 2) -> Any:
    """The p-th root of the sum of the p-th powers, 0 with the slope 0 where the two rows
    coincide (``p`` may be read on every call, where ``np.linalg.norm`` takes constants)."""
    total = named(np.sum(np.abs(differences) ** p, axis=FEATURES), "powers")
    is_zero = named(total == 0.0, "coincide")
    return np.where(is_zero, 0.0, np.where(is_zero, 1.0, total) ** (1.0 / p))


METRICS: dict[str, Callable[..., Any]] = {
    "euclidean": lambda d: np.linalg.norm(d, axis=FEATURES),
    "sqeuclidean": lambda d: np.sum(d * d, axis=FEATURES),
    "cityblock": lambda d: np.sum(np.abs(d), axis=FEATURES),
    "chebyshev": lambda d: np.max(np.abs(d), axis=FEATURES),
    "minkowski": _minkowski,
}
OPTIONS = {"minkowski": ("p",)}  # the keyword arguments a metric takes


def cdist(XA: Any, XB: Any, metric: Any = "euclidean", *, out: Any = None, **kwargs: Any):
    """``scipy.spatial.distance.cdist``: the distance of each row of XA to each of XB."""
    reduce = _metric("cdist", metric, out, kwargs)
    a, b = _rows("cdist", "XA", XA), _rows("cdist", "XB", XB)
    if np.shape(a)[1] != np.shape(b)[1]:
        raise ValueError("cdist: XA and XB must have the same number of columns")
    return named(reduce(named(a[:, None, :] - b[None, :, :], "differences"), **kwargs), "distances")


def pdist(X: Any, metric: Any = "euclidean", *, out: Any = None, **kwargs: Any) -> Any:
    """``scipy.spatial.distance.pdist``: the distance of each pair of rows i < j."""
    reduce = _metric("pdist", metric, out, kwargs)
    rows = _rows("pdist", "X", X)
    first, second = np.triu_indices(np.shape(rows)[0], 1)
    return named(reduce(named(rows[first] - rows[second], "differences"), **kwargs), "distances")


def squareform(X: Any, force: str = "no", checks: bool = True) -> Any:
    """``scipy.spatial.distance.squareform`` of a condensed vector: the square matrix."""
    if np.ndim(X) != 1 or force == "tovector":
        raise ValueError(
            "squareform of a square matrix is not supported; take its upper triangle with "
            "M[np.triu_indices(len(M), 1)]"
        )
    pairs = np.shape(X)[0]
    size = int(round((1 + np.sqrt(1 + 8 * pairs)) / 2))
    if size * (size - 1) // 2 != pairs:
        raise ValueError("squareform: the vector's length must be n * (n - 1) / 2 for some n")
    positions = np.zeros((size, size), dtype=np.intp)  # 0: the diagonal's zero
    first, second = np.triu_indices(size, 1)
    positions[first, second] = positions[second, first] = np.arange(1, pairs + 1)
    return named(np.concatenate((np.zeros(1, dtype=X.dtype), X))[positions], "square")


def _metric(name: str, metric: Any, out: Any, kwargs: dict) -> Callable[..., Any]:
    """The reduction of ``metric``, after refusing what srcad does not lower."""
    if out is not None:
        raise ValueError(f"{name} with out= is not supported; use the distances it returns")
    if not isinstance(metric, str) or metric not in METRICS:
        given = f"metric={metric!r}" if isinstance(metric, str) else "a metric function"
        raise ValueError(
            f"{name} with {given} is not supported; "
            f"srcad lowers {', '.join(map(repr, METRICS))}: write the distance from the "
            "differences XA[:, None, :] - XB[None, :, :] instead"
        )
    unknown = set(kwargs) - set(OPTIONS.get(metric, ()))
    if unknown:
        raise ValueError(
            f"{name} with {', '.join(sorted(unknown))} is not supported for {metric!r}; "
            "weight the rows before, or write the distance from their differences"
        )
    return METRICS[metric]


def _rows(name: str, label: str, values: Any) -> Any:
    """``values`` as SciPy reads them: a 2-d array of float64."""
    values = as_float64(values)
    if np.ndim(values) != 2:
        raise ValueError(f"{name}: {label} must be a 2-dimensional array")
    return values


SCIPY_DISTANCE: dict[str, Callable] = {
    "cdist": cdist,
    "pdist": pdist,
    "squareform": squareform,
}
