"""Transformations of functions that take and return pytrees (tuples, lists, dicts), laid out
as JAX lays them out, each against central differences of the plain function; and ``argnums``
read once (``srcad.arguments.Wrt``), in one meaning for every transformation."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import pytest

import srcad
from srcad.pytree import flatten, unflatten

RNG = np.random.default_rng(7)
X = RNG.normal(size=3)
W = RNG.normal(size=(2, 3))


def numerical_jacobian(fun, args: tuple, number: int, eps: float = 1e-6) -> object:
    """Central differences in JAX's layout: the output's structure, then the argument's."""
    arg_leaves, arg_tree = flatten(args[number])
    out_leaves, out_tree = flatten(fun(*args))
    per_out = []
    for j, out_leaf in enumerate(out_leaves):
        jacobians = []
        for i, leaf in enumerate(arg_leaves):
            base = np.array(leaf, dtype=float)
            jac = np.zeros(np.shape(out_leaf) + base.shape)
            for position in np.ndindex(base.shape):
                values = []
                for sign in (1.0, -1.0):
                    shifted = base.copy()
                    shifted[position] += sign * eps
                    leaves = list(arg_leaves)
                    leaves[i] = float(shifted) if isinstance(leaf, float) else shifted
                    moved = list(args)
                    moved[number] = unflatten(arg_tree, leaves)
                    values.append(np.asarray(flatten(fun(*moved))[0][j], dtype=float))
                jac[(...,) + position] = (values[0] - values[1]) / (2 * eps)
            jacobians.append(jac)
        per_out.append(unflatten(arg_tree, jacobians))
    return unflatten(out_tree, per_out)


def assert_trees_close(actual, expected) -> None:
    actual_leaves, actual_tree = flatten(actual)
    expected_leaves, expected_tree = flatten(expected)
    assert actual_tree == expected_tree
    for a, e in zip(actual_leaves, expected_leaves, strict=True):
        assert np.shape(a) == np.shape(e)
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-8)


def tuple_out(x):
    return np.tanh(x) * 2.0, np.sum(x**2)


def dict_out(params, x):
    h = np.tanh(params["W"] @ x + params["b"])
    return {"h": h, "norm": np.sum(h**2)}


def list_in(layers, x):
    return np.tanh(layers[1] * (layers[0] @ x))


PARAMS = {"W": W, "b": RNG.normal(size=2)}


@pytest.mark.parametrize("jacobian", [srcad.jacrev, srcad.jacfwd])
def test_jacobian_of_a_tuple_output_is_a_tuple_of_jacobians(jacobian):
    result = jacobian(tuple_out)(X)

    assert isinstance(result, tuple) and result[0].shape == (3, 3) and result[1].shape == (3,)
    assert_trees_close(result, numerical_jacobian(tuple_out, (X,), 0))


@pytest.mark.parametrize("jacobian", [srcad.jacrev, srcad.jacfwd])
def test_jacobian_of_dicts_in_and_out(jacobian):
    result = jacobian(dict_out)(PARAMS, X)

    assert set(result) == {"h", "norm"} and set(result["h"]) == {"W", "b"}
    assert result["h"]["W"].shape == (2, 2, 3)
    assert_trees_close(result, numerical_jacobian(dict_out, (PARAMS, X), 0))


@pytest.mark.parametrize("jacobian", [srcad.jacrev, srcad.jacfwd])
def test_a_tuple_argnums_gives_a_tuple_per_output_leaf(jacobian):
    layers = [W, 0.5]
    result = jacobian(list_in, argnums=(0, 1))(layers, X)

    assert isinstance(result, tuple) and len(result) == 2
    assert_trees_close(result[0], numerical_jacobian(list_in, (layers, X), 0))
    assert_trees_close(result[1], numerical_jacobian(list_in, (layers, X), 1))


def test_vjp_of_a_tuple_output_takes_a_tuple_cotangent():
    value, vjp_fn = srcad.vjp(tuple_out, X)
    cotangent = (RNG.normal(size=3), 0.7)
    (dx,) = vjp_fn(cotangent)

    assert_trees_close(value, tuple_out(X))
    jac = numerical_jacobian(tuple_out, (X,), 0)
    np.testing.assert_allclose(dx, cotangent[0] @ jac[0] + cotangent[1] * jac[1], rtol=1e-6)


