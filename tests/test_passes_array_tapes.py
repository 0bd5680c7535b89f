"""The pass that makes the tapes of ``for`` loops arrays in the code a further derivative
reads (``srcad.passes.array_tapes``, ``Compiled.body``).

Checked on gradients whose loops keep tapes (a long loop that breaks, nested loops, a loop
in a branch, a range that counts down by 3, sums of outer products that ``tape_stack``
collects, Python numbers saved): the code read back computes what the code that runs
computes, keeps no list, and the code that runs keeps its lists. A tape of a ``while`` loop
is left as it is.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad
from srcad.ir.verify import verify_graph
from srcad.ir.walk import walk_eqns
from srcad.passes import tapes_as_arrays
from srcad.pipeline import numpy_body

W = np.linspace(-0.6, 0.6, 9).reshape(3, 3)


def taylor_sine(x):
    ans = currterm = x[0]
    for i in range(1000):
        currterm = -currterm * x[0] ** 2 / ((2 * i + 3) * (2 * i + 2))
        ans = ans + currterm
        if np.abs(currterm) < 1e-12:
            break
    return ans * x[1]


def nested(x):
    s = 0.0
    for i in range(3):
        h = x
        for j in range(4):
            h = np.tanh(h * (i + 1) + 0.1 * j)
        s = s + np.sum(h**2)
    return s


def loop_in_a_branch(x):
    if np.sum(x) > 0:
        for _ in range(4):
            x = np.sin(x) * 1.5
    return np.sum(x**3)


def counting_down(x):
    s = x
    for i in range(10, 2, -3):
        s = np.cos(s * i * 0.1) + s
    return np.sum(s * x)


def branch_values_saved(x):
    acc = np.zeros(2)
    for i in range(6):
        if x[i % 2] > 0.2 * i:
            acc = acc + np.exp(x * 0.3) * x
        else:
            acc = acc - x**2
    return np.sum(acc**2)


def recurrence(w):
    weights = w.reshape(3, 3)
    h = np.ones(3)
    for _ in range(6):
        h = np.tanh(weights @ h)
    return np.sum(h)


def doubling(x):
    s = x[0]
    while s < 10.0:
        s = s * 2.0 + x[1] ** 2
    return s


CASES = {
    taylor_sine: np.array([1.3, 0.7]),
    nested: np.array([0.3, -0.2]),
    loop_in_a_branch: np.array([0.3, 0.2]),
    counting_down: np.array([0.4, -0.9]),
    branch_values_saved: np.array([0.5, 0.1]),
    recurrence: np.linspace(-0.4, 0.5, 9),
}


def _compiled(fun, x):
    transformed = srcad.grad(fun)
    transformed(x)
    return transformed.last


@pytest.mark.sampled(2)
@pytest.mark.parametrize("fun", list(CASES), ids=lambda f: f.__name__)
def test_the_code_read_back_computes_the_same_without_lists(fun):
    x = CASES[fun]
    compiled = _compiled(fun, x)
    value, gradient = compiled.fn(x)
    read_value, read_gradient = compiled.body(x, 1.0)
    np.testing.assert_allclose(read_value, value, rtol=1e-14)
    np.testing.assert_allclose(read_gradient, gradient, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(gradient, srcad.numerical_grad(fun, x), rtol=1e-6, atol=1e-8)
    read = open(compiled.body.__code__.co_filename).read()
    assert ".append(" in compiled.source  # the code that runs keeps its lists
    assert ".append(" not in read and ".pop()" not in read and "= []" not in read
    assert "np.zeros(shape=(" in read


@pytest.mark.parametrize("fun", list(CASES), ids=lambda f: f.__name__)
def test_the_pass_leaves_no_tape_and_a_valid_graph(fun):
    graph = _compiled(fun, CASES[fun]).graph
    rewritten = tapes_as_arrays(graph)
    verify_graph(rewritten)
    assert not any(eqn.prim.startswith("tape_") for eqn in walk_eqns(rewritten.eqns))


def test_a_python_number_saved_is_read_back_as_one():
    """t8 = (2 * i + 3) * (2 * i + 2) is a Python int: read back as int(tape[i]), so that
    the code promotes as it did (a float32 value stays float32)."""
    compiled = _compiled(taylor_sine, CASES[taylor_sine])
    read = open(compiled.body.__code__.co_filename).read()
    assert "int(tape" in read


def test_a_while_loops_tape_is_left_alone():
    compiled = _compiled(doubling, np.array([0.7, 0.3]))
    assert tapes_as_arrays(compiled.graph) is compiled.graph
    assert compiled.body is numpy_body(compiled.fn)
