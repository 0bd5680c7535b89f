"""scipy.stats's discrete distributions lowered as the SciPy calls their ``logpmf`` is made
of: ``poisson``, ``binom``, ``nbinom``, ``bernoulli`` and ``geom``, the methods ``logpmf``
and ``pmf`` (``np.exp`` of it), called as users call them (``stats.poisson.logpmf(k, mu)``,
``stats.binom(n, p).pmf(k)``).

Before:  stats.poisson.logpmf(k, lam)
After:   counted = np.floor(k)
         inside = (k >= 0) & (counted == k)
         np.where(inside, xlogy(counted, lam) - gammaln(counted + 1) - lam, -np.inf)

The values are SciPy's: its ``_logpmf`` formula where ``k - loc`` is a whole number inside
the support, ``-inf`` outside it, NaN where a parameter is outside its range (``p > 1``) or
``k`` is NaN. The formula reads ``np.floor(k)``: a count is a step function of ``k``, whose
slope is 0, as SciPy's rounding says; the parameters (``mu``, ``p``, also ``n`` of
``nbinom``) get their derivatives. Outside the support and the parameters' ranges the
formula is evaluated at a point inside them (no warnings, no NaN through ``np.where``).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from srcad.lower.callees import as_float64

METHODS = ("logpmf", "pmf")


@dataclass(frozen=True)
class Family:
    """One distribution: its shape parameters by SciPy's names, its support in ``k``, where
    its parameters are valid, a valid stand-in for each, and the log mass at a count ``k``
    (SciPy's ``_logpmf``)."""

    shapes: tuple[str, ...]
    lowest: float
    highest: Callable[[tuple], Any]  # of the shape parameters
    valid: Callable[[tuple], Any]
    stand_ins: tuple[float, ...]
    log_mass: Callable[..., Any]  # (special, k, *shapes)


def _is_whole(n: Any) -> Any:
    return np.floor(n) == n


FAMILIES: dict[str, Family] = {
    "poisson": Family(
        ("mu",),
        0.0,
        lambda shapes: np.inf,
        lambda shapes: shapes[0] >= 0,
        (1.0,),
        lambda sp, k, mu: sp.xlogy(k, mu) - sp.gammaln(k + 1) - mu,
    ),
    "binom": Family(
        ("n", "p"),
        0.0,
        lambda shapes: shapes[0],
        lambda shapes: (shapes[0] >= 0)
        & _is_whole(shapes[0])
        & (shapes[1] >= 0)
        & (shapes[1] <= 1),
        (1.0, 0.5),
        lambda sp, k, n, p: sp.gammaln(n + 1)
        - (sp.gammaln(k + 1) + sp.gammaln(n - k + 1))
        + sp.xlogy(k, p)
        + sp.xlog1py(n - k, -p),
    ),
    "nbinom": Family(
        ("n", "p"),
        0.0,
        lambda shapes: np.inf,
        lambda shapes: (shapes[0] > 0) & (shapes[1] >= 0) & (shapes[1] <= 1),
        (1.0, 0.5),
        lambda sp, k, n, p: sp.gammaln(n + k)
        - sp.gammaln(k + 1)
        - sp.gammaln(n)
        + n * np.log(p)
        + sp.xlog1py(k, -p),
    ),
    "bernoulli": Family(
        ("p",),
        0.0,
        lambda shapes: 1.0,
        lambda shapes: (shapes[0] >= 0) & (shapes[0] <= 1),
        (0.5,),
        lambda sp, k, p: sp.xlogy(k, p) + sp.xlog1py(1 - k, -p),
    ),
    "geom": Family(
        ("p",),
        1.0,
        lambda shapes: np.inf,
        lambda shapes: (shapes[0] > 0) & (shapes[0] <= 1),
        (0.5,),
        lambda sp, k, p: sp.xlog1py(k - 1, -p) + np.log(p),
    ),
}


def logpmf(name: str, k: Any, *args: Any, **kwds: Any) -> Any:
    """``scipy.stats.<name>.logpmf(k, *shapes, loc=0)``: see the module docstring."""
    family = FAMILIES[name]
    given = _parameters(name, family, args, kwds)
    shapes: tuple[Any, ...] = tuple(as_float64(given[s]) for s in family.shapes)
    loc, k = given.get("loc", 0), as_float64(k)
    if not (isinstance(loc, (int, float)) and loc == 0):
        k = k - as_float64(loc)
    counted = np.floor(k)
    valid = family.valid(shapes)
    inside = (k >= family.lowest) & (k <= family.highest(shapes)) & (counted == k) & valid
    safe_k = np.where(inside, counted, family.lowest)
    safe_shapes = tuple(
        np.where(valid, shape, stand_in)
        for shape, stand_in in zip(shapes, family.stand_ins, strict=True)
    )
    if name == "binom":  # a count, as k: a step function of n; and n - k must be one
        safe_shapes = (np.where(inside, np.floor(safe_shapes[0]), 0.0), safe_shapes[1])
    special = sys.modules["scipy.special"]  # imported with scipy.stats, which the user's code has
    mass = np.where(inside, family.log_mass(special, safe_k, *safe_shapes), -np.inf)
    return np.where(valid & ~np.isnan(k), mass, np.nan)


def pmf(name: str, k: Any, *args: Any, **kwds: Any) -> Any:
    """``scipy.stats.<name>.pmf``: ``np.exp`` of its ``logpmf``."""
    return np.exp(logpmf(name, k, *args, **kwds))


def _parameters(name: str, family: Family, args: tuple, kwds: dict) -> dict[str, Any]:
    """The parameters by name, as SciPy takes them: the shapes, then ``loc``."""
    names = (*family.shapes, "loc")
    if len(args) > len(names):
        raise TypeError(f"scipy.stats.{name} takes at most {len(names)} parameters after k")
    given = dict(zip(names, args, strict=False))
    for key, value in kwds.items():
        if key not in names or key in given:
            raise TypeError(f"scipy.stats.{name}: unexpected or repeated argument {key!r}")
        given[key] = value
    missing = [shape for shape in family.shapes if shape not in given]
    if missing:
        raise TypeError(f"scipy.stats.{name} needs the parameter {missing[0]!r}")
    return given


def discrete_method(function: Any) -> Callable | None:
    """The lowering of ``stats.poisson.logpmf`` and the others, if ``function`` is one."""
    stats = sys.modules.get("scipy.stats")
    owner = getattr(function, "__self__", None)
    method = getattr(function, "__name__", "")
    if stats is None or owner is None or method not in METHODS:
        return None
    for name in FAMILIES:
        if owner is getattr(stats, name, None):
            return functools.partial(logpmf if method == "logpmf" else pmf, name)
    return None