def test_vjp_of_a_dict_output_and_a_wrong_cotangent_structure():
    value, vjp_fn = srcad.vjp(dict_out, PARAMS, X)
    cotangent = {"h": np.ones(2), "norm": 2.0}
    dparams, dx = vjp_fn(cotangent)

    expected = numerical_jacobian(
        lambda p, x: np.sum(dict_out(p, x)["h"]) + 2.0 * dict_out(p, x)["norm"], (PARAMS, X), 0
    )
    assert_trees_close(dparams, expected)
    with pytest.raises(ValueError, match="one cotangent per output leaf"):
        vjp_fn((np.ones(2), 2.0))


def test_jvp_of_dict_primals_and_tuple_outputs():
    tangent = {"W": RNG.normal(size=(2, 3)), "b": RNG.normal(size=2)}
    value, value_dot = srcad.jvp(dict_out, (PARAMS, X), (tangent, np.zeros(3)))

    jac = numerical_jacobian(dict_out, (PARAMS, X), 0)
    expected_h = np.tensordot(jac["h"]["W"], tangent["W"], 2) + jac["h"]["b"] @ tangent["b"]
    np.testing.assert_allclose(value_dot["h"], expected_h, rtol=1e-6)
    assert_trees_close(value, dict_out(PARAMS, X))


def test_an_output_returned_twice_adds_its_cotangents():
    def twice(x):
        y = np.sin(x)
        return y, y

    _, vjp_fn = srcad.vjp(twice, X)
    (dx,) = vjp_fn((np.ones(3), 2.0 * np.ones(3)))
    np.testing.assert_allclose(dx, 3.0 * np.cos(X), rtol=1e-12)


def test_a_changed_global_is_read_by_the_next_jacobian():
    scale = {"value": 2.0}

    def scaled(x):
        return x * scale["value"], np.sum(x)

    first = srcad.jacrev(scaled)(X)
    scale["value"] = 3.0
    second = srcad.jacrev(scaled)(X)

    np.testing.assert_allclose(first[0], 2.0 * np.eye(3))
    assert_trees_close(second, numerical_jacobian(scaled, (X,), 0))


def two_arguments(a, b):
    return np.sum(np.sin(a) * b**2)


@pytest.mark.parametrize(
    "transformation", [srcad.grad, srcad.value_and_grad, srcad.jacfwd, srcad.jacrev, srcad.hessian]
)
def test_autograds_argnum_spelling_means_argnums(transformation):
    a, b = np.array([0.3, -1.2]), np.array([0.7, 2.0])
    ported = transformation(two_arguments, argnum=1)(a, b)
    assert_trees_close(ported, transformation(two_arguments, argnums=1)(a, b))
    gradient = srcad.grad(two_arguments, argnum=1)(a, b)
    assert_trees_close(gradient, srcad.numerical_grad(two_arguments, a, b, argnums=1))


@pytest.mark.parametrize("keywords", [{"argnums": 1, "argnum": 0}, {"argnumz": 0}])
def test_both_spellings_or_an_unknown_keyword_are_refused(keywords):
    with pytest.raises(TypeError, match="argnums"):
        srcad.grad(two_arguments, **keywords)


@pytest.mark.parametrize("argnums", [(0, 0), "0", 1.0, True])
def test_bad_argnums_are_refused_when_the_transformation_is_made(argnums):
    with pytest.raises((TypeError, ValueError), match="argnums"):
        srcad.grad(lambda x: np.sum(x), argnums=argnums)


def settings_among_parameters(params):
    scale = params["n"] if params["use"] else 1
    return scale * np.sum(params["w"] ** 2) + len(params["name"])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_ints_bools_strings_and_none_among_parameters_are_constants(mode):
    """API.md: "Other leaves (ints, bools, strings, None) are constants. A gradient has the
    same structure": their gradient is the zero of their type (a string and None, itself)."""
    w = np.array([0.5, -1.0])
    params = {"w": w, "n": 3, "use": True, "name": "ab", "none": None}
    for transform in (srcad.grad, srcad.jacrev, srcad.jacfwd):
        got = transform(settings_among_parameters)(params) if mode == "reverse" else None
        if mode == "forward":
            got = srcad.grad(settings_among_parameters, mode="forward")(params)
        assert got["n"] == 0 and type(got["n"]) is int
        assert got["use"] is False and got["name"] == "ab" and got["none"] is None
        np.testing.assert_allclose(
            got["w"],
            srcad.numerical_grad(lambda w: settings_among_parameters({**params, "w": w}), w),
        )
    params["n"] = 5  # a constant: compared on every call, a new one compiles again
    np.testing.assert_allclose(srcad.grad(settings_among_parameters)(params)["w"], 10.0 * w)


