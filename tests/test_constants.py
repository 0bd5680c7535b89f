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


# Globals named like the flags srcad writes for break and return inside loops.
_broke1 = np.array([1.0, 2.0, 3.0])
_returned1 = np.array([0.5, 0.5, 0.5])


def loop_with_break_and_flag_named_globals(x):
    s = x[0]
    for _ in range(3):
        s = s * x[1]
        if s > 100.0:
            break
    return s + np.sum(_broke1 * x)


def loop_with_return_and_flag_named_globals(x):
    for i in range(3):
        if x[i] > 0.5:
            return x[i] * np.sum(_returned1 * x)
    return np.sum(_returned1 * x)


def test_flags_for_break_and_return_do_not_hide_globals():
    x = np.array([0.3, -0.5, 0.8])
    for fun in (loop_with_break_and_flag_named_globals, loop_with_return_and_flag_named_globals):
        value, gradient = srcad.value_and_grad(fun)(x)
        assert np.isclose(value, fun(x))
        np.testing.assert_allclose(gradient, srcad.numerical_grad(fun, x), rtol=1e-7)
