"""The grad table: every forward value and its adjoint, checked on the textbook neuron."""

from __future__ import annotations

import math
import re
import traceback
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


def rnn_tail(W, h, xs):
    """The rest of ``examples/loops.py:rnn`` from a state h onwards (the same statements)."""
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h)


def test_rnn_table_has_one_row_per_iteration_and_adjoints_of_generated_code(capsys):
    from examples.loops import EXAMPLE_ARGS, rnn

    W, h0, xs = EXAMPLE_ARGS["rnn"]
    table = srcad.explain(rnn, W, h0, xs, argnums=(0, 1, 2))
    gradients = srcad.grad(rnn, argnums=(0, 1, 2))(W, h0, xs)
    for name, gradient in zip(("W", "h", "xs"), gradients, strict=True):
        np.testing.assert_allclose(table.row(name).adjoint, gradient, rtol=1e-12)
    states = [row for row in table.rows_named("h") if row.operation != "input"]
    assert [row.where for row in states] == [f"t={t}" for t in range(len(xs))]
    # the adjoint of the state after step t is the gradient of the remaining steps
    for t, row in enumerate(states):
        before = states[t - 1].value if t else h0
        np.testing.assert_allclose(row.value, np.tanh(W @ before + xs[t]))
        rest = xs[t + 1 :]
        if len(rest) == 1:  # one step left, by hand (srcad refuses a loop run once: a bug)
            tail = W.T @ (1 - np.tanh(W @ row.value + rest[0]) ** 2)
        else:
            tail = srcad.grad(rnn_tail, argnums=1)(W, row.value, rest)
        np.testing.assert_allclose(row.adjoint, tail, rtol=1e-10, atol=1e-14)
    assert main(["explain", f"{ROOT / 'examples' / 'loops.py'}:rnn"]) == 0
    out = capsys.readouterr().out
    for t in range(len(xs)):
        assert re.search(rf"^h +t={t} +tanh\(t3\)", out, re.MULTILINE), out
    assert "(3, 3) |.|=" in out  # W is summarized: shape, norm, first entries


def test_branches_show_the_branch_taken():
    def f(x):
        y = x
        for _ in range(4):
            if y > 1.0:
                y = 0.5 * y
            else:
                y = y * 3.0
        return y

    table = srcad.explain(f, 0.9)
    taken = [row.where for row in table.rows_named("y_1")]  # 0.9, 2.7, 1.35, 0.675, 2.025
    assert [w.split(", ")[1].split()[0] for w in taken] == ["else", "if", "if", "else"]
    assert [w.split(", ")[0] for w in taken] == [f"iteration {k}" for k in range(4)]
    assert table.row("x").adjoint == pytest.approx(srcad.grad(f)(0.9))
    assert table.row("x").adjoint == pytest.approx(3.0 * 0.5 * 0.5 * 3.0)


def test_while_loop_tests_and_bodies_are_numbered(capsys):
    from examples.loops import newton_sqrt

    table = srcad.explain(newton_sqrt, 2.0)
    wheres = [row.where for row in table.rows if row.where]
    bodies = sorted({w for w in wheres if w.startswith("while ") and "test" not in w})
    tests = sorted({w for w in wheres if "test" in w})
    assert len(tests) == len(bodies) + 1  # the last test is false
    assert table.row("a").adjoint == pytest.approx(srcad.grad(newton_sqrt)(2.0))
    assert main(["explain", f"{ROOT / 'examples' / 'loops.py'}:newton_sqrt"]) == 0
    assert "while test 1" in capsys.readouterr().out


def test_large_arrays_are_summarized():
    from srcad.tools.explain import format_value

    x = np.arange(12.0).reshape(3, 4)
    text = format_value(x)
    assert text.startswith("(3, 4) |.|=") and "[0.0000, 1.0000, 2.0000, ...]" in text
    assert f"{np.linalg.norm(x):.3f}" in text
    assert format_value(np.array([0.5, -1.0])) == "[0.5000, -1.0000]"


def test_errors_name_guessed_arguments_only_when_they_were_guessed(tmp_path, capsys):
    module = tmp_path / "mod.py"
    module.write_text(
        "import numpy as np\n"
        "def f(x):\n    return np.ones(3) * x\n"
        "def g(x):\n    return np.ones(3) * x\n"
        "EXAMPLE_ARGS = {'g': (2.0,)}\n"
    )
    assert main(["explain", f"{module}:f"]) == 1
    assert "EXAMPLE_ARGS" in capsys.readouterr().err
    assert main(["explain", f"{module}:g"]) == 1
    assert "EXAMPLE_ARGS" not in capsys.readouterr().err


def test_graph_refuses_backward_with_explain(capsys):
    assert main(["graph", NEURON, "--explain", "--backward"]) == 2
    assert "--backward" in capsys.readouterr().err


SCALE = {"c": 0.5}


def test_values_read_from_outside_are_inputs_of_the_table():
    def scaled(x):
        y = x * SCALE["c"]
        if np.sum(y) > 0.0:
            y = y * y
        return np.sum(y)

    for c in (0.5, 2.0):  # the table reads the global as it is now
        SCALE["c"] = c
        try:
            x = np.array([1.0, 2.0])
            table = srcad.explain(scaled, x)
            assert float(table.row("c").value) == c
            np.testing.assert_allclose(table.row("x").adjoint, srcad.grad(scaled)(x))
        finally:
            SCALE["c"] = 0.5