def powered(p, scale):
    return np.sum(p["w"] ** p["k"]) * p["s"] * scale["value"]


def _directional(fun, args, tangents):
    """Central differences of ``fun`` along the float leaves of ``tangents``."""
    eps = 1e-6
    step = [{k: (v + eps * tangents[0][k] if k != "k" else v) for k, v in args[0].items()}]
    back = [{k: (v - eps * tangents[0][k] if k != "k" else v) for k, v in args[0].items()}]
    return (fun(*step, *args[1:]) - fun(*back, *args[1:])) / (2 * eps)


def test_jvp_and_vjp_of_an_argument_holding_settings_differentiate_its_floats():
    """jvp gave a tangent of 0.0 and vjp_fn None for an argument holding an int among its
    floats (it took only arguments made of floats alone), where grad differentiates them."""
    p = {"w": np.array([1.0, 2.0]), "k": 3, "s": 2.0}
    t = {"w": np.array([1.0, -0.5]), "k": 0, "s": 1.0}
    scale = {"value": 1.0}
    for value in (1.0, -2.5):  # a second call after the outside value changed
        scale["value"] = value
        _, tangent = srcad.jvp(lambda p: powered(p, scale), (p,), (t,))
        assert tangent == pytest.approx(_directional(powered, (p, scale), (t,)), rel=1e-6)
        _, vjp_fn = srcad.vjp(lambda p: powered(p, scale), p)
        (got,) = vjp_fn(1.0)
        expected = srcad.grad(powered)(p, scale)
        assert got["k"] == 0 and type(got["k"]) is int
        np.testing.assert_allclose(got["w"], expected["w"], rtol=1e-12)
        assert got["s"] == pytest.approx(expected["s"], rel=1e-12)
        np.testing.assert_allclose(
            got["w"],
            srcad.numerical_grad(lambda w, v=value: powered({**p, "w": w}, {"value": v}), p["w"]),
            rtol=1e-6,
        )


def test_jvp_inside_differentiated_code_of_an_argument_holding_settings():
    def directional(x):
        p = {"w": x, "k": 3, "s": 2.0}
        _, tangent = srcad.jvp(lambda p: powered(p, {"value": 1.0}), (p,), (dict(p, w=x),))
        return tangent

    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(
        srcad.grad(directional)(x), srcad.numerical_grad(directional, x), rtol=1e-6
    )


def noisy_squares(x):
    return np.sum(x**2 * np.random.standard_normal(3))


def test_vjp_fn_leaves_the_callers_random_state_as_it_finds_it():
    """vjp_fn put the global random state back to where the forward call left it: draws
    (or a seed) of the caller's between vjp and vjp_fn were undone, and repeated."""
    x = np.array([0.5, -0.3, 0.8])
    np.random.seed(0)
    _, vjp_fn = srcad.vjp(noisy_squares, x)
    first = np.random.standard_normal()
    (gradient,) = vjp_fn(1.0)
    second = np.random.standard_normal()
    np.random.seed(0)
    noise = np.random.standard_normal(3)
    assert (first, second) == (np.random.standard_normal(), np.random.standard_normal())
    np.testing.assert_allclose(gradient, 2 * x * noise, rtol=1e-12)  # the forward call's draw


def test_an_int_argument_alone_is_refused_not_taken_as_a_constant():
    def loss(pair):
        return np.sum(pair[0] * pair[1])

    with pytest.raises(TypeError, match="float"):
        srcad.grad(loss, argnums=0)((3, 2))  # no float at all: nothing to differentiate
    with pytest.raises(TypeError, match="pass 3.0 rather than 3"):
        srcad.grad(lambda n: n * 2.0)(3)


def one_section(x):
    return np.split(x, 1, axis=0)


