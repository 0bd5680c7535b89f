"""The functions of Python's ``operator`` module (as functional code passes them, and as
autograd's tests call them) are the primitives of their operators."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import srcad

X = np.array([0.3, 1.2, -0.7])
Y = np.array([1.7, 0.9, 1.3])


OFFSET = {"value": 0.25}


def through_operator_functions(x, y):
    total = operator.add(operator.mul(x, y), operator.truediv(x, y) + OFFSET["value"])
    total = operator.sub(total, operator.neg(operator.pow(x, 2.0)))
    return np.sum(operator.mod(total, 2.5) + operator.abs(x))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_operator_functions_against_central_differences(mode):
    gradient = srcad.grad(through_operator_functions, argnums=(0, 1), mode=mode)(X, Y)
    expected = srcad.numerical_grad(through_operator_functions, X, Y, argnums=(0, 1))

    for g, e in zip(gradient, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6)
    OFFSET["value"] = 1.1  # moves where % wraps: read again on the next call
    try:
        gradient = srcad.grad(through_operator_functions, argnums=(0, 1), mode=mode)(X, Y)
        expected = srcad.numerical_grad(through_operator_functions, X, Y, argnums=(0, 1))
        for g, e in zip(gradient, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-6)
    finally:
        OFFSET["value"] = 0.25


def test_the_generated_code_spells_the_operators():
    gradient = srcad.grad(through_operator_functions)
    gradient(X, Y)

    code = [line.split("#")[0] for line in srcad.source(gradient).splitlines()]
    assert not any("operator." in line for line in code)
    assert any(" % 2.5" in line for line in code)
