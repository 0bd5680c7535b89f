"""Remainders (``%``, np.mod/np.remainder, np.fmod, math.fmod) and constant masks.

x mod y = x - y floor(x / y) and fmod(x, y) = x - y trunc(x / y) have the derivatives 1 in x
and -floor(x / y) (-trunc(x / y)) in y away from the jumps, where x / y is an integer. Every
gradient here is compared with central differences at points whose x / y is at least 0.14
away from an integer, with negative values on both sides, in reverse and in forward mode.

A comparison of compile-time arrays (``np.arange(3.0) > 0.5``) is a constant mask. A chain
of them (``0.5 < a < 3.5``) needs single truth values, in Python as in srcad: a clear error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import srcad

# x / y = 1.86, -2.72, -0.58, 0.73: each pair is inside an interval of floor and of trunc
X = np.array([1.3, -2.45, 0.35, -0.8])
Y = np.array([0.7, 0.9, -0.6, -1.1])


def _is_away_from_jumps(x, y):
    quotient = np.asarray(x / y)
    return bool(np.all(np.abs(quotient - np.round(quotient)) > 0.1))


def mod_literal(x):
    return np.sum(np.sin(x) * (x % 2.0))


def mod_scalar(x):
    return (x % 2.0) ** 2


def mod_both(x, y):
    return np.sum(np.mod(x, y) * x + y)


def remainder_both(x, y):
    return np.sum(np.remainder(x, y) ** 2)


def remainder_scalar_divisor(x, y):
    return np.sum(np.remainder(x, y) * np.cos(x))


def fmod_both(x, y):
    return np.sum(np.fmod(x, y) ** 2 + x * y)


def math_fmod(x, y):
    return math.fmod(x, y) * x + y


def mod_operator_both(x, y):
    return np.sum((x % y) * y)


ARRAY_CASES = [
    (mod_both, (X, Y)),
    (remainder_both, (X, Y)),
    (remainder_scalar_divisor, (X, np.float64(-0.7))),
    (fmod_both, (X, Y)),
    (mod_operator_both, (X, Y)),
    (math_fmod, (-2.45, 0.9)),
    (math_fmod, (1.3, -0.7)),
]


@pytest.mark.parametrize(("fun", "args"), ARRAY_CASES, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_remainder_gradients_match_central_differences(fun, args, mode):
    assert _is_away_from_jumps(*args)
    got = srcad.grad(fun, argnums=(0, 1), mode=mode)(*args)
    want = srcad.numerical_grad(fun, *args, argnums=(0, 1))
    for got_part, want_part in zip(got, want, strict=True):
        np.testing.assert_allclose(got_part, want_part, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("x", [X, np.array([3.3, -0.7, -5.1, 0.45])])
def test_percent_with_a_float_literal(x):
    assert _is_away_from_jumps(x, 2.0)
    got = srcad.grad(mod_literal)(x)
    np.testing.assert_allclose(got, srcad.numerical_grad(mod_literal, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("x", [3.3, -0.7, -5.1])
def test_percent_on_a_scalar(x):
    # d (x mod 2)^2 / dx = 2 (x mod 2): not the zero a derivative-free % would give
    assert srcad.grad(mod_scalar)(x) == pytest.approx(2 * (x % 2.0), rel=1e-12)


def test_jvp_of_fmod_in_both_arguments():
    rng = np.random.default_rng(0)
    x_dot, y_dot = rng.normal(size=4), rng.normal(size=4)
    value, tangent = srcad.jvp(fmod_both, (X, Y), (x_dot, y_dot))
    eps = 1e-6
    upper = fmod_both(X + eps * x_dot, Y + eps * y_dot)
    lower = fmod_both(X - eps * x_dot, Y - eps * y_dot)
    assert value == pytest.approx(fmod_both(X, Y))
    assert tangent == pytest.approx((upper - lower) / (2 * eps), rel=1e-6)


def remainder_sum(x, y):
    return np.sum(np.remainder(x, y))


def fmod_sum(x, y):
    return np.sum(np.fmod(x, y))


def test_fmod_and_remainder_differ_in_the_divisor_gradient():
    """With signs that differ, floor and trunc differ: -floor(-2.72) = 3, -trunc(-2.72) = 2."""
    x, y = np.array([-2.45]), np.array([0.9])
    d_remainder = srcad.grad(remainder_sum, argnums=1)(x, y)
    d_fmod = srcad.grad(fmod_sum, argnums=1)(x, y)
    np.testing.assert_allclose(d_remainder, [3.0])
    np.testing.assert_allclose(d_fmod, [2.0])


def floor_division(x):
    return x // 2.0


def test_floor_division_of_floats_is_a_step_as_np_floor_is():
    """``x // 2.0`` is floor(x / 2.0): slope 0 away from the jumps (it was refused, while
    ``np.floor(x / 2.0)`` was not)."""
    for mode in ("reverse", "forward"):
        for x in (3.3, -1.7):
            assert srcad.grad(floor_division, mode=mode)(x) == srcad.numerical_grad(
                floor_division, x
            )


def periodic_pairs(x):
    n = x.shape[0]
    total = 0.0
    for i in range(n):
        total = total + x[i] * x[(i + 1) % n] + x[i] % 1.5
    return total


def test_integer_remainder_on_a_loop_counter_next_to_a_float_one():
    x = np.array([0.3, -1.1, 2.2, 0.8, -0.4])
    gradient = srcad.grad(periodic_pairs)
    got = gradient(x)
    np.testing.assert_allclose(got, srcad.numerical_grad(periodic_pairs, x), rtol=1e-6)
    assert "(i + 1) % 5" in srcad.source(gradient)


# --- comparisons of compile-time arrays -----------------------------------------------------
def constant_mask(x):
    return np.sum(np.where(np.arange(3.0) > 0.5, x, 0.0) ** 2)


def combined_constant_masks(x):
    a = np.arange(5.0)
    mask = np.logical_and(0.5 < a, a < 3.5)
    return np.sum(np.where(mask, np.sin(x), x))


def chained_constant_arrays(x):
    mask = 0.5 < np.arange(5.0) < 3.5
    return np.sum(np.where(mask, np.sin(x), x))


def scalar_chain(x):
    if 0 < x.shape[0] < 5:
        return np.sum(x**3)
    return np.sum(x)


@pytest.mark.parametrize(
    ("fun", "x"),
    [
        (constant_mask, np.array([0.4, -1.2, 2.5])),
        (combined_constant_masks, np.array([0.4, -1.2, 2.5, 0.9, -0.3])),
        (scalar_chain, np.array([0.4, -1.2, 2.5])),
        (scalar_chain, np.linspace(-1.0, 1.0, 6)),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_comparisons_of_constants(fun, x):
    got = srcad.grad(fun)(x)
    np.testing.assert_allclose(got, srcad.numerical_grad(fun, x), rtol=1e-6, atol=1e-8)


def test_a_constant_mask_selects_the_derivative():
    np.testing.assert_allclose(
        srcad.grad(combined_constant_masks)(np.ones(5)),
        np.where([False, True, True, True, False], np.cos(1.0), 1.0),
    )


def test_a_chain_of_constant_arrays_is_a_clear_error():
    with pytest.raises(ValueError, match="truth value"):
        chained_constant_arrays(np.ones(5))
    with pytest.raises(srcad.UnsupportedSyntax, match=r"chains comparisons of arrays") as info:
        srcad.grad(chained_constant_arrays)(np.ones(5))
    assert "test_mod_and_masks.py" in str(info.value) and "np.logical_and" in str(info.value)


PERIOD = {"value": 0.7}


def cycles_by_divmod(x):
    # a float: laps is piecewise constant, rest moves with x
    laps, rest = divmod(x, PERIOD["value"])
    return rest * x + laps


def counts_by_divmod(x):
    steps = int(x * 10.0)
    groups, left = divmod(steps, 3)  # ints from data: no derivative
    return x * (groups + left)


@pytest.mark.parametrize("fun", [cycles_by_divmod, counts_by_divmod])
@pytest.mark.parametrize("x", [2.34, 0.47, -1.26])  # away from the jumps
def test_divmod_is_python_floor_and_remainder(fun, x, monkeypatch):
    """The builtin divmod was refused where // and % were accepted."""
    transformed = srcad.value_and_grad(fun)
    for period in (0.7, 0.9):  # the world changed: read again
        monkeypatch.setitem(PERIOD, "value", period)
        value, gradient = transformed(x)
        assert value == pytest.approx(fun(x), rel=1e-15)
        assert gradient == pytest.approx(srcad.numerical_grad(fun, x), rel=1e-6)


