"""Casts to integers and booleans are steps: no derivative passes through them (NumPy
truncates), in reverse and forward mode, also where a float is written into an int array."""

import numpy as np
import pytest

import srcad

TABLE = np.sin(3 * np.linspace(0.0, 1.0, 11))  # a global the second call changes


def table_lookup(x):
    """Linear interpolation by hand: the cell index is a cast, the weight is not."""
    i = (x / 0.1).astype(int)
    t = x / 0.1 - i
    return np.sum((1 - t) * TABLE[i] + t * TABLE[i + 1])


def fractional_part(x):
    return np.sum((x - x.astype(np.int64)) ** 2)


def by_asarray(x):
    return np.sum((x - np.asarray(x, dtype=int)) ** 2)


def by_array_constructor(x):
    return np.sum((x - np.array(x, dtype=np.int32)) ** 2)


def by_scalar_type(x):
    return np.sum((x - np.int64(x[0])) ** 2)


def masked_by_bool(x):
    return np.sum(x * x.astype(bool))


def unsigned(x):
    return np.sum(np.abs(x).astype(np.uint32) * x)


def written_into_an_int_array(x):
    out = np.zeros(3, dtype=int)
    out[:] = x * 10
    return np.sum(out * 1.0) + np.sum(x**2)


def filled_in_a_loop(x):
    out = np.arange(3)
    for i in range(3):
        out[i] = np.sin(x[i]) * 10
    return np.sum(out * x)


FUNCTIONS = [
    table_lookup,
    fractional_part,
    by_asarray,
    by_array_constructor,
    by_scalar_type,
    masked_by_bool,
    unsigned,
    written_into_an_int_array,
    filled_in_a_loop,
]


@pytest.mark.sampled(2)
@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_integer_casts_have_slope_zero(function, mode):
    x = (
        np.array([0.23, 0.57, 0.81])
        if function is not masked_by_bool
        else np.array([1.2, 0.3, -0.4])
    )
    gradient = srcad.grad(function, mode=mode)
    try:
        for scale in (1.0, -2.0):
            TABLE[:] = scale * np.sin(3 * np.linspace(0.0, 1.0, 11))
            np.testing.assert_allclose(
                gradient(x), srcad.numerical_grad(function, x), rtol=1e-6, atol=1e-8
            )
    finally:
        TABLE[:] = np.sin(3 * np.linspace(0.0, 1.0, 11))


def test_no_adjoint_flows_into_an_integer_value():
    gradient = srcad.grad(fractional_part)
    gradient(np.array([1.23, 2.71]))
    assert ".astype(np.float64)" not in srcad.source(gradient)


def adds_floats_into_an_int_array(x):
    counts = np.zeros(3, dtype=int)
    counts += x
    return np.sum(counts * x)


def test_adding_floats_into_an_int_array_in_place_raises_as_numpy_does():
    x = np.array([0.5, 1.5, 2.5])
    with pytest.raises(TypeError, match="Cannot cast ufunc"):
        adds_floats_into_an_int_array(x)
    with pytest.raises(srcad.SrcadError, match="UFuncTypeError") as error:
        srcad.grad(adds_floats_into_an_int_array)(x)
    assert error.value.file == __file__


def adds_wider_values_into_a_float32_array(x):
    y = x * np.float32(2.0)
    y += np.arange(3)  # float32 + int64 computes in float64; written back as float32
    y *= TABLE[:3]  # float64 values, written back as float32
    return np.sum(y**2)


def test_an_in_place_update_keeps_the_arrays_dtype_as_numpy_does():
    """y32 += k (k int64) was float64 in srcad, float32 in NumPy (probe AG)."""
    x = np.array([0.5, -1.5, 2.25], np.float32)
    try:
        for table in (TABLE.copy(), TABLE * 3.0):  # a second call after the global changed
            TABLE[:] = table
            value, gradient = srcad.value_and_grad(adds_wider_values_into_a_float32_array)(x)
            expected = adds_wider_values_into_a_float32_array(x)
            assert type(value) is type(expected) is np.float32 and value == expected
            assert gradient.dtype == np.float32
            wide = srcad.numerical_grad(adds_wider_values_into_a_float32_array, x, eps=1e-2)
            np.testing.assert_allclose(gradient, wide, rtol=2e-3)
    finally:
        TABLE[:] = np.sin(3 * np.linspace(0.0, 1.0, 11))


def constants_updated_in_place(x):
    y = np.ones(3, np.float32)
    y += np.full(3, 1e-9)  # float32 stays: y is still 1
    k = np.full(3, 2**31 - 1, np.int32)
    k += np.ones(3, np.int64)  # int32 wraps, as NumPy writes it back
    return np.sum((y - 1.0) * 1e9 * x) + np.sum(k * x) * 1e-9


def test_an_in_place_update_of_constants_keeps_their_dtype():
    """Both sides known when compiling: the value was folded in float64 / int64 (probe AK)."""
    x = np.array([0.3, -0.5, 0.9])
    value, gradient = srcad.value_and_grad(constants_updated_in_place)(x)
    assert value == pytest.approx(constants_updated_in_place(x), rel=1e-12)
    np.testing.assert_allclose(gradient, np.full(3, -(2**31) * 1e-9), rtol=1e-12)


def grows_in_place(x):
    y = x[:1] * 2.0
    y += x  # NumPy raises: the result's shape (3,) does not fit y's (1,)
    return np.sum(y)


def test_an_in_place_update_that_would_grow_the_array_raises_as_numpy_does():
    with pytest.raises(ValueError, match="broadcast"):
        grows_in_place(np.array([0.3, -0.5, 0.9]))
    with pytest.raises(srcad.SrcadError, match="shape \\(3,\\).*shape \\(1,\\)") as error:
        srcad.grad(grows_in_place)(np.array([0.3, -0.5, 0.9]))
    assert error.value.file == __file__


def doubled_mask_and_counts(x, mask, counts):
    return np.sum(x * (mask + mask)) + np.sum(x * (counts + counts))  # bool: or; int8: wraps


def test_a_sum_of_a_bool_or_int_array_with_itself_is_numpys():
    """``m + m`` was simplified to ``2.0 * m``: 2 for a mask's True (NumPy: True), no wrap
    for int8 (probe AN)."""
    x = np.array([0.3, -1.2, 0.8])
    mask = np.array([True, False, True])
    counts = np.array([100, -128, 7], np.int8)
    value, gradient = srcad.value_and_grad(doubled_mask_and_counts)(x, mask, counts)
    assert value == pytest.approx(doubled_mask_and_counts(x, mask, counts), rel=1e-12)
    np.testing.assert_allclose(gradient, mask + (counts + counts).astype(float))


def written_with_leading_ones(x):
    y = np.zeros(4)
    y[1:3] = np.ones((1, 2)) * x[0]  # NumPy drops the leading 1
    M = np.zeros((2, 2))
    M[0] = x[None] * 2.0
    return np.sum(y**2 * x[1]) + np.sum(M**3)


def test_a_write_of_a_value_with_leading_ones_differentiates_in_reverse_mode():
    """Reverse mode raised an InternalError (probe AO); forward mode was right."""
    x = np.array([0.3, -0.7])
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(
            srcad.grad(written_with_leading_ones, mode=mode)(x),
            srcad.numerical_grad(written_with_leading_ones, x),
            rtol=1e-6,
        )
