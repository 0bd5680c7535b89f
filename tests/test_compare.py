"""Seeing the cost: ``srcad.compare`` and ``srcad compare`` count and time the three gradient
methods."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import srcad
from srcad.cli import main
from srcad.tools.compare import time_call
from srcad.tools.passes import count_passes, generated_function_names

ROOT = Path(__file__).parent.parent


def layer(x):
    return np.sum(np.tanh(np.arange(1.0, 7.0).reshape(3, 2) @ x))


def test_compare_times_every_method_against_one_evaluation():
    table = srcad.compare(layer, np.array([0.1, -0.2]), repeat=1, budget=0.2)
    methods = [row.method for row in table.rows]
    assert methods == ["function", "numerical", "forward", "reverse"]
    assert table.rows[0].multiple == 1.0
    assert table.n_inputs == 2
    for row in table.rows:
        if row.method == "forward" and row.multiple is None:
            continue  # forward mode may not be available yet; the row says n/a
        assert row.seconds > 0 and row.multiple > 0, row
    assert table.multiple("reverse") == table.rows[-1].multiple
    text = str(table)
    assert "numerical differences" in text and "reverse mode" in text
    assert "max |diff| vs reverse" in text


def test_a_failing_method_shows_n_a(monkeypatch):
    real_grad = srcad.grad

    def grad_without_forward(fun, argnums=0, **options):
        if options.get("mode") == "forward":
            raise NotImplementedError("forward mode is coming")
        return real_grad(fun, argnums, **options)

    compare_module = sys.modules["srcad.tools.compare"]  # srcad.compare is the function
    monkeypatch.setattr(compare_module, "grad", grad_without_forward)
    table = srcad.compare(layer, np.array([0.1, -0.2]), repeat=1, budget=0.2)
    forward = next(row for row in table if row.method == "forward")
    assert forward.multiple is None and "NotImplementedError" in forward.note
    assert "n/a" in str(table)
    assert table.multiple("reverse") > 0


def test_methods_can_be_chosen():
    table = srcad.compare(layer, np.array([0.1, -0.2]), methods=("reverse",), repeat=1)
    assert [row.method for row in table] == ["function", "reverse"]
    assert table.multiple("numerical") is None
    with pytest.raises(ValueError, match="unknown methods"):
        srcad.compare(layer, np.array([0.1, -0.2]), methods=("symbolic",))


def test_time_call_measures_a_positive_time():
    assert 0 < time_call(lambda: sum(range(100)), repeat=2, budget=0.1) < 0.1


def test_cli_prints_the_table(capsys):
    target = f"{ROOT / 'examples' / 'basics.py'}:tanh_layer"
    assert main(["compare", target, "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    for title in ("f itself", "numerical differences", "forward mode", "reverse mode"):
        assert title in out


def test_passes_are_counted_per_method():
    x = np.array([0.1, -0.2])
    table = srcad.compare(layer, x, repeat=1, budget=0.2)
    assert table.passes("function") == 1
    assert table.passes("numerical") == 4  # two evaluations per input
    assert table.passes("forward") == 2  # one tangent pass per input
    assert table.passes("reverse") == 2  # one forward and one backward sweep
    assert table.row("reverse").calls == 1
    two = srcad.compare(lambda a, b: np.sum(a) * np.sum(b), x, np.ones(3), argnums=(0, 1), repeat=1)
    assert two.passes("numerical") == 10 and two.passes("forward") == 5
    assert two.passes("reverse") == 2


def test_time_is_split_into_passes_and_overhead():
    table = srcad.compare(layer, np.array([0.1, -0.2]), repeat=2, budget=0.2)
    for row in table.rows[1:]:
        assert row.pass_seconds > 0 and row.overhead >= 0, row
        assert row.overhead <= row.seconds
        if row.overhead > 0:
            assert row.overhead + row.calls * row.pass_seconds == pytest.approx(row.seconds)
    text = str(table)
    assert "overhead" in text and "one pass" in text
    assert "time = overhead + passes x one pass" in text


def add_one(v):
    return v + 1


def add_one_twice(v):
    return add_one(add_one(v))


def test_count_passes_counts_outermost_calls_and_replays_the_first():
    results = []
    count = count_passes(
        lambda: results.extend(add_one_twice(k) for k in (10, 20, 30)),
        frozenset({"add_one_twice", "add_one"}),
    )
    assert results == [12, 22, 32]
    assert count.calls == 3  # add_one, called from add_one_twice, is inside a pass
    assert count.first is not None and count.first() == 12  # the first call, replayed
    names = generated_function_names("import numpy as np\ndef f_grad(x):\n    return x\n")
    assert names == frozenset({"f_grad"})


@pytest.mark.slow
def test_cli_thousand_inputs_reverse_mode_wins_in_evaluations_of_f(tmp_path, capsys):
    module = tmp_path / "wide.py"
    module.write_text(textwrap.dedent("""
            import numpy as np

            w = np.linspace(-1.0, 1.0, 1000)

            def wide(x):
                return np.sum(np.tanh(x) * w)

            EXAMPLE_ARGS = {"wide": (np.linspace(0.0, 1.0, 1000),)}
            """))
    assert main(["compare", f"{module}:wide", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "(1000 inputs)" in out
    ratios = dict(re.findall(r"(numerical differences|forward mode) ([0-9.e+]+)x", out))
    assert float(ratios["forward mode"]) >= 100, out
    assert float(ratios["numerical differences"]) >= 100, out
    assert "2000 evaluations" in out and "1000 tangent passes" in out
    assert "1 forward + 1 backward" in out


def test_the_docstring_example_runs():
    import doctest

    assert doctest.testmod(sys.modules["srcad.tools.compare"]).failed == 0


def test_cli_exits_1_with_the_reason_when_no_gradient_can_be_computed(tmp_path, capsys):
    """Forward and reverse mode both failing showed only as n/a in the table, exit status 0."""
    module = tmp_path / "refused.py"
    module.write_text(
        "import numpy as np\n\n\ndef f(x):\n    class A:\n        pass\n    return np.sum(x)\n"
    )
    assert main(["compare", f"{module}:f", "--args", "np.ones(2)", "--repeat", "1"]) == 1
    captured = capsys.readouterr()
    assert "reverse mode" in captured.out and "n/a: UnsupportedSyntax" in captured.out
    first_line = captured.err.splitlines()[0]
    assert first_line.startswith(f"error: {module}:5: class definitions"), captured.err


@pytest.mark.parametrize("repeat", ["0", "-5"])
def test_cli_repeat_must_be_positive(repeat, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["compare", f"{ROOT / 'examples' / 'basics.py'}:product", "--repeat", repeat])
    assert exit.value.code == 2
    assert f"argument --repeat: {repeat} must be above 0" in capsys.readouterr().err
