"""Elementwise chains on large fresh arrays written in place (``srcad.codegen.chains``).

Checked: the generated statements of a wide layer (the product assigned, then ``+=`` and
``np.tanh(h, out=h)``), gradients against central differences also after a global changed,
arguments and their views left untouched, a further derivative through the chained code
(which reads its plain spelling), and the numba and array-API variants.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad

RNG = np.random.default_rng(11)
X = RNG.normal(size=(512, 24))  # h below is 512 x 32 float64: 128 KB, above the threshold
SETTINGS = {"scale": 1.0}


def layer(w, b):
    h = np.tanh(X @ w + b)
    return np.sum(h * (1.0 - h**2)) * SETTINGS["scale"]


def transposed(x):
    y = np.tanh(x.T + 1.0)
    return np.sum(y**2)


def _code(transformed) -> list[str]:
    body = srcad.source(transformed).split("_unchecked(", 1)[1]
    return [line.split("#")[0].strip() for line in body.splitlines()]


def _args():
    return 0.2 * RNG.normal(size=(24, 32)), 0.1 * RNG.normal(size=32)


@pytest.mark.slow  # full central differences of a wide layer: seconds
def test_a_wide_layer_is_computed_in_place_and_right():
    w, b = _args()
    gradient = srcad.grad(layer, argnums=(0, 1))
    got = gradient(w, b)
    code = _code(gradient)
    start = code.index("h = X @ w")
    assert code[start + 1 : start + 3] == ["h += b", "np.tanh(h, out=h)"]
    expected = srcad.numerical_grad(layer, w, b, argnums=(0, 1))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    SETTINGS["scale"] = 3.0
    try:
        again = gradient(w, b)
        np.testing.assert_allclose(again[0], 3.0 * got[0], rtol=1e-12)
        now = srcad.numerical_grad(layer, w, b, argnums=(0, 1))  # the plain function now
        for g, e in zip(again, now, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
    finally:
        SETTINGS["scale"] = 1.0


def test_arguments_and_their_views_are_not_written():
    x = RNG.normal(size=(32, 512))
    kept = x.copy()
    gradient = srcad.value_and_grad(transposed)
    value, got = gradient(x)
    np.testing.assert_array_equal(x, kept)
    assert "np.tanh(y, out=y)" in _code(gradient)
    assert value == pytest.approx(transposed(x), rel=1e-12)
    np.testing.assert_allclose(got, 2 * np.tanh(x + 1.0) * (1 - np.tanh(x + 1.0) ** 2), rtol=1e-10)


def test_a_further_derivative_reads_the_plain_spelling():
    w, b = _args()
    direction = RNG.normal(size=b.shape)
    hvp = srcad.hvp(lambda bias: layer(w, bias), (b,), (direction,))
    step = 1e-5
    first = srcad.grad(layer, argnums=1)
    expected = (first(w, b + step * direction) - first(w, b - step * direction)) / (2 * step)
    np.testing.assert_allclose(hvp, expected, rtol=1e-5, atol=1e-8)


@pytest.mark.slow
def test_the_numba_variant_agrees():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    w, b = _args()
    expected = srcad.grad(layer, argnums=(0, 1))(w, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        got = srcad.grad(layer, argnums=(0, 1), backend="numba")(w, b)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)


def test_the_array_api_variant_agrees():
    xp = pytest.importorskip("array_api_strict")
    w, b = _args()
    expected = srcad.grad(layer, argnums=(0, 1))(w, b)
    got = srcad.grad(layer, argnums=(0, 1))(xp.asarray(w), xp.asarray(b))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-12, atol=1e-14)
