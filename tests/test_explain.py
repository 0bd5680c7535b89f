"""The grad table: every forward value and its adjoint, checked on the textbook neuron."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import srcad
from srcad.cli import main

ROOT = Path(__file__).parent.parent
NEURON = f"{ROOT / 'examples' / 'basics.py'}:neuron"
POINT = (2.0, -3.0, -3.0, -1.0, -2.0)
# The sigmoid neuron circuit of the back-propagation lectures: (forward value, adjoint) of
# w0*x0 + w1*x1 + w2, its negation, exp, 1 + exp, and 1 / (1 + exp), in graph order.
CIRCUIT = [(1.00, 0.20), (-1.00, -0.20), (0.37, -0.53), (1.37, -0.53), (0.73, 1.00)]
INPUT_GRADIENTS = {"w0": -0.20, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.20}


def neuron(w0, w1, x0, x1, w2):
    return 1 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))


def assert_in_order(pairs: list[tuple[float, float]], expected: list[tuple[float, float]]):
    """``expected`` appears in ``pairs`` as a subsequence (rows in graph order)."""
    position = 0
    for pair in pairs:
        if position < len(expected) and pair == expected[position]:
            position += 1
    assert position == len(expected), f"rows {pairs} lack {expected[position:]}"


def test_neuron_grad_table_through_the_api():
    table = srcad.explain(neuron, 2.0, -3.0, -1.0, -2.0, -3.0, argnums=(0, 1, 2, 3, 4))
    pairs = [
        (round(float(row.value), 2), round(float(row.adjoint), 2))
        for row in table.rows
        if row.operation != "input"
    ]
    assert_in_order(pairs, CIRCUIT)
    for name, gradient in INPUT_GRADIENTS.items():
        row = table.row(name)
        assert row.operation == "input"
        assert round(row.adjoint, 2) == gradient
    assert [row.operation for row in table.rows[:5]] == ["input"] * 5
    text = str(table)
    assert "exp(" in text and "0.3679" in text and "-0.5344" in text


def test_neuron_grad_table_through_the_cli(capsys):
    arguments = ", ".join(str(x) for x in POINT)
    assert main(["explain", NEURON, "--args", arguments, "--argnums", "0,1,2,3,4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    pairs, inputs = [], {}
    for line in lines[3:]:
        numbers = [round(float(x), 2) for x in re.findall(r"-?\d+\.\d+", line)]
        assert len(numbers) == 2, line
        if " input " in line:
            inputs[line.split()[0]] = numbers[1]
        else:
            pairs.append(tuple(numbers))
    assert_in_order(pairs, CIRCUIT)
    assert inputs == INPUT_GRADIENTS


def test_adjoints_accumulate_over_every_use():
    def f(a):
        b = a * a
        return b * b + b + np.sin(a)

    table = srcad.explain(f, 1.5)
    a, b = 1.5, 1.5**2
    assert table.row("b").value == pytest.approx(b)
    assert table.row("b").adjoint == pytest.approx(2 * b + 1)
    assert table.row("a").adjoint == pytest.approx(srcad.grad(f)(1.5))
    assert table.row("a").adjoint == pytest.approx((2 * b + 1) * 2 * a + np.cos(a))


def test_arrays_and_constants():
    def layer(x, W):
        return np.sum(np.tanh(W @ x))

    rng = np.random.default_rng(0)
    x, W = rng.normal(size=3), rng.normal(size=(4, 3))
    table = srcad.explain(layer, x, W)  # argnums=0: W is held constant
    np.testing.assert_allclose(table.row("x").adjoint, srcad.grad(layer)(x, W))
    assert table.row("W").adjoint is None
    assert "(const)" in str(table)


def test_annotated_graph_shows_values_and_gradients(capsys):
    table = srcad.explain(neuron, 2.0, -3.0, -1.0, -2.0, -3.0, argnums=(0, 1, 2, 3, 4))
    dot = table.annotate_graph()
    assert dot.startswith("digraph")
    for text in ("0.73", "1.37", "0.37", "grad -0.53", "grad -0.20", "grad 0.39"):
        assert text in dot
    arguments = ", ".join(str(x) for x in POINT)
    assert main(["graph", NEURON, "--explain", "--args", arguments, "--argnums", "0,1,2,3,4"]) == 0
    assert "grad -0.59" in capsys.readouterr().out


def test_loops_are_refused_with_a_clear_error(capsys):
    def f(x):
        for _ in range(3):
            x = x * 2.0
        return x

    with pytest.raises(srcad.SrcadError, match="straight-line"):
        srcad.explain(f, 1.0)
    assert main(["explain", f"{ROOT / 'examples' / 'loops.py'}:newton_sqrt"]) == 1
    assert "straight-line" in capsys.readouterr().err