T, F = True, False
MASK_INDEXES = {  # a constant mask, with the indexes around it, into a 3x4 array
    "rows": np.array([T, F, T]),
    "columns": (slice(None), np.array([T, F, T, T])),
    "after an ellipsis": (Ellipsis, [T, T, F, T]),
    "whole": np.arange(12).reshape(3, 4) % 5 > 1,
    "with a new axis": (None, np.array([F, T, T])),
    "and an int": (np.array([T, T, F]), 2),
    "a Python bool": True,
    "rows too many": np.array([T, F, T, F]),
    "rows too few": np.array([T, F]),
    "columns too few": (slice(None), np.array([T, F, T])),
    "whole transposed": np.ones((4, 3), bool),
    "after an ellipsis, too many": (Ellipsis, [T, T, F, T, F]),
    "after NumPy's True": (np.True_, slice(None), np.array([T, F, T, T])),  # a new axis
    "a 0-d True": np.array(True),
    "a 0-d False": np.array(False),
    "after a 0-d True, too few": (np.array(True), np.array([T, F])),
    "an empty list": [],  # no positions: ints, as NumPy takes it (not a float array)
}


@pytest.mark.sampled(5)
@pytest.mark.parametrize("name", MASK_INDEXES)
def test_a_constant_mask_is_checked_against_the_shape_it_indexes(name):
    """A constant mask of another length than its axis: NumPy raises IndexError; srcad
    took the mask's positions, which indexed the shorter array (a gradient where the plain
    function has none), or raised out of its generated code. A single bool (np.True_, a 0-d
    bool array) is a new axis, as NumPy makes it (it was taken for an axis, then refused,
    or raised an internal error; probe AU)."""
    index = MASK_INDEXES[name]

    def read(M):
        return np.sum(np.sin(M[index]))

    def written(M):
        y = M * 1.0
        y[index] = 0.5
        return np.sum(np.sin(y) * M)

    M = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    for f in (read, written):
        try:
            f(M.copy())
        except IndexError:
            with pytest.raises(srcad.SrcadError, match="boolean index does not match") as error:
                srcad.grad(f)(M)
            assert "test_mod_and_masks.py" in str(error.value)
            continue
        for mode in ("reverse", "forward"):
            np.testing.assert_allclose(
                srcad.grad(f, mode=mode)(M), srcad.numerical_grad(f, M), rtol=1e-6, atol=1e-9
            )


