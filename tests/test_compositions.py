"""NumPy functions lowered as the calls they are made of (``srcad.lower.compositions``):
``np.interp``, ``np.polyval``, ``np.trapezoid``, ``np.meshgrid``, ``np.cov``,
``np.corrcoef``, ``np.vander``, ``np.divmod``, ``np.block``, ``np.nanvar``, ``np.nanstd``, ``np.nanprod``, ``np.nancumsum``, ``np.nancumprod``, ufuncs' ``reduce`` and ``accumulate``, ``np.fft.fftshift`` and ``ifftshift``, and ``np.pad``'s modes that repeat elements (edge, reflect, symmetric,
wrap).

Checked: each gives NumPy's values exactly, and its derivative in every argument (sample
points and values, coefficients, steps) agrees with central differences of the plain
function in reverse and forward mode, also after the global the function reads changed; the
numba variant agrees with the NumPy backend; a call they do not cover is refused at the
user's line with the reason.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import scipy.stats

import srcad

SAMPLES = {"xp": np.array([-1.0, 0.0, 0.5, 2.0]), "fp": np.array([0.0, 2.0, 1.0, 3.0])}
X = np.array([-1.5, -0.3, 0.2, 0.7, 1.9, 2.5, 0.0, 2.0])  # outside, inside, at points


def interpolated(x):
    return np.sum(np.interp(x, SAMPLES["xp"], SAMPLES["fp"]) ** 2)


def interpolated_with_ends(x, fp):
    return np.sum(np.interp(x, SAMPLES["xp"], fp, left=-1.0, right=5.0) * x)


def interpolated_at_moving_points(xp):
    return np.sum(np.interp(np.array([-1.2, 0.1, 0.9, 1.5, 3.0]), xp, SAMPLES["fp"]) ** 2)


def interpolated_from_a_fixed_table(xp):  # fp written in: indexed by traced segments
    fp = np.array([0.0, 1.0, 0.5, 2.0])
    return np.sum(np.interp(np.array([-1.2, 0.3, 0.9, 1.5]), xp, fp) * SAMPLES["fp"][0])


def interpolated_from_lists(x):
    return np.sum(np.interp(x, [-1.0, 0.0, 0.5, 2.0], list(SAMPLES["fp"])) * x)


def shifted(x):
    grid = np.outer(x, SAMPLES["fp"][:3])
    weights = np.arange(12.0).reshape(4, 3)
    twice = np.fft.ifftshift(np.fft.fftshift(grid, axes=1)) * weights
    return np.sum(twice) + np.sum(np.fft.fftshift(x) * np.arange(4.0))


ELEMENTS = np.array([[0, 1], [1, 2], [2, 3]])


def assembled_stiffness(k):
    """A 1-d finite-element assembly: K[np.ix_(dofs, dofs)] += ke for each element."""
    K = np.eye(4) * (1.0 + SAMPLES["fp"][0])
    for e in range(len(ELEMENTS)):
        dofs = ELEMENTS[e]
        K[np.ix_(dofs, dofs)] += k[e] * np.array([[1.0, -1.0], [-1.0, 1.0]])
    return np.sum(np.linalg.solve(K, SAMPLES["fp"]))


def fitted_polynomial(y):
    """np.polyfit of samples, and the condition number of its Vandermonde matrix."""
    c = np.polyfit(SAMPLES["xp"], y, 2)
    return np.sum(c**2) + np.linalg.cond(np.vander(y[:3], 3)) + np.linalg.cond(np.diag(y), 1)


def vandermonde(x):
    columns = np.vander(x, 4) * np.concatenate((SAMPLES["fp"], [1.0]))[:4]
    return np.sum(columns) + np.sum(np.vander(x, increasing=True)[:, :3] ** 2)


def windows(x):
    rows = np.lib.stride_tricks.sliding_window_view(x, 3)
    grid = np.outer(x[:3], SAMPLES["fp"])
    patches = np.lib.stride_tricks.sliding_window_view(grid, (2, 2))
    return np.sum((rows @ SAMPLES["fp"][:3]) ** 2) + np.sum(patches**3 * np.arange(2.0))


def differences_with_ends(x):
    first = np.diff(x, prepend=SAMPLES["fp"][0])
    second = np.diff(x, n=2, append=SAMPLES["fp"][1:3])
    grid = np.outer(x[:3], SAMPLES["fp"])
    return (
        np.sum(first**2)
        + second @ np.arange(second.size)
        + np.sum(np.diff(grid, axis=0, append=0.5) ** 2)
    )


def running_extremes(x):
    grid = np.outer(x, SAMPLES["fp"][:3])
    highs = np.maximum.accumulate(x) @ np.arange(x.size)
    return (
        highs
        + np.sum(np.minimum.accumulate(grid, axis=1) ** 2)
        + np.sum(np.maximum.accumulate(grid))
    )


def chained_products(x):
    left = np.outer(x[:4], SAMPLES["fp"])  # 4 x 4
    tall = np.outer(x, SAMPLES["fp"][:2])  # 8 x 2
    chained = np.linalg.multi_dot([x[:4], left, left.T, SAMPLES["fp"]])
    return chained + np.sum(np.linalg.multi_dot([tall.T, tall, SAMPLES["fp"][:2]]))


def diagonal_and_density(x):
    spread = np.diagflat(x[:3]) + np.diagflat(SAMPLES["fp"][:2], 1)
    points = np.outer(x[:4], SAMPLES["fp"][:2])
    density = scipy.stats.multivariate_normal.pdf(
        points, mean=x[4:6], cov=spread[:2, :2] @ spread[:2, :2].T + np.eye(2)
    )
    return np.sum(spread**2) + np.sum(density)


def ufunc_methods(x):
    grid = np.outer(x, SAMPLES["fp"][:3])
    reduced = np.add.reduce(grid**2) + np.maximum.reduce(grid, axis=1).sum()
    scanned = np.multiply.accumulate(grid, axis=1) + np.add.accumulate(grid)
    return np.sum(reduced) + np.sum(scanned * np.arange(12.0).reshape(4, 3))


def quotient_and_remainder(x):
    whole, rest = np.divmod(x * SAMPLES["fp"][3], 0.7)
    return np.sum(rest**2 + whole * x)


def blocks(x):
    corner = np.outer(x[:2], SAMPLES["fp"][:2])
    matrix = np.block([[corner, np.eye(2) * x[2]], [x[3] * np.ones((1, 2)), corner[:1]]])
    return np.sum(matrix**2 * np.arange(12.0).reshape(3, 4)) + np.sum(np.block([x[:2], 1.0]) ** 3)


def spreads_skipping_nans(grid):
    weights = SAMPLES["fp"][:3]
    by_row = np.nanstd(grid, axis=1, ddof=1) * weights
    return np.sum(by_row) + np.nanvar(grid) + np.sum(np.nanvar(grid, axis=0, keepdims=True) ** 2)


def products_skipping_nans(grid):
    weights = SAMPLES["fp"][:3]
    by_row = np.nanprod(grid, axis=1) * weights
    running = np.nancumsum(grid, axis=0) * 0.5 + np.nancumprod(grid).reshape(grid.shape)
    return np.sum(by_row) + np.sum(running) + np.sum(np.nanprod(grid, axis=0, keepdims=True))


def interpolated_number(x):
    return np.interp(x[0], SAMPLES["xp"], SAMPLES["fp"]) * x[1]


def polynomial(x):
    return np.sum(np.polyval([1.0, -2.0, SAMPLES["fp"][1]], x))


def polynomial_of_coefficients(p):
    return np.sum(np.polyval(p, SAMPLES["xp"]) ** 2)


def derivative_and_antiderivative(x):  # of the global samples, read on every call
    slope = np.polyval(np.polyder(SAMPLES["fp"], 2), x)
    area = np.polyval(np.polyint(SAMPLES["fp"] * x[0], 2, k=[1.0, 0.5]), x)
    read = np.sum(np.polyint(x[:3], k=SAMPLES["fp"][0]) ** 2)  # k read on every call
    computed = np.sum(np.polyint(x[:3], 2, k=x[3]) ** 2)  # k differentiated
    return np.sum(slope**2) + np.sum(area) + np.sum(np.polyint(x[:3], k=2.0) ** 2) + read + computed


def powers_of_ten(x):
    grid = np.logspace(x[0], x[1], 4) * x[2]
    # an array base: broadcast with the bounds, along its own axis (was elementwise: wrong)
    bases = np.logspace(x[0], x[1], 2, base=SAMPLES["fp"][2:] ** 2 + 1.0) * np.arange(
        1.0, 5.0
    ).reshape(2, 2)
    rows = np.logspace(x[:2], 1.0, 3, base=SAMPLES["fp"][1:3] ** 2 + 1.0 + x[2] ** 2, axis=1)
    return (
        np.sum(grid)
        + np.sum(np.logspace(0.0, x[0], 3, endpoint=False, base=SAMPLES["fp"][3]))
        + np.sum(bases)
        + np.sum(rows * np.arange(6.0).reshape(2, 3))
    )


def integral(x):
    return np.trapezoid(x**2, dx=SAMPLES["fp"][2]) + np.trapezoid(np.sin(x), np.cumsum(x**2))


def integral_along_an_axis(x):
    return np.sum(np.trapezoid(np.outer(x, x) * SAMPLES["fp"][1], axis=0) ** 2)


def on_a_grid(x):
    a, b = np.meshgrid(x[:3], x[3:5] * SAMPLES["fp"][3])
    return np.sum(np.sin(a) * b)


def on_a_grid_by_index(x):
    a, b, c = np.meshgrid(x[:2], x[2:5], x[5:], indexing="ij")
    sparse_a, sparse_b = np.meshgrid(x[:3], x[:2], sparse=True)
    return np.sum(a * b**2 + c * SAMPLES["fp"][1]) + np.sum(sparse_a * sparse_b)


ROWS = np.array([[0.5, -1.0, 2.0, 0.3, -0.7], [1.5, 0.2, -0.4, 0.9, 0.1]])


def covariances(x):
    scaled = ROWS * x[:5] * SAMPLES["fp"][1]
    return (
        np.sum(np.cov(scaled) ** 2)
        + np.sum(np.cov(scaled.T, rowvar=False, bias=True))
        + np.cov(x, x**2)[0, 1]
    )


def correlations(x):
    return (
        np.sum(np.corrcoef(ROWS * x[:5] * SAMPLES["fp"][3]) ** 3) + np.corrcoef(x, np.sin(x))[0, 1]
    )


def deleted_and_inserted(x):
    """np.delete and np.insert: NoDerivativeRule before (found by a probe)."""
    scale = SAMPLES["fp"][3]
    kept = np.delete(x[:6] * scale, [0, 2]) + np.delete(x[:6].reshape(2, 3), 1, axis=-1).ravel()[0]
    grown = np.insert(x[:4], [0, 3], [x[1] * scale, 2.0])
    spliced = np.insert(x[:3].reshape(3, 1), 1, x[:2] * 3.0)
    return np.sum(np.sin(kept) * 2.0) + np.sum(grown**3) + np.sum(np.cos(spliced))


def padded(x):
    grid = x[:6].reshape(2, 3) * SAMPLES["fp"][3]
    weights = np.arange(30.0).reshape(5, 6)
    total = sum(
        np.sum(np.sin(np.pad(grid, ((1, 2), (2, 1)), mode=mode)) * weights)
        for mode in ("edge", "reflect", "symmetric", "wrap", "constant")
    )
    return total + np.sum(np.pad(x, 4, mode="reflect") ** 2)


CASES = {
    interpolated: (X,),
    interpolated_with_ends: (X, SAMPLES["fp"]),
    interpolated_at_moving_points: (SAMPLES["xp"],),
    interpolated_from_a_fixed_table: (SAMPLES["xp"],),
    interpolated_number: (np.array([0.3, 2.0]),),
    interpolated_from_lists: (X,),
    shifted: (X[:4],),
    ufunc_methods: (np.array([0.5, -1.2, 0.3, 2.0]),),
    windows: (X,),
    running_extremes: (X,),
    chained_products: (X,),
    diagonal_and_density: (X,),
    differences_with_ends: (X,),
    blocks: (np.array([0.5, -1.2, 0.3, 2.0]),),
    spreads_skipping_nans: (np.array([[0.5, np.nan, 1.3], [2.0, -0.4, 0.9], [0.1, 0.8, np.nan]]),),
    products_skipping_nans: (np.array([[0.5, np.nan, 1.3], [2.0, -0.4, 0.9], [0.1, 0.8, np.nan]]),),
    quotient_and_remainder: (np.array([0.5, -1.3, 0.3, 2.2]),),
    vandermonde: (np.array([0.5, -1.2, 0.0, 2.0, 0.7]),),
    polynomial: (X,),
    polynomial_of_coefficients: (np.array([1.0, -2.0, 0.5]),),
    derivative_and_antiderivative: (X,),
    powers_of_ten: (X[:3],),
    integral: (X[:6],),
    integral_along_an_axis: (X[:5],),
    on_a_grid: (X[:5],),
    on_a_grid_by_index: (X[:7],),
    covariances: (X[:6],),
    correlations: (X[:6],),
    padded: (X[:6],),
    deleted_and_inserted: (X[:6],),
    assembled_stiffness: (np.array([1.0, 2.0, 3.0]),),
    fitted_polynomial: (np.array([1.0, 2.0, 0.5, 3.0]),),
}
AWAY_FROM_KINKS = np.array([-1.5, -0.3, 0.2, 0.7, 1.9, 2.5, 0.1, 1.0])


def _args(function):
    args = CASES[function]
    return (AWAY_FROM_KINKS, *args[1:]) if args[0] is X else args


@pytest.mark.parametrize("mode", ["reverse", pytest.param("forward", marks=pytest.mark.slow)])
@pytest.mark.parametrize("function", list(CASES), ids=lambda f: f.__name__)
def test_values_are_numpys_and_derivatives_agree_also_after_a_global_changed(function, mode):
    args = _args(function)
    argnums = tuple(range(len(args)))
    jacobian = srcad.grad if mode == "reverse" else srcad.jacfwd
    transformed = jacobian(function, argnums=argnums)
    kept = SAMPLES["fp"].copy()
    try:
        for values in (kept, np.array([1.0, -0.5, 2.5, 0.5])):  # the samples change
            SAMPLES["fp"] = values
            got = transformed(*args)
            expected = srcad.numerical_grad(function, *args, argnums=argnums)
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
            value, _ = srcad.value_and_grad(function, argnums=argnums)(*CASES[function])
            # at the sample points too; NumPy's own sums may differ in the last bit with
            # the arrays' alignment in memory (its SIMD loops), so to rounding
            assert value == pytest.approx(function(*CASES[function]), rel=1e-14)
    finally:
        SAMPLES["fp"] = kept


def test_interp_computes_in_float64_as_numpy_does():
    """np.interp reads its arguments as float64: float32 ones give NumPy's float64 values
    (they came out float32, rounded), and a gradient of the argument's own dtype."""
    x32 = AWAY_FROM_KINKS.astype(np.float32)
    value, gradient = srcad.value_and_grad(interpolated)(x32)
    assert value == interpolated(x32)
    assert gradient.dtype == np.float32
    np.testing.assert_allclose(gradient, srcad.grad(interpolated)(AWAY_FROM_KINKS), rtol=1e-6)
    values = srcad.vjp(lambda x: np.interp(x, SAMPLES["xp"], SAMPLES["fp"]), x32)[0]
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, np.interp(x32, SAMPLES["xp"], SAMPLES["fp"]))


