"""Seeing the cost: ``srcad.compare`` and ``srcad compare`` time the three gradient methods."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import srcad
from srcad.cli import main
from srcad.tools.compare import time_call

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
