"""Large backward-pass ``np.where`` of arrays or with a zero branch, without branches
(``srcad.codegen.select``, ``srcad.runtime.select``).

Checked: the runtime functions give NumPy's ``where`` bit for bit (nan, inf and -0.0 kept,
+0.0 elsewhere, float32 and float64, transposed and strided arrays) and hand other arguments
to it; the generated code of a wide ReLU layer calls them where the array is large and keeps
``np.where`` where it is small and in the forward pass; the gradients of ``np.maximum`` of
two arrays (both branches) and of ``np.minimum``, in reverse and forward mode, agree with
central differences, also after a global changed; a further derivative reads the plain
spelling; the numba variant (also after the global changed) and its loop (``where_values``)
agree with NumPy, and so does the array-API variant.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad
from srcad.codegen.reuse import plain_source
from srcad.runtime.select import kept_where, picked_where, zeroed_where

RNG = np.random.default_rng(5)
X = RNG.normal(size=(256, 40))  # h below is 256 x 48: 12288 numbers, above the threshold
SETTINGS = {"scale": 1.0, "ceiling": 0.8}


def relu_layer(w, b):
    h = np.maximum(X @ w + b, 0.0)
    return np.sum(h**2) * SETTINGS["scale"]


def small_relu_layer(w, b):
    h = np.maximum(X[:8] @ w + b, 0.0)
    return np.sum(h**2)


def larger_of_two(w, v):
    m = np.maximum(X @ w, X @ v)  # the cotangent goes to w where w's side wins, else to v
    return np.sum(np.minimum(m, SETTINGS["ceiling"]) ** 2)


def forward_where(w):
    t = X @ w
    return np.sum(np.where(t > 0.0, t, 0.0) ** 2)


def _args():
    return 0.3 * RNG.normal(size=(40, 48)), 0.1 * RNG.normal(size=48)


def _two_sides_away_from_kinks(margin: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """``w`` and ``v`` of ``larger_of_two`` where no element of ``X @ w`` is within
    ``margin`` of ``X @ v``, and no larger one within it of either ceiling: central
    differences step across no kink (where the gradient jumps)."""
    while True:
        w, v = 0.3 * RNG.normal(size=(40, 48)), 0.3 * RNG.normal(size=(40, 48))
        a, b = X @ w, X @ v
        larger = np.maximum(a, b)
        gaps = [np.abs(a - b), np.abs(larger - 0.8), np.abs(larger - 0.3)]
        if min(gap.min() for gap in gaps) > margin:
            return w, v


def _code(transformed) -> list[str]:
    body = srcad.source(transformed).split("_unchecked(", 1)[1]
    return [line.split("#")[0].strip() for line in body.splitlines()]


def _special(dtype) -> tuple[np.ndarray, np.ndarray]:
    x = RNG.normal(size=(64, 33)).astype(dtype)
    x[0, :6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, -3.0]
    condition = RNG.normal(size=x.shape) > 0.0
    condition[0, :6] = [True, True, True, True, False, False]
    condition[1, :6] = [False, False, False, False, True, True]
    x[1, :6] = x[0, :6]
    return condition, x


def _agrees_also_after(transformed, fun, args: tuple, setting: str, value: float) -> None:
    """``transformed(*args)`` agrees with central differences of ``fun`` along random
    directions (two evaluations each, where the full gradient of thousands of inputs takes
    thousands), and again after ``SETTINGS[setting]`` changed to ``value``."""
    kept = SETTINGS[setting]
    try:
        for _ in range(2):
            gradients = transformed(*args)
            for position, gradient in enumerate(gradients):
                for _direction in range(3):
                    _agrees_along_a_direction(fun, args, position, gradient)
            SETTINGS[setting] = value
    finally:
        SETTINGS[setting] = kept


def _agrees_along_a_direction(fun, args: tuple, position: int, gradient: np.ndarray) -> None:
    direction = RNG.normal(size=gradient.shape)
    step = 1e-6

    def moved(sign: float) -> float:
        shifted = list(args)
        shifted[position] = args[position] + sign * step * direction
        return fun(*shifted)

    difference = (moved(1.0) - moved(-1.0)) / (2 * step)
    scale = np.abs(gradient).sum() * np.abs(direction).max()
    np.testing.assert_allclose(np.vdot(gradient, direction), difference, atol=1e-7 * scale)


def _close(got: np.ndarray, differences: np.ndarray) -> None:
    """Central differences are good to about 1e-6 of the gradient's largest entries."""
    np.testing.assert_allclose(got, differences, rtol=1e-6, atol=1e-6 * np.abs(differences).max())


