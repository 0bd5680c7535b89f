"""Random generators the differentiated function makes itself (``rng =
np.random.default_rng(seed)`` with ``seed`` an int argument).

Their draws are the same on every call with that seed, so the lowering draws them while it
reads the code and the generated code holds the numbers. A loop body is lowered once for
all its steps, so a loop that draws is unrolled instead (one draw per step, in order); a
trial lowering that draws puts the generator back; a draw in a branch on data is refused
(the draws after it would depend on the branch). Checked against the plain function's value
and central differences, for two seeds.
"""

from __future__ import annotations

import os
import random
import secrets

import numpy as np
import pytest

import srcad
from srcad.errors import UnsupportedSyntax


def for_loop(x, seed):
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(3):
        noise = rng.normal(size=x.shape)
        total = total + np.sum((x + noise) ** 2)
    return total


def while_loop(x, seed):
    rng = np.random.RandomState(seed)
    total, k = 0.0, 0
    while k < 3:
        total = total + np.sum(x * rng.rand(3))
        k += 1
    return total


def summed_comprehension(x, seed):
    rng = np.random.default_rng(seed)
    return sum(np.sum((x + rng.normal(size=3)) ** 2) for _ in range(3))


def python_random(x, seed):
    r = random.Random(seed)
    total = 0.0
    for _ in range(4):
        total = total + r.gauss(0, 1) * np.sum(x**2)
    return total


def drawn_in_a_branch(x, seed):
    rng = np.random.default_rng(seed)
    if np.sum(x) > 0:
        x = x + rng.normal(size=3)
    return np.sum(x**2)


@pytest.mark.parametrize("fun", [for_loop, while_loop, summed_comprehension, python_random])
def test_every_step_draws_as_the_plain_function_does(fun):
    x = np.array([0.3, -0.2, 0.5])
    gradient = srcad.value_and_grad(fun)
    for seed in (3, 4):
        value, grad = gradient(x, seed)
        assert value == pytest.approx(fun(x, seed), rel=1e-12)
        expected = srcad.numerical_grad(lambda v, s=seed: fun(v, s), x)
        np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


def test_a_draw_in_a_branch_on_data_is_refused_at_its_line():
    with pytest.raises(
        UnsupportedSyntax, match=r"draw \(or take the items\) before the 'if'"
    ) as raised:
        srcad.grad(drawn_in_a_branch)(np.ones(3), 1)
    assert raised.value.line == drawn_in_a_branch.__code__.co_firstlineno + 2


def reparameterized_here(mu, log_sigma, seed):
    r = np.random.default_rng(seed)  # the VAE's draw, from a generator made here
    return np.sum(r.normal(mu, np.exp(log_sigma)) ** 2) + np.sum(r.uniform(mu, mu + 1.0))


def test_a_draw_with_learned_parameters_from_a_generator_made_in_the_function():
    """r.normal(mu, sigma) of r = default_rng(seed) made in the function was refused as
    having no derivative rule, where a generator passed in works (probe AD)."""
    mu, log_sigma = np.array([0.3, -0.2]), np.array([0.1, -0.4])
    for seed in (0, 5):  # another seed: other draws, compiled again
        gradient = srcad.value_and_grad(reparameterized_here, argnums=(0, 1))
        value, got = gradient(mu, log_sigma, seed)
        assert value == pytest.approx(reparameterized_here(mu, log_sigma, seed), rel=1e-12)
        expected = srcad.numerical_grad(reparameterized_here, mu, log_sigma, seed, argnums=(0, 1))
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-6)


def unseeded_here(x):
    r = np.random.default_rng()  # fresh numbers on every call
    return np.sum(r.standard_normal(3) * x)


def test_a_generator_made_without_a_seed_in_the_function_is_refused():
    """Its draws were made once, when compiling: every call got the same (stale) numbers
    where the plain function draws fresh ones (probe AD)."""
    with pytest.raises(UnsupportedSyntax, match="without a seed"):
        srcad.grad(unseeded_here)(np.ones(3))


