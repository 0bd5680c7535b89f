"""Functions passed as arguments (``activation=np.tanh``, ``act=relu``, a lambda): constants
of the layout compiled for, compared by identity on every call (``srcad.arguments``).

Checked: the gradient agrees with central differences of the plain function for NumPy's
functions, a helper of the user's and a lambda, also after a global that the passed function
reads changed, and after the caller passed another function (a new compile, not the old
code); forward mode and the numba variant agree; a function inside a differentiated argument
is refused with what to do; the generated code says which function it was compiled for and
checks it.
"""

from __future__ import annotations

import enum
import functools
import os
import warnings

import numpy as np
import pytest
import scipy.special

import srcad

SETTINGS = {"slope": 0.1}
W = np.random.default_rng(3).normal(size=(4, 3))
X = np.array([0.3, -1.2, 0.8, 2.0])


def leaky(z):
    return np.where(z > 0.0, z, SETTINGS["slope"] * z)


def layer(W, x, activation=np.tanh):
    return np.sum(activation(x @ W) ** 2)


def layer_with_config(W, x, config):
    return np.sum(config["activation"](x @ W) * config["scale"])


def _agrees(gradient, function, *args):
    np.testing.assert_allclose(
        gradient(*args), srcad.numerical_grad(function, *args), rtol=1e-6, atol=1e-8
    )


@pytest.mark.parametrize(
    "activation",
    [np.tanh, np.sin, np.arctan, np.cumsum, leaky, lambda z: np.log1p(z**2) * SETTINGS["slope"]],
    ids=["ufunc tanh", "ufunc sin", "ufunc arctan", "function cumsum", "helper", "lambda"],
)
def test_gradient_agrees_also_after_a_global_the_function_reads_changed(activation):
    gradient = srcad.grad(layer)
    kept = SETTINGS["slope"]
    try:
        for slope in (kept, 0.35):
            SETTINGS["slope"] = slope
            _agrees(gradient, layer, W, X, activation)
    finally:
        SETTINGS["slope"] = kept


def test_another_function_on_the_next_call_gets_its_own_gradient():
    gradient = srcad.grad(layer)
    for activation in (np.tanh, np.sin, leaky, np.tanh):
        _agrees(gradient, layer, W, X, activation)
    _agrees(gradient, layer, W, X)  # the default, np.tanh


def test_functions_in_a_configuration_and_in_forward_mode():
    for activation in (np.cos, leaky):
        config = {"activation": activation, "scale": 3}
        _agrees(srcad.grad(layer_with_config), layer_with_config, W, X, config)
        forward = srcad.jacfwd(layer_with_config)(W, X, config)
        np.testing.assert_allclose(forward, srcad.grad(layer_with_config)(W, X, config))


def test_the_generated_code_names_and_checks_the_function():
    gradient = srcad.grad(layer)
    gradient(W, X, np.sin)
    text = srcad.source(gradient)
    assert "compiled for: W float64[4, 3], x float64[4], activation=np.sin" in text
    assert "activation is expected_activation" in text
    body = gradient.last.fn
    with pytest.raises(ValueError, match="activation=np.sin"):
        body.__globals__[body.__name__.removesuffix("_unchecked")](W, X, np.cos)


def test_a_function_in_a_differentiated_argument_is_refused_with_what_to_do():
    with pytest.raises(TypeError, match="holds the function np.tanh.*leave it out of argnums"):
        srcad.grad(layer_with_config, argnums=2)(W, X, {"activation": np.tanh, "scale": 2.0})


def test_other_callables_are_refused_by_their_type():
    import functools

    with pytest.raises(TypeError, match="argument 'activation' of layer is a partial"):
        srcad.grad(layer)(W, X, functools.partial(np.power, 2.0))


