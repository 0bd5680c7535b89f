"""Weight gradients written once into arrays reused across calls (``srcad.codegen.reuse``,
``srcad.runtime.reuse``).

Checked: the generated code of a wide layer uses the rule and its gradients agree with
central differences, also on a second call after a global the function reads changed; a
result the caller still holds (by name, in a container, through a view, in another thread)
is never written again, and one it dropped is; steady calls do not page-fault; the BLAS
helpers agree with NumPy for every layout and without SciPy; the numba and array-API
variants are spelled without the pool.
"""

from __future__ import annotations

import re
import resource
import threading

import numpy as np
import pytest

import srcad
from srcad.codegen.reuse import plain_source
from srcad.runtime import reuse

RNG = np.random.default_rng(5)
SETTINGS = {"decay": 1e-3}
WIDE = (200, 48)  # 75 KB in float64: above the rule's size threshold


def wide_layer(W, x, y):
    """One example through a tanh layer, squared error, weight decay read from a global."""
    h = np.tanh(x @ W)
    return np.sum((h - y) ** 2) + SETTINGS["decay"] * np.sum(W * W)


def batch_layer(W, b, x, y):
    h = np.tanh(x @ W + b)
    return np.mean((h - y) ** 2) + 0.5 * np.sum(W**2)


def _wide_args(batch=1, dtype=np.float64):
    W = (0.1 * RNG.normal(size=WIDE)).astype(dtype)
    x = RNG.normal(size=(batch, WIDE[0])).astype(dtype)
    y = RNG.normal(size=(batch, WIDE[1])).astype(dtype)
    return W, x, y


def _statements(transformed) -> str:
    body = srcad.source(transformed).split("_unchecked(", 1)[1]
    return "\n".join(line.split("#")[0].strip() for line in body.splitlines())


def _assert_close_to_differences(fun, args, argnums=0, got=None, samples=24):
    """Central differences at a random sample of each differentiated argument's entries
    (all of them would take seconds for these wide arrays)."""
    numbers = (argnums,) if isinstance(argnums, int) else argnums
    if got is None:
        got = srcad.grad(fun, argnums=argnums)(*args)
    grads = (got,) if isinstance(argnums, int) else got
    for number, grad in zip(numbers, grads, strict=True):
        array = args[number]
        for flat in RNG.choice(array.size, size=min(samples, array.size), replace=False):
            index = np.unravel_index(flat, array.shape)
            step = 1e-6 * max(1.0, abs(array[index]))
            values = []
            for sign in (1, -1):
                moved = array.copy()
                moved[index] += sign * step
                values.append(fun(*args[:number], moved, *args[number + 1 :]))
            expected = (values[0] - values[1]) / (2 * step)
            assert grad[index] == pytest.approx(expected, rel=1e-5, abs=1e-7), (number, index)


def test_a_wide_layer_writes_its_weight_gradient_once():
    args = _wide_args()
    gradient = srcad.grad(wide_layer)
    gradient(*args)
    code = _statements(gradient)
    assert 'dW = reused.array("dW", (200, 48), np.float64)' in code
    assert "add_outer(dW, x, " in code
    assert "np.multiply(" in code and "out=dW)" in code
    _assert_close_to_differences(wide_layer, args)


@pytest.mark.slow
def test_a_batch_adds_its_matrix_product_in_place():
    W, x, y = _wide_args(batch=8)
    b = RNG.normal(size=WIDE[1])
    gradient = srcad.grad(batch_layer, argnums=(0, 1))
    gradient(W, b, x, y)
    assert "add_matmul(dW, x.T, " in _statements(gradient)
    _assert_close_to_differences(batch_layer, (W, b, x, y), (0, 1), gradient(W, b, x, y))


def test_a_long_batch_writes_its_product_first_and_adds_the_scaled_term():
    W, x, y = _wide_args(batch=40)
    b = RNG.normal(size=WIDE[1])
    gradient = srcad.grad(batch_layer, argnums=(0, 1))
    gradient(W, b, x, y)
    code = _statements(gradient)
    assert "np.matmul(x.T, " in code and "out=dW)" in code
    assert "add_scaled(dW, " in code
    _assert_close_to_differences(batch_layer, (W, b, x, y), (0, 1), gradient(W, b, x, y))
    plain = plain_source(srcad.source(gradient))
    assert re.search(r"\n    dW = x\.T @ dt\d+\n    dW \+= d\w+ \* 2\.0 \* W\n", plain), plain


def test_a_small_layer_keeps_its_one_line():
    def small(W, x):
        return np.sum(np.tanh(W @ x)) + np.sum(W**2)

    gradient = srcad.grad(small)
    gradient(RNG.normal(size=(4, 3)), RNG.normal(size=3))
    assert "reused" not in srcad.source(gradient)