OFFSET = {"scale": 1.0}
DIAGONALS = [
    lambda X: np.sum(np.diag(X, 5) ** 3),  # past the matrix: empty
    lambda X: np.sum(np.diag(X, -4) ** 3),
    lambda X: np.sum(np.diag(X, 3) ** 3),
    lambda X: np.sum(np.diagonal(X, 1, 1, 0) ** 2),
    lambda X: np.sum(np.log(X.diagonal() + 2.0)),
]


@pytest.mark.sampled(2)
@pytest.mark.parametrize("diagonal", DIAGONALS)
def test_the_gradient_of_a_square_matrixs_diagonal_at_any_offset(diagonal):
    """np.diag(g, k) builds it; an offset past the matrix raised an internal error (probe AV
    F9)."""

    def f(X):
        return diagonal(X) * OFFSET["scale"] + np.sum(X)

    X = np.arange(16.0).reshape(4, 4) / 10.0
    for mode in ("reverse", "forward"):
        gradient = srcad.grad(f, mode=mode)
        for scale in (1.0, -0.5):  # a second call after the global changed
            OFFSET["scale"] = scale
            np.testing.assert_allclose(
                gradient(X), srcad.numerical_grad(f, X), rtol=1e-6, atol=1e-8
            )
    OFFSET["scale"] = 1.0
