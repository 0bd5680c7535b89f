"""One compiled pass per reused weight gradient in the numba variant
(``srcad.backends.numba_fusion``).

Checked: the source rewrite fuses the scaled copy and the outer product, feeds the penalty's
``np.vdot(W, W)`` from the same loop and moves its statement down only where that is safe
(nothing in between reads its target or writes what it reads); compiled, the gradients of
layers with an L2 penalty agree with the NumPy backend to 1e-12 and with central differences,
at batch 1 (outer product; with the gradient of the rows before the weights, which the same
loop computes) and a longer batch (matmul then ``add_scaled``), also on a second call after
the global penalty weight changed, and in float32.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sampled_differences import sampled_differences

import srcad
from srcad.backends.numba_fusion import fused_weight_gradients

RNG = np.random.default_rng(11)
SETTINGS = {"decay": 1e-3}

BODY = '''
def f_grad_unchecked(W, x, lam, dout=1.0):
    """Docstring."""
    h = np.tanh(x @ W)
    data = np.vdot(h, h)
    out = data + lam * np.vdot(W, W)
{between}
    dW = reused.array("dW", (200, 48), np.float64)
    np.multiply(2.0 * lam, W, out=dW)
    add_outer(dW, x, dh)
    return out, dW
'''


def _fused(between: str = "    dh = 2.0 * h", body: str = BODY) -> str:
    source, helpers = fused_weight_gradients(body.format(between=between), "f_grad_unchecked")
    assert helpers == {"scale_add_outer"}
    return "\n".join(line.strip() for line in source.splitlines() if line.strip())


@pytest.mark.parametrize(
    "penalty", ["np.vdot(W, W)", "(W * W).sum()", "np.sum(W ** 2)", "(W ** 2.0).sum()"]
)
def test_the_pair_becomes_one_loop_that_feeds_the_penalty(penalty):
    code = _fused(body=BODY.replace("np.vdot(W, W)", penalty))
    assert "W_squares = scale_add_outer(dW, 2.0 * lam, W, x, dh)" in code
    assert "out = data + lam * W_squares" in code
    assert "np.multiply" not in code and "\nadd_outer(dW" not in code
    assert code.index("W_squares = scale_add_outer") < code.index("out = data + lam")


@pytest.mark.parametrize(
    "between",
    [
        "    dh = 2.0 * h * out",  # reads the moved statement's target
        "    np.negative(data, out=data)\n    dh = 2.0 * h",  # writes what it reads, in place
        "    data = data + 1.0\n    dh = 2.0 * h",  # assigns what it reads
        "    W.sort()\n    dh = 2.0 * h",  # a method that may write
    ],
)
def test_the_penalty_stays_where_moving_it_is_not_safe(between):
    code = _fused(between)
    assert "out = data + lam * np.vdot(W, W)" in code
    assert "scale_add_outer(dW, 2.0 * lam, W, x, dh)" in code and "W_squares" not in code


@pytest.mark.parametrize(
    "penalty", ["np.vdot(W, x)", "np.sum(W ** 3)", "W.sum()", "np.sum(W * W, axis=0)"]
)
def test_other_sums_are_not_taken_for_squares(penalty):
    code = _fused(body=BODY.replace("np.vdot(W, W)", penalty))
    assert "W_squares" not in code and f"out = data + lam * {penalty}" in code


def test_a_scaled_copy_and_a_matrix_product_become_the_product_then_one_pass():
    source = BODY.replace("add_outer(dW, x, dh)", "add_matmul(dW, x.T, dh)").format(between="")
    fused, helpers = fused_weight_gradients(source, "f_grad_unchecked")
    code = [line.strip() for line in fused.splitlines() if line.strip()]
    at = code.index("np.matmul(x.T, dh, out=dW)")
    assert code[at + 1 : at + 3] == [
        "W_squares = add_scaled_squares(dW, 2.0 * lam, W)",
        "out = data + lam * W_squares",
    ]
    assert helpers == {"add_scaled_squares"} and "np.multiply" not in fused


PRODUCT = "    dx = dh @ W.T\n    dh2 = 2.0 * dh"


def test_the_rows_gradient_comes_from_the_same_loop():
    source = BODY.format(between="    dh = 2.0 * h\n" + PRODUCT)
    fused, helpers = fused_weight_gradients(source, "f_grad_unchecked")
    code = [line.strip() for line in fused.splitlines() if line.strip()]
    assert helpers == {"scale_add_outer_product"} and "dx = dh @ W.T" not in code
    at = code.index("W_squares, dx = scale_add_outer_product(dW, 2.0 * lam, W, x, dh)")
    assert code[at + 1] == "out = data + lam * W_squares"
    without_penalty = source.replace("lam * np.vdot(W, W)", "lam")
    fused, _ = fused_weight_gradients(without_penalty, "f_grad_unchecked")
    assert "dx = scale_add_outer_product(dW, 2.0 * lam, W, x, dh)[1]" in fused


@pytest.mark.parametrize(
    "after",
    [
        "    dh3 = dx + 1.0",  # reads the product before the loop
        "    dh = dh * 2.0",  # assigns the row it reads
        "    W.sort()",  # may write the weights
    ],
)
def test_the_rows_gradient_stays_where_moving_it_is_not_safe(after):
    source = BODY.format(between="    dh = 2.0 * h\n" + PRODUCT + "\n" + after)
    fused, helpers = fused_weight_gradients(source, "f_grad_unchecked")
    assert "dx = dh @ W.T" in fused and helpers == {"scale_add_outer"}


def test_a_free_name_is_chosen_for_the_squares():
    source = BODY.format(between="    W_squares = 1.0\n    dh = 2.0 * h * W_squares")
    fused, _ = fused_weight_gradients(source, "f_grad_unchecked")
    assert "W_squares_ = scale_add_outer(" in fused and "lam * W_squares_" in fused


def test_a_scaled_add_without_a_penalty_to_feed_is_left_alone():
    source = BODY.replace("lam * np.vdot(W, W)", "lam").format(between="    dh = h")
    source = source.replace("add_outer(dW, x, dh)", "add_scaled(dW, 2.0, W)")
    assert fused_weight_gradients(source, "f_grad_unchecked") == (source, set())


# --- compiled -------------------------------------------------------------------------------
def penalised_layer(W, b, x, y):
    """A tanh layer, squared error, an L2 penalty whose weight is read from a global."""
    h = np.tanh(x @ W + b)
    return np.sum((h - y) ** 2) + SETTINGS["decay"] * np.vdot(W, W)


def summed_squares_layer(W, b, x, y):
    """The same with the penalty written as a sum of squares."""
    h = np.tanh(x @ W + b)
    return np.mean((h - y) ** 2) + SETTINGS["decay"] * (W**2).sum()


def _args(batch, dtype=np.float64):
    W = 0.1 * RNG.normal(size=(200, 48))
    b = 0.1 * RNG.normal(size=48)
    x = RNG.normal(size=(batch, 200))
    y = RNG.normal(size=(batch, 48))
    return tuple(a.astype(dtype) for a in (W, b, x, y))


def _differences_in_last(layer, args, argnum):
    """Central differences of ``layer`` in its argument ``argnum``, at sampled entries."""
    rest = args[:argnum] + args[argnum + 1 :]
    moved_first = lambda a, *others: layer(*others[:argnum], a, *others[argnum:])  # noqa: E731
    return sampled_differences(moved_first, (args[argnum], *rest), RNG)


@pytest.mark.slow
@pytest.mark.parametrize(
    "batch, layer, argnums",  # outer (and the rows' gradient); scaled copy and add_matmul;
    # matmul and add_scaled; a sum of squares
    [
        (1, penalised_layer, (0, 1)),
        (1, penalised_layer, (0, 1, 2)),
        (8, penalised_layer, (0, 1)),
        (40, penalised_layer, (0, 1)),
        (1, summed_squares_layer, (0, 1)),
    ],
)
def test_the_fused_variant_agrees_also_after_the_world_changed(batch, layer, argnums):
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    args = _args(batch)
    compiled = srcad.value_and_grad(layer, argnums=argnums, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        for decay in (1e-3, 0.5):  # the second call reads the changed global
            SETTINGS["decay"] = decay
            try:
                value, grads = compiled(*args)
                want_value, want_grads = srcad.value_and_grad(layer, argnums=argnums)(*args)
                differences = _differences_in_last(layer, args, argnums[-1])
            finally:
                SETTINGS["decay"] = 1e-3
            assert value == pytest.approx(want_value, rel=1e-12)
            for got, want in zip(grads, want_grads, strict=True):
                assert got.shape == want.shape and got.dtype == want.dtype
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
            for index, expected in differences.items():
                assert grads[-1][index] == pytest.approx(expected, rel=1e-5, abs=1e-7)
    variant = srcad.source(compiled, backend="numba")
    fused = "scale_add_outer(" if batch == 1 else "add_scaled_squares("
    if 2 in argnums:
        fused = "scale_add_outer_product("
        assert "W_squares, dx = scale_add_outer_product(" in variant
    assert f"W_squares{', dx' if 2 in argnums else ''} = {fused}" in variant
    assert "np.vdot(np.ravel(W)" not in variant


@pytest.mark.slow
def test_the_fused_variant_agrees_in_float32():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    args = _args(1, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        value, dW = srcad.value_and_grad(penalised_layer, backend="numba")(*args)
    want_value, want_dW = srcad.value_and_grad(penalised_layer)(*args)
    assert dW.dtype == np.float32
    assert value == pytest.approx(want_value, rel=1e-5)
    np.testing.assert_allclose(dW, want_dW, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(
    "helper",
    ["scale_add_outer", "scale_add_outer_product", "add_scaled_squares", "add_scaled_compiled"],
)
def test_the_helpers_scale_float32_arrays_in_float32(helper):
    """A float scale (numba types it float64) multiplies float32 weights in float32, as
    NumPy's ``np.multiply(scale, W, out=dW)`` does: float64 products rounded to float32 differ
    in the last bit and halve the loop's vector width."""
    numba = pytest.importorskip("numba")
    from srcad.backends import numba_fusion, numba_reuse

    text = {**numba_fusion.HELPERS, **numba_reuse.HELPERS}[helper]
    namespace: dict = {"np": np}
    exec("\n".join(text), namespace)
    compiled = numba.njit(namespace[helper])
    W = RNG.standard_normal((30, 20)).astype(np.float32)
    scale = 1.0 / 3.0
    out = np.zeros_like(W)
    if helper.startswith("scale_add_outer"):
        compiled(out, scale, W, np.zeros(30, np.float32), np.ones(20, np.float32))
    else:
        compiled(out, scale, W)
    np.testing.assert_array_equal(out, np.float32(scale) * W)