def test_the_generated_code_shows_the_calls():
    gradient = srcad.grad(interpolated_with_ends, argnums=(0, 1))
    gradient(X, SAMPLES["fp"])
    text = srcad.source(gradient)
    assert "np.add.at(dfp, " in text and "np.where(" in text  # fp's gradient: a scatter
    line = inspect.getsourcelines(interpolated_with_ends)[1] + 1
    assert f"(line {line}: return np.sum(np.interp(x, SAMPLES" in text  # the user's line


def test_a_period_is_refused_at_the_users_line():
    def periodic(x):
        return np.sum(np.interp(x, SAMPLES["xp"], SAMPLES["fp"], period=2.0))

    with pytest.raises(srcad.SrcadError, match="period") as error:
        srcad.grad(periodic)(X)
    assert "test_compositions.py" in str(error.value)


@pytest.mark.slow
def test_the_numba_variant_agrees():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    kept = SAMPLES["fp"].copy()
    try:
        for function in (interpolated, polynomial, integral):  # integral: expand_dims of dout
            x, compiled = CASES[function][0], srcad.grad(function, backend="numba")
            for values in (kept, np.array([1.0, -0.5, 2.5, 0.5])):  # the samples change
                SAMPLES["fp"] = values
                with warnings.catch_warnings():
                    warnings.simplefilter("error", NumbaFallbackWarning)
                    got = compiled(x)
                np.testing.assert_allclose(got, srcad.grad(function)(x), rtol=1e-12, atol=1e-14)
    finally:
        SAMPLES["fp"] = kept


