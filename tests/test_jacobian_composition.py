"""Jacobians differentiated again (``jacfwd(jacrev(f))``, JAX's Hessian) for arguments and
results that are dicts, tuples, lists and floats: refused until now ('a Jacobian is
differentiated again for one array argument and one array result', found by a probe).
Each second derivative is checked against central differences of the first, also after a
global the function reads changed."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

import srcad
from srcad.pytree import flatten, unflatten

WORLD = {"scale": 1.0}


def layered(p):
    return np.sum(np.tanh(p["w"]) * p["b"] ** 2) * WORLD["scale"] + p["b"][0] * p["w"][2] ** 3


def two_results(x, y):
    return np.sin(x) * y * WORLD["scale"], [np.sum(x**2 * y), x[0] * y]


def scaled_pair(a, pair):
    return a**2 * pair[0] * WORLD["scale"] + np.sum(pair[1] ** 3) * a


P = {"w": np.array([0.3, -0.7, 1.1]), "b": np.array([0.5, 2.0, -1.0])}
X, Y = np.array([0.5, 1.0, -0.4]), np.array([2.0, 3.0, 0.7])
A, PAIR = 0.8, (1.5, np.array([0.2, -0.6]))


def _numerical_jacobian_of(jacobian, args, argnums):
    """Central differences of a (pytree-valued) Jacobian, laid out as JAX lays out its
    Jacobian: per output leaf of ``jacobian``, per argument in ``argnums``, per leaf."""
    leaves = flatten(jacobian(*args))[0]
    columns = []
    for n in argnums:
        arg_leaves, arg_tree = flatten(args[n])
        per_leaf = []
        for i, leaf in enumerate(arg_leaves):
            base = np.asarray(leaf, dtype=float)
            blocks = [np.zeros(np.shape(out) + base.shape) for out in leaves]
            for index in np.ndindex(base.shape):
                step = np.zeros_like(base)
                step[index] = 1e-6
                sides = []
                for sign in (1.0, -1.0):
                    moved = list(arg_leaves)
                    value = base + sign * step
                    moved[i] = float(value) if isinstance(leaf, float) else value
                    changed = list(args)
                    changed[n] = unflatten(arg_tree, moved)
                    sides.append(flatten(jacobian(*changed))[0])
                for block, plus, minus in zip(blocks, *sides, strict=True):
                    block[(..., *index)] = (np.asarray(plus) - np.asarray(minus)) / 2e-6
            per_leaf.append(blocks)
        columns.append(per_leaf)
    return leaves, columns


def _assert_second_derivatives(composed, first, args, argnums):
    """``composed(*args)`` against central differences of ``first``, block by block."""
    leaves, columns = _numerical_jacobian_of(first, args, argnums)
    result_leaves = flatten(composed(*args))[0]
    expected = [
        blocks[j] for j in range(len(leaves)) for per_leaf in columns for blocks in per_leaf
    ]
    assert len(result_leaves) == len(expected)
    for have, want in zip(result_leaves, expected, strict=True):
        assert np.shape(have) == np.shape(want)
        np.testing.assert_allclose(have, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "outer, inner",
    [(srcad.jacfwd, srcad.jacrev), (srcad.jacrev, srcad.jacrev), (srcad.jacfwd, srcad.jacfwd)],
    ids=["jacfwd of jacrev", "jacrev of jacrev", "jacfwd of jacfwd"],
)
def test_a_jacobian_of_a_dict_argument_differentiated_again(outer, inner):
    for scale in (1.0, 0.6):  # a global read on every call
        WORLD["scale"] = scale
        try:
            composed = outer(inner(layered))
            result = composed(P)
            np.testing.assert_allclose(result["w"]["b"], srcad.hessian(layered)(P)["w"]["b"])
            _assert_second_derivatives(composed, inner(layered), (P,), (0,))
        finally:
            WORLD["scale"] = 1.0
    assert set(result) == {"w", "b"} and result["b"]["w"].shape == (3, 3)


@pytest.mark.parametrize("outer", [srcad.jacfwd, srcad.jacrev], ids=["jacfwd", "jacrev"])
@pytest.mark.parametrize("inner", [srcad.jacfwd, srcad.jacrev], ids=["of jacfwd", "of jacrev"])
def test_a_jacobian_of_several_results_and_arguments_differentiated_again(outer, inner):
    """Results a tuple holding a list, argnums a tuple: each block shaped
    ``out_leaf.shape + in_leaf.shape``, tuples per output leaf as JAX nests them."""
    for scale in (1.0, 1.7):
        WORLD["scale"] = scale
        try:
            first = inner(two_results, argnums=(0, 1))
            composed = outer(first, argnums=(0, 1))
            result = composed(X, Y)
            _assert_second_derivatives(composed, first, (X, Y), (0, 1))
        finally:
            WORLD["scale"] = 1.0
    dsin_dx = result[0][0]  # d(sin(x) * y)/dx, then d/dx and d/dy of that
    assert len(result) == 2 and len(dsin_dx) == 2 and dsin_dx[0].shape == (3, 3, 3)
    assert result[1][1][1][0].shape == (3, 3, 3)  # d(x[0] * y)/dy, then d/dx


@pytest.mark.parametrize("outer", [srcad.jacfwd, srcad.jacrev], ids=["jacfwd", "jacrev"])
def test_a_jacobian_of_a_float_and_a_tuple_differentiated_again(outer):
    for scale in (1.0, 0.3):
        WORLD["scale"] = scale
        try:
            first = srcad.jacrev(scaled_pair, argnums=(0, 1))
            composed = outer(first, argnums=1)
            _assert_second_derivatives(composed, first, (A, PAIR), (1,))
        finally:
            WORLD["scale"] = 1.0


class Pair(NamedTuple):
    w: np.ndarray
    b: np.ndarray


def test_a_jacobian_of_a_named_tuple_is_refused_saying_what_to_do():
    """Generated code gives NamedTuples back as tuples: refused rather than another layout."""
    pair = Pair(np.ones(2), np.ones(2))
    with pytest.raises(TypeError, match=r"tuples, lists and dicts of them \(not NamedTuples"):
        srcad.jacfwd(srcad.jacrev(lambda p: np.sum(p.w * p.b**2)))(pair)


def sine_weighted(x):
    return np.sum(np.sin(x) * x) * WORLD["scale"]


@pytest.mark.parametrize("outer", [srcad.jacrev, srcad.jacfwd], ids=["jacrev", "jacfwd"])
def test_a_forward_mode_gradient_is_differentiated_again(outer):
    """'differentiate the reverse-mode gradient (the default) again' where the same
    gradient called in a lambda was differentiated (found by a probe)."""
    forward = srcad.grad(sine_weighted, mode="forward")
    for scale in (1.0, -2.0):
        WORLD["scale"] = scale
        try:
            second = outer(forward)(X)
            expected = srcad.numerical_grad(lambda v: forward(v)[1], X)
        finally:
            WORLD["scale"] = 1.0
        np.testing.assert_allclose(second[1], expected, rtol=1e-6, atol=1e-9)
