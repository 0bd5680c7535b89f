"""``scipy.spatial.distance``'s ``cdist``, ``pdist`` and ``squareform`` in user code, lowered
as the NumPy calls they are made of (``srcad/lower/distances.py``): against central
differences in reverse and forward mode, with coinciding rows, float32 inputs, and again
after the global metric the function reads changed; the metrics and options srcad does not
lower are refused with what to write."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

distance = pytest.importorskip("scipy.spatial.distance")

RNG = np.random.default_rng(11)
A = RNG.normal(size=(4, 3))
B = RNG.normal(size=(5, 3))
SETTINGS = {"metric": "euclidean", "p": 3}


def rbf_cross(a, b):
    return np.sum(np.exp(-distance.cdist(a, b) ** 2) * np.arange(5.0))


def each_metric(a, b):
    total = 0.0
    for k, metric in enumerate(("euclidean", "sqeuclidean", "cityblock", "chebyshev")):
        total = total + (k + 1) * np.sum(np.sin(distance.cdist(a, b, metric)))
    return total + np.sum(distance.cdist(a, b, "minkowski", p=3) ** 2)


def condensed(a):
    d = distance.pdist(a, SETTINGS["metric"])
    return np.sum(np.tanh(d) * np.arange(1.0, len(d) + 1.0))


def square(a):
    matrix = distance.squareform(distance.pdist(a, "minkowski", p=SETTINGS["p"]))
    return np.sum(np.cos(matrix) * np.arange(len(a)))


def with_itself(a):
    return np.sum(distance.cdist(a, a)) + np.sum(distance.cdist(a, a, "minkowski", p=3))


def _check(fun, args, mode="reverse", rtol=1e-6):
    gradient = srcad.grad(fun, mode=mode)(*args)
    expected = srcad.numerical_grad(fun, *args)
    np.testing.assert_allclose(gradient, expected, rtol=rtol, atol=1e-8)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fun", [rbf_cross, each_metric])
def test_cdist_against_central_differences(fun, mode):
    _check(fun, (A, B), mode)
    assert srcad.value_and_grad(fun)(A, B)[0] == pytest.approx(fun(A, B), rel=1e-13)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_pdist_and_squareform_follow_the_global_metric(mode):
    for metric, p in (("euclidean", 3), ("cityblock", 1.5), ("chebyshev", 4)):
        SETTINGS["metric"], SETTINGS["p"] = metric, p  # the world changed between calls
        try:
            _check(condensed, (A,), mode)
            _check(square, (A,), mode)
        finally:
            SETTINGS["metric"], SETTINGS["p"] = "euclidean", 3


def test_coinciding_rows_give_the_zero_subgradient_not_nan():
    """The distance of a row to itself is 0 whatever the row: its derivative is 0, where
    the square root's slope at 0 alone would give NaN."""
    gradient = srcad.grad(with_itself)(A)
    assert np.all(np.isfinite(gradient))
    np.testing.assert_allclose(gradient, srcad.numerical_grad(with_itself, A), rtol=1e-6)


def test_the_distances_are_float64_and_the_gradient_has_the_inputs_dtype():
    a32, b32 = A.astype(np.float32), B.astype(np.float32)
    value, gradient = srcad.value_and_grad(rbf_cross)(a32, b32)
    assert value == pytest.approx(rbf_cross(a32, b32), rel=1e-12)  # computed in float64
    assert gradient.dtype == np.float32
    np.testing.assert_allclose(gradient, srcad.grad(rbf_cross)(A, B), rtol=1e-5, atol=1e-6)


def weighted(a, b):
    return np.sum(distance.cdist(a, b, "euclidean", w=np.ones(3)))


def correlation(a, b):
    return np.sum(distance.cdist(a, b, "correlation"))


def callable_metric(a, b):
    return np.sum(distance.cdist(a, b, lambda u, v: np.sum((u - v) ** 2)))


def matrix_to_vector(a):
    return np.sum(distance.squareform(distance.cdist(a, a)))


@pytest.mark.parametrize(
    "fun, message",
    [
        (weighted, "w is not supported for 'euclidean'"),
        (correlation, "metric='correlation' is not supported"),
        (callable_metric, "a metric function is not supported"),
        (matrix_to_vector, "np.triu_indices"),
    ],
)
def test_what_srcad_does_not_lower_is_refused_with_what_to_write(fun, message):
    args = (A, B) if fun is not matrix_to_vector else (A,)
    with pytest.raises(srcad.SrcadError, match=message) as raised:
        srcad.grad(fun)(*args)
    assert "test_scipy_distance.py" in str(raised.value)  # the user's file and line
