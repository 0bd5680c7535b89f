"""The pass that moves loop-invariant equations in front of their loop (``passes/hoist.py``).

Checked: an invariant is computed once, before the loop, and is not taped; gradients agree
with central differences in reverse and forward mode, also after a global the invariant
reads changed; what must stay in the loop stays (a loop that may not run, arrays written in
place, random draws, values carried out as they are); nested loops.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad

RNG = np.random.default_rng(8)
W = RNG.normal(size=(3, 3)) / 3
XS = RNG.normal(size=(5, 3))
SETTINGS = {"gain": 1.5}


def scaled_recurrence(W, h, log_scale):
    for t in range(5):
        scale = np.exp(log_scale) * SETTINGS["gain"]
        h = np.tanh(W @ h * scale + XS[t])
    return np.sum(h**2)


def nested(W, h):
    for _outer in range(2):
        for _inner in range(3):
            shift = np.sin(W).sum(axis=0)
            h = np.tanh(W @ h + shift)
    return np.sum(h)


def maybe_no_steps(x, c, limit):
    total, k = np.sum(x), 0.0
    while k < limit:  # how often it runs depends on data: its invariant stays inside
        total = total + np.log(c) * x[0]
        k = k + 1.0
    return total


def written_in_the_loop(x):
    acc = 0.0
    for t in range(4):
        z = np.zeros(3)
        z[t % 3] = x[t]
        acc = acc + np.sum(z * x[:3]) * (t + 1.0)
    return acc


NOISE = np.random.default_rng(0)


def noisy(x):
    total = 0.0
    for _ in range(3):
        noise = NOISE.normal(size=x.shape)  # a generator from outside: drawn on every call
        total = total + np.sum((x + noise) ** 2)
    return total


def _body_of_loop(transformed, keyword: str = "for ") -> tuple[str, str]:
    """(the code before the first loop, the code from it on), comments left out."""
    source = srcad.source(transformed).split("_unchecked(", 1)[1]
    code = "\n".join(line.split("#")[0].rstrip() for line in source.splitlines())
    before, after = code.split(f"\n    {keyword}", 1)
    return before, after


def _check(fun, *args, argnums=0, rtol=1e-6):
    expected = srcad.numerical_grad(fun, *args, argnums=argnums)
    got = srcad.grad(fun, argnums=argnums)(*args)
    got, expected = (got, expected) if isinstance(argnums, tuple) else ((got,), (expected,))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-9)


def test_an_invariant_is_computed_once_before_the_loop_and_not_taped():
    args = (W, XS[0], 0.2)
    gradient = srcad.grad(scaled_recurrence, argnums=(0, 2))
    gradient(*args)
    before, loop = _body_of_loop(gradient)
    assert "np.exp(log_scale)" in before and "np.exp(log_scale)" not in loop
    taped = [line for line in loop.splitlines() if "tape.append" in line]
    assert taped and all("scale" not in line for line in taped)
    _check(scaled_recurrence, *args, argnums=(0, 2))


def test_the_second_call_reads_the_global_again():
    args = (W, XS[0], 0.2)
    gradient = srcad.grad(scaled_recurrence, argnums=(0, 2))
    first = gradient(*args)
    SETTINGS["gain"] = 0.5
    try:
        second = gradient(*args)
        assert not np.allclose(first[1], second[1])
        _check(scaled_recurrence, *args, argnums=(0, 2))
    finally:
        SETTINGS["gain"] = 1.5


def test_forward_mode_and_the_hessian_through_the_hoisted_loop():
    args = (W, XS[0], 0.2)
    forward = srcad.grad(scaled_recurrence, argnums=2, mode="forward")(*args)
    np.testing.assert_allclose(
        forward, srcad.numerical_grad(scaled_recurrence, *args, argnums=2), rtol=1e-6
    )
    hessian = srcad.hessian(lambda s: scaled_recurrence(W, XS[0], s))(0.2)
    step = 1e-4
    first = srcad.grad(lambda s: scaled_recurrence(W, XS[0], s))
    expected = (first(0.2 + step) - first(0.2 - step)) / (2 * step)
    np.testing.assert_allclose(hessian, expected, rtol=1e-5)


def test_an_invariant_of_two_nested_loops_leaves_both():
    gradient = srcad.grad(nested)
    gradient(W, XS[0])
    before, _ = _body_of_loop(gradient)
    assert "np.sin(W)" in before
    _check(nested, W, XS[0])


def test_a_loop_that_may_not_run_keeps_its_invariant():
    gradient = srcad.grad(maybe_no_steps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log(0) of a loop that does not run: no warning
        got = gradient(XS[0], 0.0, -1.0)
    np.testing.assert_allclose(got, np.ones(3))
    _, loop = _body_of_loop(gradient, "while ")
    assert "np.log(c)" in loop.split("return")[0]
    _check(maybe_no_steps, XS[0], 2.0, 2.5)


def test_an_array_written_in_place_stays_in_the_loop():
    gradient = srcad.grad(written_in_the_loop)
    x = RNG.normal(size=4)
    gradient(x)
    _, loop = _body_of_loop(gradient)
    assert "\n        z = " in loop.split("reversed")[0]  # made anew in every step
    _check(written_in_the_loop, x)


def test_random_draws_stay_in_the_loop():
    x = RNG.normal(size=3)
    gradient = srcad.value_and_grad(noisy)
    state = NOISE.bit_generator.state
    value, got = gradient(x)
    _, loop = _body_of_loop(gradient)
    assert ".normal(" in loop
    NOISE.bit_generator.state = state
    draws = [NOISE.normal(size=3) for _ in range(3)]  # the three the call drew
    NOISE.bit_generator.state = state
    assert value == pytest.approx(noisy(x), rel=1e-12)
    np.testing.assert_allclose(got, sum(2 * (x + n) for n in draws), rtol=1e-12)
