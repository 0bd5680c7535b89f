"""Elementwise values read only in part: the elements never read get a zero cotangent, and
zero times a slope that is NaN or inf there (``np.sqrt`` of a negative element, ``1 / x`` at
0) must stay zero, as the central differences of the plain function say."""

import warnings

import numpy as np
import pytest

import srcad

OFFSET = np.array([0.0, 0.0, 0.0, 0.0])  # a global the second call changes


def by_index(x):
    s = np.sqrt(x + OFFSET)
    return s[1] + 2.0 * s[2]


def by_slice(x):
    s = np.sqrt(x + OFFSET)
    return np.sum(s[1:] ** 2 * s[1:])


def in_a_loop_under_a_test(x):
    s = np.sqrt(x + OFFSET)
    total = 0.0
    for i in range(x.shape[0]):
        if x[i] + OFFSET[i] > 0.1:
            total = total + s[i]
    return total


def in_a_while_loop(x):
    s = np.log(x + OFFSET)
    total = 0.0
    i = 1
    while i < x.shape[0]:
        total = total + s[i] * x[i]
        i += 1
    return total


def through_elementwise_steps(x):
    s = 3.0 * np.sqrt(x + OFFSET) - 1.0
    return np.sum(s[1:])


def by_sorted_positions(x):
    s = 1.0 / (x + OFFSET)
    order = np.argsort(x + OFFSET)[1:]
    return np.sum(s[order] ** 2)


def over_rows(x):
    s = np.arcsin(x + OFFSET)
    total = 0.0
    for v in s[1:]:
        total = total + v * v
    return total


def through_moves(x):
    s = np.sqrt(x + OFFSET)
    return np.sum(s.copy()[1:]) + np.sum(s.reshape(2, 2)[1]) + np.sum(s.T.ravel()[2:])


def through_a_join(x):
    s = np.sqrt(x + OFFSET)
    return np.sum(np.concatenate([s, x])[1:4] ** 2) + np.sum(np.stack([s, x])[0, 2:])


FUNCTIONS = [
    by_index,
    by_slice,
    in_a_loop_under_a_test,
    in_a_while_loop,
    through_elementwise_steps,
    by_sorted_positions,
    over_rows,
    through_moves,
    through_a_join,
]
# the first element is where the slope is NaN or inf, and it is never read
POINTS = {
    "sqrt": np.array([-1.0, 0.25, 0.5, 0.16]),
    "zero": np.array([0.0, 0.25, 0.5, 0.16]),
}


def _numerical(function, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return srcad.numerical_grad(function, x)


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("point", sorted(POINTS))
def test_an_element_never_read_has_slope_zero(function, point):
    x = POINTS[point].copy()
    if function is by_sorted_positions:  # it reads all but the smallest: make x[0] it
        x[0] = -0.5 if point == "sqrt" else 0.0
    if function is over_rows:  # arcsin: x[0] outside [-1, 1] has a NaN slope
        x[0] = -2.0 if point == "sqrt" else 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = srcad.grad(function)(x)
        forward = srcad.jacfwd(function)(x)
    expected = _numerical(function, x)
    assert np.isfinite(expected).all() and expected[0] == 0.0
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(forward, expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("function", FUNCTIONS[:5], ids=lambda f: f.__name__)
def test_a_second_call_after_the_global_changed(function):
    """The unread element moves its NaN elsewhere: the same code reads the new values."""
    x = np.array([-1.0, 0.25, 0.5, 0.16])
    gradient = srcad.grad(function)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gradient(x)
        OFFSET[:] = [0.5, 0.1, 0.2, 0.3]
        try:
            got = gradient(x)
            expected = _numerical(function, x)
        finally:
            OFFSET[:] = 0.0
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)


def test_an_element_read_keeps_its_nan():
    """Read, the NaN is the plain function's value: its gradient stays NaN."""
    x = np.array([-1.0, 0.25, 0.5, 0.16])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = srcad.grad(lambda x: np.sqrt(x)[0] + np.sqrt(x)[1])(x)
    assert np.isnan(got[0]) and got[1] == pytest.approx(1.0)


def test_the_mask_is_on_the_cotangent_and_only_where_the_slope_may_not_be_finite():
    """``np.sqrt`` read in part gets ``np.where(np.logical_or(ds != 0.0, ...), ...)``;
    ``np.tanh`` (a finite slope wherever its input is finite) gets none."""
    x = np.array([0.5, 0.25, 0.5, 0.16])
    sqrt_gradient, tanh_gradient = srcad.grad(by_slice), srcad.grad(
        lambda x: np.tanh(x)[1:] @ x[1:]
    )
    sqrt_gradient(x)
    tanh_gradient(x)
    assert "np.logical_or(ds != 0.0, np.isfinite(" in srcad.source(sqrt_gradient)
    assert "np.where" not in srcad.source(tanh_gradient)


def test_the_trace_reads_the_diagonal_only():
    A = np.array([[1.0, -2.0], [-3.0, 4.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = srcad.grad(lambda A: np.trace(np.sqrt(A)))(A)
    np.testing.assert_allclose(got, np.diag(0.5 / np.sqrt(np.diag(A))))


def fit_at_its_optimum(x):
    grown = np.exp(x) * OFFSET_SCALE["k"]
    return (grown[0] - np.e * OFFSET_SCALE["k"]) ** 2 + grown[1]


OFFSET_SCALE = {"k": 1.0}


def test_the_hessian_at_a_point_where_a_cotangent_is_exactly_zero():
    """At the optimum the cotangent of grown[0] is exactly 0: the mask on it, differentiated
    as a constant, dropped d(cotangent) * slope and gave 0 for the curvature there."""
    x = np.array([1.0, 0.5])
    try:
        for k in (1.0, 2.0):
            OFFSET_SCALE["k"] = k
            expected = np.diag([2.0 * (k * np.e) ** 2, k * np.exp(0.5)])
            np.testing.assert_allclose(srcad.hessian(fit_at_its_optimum)(x), expected, rtol=1e-12)
            hvp = srcad.hvp(fit_at_its_optimum, (x,), (np.array([1.0, 0.0]),))
            np.testing.assert_allclose(hvp, expected[0], rtol=1e-12)
    finally:
        OFFSET_SCALE["k"] = 1.0


def test_second_derivatives_through_the_mask():
    x = np.array([-1.0, 0.25, 0.5, 0.16])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        hessian = srcad.hessian(by_slice)(x)
        gradient = srcad.grad(by_slice)
        rows = [_numerical(lambda x, k=k: gradient(x)[k], x) for k in range(1, 4)]
    assert np.all(hessian[0] == 0.0) and np.all(hessian[:, 0] == 0.0)
    np.testing.assert_allclose(hessian[1:], np.array(rows), rtol=1e-5, atol=1e-7)
