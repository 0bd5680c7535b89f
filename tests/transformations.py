"""Test helper: the transformations of one call, each returning the derivative of a scalar
function at ``x`` (those that run the code several times for one call included), and the
check of a gradient against central differences of the plain function."""

from __future__ import annotations

import numpy as np

import srcad

TRANSFORMATIONS = {
    "grad": lambda f, x: srcad.grad(f)(x),
    "value_and_grad": lambda f, x: srcad.value_and_grad(f)(x)[1],
    "forward mode": lambda f, x: srcad.grad(f, mode="forward")(x),
    "jacfwd": lambda f, x: srcad.jacfwd(f)(x),
    "jacrev": lambda f, x: srcad.jacrev(f)(x),
    "vjp and its pullback": lambda f, x: srcad.vjp(f, x)[1](1.0)[0],
    "hessian": lambda f, x: srcad.hessian(f)(x),
}


def assert_gradient(fun, x, got):
    np.testing.assert_allclose(got, srcad.numerical_grad(fun, x), rtol=1e-6, atol=1e-8)


def assert_transformed(name, fun, x, got):
    """``got``, transformation ``name`` of ``fun`` at ``x``, against central differences: of
    the plain function, or for ``hessian`` of srcad's gradient (one row per element)."""
    if name != "hessian":
        assert_gradient(fun, x, got)
        return
    rows = [
        srcad.numerical_grad(lambda v, k=k: np.ravel(srcad.grad(fun)(v))[k], x)
        for k in range(np.size(x))
    ]
    square = (np.size(x), np.size(x))
    np.testing.assert_allclose(
        np.reshape(got, square), np.reshape(rows, square), rtol=1e-5, atol=1e-6
    )


def assert_value_and_both_modes(fun, x, atol=1e-6):
    """srcad's value of ``fun`` at ``x`` is the plain function's, and its gradient in reverse
    and in forward mode agrees with central differences."""
    value, gradient = srcad.value_and_grad(fun)(x)
    assert np.isclose(value, fun(x), rtol=1e-12, atol=0.0)
    expected = srcad.numerical_grad(fun, x)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=atol)
    forward = srcad.grad(fun, mode="forward")(x)
    np.testing.assert_allclose(forward, expected, rtol=1e-6, atol=atol)


def each_value(holder: dict, key: str, values):
    """Each of ``values`` in turn as ``holder[key]`` (a global the function reads on every
    call: the world changes between calls); the value before is put back at the end."""
    saved = holder[key]
    try:
        for value in values:
            holder[key] = value
            yield value
    finally:
        holder[key] = saved