def test_a_try_shows_the_block_or_the_handler_that_ran():
    from test_try_statements import robust_logdet as logdet  # a Cholesky with a fallback

    for A, ran in ((np.diag([2.0, 1.0, 3.0]), "try"), (np.diag([2.0, -1.0, 3.0]), "except")):
        table = srcad.explain(logdet, A)
        assert {row.where.split()[0] for row in table.rows_named("L")} == {ran}
        np.testing.assert_allclose(table.row("A").adjoint, srcad.grad(logdet)(A), rtol=1e-12)


def test_a_function_that_prints_or_draws_is_refused_at_that_line():
    """explain evaluates the graph itself: a print or a draw was a RuntimeError ('outside
    calls are executed by generated code only')."""

    def noisy(x):
        print("x =", x)
        return x * np.random.normal()

    with pytest.raises(srcad.SrcadError, match="does not run 'print'") as error:
        srcad.explain(noisy, 1.5)
    assert error.value.file == __file__


def test_precision_is_a_usage_error_outside_0_to_17(capsys):
    """--precision -3 gave "Format specifier missing precision (ValueError ...)", and 1000
    printed 1000-digit columns."""
    for precision, said in [
        ("-3", "-3 must be from 0 to 17"),
        ("18", "18 must be from 0 to 17"),
        ("x", "'x' is not a number"),
    ]:
        with pytest.raises(SystemExit) as exit:
            main(["explain", NEURON, "--precision", precision])
        assert exit.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: srcad explain"), err
        assert f"argument --precision: {said}" in err, err
    for precision in ["0", "17"]:
        assert main(["explain", NEURON, "--precision", precision]) == 0
    assert "0.73105857863000490" in capsys.readouterr().out


def test_a_result_that_is_no_scalar_is_a_type_error_at_the_functions_line():
    """It was a SrcadError naming no place (grad's is a TypeError at the line)."""

    def doubled(x):
        return x * 2.0

    with pytest.raises(TypeError, match="explain needs doubled to return a scalar float") as error:
        srcad.explain(doubled, np.ones(3))
    assert str(error.value).startswith(f"{__file__}:{doubled.__code__.co_firstlineno}: ")


def test_a_function_that_always_raises_is_refused_for_its_raise():
    """It was told to return a scalar float: its graph returns nothing."""

    def refuses(x):
        raise RuntimeError("not today")

    with pytest.raises(srcad.SrcadError, match="does not run 'raise'"):
        srcad.explain(refuses, np.ones(3))


@pytest.mark.parametrize("tool", [srcad.explain, srcad.graph])
def test_errors_of_the_tools_end_at_the_users_call(tool):
    """explain and graph raised with ~17 of srcad's frames after the user's call (compare
    reports each method's error in its table)."""

    def unwrapped(x):
        return np.sum(np.unwrap(x))

    with pytest.raises(srcad.NoDerivativeRule) as error:
        tool(unwrapped, np.ones(3))
    frames = traceback.extract_tb(error.tb)
    assert [frame.filename for frame in frames] == [__file__], frames


def test_explain_and_graph_take_a_ufunc_as_the_function_as_grad_does():
    """API.md: NumPy ufuncs are differentiable functions; explain and graph refused them
    ('not ufunc'; probe AB)."""
    table = srcad.explain(np.hypot, 3.0, 4.0)
    expected = srcad.numerical_grad(np.hypot, 3.0, 4.0)
    assert table.row("x1").adjoint == pytest.approx(expected, rel=1e-6)
    assert "tanh" in srcad.graph(np.tanh).to_dot()
    assert "tanh" in srcad.graph(np.tanh, 0.5, backward=True).to_dot()


SCALE = {"c": 1.0}


def scaled_squares(x, y):
    return np.sum(x**2) * y * SCALE["c"]


def test_argnums_counted_from_the_end_and_out_of_range_as_grad_counts_them():
    """explain and make_graph matched -1 against no argument: a grad table without an
    adjoint, silently; argnums=7 raised nothing (found by a probe)."""
    x = np.array([0.3, -0.5])
    for c in (1.0, 2.5):  # a global the function reads, changed
        SCALE["c"] = c
        try:
            text = str(srcad.explain(scaled_squares, x, 2.0, argnums=-1))
            expected = srcad.grad(scaled_squares, argnums=-1)(x, 2.0)
        finally:
            SCALE["c"] = 1.0
        row = next(line for line in text.splitlines() if line.startswith("y "))
        assert float(row.split()[-1]) == pytest.approx(expected, abs=5e-5)
    both = str(srcad.explain(scaled_squares, x, 2.0, argnums=(0, -1)))
    assert "[1.2000, -2.0000]" in both  # d out / d x = 2 x y
    assert srcad.make_graph(scaled_squares, argnums=-1, backward=True)(x, 2.0).wrt == (1,)
    with pytest.raises(TypeError, match="argnums=7 does not name a positional argument"):
        srcad.explain(scaled_squares, x, 2.0, argnums=7)
