"""Linear algebra and NumPy forms as people write them, end to end: each function's gradient
against central differences of the plain function (``srcad.check_grad``), in reverse and
forward mode, and again after a global the function reads has changed.

The rules themselves are checked one by one from the registry (``tests/rules/``); here the
calls go through the whole pipeline: named results read by field, stacked matrices, the
keywords users pass.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad

RNG = np.random.default_rng(7)
SQUARE = RNG.normal(size=(4, 4))
TALL = RNG.normal(size=(5, 3))
WIDE = RNG.normal(size=(3, 5))
STACK = RNG.normal(size=(2, 3, 4, 4))  # two stacking axes
WEIGHTS = np.arange(4.0)


# --- decompositions, read by field and by position ---------------------------------------------
def eigh_fields(a):
    result = np.linalg.eigh(a)
    return np.sum(result.eigenvalues * WEIGHTS) + np.sum(result.eigenvectors[:, 0] ** 2 * WEIGHTS)


def eigh_upper(a):
    w, v = np.linalg.eigh(a, "U")
    return np.sum(w**2) + np.sum(np.abs(v[0]))


def eigvalsh_cubed(a):
    return np.sum(np.linalg.eigvalsh(a, UPLO="U") ** 3)


def svd_fields(a):
    result = np.linalg.svd(a, full_matrices=False)
    return np.sum(result.S) + np.sum(result.U[:, 0] * np.arange(5.0)) + np.sum(np.abs(result.Vh))


def svd_wide(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(s**2) + np.sum(np.abs(u)) + np.sum(vh[:, 0] * np.arange(3.0))


def svd_square_default(a):
    u, s, vh = np.linalg.svd(a)  # full_matrices=True: the same as reduced for a square
    return np.sum(s) + np.sum(np.abs(u @ vh))


def singular_values(a):
    return np.sum(np.linalg.svd(a, compute_uv=False) ** 2)


def qr_fields(a):
    result = np.linalg.qr(a)
    return np.sum(result.Q * np.arange(3.0)) + np.sum(result.R**2)


def qr_wide(a):
    q, r = np.linalg.qr(a)
    return np.sum(q * np.arange(3.0)) + np.sum(r**2)


def qr_r_only(a):
    return np.sum(np.linalg.qr(a, mode="r") ** 2)


def eig_real(a):
    result = np.linalg.eig(a @ a.T + 4.0 * np.eye(4))  # real, distinct eigenvalues
    return np.sum(result.eigenvalues**2) + np.sum(np.abs(result.eigenvectors))


def pinv_squared(a):
    return np.sum(np.linalg.pinv(a) ** 2)


def lstsq_single_column(a):
    x, residuals, rank, s = np.linalg.lstsq(a[:, :1], np.arange(5.0), rcond=None)
    return np.sum(x**2) + np.sum(residuals) + np.sum(s)


def lstsq_square(a):
    return np.sum(np.linalg.lstsq(a, np.ones((4, 2)), rcond=None)[0] ** 2)


def matrix_powers(a):
    return np.sum(np.linalg.matrix_power(a, 3)) + np.sum(
        np.linalg.matrix_power(a + 5.0 * np.eye(4), -2)
    )


@pytest.mark.sampled(2)
@pytest.mark.parametrize("ord", ["nuc", 2, -2, 1, -1, "fro"])
def test_matrix_norms(ord):
    def norm(a):
        return np.linalg.norm(a, ord=ord)  # an int or a string: fixed when compiling

    _check_both_modes(norm, TALL)


def infinity_norms(a):
    return np.linalg.norm(a, np.inf) + 2.0 * np.linalg.norm(a, ord=-np.inf)


def stacked_norms(a):
    return np.sum(np.linalg.norm(a, ord="nuc", axis=(1, 2))) + np.sum(
        np.linalg.norm(a, ord=2, axis=(2, 0), keepdims=True)
    )


DECOMPOSITIONS = [
    (eigh_fields, SQUARE),
    (eigh_upper, SQUARE),
    (eigvalsh_cubed, SQUARE),
    (svd_fields, TALL),
    (svd_wide, WIDE),
    (svd_square_default, SQUARE),
    (singular_values, WIDE),
    (qr_fields, TALL),
    (qr_wide, WIDE),
    (qr_r_only, TALL),
    (eig_real, SQUARE),
    (pinv_squared, TALL),
    (pinv_squared, WIDE),
    (lstsq_single_column, TALL),
    (lstsq_square, SQUARE),
    (matrix_powers, SQUARE),
    (infinity_norms, TALL),
    (stacked_norms, RNG.normal(size=(3, 4, 5))),
]


def _check_both_modes(function, x):
    srcad.check_grad(function, x)
    forward = srcad.grad(function, mode="forward")(x)
    np.testing.assert_allclose(forward, srcad.grad(function)(x), rtol=1e-8, atol=1e-10)


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("function", "x"), DECOMPOSITIONS, ids=lambda v: getattr(v, "__name__", "")
)
def test_decompositions(function, x):
    _check_both_modes(function, x)


# --- every linalg function on stacks of matrices ------------------------------------------------
def _invertible(a):
    return a + 4.0 * np.eye(4)


def stacked_inv(a):
    return np.sum(np.linalg.inv(_invertible(a)) ** 2)


def stacked_det(a):
    return np.sum(np.linalg.det(_invertible(a)))


def stacked_slogdet(a):
    return np.sum(np.linalg.slogdet(_invertible(a)).logabsdet)


def stacked_solve(a):
    return np.sum(np.linalg.solve(_invertible(a), np.ones((2, 3, 4, 2))) ** 2)


def stacked_cholesky(a):
    return np.sum(np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + 4.0 * np.eye(4)))


def stacked_eigh(a):
    w, v = np.linalg.eigh(a)
    return np.sum(w**2) + np.sum(np.abs(v[..., 0, :]))


def stacked_svd(a):
    u, s, vh = np.linalg.svd(a)
    return np.sum(s) + np.sum(np.abs(u[..., 0]))


def stacked_qr(a):
    return np.sum(np.linalg.qr(a).R ** 2)


def stacked_pinv(a):
    return np.sum(np.linalg.pinv(a[..., :3]) ** 2)


def stacked_power(a):
    return np.sum(np.linalg.matrix_power(a, 2))


def stacked_eig(a):
    return np.sum(np.linalg.eig(a @ np.swapaxes(a, -1, -2) + 4.0 * np.eye(4)).eigenvalues ** 2)


STACKED = [
    stacked_inv,
    stacked_det,
    stacked_slogdet,
    stacked_solve,
    stacked_cholesky,
    stacked_eigh,
    stacked_svd,
    stacked_qr,
    stacked_pinv,
    stacked_power,
    stacked_eig,
]


@pytest.mark.sampled(2)
@pytest.mark.parametrize("function", STACKED, ids=lambda f: f.__name__)
def test_stacked_matrices(function):
    _check_both_modes(function, STACK)


# --- refused, at the user's line ----------------------------------------------------------------
def svd_full_of_tall(a):
    u, s, vh = np.linalg.svd(a)
    return np.sum(s) + np.sum(u[:, -1] ** 3)  # an extra singular vector: not unique


def singular_values_of_full_svd(a):
    u, s, vh = np.linalg.svd(a)  # full_matrices=True, only s used
    return np.sum(s**3)


def test_singular_values_alone_of_a_full_svd_in_reverse_mode():
    """Without the singular vectors, the cotangent is U[:, :k] diag(g_s) V^T: no extra vectors
    (which are not unique), no 1 / (s_j^2 - s_i^2) (infinite where values repeat)."""
    for a in (TALL, TALL * 2.0 - 1.0):
        expected = srcad.numerical_grad(singular_values_of_full_svd, a)
        got = srcad.grad(singular_values_of_full_svd)(a)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def qr_complete_of_tall(a):
    return np.sum(np.linalg.qr(a, mode="complete").R)


def lstsq_tall(a):
    return np.sum(np.linalg.lstsq(a, np.ones(5), rcond=None)[0])


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (svd_full_of_tall, "pass full_matrices=False"),
        (qr_complete_of_tall, "use mode='reduced'"),
    ],
)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_ill_defined_derivatives_are_refused(function, message, mode):
    with pytest.raises(srcad.NoDerivativeRule, match=message) as raised:
        srcad.grad(function, mode=mode)(TALL)
    assert "test_linalg_forms.py" in str(raised.value)


def lstsq_with_residuals(a, b):
    solution, residuals, _, _ = np.linalg.lstsq(a, b, rcond=None)
    return np.sum(solution**2) + np.sum(residuals)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_lstsq_of_a_tall_matrix_full_rank_or_not(mode):
    """NumPy returns a tall matrix's residuals only at full rank: compiled for full rank,
    a rank-deficient matrix at run time has none, and the gradient stays exact."""
    b = np.linspace(-1.0, 1.0, 5)
    deficient = TALL.copy()
    deficient[:, 2] = deficient[:, 1]
    for a in (TALL, deficient):
        for fun, argnums in ((lstsq_tall, 0), (lstsq_with_residuals, 1)):
            args = (a,) if fun is lstsq_tall else (a, b)
            if fun is lstsq_tall and a is deficient:
                continue  # the solution's derivative in A jumps where the rank changes
            gradient = srcad.grad(fun, argnums=argnums, mode=mode)(*args)
            expected = srcad.numerical_grad(fun, *args, argnums=argnums)
            np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-8)


# --- a second call after a global changed --------------------------------------------------------
SHIFT = np.eye(4)


def shifted_spectrum(a):
    w, v = np.linalg.eigh(a + SHIFT)
    return np.sum(w**3) + np.sum(np.linalg.svd(a @ SHIFT, compute_uv=False))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_global_changed_between_calls_is_read_again(mode):
    global SHIFT
    gradient = srcad.grad(shifted_spectrum, mode=mode)
    try:
        for shift in (np.eye(4), RNG.normal(size=(4, 4))):
            SHIFT = shift
            expected = srcad.numerical_grad(shifted_spectrum, SQUARE)
            np.testing.assert_allclose(gradient(SQUARE), expected, rtol=1e-6, atol=1e-8)
    finally:
        SHIFT = np.eye(4)


# --- NumPy forms ------------------------------------------------------------------------------
VECTOR = RNG.normal(size=6)
GRID = RNG.normal(size=(4, 5))
VECTORS = RNG.normal(size=(3, 4))  # 3-vectors along the first axis


def gradient_1d(x):
    return np.sum(np.gradient(x) ** 2)


def gradient_spacings(m):
    along_rows, along_columns = np.gradient(m, 0.5, 2.0)
    return np.sum(along_rows**2) + np.sum(along_columns**3)


def gradient_second_order_edges(m):
    return np.sum(np.gradient(m, axis=1, edge_order=2) ** 2)


def gradient_coordinates(x):
    return np.sum(np.gradient(x, np.array([0.0, 0.5, 1.5, 2.0, 3.5, 4.0])) ** 2)


def selected(x):
    return np.sum(np.select([x > 0.5, x < -0.5], [x**2, x**3], default=0.25))


def selected_with_default(x):
    return np.sum(np.select([x > 0.5, x < -0.5], [x**2, 2.0], default=np.sin(x)))


def einsum_diagonals(m):
    return np.einsum("ii", m) + np.sum(np.einsum("ii,ij->j", m, m) ** 2)


def finite_only(x):
    return np.sum(np.nan_to_num(np.log(x), nan=-1.0, neginf=-9.0) ** 2)


def partitioned(x):
    return np.sum(np.partition(x, 2)[:3] ** 2) + np.sum(np.partition(x, (1, 4))[4:] * 3.0)


def partitioned_rows(m):
    return np.sum(np.partition(m, 1, axis=0)[:2] ** 2)


def complex_views_of_reals(x):
    parts = np.real(x) ** 2 + np.imag(x) + np.conj(x) ** 3 + np.conjugate(x)
    return np.sum(parts + np.angle(x) + np.real_if_close(x))


def degrees(x):
    return np.sum(np.degrees(x) + np.rad2deg(x) ** 2)


def short_differences(x):
    # length-1 axes, and more differences than elements: empty results, zero gradients
    return np.sum(np.diff(x[:1], n=2)) + np.sum(np.diff(x[:, None], axis=1)) + np.sum(x**2)


def moved_axes(m):
    cube = np.reshape(m, (2, 2, 5))
    first, second = np.dsplit(cube[..., :4], 2)
    rolled = np.rollaxis(cube, 2) * np.arange(5.0)[:, None, None]
    return np.sum(first**2) + np.sum(second) + np.sum(rolled)


def cross_with_axes(c):
    return np.sum(np.cross(c, c[::-1] + 1.0, axisa=0, axisb=0, axisc=0) ** 2)


def cross_mixed_axes(c):
    return np.sum(np.cross(c.T, c, axisa=-1, axisb=0, axisc=0) ** 2)


def vecdot_along_rows(m):
    return np.sum(np.vecdot(m, m * 2.0, axis=0) ** 2)


def einsum_interleaved(m):
    product = np.einsum(m, [0, 1], GRID.T, [1, 2], [0, 2])
    return np.sum(product**2) + np.sum(np.einsum(m, [Ellipsis, 1], m, [Ellipsis, 1]))


def einsum_interleaved_transpose(m):
    return np.sum(np.einsum(m, (0, 1), (1, 0)) * np.arange(20.0).reshape(5, 4))


def stacks_of_one_array(m):
    rows = np.vstack(m[0]) * np.arange(5.0)[:, None]  # a vector's elements as rows
    return np.sum(rows**2) + np.sum(np.vstack(m) ** 3) + np.sum(np.hstack(m) * 2.0)


def columns_of_one_array(m):
    return np.sum(np.column_stack(m) ** 3) + np.sum(np.dstack(m) ** 2)


def appended_and_stacked(x):
    longer = np.append(x, [1.0, 2.0]) + np.append([x[0], 3.0], x)[:-2].sum()
    return np.sum(longer**2) + np.sum(np.vstack([x]) ** 3) + np.sum(np.vstack((x,)) * 2.0)


FORMS = [
    (appended_and_stacked, VECTOR),
    (einsum_interleaved, GRID),
    (einsum_interleaved_transpose, GRID),
    (stacks_of_one_array, GRID),
    (columns_of_one_array, GRID),
    (gradient_1d, VECTOR),
    (gradient_spacings, GRID),
    (gradient_second_order_edges, GRID),
    (gradient_coordinates, VECTOR),
    (selected, VECTOR),
    (selected_with_default, VECTOR),
    (einsum_diagonals, SQUARE),
    (finite_only, VECTOR),
    (partitioned, VECTOR),
    (partitioned_rows, GRID),
    (complex_views_of_reals, VECTOR),
    (degrees, VECTOR),
    (short_differences, VECTOR),
    (moved_axes, GRID),
    (cross_with_axes, VECTORS),
    (cross_mixed_axes, VECTORS),
    (vecdot_along_rows, GRID),
]


@pytest.mark.sampled(4)
@pytest.mark.parametrize(("function", "x"), FORMS, ids=lambda v: getattr(v, "__name__", ""))
def test_numpy_forms(function, x):
    with np.errstate(invalid="ignore", divide="ignore"):  # log of negatives: nan_to_num
        _check_both_modes(function, x)


SPACING = 0.5


def spaced_gradient(x):
    return np.sum(np.gradient(x * SPACING) ** 2)


def test_a_global_changed_between_calls_is_read_again_by_numpy_forms():
    global SPACING
    gradient = srcad.grad(spaced_gradient)
    try:
        for spacing in (0.5, 3.0):
            SPACING = spacing
            expected = srcad.numerical_grad(spaced_gradient, VECTOR)
            np.testing.assert_allclose(gradient(VECTOR), expected, rtol=1e-6, atol=1e-8)
    finally:
        SPACING = 0.5


def gradient_by_global_steps(x):
    rows, columns = np.gradient(np.outer(x, x), SPACING, 2.0 * SPACING)
    return np.sum(np.gradient(x, SPACING, edge_order=2) ** 2) + np.sum(rows * columns)


def test_np_gradient_takes_steps_read_on_every_call():
    """``np.gradient(u, dx)`` with ``dx`` a global float was refused: the step had to be a
    constant. Now the unit-step differences are divided by it; coordinates read when the
    code runs are still refused."""
    global SPACING
    gradient = srcad.value_and_grad(gradient_by_global_steps)
    try:
        for spacing in (0.5, 3.0):
            SPACING = spacing
            value, got = gradient(VECTOR)
            assert value == pytest.approx(gradient_by_global_steps(VECTOR), rel=1e-12)
            expected = srcad.numerical_grad(gradient_by_global_steps, VECTOR)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    finally:
        SPACING = 0.5

    def by_coordinates(x):
        return np.sum(np.gradient(x, np.cumsum(x**2)))

    with pytest.raises(srcad.SrcadError, match="coordinates known when compiling"):
        srcad.grad(by_coordinates)(VECTOR)


def eig_spectrum_size(x):
    w, _ = np.linalg.eig(x)
    return np.sum(np.abs(w))


def test_eig_with_complex_eigenvalues_is_refused_on_every_call_never_wrong():
    """Real distinct eigenvalues: exact. Complex ones (known only at run time): an error on
    that call, also on the fast path of a second call, never a real part cast silently."""
    real = np.array([[2.0, 0.3, -0.4], [0.5, 1.0, 0.2], [0.1, -0.3, -0.5]])
    rotation = np.array([[0.0, -1.0, 0.2], [1.0, 0.0, 0.1], [0.3, 0.2, 2.0]])
    gradient = srcad.grad(eig_spectrum_size)

    np.testing.assert_allclose(
        gradient(real), srcad.numerical_grad(eig_spectrum_size, real), rtol=1e-6, atol=1e-9
    )
    for _ in range(2):
        with pytest.raises(ValueError, match="complex eigenvalues"):
            gradient(rotation)
    np.testing.assert_allclose(
        gradient(real), srcad.numerical_grad(eig_spectrum_size, real), rtol=1e-6, atol=1e-9
    )


def stability_margin(p):  # a Jacobian built from parameters, its eigenvalues' parts
    a, b, c, d = p
    jacobian = np.array([[a - 0.2, -b], [d * 0.5, -c]])
    w, _ = np.linalg.eig(jacobian)
    return np.max(w.real) + 0.1 * np.sum(w.imag**2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_eig_parts_of_a_built_matrix_are_refused_for_complex_eigenvalues_in_both_modes(mode):
    """.real and .imag of eig's complex eigenvalues were taken as the real numbers they
    are for a real spectrum: a complex value and a wrong gradient, without an error, in
    both modes (probe AI). The generated code checks eig's result on every call."""
    gradient = srcad.value_and_grad(stability_margin, mode=mode)
    real = np.array([1.4, 0.3, 0.6, 0.9])  # eigenvalues 1.15 and -0.55
    for _ in range(2):
        value, got = gradient(real)
        assert value == pytest.approx(stability_margin(real), rel=1e-12)
        np.testing.assert_allclose(got, srcad.numerical_grad(stability_margin, real), atol=1e-7)
        with pytest.raises(ValueError, match="complex eigenvalues"):
            gradient(np.array([0.4, 1.3, 0.6, 0.9]))  # -0.2 +- 0.65j


