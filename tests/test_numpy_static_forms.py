"""NumPy forms that need no rule of their own: shape queries (ints fixed when compiling),
a method of a constant array called with traced values (``C.dot(x)``), ``x.item(k)`` and
``x.tolist()`` of traced arrays, ``np.multiply.outer``, ``np.einsum(..., optimize=True)``,
``np.r_`` /
``np.c_`` joining traced arrays, and ``np.clip`` with bounds read on every call (a global,
an argument: a maximum and a minimum) or given as ``min=``/``max=``, or written ``out=``;
``bool(v)``, ``x // L`` of floats, ``math.hypot`` of several numbers and
``np.unravel_index``; each against central differences in both modes, and again after a
global changed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import srcad

RNG = np.random.default_rng(5)
X = RNG.normal(size=6)
SCALE = {"value": 0.5}
C = np.full((4, 6), 0.5)
BOUNDS = {"low": -0.4, "high": 0.6}


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


def clip_read_bounds(x):
    low, high = BOUNDS["low"], BOUNDS["high"]
    return np.sum(np.clip(x, low, high) ** 2 * x) + np.sum(x.clip(max=high) * SCALE["value"])


def clip_keywords(x):
    return np.sum(np.clip(x, min=-0.4, max=0.6) * x) * SCALE["value"] + np.sum(x.clip(min=0.1))


def items_and_lists(x):
    grid = np.outer(x, x[:3])
    picked = grid.item(4) + x[2:3].item() + grid.item((1, 2))
    return picked * SCALE["value"] + sum(grid.tolist()[1]) + sum(np.sin(x).tolist())


def multiply_outer(x):
    return np.sum(np.multiply.outer(x, x[:3]) ** 2) * SCALE["value"] + np.add.outer(x, x)[1, 2]


def einsum_optimized(x):
    m = np.outer(x, x)
    return np.einsum("ij,jk,ki->", m, m, m, optimize=True) * SCALE["value"]


def truth_of_a_number(x):
    """``bool(v)`` of a traced number, as ``int(v)`` and ``float(v)``."""
    weight = float(bool(x[1] > SCALE["value"])) + float(bool(x[0]))
    return np.sum(x**2) * weight


def float_floor_division(x):
    """A periodic coordinate: ``x - L * (x // L)``, whose ``//`` is a step (slope 0)."""
    length = SCALE["value"] + 0.25
    return np.sum(np.sin(x - length * (x // length)))


def hypot_of_three(x):
    return math.hypot(x[0], x[1] * SCALE["value"], x[2]) + math.hypot(x[3])


def position_of_the_largest(x):
    grid = np.reshape(x, (2, 3))
    row, column = np.unravel_index(np.argmax(grid), grid.shape)
    flat = row * 3 + column
    return grid[row, column] * SCALE["value"] + x[flat] ** 2


def clipped_in_place(x):
    h = x * 2.0
    h.clip(-SCALE["value"], 1.0, out=h)
    g = x * 3.0
    np.clip(g, -1.0, SCALE["value"], out=g)
    return np.sum(h**2) + np.sum(g**3)


@pytest.mark.sampled(2)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    "fun",
    [
        truth_of_a_number,
        float_floor_division,
        hypot_of_three,
        position_of_the_largest,
        clipped_in_place,
        shape_queries,
        constant_method,
        r_join,
        c_join,
        clip_read_bounds,
        clip_keywords,
        items_and_lists,
        multiply_outer,
        einsum_optimized,
    ],
)
def test_against_central_differences_and_after_a_global_changed(fun, mode):
    gradient = srcad.grad(fun, mode=mode)
    np.testing.assert_allclose(gradient(X), srcad.numerical_grad(fun, X), rtol=1e-6, atol=1e-9)
    SCALE["value"] = 2.5
    try:
        np.testing.assert_allclose(gradient(X), srcad.numerical_grad(fun, X), rtol=1e-6, atol=1e-9)
    finally:
        SCALE["value"] = 0.5


def test_clip_bounds_read_on_every_call_follow_the_global():
    gradient = srcad.grad(clip_read_bounds)
    first = gradient(X)
    BOUNDS["low"], BOUNDS["high"] = -2.0, 0.1  # other elements clipped now
    try:
        moved = gradient(X)
        np.testing.assert_allclose(moved, srcad.numerical_grad(clip_read_bounds, X), rtol=1e-6)
        assert not np.allclose(moved, first)
    finally:
        BOUNDS["low"], BOUNDS["high"] = -0.4, 0.6


def test_a_clip_bound_that_is_an_argument_gets_its_gradient():
    def clipped(x, low):
        return np.sum(np.clip(x, low, 0.6) ** 2)

    low = np.full(6, -0.3)
    got_x, got_low = srcad.grad(clipped, argnums=(0, 1))(X, low)
    np.testing.assert_allclose(got_x, srcad.numerical_grad(lambda x: clipped(x, low), X), atol=1e-8)
    expected_low = srcad.numerical_grad(lambda b: clipped(X, b), low)
    np.testing.assert_allclose(got_low, expected_low, atol=1e-8)
    assert np.any(got_low != 0.0)  # some element sits at the bound


def test_clip_given_both_spellings_of_a_bound_is_refused():
    def twice(x):
        return np.sum(np.clip(x, 0.0, min=0.1))

    with pytest.raises(srcad.SrcadError, match="a_min and min= both"):
        srcad.grad(twice)(X)
