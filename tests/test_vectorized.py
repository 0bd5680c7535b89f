"""``np.vectorize`` of a Python function whose body is elementwise (``srcad.lower.vectorized``):
called once on the arrays, broadcast to their shape.

Checked: every transformation agrees with central differences of the plain function (which
NumPy runs element by element), the value with the plain function's; a global the function
reads, changed, is read on the next call; a body that reduces, branches on the data or has
an effect, and a signature, are refused at the user's line.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from transformations import TRANSFORMATIONS, assert_gradient, assert_transformed

import srcad

X = np.array([0.3, -1.2, 2.0, 0.7])
GRID = np.array([[0.3, -0.4], [1.1, 0.2], [-0.8, 1.5]])
DECAY = 0.5
BUMP = np.vectorize(lambda v: v**2 + 1.0)


def damped(v, w):
    return np.exp(-v * w * DECAY) * np.sin(v)


def global_vectorized(x):
    return np.sum(BUMP(x) * x)


def local_def_and_a_scalar_argument(x):
    fn = np.vectorize(damped)
    return np.sum(fn(x, 0.5) ** 2)


def constant_body(x):
    return np.sum(np.vectorize(lambda v: 2.0)(x) * x)


def math_and_where(x):
    g = np.vectorize(lambda v: math.exp(-v) + np.where(v > 0.0, v, -0.5 * v))
    return np.sum(g(x))


def broadcasting_two_arrays(x):
    g = np.vectorize(lambda a, b: a * np.tanh(b) - np.clip(a, -1.0, 1.0))
    return np.sum(g(x[:, None], x[None, :]))


def piecewise_cost(v, knee):
    if v < -knee:
        return -2.0 * v - knee
    elif v > knee:
        return v**2 / knee
    return knee * np.cos(v)  # (never both: the branches are chosen element by element)


def branching_defs_and_lambdas(x):
    cost = np.vectorize(piecewise_cost)
    relu = np.vectorize(lambda v: v if v > 0 else 0.01 * v)
    return np.sum(cost(x, 0.5) * relu(x + 0.1))


FUNCTIONS = [
    branching_defs_and_lambdas,
    global_vectorized,
    local_def_and_a_scalar_argument,
    constant_body,
    math_and_where,
    broadcasting_two_arrays,
]


@pytest.mark.sampled(4)
@pytest.mark.parametrize("name", sorted(TRANSFORMATIONS))
@pytest.mark.parametrize("fun", FUNCTIONS, ids=lambda f: f.__name__)
def test_every_transformation_agrees_with_the_element_by_element_function(name, fun):
    assert_transformed(name, fun, X, TRANSFORMATIONS[name](fun, X))


def test_the_value_and_a_global_read_on_every_call(monkeypatch):
    gradient = srcad.value_and_grad(local_def_and_a_scalar_argument)
    for decay in (0.5, 2.0):
        monkeypatch.setattr(__import__(__name__), "DECAY", decay, raising=True)
        value, got = gradient(X)
        assert value == pytest.approx(local_def_and_a_scalar_argument(X), rel=1e-12)
        assert_gradient(local_def_and_a_scalar_argument, X, got)


def test_the_result_has_the_broadcast_shape():
    def shaped(x):
        out = np.vectorize(lambda v: 1.5)(x)
        return np.sum(out * x) + out.shape[1]

    value, got = srcad.value_and_grad(shaped)(GRID)
    assert value == pytest.approx(shaped(GRID))
    np.testing.assert_allclose(got, np.full(GRID.shape, 1.5))


def raising(x):
    return np.sum(np.vectorize(raises_on_negatives)(x))


def raises_on_negatives(v):
    if v < 0:
        raise ValueError("negative")
    return v


def reducing(x):
    return np.sum(np.vectorize(lambda v: np.sum(v))(x))


def printing(x):
    return np.sum(np.vectorize(lambda v: print(v) or v)(x))


def with_signature(x):
    return np.sum(np.vectorize(lambda v: v * 2.0, signature="()->()")(x))


@pytest.mark.parametrize("fun", [raising, reducing, printing, with_signature])
def test_other_bodies_are_refused_at_the_line(fun):
    with pytest.raises(srcad.UnsupportedSyntax, match="np.vectorize of a Python function") as e:
        srcad.grad(fun)(X)
    assert e.value.line == fun.__code__.co_firstlineno + 1


def int_for_some_elements(x):
    return np.sum(np.vectorize(lambda v: 0 if v < 0 else v * v)(x))


def int_by_max(x):
    return np.sum(np.vectorize(lambda v: max(v, 0))(x))  # NumPy: ints where v < 0 first


def int_by_max_then_arithmetic(x):
    return np.sum(np.vectorize(lambda v: max(v, 0) ** 2 + 1)(x))  # still ints (probe AQ)


def test_a_function_returning_an_int_or_a_float_as_the_data_decide_is_refused():
    """NumPy types the whole result by the first element's (ints from ``0``): srcad computed
    floats for every element, a silently different value (probe AE)."""
    for fun in (int_for_some_elements, int_by_max, int_by_max_then_arithmetic):
        with pytest.raises(srcad.UnsupportedSyntax, match="returns an int or a float") as e:
            srcad.grad(fun)(X)
        assert e.value.line == fun.__code__.co_firstlineno + 1
