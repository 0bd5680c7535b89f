"""The staging model: what srcad fixes when compiling is checked on every call, everything
else is read on every call (README "What srcad fixes and what it reads").

Each test calls a gradient, changes the world outside the function (a global, a helper, a
closed-over container, an attribute, a seed), and checks the gradient again against central
differences of the plain function at that moment.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import logging
import random
import textwrap
import warnings
from typing import NamedTuple

import numpy as np
import pytest
from source_files import module_from_source

import srcad
from srcad.runtime import cache


def _module(tmp_path, source: str):
    return module_from_source(textwrap.dedent(source), tmp_path, "staging")


def _assert_matches_numerical(fun, *args, argnums=0):
    expected = srcad.numerical_grad(fun, *args, argnums=argnums)
    np.testing.assert_allclose(srcad.grad(fun, argnums)(*args), expected, rtol=1e-6, atol=1e-8)


# --- globals ---------------------------------------------------------------------------
GLOBALS = """
import numpy as np

X = np.array([1.0, 2.0, 3.0])
LAM = 0.5


def loss(w):
    return np.sum((X * w) ** 2) + LAM * w * w
"""


def test_a_global_array_that_changes_is_read_again(tmp_path):
    m = _module(tmp_path, GLOBALS)
    g = srcad.grad(m.loss)
    assert g(0.5) == pytest.approx(srcad.numerical_grad(m.loss, 0.5))
    m.X = np.array([10.0, 20.0, 30.0])
    assert g(0.5) == pytest.approx(1400.5)  # 2 * w * sum(X**2) + 2 * LAM * w
    assert g(0.5) == pytest.approx(srcad.numerical_grad(m.loss, 0.5))
    assert srcad.grad(m.loss)(0.5) == pytest.approx(1400.5)  # a fresh grad too


def test_a_global_float_that_changes_is_read_again(tmp_path):
    m = _module(tmp_path, GLOBALS)
    g = srcad.value_and_grad(m.loss)
    g(0.5)
    m.LAM = 3.0
    value, gradient = g(0.5)
    assert value == pytest.approx(m.loss(0.5))
    assert gradient == pytest.approx(srcad.numerical_grad(m.loss, 0.5))


def test_a_global_of_another_shape_recompiles(tmp_path):
    m = _module(tmp_path, GLOBALS)
    g = srcad.grad(m.loss)
    g(0.5)
    m.X = np.array([1.0, 2.0])
    assert g(0.5) == pytest.approx(srcad.numerical_grad(m.loss, 0.5))
    m.X = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert g(0.5) == pytest.approx(srcad.numerical_grad(m.loss, 0.5))
    m.X = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    assert g(0.5) == pytest.approx(2 * 0.5 * 30.0 + 2 * m.LAM * 0.5)  # exact in float32


def test_a_global_int_is_fixed_and_checked(tmp_path):
    m = _module(
        tmp_path,
        """
        import numpy as np

        N = 3


        def loss(x):
            total = 0.0
            for i in range(N):
                total = total + x[i] ** 2
            return total
        """,
    )
    x = np.arange(1.0, 6.0)
    g = srcad.grad(m.loss)
    np.testing.assert_allclose(g(x), srcad.numerical_grad(m.loss, x))
    m.N = 5
    np.testing.assert_allclose(g(x), srcad.numerical_grad(m.loss, x))


ODE = """
import math

import numpy as np

T = 1.0
DT = 0.1
K = 0.7


class Settings:
    horizon = 0.5
    step = 0.05


SETTINGS = Settings()


def euler(y0):
    y = y0
    for _ in range(int(T / DT)):  # the count of steps: floats read from globals
        y = y + DT * (np.sin(y) - K * y)
    return np.sum(y**2)