def averaged_and_correlated(x, w):
    matrix = np.outer(x, w)
    plain = np.average(x)
    weighted = np.average(x, weights=w)
    rows, total = np.average(matrix, axis=1, weights=w, returned=True)
    flat = matrix.flatten("F")
    return (
        plain
        + weighted * 2.0
        + np.sum(rows * total)
        + np.sum(np.correlate(x, w[:2]) ** 2)
        + flat @ np.arange(flat.size)
    )


def test_average_with_weights_correlate_and_flatten_in_fortran_order():
    w = np.array([0.5, 1.5, 1.0])
    for x in (np.array([0.3, -0.7, 1.2]), np.array([2.0, 0.1, -1.0])):
        value, grad = srcad.value_and_grad(averaged_and_correlated, argnums=(0, 1))(x, w)
        assert value == pytest.approx(averaged_and_correlated(x, w))
        for k in (0, 1):
            expected = srcad.numerical_grad(averaged_and_correlated, x, w, argnums=k)
            np.testing.assert_allclose(grad[k], expected, rtol=1e-6, atol=1e-9)


def log_sums(x):
    grid = np.outer(x, SAMPLES["fp"][:3])
    columns = np.logaddexp.reduce(grid) @ np.arange(3.0)
    rows = np.logaddexp2.reduce(grid, axis=1, keepdims=True)
    running = np.logaddexp.accumulate(grid, axis=1) @ np.arange(3.0)
    return columns + np.sum(rows**2) + np.logaddexp.reduce(grid, axis=None) + np.sum(running)


