"""Acceptance tests: textbook gradients through the public API only.

Every expected value here is computed independently of srcad, by hand or from a closed-form
derivative, so each test fails if the generated gradient is wrong.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import srcad


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax_rows(a):
    """Row-wise softmax, written independently of the functions under test."""
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- a tiny expression graph -------------------------------------------------------------------


def test_three_input_product_value_and_grad():
    def L(w1, w2, w3):
        return w3 * (w1 + w2)

    value, grads = srcad.value_and_grad(L, argnums=(0, 1, 2))(-2.0, 5.0, -4.0)

    assert value == pytest.approx(-12.0)
    assert isinstance(grads, tuple) and len(grads) == 3
    # dL/dw1 = dL/dw2 = w3, dL/dw3 = w1 + w2
    assert grads == pytest.approx((-4.0, -4.0, 3.0))
    for g in grads:
        assert isinstance(g, float) and not isinstance(g, np.ndarray), type(g)


def test_sum_times_shifted():
    def e(a, b):
        return (a + b) * (b + 1)

    de_da, de_db = srcad.grad(e, argnums=(0, 1))(2.0, 1.0)

    # de/da = b + 1, de/db = (b + 1) + (a + b)
    assert de_da == pytest.approx(2.0)
    assert de_db == pytest.approx(5.0)


# --- a sigmoid neuron --------------------------------------------------------------------------

# z = w0*x0 + w1*x1 + w2 = 2*(-1) + (-3)*(-2) + (-3) = 1; f = sigmoid(1); df/dz = f * (1 - f).
NEURON_VALUE = 1 / (1 + math.exp(-1.0))
NEURON_DZ = NEURON_VALUE * (1 - NEURON_VALUE)


def test_sigmoid_neuron_scalar_arguments():
    def f(w0, w1, w2, x0, x1):
        return 1 / (1 + np.exp(-(w0 * x0 + w1 * x1 + w2)))

    value, grads = srcad.value_and_grad(f, argnums=(0, 1, 2, 3, 4))(2.0, -3.0, -3.0, -1.0, -2.0)

    assert value == pytest.approx(0.731, abs=1e-3)
    assert grads[:3] == pytest.approx((-0.197, -0.393, 0.197), abs=1e-3)
    assert grads[3:] == pytest.approx((0.393, -0.590), abs=1e-3)
    # and exactly: df/dw = dz * (x0, x1, 1), df/dx = dz * (w0, w1)
    expected = NEURON_DZ * np.array([-1.0, -2.0, 1.0, 2.0, -3.0])
    np.testing.assert_allclose(grads, expected, rtol=1e-10)


def test_sigmoid_neuron_array_arguments():
    def f(w, x):
        return 1 / (1 + np.exp(-(w[0] * x[0] + w[1] * x[1] + w[2])))

    w = np.array([2.0, -3.0, -3.0])
    x = np.array([-1.0, -2.0])
    value, (dw, dx) = srcad.value_and_grad(f, argnums=(0, 1))(w, x)

    assert value == pytest.approx(0.731, abs=1e-3)
    assert dw.shape == (3,) and dx.shape == (2,)
    np.testing.assert_allclose(dw, [-0.197, -0.393, 0.197], atol=1e-3)
    np.testing.assert_allclose(dx, [0.393, -0.590], atol=1e-3)


# --- chain rule through nested elementwise functions ---------------------------------------------

CHAIN_POINTS = [-1.0, -0.3, 0.0, 0.4, 1.1]


def chain_derivative(x):
    # d/dx sin(5 exp(x)) = cos(5 exp(x)) * 5 exp(x)
    return 5 * np.cos(5 * np.exp(x)) * np.exp(x)


@pytest.mark.parametrize("x", CHAIN_POINTS)
def test_chain_rule_numpy(x):
    def g(x):
        return np.sin(5 * np.exp(x))

    assert srcad.grad(g)(x) == pytest.approx(chain_derivative(x), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("x", CHAIN_POINTS)
def test_chain_rule_math_module(x):
    def g(x):
        return math.sin(5 * math.exp(x))

    dg = srcad.grad(g)(x)
    assert isinstance(dg, float)
    assert dg == pytest.approx(chain_derivative(x), rel=1e-10, abs=1e-12)


def test_chain_rule_elementwise_on_array():
    def g(x):
        return np.sum(np.sin(5 * np.exp(x)))

    x = np.array(CHAIN_POINTS)
    dx = srcad.grad(g)(x)
    assert dx.shape == x.shape and dx.dtype == np.float64
    np.testing.assert_allclose(dx, chain_derivative(x), rtol=1e-10, atol=1e-12)


# --- one hidden layer with a user helper -------------------------------------------------------


def hidden_layer_loss(W, v, x, y, lam):
    return (v @ sigmoid(W @ x) - y) ** 2 + lam * (np.sum(W**2) + np.sum(v**2))


def test_one_hidden_layer():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 3))
    v = rng.standard_normal(4)
    x = rng.standard_normal(3)
    y = 0.3
    lam = 0.1

    dW, dv = srcad.grad(hidden_layer_loss, argnums=(0, 1))(W, v, x, y, lam)

    s = h = 1 / (1 + np.exp(-(W @ x)))
    g = 2 * (v @ h - y)
    np.testing.assert_allclose(dv, g * h + 2 * lam * v, rtol=1e-10)
    np.testing.assert_allclose(dW, np.outer(g * v * s * (1 - s), x) + 2 * lam * W, rtol=1e-10)
    assert dW.shape == W.shape and dv.shape == v.shape


# --- softmax cross-entropy -------------------------------------------------------------------


def softmax_cross_entropy(a, y):
    e = np.exp(a - np.max(a))
    p = e / np.sum(e)
    return -np.sum(y * np.log(p))


def batched_softmax_cross_entropy(a, y):
    e = np.exp(a - np.max(a, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    return np.mean(-np.sum(y * np.log(p), axis=1))


def test_softmax_cross_entropy():
    a = np.random.default_rng(1).standard_normal(6)
    y = np.eye(6)[2]

    value, da = srcad.value_and_grad(softmax_cross_entropy)(a, y)

    assert value == pytest.approx(-np.log(softmax_rows(a)[2]), rel=1e-12)
    np.testing.assert_allclose(da, softmax_rows(a) - y, rtol=1e-10, atol=1e-14)


def test_batched_softmax_cross_entropy():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((5, 4))
    y = np.eye(4)[rng.integers(0, 4, size=5)]

    value, da = srcad.value_and_grad(batched_softmax_cross_entropy)(a, y)

    p = softmax_rows(a)
    assert value == pytest.approx(-np.mean(np.log(p[y == 1])), rel=1e-12)
    # d/da mean_rows(-sum(y log softmax(a))) = (softmax(a) - y) / rows
    np.testing.assert_allclose(da, (p - y) / 5, rtol=1e-10, atol=1e-14)


# --- dtypes --------------------------------------------------------------------------------


def test_float32_in_float32_out():
    def f(W, x):
        return np.sum(np.tanh(W @ x))

    rng = np.random.default_rng(3)
    W = rng.standard_normal((4, 3)).astype(np.float32)
    x = rng.standard_normal(3).astype(np.float32)

    dW, dx = srcad.grad(f, argnums=(0, 1))(W, x)

    assert dW.dtype == np.float32 and dx.dtype == np.float32
    W64, x64 = W.astype(np.float64), x.astype(np.float64)
    dz = 1 - np.tanh(W64 @ x64) ** 2
    np.testing.assert_allclose(dW, np.outer(dz, x64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, W64.T @ dz, rtol=1e-5, atol=1e-6)


def test_float32_survives_float_constants_and_mean():
    # Python float constants (and the seed cotangent) must not promote float32 to float64.
    def f(W, x):
        return 0.5 * np.mean(np.tanh(W @ x) ** 2)

    rng = np.random.default_rng(4)
    W = rng.standard_normal((4, 3)).astype(np.float32)
    x = rng.standard_normal(3).astype(np.float32)

    dW, dx = srcad.grad(f, argnums=(0, 1))(W, x)

    assert dW.dtype == np.float32 and dx.dtype == np.float32
    W64, x64 = W.astype(np.float64), x.astype(np.float64)
    t = np.tanh(W64 @ x64)
    dz = t * (1 - t**2) / 4
    np.testing.assert_allclose(dW, np.outer(dz, x64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, W64.T @ dz, rtol=1e-5, atol=1e-6)


# --- gradient checking -----------------------------------------------------------------------


def test_numerical_grad_matches_formula():
    def f(x):
        return np.sum(np.sin(x) * x)

    x = np.linspace(-2.0, 2.0, 7)
    numeric = srcad.numerical_grad(f, x)
    np.testing.assert_allclose(numeric, np.cos(x) * x + np.sin(x), rtol=1e-6, atol=1e-8)


def test_check_grad_passes_on_textbook_functions():
    rng = np.random.default_rng(5)
    W, v, x = rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal(3)
    a, y = rng.standard_normal((5, 4)), np.eye(4)[rng.integers(0, 4, size=5)]

    assert srcad.check_grad(hidden_layer_loss, W, v, x, 0.3, 0.1, argnums=(0, 1)) is None
    assert srcad.check_grad(batched_softmax_cross_entropy, a, y) is None
    assert srcad.check_grad(softmax_cross_entropy, a[0], y[0]) is None


def test_check_grad_raises_when_finite_differences_disagree():
    # For sin(1e7 x), central differences have relative error about 1e14 * eps^2 / 6: far more
    # than rtol for the default eps=1e-6 (or any eps above 1e-9), so the two gradients disagree.
    def f(x):
        return np.sum(np.sin(1e7 * x))

    x = np.array([0.1, 0.2, 0.3])
    with pytest.raises(srcad.GradientMismatch):
        srcad.check_grad(f, x)
