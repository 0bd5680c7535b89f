"""The pass that computes a reduction of a large array next to the array's next reader
(``passes/locality.py``).

Checked: an L2 penalty of a wide layer (``np.vdot(W, W)``, ``np.sum(W ** 2)``) is summed
just before the statements that write the weight gradient, and the loss that reads it is
computed after them; the value is the plain function's to the last bit and the gradient
agrees with central differences, also on a second call after the global it reads changed;
what must stay stays (small arrays, a sum taken before the array is written in place, a
loss that reads a large value of its own, noise drawn on every call); forward mode; the
numba variant sums the squares inside the gradient's loop and leaves no empty section.
"""

from __future__ import annotations

import numpy as np
import pytest
from sampled_differences import sampled_differences

import srcad

RNG = np.random.default_rng(21)
SETTINGS = {"decay": 1e-3, "seed": 4}
WIDE = (400, 96)  # 300 KB in float64: a large array for the pass


def vdot_penalty(W, x, y):
    h = np.tanh(x @ W)
    return np.sum((h - y) ** 2) + SETTINGS["decay"] * np.vdot(W, W)


def squares_penalty(W, x, y):
    h = np.tanh(x @ W)
    penalty = np.sum(W**2)
    return np.mean((h - y) ** 2) + SETTINGS["decay"] * penalty


def written_after_the_sum(W, x, y):
    Z = W * 2.0
    total = np.sum(Z)
    Z[0, 0] = 0.0  # the sum was taken before this write: it must stay before it
    return total * SETTINGS["decay"] + np.sum((x @ Z - y) ** 2)


def noisy_penalty(W, x, y):
    rng = np.random.default_rng(SETTINGS["seed"])
    noise = rng.normal(size=W.shape)  # drawn on every call
    h = np.tanh(x @ W)
    return np.sum((h - y) ** 2) + SETTINGS["decay"] * np.sum(noise * W)


def _args(batch=1, shape=WIDE):
    W = 0.1 * RNG.normal(size=shape)
    return W, RNG.normal(size=(batch, shape[0])), RNG.normal(size=(batch, shape[1]))


def _lines(transformed) -> list[str]:
    """The statements of the generated function's body, comments and blank lines left out."""
    body = srcad.source(transformed).split("_unchecked(", 1)[1]
    code = (line.split("#")[0].strip() for line in body.splitlines())
    return [line for line in code if line]


def _index(lines: list[str], start: str) -> int:
    return next(k for k, line in enumerate(lines) if line.startswith(start))


def _check_sampled(fun, args, got):
    """Against central differences at a sample of the entries of ``W``."""
    for index, expected in sampled_differences(fun, args, RNG, samples=16).items():
        assert got[index] == pytest.approx(expected, rel=1e-5, abs=1e-7)


def _check_twice(fun, args, setting="decay", values=(1e-3, 0.25)):
    """Value and gradient against the plain function on two calls, the global ``setting``
    changed between them; the transformed function."""
    transformed = srcad.value_and_grad(fun)
    first = values[0]
    for value_of_setting in values:
        SETTINGS[setting] = value_of_setting
        try:
            value, grad = transformed(*args)
            assert value == pytest.approx(fun(*args), rel=1e-14)
            _check_sampled(fun, args, grad)
        finally:
            SETTINGS[setting] = first
    return transformed


@pytest.mark.slow
@pytest.mark.parametrize(
    "fun, name, reduced",
    [(vdot_penalty, "W_vdot", "np.vdot(W, W)"), (squares_penalty, "penalty", "(W**2).sum()")],
)
def test_a_penalty_is_summed_next_to_the_weight_gradient(fun, name, reduced):
    transformed = _check_twice(fun, _args())
    lines = _lines(transformed)
    summed = lines.index(f"{name} = {reduced}")
    assert summed > _index(lines, "h = np.tanh(x @ W)")
    assert lines[summed + 1] == 'dW = reused.array("dW", (400, 96), np.float64)'
    assert _index(lines, "add_outer(dW, x, ") < _index(lines, "out = ") < _index(lines, "return")


def test_the_loss_is_the_plain_functions_to_the_last_bit():
    args = _args()
    value, _ = srcad.value_and_grad(vdot_penalty)(*args)
    assert value == vdot_penalty(*args)


def test_arrays_that_stay_in_cache_stay_where_the_source_has_them():
    transformed = _check_twice(vdot_penalty, _args(shape=(200, 48)))
    lines = _lines(transformed)
    assert not any("W_vdot" in line for line in lines)
    assert _index(lines, "out = ") < _index(lines, "dW = ")


def test_a_sum_taken_before_an_in_place_write_stays_before_it():
    transformed = _check_twice(written_after_the_sum, _args())
    lines = _lines(transformed)
    assert _index(lines, "total = Z.sum()") < _index(lines, "Z[0, 0] = 0.0")


@pytest.mark.slow
def test_a_loss_that_reads_a_large_value_of_its_own_stays_in_the_forward_sweep():
    args = _args(batch=400)  # the residual h - y is 300 KB: the loss would keep it alive
    lines = _lines(_check_twice(squares_penalty, args))
    assert _index(lines, "penalty = ") < _index(lines, "out = ") < _index(lines, "dW = ")


def test_noise_drawn_on_every_call_is_summed_with_the_weights_of_that_call():
    _check_twice(noisy_penalty, _args(), "seed", (4, 5))  # new noise: the sum must read it


def test_forward_mode_gives_the_same_directional_derivative():
    W, x, y = _args()
    direction = RNG.normal(size=W.shape)
    value, tangent = srcad.jvp(vdot_penalty, (W, x, y), (direction, 0 * x, 0 * y))
    _, grad = srcad.value_and_grad(vdot_penalty)(W, x, y)
    assert value == pytest.approx(vdot_penalty(W, x, y), rel=1e-14)
    assert tangent == pytest.approx(np.vdot(grad, direction), rel=1e-10)


@pytest.mark.slow
def test_the_numba_variant_sums_the_squares_in_the_gradients_loop():
    pytest.importorskip("numba")
    import warnings

    from srcad.backends import NumbaFallbackWarning

    args = _args()
    compiled = srcad.value_and_grad(vdot_penalty, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        for decay in (1e-3, 0.25):
            SETTINGS["decay"] = decay
            try:
                value, grad = compiled(*args)
                want_value, want_grad = srcad.value_and_grad(vdot_penalty)(*args)
            finally:
                SETTINGS["decay"] = 1e-3
            assert value == pytest.approx(want_value, rel=1e-12)
            np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-14)
    variant = srcad.source(compiled, backend="numba")
    assert "W_vdot = scale_add_outer(dW, " in variant and "W_squares" not in variant
    comments = [line.strip() for line in variant.splitlines() if line.strip()]
    sections = [
        k for k, line in enumerate(comments) if line.startswith(("# forward", "# backward"))
    ]
    assert all(
        b - a > 1 for a, b in zip(sections, sections[1:], strict=False)
    ), "a section left empty"