def test_logaddexp_reduce_is_a_shifted_log_sum_whose_gradient_is_the_softmax():
    """``np.logaddexp.reduce`` is NumPy's pairwise log-add in order; srcad sums the shifted
    exponentials, so values agree to rounding, large entries do not overflow, and an axis
    of -inf entries gives -inf as NumPy does."""
    kept = SAMPLES["fp"].copy()
    x = np.array([0.5, -1.2, 0.3, 2.0])
    try:
        for values in (kept, np.array([1.0, 400.0, -3.0, 0.5])):  # exp(800) overflows
            SAMPLES["fp"] = values
            for mode in ("reverse", "forward"):
                value, grad = srcad.value_and_grad(log_sums, mode=mode)(x)
                assert value == pytest.approx(log_sums(x), rel=1e-14)
                expected = srcad.numerical_grad(log_sums, x)
                np.testing.assert_allclose(grad, expected, rtol=1e-6)
    finally:
        SAMPLES["fp"] = kept
    softmax = np.exp(x - np.logaddexp.reduce(x))
    hessian = srcad.hessian(np.logaddexp.reduce)(x)
    np.testing.assert_allclose(hessian, np.diag(softmax) - np.outer(softmax, softmax), atol=1e-15)
    nothing = np.array([-np.inf, -np.inf], np.float32)
    with np.errstate(invalid="ignore"):  # the slope: 0 / 0
        value = srcad.value_and_grad(lambda v: np.logaddexp.reduce(v))(nothing)[0]
    assert value == np.logaddexp.reduce(nothing) == -np.inf