@pytest.mark.slow
def test_the_numba_variant_compiles_without_the_function_and_agrees():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    compiled = srcad.grad(layer, backend="numba")
    kept = SETTINGS["slope"]
    try:
        for activation, slope in ((np.sin, kept), (leaky, kept), (leaky, 0.5)):
            SETTINGS["slope"] = slope
            with warnings.catch_warnings():
                warnings.simplefilter("error", NumbaFallbackWarning)
                got = compiled(W, X, activation)
            np.testing.assert_allclose(got, srcad.grad(layer)(W, X, activation), rtol=1e-12)
    finally:
        SETTINGS["slope"] = kept


def test_a_new_function_on_every_call_is_right_and_warned_of_at_the_users_line():
    gradient = srcad.grad(layer)
    with pytest.warns(UserWarning, match="16 different functions passed as arguments") as seen:
        for k in range(17):
            scale = 1.0 + k / 10
            got = gradient(W, X, lambda z, scale=scale: np.tanh(z) * scale)
            assert np.allclose(got, srcad.grad(layer)(W, X, np.tanh) * scale**2)
    package = os.path.dirname(srcad.__file__)  # the suite's conftest wraps the call
    assert len(seen) == 1 and not seen[0].filename.startswith(package)


class Phase(enum.Enum):
    TRAIN = "train"
    EVAL = "eval"


DROP = {"rate": 0.5}


