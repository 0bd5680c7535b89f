"""NamedTuples, dataclasses and namespaces (``types.SimpleNamespace``, a script's
``argparse.Namespace``) as parameters and results, as JAX users write them (registered
automatically: their fields or attributes are the children), each against central
differences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import pytest

import srcad
from srcad.pytree import flatten

RNG = np.random.default_rng(3)


class Layer(NamedTuple):
    W: np.ndarray
    b: np.ndarray


@dataclass
class Params:
    layers: list
    scale: float


@dataclass(frozen=True)
class Checked:
    w: np.ndarray
    bias: float

    def __post_init__(self):  # srcad must not run this on its own values
        if not isinstance(self.w, np.ndarray):
            raise TypeError("w must be an array")


SHIFT = {"value": 0.5}


def layer_loss(layer, x):
    return np.sum(np.tanh(layer.W @ x + layer.b) ** 2)


def network_loss(params, x):
    h = x
    for layer in params.layers:
        h = np.tanh(layer.W @ h + layer.b)
    return params.scale * np.sum(h**2) + SHIFT["value"] * np.sum(params.layers[0].b)


def checked_loss(p, x):
    return np.sum((p.w * x + p.bias) ** 2)


X = RNG.normal(size=3)
LAYER = Layer(RNG.normal(size=(2, 3)), RNG.normal(size=2))
PARAMS = Params([LAYER, Layer(RNG.normal(size=(2, 2)), RNG.normal(size=2))], 0.7)
CHECKED = Checked(RNG.normal(size=3), 0.3)


def assert_same_tree(actual, expected) -> None:
    actual_leaves, actual_tree = flatten(actual)
    expected_leaves, expected_tree = flatten(expected)
    assert actual_tree == expected_tree
    for a, e in zip(actual_leaves, expected_leaves, strict=True):
        assert type(a) is type(e)
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    "loss, params", [(layer_loss, LAYER), (network_loss, PARAMS), (checked_loss, CHECKED)]
)
def test_the_gradient_has_the_parameters_class(loss, params, mode):
    gradient = srcad.grad(loss, mode=mode)(params, X)

    assert type(gradient) is type(params)
    assert_same_tree(gradient, srcad.numerical_grad(loss, params, X))


def test_value_and_grad_and_a_second_call_after_a_global_changed():
    value_and_grad = srcad.value_and_grad(network_loss)
    first_value, _ = value_and_grad(PARAMS, X)
    SHIFT["value"] = -1.5
    try:
        value, gradient = value_and_grad(PARAMS, X)
        assert value == pytest.approx(network_loss(PARAMS, X))
        assert value != pytest.approx(first_value)
        assert_same_tree(gradient, srcad.numerical_grad(network_loss, PARAMS, X))
    finally:
        SHIFT["value"] = 0.5


def test_the_fast_path_tells_classes_apart():
    class Other(NamedTuple):  # same fields, another class: compiled separately
        W: np.ndarray
        b: np.ndarray

    gradient = srcad.grad(layer_loss)
    gradient(LAYER, X)
    gradient(LAYER, X)
    other = gradient(Other(*LAYER), X)

    assert type(other) is Other
    assert_same_tree(other, srcad.numerical_grad(layer_loss, Other(*LAYER), X))


def layer_output(layer, x):
    return np.tanh(layer.W @ x + layer.b), np.sum(layer.b**2)


@pytest.mark.parametrize("jacobian", [srcad.jacrev, srcad.jacfwd])
def test_a_jacobian_with_respect_to_a_namedtuple_is_laid_out_like_it(jacobian):
    result = jacobian(layer_output)(LAYER, X)

    assert type(result[0]) is Layer and result[0].W.shape == (2, 2, 3)
    assert type(result[1]) is Layer and result[1].b.shape == (2,)
    np.testing.assert_allclose(result[1].b, 2 * LAYER.b, rtol=1e-12)
    np.testing.assert_allclose(result[1].W, np.zeros((2, 3)))
    h = np.tanh(LAYER.W @ X + LAYER.b)
    np.testing.assert_allclose(result[0].b, np.diag(1 - h**2), rtol=1e-12)


def test_vjp_with_dataclass_primals():
    value, vjp_fn = srcad.vjp(checked_loss, CHECKED, X)
    dparams, dx = vjp_fn(2.0)

    assert type(dparams) is Checked
    expected = srcad.numerical_grad(checked_loss, CHECKED, X)
    np.testing.assert_allclose(dparams.w, 2.0 * expected.w, rtol=1e-6)
    np.testing.assert_allclose(dx, 2.0 * srcad.numerical_grad(checked_loss, CHECKED, X, argnums=1))


def configured(x, cfg):
    y = x * cfg.scale
    for _ in range(cfg.steps):
        y = np.tanh(y)
    if hasattr(cfg, "bias"):
        y = y + getattr(cfg, "bias")  # noqa: B009 - getattr is what this tests
    return np.sum(y**2)


@pytest.mark.parametrize("kind", ["SimpleNamespace", "argparse"])
def test_a_namespace_of_settings_and_its_gradient(kind):
    import argparse
    import types

    make = types.SimpleNamespace if kind == "SimpleNamespace" else argparse.Namespace
    x, cfg = np.array([0.3, -0.6, 1.2]), make(scale=2.0, steps=2)
    gradient = srcad.grad(configured)
    for change in ({}, {"bias": 0.3}, {"steps": 1}):  # an attribute added: compiled again
        for name, value in change.items():
            setattr(cfg, name, value)
        np.testing.assert_allclose(
            gradient(x, cfg), srcad.numerical_grad(configured, x, cfg), rtol=1e-6, atol=1e-9
        )
    weights = make(scale=1.5, bias=0.3)
    grads = srcad.grad(lambda w: np.sum(np.sin(x * w.scale) + w.bias * x))(weights)
    assert type(grads) is type(weights) and list(vars(grads)) == ["scale", "bias"]
    np.testing.assert_allclose(grads.scale, np.sum(np.cos(x * 1.5) * x))
    np.testing.assert_allclose(grads.bias, np.sum(x))


@dataclass
class Scaled:
    rate: float
    SCALE: ClassVar[float] = 2.0
    STEPS: ClassVar[int] = 1

    def applied(self, x):
        y = x
        for _ in range(self.STEPS):
            y = np.sin(y) * self.SCALE
        return y * self.rate

    @property
    def scaled_rate(self):
        return self.rate * self.SCALE


class Affine(NamedTuple):
    w: np.ndarray

    def energy(self, x):
        return np.sum(np.tanh(self.w * x) * OFFSET["value"])


OFFSET = {"value": 1.0}


def through_class_attributes(x, hp, affine):
    return np.sum(hp.applied(x) ** 2) * hp.SCALE + affine.energy(x) + hp.scaled_rate


def test_class_attributes_and_methods_of_arguments_are_read_on_every_call():
    x, hp, affine = np.array([0.4, -0.9]), Scaled(0.5), Affine(np.array([1.5, -0.3]))
    gradient = srcad.grad(through_class_attributes, argnums=(0, 1, 2))
    kept = dict(vars(Scaled))
    try:
        changes = [
            lambda: None,
            lambda: setattr(Scaled, "SCALE", 3.0),  # a ClassVar float: read again
            lambda: setattr(Scaled, "STEPS", 2),  # a ClassVar int: compiled again
            lambda: setattr(Scaled, "applied", lambda self, x: x * self.rate),  # a new method
            lambda: OFFSET.update(value=-2.0),  # what the NamedTuple's method reads
        ]
        for change in changes:
            change()
            got = gradient(x, hp, affine)
            expected = srcad.numerical_grad(
                through_class_attributes, x, hp, affine, argnums=(0, 1, 2)
            )
            for g, e in zip(flatten(got)[0], flatten(expected)[0], strict=True):
                np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-9)
    finally:
        for name in ("SCALE", "STEPS", "applied"):
            setattr(Scaled, name, kept[name])
        OFFSET["value"] = 1.0
