"""Gradients through scipy.integrate.odeint by the adjoint method.

Every gradient is compared with central differences of the plain function solved with tight
tolerances: with respect to a matrix argument of the dynamics, the initial state, the times,
a neural network's parameters passed as a list of (W, b) tuples (autograd's ode_net), and
again after a global the dynamics read changed. Forward mode and dynamics srcad cannot call
are refused with a clear message.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad

scipy_integrate = pytest.importorskip("scipy.integrate")
odeint = scipy_integrate.odeint
TIGHT = {"rtol": 1e-10, "atol": 1e-10}
DAMPING = {"value": 0.1}


def cubic(y, t, A):
    return np.dot(y**3, A) - DAMPING["value"] * y


def trajectory_loss(A, y0, t):
    ys = odeint(cubic, y0, t, args=(A,), rtol=1e-10, atol=1e-10)
    return np.sum(ys**2) + np.sum(ys[-1] * np.arange(1.0, 3.0))


def network(y, t, params):
    for W, b in params:
        out = np.dot(y, W) + b
        y = np.tanh(out)
    return out


def network_loss(params, y0, t):
    predicted = odeint(network, y0, t, tuple((params,)), rtol=1e-10, atol=1e-10)
    return np.mean(np.abs(predicted - 0.3))


A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
Y0 = np.array([1.0, 0.2])
T = np.linspace(0.0, 1.0, 6)


def _close(got, expected):
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)


def test_the_gradient_with_respect_to_the_dynamics_the_start_and_the_times():
    argnums = (0, 1, 2)
    gradient = srcad.grad(trajectory_loss, argnums=argnums)
    expected = srcad.numerical_grad(trajectory_loss, A, Y0, T, argnums=argnums, eps=1e-5)
    _close(gradient(A, Y0, T), expected)
    DAMPING["value"] = 0.4  # the dynamics read a global: the next call sees it
    try:
        expected = srcad.numerical_grad(trajectory_loss, A, Y0, T, argnums=argnums, eps=1e-5)
        _close(gradient(A, Y0, T), expected)
    finally:
        DAMPING["value"] = 0.1


def test_a_network_as_the_dynamics_with_list_of_tuple_parameters():
    rng = np.random.default_rng(0)
    params = [
        (rng.normal(size=(2, 4)) * 0.5, rng.normal(size=4) * 0.1),
        (rng.normal(size=(4, 2)) * 0.5, np.zeros(2)),
    ]
    gradient = srcad.grad(network_loss)(params, Y0, T)
    flat, rebuild = _flattened(params)
    expected = srcad.numerical_grad(_loss_of_flat(rebuild), flat, eps=1e-6)
    got = np.concatenate([np.ravel(leaf) for pair in gradient for leaf in pair])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def _flattened(params):
    shapes = [leaf.shape for pair in params for leaf in pair]
    flat = np.concatenate([np.ravel(leaf) for pair in params for leaf in pair])

    def rebuild(vector):
        leaves, start = [], 0
        for shape in shapes:
            size = int(np.prod(shape))
            leaves.append(vector[start : start + size].reshape(shape))
            start += size
        return [(leaves[0], leaves[1]), (leaves[2], leaves[3])]

    return flat, rebuild


def _loss_of_flat(rebuild):
    def loss(vector):
        return network_loss(rebuild(vector), Y0, T)

    return loss


def test_forward_mode_through_odeint_is_refused_by_name():
    with pytest.raises(srcad.NoDerivativeRule, match="forward-mode"):
        srcad.grad(trajectory_loss, mode="forward")(A, Y0, T)


def local_dynamics_loss(A, y0, t):
    def dynamics(y, s, M):
        return M @ y - DAMPING["value"] * y

    return np.sum(odeint(dynamics, y0, t, args=(A,), **TIGHT) ** 2)


def closed_over_loss(A, y0, t):
    def dynamics(y, s):
        return A @ y * np.cos(s)  # A read from the enclosing function

    return np.sum(odeint(dynamics, y0, t, rtol=1e-10, atol=1e-10) ** 2)


@pytest.mark.slow
def test_dynamics_defined_inside_are_solved_and_differentiated():
    """They were refused ("the dynamics must be a function defined with def in a module");
    what they read from the enclosing function becomes their last parameters."""
    for loss in (local_dynamics_loss, closed_over_loss):
        compiled = srcad.grad(loss, argnums=(0, 1))
        for damping in (0.1, 0.5):  # the global the dynamics read changed
            DAMPING["value"] = damping
            expected = srcad.numerical_grad(loss, A, Y0, T, argnums=(0, 1))
            for got, want in zip(compiled(A, Y0, T), expected, strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
        DAMPING["value"] = 0.1


def defaulted_dynamics_loss(A, y0, t):
    def dynamics(y, s, scale=2.0):
        return A @ y * scale

    return np.sum(odeint(dynamics, y0, t))


def test_dynamics_srcad_cannot_call_are_refused_at_the_line():
    with pytest.raises(srcad.UnsupportedSyntax, match=r"test_integrate.py:\d+: .*plain parameters"):
        srcad.grad(defaulted_dynamics_loss)(A, Y0, T)
