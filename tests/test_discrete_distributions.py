"""scipy.stats's discrete distributions (``poisson``, ``binom``, ``nbinom``, ``bernoulli``,
``geom``) in differentiated code: ``logpmf`` and ``pmf`` give SciPy's values, also at counts
outside the support, non-integer counts, NaN counts and parameters out of range, and their
gradients in the parameters match central differences of the plain function, in reverse and
forward mode, frozen or not, also after the data they read changed.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad

stats = pytest.importorskip("scipy.stats")

COUNTS = np.array([0.0, 1.0, 3.0, 2.0, 5.0, 4.0])
STRANGE_COUNTS = np.array([0.0, 2.5, -1.0, 7.0, np.nan, 3.0, 1.0])

# name: (a function of the parameter vector theta and the counts k, theta where it is valid)
CASES = {
    "poisson.logpmf": (lambda t, k: stats.poisson.logpmf(k, t[0]), [1.7]),
    "poisson.pmf": (lambda t, k: stats.poisson.pmf(k, t[0]), [2.3]),
    "poisson.logpmf loc": (lambda t, k: stats.poisson.logpmf(k + 1, t[0], loc=1), [1.2]),
    "poisson frozen": (lambda t, k: stats.poisson(t[0]).logpmf(k), [0.8]),
    "binom.logpmf": (lambda t, k: stats.binom.logpmf(k, 5, t[0]), [0.35]),
    "binom.pmf": (lambda t, k: stats.binom.pmf(k, 6, t[0]), [0.6]),
    "binom frozen": (lambda t, k: stats.binom(5, p=t[0]).logpmf(k), [0.45]),
    "nbinom.logpmf": (lambda t, k: stats.nbinom.logpmf(k, t[0], t[1]), [2.5, 0.4]),
    "bernoulli.logpmf": (lambda t, k: stats.bernoulli.logpmf(np.minimum(k, 1.0), t[0]), [0.3]),
    "geom.logpmf": (lambda t, k: stats.geom.logpmf(k + 1, t[0]), [0.25]),
}


def total(case):
    fn = CASES[case][0]
    return lambda theta, k: np.sum(fn(theta, k))


@pytest.mark.sampled(4)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("case", CASES)
def test_gradients_in_the_parameters_match_central_differences(case, mode):
    fun, theta = total(case), np.array(CASES[case][1])
    value, grad = srcad.value_and_grad(fun, mode=mode)(theta, COUNTS)
    assert value == pytest.approx(fun(theta, COUNTS), rel=1e-13)
    np.testing.assert_allclose(grad, srcad.numerical_grad(fun, theta, COUNTS), rtol=1e-6)
    shifted = np.roll(COUNTS, 2)  # other data, read again on the second call
    expected = srcad.numerical_grad(fun, theta * 0.9, shifted)
    np.testing.assert_allclose(
        srcad.grad(fun, mode=mode)(theta * 0.9, shifted), expected, rtol=1e-6
    )


@pytest.mark.parametrize("case", CASES)
def test_values_are_scipys_outside_the_support_and_at_nan(case):
    fn, theta = CASES[case][0], np.array(CASES[case][1])
    values, pullback = srcad.vjp(fn, theta, STRANGE_COUNTS)
    np.testing.assert_array_equal(np.isnan(values), np.isnan(fn(theta, STRANGE_COUNTS)))
    np.testing.assert_allclose(values, fn(theta, STRANGE_COUNTS), rtol=1e-13)
    # the counts outside the support give no gradient, and no NaN
    weights = np.where(np.isfinite(values), 1.0, 0.0)
    dtheta, dk = pullback(weights)
    assert np.all(np.isfinite(dtheta)) and np.all(dk == 0.0)


def test_parameters_out_of_their_range_give_scipys_nan():
    def log_likelihood(p, k):
        return stats.binom.logpmf(k, 4, p)

    for p in (1.5, -0.2):
        got = srcad.vjp(log_likelihood, np.full(3, p), np.array([0.0, 1.0, 2.0]))[0]
        expected = log_likelihood(np.full(3, p), np.array([0.0, 1.0, 2.0]))
        assert np.all(np.isnan(got)) and np.all(np.isnan(expected))


RATES = {"scale": 2.0}


def poisson_regression(w, X, y):
    rate = np.exp(X @ w) * RATES["scale"]
    return -np.mean(stats.poisson.logpmf(y, rate))


def test_a_poisson_regression_reads_its_setting_again_on_each_call():
    rng = np.random.default_rng(5)
    X, w = rng.normal(size=(20, 3)), rng.normal(size=3) * 0.3
    y = rng.poisson(2.0, size=20).astype(float)
    grad = srcad.grad(poisson_regression)
    for scale in (2.0, 0.5):
        RATES["scale"] = scale
        expected = srcad.numerical_grad(poisson_regression, w, X, y)
        np.testing.assert_allclose(grad(w, X, y), expected, rtol=1e-6)
    RATES["scale"] = 2.0


def test_an_integer_count_array_is_data():
    k = np.array([0, 2, 1, 4])

    def log_likelihood(mu):
        return np.sum(stats.poisson.logpmf(k, mu))

    mu = np.array([1.0, 2.0, 0.5, 3.0])
    np.testing.assert_allclose(srcad.grad(log_likelihood)(mu), k / mu - 1.0, rtol=1e-13)
