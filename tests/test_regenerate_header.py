"""The ``regenerate:`` command in a generated file's header prints that same file again."""

from __future__ import annotations

import shlex
import sys
import textwrap

import numpy as np
import pytest

import srcad
from srcad.cli import main
from srcad.codegen.header import spell_argument

MODULE = """
import numpy as np
from typing import NamedTuple


class Params(NamedTuple):
    w: np.ndarray
    b: float


def dense(w, x, scale):
    return scale * np.sum(np.tanh(x @ w))


def power_sum(x, n):
    total = 0.0
    for k in range(n):
        total = total + np.sum(x ** (k + 1))
    return total


def model(params, x):
    return np.sum((x @ params.w + params.b) ** 2)


def nested(pair, table):
    return np.sum(pair[0] * pair[1]) + table["a"] * np.sum(table["v"])
"""


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    path = tmp_path_factory.mktemp("header") / "header_cases.py"
    path.write_text(textwrap.dedent(MODULE))
    sys.path.insert(0, str(path.parent))
    try:
        import header_cases

        yield header_cases
    finally:
        sys.path.remove(str(path.parent))
        sys.modules.pop("header_cases", None)


def regenerate_line(source: str) -> str:
    line = next(line for line in source.splitlines() if "  regenerate: " in line)
    return line.partition("  regenerate: ")[2]


def cases(m):
    x = np.ones((5, 3))
    return [
        (m.dense, (np.ones(3), x, 2.0), {"argnums": 0}),
        (m.dense, (np.ones(3), x, 2.0), {"argnums": (0, 1)}),
        (m.dense, (np.ones(3, np.float32), x.astype(np.float32), 2.0), {"argnums": 0}),
        (m.dense, (np.ones(3), x, 2.0), {"argnums": (0, 2), "mode": "forward"}),
        (m.power_sum, (np.ones(4), 3), {}),
        (m.model, (m.Params(np.ones(3), 0.5), x), {}),
        (m.nested, ((np.ones(2), np.ones(2)), {"a": 1.0, "v": np.ones(3)}), {"argnums": (0, 1)}),
    ]


@pytest.mark.sampled(2)
@pytest.mark.parametrize("case", range(7))
def test_the_header_command_prints_the_same_file(module, case, capsys):
    fun, args, options = cases(module)[case]
    gradient = srcad.value_and_grad(fun, **options)
    gradient(*args)
    source = srcad.source(gradient)
    command = shlex.split(regenerate_line(source))
    assert command[:2] == ["srcad", "show"]
    assert main(command[1:]) == 0
    assert capsys.readouterr().out == source


def test_a_layout_that_cannot_be_spelled_is_left_to_example_args():
    class Local:  # a class inside a function: --args cannot name it
        def __init__(self, value):
            self.value = value

    assert spell_argument(Local(1)) is None
    assert spell_argument((1, "a", None, [True])) == "(1, 'a', None, [True])"