def eigenvalues_scaled(x):
    w, _ = np.linalg.eig(x)
    return w * 2.0


@pytest.mark.parametrize("jacobian", [srcad.jacrev, srcad.jacfwd], ids=["jacrev", "jacfwd"])
def test_a_jacobian_through_eig_is_exact_for_real_and_refused_for_complex_eigenvalues(jacobian):
    real = np.array([[2.0, 1.0], [0.5, 3.0]])
    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    eps = 1e-6
    steps = [e.reshape(2, 2) * eps for e in np.eye(4)]
    columns = [
        (eigenvalues_scaled(real + s) - eigenvalues_scaled(real - s)) / (2 * eps) for s in steps
    ]
    expected = np.stack(columns, axis=-1).reshape(2, 2, 2)
    np.testing.assert_allclose(jacobian(eigenvalues_scaled)(real), expected, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="complex eigenvalues"):
        jacobian(eigenvalues_scaled)(rotation)


MODES = ("reverse", "forward")
EIG_SHIFT = {"value": np.zeros((2, 2))}


def real_and_imaginary_parts(x):
    w, v = np.linalg.eig(x + EIG_SHIFT["value"])
    return np.sum(w.real**2) + np.sum(w.imag) + np.sum(v.real[:, 0] ** 2)


def test_real_and_imag_of_real_values_as_after_eig():
    real = np.array([[2.0, 1.0], [0.5, 3.0]])
    transformed = {mode: srcad.grad(real_and_imaginary_parts, mode=mode) for mode in MODES}
    for shift in (np.zeros((2, 2)), np.array([[0.5, 0.0], [0.2, -0.3]])):
        EIG_SHIFT["value"] = shift  # read again on the second call
        for gradient in transformed.values():
            expected = srcad.numerical_grad(real_and_imaginary_parts, real)
            np.testing.assert_allclose(gradient(real), expected, rtol=1e-6, atol=1e-9)
    EIG_SHIFT["value"] = np.zeros((2, 2))


FILTER = {"taps": np.array([0.2, -0.1, 0.4])}


def filtered_energy(signal):
    smooth = np.convolve(signal, FILTER["taps"], mode="same")
    edges = np.convolve(signal, np.array([1.0, -1.0]), mode="valid")
    return np.sum(smooth**2) + np.sum(np.convolve(smooth, edges) * 0.1)


def test_convolutions_in_every_mode_and_after_the_filter_changed():
    signal = np.linspace(-1.0, 1.5, 7) ** 2
    for taps in (np.array([0.2, -0.1, 0.4]), np.array([0.5, 0.3, -0.2, 0.1])):
        FILTER["taps"] = taps
        for mode in ("reverse", "forward"):
            gradient = srcad.grad(filtered_energy, mode=mode)(signal)
            expected = srcad.numerical_grad(filtered_energy, signal)
            np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-9)
    FILTER["taps"] = np.array([0.2, -0.1, 0.4])