def test_the_second_call_follows_the_global_it_reads():
    args = _wide_args()
    gradient = srcad.grad(wide_layer)
    first = gradient(*args).copy()
    SETTINGS["decay"] = 0.5
    try:
        second = gradient(*args)
        _assert_close_to_differences(wide_layer, args)
        np.testing.assert_allclose(second - first, (2 * (0.5 - 1e-3)) * args[0], atol=1e-10)
    finally:
        SETTINGS["decay"] = 1e-3


def test_a_result_the_caller_holds_is_never_written_again():
    W, x, y = _wide_args()
    gradient = srcad.grad(wide_layer)
    kept = gradient(W, x, y)
    snapshot = kept.copy()
    in_a_list = [gradient(W, 2 * x, y)]
    list_snapshot = in_a_list[0].copy()
    view = gradient(W, 3 * x, y)[:10]
    view_snapshot = view.copy()
    for scale in (4, 5, 6, 7):
        gradient(W, scale * x, y)
    np.testing.assert_array_equal(kept, snapshot)
    np.testing.assert_array_equal(in_a_list[0], list_snapshot)
    np.testing.assert_array_equal(view, view_snapshot)


def test_a_dropped_result_lends_its_memory_to_the_next_call():
    W, x, y = _wide_args()
    gradient = srcad.grad(wide_layer)
    address = gradient(W, x, y).ctypes.data  # the result is dropped at once
    again = gradient(W, 2 * x, y)
    assert again.ctypes.data == address
    _assert_close_to_differences(wide_layer, (W, 2 * x, y), 0, again)


