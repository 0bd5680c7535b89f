"""Reductions along an axis in the numba variant (``srcad.backends.numba_reductions``).

The respelling is checked on text (what each form becomes, what is left alone, lines kept),
and the compiled variant against the NumPy backend: functions with ``keepdims``, ``max``,
``min`` and ``mean`` along an axis and a mean over two axes, NaN included, compile without
falling back and agree.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad
from srcad.backends import NumbaFallbackWarning
from srcad.backends.numba_reductions import respelled_reductions

MODULE = '''import numpy as np


def f_grad_unchecked(x, dout=1.0):
    """docstring"""
    a = x.sum(axis=1, keepdims=True)  # line 3: comment kept
    b = np.max(x, axis=0) + x.min(axis=1).sum()
    c = x.mean(axis=1)
    d = x.sum(axis=(0, 1)) + np.max(x)
    e = np.amax(
        x, axis=1
    )
    return a, b, c, d, e
'''


def test_each_form_is_respelled_and_the_lines_stay():
    source, helpers = respelled_reductions(MODULE, "f_grad_unchecked")
    lines = source.splitlines()
    assert len(lines) == len(MODULE.splitlines())
    assert lines[5] == "    a = np.expand_dims(np.sum(x, axis=1), 1)  # line 3: comment kept"
    assert lines[6] == "    b = max_axis0(x) + min_axis1(x).sum()"
    assert lines[7] == "    c = np.sum(x, axis=1) / x.shape[1]"
    assert lines[8] == "    d = np.sum(np.sum(x, axis=1), axis=0) + np.max(x)"  # no axis: as is
    assert lines[9] == "    e = max_axis1(x)" and lines[10:12] == ["", ""]
    assert helpers == {"max_axis0", "min_axis1", "max_axis1"}


def reductions(x, w):
    """max along a row with keepdims (its gradient sums a mask with a dtype and keepdims),
    min along a column, mean along a row, a mean over both axes."""
    shifted = x * w - np.max(x * w, axis=1, keepdims=True)
    spread = np.sum((x - np.mean(x * w, axis=(0, 1), keepdims=True)) ** 2)
    return np.sum(shifted * np.min(x, axis=0)) + np.sum(np.mean(x * w, axis=1) ** 2) + spread


@pytest.mark.slow
@pytest.mark.parametrize("nan", [False, True])
def test_the_variant_compiles_and_agrees_with_numpy(nan):
    pytest.importorskip("numba")
    rng = np.random.default_rng(4)
    x, w = rng.normal(size=(5, 4)), rng.normal(size=4)
    if nan:
        x[2, 1] = np.nan
    expected = srcad.value_and_grad(reductions, argnums=(0, 1))(x, w)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # NaN compared, as NumPy warns too
        got = srcad.value_and_grad(reductions, argnums=(0, 1), backend="numba")(x, w)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-12, equal_nan=True)
    for have, want in zip(got[1], expected[1], strict=True):
        np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-14, equal_nan=True)


def attention_like(x, w):
    """The max along the last axis, as attention's softmax is written; the min along the
    last axis of a 3-d array."""
    s = x * w
    s = s - s.max(-1, keepdims=True)
    low = np.min(x.reshape(2, 2, 3), axis=-1) * SCALE["value"]
    return np.sum(np.exp(s) * w) + np.sum(low**2)


@pytest.mark.slow
def test_a_max_along_the_last_axis_compiles_for_any_number_of_axes():
    """``s.max(-1, keepdims=True)`` fell back to NumPy ("Resolution failure for literal
    arguments", probe AR F5): numba's max takes no axis."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(4, 3)), rng.normal(size=3)
    with_nan = x.copy()
    with_nan[1, 2] = np.nan
    compiled = srcad.value_and_grad(attention_like, argnums=(0, 1), backend="numba")
    for scale, point in ((1.0, x), (-0.5, x), (1.0, with_nan)):  # a global read every call
        SCALE["value"] = scale
        expected = srcad.value_and_grad(attention_like, argnums=(0, 1))(point, w)
        with warnings.catch_warnings():
            warnings.simplefilter("error", NumbaFallbackWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            got = compiled(point, w)
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-12, equal_nan=True)
        for have, want in zip(got[1], expected[1], strict=True):
            np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-14, equal_nan=True)
    SCALE["value"] = 1.0


def test_sums_and_means_over_several_axes_are_one_sum_per_axis():
    module = MODULE.replace(
        "    return a, b, c, d, e\n",
        "    f = np.mean(x * 2.0, axis=(0, 2), keepdims=True) + x.sum(axis=(2, 0))\n"
        "    g = x.mean(axis=(0, -1)) + x.max(axis=(0, 1)) + x.sum(axis=(1, 1))\n"
        "    return a, b, c, d, e\n",
    )
    lines = respelled_reductions(module, "f_grad_unchecked")[0].splitlines()
    mean = "np.sum(np.sum(x * 2.0, axis=2), axis=0) / ((x * 2.0).shape[0] * (x * 2.0).shape[2])"
    summed = "np.sum(np.sum(x, axis=2), axis=0)"
    kept = f"np.expand_dims(np.expand_dims(np.asarray({mean}), 0), 2)"
    assert lines[12] == f"    f = {kept} + {summed}"
    assert lines[13] == module.splitlines()[13]  # from the end, max, twice: as they are


