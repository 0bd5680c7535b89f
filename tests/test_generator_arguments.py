"""Random generators passed as arguments (``loss(params, x, rng)``, as JAX-style code passes
its key): compiled for the generator's class; the generated code calls the drawing methods
on the generator passed, on every call, so it draws what the plain function draws and
advances the generator as the plain function does (``srcad.arguments.GeneratorArgument``).

Checked against the plain function run on a twin generator (same seed): the value, the
gradient (central differences with a fresh twin for each evaluation), the state the
generator is left in; NumPy's ``Generator`` and ``RandomState``, Python's ``random.Random``,
a generator inside a dict, ``rng=None`` with a test on it, and the refusal of anything but
drawing.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import srcad

X = np.array([0.3, -0.8, 1.1])


def noisy(x, rng):
    return np.sum((x + rng.normal(size=x.shape)) ** 2)


def legacy_noisy(x, rng):
    return np.sum(np.tanh(x * rng.uniform(0.5, 1.5, size=3)))


def python_noisy(x, rng):
    return np.sum(x**2) * rng.gauss(1.0, 0.1) + x[0] * rng.random()


def optional_noise(x, rng=None):
    y = x * 2.0
    if rng is not None:
        y = y + rng.standard_normal(3) * 0.1
    return np.sum(np.sin(y))


def inside_a_dict(x, state):
    mask = state["rng"].random(x.shape) < 0.5  # dropout
    return np.sum(np.where(mask, x, 0.0) ** 2) / 0.5


@pytest.mark.parametrize(
    "function, make",
    [
        (noisy, lambda: np.random.default_rng(11)),
        (legacy_noisy, lambda: np.random.RandomState(11)),
        (python_noisy, lambda: random.Random(11)),
        (optional_noise, lambda: np.random.default_rng(12)),
        (inside_a_dict, lambda: {"rng": np.random.default_rng(13)}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_draws_are_the_plain_functions_and_the_generator_advances_as_it_does(function, make):
    compiled, twin = make(), make()
    gradient = srcad.value_and_grad(function)
    for calls_before in range(2):  # the second call draws the next numbers
        value, grad = gradient(X, compiled)
        assert value == function(X, twin)
        replay = lambda x, k=calls_before: function(x, _advanced(make, function, k))  # noqa: E731
        expected = srcad.numerical_grad(replay, X)
        np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)
    assert repr(_state(compiled)) == repr(_state(twin))  # left where the plain calls leave it


def _advanced(make, function, calls):
    """A generator in the state in which the compiled call found its own."""
    rng = make()
    for _ in range(calls):
        function(X, rng)
    return rng


def _state(rng):
    if isinstance(rng, dict):
        return _state(rng["rng"])
    if isinstance(rng, random.Random):
        return rng.getstate()
    if isinstance(rng, np.random.RandomState):
        return rng.get_state()[1].tolist()
    return rng.bit_generator.state


def test_without_a_generator_the_default_is_used():
    np.testing.assert_allclose(
        srcad.grad(optional_noise)(X), srcad.numerical_grad(optional_noise, X), rtol=1e-6
    )


def test_the_generated_code_draws_from_the_parameter():
    gradient = srcad.grad(noisy)
    gradient(X, np.random.default_rng(0))
    text = srcad.source(gradient)
    assert "rng.normal(size=(3,))" in text
    assert "compiled for: x float64[3], rng Generator" in text


def test_reading_anything_but_a_draw_is_refused():
    def peeks(x, rng):
        return np.sum(x) * float(rng.bit_generator.state["state"]["state"] % 7)

    with pytest.raises(srcad.SrcadError, match="comes from an argument, a random generator"):
        srcad.grad(peeks)(X, np.random.default_rng(0))


def test_transformations_that_run_the_code_again_see_the_same_draws():
    expected = srcad.numerical_grad(lambda x: noisy(x, np.random.default_rng(4)), X)
    for transformed in (
        srcad.jacfwd(noisy),
        srcad.jacrev(noisy),
        srcad.grad(noisy, mode="forward"),
    ):
        np.testing.assert_allclose(transformed(X, np.random.default_rng(4)), expected, rtol=1e-6)
    _, pullback = srcad.vjp(noisy, X, np.random.default_rng(4))
    np.testing.assert_allclose(pullback(1.0)[0], expected, rtol=1e-6)