def test_threads_get_arrays_of_their_own():
    W, x, y = _wide_args()
    gradient = srcad.grad(wide_layer)
    expected = {k: gradient(W, (k + 1) * x, y).copy() for k in range(4)}
    results: dict[int, list[np.ndarray]] = {k: [] for k in range(4)}

    def work(k):
        for _ in range(30):
            results[k].append(gradient(W, (k + 1) * x, y))
            results[k] = results[k][-2:]
            np.testing.assert_array_equal(results[k][0], expected[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in range(4):
        for held in results[k]:
            np.testing.assert_array_equal(held, expected[k])


def test_steady_calls_do_not_page_fault():
    """A 1.6 MB weight gradient made fresh on each call page-faults about 400 times a call
    with glibc's default settings; reused, next to none."""
    W = 0.05 * RNG.normal(size=(784, 256))
    x, y = RNG.normal(size=(1, 784)), RNG.normal(size=(1, 256))
    gradient = srcad.grad(wide_layer)
    for _ in range(3):
        gradient(W, x, y)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        gradient(W, x, y)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
    assert faults < 50, faults


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("inner", [1, 5, 200])
def test_add_matmul_agrees_with_numpy(dtype, layout, inner):
    a = RNG.normal(size=(6, 2 * inner)).astype(dtype)[:, ::2]  # strided
    b = RNG.normal(size=(inner, 7)).astype(dtype)
    if layout == "C":
        a = np.ascontiguousarray(a)
    elif layout == "F":
        a, b = np.asfortranarray(a), np.asfortranarray(b)
    out = RNG.normal(size=(6, 7)).astype(dtype)
    expected = out + a @ b
    same = out
    reuse.add_matmul(out, a, b)
    assert out is same
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_outer_agrees_with_numpy(dtype):
    u = RNG.normal(size=(1, 6)).astype(dtype)
    v = RNG.normal(size=(7,)).astype(dtype)
    out = RNG.normal(size=(6, 7)).astype(dtype)
    expected = out + np.outer(u, v)
    reuse.add_outer(out, u, v)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("contiguous", [True, False])
def test_add_scaled_agrees_with_numpy(dtype, contiguous):
    array = RNG.normal(size=(6, 14)).astype(dtype)
    array = array if contiguous else array[:, ::2]
    out = RNG.normal(size=array.shape).astype(dtype)
    expected = out + 0.3 * array
    reuse.add_scaled(out, 0.3, array)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)


def test_without_scipy_numpy_adds_the_product(monkeypatch):
    monkeypatch.setattr(reuse, "blas_routine", lambda name, dtype: None)
    for table in ("_GER", "_GEMM", "_AXPY"):
        monkeypatch.setattr(reuse, table, reuse.BlasRoutines(table[1:].lower()))
    out, a, b = RNG.normal(size=(3, 4)), RNG.normal(size=(3, 2)), RNG.normal(size=(2, 4))
    expected = out + a @ b
    reuse.add_matmul(out, a, b)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    expected = out + np.outer(a[:, 0], b[0])
    reuse.add_outer(out, a[:, 0], b[0])
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    expected = out + 0.5 * out[::-1]
    reuse.add_scaled(out, 0.5, out[::-1].copy())
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_variants_spelled_from_numpy_leave_the_pool_out():
    args = _wide_args()
    gradient = srcad.grad(wide_layer)
    gradient(*args)
    source = srcad.source(gradient)
    plain = plain_source(source)
    assert len(plain.splitlines()) == len(source.splitlines())
    assert "reused" not in plain and "add_outer" not in plain
    assert "dW += np.outer(x, " in plain
    bound = source.split("# Names bound at load time: ")[1].splitlines()[0].split(", ")
    namespace: dict = dict.fromkeys(bound, globals())  # the one name: this module's globals
    exec(compile(plain, "<plain>", "exec"), namespace)  # noqa: S102 - our own output
    body = next(name for name in namespace if name.endswith("_grad_unchecked"))
    _, plain_gradient = namespace[body](*args)
    np.testing.assert_allclose(plain_gradient, gradient(*args), rtol=1e-12)


@pytest.mark.slow
def test_the_numba_variant_agrees_without_falling_back():
    pytest.importorskip("numba")
    import warnings

    from srcad.backends import NumbaFallbackWarning

    for batch in (1, 40):  # add_outer; np.matmul with add_scaled
        W, x, y = _wide_args(batch=batch)
        expected = srcad.grad(wide_layer)(W, x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error", NumbaFallbackWarning)
            compiled = srcad.grad(wide_layer, backend="numba")
            first = compiled(W, x, y)
            np.testing.assert_allclose(first, expected, rtol=1e-12, atol=1e-14)
            kept = first.copy()
            second = compiled(W, 2 * x, y)  # the first result is held: not written again
        np.testing.assert_array_equal(first, kept)
        np.testing.assert_allclose(
            second, srcad.grad(wide_layer)(W, 2 * x, y), rtol=1e-12, atol=1e-14
        )
        variant = srcad.source(compiled, backend="numba")
        wrapper, core = variant.split("_core(", 1)
        assert 'dW = reused.array("dW"' in wrapper and "reused" not in core.split("\n", 1)[1]


def test_the_array_api_variant_agrees():
    xp = pytest.importorskip("array_api_strict")
    W, x, y = _wide_args(batch=4)
    expected = srcad.grad(batch_layer)(W, np.zeros(WIDE[1]), x, y)
    strict = [xp.asarray(a) for a in (W, np.zeros(WIDE[1]), x, y)]
    got = srcad.grad(batch_layer)(*strict)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-14)


def test_a_large_result_starts_half_a_page_in():
    """Past a page boundary by PAGE_SHIFT bytes, away from NumPy's own large arrays (which
    start a few bytes past one): a loop reading W and writing dW does not 4K-alias."""
    W, x, y = _wide_args()
    assert W.nbytes >= reuse.SHIFTED_FROM_BYTES
    dW = srcad.grad(wide_layer)(W, x, y)
    assert dW.ctypes.data % reuse.PAGE_BYTES == reuse.PAGE_SHIFT
    assert dW.flags.c_contiguous and dW.flags.writeable and dW.flags.aligned
    _assert_close_to_differences(wide_layer, (W, x, y), 0, dW)


def test_a_transposed_view_keeps_its_array():
    """A view refers to the buffer under a page-shifted array, not to the array."""
    W, x, y = _wide_args()
    gradient = srcad.grad(wide_layer)
    transposed = gradient(W, x, y).T
    snapshot = transposed.copy()
    for scale in (2, 3, 4):
        gradient(W, scale * x, y)
    np.testing.assert_array_equal(transposed, snapshot)


def squashed_and_squared(x):
    return np.sum(np.tanh(x) * x) + np.sum(x**2) * SETTINGS["decay"]


def test_a_gradient_summed_from_elementwise_terms_is_added_in_place():
    """``dx = dx + dtanh_x * (1.0 - tanh_x**2)`` made one more array of x's size (a
    gradient of 10^7 elements peaked at five arrays of it)."""
    gradient = srcad.grad(squashed_and_squared)
    x = RNG.normal(size=50)
    first = gradient(x)
    assert re.search(r"\n    dx \+= ", srcad.source(gradient)), srcad.source(gradient)
    np.testing.assert_allclose(first, srcad.numerical_grad(squashed_and_squared, x), rtol=1e-6)
    kept = first.copy()
    SETTINGS["decay"] = 0.5  # read on every call
    try:
        second = gradient(x)
        expected = srcad.numerical_grad(squashed_and_squared, x)
    finally:
        SETTINGS["decay"] = 1e-3
    np.testing.assert_allclose(second, expected, rtol=1e-6)
    np.testing.assert_array_equal(first, kept)  # the first result was not written again
