"""srcad.fixed_point: gradients by the implicit function theorem, checked against central
differences of the plain solve (the fixed point as a function of its parameters), in a loss
that uses it, after a global the step reads changed, and for a vector fixed point."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

SETTINGS = {"relax": 0.5}


def newton_step(a, x):
    newton = 0.5 * (x + a / x)
    return x + SETTINGS["relax"] * (newton - x)


def sqrt_loss(a):
    root = srcad.fixed_point(newton_step, a, 1.0, tol=1e-13)
    return root * 3.0 + root**2


def contraction(theta, x):
    return np.tanh(theta @ x + 0.5)


THETA = np.array([[0.3, -0.2], [0.1, 0.4]])


def equilibrium_loss(theta):
    x = srcad.fixed_point(contraction, theta, np.zeros(2), tol=1e-13)
    return np.sum(x**2) + x[0]


def test_the_fixed_point_is_a_plain_function_outside():
    assert srcad.fixed_point(newton_step, 2.0, 1.0) == pytest.approx(np.sqrt(2.0))
    with pytest.raises(srcad.NoDerivativeRule, match="did not converge"):
        srcad.fixed_point(lambda a, x: x + 1.0, 0.0, 0.0, max_iter=5)


def test_the_gradient_of_a_scalar_fixed_point_and_after_the_world_changed():
    for relax in (0.5, 0.8):
        SETTINGS["relax"] = relax
        try:
            gradient = srcad.grad(sqrt_loss)(2.0)
            assert gradient == pytest.approx(srcad.numerical_grad(sqrt_loss, 2.0), rel=1e-6)
            # d/da of 3 sqrt(a) + a
            assert gradient == pytest.approx(1.5 / np.sqrt(2.0) + 1.0, rel=1e-8)
        finally:
            SETTINGS["relax"] = 0.5


def test_the_gradient_of_a_vector_equilibrium():
    transformed = srcad.grad(equilibrium_loss)
    gradient = transformed(THETA)
    np.testing.assert_allclose(
        gradient, srcad.numerical_grad(equilibrium_loss, THETA), rtol=1e-6, atol=1e-9
    )
    assert "fixed_point_contraction_adjoint" in srcad.source(transformed)


LAYER = {"scale": 0.3}


def equilibrium_step(params, x):
    W, b = params["W"], params["b"]
    return np.tanh(LAYER["scale"] * (W @ x) + b)


def dict_equilibrium_loss(params):
    """A deep-equilibrium layer whose parameters are a dict: ``a`` is a tree of arrays."""
    return np.sum(srcad.fixed_point(equilibrium_step, params, np.zeros(3)) ** 2)


def pair_step(pair, x):
    W, b = pair
    return np.tanh(0.3 * (W @ x) + b)


def pair_loss(W, b):
    return np.sum(srcad.fixed_point(pair_step, (W, b), np.zeros(3)) ** 2)


def test_the_parameters_a_may_be_a_tuple_or_a_dict_of_arrays():
    """``a = (W, b)`` was baked into the generated code as a constant holding traced values
    (a raw TraceError, and zero gradients)."""
    rng = np.random.default_rng(4)
    params = {"W": rng.normal(size=(3, 3)), "b": np.array([0.3, -0.2, 0.5])}
    gradient = srcad.grad(dict_equilibrium_loss)
    for scale in (0.3, 0.6):
        LAYER["scale"] = scale
        expected = srcad.numerical_grad(dict_equilibrium_loss, params)
        got = gradient(params)
        for key in params:
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-8)
    LAYER["scale"] = 0.3
    got = srcad.grad(pair_loss, argnums=(0, 1))(params["W"], params["b"])
    expected = srcad.numerical_grad(pair_loss, params["W"], params["b"], argnums=(0, 1))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-8)
