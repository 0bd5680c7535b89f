"""scipy.stats' descriptive statistics (zscore, sem, skew, kurtosis), lowered as the NumPy
calls they are made of, and scipy.special's loggamma and softplus: SciPy's values to
rounding, gradients against central differences, again after the global the function reads
changed (they had no derivative rule, found by a probe)."""

from __future__ import annotations

import numpy as np
import pytest
from library_values import agrees_with_the_library

import srcad

stats = pytest.importorskip("scipy.stats")

SCALE = {"value": 1.0}
X = np.random.default_rng(0).normal(size=12)


def standardized(x):
    m = x.reshape(3, 4) * SCALE["value"]
    total = np.sum(stats.zscore(m, axis=1) ** 3) + np.sum(stats.zscore(x, ddof=1)[:3])
    return total + np.sum(stats.sem(m)) + stats.sem(x, axis=None, ddof=0)


def shaped(x):
    m = x.reshape(3, 4) * SCALE["value"]
    total = np.sum(stats.skew(m, axis=1)) + np.sum(stats.skew(m, bias=False))
    total += stats.kurtosis(m, axis=None) + np.sum(stats.kurtosis(m, fisher=False, bias=False))
    return total + np.sum(stats.kurtosis(m, axis=1, bias=False) * stats.skew(m, axis=1))


@pytest.mark.slow
@pytest.mark.parametrize("function", [standardized, shaped])
def test_descriptive_statistics_are_scipys_and_read_the_world_on_every_call(function):
    _agrees_before_and_after_the_scale_changed(function)


def _agrees_before_and_after_the_scale_changed(function):
    try:
        for scale in (1.0, -2.5):
            SCALE["value"] = scale
            agrees_with_the_library(function, X)
    finally:
        SCALE["value"] = 1.0


def test_a_nan_policy_is_refused_at_the_line():
    def omitting(x):
        return np.sum(stats.zscore(x, nan_policy="omit"))

    with pytest.raises(srcad.UnsupportedSyntax):
        srcad.grad(omitting)(X)


special = pytest.importorskip("scipy.special")


def log_gamma_and_softplus(x):
    return np.sum(special.loggamma(x**2 + 0.5) * special.softplus(SCALE["value"] * x))


def test_loggamma_and_softplus_read_the_world_on_every_call():
    """scipy.special.loggamma (real) and softplus had no rule (found by a probe)."""
    _agrees_before_and_after_the_scale_changed(log_gamma_and_softplus)
