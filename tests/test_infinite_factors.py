"""Derivatives that are finite where one factor of the textbook rule is not: d x**p / dp at
x = 0 (x**p log x, with log 0 = -inf), eigenvalues of a matrix whose eigenvalues repeat and
singular values that repeat (the eigenvector terms hold 1 / (w_j - w_i), but nothing reads
the eigenvectors). Each against central differences of the plain function, in reverse and
forward mode, and again after the data it reads changed.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad

TIMES = np.array([0.0, 0.5, 1.0, 2.0])
OBSERVED = np.array([0.0, 0.8, 1.1, 1.9])
COUPLING = {"base": 2.0}


def power_law_misfit(b):
    """A power law fitted on a time grid that starts at 0."""
    return np.sum((1.2 * TIMES**b - OBSERVED) ** 2)


def coupled_modes(c):
    """The energies of two coupled modes; the coupling starts at 0, where they are equal."""
    base = COUPLING["base"]
    w, v = np.linalg.eigh(np.array([[base, c], [c, base]]))
    return np.sum(w**2)


def repeated_singular_values(p):
    u, s, vh = np.linalg.svd(p * np.eye(3)[:, :2], full_matrices=False)
    return np.sum(s**2)


CASES = [(power_law_misfit, 0.6), (coupled_modes, 0.0), (repeated_singular_values, 2.0)]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(("function", "point"), CASES, ids=[c[0].__name__ for c in CASES])
def test_finite_derivatives_where_a_factor_of_the_rule_is_infinite(function, point, mode):
    gradient = srcad.grad(function, mode=mode)
    assert np.isfinite(gradient(point))
    np.testing.assert_allclose(gradient(point), srcad.numerical_grad(function, point), atol=1e-7)
    global TIMES
    saved = TIMES, COUPLING["base"]
    try:
        TIMES, COUPLING["base"] = np.array([0.0, 0.0, 1.5, 3.0]), -1.0
        expected = srcad.numerical_grad(function, point)
        np.testing.assert_allclose(gradient(point), expected, rtol=1e-6, atol=1e-7)
    finally:
        TIMES, COUPLING["base"] = saved


def test_eigenvectors_at_a_repeated_eigenvalue_still_use_the_full_rule():
    """Where the eigenvectors are read, their terms stay (away from a repeated value)."""

    def with_vectors(c):
        w, v = np.linalg.eigh(np.array([[2.0, c], [c, 3.0]]))
        return np.sum(w**2) + np.sum(v[:, 0] ** 4)

    for mode in ("reverse", "forward"):
        got = srcad.grad(with_vectors, mode=mode)(0.3)
        np.testing.assert_allclose(got, srcad.numerical_grad(with_vectors, 0.3), rtol=1e-6)


def test_second_derivative_of_sinc_at_zero_where_its_slope_is_a_guarded_quotient():
    """sinc's slope is (cos(pi x) - sinc(x)) / x; guarded by 0 at x = 0, its own slope
    there came out 0 (the true second derivative is -pi^2 / 3)."""
    for x in (0.0, 4e-4, 0.3):
        expected = srcad.numerical_grad(srcad.grad(np.sinc), x)
        assert srcad.hessian(np.sinc)(x) == pytest.approx(expected, rel=1e-6)
        assert srcad.grad(np.sinc)(x) == pytest.approx(srcad.numerical_grad(np.sinc, x), abs=1e-9)


def test_the_mixed_second_derivative_of_xlogy_at_a_zero_first_argument():
    """The slope of x log(y) in y is x / y, guarded where x = 0; the guard made its own slope
    in x 0 there instead of 1 / y."""
    special = pytest.importorskip("scipy.special")

    def entropy_term(v):
        return special.xlogy(v[0], v[1]) + special.xlog1py(v[0], v[1] - 1.0)

    gradient = srcad.grad(entropy_term)
    for v in (np.array([0.0, 2.0]), np.array([0.5, 2.0])):
        expected = np.array([srcad.numerical_grad(lambda w: gradient(w)[1], v)])
        np.testing.assert_allclose(srcad.hessian(entropy_term)(v)[1:], expected, rtol=1e-5)


def singular_determinants(a):
    """det of matrices that stay singular as a moves: d det / dA is the cofactor matrix,
    finite there, which det(A) inv(A)^T (LinAlgError: singular matrix) is not."""
    two = np.array([[a, 2.0 * a], [1.0, 2.0]])
    three = np.outer(np.array([1.0, a, 2.0]), np.array([a, 1.0, 0.5])) + np.diag([0.0, 0.0, a])
    return np.linalg.det(two) + np.linalg.det(three) + a**2


def test_the_derivative_of_a_determinant_at_a_singular_matrix():
    for mode in ("reverse", "forward"):
        for a in (0.7, -1.3):
            got = srcad.grad(singular_determinants, mode=mode)(a)
            assert got == pytest.approx(srcad.numerical_grad(singular_determinants, a), rel=1e-6)
    hessian = srcad.hessian(singular_determinants)(0.7)
    assert hessian == pytest.approx(
        srcad.numerical_grad(srcad.grad(singular_determinants), 0.7), rel=1e-5
    )


def squared_magnitudes(w):
    return np.sum(np.abs(w) ** 2) + np.sum(np.abs(w * 0.5) ** 4)


def test_even_powers_of_abs_have_their_second_derivative_at_zero():
    """Through abs, the slope sign(x) made the second derivative of |x| ** 2 zero at 0; it
    is 2. ``np.abs(x) ** 2`` is now ``x ** 2`` (the same values)."""
    gradient = srcad.grad(squared_magnitudes)
    for w in (np.zeros(2), np.array([0.3, -1.2])):
        rows = [srcad.numerical_grad(lambda v, k=k: gradient(v)[k], w) for k in range(2)]
        np.testing.assert_allclose(srcad.hessian(squared_magnitudes)(w), rows, atol=1e-6)
        value, _ = srcad.value_and_grad(squared_magnitudes)(w)
        assert value == squared_magnitudes(w)