def phased(w, phase):
    scale = 1.0 - DROP["rate"] if phase is Phase.TRAIN else 1.0
    if phase == Phase.EVAL:
        return np.sum(np.tanh(w)) * scale
    return np.sum(w**2) * scale


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
def test_an_enum_member_is_a_constant_compared_by_identity(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    w = np.array([0.4, -1.2])
    gradient = srcad.grad(phased, backend=backend)
    for phase, rate in [(Phase.TRAIN, 0.5), (Phase.EVAL, 0.5), (Phase.TRAIN, 0.2)]:
        DROP["rate"] = rate  # read on every call
        np.testing.assert_allclose(
            gradient(w, phase), srcad.numerical_grad(phased, w, phase), rtol=1e-6
        )
    DROP["rate"] = 0.5
    assert "phase=Phase.TRAIN" in srcad.source(gradient)  # the header names it
    with pytest.raises(TypeError, match="holds the Enum member Phase.TRAIN"):
        srcad.grad(phased, argnums=1)(w, Phase.TRAIN)


def namespaced(x, xp=np):
    """Array-API code's namespace argument, defaulted to NumPy."""
    return xp.sum(xp.sin(x) * xp.exp(-x))


def test_a_module_argument_is_a_constant_compared_by_identity():
    x = np.array([0.3, -0.2, 0.9])
    for mode in ("reverse", "forward"):
        expected = srcad.numerical_grad(namespaced, x)
        np.testing.assert_allclose(srcad.grad(namespaced, mode=mode)(x), expected, rtol=1e-6)
        np.testing.assert_allclose(srcad.grad(namespaced, mode=mode)(x, np), expected, rtol=1e-6)
        np.testing.assert_allclose(srcad.grad(namespaced, mode=mode)(x, xp=np), expected, rtol=1e-6)


def lagrangian(q, q_dot):  # a tangent named q_dot would be a second parameter 'q_dot'
    return 0.5 * np.sum(q_dot**2) - np.sum(np.cos(q))


def backprop_step(x, dout):  # the user's own dout, not srcad's seed
    return np.sum(x * dout) ** 2


def test_generated_parameters_are_named_apart_from_the_functions_own():
    """q_dot and dout of the user's clashed with srcad's tangent and seed parameters: a
    SyntaxError (duplicate argument) or the seed read as the user's array (probe AM)."""
    q, q_dot = np.array([0.3, 0.5]), np.array([1.0, -2.0])
    np.testing.assert_allclose(srcad.hessian(lagrangian)(q, q_dot), np.diag(np.cos(q)))
    np.testing.assert_allclose(srcad.grad(lagrangian, mode="forward")(q, q_dot), np.sin(q))
    x, dout = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(
            srcad.grad(backprop_step, argnums=(0, 1), mode=mode)(x, dout),
            (2 * np.sum(x * dout) * dout, 2 * np.sum(x * dout) * x),
        )
    _, pullback = srcad.vjp(backprop_step, x, dout)
    np.testing.assert_allclose(pullback(2.0)[1], 4 * np.sum(x * dout) * x)


def options_sum(a, **options):
    return np.sum(a**2, **options) * WEIGHT["w"]


WEIGHT = {"w": 1.0}


@pytest.mark.parametrize(
    "fun, plain, args, argnums",
    [
        (np.clip, lambda a, lo, hi: np.clip(a, lo, hi), (0.5, 0.0, 1.0), 0),
        (np.where, lambda c, x, y: np.where(c, x, y), (True, 2.0, 3.0), 1),
        (np.linalg.norm, lambda x, o: np.linalg.norm(x, o), (np.array([1.0, -2.0]), 1), 0),
        (functools.partial(np.power, 2.0), lambda x: np.power(2.0, x), (3.0,), 0),
        (functools.partial(np.sum, axis=0), lambda x: np.sum(x, axis=0), (np.ones((2, 3)),), 0),
        (np.power, lambda x1, x2: np.power(x1, x2), (2.0, 3.0), -1),
        (
            functools.partial(options_sum, axis=1),
            lambda x: options_sum(x, axis=1),
            (np.ones((2, 3)),),
            0,
        ),
    ],
    ids=[
        "clip",
        "where",
        "norm",
        "partial of power",
        "partial of sum",
        "power, -1",
        "partial into **options",
    ],
)
def test_a_numpy_function_given_with_its_optional_arguments_or_in_a_partial(
    fun, plain, args, argnums
):
    """'clip(): too many positional arguments' (the one-line def took the parameters
    without defaults only); a partial of a NumPy function was refused; a partial's keyword
    that its function takes in **options was dropped, silently (a Jacobian of the sum of
    all elements for np.sum with axis=0). Found by a probe."""
    for scale in (1.0, 1.5):  # other arguments, and a global, changed: each call's
        WEIGHT["w"] = scale
        try:
            scaled = tuple(a * scale if not isinstance(a, (bool, int)) else a for a in args)
            got = srcad.jacrev(fun, argnums=argnums)(*scaled)
            expected = srcad.jacrev(plain, argnums=argnums)(*scaled)
            central = srcad.numerical_grad(lambda *a: np.sum(plain(*a)), *scaled, argnums=argnums)
        finally:
            WEIGHT["w"] = 1.0
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        summed = got.sum(axis=tuple(range(np.ndim(plain(*scaled))))) if np.ndim(got) else got
        np.testing.assert_allclose(summed, central, rtol=1e-6)


@pytest.mark.parametrize(
    "fun, args, name",
    [(scipy.special.ellipk, (0.5,), "scipy.special.ellipk"), (np.ldexp, (1.5, 2), "np.ldexp")],
)
def test_a_ufunc_without_a_rule_given_directly_has_no_derivative_rule(fun, args, name):
    """It was refused as 'not ufunc' (ArgumentTypeError), where a call of it in a function
    is NoDerivativeRule saying how to give it one (found by a probe)."""
    with pytest.raises(srcad.NoDerivativeRule, match=rf"srcad.defvjp\({name}, rule\)"):
        srcad.grad(fun)(*args)


PARTIAL_SCALE = {"v": 1.0}


def cubed_times(a, b):
    return a**3 * b * PARTIAL_SCALE["v"]


def test_a_partial_of_a_gradient_is_differentiated_also_after_its_keywords_changed():
    """'not functools.partial of <lambda>' for a partial of srcad.grad(f), where the same
    partial called in a lambda was differentiated (found by a probe)."""
    partial = functools.partial(srcad.grad(cubed_times), b=2.0)
    second = srcad.grad(partial)
    for b, v in ((2.0, 1.0), (5.0, 1.0), (5.0, 3.0)):  # the partial's keyword, a global
        partial.keywords["b"] = b
        PARTIAL_SCALE["v"] = v
        try:
            expected = srcad.numerical_grad(lambda a: partial(a), 1.5)
            assert second(1.5) == pytest.approx(expected, rel=1e-6)
        finally:
            PARTIAL_SCALE["v"] = 1.0