def _same_bits(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(np.signbit(got), np.signbit(expected))
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("view", ["plain", "transposed", "strided", "column"])
def test_the_runtime_functions_give_numpys_where_bit_for_bit(dtype, view):
    condition, x = _special(dtype)
    pick = {
        "plain": lambda a: a,
        "transposed": lambda a: a.T,
        "strided": lambda a: a[::3, 1::2],
        "column": lambda a: a[:, 0],
    }[view]
    condition, x = pick(condition), pick(x)
    _same_bits(kept_where(condition, x), np.where(condition, x, 0.0))
    _same_bits(zeroed_where(condition, x), np.where(condition, 0.0, x))
    y = pick(RNG.normal(size=_special(dtype)[1].shape).astype(dtype))
    _same_bits(picked_where(condition, x, y), np.where(condition, x, y))
    _same_bits(picked_where(condition, y, x), np.where(condition, y, x))
    assert not np.shares_memory(kept_where(condition, x), x)
    assert not np.shares_memory(picked_where(condition, x, y), y)


@pytest.mark.parametrize(
    "condition, x",
    [
        (np.array([True, False]), np.array([3, 4])),  # integers
        (np.array([[True], [False]]), np.ones((2, 3))),  # a broadcast condition
        (np.array([1.0, 0.0]), np.array([2.0, 5.0])),  # a float condition
        (np.array([True, False]), 2.5),  # a number
    ],
)
def test_other_arguments_go_to_numpys_where(condition, x):
    _same_bits(np.asarray(kept_where(condition, x)), np.where(condition, x, 0.0))
    _same_bits(np.asarray(zeroed_where(condition, x)), np.where(condition, 0.0, x))
    _same_bits(np.asarray(picked_where(condition, x, 1.5)), np.where(condition, x, 1.5))


@pytest.mark.slow  # a wide layer, compiled and checked twice
def test_a_wide_relu_layer_calls_the_runtime_function_and_is_right():
    w, b = _args()
    gradient = srcad.grad(relu_layer, argnums=(0, 1))
    gradient(w, b)
    code = _code(gradient)
    assert any(line.startswith("dt1 = kept_where(t1 >= 0.0, ") for line in code), code
    assert "from srcad.runtime.select import kept_where" in srcad.source(gradient)
    _agrees_also_after(gradient, relu_layer, (w, b), "scale", -2.0)


@pytest.mark.slow
def test_small_arrays_and_the_forward_pass_keep_numpys_where():
    w, b = _args()
    small = srcad.grad(small_relu_layer, argnums=(0, 1))
    small(w, b)
    assert "kept_where" not in srcad.source(small)
    assert any("np.where(" in line for line in _code(small))
    forward = srcad.grad(forward_where)
    _close(forward(w), srcad.numerical_grad(forward_where, w))
    code = _code(forward)
    assert "t2 = np.where(t1, t, 0.0)" in code and "dt = kept_where(t1, dt2)" in code, code


@pytest.mark.parametrize("mode", ["reverse", pytest.param("forward", marks=pytest.mark.slow)])
def test_both_branches_of_a_maximum_and_a_minimum_are_right(mode):
    w, v = _two_sides_away_from_kinks()
    jacobian = srcad.grad if mode == "reverse" else srcad.jacfwd
    transformed = jacobian(larger_of_two, argnums=(0, 1))
    _agrees_also_after(transformed, larger_of_two, (w, v), "ceiling", 0.3)  # another mask
    text = srcad.source(transformed)
    used = {"reverse": ("kept_where(", "zeroed_where("), "forward": ("picked_where(",)}[mode]
    assert all(call in text for call in used), text


def test_a_further_derivative_reads_the_plain_spelling():
    w, b = _args()
    gradient = srcad.grad(relu_layer, argnums=1)
    gradient(w, b)
    plain = plain_source(srcad.source(gradient))
    assert "kept_where" not in plain and "srcad.runtime.select" not in plain
    assert "np.where(t1 >= 0.0, " in plain
    direction = RNG.normal(size=b.shape)
    hvp = srcad.hvp(lambda bias: relu_layer(w, bias), (b,), (direction,))
    step = 1e-6
    expected = (gradient(w, b + step * direction) - gradient(w, b - step * direction)) / (2 * step)
    np.testing.assert_allclose(hvp, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_numba_variant_agrees(dtype):
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    w, v = (a.astype(dtype) for a in _two_sides_away_from_kinks())
    transformed = srcad.grad(larger_of_two, argnums=(0, 1), backend="numba")
    try:
        for ceiling in (0.8, 0.3):  # the second call reads the changed global: another mask
            SETTINGS["ceiling"] = ceiling
            expected = srcad.grad(larger_of_two, argnums=(0, 1))(w, v)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NumbaFallbackWarning)
                got = transformed(w, v)
            # float32 sides of a float64 global X, and a Python float ceiling next to float64
            # values: numba's single-precision code would round the ceiling to float32
            fell_back = [c for c in caught if issubclass(c.category, NumbaFallbackWarning)]
            assert not fell_back or (dtype == np.float32 and ceiling == 0.8), fell_back
            assert not fell_back or "float64 as well as float32" in str(fell_back[0].message)
            for g, e in zip(got, expected, strict=True):
                assert g.dtype == e.dtype
                rtol = 1e-12 if dtype == np.float64 else 1e-5
                np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-6)
            if dtype == np.float64:  # central differences of the plain function, now
                now = srcad.numerical_grad(larger_of_two, w, v, argnums=(0, 1))
                for g, e in zip(got, now, strict=True):
                    _close(g, e)
    finally:
        SETTINGS["ceiling"] = 0.8
    assert "where_values(" in srcad.source(transformed, backend="numba")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_numba_loop_gives_numpys_where(dtype):
    pytest.importorskip("numba")
    import numba

    from srcad.runtime.numba_arrays import where_values

    @numba.njit
    def picked(condition, x, y):
        return where_values(condition, x, y)

    condition, x = _special(dtype)
    y = RNG.normal(size=x.shape).astype(dtype)
    zero = dtype(0.0)
    for c, a, b in [(condition, x, zero), (condition, zero, x), (condition, x, y)]:
        _same_bits(picked(c, a, b), np.where(c, a, b))
    _same_bits(picked(condition.T, x.T, zero), np.where(condition.T, x.T, zero))
    wide = np.ones((1, x.shape[1]), dtype)  # a broadcast: numba's own where
    _same_bits(picked(condition, wide, zero), np.where(condition, wide, zero))


def test_the_array_api_variant_agrees():
    xp = pytest.importorskip("array_api_strict")
    w, b = _args()
    expected = srcad.grad(relu_layer, argnums=(0, 1))(w, b)
    got = srcad.grad(relu_layer, argnums=(0, 1))(xp.asarray(w), xp.asarray(b))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(g), e, rtol=1e-12, atol=1e-14)