def frozen_gaussian(m):
    spread = np.array([[1.0, 0.3], [0.3, 2.0]]) * SAMPLES["fp"][1]
    points = np.outer(SAMPLES["fp"][:3], [1.0, -0.5])
    density = scipy.stats.multivariate_normal(mean=m, cov=spread).pdf(points)
    return np.sum(scipy.stats.multivariate_normal(m, spread).logpdf(points)) + np.sum(density)


def test_a_multivariate_normal_frozen_in_the_function():
    """``multivariate_normal(m, C).logpdf(X)`` was refused ('multivariate_normal' has no
    derivative rule): its methods are the distribution's, with the parameters by name."""
    kept = SAMPLES["fp"].copy()
    m = np.array([0.3, 0.1])
    try:
        for values in (kept, np.array([1.0, 0.5, 2.5, 0.5])):
            SAMPLES["fp"] = values
            value, gradient = srcad.value_and_grad(frozen_gaussian)(m)
            assert value == pytest.approx(frozen_gaussian(m), rel=1e-12)
            expected = srcad.numerical_grad(frozen_gaussian, m)
            np.testing.assert_allclose(gradient, expected, rtol=1e-6)
    finally:
        SAMPLES["fp"] = kept


FITTED = {
    "p": np.poly1d([1.0, 2.0, 3.0]),
    "q": np.polynomial.Polynomial([1.0, -1.0, 0.5], domain=[0.0, 2.0], window=[-1.0, 1.0]),
}


