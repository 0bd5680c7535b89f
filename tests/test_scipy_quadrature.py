"""SciPy's integrals of sampled values in differentiated code (``srcad.lower.quadrature``):
``scipy.integrate.simpson`` (odd and even numbers of samples, even and uneven spacing),
``cumulative_trapezoid`` and ``trapezoid``, along any axis. SciPy's values to rounding,
gradients in the values and the sample points against central differences of the plain
function, also after the global sample points changed."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

integrate = pytest.importorskip("scipy.integrate")

RNG = np.random.default_rng(11)
GRID = {"t": np.sort(RNG.uniform(0.0, 3.0, 8))}


def integrals(y, t, count, axis):
    """Simpson's rule with uneven and even spacing, the running and the total trapezoid."""
    values = y[..., :count] if axis == -1 else y[:count]
    points = t[:count]
    uneven = integrate.simpson(values, x=points, axis=axis)
    even = integrate.simpson(values, dx=0.3, axis=axis)
    running = integrate.cumulative_trapezoid(values, points, axis=axis, initial=0)
    stepped = integrate.cumulative_trapezoid(values, dx=0.2, axis=axis)
    total = integrate.trapezoid(values, points, axis=axis)
    return np.sum(uneven**2 + even) + np.sum(np.sin(running)) + np.sum(stepped) + np.sum(total)


def on_the_global_grid(y):
    return integrate.simpson(np.exp(y), x=GRID["t"]) ** 2


@pytest.mark.sampled(2)
@pytest.mark.parametrize("count", [2, 3, 4, 5, 8])
@pytest.mark.parametrize(("shape", "axis"), [((8,), -1), ((3, 8), -1), ((8, 2), 0)])
def test_values_and_gradients_in_the_samples_and_their_points(count, shape, axis):
    y = RNG.normal(size=shape)
    t = GRID["t"].copy()
    value, grads = srcad.value_and_grad(integrals, argnums=(0, 1))(y, t, count, axis)
    np.testing.assert_allclose(value, integrals(y, t, count, axis), rtol=1e-12)
    expected = srcad.numerical_grad(integrals, y, t, count, axis, argnums=(0, 1))
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_the_global_sample_points_are_read_on_every_call():
    compiled = srcad.grad(on_the_global_grid)
    kept = GRID["t"]
    y = np.cos(kept)
    try:
        for points in (kept, kept**2):  # an even number of samples: Cartwright's correction
            GRID["t"] = points
            expected = srcad.numerical_grad(on_the_global_grid, y)
            np.testing.assert_allclose(compiled(y), expected, rtol=1e-6)
    finally:
        GRID["t"] = kept


def simpson_of_repeated_points(y, t):
    return integrate.simpson(y**2, x=t)


def test_a_zero_width_gives_scipys_value_and_finite_gradients():
    """SciPy divides by zero widths as 0; srcad too, and no infinity reaches a gradient."""
    t = np.array([0.0, 0.5, 0.5, 1.2, 2.0])
    y = np.array([0.3, -0.2, 0.4, 1.1, 0.7])
    value, (dy, dt) = srcad.value_and_grad(simpson_of_repeated_points, argnums=(0, 1))(y, t)
    np.testing.assert_allclose(value, simpson_of_repeated_points(y, t), rtol=1e-12)
    assert np.all(np.isfinite(dy)) and np.all(np.isfinite(dt))
    expected = srcad.numerical_grad(simpson_of_repeated_points, y, t)
    np.testing.assert_allclose(dy, expected, rtol=1e-6, atol=1e-8)


def starts_at_one(y):
    return np.sum(integrate.cumulative_trapezoid(y, initial=1.0))


def test_an_initial_value_scipy_refuses_is_refused_at_the_line():
    with pytest.raises(srcad.SrcadError, match="`initial` must be `None` or `0`"):
        srcad.grad(starts_at_one)(np.ones(4))