def test_a_list_of_one_array_stays_a_list_of_one_array():
    """np.split(x, 1) returns [x]: generated code unpacks it (it once returned [[x]])."""
    value, value_dot = srcad.jvp(one_section, (X,), (np.ones(3),))
    _, vjp_fn = srcad.vjp(one_section, X)

    assert_trees_close(value, [X])
    assert_trees_close(value_dot, [np.ones(3)])
    assert_trees_close(vjp_fn([2.0 * X]), (2.0 * X,))
    assert_trees_close(srcad.jacrev(one_section)(X), [np.eye(3)])
    gradient = srcad.grad(lambda x: np.sum(np.split(x, 1)[0] ** 2))(X)
    np.testing.assert_allclose(gradient, 2.0 * X)


GAIN = {"value": 2.0}


def saxpy(d):
    return d["a"] * d["b"] + d["c"] * GAIN["value"]


def packed_saxpy(abc):
    a, b, c = abc
    return saxpy(dict(a=a, b=b, c=c))


def zipped_dict(x):
    d = dict(zip(["u", "v"], [x[0], x[1] ** 2], strict=True))
    return d["u"] * d["v"] * GAIN["value"]


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_dicts_built_with_the_dict_builtin(mode):
    """dict(a=a, ...) and dict(zip(keys, values)) of traced values (tangent's dict_wrapper)."""
    for _ in range(2):  # the second time after the global changed
        gradient = srcad.grad(packed_saxpy, mode=mode)((1.5, 2.0, 3.0))
        assert_trees_close(gradient, srcad.numerical_grad(packed_saxpy, (1.5, 2.0, 3.0)))
        gradient = srcad.grad(zipped_dict, mode=mode)(X[:2])
        np.testing.assert_allclose(gradient, srcad.numerical_grad(zipped_dict, X[:2]), rtol=1e-6)
        GAIN["value"] = -0.5
    GAIN["value"] = 2.0


def test_forward_mode_of_dict_keys_that_are_no_identifiers():
    """The tangent parameters were named after the keys ('params_init hiddens_dot'): a
    SyntaxError in the generated code for jvp, jacfwd, hessian and hvp."""

    def energy(params):
        return np.sum(params["init hiddens"] ** 2 * params["a.b"]) + np.sum(params["a_b"] ** 3)

    params = {"init hiddens": np.ones(3) * 0.5, "a.b": np.full(3, 2.0), "a_b": np.arange(3.0)}
    expected = srcad.numerical_grad(energy, params)
    for gradient in (srcad.jacfwd(energy)(params), srcad.grad(energy, mode="forward")(params)):
        for key in params:
            np.testing.assert_allclose(gradient[key], expected[key], rtol=1e-6)
    product = srcad.hvp(energy, (params,), (params,))
    assert set(product) == set(params)


def test_numerical_grad_and_check_grad_take_constants_among_parameters():
    params = {"w": np.array([0.5, -1.0]), "n": 3, "use": True, "name": "ab", "none": None}
    approximate = srcad.numerical_grad(settings_among_parameters, params)
    assert approximate["n"] == 0 and approximate["name"] == "ab"
    np.testing.assert_allclose(approximate["w"], 6.0 * params["w"], rtol=1e-6)
    srcad.check_grad(settings_among_parameters, params)


def test_an_ordered_dict_of_parameters_gets_an_ordered_dict_of_gradients():
    """API.md: a gradient has its argument's structure (an OrderedDict gave a dict)."""
    from collections import OrderedDict

    params = OrderedDict(w=np.array([1.0, 2.0]), b=np.array([0.5]))

    def loss(p):
        return np.sum(p["w"] ** 2) + np.sum(p["b"] * p["w"][0])

    for gradient in (srcad.grad(loss)(params), srcad.value_and_grad(loss)(params)[1]):
        assert type(gradient) is OrderedDict and list(gradient) == ["w", "b"]
        expected = srcad.numerical_grad(loss, params)
        for key in params:
            np.testing.assert_allclose(gradient[key], expected[key], rtol=1e-6)


class Layer(NamedTuple):
    w: np.ndarray
    scale: float


@dataclasses.dataclass
class Summary:
    scaled: np.ndarray
    energy: float


def summarised(p):
    return Summary(scaled=p.w * p.scale, energy=np.sum(p.w) ** 2)


def as_layer(p):
    return Layer(w=np.tanh(p.w) * p.scale, scale=np.sum(p.w**2))


def cubic_energy(p):
    return np.sum(p.w**3) * p.scale


POINT = Layer(np.array([0.5, -1.0, 2.0]), 0.7)
DIRECTION = Layer(np.array([1.0, 2.0, 3.0]), 0.1)


