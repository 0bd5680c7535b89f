"""Callable objects as the differentiated function: each object is its own function to the
compile cache, whatever its ``==`` says, and one that cannot be hashed is one too."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pytest

import srcad


class Quadratic(NamedTuple):
    a: float

    def __call__(self, x):
        return np.sum(self.a * x**2)


class Cubic(NamedTuple):
    a: float

    def __call__(self, x):
        return np.sum(self.a * x**3)


@dataclass(frozen=True)
class WeightedSquares:
    name: str
    w: np.ndarray = field(compare=False)  # equal by name: two objects, one ==

    def __call__(self, x):
        return np.sum(self.w * x**2)


@dataclass
class Ridge:  # a plain dataclass: __hash__ is None
    lam: float

    def __call__(self, w):
        return np.sum(w**2) * self.lam


X = np.array([0.5, 2.0])


def _agrees(fun, transformed):
    np.testing.assert_allclose(transformed(X), srcad.numerical_grad(fun, X), rtol=1e-7)


def test_named_tuples_that_compare_equal_are_two_functions():
    """Quadratic(2.0) == Cubic(2.0) (both are the tuple (2.0,)): the second took the first's
    compiled gradient, [2, 8] for [1.5, 24]."""
    assert Quadratic(2.0) == Cubic(2.0)
    for fun in (Quadratic(2.0), Cubic(2.0)):
        _agrees(fun, srcad.grad(fun))
    hessian = srcad.hessian(Cubic(2.0))(X)
    np.testing.assert_allclose(np.diag(hessian), 12.0 * X)


def test_objects_equal_by_a_name_each_read_their_own_weights():
    first = WeightedSquares("mse", np.array([1.0, 1.0]))
    second = WeightedSquares("mse", np.array([5.0, -1.0]))
    assert first == second
    for fun in (first, second, first):
        _agrees(fun, srcad.grad(fun))


def test_an_unhashable_callable_object_is_differentiated_and_read_on_every_call():
    ridge = Ridge(0.5)
    gradient = srcad.grad(ridge)
    _agrees(ridge, gradient)  # was InternalError: unhashable type: 'Ridge'
    ridge.lam = 2.0
    _agrees(ridge, gradient)


class Model:
    def __init__(self, scale):
        self.scale = scale

    def loss(self, x):
        return np.sum(np.sin(x) * self.scale)


def test_bound_methods_of_one_object_share_their_compile(monkeypatch):
    """``model.loss`` is a new object each time it is read: one function all the same."""
    from srcad import pipeline

    model = Model(2.0)
    _agrees(model.loss, srcad.grad(model.loss))
    compiles = []
    original = pipeline._reuse_or_compile
    monkeypatch.setattr(
        pipeline, "_reuse_or_compile", lambda *a: compiles.append(a) or original(*a)
    )
    model.scale = 3.0
    _agrees(model.loss, srcad.grad(model.loss))
    assert compiles == []
    other = Model(2.0)
    _agrees(other.loss, srcad.grad(other.loss))
    assert len(compiles) == 1


def test_an_attribute_set_on_a_dataclass_argument_is_refused_with_its_fields_named():
    @dataclass
    class Config:
        w: np.ndarray

    def f(config, x):
        return np.sum(config.w * x**config.k)

    config = Config(np.array([1.0, 2.0]))
    config.k = 2
    with pytest.raises(srcad.SrcadError, match="'config.k' is not a field of Config"):
        srcad.grad(f, argnums=1)(config, X)
