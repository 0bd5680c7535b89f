"""Elementwise functions of the numba variant run by NumPy's loops on large arrays
(``srcad.backends.numba_numpy_loops``, ``srcad.runtime.numba_ufuncs``).

Checked: the variant's source calls ``numpy_tanh`` and ``numpy_tanh_into`` where it called
``np.tanh`` and imports them; compiled, the helpers give NumPy's values exactly on large
float arrays (contiguous or not, into a new array, into another or the same array), numba's
on numbers, small and integer arrays; ``tanh`` of contiguous arrays is within 3 units in the
last place of NumPy's (1 in float32), special values included; a row times a matrix agrees
with NumPy's product, and so does a product of a float32 and a float64 array (in float64); an MLP layer's gradient on the numba backend agrees with the NumPy
backend to 1e-12 and with central differences, also after the world changed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad
from srcad.backends.numba_numpy_loops import respelled_ufuncs

SOURCE = '''
def f_grad_unchecked(x, dout=1.0):
    """Docstring."""
    h = np.tanh(x) + np.exp(np.log(x))
    np.sin(h, h)
    z = x @ h.T
    np.dot(x, h, z)
    y = np.cos(h, out=h)
    return np.sum(np.tanh(h)), np.sqrt(h)
'''


def test_the_source_calls_numpy_loops():
    pytest.importorskip("numba")
    source, called = respelled_ufuncs(SOURCE, "f_grad_unchecked")
    assert "h = numpy_tanh(x) + numpy_exp(numpy_log(x))" in source
    assert "numpy_sin_into(h, h)" in source
    assert "y = np.cos(h, out=h)" in source  # a keyword: left as it is
    assert "np.sum(numpy_tanh(h)), np.sqrt(h)" in source
    assert "z = numpy_matmul(x, h.T)" in source and "numpy_dot_into(x, h, z)" in source
    assert called == {
        "numpy_tanh",
        "numpy_exp",
        "numpy_log",
        "numpy_sin_into",
        "numpy_matmul",
        "numpy_dot_into",
    }


@pytest.mark.slow
def test_the_helpers_give_numpys_values_on_large_arrays():
    numba = pytest.importorskip("numba")
    from srcad.runtime import numba_ufuncs as loops

    @numba.njit
    def new_and_into(x, out):
        y = loops.numpy_tanh(x)
        loops.numpy_exp_into(x, out)
        loops.numpy_log_into(out, out)  # log(exp(x)) in place
        return y, loops.numpy_cos(0.5)

    rng = np.random.default_rng(2)
    for dtype in (np.float32, np.float64):
        wide = rng.normal(size=(64, 4 * loops.MIN_SIZE // 64)).astype(dtype)
        for x in (wide, wide[:, ::2]):  # contiguous, and a strided view
            out = np.empty(x.shape, dtype)
            y, number = new_and_into(x, out)
            np.testing.assert_array_equal(out, np.log(np.exp(x)))
            assert y.dtype == dtype and number == pytest.approx(np.cos(0.5), rel=1e-15)
            if dtype == np.float32 or not x.flags.c_contiguous:  # else tanh_loop (below)
                np.testing.assert_array_equal(y, np.tanh(x))
    small = rng.normal(size=10)
    y, _ = new_and_into(small, np.empty(10))
    np.testing.assert_allclose(y, np.tanh(small), rtol=1e-15)  # numba's own function
    whole = numba.njit(lambda n: loops.numpy_tanh(n))(np.arange(5))
    np.testing.assert_allclose(whole, np.tanh(np.arange(5)), rtol=1e-15)


@pytest.mark.slow
def test_matrix_products_are_numpys_for_large_float32_matrices():
    numba = pytest.importorskip("numba")
    from srcad.runtime import numba_ufuncs as loops

    @numba.njit
    def products(a, b, out):
        loops.numpy_dot_into(a, b, out)
        return loops.numpy_matmul(a, b)

    rng = np.random.default_rng(3)
    for dtype, rows in ((np.float32, 64), (np.float32, 1), (np.float64, 64)):
        a, b = rng.normal(size=(rows, 80)).astype(dtype), rng.normal(size=(80, 70)).astype(dtype)
        out = np.empty((rows, 70), dtype)
        product = products(a, b, out)
        if dtype == np.float32 and rows > 1:  # NumPy's own BLAS call: its very numbers
            np.testing.assert_array_equal(product, a @ b)
            np.testing.assert_array_equal(out, a @ b)
        else:  # numba's
            np.testing.assert_allclose(product, a @ b, rtol=1e-5)
            np.testing.assert_allclose(out, a @ b, rtol=1e-5)
        assert product.dtype == dtype


def _units_in_last_place(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got - want) / np.spacing(np.abs(want).astype(want.dtype))


@pytest.mark.slow
def test_tanh_loop_is_within_a_few_units_in_the_last_place_of_numpys():
    numba = pytest.importorskip("numba")
    from srcad.runtime import numba_ufuncs as loops

    tanh = numba.njit(lambda x: loops.numpy_tanh(x))
    tanh_into = numba.njit(lambda x, out: loops.numpy_tanh_into(x, out))
    rng = np.random.default_rng(7)
    scales = (1e-300, 1e-9, 1e-3, 0.1, 0.5, 1.0, 3.0, 10.0, 30.0)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -1e-310, 710.0, -1e300, 22.0, 19.1]
    for dtype, bound in ((np.float64, 3), (np.float32, 1)):
        with np.errstate(over="ignore", under="ignore"):
            numbers = np.concatenate([s * rng.standard_normal(20_000) for s in scales] + [special])
            x = numbers.astype(dtype)
        got, want = np.empty_like(x), np.tanh(x)
        loops.tanh_loop(x, got)  # the loop itself, at every size
        finite = np.isfinite(want)
        assert _units_in_last_place(got[finite], want[finite]).max() <= bound
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # -0.0 stays -0.0
        small = x[-3 * 500 :].reshape(3, 500)  # below MIN_SIZE: the loop in float32 too
        np.testing.assert_array_equal(tanh(small), got[-3 * 500 :].reshape(3, 500))
        in_place = small.copy()
        tanh_into(in_place, in_place)
        np.testing.assert_array_equal(in_place, got[-3 * 500 :].reshape(3, 500))


@pytest.mark.slow
def test_a_row_times_a_matrix_is_numpys_product():
    numba = pytest.importorskip("numba")
    from srcad.runtime import numba_ufuncs as loops

    product = numba.njit(lambda a, b: loops.numpy_matmul(a, b))
    rng = np.random.default_rng(8)
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-4)):
        for inner in (1, 2, 7, 784):  # odd: the last row on its own
            for row in (rng.normal(size=(1, inner)), rng.normal(size=inner)):
                matrix = rng.normal(size=(inner, 33)).astype(dtype)
                row = row.astype(dtype)
                got = product(row, matrix)
                assert got.shape == (row @ matrix).shape and got.dtype == dtype
                np.testing.assert_allclose(got, row @ matrix, rtol=rtol, atol=rtol * inner)
        for row in (np.ones((1, 3), dtype), np.ones(3, dtype)):
            with pytest.raises(ValueError):  # as NumPy: the inner sizes differ
                product(row, np.ones((4, 2), dtype))


@pytest.mark.slow
def test_a_product_of_float32_and_float64_arrays_is_computed_in_float64_as_numpys():
    numba = pytest.importorskip("numba")
    from srcad.runtime import numba_ufuncs as loops

    product = numba.njit(lambda a, b: loops.numpy_matmul(a, b))
    rng = np.random.default_rng(9)
    for a_shape, b_shape in (((1, 20), (20, 7)), ((5, 20), (20, 7)), ((20,), (20, 7))):
        a, b = rng.normal(size=a_shape), rng.normal(size=b_shape).astype(np.float32)
        for left, right in ((a, b), (b.T, a.T if a.ndim == 2 else a)):
            expected = left @ right
            got = product(left, right)
            assert got.dtype == expected.dtype == np.float64 and got.shape == expected.shape
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


SETTINGS = {"decay": 1e-3}


def layer(W, b, x, y):
    h = np.tanh(x @ W + b)
    log_p = h - np.log(np.sum(np.exp(h), axis=1, keepdims=True))
    return -np.sum(y * log_p) + SETTINGS["decay"] * np.sum(W**2)


@pytest.mark.slow
def test_a_layer_on_the_numba_backend_agrees_also_after_the_world_changed():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    rng = np.random.default_rng(4)
    W, b = 0.1 * rng.normal(size=(30, 200)), np.zeros(200)
    x, y = rng.normal(size=(64, 30)), np.eye(200)[rng.integers(0, 200, 64)]
    compiled = srcad.value_and_grad(layer, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        for decay in (1e-3, 0.3):  # the second call reads the changed global
            SETTINGS["decay"] = decay
            try:
                value, dW = compiled(W, b, x, y)
                want_value, want_dW = srcad.value_and_grad(layer)(W, b, x, y)
                index = (3, 17)
                step = np.zeros_like(W)
                step[index] = 1e-6
                expected = (layer(W + step, b, x, y) - layer(W - step, b, x, y)) / 2e-6
            finally:
                SETTINGS["decay"] = 1e-3
            assert value == pytest.approx(want_value, rel=1e-12)
            np.testing.assert_allclose(dW, want_dW, rtol=1e-12, atol=1e-14)
            assert dW[index] == pytest.approx(expected, rel=1e-5)
    assert "numpy_tanh" in srcad.source(compiled, backend="numba")


@pytest.mark.slow
def test_a_change_in_the_runtime_helpers_or_numbas_level_changes_the_variants_file(
    monkeypatch,
):
    """numba's disk cache keys on the variant's file: the helpers' source, numba's
    optimisation level and srcad's cache generation are in its name."""
    pytest.importorskip("numba")
    from pathlib import Path

    import numba.core.config

    from srcad.backends import numba_backend
    from srcad.runtime import numba_arrays, numba_special, numba_ufuncs

    level = f"\nNUMBA_OPT={int(numba.core.config.OPT)}\n".encode()
    level += numba_backend.CACHE_GENERATION
    calling = "from srcad.runtime.numba_ufuncs import numpy_tanh\n"
    ufuncs = Path(numba_ufuncs.__file__).read_bytes()
    assert numba_backend._unkeyed_inputs(calling) == ufuncs + level
    assert numba_backend._unkeyed_inputs("import numpy as np\n") == level
    both = calling + "from srcad.runtime.numba_arrays import add_at\n"
    expected = ufuncs + Path(numba_arrays.__file__).read_bytes() + level
    assert numba_backend._unkeyed_inputs(both) == expected
    special = "from srcad.runtime.numba_special import expit_values\n"
    with_special = Path(numba_special.__file__).read_bytes() + level
    assert numba_backend._unkeyed_inputs(special) == with_special
    monkeypatch.setattr(numba.core.config, "OPT", 0 if int(numba.core.config.OPT) else 3)
    assert numba_backend._unkeyed_inputs(both) != expected
