"""``np.cumprod``'s derivative where the array holds zeros: its rule divided by the input
(``out / x``) and gave NaN there. It now scans products and sums (``_linear_scan`` in
``srcad/rules/reductions.py``), so first and second derivatives agree with central
differences at zeros too, in reverse and forward mode, along any axis, and after the global
the function reads changed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad

WEIGHTS = {"row": np.arange(1.0, 7.0)}
VECTORS = [
    np.array([1.5, 0.0, 2.0, -0.5, 0.0, 3.0]),  # two zeros
    np.array([0.0, 2.0, 3.0, -1.0, 0.5, 2.0]),  # the first element
    np.array([1.2, -0.7, 2.0, 0.4, 1.1, 0.0]),  # the last
    np.array([0.5, 1.5, 2.0, -1.0, 0.8, 1.3]),  # none
]
MATRIX = np.array([[1.5, 0.0, 2.0, -0.5], [0.0, 0.0, 3.0, 1.0], [0.7, 1.1, -2.0, 0.0]])


def weighted_scan(x):
    return np.sum(np.cumprod(x) * WEIGHTS["row"])


def along_rows(m):
    return np.sum(np.cumprod(m, axis=1) ** 2 * WEIGHTS["row"][:4])


def along_columns(m):
    return np.sum(np.cumprod(m, axis=0) * np.arange(12.0).reshape(3, 4))


def flattened(m):
    return np.sum(np.cumprod(m) * np.arange(12.0))


def _agrees(fun, x, mode):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 / 0 on the way
        gradient = srcad.grad(fun, mode=mode)(x)
    np.testing.assert_allclose(gradient, srcad.numerical_grad(fun, x), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_the_gradient_at_zeros_agrees_also_after_a_global_changed(mode):
    for x in VECTORS:
        _agrees(weighted_scan, x, mode)
    WEIGHTS["row"] = np.array([2.0, -1.0, 0.5, 3.0, 1.0, -2.0])
    try:
        for x in VECTORS:
            _agrees(weighted_scan, x, mode)
    finally:
        WEIGHTS["row"] = np.arange(1.0, 7.0)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("fun", [along_rows, along_columns, flattened], ids=lambda f: f.__name__)
def test_along_an_axis_and_flattened(fun, mode):
    _agrees(fun, MATRIX, mode)


def test_second_derivatives_at_zeros():
    """The gradient of a prefix that contains a zero still moves with that zero: d/dx1 of
    dout/dx2 = 3 x0 x1 is 3 x0, where a rule that set it to 0 past the zero would give 0."""
    x = np.array([1.5, 0.0, 2.0, 0.0, 1.0, -0.5])
    hessian = srcad.hessian(weighted_scan)(x)
    for i in range(len(x)):
        row = srcad.numerical_grad(lambda v, i=i: srcad.grad(weighted_scan)(v)[i], x)
        np.testing.assert_allclose(hessian[i], row, rtol=1e-5, atol=1e-6)
