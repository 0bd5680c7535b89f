"""A place outside the function written and then read back: ``self.out = np.tanh(...)``
in a layer's ``forward``, read by the loss after it (the caching layers of backprop
tutorials), a global dict's item, an attribute reached by another path. Refused until now
('is written here ... and also read'); the read is the value written, where the write runs
on the function's straight-line path. A place written in a branch or a loop on data and
read after it, or read in a loop that writes it, stays refused."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

X = np.array([0.4, -0.9, 1.3])
WORLD = {"scale": 1.0}


class CachingLayer:
    def __init__(self):
        self.W = np.array([[0.5, -0.3, 0.1], [0.2, 0.8, -0.4], [0.3, 0.1, 0.6]])

    def forward(self, x):
        self.out = np.tanh(self.W @ x) * WORLD["scale"]  # cached, as backprop tutorials do
        return self.out

    def loss(self, x):
        self.forward(x)  # its result unused: the call's effect is self.out
        return np.sum(self.out**2)

    def rescaled(self, x):
        self.out = x * 2.0
        first = np.sum(self.out)
        self.out = self.out * x  # a new value from the one written: read, then written
        return first + np.sum(self.out**2)


class Inner:
    scale = 1.0


class Holder:
    def __init__(self, inner):
        self.inner = inner


INNER = Inner()
HOLDER = Holder(INNER)
STATE: dict = {}
LOG: dict = {}


def through_another_path(w):
    INNER.scale = 3.0 * WORLD["scale"]
    return np.sum(w**2) * HOLDER.inner.scale  # the same object: the value written


def global_dict_item(w):
    STATE["total"] = np.sum(w) * WORLD["scale"]
    return np.sum(w**2) * STATE["total"]


def item_by_setitem(w):
    LOG.__setitem__("weights", w * WORLD["scale"])
    return np.sum(LOG["weights"] ** 3)


LAYER = CachingLayer()
CASES = {
    "a layer's cached output": (LAYER.loss, lambda: LAYER.out),
    "written, read, written again": (LAYER.rescaled, lambda: LAYER.out),
    "through another path": (through_another_path, lambda: INNER.scale),
    "a global dict's item": (global_dict_item, lambda: STATE["total"]),
    "an item by __setitem__": (item_by_setitem, lambda: LOG["weights"]),
}


def _plain_effect(fun, x):
    """What the place holds after the plain function ran on ``x``."""
    fun(x)
    return CASES_BY_FUNCTION[fun]()


CASES_BY_FUNCTION = {fun: place for fun, place in CASES.values()}


@pytest.mark.parametrize("fun, place", list(CASES.values()), ids=list(CASES))
def test_a_place_written_then_read_reads_the_value_written(fun, place):
    gradient = srcad.value_and_grad(fun)
    for scale in (1.0, -0.7):  # a global the written value comes from, changed
        WORLD["scale"] = scale
        try:
            expected_place = np.copy(_plain_effect(fun, X))
            value, grad = gradient(X)
            np.testing.assert_allclose(place(), expected_place, rtol=1e-12)  # written too
            assert value == pytest.approx(fun(X), rel=1e-12)
            np.testing.assert_allclose(grad, srcad.numerical_grad(fun, X), rtol=1e-6, atol=1e-9)
        finally:
            WORLD["scale"] = 1.0


def test_the_second_derivatives_read_the_value_written_too():
    hessian = srcad.hessian(LAYER.loss)
    for scale in (1.0, -0.7):  # the global the written value comes from, changed
        WORLD["scale"] = scale
        try:
            expected = srcad.numerical_grad(lambda v: srcad.grad(LAYER.loss)(v)[1], X)
            np.testing.assert_allclose(hessian(X)[1], expected, rtol=1e-6, atol=1e-9)
        finally:
            WORLD["scale"] = 1.0


class Branches:
    def written_in_a_branch(self, x):
        self.out = x * 2.0
        if x[0] > 0.0:  # on data: the write may or may not run
            self.out = x * 3.0
        return np.sum(self.out)

    def read_in_a_loop_that_writes_it(self, x):
        self.h = x
        s = np.sum(x**2)
        while s > 0.1:  # on data: a pass reads what the pass before wrote
            self.h = np.tanh(self.h)
            s = s * 0.5
        return s

    def added_to_then_read(self, x):
        self.total = np.sum(x)
        self.total += 1.0
        return self.total * 2.0


@pytest.mark.parametrize(
    "name", ["written_in_a_branch", "read_in_a_loop_that_writes_it", "added_to_then_read"]
)
def test_a_place_written_in_a_branch_or_a_loop_and_read_is_refused(name):
    fun = getattr(Branches(), name)
    with pytest.raises(srcad.UnsupportedSyntax, match="is written here .* and also read"):
        srcad.grad(fun)(X)
