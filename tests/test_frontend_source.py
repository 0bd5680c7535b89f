"""Reading a function's ``def`` from its file (``srcad.frontend.parse._definition``).

srcad reads the lines up to the last one the function's code was compiled from, instead of
tokenizing to find where the ``def`` ends as ``inspect`` does. Checked: for endings that
compile to no code of their own (``pass``, a comment, a nested ``def``, an annotation, a
string) and for decorated and one-line functions, the ``def`` read is the one ``inspect``
reads (up to trailing statements that run no code), and the gradients agree with central
differences, also on a second call after a global the function reads changed; where the
lines so found do not parse, ``inspect`` is used.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
import textwrap

import numpy as np
import pytest

import srcad
from srcad.frontend.parse import _definition, _parsed_by_positions

SOURCE = '''
import numpy as np


def decorate(f):
    return f


@decorate
def decorated(x):
    y = x * 2.0
    return np.sum(y**2)


def ends_in_pass(x):
    y = np.sin(x)
    if np.sum(y) > 100.0:
        y = y * 2.0
    else:
        pass
    return np.sum(y * x)


def ends_in_a_call_over_lines(x):
    return np.sum(
        np.exp(x)
        * x
    )


def nested(x):
    def inner(z):
        return z * 3.0

    return np.sum(inner(x) ** 2)
    # a comment after the return


def one_line(x): return np.sum(x**3)


def ends_in_annotations(x):
    total = np.sum(np.tanh(x))
    return total
    leftover: float
    """a string that compiles to nothing"""


SCALE = 2.0


def reads_a_global(x):
    y = np.tanh(SCALE * x)
    if np.sum(y) > 100.0:
        pass
    return np.sum(y ** 2)


def loop_ending_in_pass(x):
    total = 0.0
    for i in range(3):
        total = total + x[i] ** 2
        if i > 10:
            pass
    return total
'''
NAMES = [
    "decorated",
    "ends_in_pass",
    "ends_in_a_call_over_lines",
    "nested",
    "one_line",
    "ends_in_annotations",
    "loop_ending_in_pass",
]


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    path = tmp_path_factory.mktemp("source") / "srcad_source_endings.py"
    path.write_text(SOURCE)
    spec = importlib.util.spec_from_file_location("srcad_source_endings", path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded
    spec.loader.exec_module(loaded)
    yield loaded
    sys.modules.pop(spec.name, None)


def _inspected(fn) -> str:
    """The def ``inspect`` reads, without trailing statements that compile to nothing (an
    annotation, a string: they run no code, so the lines of the code do not reach them)."""
    node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    assert isinstance(node, ast.FunctionDef)
    node.decorator_list = []
    while isinstance(node.body[-1], (ast.AnnAssign, ast.Expr)) and not _runs_code(node.body[-1]):
        node.body.pop()
    return ast.dump(node)


def _runs_code(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.AnnAssign):
        return statement.value is not None
    return not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))


@pytest.mark.parametrize("name", NAMES)
def test_the_def_read_is_the_one_inspect_reads(module, name):
    fn = getattr(module, name)
    assert ast.dump(_definition(fn)) == _inspected(fn)
    x = np.array([0.3, -0.7, 1.1])
    gradient = srcad.grad(fn)(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = 1e-6
        expected = (fn(x + step) - fn(x - step)) / 2e-6
        assert gradient[i] == pytest.approx(expected, rel=1e-6, abs=1e-8)


def test_lines_that_do_not_parse_fall_back_to_inspect(module, monkeypatch):
    from srcad.frontend import parse

    monkeypatch.setattr(parse, "_last_line", lambda code: code.co_firstlineno + 2)
    fn = module.ends_in_pass  # its first three lines end inside the if: no parse
    assert _parsed_by_positions(fn) is None
    assert ast.dump(_definition(fn)) == _inspected(fn)


def test_a_def_read_this_way_follows_the_global_it_reads(module):
    """The compiled gradient of a function read from its lines reads its global on every
    call: after the global changed it agrees with central differences of the plain function."""
    gradient = srcad.grad(module.reads_a_global)
    x = np.array([0.3, -0.7, 1.1])
    try:
        for scale in (2.0, -0.5):
            module.SCALE = scale
            got = gradient(x)
            for i in range(x.size):
                step = np.zeros_like(x)
                step[i] = 1e-6
                fn = module.reads_a_global
                expected = (fn(x + step) - fn(x - step)) / 2e-6
                assert got[i] == pytest.approx(expected, rel=1e-6, abs=1e-8)
    finally:
        module.SCALE = 2.0