def test_single_precision_code_spells_its_float_literals_float32():
    from srcad.backends.numba_source import numba_source

    source = MODULE.replace("    c = x.mean(axis=1)\n", "    c = 1.0 - x * 2.5\n")
    single = numba_source(source, "f_grad_unchecked", single=True)
    assert "c = np.float32(1.0) - x * np.float32(2.5)" in single
    assert "np.float32(" not in numba_source(source, "f_grad_unchecked")
    # a float64 the user asked for stays one (was np.float64(np.float32(0.1)): probe AG)
    source = MODULE.replace(
        "    c = x.mean(axis=1)\n", "    c = x * np.float64(0.1) + np.double(2.5)\n"
    )
    single = numba_source(source, "f_grad_unchecked", single=True)
    assert "c = x * np.float64(0.1) + np.double(2.5)" in single


SCALE = {"value": 1.0}


def single_layer(W, x, lam):
    h = np.tanh(x @ W) * SCALE["value"]
    return np.sum((1.0 - h) ** 2) / 8.0 + lam * np.sum(W * W)


@pytest.mark.slow
def test_float32_code_compiles_and_stays_float32():
    """numba makes a Python float float64 where NumPy keeps float32 code float32; the
    variant of float32 code takes them as float32 and computes as the NumPy code does."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(2)
    W = rng.normal(size=(6, 4)).astype(np.float32)
    x = rng.normal(size=(8, 6)).astype(np.float32)
    expected = srcad.value_and_grad(single_layer)(W, x, 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        compiled = srcad.value_and_grad(single_layer, backend="numba")
        value, grad = compiled(W, x, 0.01)
    assert grad.dtype == np.float32
    assert value == pytest.approx(expected[0], rel=1e-6)
    np.testing.assert_allclose(grad, expected[1], rtol=1e-5, atol=1e-6)
    SCALE["value"] = 0.5  # a global the loss reads changes: the next call reads it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", NumbaFallbackWarning)
            _, again = compiled(W, x, 0.01)
        wide = srcad.numerical_grad(single_layer, W.astype(np.float64), x.astype(np.float64), 0.01)
        np.testing.assert_allclose(again, wide, rtol=1e-3, atol=1e-4)
    finally:
        SCALE["value"] = 1.0


def float32_inside(x):
    y = x.astype(np.float32)
    return np.sum(np.maximum(y, 0.3) * x) * SCALE["value"] + y[0] * 0.1


def test_float32_values_inside_float64_code_run_numpys_code():
    """numba computed np.maximum(y32, 0.3) in float64 where NumPy keeps it float32 (value
    2.20999992967 for NumPy's 2.20999993086, probe X): such code runs the NumPy code, warned."""
    pytest.importorskip("numba")
    x = np.array([0.1, 0.7, 1.3])
    compiled = srcad.value_and_grad(float32_inside, backend="numba")
    for scale in (1.0, 2.0):  # a second call after the global changed
        SCALE["value"] = scale
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value, grad = compiled(x)
            if scale == 1.0:  # the first call says why (once)
                assert "float64 as well as float32" in str(caught[0].message)
            assert value == float32_inside(x)  # bit for bit, as NumPy computes it
            expected = srcad.value_and_grad(float32_inside)(x)
            np.testing.assert_array_equal(grad, expected[1])
            wide = srcad.numerical_grad(float32_inside, x, eps=1e-3)  # wider than float32's steps
            np.testing.assert_allclose(grad, wide, rtol=1e-3)
        finally:
            SCALE["value"] = 1.0


def float32_times_counts(x, k):
    return np.sum(x * k)  # float32 * int64 is float64 in NumPy


def test_float32_arrays_promoted_by_an_int_array_run_numpys_code():
    """numba's single-precision variant computed x32 * k (k int64) in float32 where NumPy
    promotes to float64 (probe AG): such code runs the NumPy code, warned."""
    pytest.importorskip("numba")
    x = np.array([0.3, -1.7, 2.2], np.float32)
    compiled = srcad.value_and_grad(float32_times_counts, backend="numba")
    for k in (np.arange(3), np.array([5, -2, 7])):  # a second call with other counts
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value, grad = compiled(x, k)
        if k[0] == 0:
            assert "float64 as well as float32" in str(caught[0].message)
        assert value == float32_times_counts(x, k)  # bit for bit
        np.testing.assert_array_equal(grad, k.astype(np.float32))