@pytest.mark.parametrize("fun", [summarised, as_layer])
def test_jvp_and_vjp_return_the_outputs_classes(fun):
    """They returned plain tuples where the function returns a NamedTuple or a dataclass."""
    value, tangent = srcad.jvp(fun, (POINT,), (DIRECTION,))
    out, vjp_fn = srcad.vjp(fun, POINT)
    expected = fun(POINT)
    for result in (value, tangent, out):
        assert type(result) is type(expected)
    for a, b in zip(flatten(value)[0], flatten(expected)[0], strict=True):
        np.testing.assert_allclose(a, b)
    step = 1e-6
    ahead = fun(Layer(POINT.w + step * DIRECTION.w, POINT.scale + step * DIRECTION.scale))
    behind = fun(Layer(POINT.w - step * DIRECTION.w, POINT.scale - step * DIRECTION.scale))
    for t, a, b in zip(flatten(tangent)[0], flatten(ahead)[0], flatten(behind)[0], strict=True):
        np.testing.assert_allclose(t, (np.asarray(a) - b) / (2 * step), rtol=1e-6, atol=1e-8)
    assert type(vjp_fn(expected)[0]) is Layer


def test_hessian_and_hvp_keep_the_arguments_class():
    """hessian gave tuple(Layer, Layer), hvp a tuple, where the argument is a Layer."""
    hessian = srcad.hessian(cubic_energy)(POINT)
    assert type(hessian) is Layer and all(type(row) is Layer for row in hessian)
    product = srcad.hvp(cubic_energy, (POINT,), (DIRECTION,))
    assert type(product) is Layer and type(product.scale) is float

    def gradient_along(p):
        g = srcad.grad(cubic_energy)(p)
        return np.sum(g.w * DIRECTION.w) + g.scale * DIRECTION.scale

    expected = srcad.numerical_grad(gradient_along, POINT)
    np.testing.assert_allclose(product.w, expected.w, rtol=1e-6)
    np.testing.assert_allclose(product.scale, expected.scale, rtol=1e-6)
    np.testing.assert_allclose(hessian.w.w, np.diag(6.0 * POINT.w * POINT.scale), atol=1e-12)
    np.testing.assert_allclose(hessian.scale.w, 3.0 * POINT.w**2)


def named_outputs(x):
    return {"sine": np.sin(x), "square": x**2}


def test_a_cotangent_dict_may_list_its_keys_in_another_order():
    """Equal dicts were refused as 'laid out as' another tree for their key order."""
    x = np.array([0.5, -1.0, 2.0])
    _, vjp_fn = srcad.vjp(named_outputs, x)
    ones, twos = np.ones(3), np.full(3, 2.0)
    (in_order,) = vjp_fn({"sine": ones, "square": twos})
    (reordered,) = vjp_fn({"square": twos, "sine": ones})
    np.testing.assert_allclose(reordered, in_order)
    np.testing.assert_allclose(reordered, np.cos(x) + 4.0 * x)


@pytest.mark.parametrize("transformation", [srcad.jvp, srcad.hvp])
def test_primals_not_in_a_tuple_are_refused_saying_how_to_pass_them(transformation):
    """A bare array was taken as its rows: 'f(): too many positional arguments'."""
    x = np.ones(3)
    with pytest.raises(TypeError, match=r"as a tuple with one item per argument"):
        transformation(lambda v: np.sum(v**3), x, x)


BIAS = {"scale": 1.0}


def two_biases(p, X):
    h = np.tanh(X @ p["W"] + p["b_in"] + p["b_out"] * BIAS["scale"] + p["b_in"])
    return np.sum(h**2)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
