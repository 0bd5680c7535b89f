"""The pass that turns a loop-carried sum of outer products into one matrix product.

Checked on functions whose backward loop (or forward loop) accumulates outer products: the
generated code has the product after the loop, the gradients agree with central differences
(first and second derivatives), and loops the pass must leave alone (the sum read inside the
loop, a single step) keep their per-step update and stay exact.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad

RNG = np.random.default_rng(3)
W = RNG.normal(size=(4, 4)) / 3
H0 = RNG.normal(size=4)
XS = RNG.normal(size=(6, 4))
STATE = {"scale": 1.0}


def recurrence(W, h, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t] * STATE["scale"])
    return np.sum(h**2)


def accumulated(u, vs):
    total = np.zeros((u.shape[0], vs.shape[1]))
    for t in range(vs.shape[0]):
        total = total + np.outer(u * (t + 1.0), np.sin(vs[t]))
    return np.sum(total**2)


def sum_read_in_the_loop(u, vs):
    total = np.zeros((u.shape[0], vs.shape[1]))
    seen = 0.0
    for t in range(vs.shape[0]):
        total = total + np.outer(u, vs[t])
        seen = seen + np.sum(total)
    return seen


def sum_read_by_a_branch(u, vs):
    total = np.zeros((u.shape[0], vs.shape[1]))
    seen = 0.0
    for t in range(vs.shape[0]):
        total = total + np.outer(u, vs[t])
        snapshot = total if vs[t, 0] > 0.0 else u[0] * np.ones((3, 2))  # a branch's result
        seen = seen + np.sum(snapshot)
    return seen + np.sum(total * STATE["scale"])


def _code(transformed, before=None):
    """The generated statements (comments left out), up to ``before`` if given."""
    source = srcad.source(transformed)
    if before is not None:
        source = source.split(before)[0]
    return "\n".join(line.split("#")[0] for line in source.splitlines())


def _check(fun, *args, argnums):
    expected = srcad.numerical_grad(fun, *args, argnums=argnums)
    gradient = srcad.grad(fun, argnums=argnums)(*args)
    for got, want in zip(gradient, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_backpropagation_through_time_multiplies_once_after_the_loop():
    transformed = srcad.grad(recurrence, argnums=(0, 1, 2))
    transformed(W, H0, XS)
    code = _code(transformed)
    assert "np.outer" not in code
    assert "left_stack.T @ right_stack" in code
    # a sum that starts at zeros is the product itself: no zeros carried, nothing added
    assert "np.zeros_like(W)" not in code and "+= dW" not in code, code
    _check(recurrence, W, H0, XS, argnums=(0, 1, 2))
    STATE["scale"] = -0.5  # the world changed: read again, still exact
    try:
        _check(recurrence, W, H0, XS, argnums=(0, 1, 2))
    finally:
        STATE["scale"] = 1.0


def test_a_forward_loop_of_outer_products_and_its_gradient():
    u, vs = RNG.normal(size=3), RNG.normal(size=(5, 2))
    transformed = srcad.value_and_grad(accumulated, argnums=(0, 1))
    value, _ = transformed(u, vs)
    assert value == pytest.approx(accumulated(u, vs))
    assert "np.outer" not in _code(transformed, before="# backward")
    _check(accumulated, u, vs, argnums=(0, 1))


def test_second_derivatives_through_the_rewritten_loop():
    def loss(h):
        return recurrence(W, h, XS[:3])

    hessian = srcad.hessian(loss)(H0)
    eps = 1e-5
    columns = [
        (srcad.grad(loss)(H0 + eps * e) - srcad.grad(loss)(H0 - eps * e)) / (2 * eps)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(hessian, np.array(columns).T, rtol=1e-5, atol=1e-8)


def test_a_sum_read_inside_the_loop_keeps_its_per_step_update():
    u, vs = RNG.normal(size=3), RNG.normal(size=(4, 2))
    transformed = srcad.grad(sum_read_in_the_loop, argnums=(0, 1))
    transformed(u, vs)
    assert "np.outer" in _code(transformed, before="# backward")
    _check(sum_read_in_the_loop, u, vs, argnums=(0, 1))


def test_a_sum_an_if_reads_inside_the_loop_keeps_its_per_step_update():
    # the if's result is the sum: a read the pass did not count, so it moved the sum after
    # the loop and the if read zeros (a wrong value and gradient)
    u, vs = np.array([0.4, -1.1, 0.8]), np.array([[0.5, 1.0], [-0.3, 2.0], [1.2, -1.0]])
    transformed = srcad.value_and_grad(sum_read_by_a_branch, argnums=(0, 1))
    try:
        for scale in (1.0, -2.0):  # the second time after the world changed
            STATE["scale"] = scale
            value, gradient = transformed(u, vs)
            assert value == pytest.approx(sum_read_by_a_branch(u, vs), rel=1e-12)
            expected = srcad.numerical_grad(sum_read_by_a_branch, u, vs, argnums=(0, 1))
            for got, want in zip(gradient, expected, strict=True):
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    finally:
        STATE["scale"] = 1.0


@pytest.mark.parametrize("steps", [0, 1])
def test_loops_of_fewer_than_two_steps_are_left_as_they_are(steps):
    transformed = srcad.grad(recurrence, argnums=(0, 1, 2))
    transformed(W, H0, XS[:steps])
    assert "left_stack" not in _code(transformed)
    _check(recurrence, W, H0, XS[:steps], argnums=(0, 1))