def trajectory(y0):
    n = math.ceil(T / DT)
    times = np.linspace(0.0, T, n + 1)
    ys = np.zeros((n + 1, 2))
    y = y0
    ys[0] = y
    for i in range(n):
        y = y + DT * (np.cos(times[i]) - K * y)
        ys[i + 1] = y
    return np.sum(ys[: n // 2] ** 2)


def from_attributes(y0):
    y = y0
    for _ in range(round(SETTINGS.horizon / SETTINGS.step)):
        y = y + SETTINGS.step * np.tanh(y)
    return np.sum(y)
"""


def _agrees_in_both_modes(fun, x):
    expected = srcad.numerical_grad(fun, x)
    np.testing.assert_allclose(srcad.grad(fun)(x), expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(srcad.jacfwd(fun)(x), expected, rtol=1e-6, atol=1e-9)
    assert srcad.value_and_grad(fun)(x)[0] == pytest.approx(fun(x))


@pytest.mark.parametrize("name", ["euler", "trajectory", "from_attributes"])
def test_floats_a_count_is_computed_from_are_fixed_and_checked(tmp_path, name):
    """range(int(T / dt)) was refused: T and dt, floats, are read on every call. Now the
    floats a count needs are fixed when compiling, and a change recompiles."""
    m = _module(tmp_path, ODE)
    fun = getattr(m, name)
    x = np.array([0.5, -1.0])
    _agrees_in_both_modes(fun, x)
    m.T, m.DT, m.K = 1.3, 0.05, 0.2  # another count of steps
    m.SETTINGS.step = 0.1
    _agrees_in_both_modes(fun, x)


LOOKUPS = """
import numpy as np

K = 0.5
COEFFICIENTS = [2.0, 3.0, 4.0]
BY_NAME = {"0.5": 2.0, "1.0": 5.0}
BY_KEY = {0.5: 2.0, 1.0: 3.0}


def list_item(x):
    return np.sum(COEFFICIENTS[int(K * 2)] * x**2)


def list_slice(x):
    return np.sum(np.array(COEFFICIENTS[: int(K * 4)]).sum() * x**2)


def dict_item(x):
    return np.sum(BY_NAME[str(K)] * x**2)


def membership(x):
    if K in (0.5, 0.25):
        return np.sum(x**2)
    return np.sum(x**3)


def dict_get(x):
    return BY_KEY.get(K, 7.0) * np.sum(x**2)  # a float key: it gave the default always


def list_index(x):
    return [0.5, 1.0, 2.0].index(K) * np.sum(x**2) + np.sum(x)


def local_dict_key(x):
    weights = {K: x[1], 2.0: x[0]}  # a global float as the key of a dict made here
    return weights.get(0.5, x[0] ** 2) * x[0] + (0.5 in weights) * np.sum(x)
"""


@pytest.mark.parametrize(
    "name",
    [
        "list_item",
        "list_slice",
        "dict_item",
        "membership",
        "dict_get",
        "list_index",
        "local_dict_key",
    ],
)
def test_floats_a_lookup_or_a_membership_test_needs_are_fixed_and_checked(tmp_path, name):
    """COEFFICIENTS[int(K * 2)], BY_NAME[str(K)] and 'K in (0.5, 0.25)' with K a global
    float were refused as computed from data, where range(int(K * 2)) fixes K (probe Z)."""
    m = _module(tmp_path, LOOKUPS)
    fun = getattr(m, name)
    x = np.array([0.5, -1.0])
    _agrees_in_both_modes(fun, x)
    m.K = 1.0  # another item, another branch: compiled again
    _agrees_in_both_modes(fun, x)


WIDTHS = {"width": 1.4, "alpha": 0.2}


def padded_by_a_computed_width(x):
    w = int(WIDTHS["width"] * 2)
    return np.sum(np.pad(x, w, mode="edge") ** 2)


def above_a_global_quantile(x):
    return np.sum(np.maximum(x - np.quantile(x, 1 - WIDTHS["alpha"]), 0.0) ** 2)


@pytest.mark.parametrize("fun", [padded_by_a_computed_width, above_a_global_quantile])
def test_static_arguments_computed_from_outside_floats_fix_those_floats(fun):
    """np.pad's width and np.quantile's level from float globals: an internal message
    ("int() argument must be ... not 'Tracer'"), or a refusal blaming the argument x."""
    x = np.array([0.1, 0.9, 0.4, 2.0, 1.3])
    try:
        for width, alpha in ((1.4, 0.2), (0.6, 0.4)):
            WIDTHS.update(width=width, alpha=alpha)
            _agrees_in_both_modes(fun, x)
    finally:
        WIDTHS.update(width=1.4, alpha=0.2)


def test_a_float_no_count_needs_is_still_read_without_recompiling(tmp_path, monkeypatch):
    m = _module(tmp_path, ODE)
    compiles = []
    original = srcad.pipeline._compile_reverse
    monkeypatch.setattr(
        srcad.pipeline, "_compile_reverse", lambda *a: compiles.append(1) or original(*a)
    )
    g = srcad.grad(m.euler)
    x = np.array([0.5, -1.0])
    for k in (0.7, 0.1, 2.0):
        m.K = k  # read on every call
        np.testing.assert_allclose(g(x), srcad.numerical_grad(m.euler, x), rtol=1e-6)
    assert len(compiles) == 1
    m.DT = 0.2
    np.testing.assert_allclose(g(x), srcad.numerical_grad(m.euler, x), rtol=1e-6)
    assert len(compiles) == 2


def test_a_count_computed_from_arguments_counts_on_every_call():
    def steps(y0, T, dt):
        y = y0
        for _ in range(int(T / dt)):
            y = y + dt * np.sin(y)
        return np.sum(y)

    gradient = srcad.value_and_grad(steps)  # a while loop (srcad.lower.counted_loops)
    y0 = np.array([0.5, 1.0])
    for T, dt in ((1.0, 0.1), (2.05, 0.1), (0.3, 0.07)):  # 10, 20 and 4 steps
        value, got = gradient(y0, T, dt)
        assert value == pytest.approx(steps(y0, T, dt), rel=1e-12)
        np.testing.assert_allclose(
            got, srcad.numerical_grad(lambda y, T=T, dt=dt: steps(y, T, dt), y0), rtol=1e-6
        )


def test_a_count_from_a_random_draw_is_refused_saying_what_to_pass():
    def steps(y0, rng):
        y = y0
        for _ in range(int(rng.integers(1, 5))):
            y = y + np.sin(y)
        return np.sum(y)

    with pytest.raises(srcad.UnsupportedSyntax, match="bounds of a range") as error:
        srcad.grad(steps)(np.array([0.5, 1.0]), np.random.default_rng(0))
    assert error.value.line == steps.__code__.co_firstlineno + 2


def test_a_minibatch_read_from_a_global_does_not_recompile(tmp_path, monkeypatch):
    m = _module(
        tmp_path,
        """
        import numpy as np

        BATCH = np.ones((4, 3))


        def loss(w):
            return np.sum(np.tanh(BATCH @ w) ** 2)
        """,
    )
    compiles = []
    original = srcad.pipeline._compile_reverse
    monkeypatch.setattr(
        srcad.pipeline, "_compile_reverse", lambda *a: compiles.append(1) or original(*a)
    )
    g = srcad.grad(m.loss)
    rng = np.random.default_rng(0)
    w = rng.normal(size=3)
    for _ in range(5):
        m.BATCH = rng.normal(size=(4, 3))
        np.testing.assert_allclose(g(w), srcad.numerical_grad(m.loss, w), rtol=1e-6)
    assert len(compiles) == 1


# --- helpers ---------------------------------------------------------------------------
def test_a_redefined_helper_is_used(tmp_path):
    m = _module(
        tmp_path,
        """
        import numpy as np


        def act(v):
            return np.tanh(v)


        def loss(W, x):
            return np.sum(act(W @ x))
        """,
    )
    W, x = np.random.default_rng(1).normal(size=(3, 2)), np.array([1.0, -2.0])
    vg = srcad.value_and_grad(m.loss)
    assert vg(W, x)[0] == pytest.approx(m.loss(W, x))
    cell = "import numpy as np\n\n\ndef act(v):\n    return np.maximum(v, 0.0)\n"
    m.act = _module(tmp_path, cell).act  # as a notebook cell redefines it
    value, gradient = vg(W, x)
    assert value == pytest.approx(m.loss(W, x))
    np.testing.assert_allclose(gradient, srcad.numerical_grad(m.loss, W, x), atol=1e-8)


def test_a_helper_default_argument_is_read_on_every_call(tmp_path):
    m = _module(
        tmp_path,
        """
        import numpy as np

        SHIFT = np.array([0.0, 1.0])


        def shifted(v, shift=SHIFT):
            return v - shift


        def loss(v):
            return np.sum(shifted(v) ** 2)
        """,
    )
    v = np.array([2.0, 3.0])
    g = srcad.grad(m.loss)
    g(v)
    m.SHIFT[:] = [5.0, -5.0]  # the default array, changed in place
    np.testing.assert_allclose(g(v), srcad.numerical_grad(m.loss, v))


# --- closures, containers, attributes -----------------------------------------------------
def test_a_closed_over_dict_and_an_attribute_are_read_on_every_call():
    class Config:
        scale = 2.0

    state = {"target": 1.0}
    cfg = Config()

    def loss(w):
        return cfg.scale * (w - state["target"]) ** 2

    g = srcad.grad(loss)
    assert g(3.0) == pytest.approx(srcad.numerical_grad(loss, 3.0))
    state["target"] = 2.0
    cfg.scale = 5.0
    assert g(3.0) == pytest.approx(10.0)
    assert g(3.0) == pytest.approx(srcad.numerical_grad(loss, 3.0))


def test_a_closure_cell_rebound_is_read_again():
    def make():
        scale = np.array([1.0, 2.0])

        def loss(w):
            return np.sum(scale * w**2)

        def rescale(value):
            nonlocal scale
            scale = value

        return loss, rescale

    loss, rescale = make()
    g = srcad.grad(loss)
    w = np.array([1.0, 1.0])
    g(w)
    rescale(np.array([3.0, -1.0]))
    np.testing.assert_allclose(g(w), srcad.numerical_grad(loss, w))


def test_a_method_of_an_object_reads_self_on_every_call():
    class Layer:
        def __init__(self):
            self.W = np.eye(2)

        def forward(self, x):
            return np.tanh(self.W @ x)

    layer = Layer()

    def loss(x):
        return np.sum(layer.forward(x) ** 2)

    g = srcad.grad(loss)
    x = np.array([0.3, -0.2])
    g(x)
    layer.W = np.array([[1.0, 2.0], [-1.0, 0.5]])
    np.testing.assert_allclose(g(x), srcad.numerical_grad(loss, x), rtol=1e-6)


def test_a_write_into_an_outside_dict_runs_on_every_call_and_a_read_back_reads_it():
    """``srcad.lower.outside_writes``: the generated code writes the closure's dict."""
    weights = {"w": 1.0}

    def loss(x):
        weights["w"] = x
        return x * 2.0

    gradient = srcad.grad(loss)
    for x in (3.0, -0.5):
        assert gradient(x) == pytest.approx(2.0) and weights["w"] == x

    def reads_back(x):
        weights["w"] = x
        return x * weights["w"]

    gradient = srcad.grad(reads_back)
    for x in (1.0, -2.5):  # x * x: the value written is this call's
        assert gradient(x) == pytest.approx(2.0 * x) and weights["w"] == x


# --- randomness ----------------------------------------------------------------------------
def dropout_loss(w, h):
    keep = np.random.binomial(1, 0.5, size=h.shape)
    return np.sum(w * h * keep)


def test_dropout_draws_are_fresh_and_equal_the_plain_functions_draws():
    h = np.arange(1.0, 9.0)
    grads = []
    for seed in (1, 2, 3):
        np.random.seed(seed)
        gradient = srcad.grad(dropout_loss)(2.0, h)
        np.random.seed(seed)
        assert gradient == pytest.approx(dropout_loss(1.0, h))  # d/dw = sum(h * keep)
        grads.append(gradient)
    assert len(set(grads)) > 1  # not the same sample every time


def test_a_generator_in_a_global_draws_on_every_call(tmp_path):
    m = _module(
        tmp_path,
        """
        import numpy as np

        rng = np.random.default_rng(0)


        def noisy(w):
            return np.sum((w + rng.normal(size=3)) ** 2)
        """,
    )
    g = srcad.grad(m.noisy)
    first, second = g(np.zeros(3)), g(np.zeros(3))
    assert not np.allclose(first, second)
    m.rng = np.random.default_rng(7)  # reseeded by rebinding
    expected = 2 * np.random.default_rng(7).normal(size=3)
    np.testing.assert_allclose(g(np.zeros(3)), expected)


def test_a_random_mask_compared_with_a_constant_is_a_mask_of_this_call():
    def masked(w):
        keep = np.random.rand(4) > 0.5
        return np.sum(w * keep)

    for seed in (0, 4):
        np.random.seed(seed)
        gradient = srcad.grad(masked)(np.ones(4))
        np.random.seed(seed)
        np.testing.assert_array_equal(gradient, np.random.rand(4) > 0.5)


def test_python_random_draws_run_once_per_call():
    def jitter(w):
        return w * random.random()

    random.seed(3)
    gradient = srcad.grad(jitter)(1.0)
    random.seed(3)
    assert gradient == random.random()


def test_the_draw_is_reused_by_the_backward_pass_and_by_loops():
    def rnn(W, xs):
        h = np.zeros(3)
        for t in range(xs.shape[0]):
            h = np.tanh(W @ h + xs[t]) * (np.random.rand(3) > 0.3)
        return np.sum(h)

    W, xs = 0.5 * np.eye(3) + 0.1, np.ones((4, 3))

    def seeded(W):
        np.random.seed(0)
        return rnn(W, xs)

    np.random.seed(0)
    gradient = srcad.grad(rnn)(W, xs)
    np.testing.assert_allclose(gradient, srcad.numerical_grad(seeded, W), atol=1e-7)


def noisy_scale(x):
    return x * np.random.normal(size=3)


def noisy_sum(x):
    return np.sum(x * np.random.normal(size=3))


def noisy_square(x):
    return np.sum(x**2 * np.random.normal(size=3))


def _expected_with_state_after(seed, expected_of_draw):
    """What a transformation should give for this seed's draw, and the generator's state
    after one call of the plain function (every pass after the first draws the same)."""
    np.random.seed(seed)
    draw = np.random.normal(size=3)
    return expected_of_draw(draw), np.random.get_state()[1].copy()


@pytest.mark.parametrize(
    ("transformation", "expected_of_draw"),
    [
        (lambda: srcad.jacfwd(noisy_scale), np.diag),
        (lambda: srcad.jacrev(noisy_scale), np.diag),
        (lambda: srcad.grad(noisy_sum, mode="forward"), lambda draw: draw),
        (lambda: srcad.hessian(noisy_square), lambda draw: np.diag(2 * draw)),
    ],
    ids=["jacfwd", "jacrev", "forward_grad", "hessian"],
)
def test_a_transformation_running_several_passes_keeps_the_calls_draws(
    transformation, expected_of_draw
):
    # one pass per element: each pass must see the first pass's draw, not a new sample
    for seed in (0, 5):
        expected, state_after = _expected_with_state_after(seed, expected_of_draw)
        np.random.seed(seed)
        np.testing.assert_allclose(transformation()(np.ones(3)), expected)
        np.testing.assert_array_equal(np.random.get_state()[1], state_after)


def test_a_vjp_pullback_uses_the_forward_runs_draw_every_time():
    for seed in (0, 5):
        draw, state_after = _expected_with_state_after(seed, lambda draw: draw)
        np.random.seed(seed)
        out, pull = srcad.vjp(noisy_scale, np.ones(3))
        np.testing.assert_allclose(out, draw)
        for cotangent in (np.ones(3), 2 * np.ones(3)):
            np.testing.assert_allclose(pull(cotangent)[0], cotangent * draw)
        np.testing.assert_array_equal(np.random.get_state()[1], state_after)


def test_a_generators_draws_are_kept_across_a_jacobians_passes(tmp_path):
    m = _module(
        tmp_path,
        """
        import numpy as np

        rng = np.random.default_rng(0)


        def noisy(w):
            return w * rng.normal(size=3)
        """,
    )
    m.rng = np.random.default_rng(3)
    jacobian = srcad.jacrev(m.noisy)(np.ones(3))
    np.testing.assert_allclose(jacobian, np.diag(np.random.default_rng(3).normal(size=3)))


SUBSAMPLE = {"rng": np.random.default_rng(0)}


def subsampled(x):
    rows = SUBSAMPLE["rng"].integers(0, 5, size=3)  # a minibatch: integer draws
    order = SUBSAMPLE["rng"].permutation(5)
    picked = SUBSAMPLE["rng"].choice(5, size=2, replace=False)
    return np.sum(x[rows] ** 3) + np.sum(x[order] * x) + np.sum(np.sin(x[picked]))


def _with_seed(function, seed):
    """``function`` called on a fresh generator of ``seed``: the same draws every time."""

    def drawing_the_same(x):
        SUBSAMPLE["rng"] = np.random.default_rng(seed)
        return function(x)

    return drawing_the_same


def _gradient_by_differences(seed, x):
    return srcad.numerical_grad(_with_seed(subsampled, seed), x)


def _hessian_by_differences(seed, x, eps=1e-5):
    gradient = _with_seed(srcad.grad(subsampled), seed)
    rows = [(gradient(x + eps * e) - gradient(x - eps * e)) / (2 * eps) for e in np.eye(x.size)]
    return np.array(rows)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("transformation", "reference"),
    [
        (lambda f: srcad.grad(f, mode="forward"), _gradient_by_differences),
        (srcad.jacfwd, _gradient_by_differences),
        (srcad.hessian, _hessian_by_differences),
    ],
    ids=["forward_grad", "jacfwd", "hessian"],
)
def test_integer_draws_are_kept_across_passes_and_the_generator_advances_once(
    transformation, reference
):
    """``rng.integers``, ``permutation`` and ``choice`` give indices, not floats: they too
    are drawn once per call, whatever the passes (they were drawn again in each)."""
    x = np.array([0.3, -0.7, 1.2, 0.5, -0.1])
    for seed in (1, 7):
        expected = reference(seed, x)
        _with_seed(subsampled, seed)(x)
        state_after = SUBSAMPLE["rng"].bit_generator.state
        SUBSAMPLE["rng"] = np.random.default_rng(seed)
        np.testing.assert_allclose(transformation(subsampled)(x), expected, rtol=1e-6, atol=1e-6)
        assert SUBSAMPLE["rng"].bit_generator.state == state_after


def test_a_vjp_pullback_indexes_with_the_forward_runs_integer_draw():
    SUBSAMPLE["rng"] = np.random.default_rng(2)
    rows = np.random.default_rng(2).integers(0, 5, size=3)
    x = np.array([0.3, -0.7, 1.2, 0.5, -0.1])
    out, pull = srcad.vjp(lambda v: v[SUBSAMPLE["rng"].integers(0, 5, size=3)] ** 2, x)
    np.testing.assert_allclose(out, x[rows] ** 2)
    for cotangent in (np.ones(3), np.arange(3.0)):
        expected = np.zeros(5)
        np.add.at(expected, rows, 2 * x[rows] * cotangent)
        np.testing.assert_allclose(pull(cotangent)[0], expected)


def shuffled(w):
    rows = np.arange(5)
    SUBSAMPLE["rng"].shuffle(rows)  # a minibatch order
    scaled = w * np.arange(5.0)
    SUBSAMPLE["rng"].shuffle(scaled)  # values computed from w: the gather is followed
    grid = np.outer(w, np.ones(2))
    np.random.shuffle(grid)  # NumPy's global generator, rows of a matrix
    grid[...] = grid[np.random.permutation(5)]  # drawn once, not once more for a check
    return np.sum(w * scaled[rows] * np.arange(5.0)) + np.sum(grid * np.arange(10.0).reshape(5, 2))


def test_shuffle_in_place_is_followed_and_draws_as_the_plain_function():
    """``rng.shuffle(y)`` changes ``y``: it ran as a draw whose effect the code did not see
    (the unshuffled value and gradient)."""
    w = np.linspace(0.5, 1.5, 5)

    def seeded(seed):
        def plain(v):
            SUBSAMPLE["rng"] = np.random.default_rng(seed)
            np.random.seed(seed)
            return shuffled(v)

        return plain

    for seed in (1, 2):
        plain = seeded(seed)
        expected_value, expected = plain(w), srcad.numerical_grad(plain, w)
        states_after = SUBSAMPLE["rng"].bit_generator.state, np.random.get_state()[1].copy()
        SUBSAMPLE["rng"] = np.random.default_rng(seed)
        np.random.seed(seed)
        value, gradient = srcad.value_and_grad(shuffled)(w)
        assert value == pytest.approx(expected_value)
        np.testing.assert_allclose(gradient, expected, rtol=1e-6)
        assert SUBSAMPLE["rng"].bit_generator.state == states_after[0]
        np.testing.assert_array_equal(np.random.get_state()[1], states_after[1])


def test_shuffle_along_another_axis_is_refused_with_what_to_write():
    def along_columns(w):
        grid = np.outer(w, np.ones(3))
        SUBSAMPLE["rng"].shuffle(grid, axis=1)
        return np.sum(grid * np.arange(15.0).reshape(5, 3))

    with pytest.raises(srcad.UnsupportedSyntax, match="np.take"):
        srcad.grad(along_columns)(np.ones(5))


def shuffles_a_list_with_pythons_random(w):
    idx = list(range(5))
    random.shuffle(idx)  # a minibatch order in a Python list
    return sum(w[i] * float(k) for k, i in enumerate(idx[:3]))


def shuffles_an_array_with_pythons_random(w):
    rows = np.arange(5)
    random.shuffle(rows)
    return np.sum(w[rows] * np.arange(5.0))


def shuffles_a_list_with_numpy(w):
    idx = list(range(5))
    SUBSAMPLE["rng"].shuffle(idx)
    return sum(w[i] * float(k) for k, i in enumerate(idx[:3]))


@pytest.mark.parametrize(
    "function",
    [
        shuffles_a_list_with_pythons_random,
        shuffles_an_array_with_pythons_random,
        shuffles_a_list_with_numpy,
    ],
)
def test_a_shuffle_srcad_cannot_follow_is_refused_with_what_to_write(function):
    """The order was drawn once, when compiling, and built into the code: later calls
    with other seeds gave that order's value and gradient (stale); NumPy's shuffle of a
    list was left unshuffled in the code (wrong on the first call). Found by a probe."""
    SUBSAMPLE["rng"] = np.random.default_rng(3)
    with pytest.raises(srcad.UnsupportedSyntax, match="permutation"):
        srcad.grad(function)(np.linspace(0.5, 1.5, 5))


def reparameterized(theta):
    """A variational objective as people write it: draws whose parameters are learned."""
    mu, log_sigma = theta[:2], theta[2:]
    z = SUBSAMPLE["rng"].normal(mu, np.exp(log_sigma), size=(3, 2))
    u = np.random.uniform(mu[0], mu[0] + np.exp(log_sigma[0]))
    rates = SUBSAMPLE["rng"].exponential(np.exp(log_sigma))
    return np.sum(z**2) + u + np.sum(np.sqrt(rates)) + np.sum(np.random.lognormal(mu, 0.3))


def test_draws_whose_parameters_are_differentiated_draw_the_plain_functions_values():
    """``rng.normal(mu, sigma)`` is NumPy's ``mu + sigma * rng.standard_normal(...)``: the
    same values, bit for bit, and a gradient through mu and sigma (it was refused)."""
    theta = np.array([0.3, -0.4, -0.2, 0.1])
    for seed in (1, 2):

        def plain(t, seed=seed):
            SUBSAMPLE["rng"] = np.random.default_rng(seed)
            np.random.seed(seed)
            return reparameterized(t)

        expected_value, expected = plain(theta), srcad.numerical_grad(plain, theta)
        for mode in ("reverse", "forward"):
            SUBSAMPLE["rng"] = np.random.default_rng(seed)
            np.random.seed(seed)
            value, gradient = srcad.value_and_grad(reparameterized, mode=mode)(theta)
            assert value == expected_value
            np.testing.assert_allclose(gradient, expected, rtol=1e-6)


def test_draws_without_a_standard_form_whose_parameters_are_differentiated_are_refused():
    def sampled(shape):
        return np.sum(np.random.gamma(shape) * shape)

    for mode in ("reverse", "forward"):
        with pytest.raises(srcad.NoDerivativeRule, match="reparameterization"):
            srcad.grad(sampled, mode=mode)(np.ones(3))


# --- effects -------------------------------------------------------------------------------
def test_print_prints_once_per_call_with_the_plain_functions_values():
    def loss(x):
        y = np.sin(x)
        print("y =", y)
        return np.sum(y**2)

    x = np.array([0.1, 0.2])
    for call in (srcad.grad(loss), srcad.value_and_grad(loss)):
        for _ in range(2):  # the first call compiles, the second takes the fast path
            shown, expected = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(shown):
                call(x)
            with contextlib.redirect_stdout(expected):
                loss(x)
            assert shown.getvalue() == expected.getvalue()


def test_print_inside_a_loop_prints_in_order():
    def loss(x):
        total = 0.0
        for i in range(3):
            print("step", i)
            total = total + x * i
        return total

    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        assert srcad.grad(loss)(2.0) == pytest.approx(3.0)
    assert shown.getvalue() == "step 0\nstep 1\nstep 2\n"


def test_warnings_and_logging_happen_on_every_call(caplog):
    def loss(x):
        warnings.warn("careful", stacklevel=2)
        logging.warning("logged")
        return x * x

    g = srcad.grad(loss)
    for _ in range(2):
        caplog.clear()
        with pytest.warns(UserWarning, match="careful"):
            assert g(3.0) == pytest.approx(6.0)
        assert "logged" in caplog.text


def logs_through_a_named_logger(x):
    loss = np.sum(x**2)
    logging.getLogger(__name__).warning("loss %.3f", loss)
    return loss


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_logger_got_by_name_in_the_function_logs_on_every_call(caplog, mode):
    """``logging.getLogger(__name__).info(...)`` was refused as a function without a
    derivative rule."""
    g = srcad.grad(logs_through_a_named_logger, mode=mode)
    for x in (np.array([1.0, 2.0]), np.array([0.5, 3.0])):
        caplog.clear()
        np.testing.assert_allclose(g(x), 2.0 * x)
        assert caplog.records[-1].name == __name__
        assert caplog.records[-1].getMessage() == f"loss {np.sum(x**2):.3f}"


def test_the_compiled_cache_checks_the_world():
    cache.clear()
    test_a_closed_over_dict_and_an_attribute_are_read_on_every_call()


def test_python_that_raises_when_compiling_is_the_users_error_not_an_internal_one():
    def loss(x):
        n = 1 // 0
        return x * n

    with pytest.raises(srcad.SrcadError, match="ZeroDivisionError") as info:
        srcad.grad(loss)(1.0)
    assert not isinstance(info.value, srcad.InternalError)
    assert "test_staging.py" in str(info.value)


class Settings:
    """Class attributes a function reads through the class."""

    scale = 2.0

    @staticmethod
    def act(v):
        return np.tanh(v)

    @classmethod
    def doubled(cls):
        return 2.0 * cls.scale


def class_loss(x):
    return Settings.scale * np.sum(Settings.act(x)) + Settings.doubled() * np.sum(x)


def test_class_attributes_are_read_on_every_call(monkeypatch):
    x = np.array([0.1, 0.2])
    g = srcad.grad(class_loss)
    np.testing.assert_allclose(g(x), srcad.numerical_grad(class_loss, x))
    monkeypatch.setattr(Settings, "scale", 5.0)
    np.testing.assert_allclose(g(x), srcad.numerical_grad(class_loss, x))


def test_dict_keys_that_are_not_names_get_readable_variables():
    def loss(params, x):
        hidden = np.tanh(params["init hiddens"] * x)
        return np.sum(hidden) + params["it's"] ** 2 + params[3] * 1.0

    params = {"init hiddens": np.ones(3), "it's": 2.0, 3: 1.5}
    x = np.arange(3.0)
    gradient = srcad.grad(loss)(params, x)

    def flat(a, b, c):
        return loss({"init hiddens": a, "it's": b, 3: c}, x)

    expected = srcad.numerical_grad(flat, np.ones(3), 2.0, 1.5, argnums=(0, 1, 2))
    np.testing.assert_allclose(gradient["init hiddens"], expected[0], atol=1e-8)
    assert gradient["it's"] == pytest.approx(expected[1])
    assert gradient[3] == pytest.approx(expected[2])


HISTORY: list = [1.0]


def clears_history(x):
    HISTORY.clear()
    return x * 2.0


def inserts_into_history(x):
    HISTORY.insert(0, x)
    return x * 2.0


def pops_history(x):
    HISTORY.pop()
    return x * 2.0


@pytest.mark.parametrize("loss", [clears_history, inserts_into_history, pops_history])
def test_changing_an_outside_list_other_than_appending_to_it_is_refused(loss):
    """Appends run in the generated code (``test_outside_lists.py``); other changes would
    only change srcad's copy of the list."""
    with pytest.raises(srcad.UnsupportedSyntax, match="changes a container from outside"):
        srcad.grad(loss)(1.0)
    assert HISTORY == [1.0]


def appends_to_its_argument(x, seen):
    seen.append(1.0)
    return np.sum(x) * len(seen)


def counts_in_its_argument(x, state):
    state["calls"] = state.get("calls", 0) + 1
    return np.sum(x) * state["calls"]


def appends_to_its_default(x, seen=[1.0]):  # noqa: B006 - the pattern under test
    seen.append(1.0)
    return np.sum(x) * len(seen)


def sorts_a_list_inside_its_argument(x, params):
    params["order"].sort()
    return np.sum(x) * params["order"][0]


def changes_its_own_copies(x, seen, state, **options):
    seen = list(seen)
    seen.append(2.0)
    state = dict(state)
    state["calls"] = 1
    options.setdefault("scale", 3.0)  # **options is a new dict on every call, in Python too
    options["shift"] = 1.0
    return np.sum(x) * seen[-1] * state["calls"] * options["scale"] + options["shift"]


def test_changing_a_container_passed_in_is_refused_and_the_functions_copies_may_change():
    """Python changes the caller's list or dict (on the next call the function sees the
    changed one, a default value included); srcad's code would not: refused at the line."""
    x = np.array([0.5, -1.0, 2.0])
    calls = [
        (appends_to_its_argument, (x, [1.0]), r"'seen.append\(1.0\)' changes a container"),
        (counts_in_its_argument, (x, {}), r"'state\['calls'\] = ...' writes into a container"),
        (appends_to_its_default, (x,), r"'seen.append\(1.0\)' changes a container"),
        (sorts_a_list_inside_its_argument, (x, {"order": [3.0, 1.0]}), "sort"),
    ]
    for fun, args, message in calls:
        with pytest.raises(srcad.UnsupportedSyntax, match=message):
            srcad.grad(fun)(*args)
    seen, state = [1.0], {"calls": 5}
    for scale in (3.0, 0.5):
        kwargs = {} if scale == 3.0 else {"scale": scale}
        got = srcad.grad(changes_its_own_copies)(x, seen, state, **kwargs)
        expected = srcad.numerical_grad(
            lambda v, kwargs=kwargs: changes_its_own_copies(v, seen, state, **kwargs), x
        )
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert seen == [1.0] and state == {"calls": 5}


def test_the_environment_the_date_and_files_are_refused_and_clocks_read_on_every_call(tmp_path):
    """What os.environ, datetime.now() or a file give can change between calls with the same
    arguments: srcad would read it once, when compiling (a stale value). Refused at the
    line. A clock giving a number is read by the generated code on every call."""
    import datetime
    import os
    import pathlib
    import sys
    import time

    weights = tmp_path / "w.npy"
    np.save(weights, np.ones(3))
    name = str(weights)
    refused = {
        "os.environ": lambda x: np.sum(x) * float(os.environ.get("SRCAD_SCALE", "1.0")),
        "sys.argv": lambda x: np.sum(x) * len(sys.argv),
        "reads the clock": lambda x: np.sum(x) * datetime.datetime.now().second,
        "np.load": lambda x: np.sum(x * np.load(name)),
        "exists": lambda x: np.sum(x) * float(pathlib.Path(name).exists()),
    }
    for what, fun in refused.items():
        with pytest.raises(srcad.UnsupportedSyntax, match=f"{what}.*pass the value in"):
            srcad.grad(fun)(np.ones(3))

    def timed(x):
        started = time.perf_counter()
        total = np.sum(np.sin(x))
        return total * (time.perf_counter() - started >= 0.0) + 0.0 * time.time()

    gradient = srcad.grad(timed)
    for x in (np.array([0.1, 0.5, 2.0]), np.array([1.0, -1.0, 0.0])):
        np.testing.assert_allclose(gradient(x), np.cos(x))
    code = [line.split("#")[0] for line in srcad.source(gradient).splitlines()]
    assert sum("= time.perf_counter()" in line for line in code) == 2


def reseeds_numpys_generator(x):
    np.random.seed(3)
    noise = np.random.randn(3)
    return np.sum(np.sin(x) * noise)


def test_reseeding_numpys_global_generator_runs_on_every_call():
    """np.random.seed inside the function reseeds on every call, as in the plain function
    (it ran once, when compiling: the second call drew other noise)."""
    x = np.array([0.3, -0.7, 1.2])
    gradient = srcad.value_and_grad(reseeds_numpys_generator)
    for _ in range(3):
        np.random.randn(5)  # the world changes: the global generator moves on
        value, grad = gradient(x)
        assert value == pytest.approx(reseeds_numpys_generator(x))
        np.random.seed(3)
        np.testing.assert_allclose(grad, np.cos(x) * np.random.randn(3))


def powered(x, p=2.0):
    return np.sum(np.abs(x) ** p)


def powered_by_keyword(x, *, p=2.0):
    return np.sum(np.abs(x) ** p)


def test_default_values_replaced_on_the_function_are_read_on_the_next_call():
    x = np.array([0.3, -0.5, 0.9])
    for fun, replace in (
        (powered, lambda: setattr(powered, "__defaults__", (3.0,))),
        (powered_by_keyword, lambda: setattr(powered_by_keyword, "__kwdefaults__", {"p": 3.0})),
    ):
        gradient = srcad.value_and_grad(fun)
        saved = (fun.__defaults__, fun.__kwdefaults__)
        try:
            for call in range(4):  # the third call comes after the new defaults
                if call == 2:
                    replace()
                value, grad = gradient(x)
                assert value == pytest.approx(fun(x))
                np.testing.assert_allclose(grad, srcad.numerical_grad(fun, x), rtol=1e-6)
        finally:
            fun.__defaults__, fun.__kwdefaults__ = saved


class Scaler:
    def __init__(self):
        self.W = np.array([[1.0, 0.5], [0.0, 2.0]])

    def __call__(self, x):
        return self.W @ x


SCALER = Scaler()


def through_a_callable_object(x):
    return np.sum(SCALER(x) ** 2)


def test_a_callable_objects_call_method_replaced_on_its_class_is_followed():
    x = np.array([0.3, -0.5])
    gradient = srcad.value_and_grad(through_a_callable_object)
    original = Scaler.__call__
    try:
        for call in range(3):
            if call == 1:
                Scaler.__call__ = lambda self, x: 3.0 * (self.W.T @ x)
            value, grad = gradient(x)
            assert value == pytest.approx(through_a_callable_object(x))
            expected = srcad.numerical_grad(through_a_callable_object, x)
            np.testing.assert_allclose(grad, expected, rtol=1e-6)
    finally:
        Scaler.__call__ = original


def sampled_by_learned_probabilities(w):
    """Mixture sampling: indices drawn with probabilities computed from w (a step function
    of w: slope 0) and from a global, then the values at those indices."""
    p = np.exp(w - np.max(w))
    rows = np.random.choice(3, size=5, p=p / np.sum(p))
    cols = SUBSAMPLE["rng"].choice(3, size=2, p=SUBSAMPLE["p"])
    return np.sum(w[rows] ** 2) + np.sum(np.sin(w[cols]))


def test_indices_drawn_with_computed_probabilities_are_drawn_as_the_plain_function_draws():
    """``choice(n, p=...)`` with p computed was refused ('probabilities do not sum to 1': the
    shape was found on a stand-in p of 0.5s), and with p from w as a draw from w."""
    w = np.array([0.3, -0.2, 0.5])
    for seed, p in ((1, np.array([0.2, 0.3, 0.5])), (2, np.array([0.6, 0.1, 0.3]))):

        def plain(v, seed=seed, p=p):
            np.random.seed(seed)
            SUBSAMPLE["rng"], SUBSAMPLE["p"] = np.random.default_rng(seed), p
            return sampled_by_learned_probabilities(v)

        expected_value, expected = plain(w), srcad.numerical_grad(plain, w)
        for mode in ("reverse", "forward"):
            np.random.seed(seed)
            SUBSAMPLE["rng"], SUBSAMPLE["p"] = np.random.default_rng(seed), p
            value, gradient = srcad.value_and_grad(sampled_by_learned_probabilities, mode=mode)(w)
            assert value == expected_value
            np.testing.assert_allclose(gradient, expected, rtol=1e-6)


def test_a_learned_scale_below_zero_raises_numpys_error_before_drawing():
    def noisy(theta):
        return np.sum(SUBSAMPLE["rng"].normal(0.0, theta, size=2) ** 2)

    SUBSAMPLE["rng"] = np.random.default_rng(3)
    state = SUBSAMPLE["rng"].bit_generator.state
    for mode in ("reverse", "forward"):
        with pytest.raises(ValueError, match="scale < 0"):
            srcad.grad(noisy, mode=mode)(np.array([0.5, -1.0]))
        assert SUBSAMPLE["rng"].bit_generator.state == state  # nothing drawn
    assert srcad.grad(noisy)(np.array([0.5, 1.0])).shape == (2,)


# --- which module, builtin and callable a name refers to ---------------------------------
MODULE_NAMES = """
import numpy as np
import random

xp = np
R = random


def through_a_global(x):
    return xp.sum(xp.exp(x))


def make_through_a_cell():
    xp = np

    def through_a_cell(x):
        return xp.sum(xp.exp(x))

    return through_a_cell


class Config:
    xp = np


CFG = Config()


def through_an_attribute(x):
    return CFG.xp.sum(CFG.xp.exp(x))


def drawn(a):
    return a * R.random()
"""

DOUBLED_EXP = """
import numpy as np

sum = np.sum


def exp(v):
    return 2.0 * np.exp(v)
"""


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("where", ["global", "cell", "attribute"])
def test_a_name_bound_to_a_module_is_checked_on_every_call(tmp_path, where, mode):
    m = _module(tmp_path, MODULE_NAMES)
    other = _module(tmp_path, DOUBLED_EXP)  # xp = mynp: another module's exp
    fun = {
        "global": m.through_a_global,
        "cell": m.make_through_a_cell(),
        "attribute": m.through_an_attribute,
    }[where]
    rebind = {
        "global": lambda: setattr(m, "xp", other),
        "cell": lambda: setattr(fun.__closure__[0], "cell_contents", other),
        "attribute": lambda: setattr(m.CFG, "xp", other),
    }[where]
    x = np.array([0.3, -1.2])
    gradient = srcad.value_and_grad(fun, mode=mode)
    for call in range(3):
        if call == 1:
            rebind()
        value, grad = gradient(x)
        assert value == pytest.approx(fun(x))
        np.testing.assert_allclose(grad, srcad.numerical_grad(fun, x), rtol=1e-6)
    np.testing.assert_allclose(srcad.grad(fun, mode=mode)(x), 2.0 * np.exp(x))  # a fresh grad


def test_a_module_drawn_from_that_is_replaced_draws_from_the_new_one(tmp_path):
    m = _module(tmp_path, MODULE_NAMES)
    gradient = srcad.grad(m.drawn)
    random.seed(0)
    assert gradient(2.0) == pytest.approx(random.Random(0).random())
    m.R = np.random  # Python's generator -> NumPy's
    np.random.seed(0)
    assert gradient(2.0) == pytest.approx(np.random.RandomState(0).random_sample())


SHADOWED = """
def total(x):
    return sum(abs(v) for v in x)
"""


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_builtin_shadowed_by_a_global_later_is_followed(tmp_path, mode):
    m = _module(tmp_path, SHADOWED)
    x = np.array([0.3, -1.2])
    gradient = srcad.value_and_grad(m.total, mode=mode)
    for call in range(4):
        if call == 1:
            m.abs = lambda v: v * v  # 'from somewhere import *' run later, in a notebook
        if call == 3:
            del m.abs  # the builtin again
        value, grad = gradient(x)
        assert value == pytest.approx(m.total(x))
        np.testing.assert_allclose(grad, srcad.numerical_grad(m.total, x), rtol=1e-6)
    m.abs = lambda v: v * v
    np.testing.assert_allclose(srcad.grad(m.total, mode=mode)(x), 2 * x)  # a fresh grad too


def weighted(x, w=1.0):
    return np.sum(w * x**2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_partials_keywords_changed_in_place_are_read_on_the_next_call(mode):
    x = np.array([0.3, -1.2])
    partial = functools.partial(weighted, w=2.0)
    for fun in (partial, functools.partial(partial, w=0.5)):  # functools flattens the second
        gradient = srcad.value_and_grad(fun, mode=mode)
        for call in range(3):
            if call == 1:
                fun.keywords["w"] = -3.0
            value, grad = gradient(x)
            assert value == pytest.approx(fun(x))
            np.testing.assert_allclose(grad, srcad.numerical_grad(fun, x), rtol=1e-6)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_keyword_defaults_changed_in_place_are_read_on_the_next_call(mode):
    x = np.array([0.3, -0.5, 0.9])
    gradient = srcad.value_and_grad(powered_by_keyword, mode=mode)
    saved = powered_by_keyword.__kwdefaults__
    try:
        for call in range(3):
            if call == 1:
                powered_by_keyword.__kwdefaults__["p"] = 3.0  # the same dict
            value, grad = gradient(x)
            assert value == pytest.approx(powered_by_keyword(x))
            expected = srcad.numerical_grad(powered_by_keyword, x)
            np.testing.assert_allclose(grad, expected, rtol=1e-6)
    finally:
        powered_by_keyword.__kwdefaults__ = saved


class Squares:
    def __call__(self, x):
        return np.sum(x**2)


class Cubes:
    def __call__(self, x):
        return np.sum(x**3)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_the_gradient_of_a_callable_object_follows_its_class_and_call_method(mode):
    x = np.array([0.3, -1.2])
    model = Squares()
    gradient = srcad.value_and_grad(model, mode=mode)
    original = Squares.__call__
    try:
        for call in range(4):
            if call == 1:
                Squares.__call__ = lambda self, x: np.sum(np.sin(x))
            if call == 2:
                model.__class__ = Cubes
            value, grad = gradient(x)
            assert value == pytest.approx(model(x))
            np.testing.assert_allclose(grad, srcad.numerical_grad(model, x), rtol=1e-6)
            fresh = srcad.grad(model, mode=mode)(x)
            np.testing.assert_allclose(fresh, srcad.numerical_grad(model, x), rtol=1e-6)
    finally:
        Squares.__call__ = original


def scaled_by_its_attribute(x):
    return scaled_by_its_attribute.scale * np.sum(x**2) + sized(x)


def sized(x):
    return sized.power * np.sum(x**sized.power)


scaled_by_its_attribute.scale = 1.0
sized.power = 2


def weighted_by_getattr(x):
    bonus = 1.0 if hasattr(weighted_by_getattr, "bonus") else 0.0
    return np.sum(x * getattr(weighted_by_getattr, "w", 1.0)) + bonus


def test_getattr_and_hasattr_of_a_functions_attributes_are_read_on_every_call():
    x = np.array([1.0, 2.0, 3.0])
    gradient = srcad.value_and_grad(weighted_by_getattr)
    try:
        for change in (lambda: None, lambda: setattr(weighted_by_getattr, "w", 4.0)):
            change()
            for step in (lambda: None, lambda: setattr(weighted_by_getattr, "bonus", True)):
                step()
                value, grad = gradient(x)
                assert value == pytest.approx(weighted_by_getattr(x))
                np.testing.assert_allclose(grad, srcad.numerical_grad(weighted_by_getattr, x))
    finally:
        for name in ("w", "bonus"):
            weighted_by_getattr.__dict__.pop(name, None)


def _made_with_attribute(scale):
    def scaled(x):
        return scaled.scale * np.sum(x**2)

    scaled.scale = scale
    return scaled


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_attributes_set_on_functions_are_read_on_every_call(mode):
    """``f.scale = 2.0``: a float (read), an int that sets a power (compared: a new one
    compiles again), on the function itself and on a helper; functions of one factory keep
    their own attribute."""
    x = np.array([0.3, -0.5, 0.9])
    gradient = srcad.value_and_grad(scaled_by_its_attribute, mode=mode)
    try:
        for scale, power in ((1.0, 2), (5.0, 2), (5.0, 3)):
            scaled_by_its_attribute.scale, sized.power = scale, power
            for transformed in (gradient, srcad.value_and_grad(scaled_by_its_attribute, mode=mode)):
                value, grad = transformed(x)
                assert value == pytest.approx(scaled_by_its_attribute(x))
                expected = srcad.numerical_grad(scaled_by_its_attribute, x)
                np.testing.assert_allclose(grad, expected, rtol=1e-6)
    finally:
        scaled_by_its_attribute.scale, sized.power = 1.0, 2
    for scale in (1.0, 5.0):
        made = _made_with_attribute(scale)
        np.testing.assert_allclose(srcad.grad(made, mode=mode)(x), 2.0 * scale * x)


ALPHA = 2.0


def weighted_through_globals(x):
    return globals().get("ALPHA", 1.0) * np.sum(x**2)


def formatted_through_locals(x):
    loss = np.sum(x**2)
    print("loss {loss:.3f}".format(**locals()))
    return loss


def counted_names(x):
    return len(dir()) * np.sum(x)


@pytest.mark.parametrize(
    "fun",
    [weighted_through_globals, formatted_through_locals, counted_names],
    ids=lambda f: f.__name__,
)
def test_reading_the_namespace_is_refused_with_the_names_to_write(fun):
    """Run when compiling, ``globals()`` and ``locals()`` gave srcad's namespace: the value
    was 1.0 * sum(x**2) where the plain function gives 2.0 * sum(x**2)."""
    with pytest.raises(srcad.UnsupportedSyntax, match="write the names themselves") as error:
        srcad.value_and_grad(fun)(np.array([1.0, 2.0]))
    assert error.value.file == __file__


def scaled_by_text(x):
    return np.sum(eval("x * 3.0"))


def scaled_by_a_global_in_text(x):
    return np.sum(eval("ALPHA * x"))


def updated_by_text(x):
    y = x * 2.0
    exec("y = y * 5.0")
    return np.sum(y)


@pytest.mark.parametrize(
    "fun", [scaled_by_text, scaled_by_a_global_in_text, updated_by_text], ids=lambda f: f.__name__
)
def test_code_given_as_text_is_refused_at_its_line(fun):
    """Run when compiling, in srcad's namespace, ``eval("x * 3.0")`` failed with an
    InternalError (x unknown there); one of globals only would have read ALPHA once."""
    with pytest.raises(srcad.UnsupportedSyntax, match="runs code given as text") as error:
        srcad.value_and_grad(fun)(np.array([1.0, 2.0]))
    assert error.value.file == __file__
    assert error.value.line == fun.__code__.co_firstlineno + (2 if fun is updated_by_text else 1)


class Pair(NamedTuple):
    a: float
    b: float


class Formatted:
    def __init__(self, a):
        self.a = a

    def __repr__(self):
        return f"Formatted(a={self.a:.3f})"


@dataclasses.dataclass
class Doubled:
    w: np.ndarray
    n: int


def prints_a_named_tuple(q):
    print(q)
    return q.a * q.b


def prints_an_object_with_its_own_repr(a):
    print(Formatted(a))
    return a * a


def prints_a_dataclass_it_made(w):
    made = Doubled(w * 2.0, 3)
    print("made", made)
    return np.sum(made.w**2)


@pytest.mark.parametrize(
    "fun, first, second",
    [
        (prints_a_named_tuple, Pair(0.5, 2.0), Pair(1.5, -1.0)),
        (prints_an_object_with_its_own_repr, 0.5, 0.25),
        (prints_a_dataclass_it_made, np.array([1.0, 2.0]), np.array([-0.5, 3.0])),
    ],
    ids=["named_tuple", "own_repr", "dataclass"],
)
def test_records_holding_computed_values_print_as_the_plain_function_prints(fun, first, second):
    """They printed srcad's tracers (a constant made when compiling), or raised TypeError in
    the generated code where a ``__repr__`` formats a field with ``:.3f``."""
    gradient = srcad.value_and_grad(fun)
    for argument in (first, second):
        printed, plain = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(printed):
            value, _ = gradient(argument)
        with contextlib.redirect_stdout(plain):
            expected = fun(argument)
        assert printed.getvalue() == plain.getvalue() and "Tracer" not in printed.getvalue()
        assert value == pytest.approx(expected)


PULLBACK = {"scale": 1.0}
PULLBACK_WEIGHTS = np.array([1.0, 2.0])


def read_by_a_pullback(x):
    return PULLBACK["scale"] * np.sum(PULLBACK_WEIGHTS * x**2)


def test_a_pullback_called_after_the_world_changed_refuses_to_mix_two_worlds():
    """``vjp_fn`` runs the code again: with a global changed since ``srcad.vjp`` ran, the
    gradient was the new world's while ``primal_out`` was the old one's."""
    x = np.array([1.0, 2.0])
    value, vjp_fn = srcad.vjp(read_by_a_pullback, x)
    (expected,) = vjp_fn(1.0)
    np.testing.assert_allclose(expected, srcad.numerical_grad(read_by_a_pullback, x), rtol=1e-7)
    try:
        for change, undo in (
            (lambda: PULLBACK.update(scale=10.0), lambda: PULLBACK.update(scale=1.0)),
            (
                lambda: PULLBACK_WEIGHTS.__setitem__(0, 5.0),
                lambda: PULLBACK_WEIGHTS.__setitem__(0, 1.0),
            ),
        ):
            change()
            with pytest.raises(
                srcad.SrcadError, match="changed between the call and its vjp_fn"
            ) as refused:
                vjp_fn(1.0)
            # at the user's call of vjp_fn, with no srcad frame after it
            assert str(refused.value).startswith(f"{__file__}:{refused.tb.tb_lineno}: ")
            assert refused.tb.tb_next is None
            undo()
            np.testing.assert_allclose(vjp_fn(1.0)[0], expected)  # the same world again
    finally:
        PULLBACK["scale"], PULLBACK_WEIGHTS[0] = 1.0, 1.0
    assert value == pytest.approx(read_by_a_pullback(x))


def test_a_pullback_runs_at_its_point_after_the_caller_changed_the_array():
    """``vjp_fn`` ran the code on the caller's array, changed in place since ``srcad.vjp``."""
    z = np.array([0.3, -0.7])
    value, vjp_fn = srcad.vjp(lambda z: np.sum(np.sin(z)), z)
    z[0] = 5.0
    np.testing.assert_allclose(vjp_fn(1.0)[0], np.cos([0.3, -0.7]))
    assert value == pytest.approx(np.sum(np.sin([0.3, -0.7])))


LOGGED = logging.getLogger("srcad.tests.asked")


def asks_the_logger(w):
    total = np.sum(w**2)
    if LOGGED.isEnabledFor(logging.DEBUG):
        print("detail", total)  # dropped from the generated code, with no error
    return total


def inserts_at_a_drawn_position(w):
    order = list(range(5))
    order.insert(random.randint(0, 3), 4)
    return w[order[0]] * 2.0


@pytest.mark.parametrize("function", [asks_the_logger, inserts_at_a_drawn_position])
def test_calls_srcad_cannot_follow_are_refused_at_the_line(function):
    """'if log.isEnabledFor(...)' lost its body (its prints never ran); a list changed at
    a drawn position was an internal error. Found by a probe."""
    with pytest.raises(srcad.UnsupportedSyntax):
        srcad.grad(function)(np.linspace(0.5, 1.5, 5))


def drawn_between_learned_bounds(p):
    return random.uniform(p[0], p[0] + np.exp(p[1])) * p[0]


def test_pythons_uniform_of_learned_bounds_is_reparameterized_and_draws_as_python():
    """random.uniform(a, b) with traced bounds went through NumPy's rule and failed with
    "Random.random() takes no keyword arguments" (found by a probe): now a + (b - a) *
    random.random(), the same draw; the generator's state after the call is the plain one's."""
    p = np.array([0.5, -0.2])
    gradient = srcad.value_and_grad(drawn_between_learned_bounds)
    for seed in (3, 4):

        def plain(q, seed=seed):
            random.seed(seed)
            return drawn_between_learned_bounds(q)

        expected_value, expected = plain(p), srcad.numerical_grad(plain, p)
        state_after = random.getstate()
        random.seed(seed)
        value, got = gradient(p)
        assert value == pytest.approx(expected_value)
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        assert random.getstate() == state_after


def seeded_by_a_draw(w):
    rng = np.random.default_rng(random.randint(0, 1000))
    return np.sum(w * rng.normal(size=5))


def test_a_generator_seeded_by_a_value_from_the_run_is_refused_saying_so():
    """It said "'np.random.default_rng' has no derivative rule" (found by a probe)."""
    with pytest.raises(srcad.UnsupportedSyntax, match="makes a random generator from a seed"):
        srcad.grad(seeded_by_a_draw)(np.linspace(0.5, 1.5, 5))


def cubic_with_a_default(x, c=np.array([1.0, 2.0, 3.0])):  # noqa: B008 - as users write
    return np.sum(c * x**3)


def cubic_with_a_keyword_default(x, *, c=np.array([1.0, 2.0, 3.0])):  # noqa: B008
    return np.sum(c * x**3)


def through_an_inner_gradient(x):
    return np.sum(srcad.grad(cubic_with_a_default)(x) * np.array([1.0, -0.5, 0.3]))


def through_an_inner_keyword_gradient(x):
    return np.sum(srcad.grad(cubic_with_a_keyword_default)(x) * x)


def calling_the_helper(x):
    return cubic_with_a_default(x) + cubic_with_a_keyword_default(x)


def _replace_defaults(value):
    cubic_with_a_default.__defaults__ = (value,)
    cubic_with_a_keyword_default.__kwdefaults__["c"] = value  # the dict, changed in place


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("make", "fun"),
    [
        (srcad.grad, through_an_inner_gradient),
        (srcad.grad, through_an_inner_keyword_gradient),
        (srcad.hessian, calling_the_helper),
        (lambda f: srcad.jacrev(srcad.grad(f)), calling_the_helper),
    ],
    ids=["inner grad", "inner grad, keyword", "hessian", "jacrev of grad"],
)
def test_a_helpers_defaults_replaced_between_calls_are_read(make, fun, monkeypatch):
    """A compile that passed a helper's default through a transformation (an inner grad, a
    second derivative) held its value: defaults replaced later went unseen."""
    monkeypatch.setattr(cubic_with_a_default, "__defaults__", cubic_with_a_default.__defaults__)
    monkeypatch.setattr(
        cubic_with_a_keyword_default,
        "__kwdefaults__",
        dict(cubic_with_a_keyword_default.__kwdefaults__),
    )
    transformed = make(fun)
    x = np.array([0.7, 0.4, 1.1])
    for c in (np.array([1.0, 2.0, 3.0]), np.array([-1.0, 4.0, 0.5])):
        _replace_defaults(c)
        if make is srcad.grad:
            expected = srcad.numerical_grad(fun, x)
        else:  # the second derivative of 2 sum(c x**3) with the defaults as they are now
            expected = np.diag(12.0 * c * x)
        np.testing.assert_allclose(transformed(x), expected, rtol=1e-6, atol=1e-9)


def _wrapping(original):
    def my_tanh(x):
        return original(x) * 2.0 + x**3

    return my_tanh


def test_a_numpy_function_replaced_by_a_wrapper_of_itself_is_refused(monkeypatch):
    """np.tanh = my_tanh before the first call, my_tanh calling the original: srcad followed
    my_tanh, but its generated code called the original as np.tanh, which ran my_tanh again
    (a value of 4.69 for 2.16 and a wrong gradient)."""
    monkeypatch.setattr(np, "tanh", _wrapping(np.tanh))

    def loss(x):
        return np.sum(np.tanh(x))

    x = np.array([0.3, 0.7])
    with pytest.raises(srcad.UnsupportedSyntax, match="'np.tanh' holds my_tanh"):
        srcad.value_and_grad(loss)(x)
    monkeypatch.undo()  # undone: the same function compiles, and its gradient is right
    np.testing.assert_allclose(srcad.grad(loss)(x), srcad.numerical_grad(loss, x), rtol=1e-6)


def test_a_math_function_replaced_by_a_wrapper_of_itself_is_not_called_in_scalar_code(
    monkeypatch,
):
    """math.exp = my_exp before the first call: scalar generated code spells np.exp as
    math.exp, which ran my_exp a second time (2.45 for 2.29)."""
    import math

    monkeypatch.setattr(math, "exp", _wrapping(math.exp))
    monkeypatch.setattr(math, "pow", lambda a, b: 0.0)

    def loss(a, b):
        return math.exp(a) * b + a**1.5

    gradient = srcad.value_and_grad(loss, argnums=(0, 1))
    for b in (0.7, -1.3):  # a second call with other values
        value, got = gradient(0.3, b)
        assert value == pytest.approx(loss(0.3, b), rel=1e-12)
        np.testing.assert_allclose(
            got,
            [srcad.numerical_grad(loss, 0.3, b, argnums=k) for k in (0, 1)],
            rtol=1e-6,
        )


def _weighted(x, alpha=np.array([1.0, 2.0])):  # noqa: B008 - a default array, on purpose
    return np.sum(alpha * x**2)


def _calls_weighted(x):
    return _weighted(x)


def _reads_the_default_itself(x):
    return np.sum(_weighted.__defaults__[0] * x**3)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
def test_a_default_array_changed_in_place_is_read_by_the_next_hessian(backend):
    """hessian over the generated gradient, which reads helper.__defaults__[0], took that
    array for a constant: numba compiled its values in, and later calls used them (probe
    Y); a function reading __defaults__ itself did the same."""
    if backend == "numba":
        pytest.importorskip("numba")
    x = np.array([0.3, 0.5])
    default = _weighted.__defaults__[0]
    hessian = srcad.hessian(_calls_weighted, backend=backend)
    gradient = srcad.grad(_reads_the_default_itself, backend=backend)
    try:
        for weights in ([1.0, 2.0], [4.0, -3.0]):
            default[:] = weights  # in place, between calls
            np.testing.assert_allclose(hessian(x), np.diag(2.0 * default), rtol=1e-12)
            np.testing.assert_allclose(
                gradient(x), srcad.numerical_grad(_reads_the_default_itself, x), rtol=1e-6
            )
    finally:
        default[:] = [1.0, 2.0]