def test_equal_gradients_are_separate_arrays(backend):
    """Gradients that are one cotangent (two biases added to the same value) were one array
    object: scaling one leaf in place (``g[k] *= lr``) changed the other (found by a probe)."""
    if backend == "numba":
        pytest.importorskip("numba")
    X = RNG.normal(size=(4, 2))
    p = {"W": RNG.normal(size=(2, 2)), "b_in": np.zeros(2), "b_out": np.zeros(2)}
    gradient = srcad.grad(two_biases, backend=backend)
    pair = srcad.grad(
        lambda a, b, c: np.sum(np.sin(a + b + c)), argnums=(0, 1, 2), backend=backend
    )  # three: a copy of a copy (two copies of one array were one, for the builder)
    for scale in (1.0, 1.0, -0.5):  # the first call, the fast path, a changed global
        BIAS["scale"] = scale
        try:
            g = gradient(p, X)
            expected = srcad.numerical_grad(two_biases, p, X)
        finally:
            BIAS["scale"] = 1.0
        for key in p:
            np.testing.assert_allclose(g[key], expected[key], rtol=1e-6, atol=1e-9)
        assert not np.shares_memory(g["b_in"], g["b_out"])
        kept = g["b_out"].copy()
        g["b_in"] *= 0.1  # an optimizer's per-leaf step
        np.testing.assert_array_equal(g["b_out"], kept)
        da, db, dc = pair(X[0], X[1], X[2])
        assert not any(np.shares_memory(*two) for two in ((da, db), (db, dc), (da, dc)))
        np.testing.assert_allclose(dc, np.cos(X[0] + X[1] + X[2]), rtol=1e-12)


SHARPNESS = {"value": 2.0}  # read on every call


def curved(p):
    return SHARPNESS["value"] * np.sum(np.tanh(p["w"]) ** 2) * p["k"] + p["s"] * p["w"][0] ** 3


def float_jacobian(fun, p: dict, eps: float = 1e-6) -> dict:
    """Central differences of ``fun``'s float leaves along ``p``'s float leaves (its
    settings held): ``{out_key: {in_key: array}}``."""
    floats = [key for key, value in p.items() if isinstance(value, (float, np.ndarray))]
    result: dict = {}
    for key in floats:
        base = np.array(p[key], dtype=float)
        for position in np.ndindex(base.shape):
            ends = []
            for sign in (1.0, -1.0):
                moved = base.copy()
                moved[position] += sign * eps
                ends.append(fun({**p, key: moved if base.ndim else float(moved)}))
            for out_key in floats if isinstance(ends[0], dict) else ():
                column = (np.asarray(ends[0][out_key]) - np.asarray(ends[1][out_key])) / (2 * eps)
                block = result.setdefault(out_key, {}).setdefault(
                    key, np.zeros(np.shape(column) + base.shape)
                )
                block[(...,) + position] = column
    return result


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
def test_hessian_and_hvp_of_parameters_holding_settings(backend):
    """hessian and hvp refused a dict with an int among its floats: forward mode over the
    gradient, whose int leaf (a zero) it took for an output it could not differentiate."""
    if backend == "numba":
        pytest.importorskip("numba")
    p = {"w": np.array([0.3, -0.7, 1.1]), "k": 3, "s": 2.0, "name": "a"}
    t = {"w": np.array([1.0, -2.0, 0.5]), "k": 0, "s": 0.5, "name": "a"}
    hessian = srcad.hessian(curved, backend=backend)
    for sharpness in (2.0, -1.5):  # a second call after the global changed
        SHARPNESS["value"] = sharpness
        rows = float_jacobian(lambda p: srcad.grad(curved)(p), p)
        got = hessian(p)
        for row in ("w", "s"):
            for column in ("w", "s"):
                np.testing.assert_allclose(
                    got[row][column], rows[row][column], rtol=1e-6, atol=1e-8
                )
            assert got[row]["k"] == 0 and got[row]["name"] == "a"
        for column in ("w", "s"):  # the int's row: zeros, laid out as the argument
            block = got["k"][column]
            assert np.shape(block) == np.shape(p[column]) and not np.any(block)
        product = srcad.hvp(curved, (p,), (t,))
        expected = rows["w"]["w"] @ t["w"] + rows["w"]["s"] * t["s"]
        np.testing.assert_allclose(product["w"], expected, rtol=1e-6)
        assert product["s"] == pytest.approx(rows["s"]["w"] @ t["w"], rel=1e-6)
        assert product["k"] == 0 and product["name"] == "a"


def labelled(p):
    x = p["x"]
    return {"x": np.sin(x) * SHARPNESS["value"], "n": 3, "tag": "run", "i": np.argmax(x)}


