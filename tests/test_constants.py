"""Constants in generated code: the user's global arrays keep their names, which no generated
variable may shadow, and constants of generated code read back for higher derivatives never
collide with new ones."""

from __future__ import annotations

import numpy as np

import srcad

# Globals named like the variables srcad generates (an adjoint, a temporary).
dx = np.array([1.0, 2.0, 3.0])
t1 = np.array([0.5, -0.5, 2.0])


def uses_globals_named_like_generated_variables(x):
    return np.sum(np.sin(x) * dx) + np.sum(x * t1 * x)


def test_globals_are_not_shadowed_by_generated_names():
    x = np.array([0.3, -0.2, 0.9])
    gradient = srcad.grad(uses_globals_named_like_generated_variables)
    expected = np.cos(x) * dx + 2 * t1 * x
    np.testing.assert_allclose(gradient(x), expected, rtol=1e-12)


def gathered_cubes(x):
    return np.sum(x[[1, 0]] ** 3 * np.array([1.0, 5.0]))


def gathered_squares(x):
    return np.sum(x[[0, 2, 2, 1, 0]] ** 2 * np.arange(5.0))


def test_second_derivatives_through_code_with_constants():
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(srcad.hessian(gathered_cubes)(x), np.diag([30 * x[0], 6 * x[1]]))
    x = np.array([0.3, -0.7, 0.5])
    hessian = srcad.hessian(gathered_squares)(x)
    np.testing.assert_allclose(hessian, np.diag([8.0, 6.0, 6.0]))
    product = srcad.hvp(gathered_squares, (x,), (np.array([1.0, 2.0, 3.0]),))
    np.testing.assert_allclose(product, hessian @ [1.0, 2.0, 3.0])