def of_fitted_polynomials(a):
    return FITTED["p"](a) * a + FITTED["q"](a) ** 2


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_polynomial_objects_from_outside_read_their_coefficients_on_every_call(mode):
    """Calling a global np.poly1d or Polynomial (an internal error: unhashable) is NumPy's
    polyval of its coefficients, read on every call, after the domain's map."""
    kept = dict(FITTED)
    a = np.array([0.7, -0.4])
    gradient = srcad.value_and_grad(lambda a: np.sum(of_fitted_polynomials(a)), mode=mode)
    try:
        for call in range(3):
            if call == 1:
                FITTED["p"].coeffs[0] = -2.0  # in place
                FITTED["q"] = np.polynomial.Polynomial.fit([0.0, 1.0, 3.0], [1.0, 0.0, 2.0], 2)
            if call == 2:
                FITTED["p"] = np.poly1d([0.5, 0.0, 1.0, -1.0])  # another degree
            value, grad = gradient(a)
            assert value == pytest.approx(np.sum(of_fitted_polynomials(a)))
            expected = srcad.numerical_grad(lambda a: np.sum(of_fitted_polynomials(a)), a)
            np.testing.assert_allclose(grad, expected, rtol=1e-6)
    finally:
        FITTED.update(kept)
        FITTED["p"] = np.poly1d([1.0, 2.0, 3.0])


def of_polynomials_made_here(a):
    p = np.poly1d([2.0, -1.0, 0.5])
    q = np.polynomial.Polynomial([1.0, -1.0, 0.5], domain=[0.0, 2.0], window=[-1.0, 1.0])
    return np.sum(p(a) ** 2 + q(a))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_polynomial_objects_made_in_the_function_are_their_polyval(mode):
    """An internal error (unhashable poly1d) where the function makes the polynomial."""
    for a in (np.array([0.3, 1.2]), np.array([-0.5, 2.0])):
        np.testing.assert_allclose(
            srcad.grad(of_polynomials_made_here, mode=mode)(a),
            srcad.numerical_grad(of_polynomials_made_here, a),
            rtol=1e-6,
        )


def test_a_series_of_another_basis_is_refused_with_the_conversion():
    series = np.polynomial.Chebyshev([1.0, 2.0])
    with pytest.raises(srcad.UnsupportedSyntax, match=r"Chebyshev series.*convert"):
        srcad.grad(lambda a: series(a))(0.5)


GROUPS = {"labels": np.array([1, 0, 1, 3])}


def grouped(x):
    """Sums by label: np.unique's inverse of a global label array, then weighted counts."""
    _, inverse = np.unique(GROUPS["labels"], return_inverse=True)
    by_group = np.bincount(inverse, weights=x)
    return np.sum(by_group**2) + np.sum(np.bincount(GROUPS["labels"], x * x, minlength=6))


def counted_by_data(x, k):
    return np.sum(np.bincount(k, weights=x))


def test_unique_of_global_labels_and_weighted_counts():
    """np.unique of a global integer array had no derivative rule (it needs none: its
    values are fixed when compiling and checked on every call), nor np.bincount's weights."""
    compiled = srcad.value_and_grad(grouped)
    x = np.array([0.3, -1.2, 2.0, 0.7])
    kept = GROUPS["labels"].copy()
    try:
        for labels in (kept, np.array([2, 2, 0, 1])):  # changed in place: recompiled
            GROUPS["labels"][:] = labels
            value, slopes = compiled(x)
            assert value == pytest.approx(grouped(x), rel=1e-12)
            np.testing.assert_allclose(slopes, srcad.numerical_grad(grouped, x), rtol=1e-6)
    finally:
        GROUPS["labels"][:] = kept
    with pytest.raises(srcad.UnsupportedSyntax, match="how many bins depends on their values"):
        srcad.grad(counted_by_data)(x, np.array([0, 1, 1, 2]))


SHIFT = {"c": 1.0}
NONSYMMETRIC = np.array([[2.0, 0.3, 0.1], [0.2, 1.0, 0.4], [0.0, 0.5, 3.0]])


def squared_eigenvalues(x):
    return np.sum(np.linalg.eigvals(NONSYMMETRIC + np.diag(x) * SHIFT["c"]) ** 2)


def test_eigvals_is_eigs_eigenvalues():
    """np.linalg.eigvals had no derivative rule while np.linalg.eig had one (found by a
    probe)."""
    x = np.array([0.1, 0.2, 0.3])
    for c in (1.0, 2.0):  # a global the function reads, changed
        SHIFT["c"] = c
        try:
            value, grad = srcad.value_and_grad(squared_eigenvalues)(x)
            assert value == pytest.approx(squared_eigenvalues(x), rel=1e-12)
            np.testing.assert_allclose(
                grad, srcad.numerical_grad(squared_eigenvalues, x), rtol=1e-6
            )
        finally:
            SHIFT["c"] = 1.0
