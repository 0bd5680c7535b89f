"""``scipy.linalg`` in user code: ``solve_triangular`` and ``expm`` (rows with rules of
their own, ``srcad/ir/table/scipy_linalg.py``), and ``cholesky``, ``cho_factor``,
``cho_solve``, ``solve``, ``inv`` and ``det``, lowered as the calls they are made of
(``srcad/lower/compositions.py``). A Gaussian process's negative log likelihood, the way
people write it, against central differences, in reverse and forward mode, and again after
the global it reads changed."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

sla = pytest.importorskip("scipy.linalg")

RNG = np.random.default_rng(5)
X = RNG.normal(size=(7, 2))
Y = np.sin(X[:, 0]) + 0.1 * RNG.normal(size=7)
JITTER = {"value": 1e-6}


def kernel(theta, x):
    lengthscale, amplitude, noise = np.exp(theta)
    squared = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    diagonal = (noise**2 + JITTER["value"]) * np.eye(len(x))
    return amplitude**2 * np.exp(-0.5 * squared / lengthscale**2) + diagonal


def gp_cho(theta, x, y):
    factor, lower = sla.cho_factor(kernel(theta, x), lower=True)
    alpha = sla.cho_solve((factor, lower), y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(factor)))


def gp_upper(theta, x, y):
    factor, lower = sla.cho_factor(kernel(theta, x))  # SciPy's default: the upper factor
    alpha = sla.cho_solve((factor, lower), y)
    return 0.5 * y @ alpha + np.sum(np.log(np.diag(factor)))


def gp_triangular(theta, x, y):
    lower = sla.cholesky(kernel(theta, x), lower=True)
    a = sla.solve_triangular(lower, y, lower=True)
    return 0.5 * a @ a + np.log(np.diag(lower)).sum()


def gp_upper_transposed(theta, x, y):
    upper = sla.cholesky(kernel(theta, x))  # upper
    a = sla.solve_triangular(upper, y, trans="T")  # U^T a = y
    b = sla.solve_triangular(upper, a)  # U b = a
    return 0.5 * y @ b + np.sum(np.log(np.diag(upper)))


def gp_dense(theta, x, y):
    k = kernel(theta, x)
    return 0.5 * y @ sla.solve(k, y) + 0.5 * np.log(sla.det(k)) + 1e-3 * np.trace(sla.inv(k))


def gp_lu(theta, x, y):
    factors = sla.lu_factor(kernel(theta, x))
    alpha = sla.lu_solve(factors, y)
    lu, piv = factors
    back = sla.lu_solve((lu, piv), y, trans=1)  # K^T b = y
    inverse = sla.lu_solve(factors, np.eye(len(x)))  # a right-hand side made here (AV F21)
    return 0.5 * y @ alpha + 1e-2 * np.sum(back**2) + 1e-3 * np.trace(inverse)


@pytest.mark.sampled(2)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    "loss", [gp_cho, gp_upper, gp_triangular, gp_upper_transposed, gp_dense, gp_lu]
)
def test_a_gaussian_process_likelihood_matches_differences(loss, mode):
    theta = np.array([0.1, 0.2, -1.0])
    gradient = srcad.grad(loss, mode=mode)
    expected = srcad.numerical_grad(loss, theta, X, Y)
    np.testing.assert_allclose(gradient(theta, X, Y), expected, rtol=1e-6, atol=1e-8)
    JITTER["value"] = 0.05  # read on every call
    try:
        expected = srcad.numerical_grad(loss, theta, X, Y)
        np.testing.assert_allclose(gradient(theta, X, Y), expected, rtol=1e-6, atol=1e-8)
    finally:
        JITTER["value"] = 1e-6


def unit_lower_solve(m, b):
    return np.sum(sla.solve_triangular(m, b, lower=True, unit_diagonal=True, trans=1) ** 2)


def test_solve_triangular_differentiates_only_the_triangle_it_reads():
    m = RNG.normal(size=(4, 4)) + 4.0 * np.eye(4)
    b = RNG.normal(size=(4, 2))
    dm, db = srcad.grad(unit_lower_solve, argnums=(0, 1))(m, b)
    expected_dm, expected_db = srcad.numerical_grad(unit_lower_solve, m, b, argnums=(0, 1))
    np.testing.assert_allclose(dm, expected_dm, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(db, expected_db, rtol=1e-6, atol=1e-9)
    assert np.all(np.triu(dm) == 0.0)  # neither the upper triangle nor the diagonal


def rotation_energy(w):
    generator = np.array([[0.0, -w[0], w[1]], [w[0], 0.0, -w[2]], [-w[1], w[2], 0.0]])
    return np.sum(sla.expm(generator) @ np.array([1.0, 2.0, 3.0]) * w)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_expm_matches_differences(mode):
    w = np.array([0.3, -0.5, 0.8])
    np.testing.assert_allclose(
        srcad.grad(rotation_energy, mode=mode)(w),
        srcad.numerical_grad(rotation_energy, w),
        rtol=1e-6,
        atol=1e-9,
    )
    jacobian = srcad.jacfwd(lambda a: sla.expm(a))(0.3 * RNG.normal(size=(2, 2)))
    assert jacobian.shape == (2, 2, 2, 2)


def test_the_hessian_through_expm_matches_differences_of_the_gradient():
    w = np.array([0.3, -0.5, 0.8])
    gradient = srcad.grad(rotation_energy)
    expected = np.stack([srcad.numerical_grad(lambda v, i=i: gradient(v)[i], w) for i in range(3)])
    np.testing.assert_allclose(srcad.hessian(rotation_energy)(w), expected, rtol=1e-5, atol=1e-8)


def test_a_solve_that_reads_one_triangle_is_refused_with_what_to_use():
    def symmetric_solve(k, y):
        return np.sum(sla.solve(k, y, assume_a="pos"))

    with pytest.raises(srcad.SrcadError, match="cho_factor and cho_solve"):
        srcad.grad(symmetric_solve)(kernel(np.zeros(3), X), Y)


def spectra(w):
    m = w[:4].reshape(2, 2) * JITTER["value"] * 1e6
    symmetric = m + m.T + np.diag([3.0, -1.0])
    values, vectors = sla.eigh(symmetric)
    upper = sla.eigh(m + np.diag([3.0, -1.0]), lower=False, eigvals_only=True)  # reads U
    singular = sla.svd(w.reshape(2, 3), full_matrices=False)
    return (
        np.sum(values**2)
        + np.sum(vectors[:, 0] ** 4)
        + np.sum(upper**3)
        + np.sum(sla.eigvalsh(symmetric) ** 3)
        + np.sum(singular[1])
        + np.sum(singular[2][0] ** 4)
        + np.sum(sla.svdvals(w.reshape(3, 2)) ** 2)
        + sla.norm(w)
        + sla.norm(w.reshape(2, 3), "fro")
    )


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_decompositions_and_norms_of_scipy_linalg_match_differences(mode):
    w = np.array([0.3, -0.8, 0.5, 1.2, -0.4, 0.9])
    gradient = srcad.grad(spectra, mode=mode)
    for jitter in (1e-6, 2e-6):  # a global the function reads
        JITTER["value"] = jitter
        np.testing.assert_allclose(
            gradient(w), srcad.numerical_grad(spectra, w), rtol=1e-5, atol=1e-8
        )
    JITTER["value"] = 1e-6
    with pytest.raises(srcad.SrcadError, match="a second matrix b"):
        srcad.grad(lambda a: np.sum(sla.eigh(a, np.eye(2))[0]))(np.eye(2))


def _diagonal_of_lu(theta, x, y):
    lu, piv = sla.lu_factor(kernel(theta, x))
    return np.sum(np.log(np.abs(np.diag(lu))))  # U's diagonal: srcad does not spell it out


def _pivots_compared(theta, x, y):
    lu, piv = sla.lu_factor(kernel(theta, x))
    return np.sum(kernel(theta, x)[0] * (piv == 1))  # piv's values: srcad has none


def _factor_transposed(theta, x, y):
    lu, piv = sla.lu_factor(kernel(theta, x))
    return np.sum(lu.T)


def _factors_printed(theta, x, y):
    lu, piv = sla.lu_factor(kernel(theta, x))
    print(lu)
    return np.sum(theta)


def _factors_swapped(theta, x, y):
    lu, piv = sla.lu_factor(kernel(theta, x))
    return np.sum(sla.lu_solve((piv, lu), y))


def _factor_tested_for_a_class(theta, x, y):
    lu, piv = sla.lu_factor(kernel(theta, x))
    return np.sum(theta) * (2.0 if isinstance(lu, np.ndarray) and hasattr(piv, "shape") else 1.0)


@pytest.mark.parametrize(
    "loss",
    [
        _diagonal_of_lu,
        _pivots_compared,
        _factor_transposed,
        _factors_printed,
        _factor_tested_for_a_class,
    ],
)
def test_lu_factors_used_other_than_by_lu_solve_are_refused(loss):
    """lu_factor's lu stands for the matrix, for lu_solve: read any other way it would be
    the matrix's values, not the factors' (piv == 1 gave a gradient of zeros, silently;
    probe AV F4, F5)."""
    with pytest.raises(srcad.SrcadError, match="goes to scipy.linalg.lu_solve only") as error:
        srcad.grad(loss)(np.array([0.1, 0.2, -1.0]), X, Y)
    assert "test_scipy_linalg.py" in str(error.value)
    with pytest.raises(srcad.SrcadError, match="lu_solve"):
        srcad.grad(_factors_swapped)(np.array([0.1, 0.2, -1.0]), X, Y)


def test_a_trans_srcad_does_not_take_is_refused_at_the_line():
    """trans=3 raised an internal error (KeyError: 3; probe AV F10)."""

    def solved(m):
        return np.sum(sla.solve_triangular(m, np.ones(3), trans=3, lower=True))

    with pytest.raises(srcad.NoDerivativeRule, match="trans=3: srcad takes 0, 1, 2") as error:
        srcad.grad(solved)(np.tril(np.ones((3, 3))) + np.eye(3))
    assert "test_scipy_linalg.py" in str(error.value)


def _solved_by_helper(factors, b):
    return sla.lu_solve(factors, b)


def _factored_constant_matrix(theta, x, y):
    fixed = np.eye(len(x)) * 2.0 + 0.1  # known when compiling
    return np.sum(sla.lu_solve(sla.lu_factor(fixed), y * theta[0]) ** 2) + np.sum(
        _solved_by_helper(sla.lu_factor(kernel(theta, x)), y)
    )


def test_lu_factors_of_a_constant_matrix_and_through_a_helper():
    """A matrix known when compiling went to SciPy's own lu_factor, whose arrays lu_solve
    then refused (probe AW F8); the factors given to a helper of the user's are fine."""
    theta = np.array([0.1, 0.2, -1.0])
    np.testing.assert_allclose(
        srcad.grad(_factored_constant_matrix)(theta, X, Y),
        srcad.numerical_grad(_factored_constant_matrix, theta, X, Y),
        rtol=1e-6,
        atol=1e-8,
    )
