"""NumPy forms that need no rule of their own: shape queries (ints fixed when compiling),
a method of a constant array called with traced values (``C.dot(x)``), and ``np.r_`` /
``np.c_`` joining traced arrays; each against central differences in both modes, and again
after a global changed."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

RNG = np.random.default_rng(5)
X = RNG.normal(size=6)
SCALE = {"value": 0.5}
C = np.full((4, 6), 0.5)


def shape_queries(x):
    half = np.shape(x)[0] // 2
    return np.sum(x[:half] ** 2) * np.size(x) + np.ndim(x) * SCALE["value"] * np.sum(x)


def constant_method(x):
    return np.sum(np.tanh(C.dot(x))) + SCALE["value"] * np.sum(x**2)


def r_join(x):
    return np.sum(np.r_[x, x[:2] ** 2, 0:3] * np.r_[x[::-1], np.ones(5)]) * SCALE["value"]


def c_join(x):
    pair = np.c_[x, np.sin(x)]
    return np.sum(pair @ np.array([1.0, -2.0])) * SCALE["value"]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fun", [shape_queries, constant_method, r_join, c_join])
def test_against_central_differences_and_after_a_global_changed(fun, mode):
    gradient = srcad.grad(fun, mode=mode)
    np.testing.assert_allclose(gradient(X), srcad.numerical_grad(fun, X), rtol=1e-6, atol=1e-9)
    SCALE["value"] = 2.5
    try:
        np.testing.assert_allclose(gradient(X), srcad.numerical_grad(fun, X), rtol=1e-6, atol=1e-9)
    finally:
        SCALE["value"] = 0.5