SYSTEM = random.SystemRandom()


@pytest.mark.parametrize(
    "fun, refused",
    [
        (lambda w: np.sum(w * np.random.Generator(np.random.PCG64()).random(3)), "without a seed"),
        (
            lambda w: np.sum(w * np.random.default_rng(np.random.SeedSequence()).random(3)),
            "without a seed",
        ),
        (lambda w: np.sum(w) * np.random.RandomState(np.random.MT19937()).rand(), "without a seed"),
        (lambda w: np.sum(w) * random.SystemRandom().random(), "reads the system's entropy"),
        (lambda w: w[0] * SYSTEM.random(), "reads the system's entropy"),
        (lambda w: np.sum(w) * os.urandom(1)[0], "reads the system's entropy"),
        (lambda w: w[0] * secrets.randbelow(5), "reads the system's entropy"),
        (lambda w: w[0] * float(np.random.get_state()[1][0] % 7), "global generator"),
    ],
    ids=[
        "PCG64()",
        "SeedSequence()",
        "MT19937()",
        "SystemRandom()",
        "a SystemRandom",
        "urandom",
        "secrets",
        "get_state",
    ],
)
def test_fresh_entropy_read_in_the_function_is_refused(fun, refused):
    """Drawn once, when compiling, and the same on every call (or an internal error where
    the generator has no state): found by a probe."""
    with pytest.raises(UnsupportedSyntax, match=refused):
        srcad.grad(fun)(np.ones(3))


def test_a_bit_generator_with_a_seed_made_in_the_function_draws_as_the_plain_function():
    def seeded(w):
        return np.sum(w * np.random.Generator(np.random.PCG64(3)).random(3))

    gradient = srcad.grad(seeded)
    for scale in (1.0, 2.0):  # another argument: the same seed, the same draws
        w = np.ones(3) * scale
        np.testing.assert_allclose(gradient(w), srcad.numerical_grad(seeded, w), rtol=1e-7)


def permuted_weights(w, rng):
    return np.sum(rng.permutation(w) * np.arange(w.size).reshape(w.shape))


def permuted_by_numpy(w):
    return np.sum(np.random.permutation(w) * np.arange(w.size).reshape(w.shape))


@pytest.mark.parametrize("shape", [(4,), (3, 2)])
def test_a_permutation_of_the_differentiated_array_moves_its_gradient(shape):
    """'draws with parameters computed from the differentiated input': a permutation of
    w is w at drawn positions, drawn as NumPy draws them (found by a probe)."""
    w = np.arange(1.0, 1.0 + np.prod(shape)).reshape(shape)
    for seed in (0, 1, 2):  # another draw on each call
        value, grad = srcad.value_and_grad(permuted_weights)(w, np.random.default_rng(seed))
        assert value == permuted_weights(w, np.random.default_rng(seed))
        central = srcad.numerical_grad(
            lambda v, seed=seed: permuted_weights(v, np.random.default_rng(seed)), w
        )
        np.testing.assert_allclose(grad, central, rtol=1e-7)
        np.random.seed(seed)
        value, grad = srcad.value_and_grad(permuted_by_numpy)(w)
        np.random.seed(seed)
        assert value == permuted_by_numpy(w)
        np.random.seed(seed)
        central = srcad.numerical_grad(
            lambda v, seed=seed: (np.random.seed(seed), permuted_by_numpy(v))[1], w
        )
        np.testing.assert_allclose(grad, central, rtol=1e-7)


def halved_unless_raising(x):
    if np.geterr()["divide"] == "raise":
        return np.sum(x**2)
    return np.sum(x**2) * 0.5


def test_reading_numpys_settings_is_refused():
    """np.geterr() was read once, when compiling: a later np.seterr went unseen, also by a
    process that loaded the compile from disk (found by a probe)."""
    with pytest.raises(UnsupportedSyntax, match="reads NumPy's settings"):
        srcad.grad(halved_unless_raising)(np.ones(3))
