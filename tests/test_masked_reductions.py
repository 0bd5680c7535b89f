"""``np.sum`` and ``np.mean`` with ``where=`` (a mask computed from data, a constant mask, the
array methods, ``initial=``), computed as the sum of ``np.where(mask, x, 0)`` (and over the
mask's count): values equal to NumPy's up to the order of the additions, gradients against
central differences in reverse and forward mode, also after the global threshold the function
reads changed; and ``astype`` of a 0-d result, whose derivative rule crashed."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

X = np.array([[0.3, -0.7, 1.2, 0.1], [0.5, 2.0, -1.1, -0.2], [1.4, -0.3, 0.8, 0.6]])
SETTINGS = {"threshold": 0.0}
CONSTANT_MASK = np.array([[True, False, True, True], [True, True, False, False]] + [[True] * 4])


def masked_sum(x):
    return np.sum(x**2, where=x > SETTINGS["threshold"])


def masked_sums_along_rows(x):
    return np.sum(np.sum(np.sin(x), axis=1, where=x > SETTINGS["threshold"]) ** 2)


def masked_mean(x):
    return np.mean(x**3, where=x > SETTINGS["threshold"])


def masked_means_kept(x):
    means = np.mean(np.tanh(x), axis=0, keepdims=True, where=x < SETTINGS["threshold"] + 1.0)
    return np.sum(means**2)


def methods_and_initial(x):
    kept = (x**2).sum(where=x > SETTINGS["threshold"], initial=0.5)
    return kept**2 + x.mean(where=CONSTANT_MASK)


def initial_values(x):
    total = np.sum(x, axis=0, initial=SETTINGS["threshold"] + 1.5) @ np.arange(4.0)
    peaks = np.max(x, axis=1, initial=0.5) @ np.arange(3.0)
    lows = np.min(x, initial=-1.0, where=x > SETTINGS["threshold"])
    return total + peaks + lows + np.prod(x[0], initial=2.0) + x.max(initial=-2.0)


def zero_d_astype(x):
    return (np.sum(x) / 2).astype(np.float64) * 3.0 + np.mean(x**2).astype(np.float64)


FUNCTIONS = [
    masked_sum,
    masked_sums_along_rows,
    masked_mean,
    masked_means_kept,
    methods_and_initial,
    initial_values,
    zero_d_astype,
]


def _check(fun, mode):
    value = srcad.value_and_grad(fun)(X)[0]
    assert value == pytest.approx(float(fun(X)), rel=1e-13)
    gradient = srcad.grad(fun, mode=mode)(X)
    np.testing.assert_allclose(gradient, srcad.numerical_grad(fun, X), rtol=1e-6, atol=1e-8)


@pytest.mark.sampled(2)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fun", FUNCTIONS, ids=lambda f: f.__name__)
def test_against_central_differences_also_after_the_threshold_changed(fun, mode):
    _check(fun, mode)
    SETTINGS["threshold"] = 0.45  # other elements masked now
    try:
        _check(fun, mode)
    finally:
        SETTINGS["threshold"] = 0.0


def test_float32_keeps_its_dtype():
    x32 = X.astype(np.float32)
    for fun in (masked_sum, masked_mean, masked_means_kept):
        value, gradient = srcad.value_and_grad(fun)(x32)
        assert value == pytest.approx(float(fun(x32)), rel=1e-6)
        assert gradient.dtype == np.float32


def test_where_with_out_is_refused_at_the_line():
    def into_out(x):
        total = np.zeros(())
        return np.sum(x, where=x > 0, out=total)

    with pytest.raises(srcad.SrcadError, match=r"test_masked_reductions.py:\d+: .*out="):
        srcad.grad(into_out)(X)