def test_jacobians_of_a_function_returning_constants_among_floats():
    """jvp, vjp, jacfwd and jacrev refused a function returning an int (or a string) beside
    its floats; its constants' derivatives are zeros (their tangents, the zero of their type)."""
    p = {"x": np.array([0.2, 1.4, -0.3])}
    for sharpness in (2.0, 0.5):
        SHARPNESS["value"] = sharpness
        expected = float_jacobian(labelled, p)["x"]["x"]
        for jacobian in (srcad.jacfwd, srcad.jacrev):
            got = jacobian(labelled)(p)
            np.testing.assert_allclose(got["x"]["x"], expected, rtol=1e-6, atol=1e-9)
            for key in ("n", "tag", "i"):
                assert got[key]["x"].shape == (3,) and not np.any(got[key]["x"])
        value, tangent = srcad.jvp(labelled, (p,), ({"x": np.ones(3)},))
        assert value["n"] == 3 and value["tag"] == "run" and value["i"] == np.argmax(p["x"])
        np.testing.assert_allclose(tangent["x"], expected.sum(axis=1), rtol=1e-6)
        assert tangent["n"] == 0 and tangent["tag"] == "run" and tangent["i"] == 0
        _, vjp_fn = srcad.vjp(labelled, p)
        (cotangent,) = vjp_fn({"x": np.ones(3), "n": 0, "tag": "run", "i": 0})
        np.testing.assert_allclose(cotangent["x"], expected.sum(axis=0), rtol=1e-6)


def labelled_loss(x, mode):
    return np.sum(x**2) * (SHARPNESS["value"] if mode == "a" else 3.0)


def test_numpy_strings_are_text_constants_as_python_strings_are():
    """An np.str_ (a label from np.unique, a structured array) as an argument raised an
    internal error (dtype 'str32' not understood); inside a dict it was refused."""
    x = np.array([0.3, 0.7])
    for sharpness in (2.0, -0.5):
        SHARPNESS["value"] = sharpness
        for mode in (np.str_("a"), np.str_("b")):
            expected = srcad.numerical_grad(labelled_loss, x, mode)
            np.testing.assert_allclose(srcad.grad(labelled_loss)(x, mode), expected, rtol=1e-6)
            params = {"w": x, "mode": mode}
            got = srcad.grad(lambda p: labelled_loss(p["w"], p["mode"]))(params)
            np.testing.assert_allclose(got["w"], expected, rtol=1e-6)
            assert got["mode"] == mode


def with_nothing_beside(x):
    return {"y": np.sin(x) * SHARPNESS["value"], "n": None}, None


def test_a_none_in_the_output_is_an_empty_subtree_of_the_jacobian_as_in_jax():
    """jacrev and jacfwd gave a zero array for it (as for an int), where jvp keeps None and
    JAX's Jacobian has None there (probe AS F3)."""
    x = np.array([0.2, 1.4, -0.3])
    for sharpness in (2.0, -0.5):
        SHARPNESS["value"] = sharpness
        for jacobian in (srcad.jacrev, srcad.jacfwd):
            blocks, nothing = jacobian(with_nothing_beside)(x)
            assert nothing is None and blocks["n"] is None
            np.testing.assert_allclose(blocks["y"], np.diag(np.cos(x) * sharpness), atol=1e-12)
    SHARPNESS["value"] = 2.0


def test_one_transformed_function_called_with_another_numpy_string_compiles_again():
    """The call guard checked an np.str_'s type only: a second call with another label ran
    the code compiled for the first (a stale branch, silently)."""
    x = np.array([0.3, 0.7])
    gradient = srcad.grad(labelled_loss)
    of_params = srcad.grad(lambda p: labelled_loss(p["w"], p["mode"]))
    for sharpness in (2.0, -0.5):
        SHARPNESS["value"] = sharpness
        for mode in (np.str_("a"), np.str_("b"), np.str_("a"), np.bytes_(b"a")):
            expected = srcad.numerical_grad(labelled_loss, x, mode)
            np.testing.assert_allclose(gradient(x, mode), expected, rtol=1e-6)
            if isinstance(mode, np.str_):  # (np.bytes_ in a differentiated argument: refused)
                got = of_params({"w": x, "mode": mode})["w"]
                np.testing.assert_allclose(got, expected, rtol=1e-6)


@dataclasses.dataclass
class _Settings:
    w: np.ndarray
    mode: str


def _settled(c):
    v = np.sum(c.w**3) * SHARPNESS["value"]
    return v * v if c.mode == "sq" else v


