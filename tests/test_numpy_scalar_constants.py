"""NumPy scalars in the code keep their dtype as in NumPy's promotion, where Python numbers
do not: ``x32 * np.float64(1.5)`` and ``x32 * np.sqrt(2.0)`` are float64 arrays, and
``np.cov``, ``np.corrcoef``, ``np.interp`` and ``np.polyval`` (with a list of coefficients)
of float32 arrays are float64. The generated code computed these in float32 (the constant
written as a bare ``1.5``), a silent difference of dtype and value. Checked: the value is the
plain function's to the bit, the gradient has the argument's dtype and agrees with central
differences, also after the global the function reads changed."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

X32 = np.array([0.3, -1.2, 0.7, 2.1, -0.4, 1.5], dtype=np.float32)
SETTINGS = {"offset": np.float64(0.25)}


def times_a_numpy_float(x):
    return np.sum(x * np.float64(1.5) + np.sqrt(2.0) * x**2)


def with_a_global_numpy_float(x):
    return np.sum(np.tanh(x + SETTINGS["offset"] * np.float64(3.0)))


def covariances(x):
    return np.sum(np.cov(x.reshape(2, 3))) + np.sum(np.corrcoef(x.reshape(3, 2), rowvar=False))


def interpolated(x):
    return np.sum(np.interp(x, [-1.0, 0.0, 1.0], [0.5, 2.0, 1.0]) * x)


def polynomial(x):
    return np.sum(np.polyval([0.5, -1.0, 2.0], x) ** 2)


COUNT = {"two": np.int64(2)}


def times_numpy_ints(x):  # NumPy's ints promote too: float32 * int64 is float64
    return np.sum(x * COUNT["two"] + x**2 * np.int32(3))


def clipped_by_a_numpy_float(x):
    return np.sum(np.clip(x, np.float64(-1.0), 1.0) ** 2)


FUNCTIONS = [
    times_a_numpy_float,
    with_a_global_numpy_float,
    covariances,
    interpolated,
    polynomial,
    times_numpy_ints,  # were float32: the ints written as weak 2.0 and 3.0
    clipped_by_a_numpy_float,  # was float32: the bound a param, a Python float
]


def _check(fun):
    value, gradient = srcad.value_and_grad(fun)(X32)
    # computed in float64, as the plain function does (a float32 value compares equal to
    # the float64 one rounded: its type tells)
    assert type(value) is float and value == float(fun(X32))
    assert gradient.dtype == np.float32
    # the function computes in float64 from the float32 values: its central differences at
    # the same values in float64
    expected = srcad.numerical_grad(fun, X32.astype(np.float64))
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fun", FUNCTIONS, ids=lambda f: f.__name__)
def test_the_value_is_numpys_float64_and_the_gradient_agrees(fun):
    _check(fun)
    SETTINGS["offset"] = np.float64(-0.5)  # the world changed: read again
    try:
        _check(fun)
    finally:
        SETTINGS["offset"] = np.float64(0.25)


def test_the_generated_code_spells_the_numpy_scalar():
    gradient = srcad.grad(times_a_numpy_float)
    gradient(X32)
    assert "x * np.float64(1.5)" in srcad.source(gradient)


def test_a_float32_scalar_keeps_float16_arrays_float32_too():
    def scaled(x):
        return np.sum(x * np.float32(0.1))

    x16 = X32.astype(np.float16)
    value = srcad.value_and_grad(scaled)(x16)[0]
    assert value == float(scaled(x16))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_the_tangent_of_a_numpy_float_argument_is_one_too(mode):
    """Forward mode gave an np.float64 argument a Python float tangent, which np.astype of
    a cast in the code (np.float32(x)) could not take: AttributeError."""

    def cast_twice(x):
        return np.float64(x) * 2.0 + np.float32(x) ** 2

    x = np.float64(0.7)
    value, gradient = srcad.value_and_grad(cast_twice, mode=mode)(x)
    assert value == pytest.approx(float(cast_twice(x)), rel=1e-15)
    assert gradient == pytest.approx(2.0 + 2.0 * 0.7, rel=1e-6)
    assert srcad.jvp(cast_twice, (x,), (np.float64(1.0),))[1] == pytest.approx(gradient)


@pytest.mark.parametrize("cumulative", [np.cumsum, np.cumprod], ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_cumulative_sum_or_product_of_a_0d_array_is_of_shape_1(cumulative, mode):
    """NumPy gives shape (1,); reverse mode said 'internal: cotangent of shape (1,) for a
    value of shape ()', forward mode's cumprod divided by the number of axes, 0."""

    def running(x):
        return np.sum(cumulative(x, axis=0) ** 2)

    x = np.array(0.7)
    value, gradient = srcad.value_and_grad(running, mode=mode)(x)
    assert value == running(x) and np.shape(gradient) == ()
    np.testing.assert_allclose(gradient, srcad.numerical_grad(running, x), rtol=1e-6)


REDUCTIONS_OF_A_0D_ARRAY = [np.sum, np.prod, np.max, np.min, np.nansum, np.nanmax, np.ptp]


@pytest.mark.parametrize("reduction", REDUCTIONS_OF_A_0D_ARRAY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_ufunc_reduction_of_a_0d_array_over_axis_0_is_its_value(reduction, axis, mode):
    """NumPy's ufunc reductions take axis 0 or -1 of a 0-d array as no axis; srcad gave
    the cotangent an axis of length 1 ("np.broadcast_to cannot combine shapes (1,)")."""

    def reduced(x, scale):
        return reduction(x * scale, axis=axis) * x + x.sum(axis=axis)

    x, scale = np.array(0.7), 1.3
    value, gradient = srcad.value_and_grad(reduced, mode=mode)(x, scale)
    assert value == pytest.approx(float(reduced(x, scale)), rel=1e-15)
    np.testing.assert_allclose(gradient, srcad.numerical_grad(reduced, x, scale), rtol=1e-6)


WEIGHT = {"w": 1.0}


def accumulated_in_a_loop(x):
    total = 0.0  # a Python float that NumPy makes float32 at the first float32 term
    for i in range(len(x)):
        total += x[i] * x[i] * WEIGHT["w"]
    return total


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_python_float_carried_through_a_float32_loop_is_float32_as_in_numpy(mode):
    """srcad took the carried total for float64 (its guess for a Python float that meets
    NumPy values): the value was typed float64 where NumPy computes float32, and numba's
    variant summed in float64."""
    x = np.array([0.1, 0.7, -1.3], np.float32)
    for weight in (1.0, 3.0):  # a global read on every call
        WEIGHT["w"] = weight
        try:
            value, gradient = srcad.value_and_grad(accumulated_in_a_loop, mode=mode)(x)
            expected = accumulated_in_a_loop(x)
            assert type(value) is type(expected) is np.float32 and value == expected
            assert gradient.dtype == np.float32
            np.testing.assert_allclose(gradient, 2.0 * weight * x, rtol=1e-6)
        finally:
            WEIGHT["w"] = 1.0