def test_hessian_of_a_dataclass_holding_a_label():
    """The hessian's rows were cast to each argument leaf's dtype: the label "sq" was read
    as a dtype name (TypeError: data type 'sq' not understood; probe AA)."""
    c = _Settings(np.array([0.3, 0.7]), "sq")
    for sharpness in (2.0, -1.0):
        SHARPNESS["value"] = sharpness
        got = srcad.hessian(_settled)(c)
        rows = [
            srcad.numerical_grad(lambda w, k=k: srcad.grad(_settled)(_Settings(w, "sq")).w[k], c.w)
            for k in range(2)
        ]
        np.testing.assert_allclose(got.w.w, np.array(rows), rtol=1e-6)
        assert got.w.mode == "sq" and not np.any(got.mode.w)


def scaled_sum(x, y=2.0):
    return np.sum(x * y) * SHARPNESS["value"]


@pytest.mark.parametrize(
    "transformation", [srcad.grad, srcad.value_and_grad, srcad.jacfwd, srcad.jacrev]
)
def test_argnums_naming_an_argument_given_by_keyword_is_refused_as_in_jax(transformation):
    """grad(f, argnums=1)(x, y=3.0) differentiated y, which the README says keyword
    arguments are not (JAX raises TypeError; probe AB)."""
    x = np.ones(3)
    with pytest.raises(TypeError, match="needs at least 2 positional arguments"):
        transformation(scaled_sum, argnums=1)(x, y=3.0)
    with pytest.raises(TypeError, match="needs at least 2 positional arguments"):
        transformation(scaled_sum, argnums=1)(x)  # y left to its default
    got = srcad.grad(scaled_sum, argnums=1)(x, 3.0)  # by position: differentiated
    assert got == pytest.approx(srcad.numerical_grad(scaled_sum, x, 3.0, argnums=1))


@dataclasses.dataclass
class ActivatedLayer:
    W: np.ndarray
    act: object


def activated_sum(layer):
    return np.sum(layer.act(layer.W))


def squared_weights(p):
    return np.sum(p["w"] ** 2)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: srcad.jvp(
            activated_sum, (ActivatedLayer(x, np.tanh),), (ActivatedLayer(x, np.tanh),)
        ),
        lambda x: srcad.vjp(activated_sum, ActivatedLayer(x, np.tanh))[1](1.0),
        lambda x: srcad.jvp(
            squared_weights, ({"w": x, "i": np.array([0, 2])},), ({"w": x, "i": np.array([0, 2])},)
        ),
        lambda x: srcad.vjp(squared_weights, {"w": x, "i": np.array([0, 2])})[1](1.0),
    ],
    ids=["jvp, a function", "vjp, a function", "jvp, an int array", "vjp, an int array"],
)
def test_an_argument_of_floats_holding_a_function_or_an_int_array_is_refused_by_jvp_and_vjp(call):
    """The whole argument was left out: a tangent of 0.0, a cotangent of None, silently
    (found by a probe); refused as grad refuses it, saying which leaf."""
    with pytest.raises(TypeError, match=r"holds floats, so it is differentiated, and it .* at "):
        call(np.array([0.3, -0.5, 0.9]))


def test_argnums_may_be_a_numpy_int_and_a_numpy_int_setting_is_explained():
    """argnums=np.int64(1) was refused (JAX takes it); an np.int64 among parameters was
    told to 'pass 3.0 rather than 3'."""
    for b in (3.0, -1.5):
        assert srcad.grad(lambda a, b: a * b**2, argnums=np.int64(1))(2.0, b) == 4.0 * b
    with pytest.raises(TypeError, match=r"pass a Python int or bool \(int\(k\)\)"):
        srcad.grad(lambda p: np.sum(p["w"] ** p["k"]))({"w": X, "k": np.int64(2)})


VJP_SCALE = {"c": 1.0}


def scaled_by_a_count(x, n):
    return x * n * VJP_SCALE["c"]


def test_vjp_gives_an_int_primal_the_zero_grad_gives_it():
    """vjp_fn gave None for an int primal, grad 0 for the same int (found by a probe)."""
    for c in (1.0, 2.0):  # a global the function reads, changed
        VJP_SCALE["c"] = c
        try:
            _, vjp_fn = srcad.vjp(scaled_by_a_count, np.ones(2), 3)
            cotangent, count = vjp_fn(np.ones(2))
        finally:
            VJP_SCALE["c"] = 1.0
        np.testing.assert_allclose(cotangent, [3.0 * c, 3.0 * c])
        assert count == 0 and type(count) is int
