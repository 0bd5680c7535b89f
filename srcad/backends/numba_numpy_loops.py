"""Elementwise functions that numba computes more slowly than NumPy, respelled in the numba
variant to call NumPy's own loops (``srcad.runtime.numba_ufuncs``).

Comes in: the numba variant's source (the body's in-place writes already spelled with a
positional ``out``). Goes out: the same source, line for line, in which

    h1 = np.tanh(x @ W1 + b1)     ->  h1 = numpy_tanh(x @ W1 + b1)
    np.tanh(h1, h1)               ->  numpy_tanh_into(h1, h1)

for ``tanh``, ``exp``, ``log``, ``sin`` and ``cos``, and the names it now calls (the module
imports them). On a large float array the compiled code hands the work to NumPy's vectorised
loop (float32 tanh: 6x faster than numba's); on numbers and small arrays numba's own runs.
"""

from __future__ import annotations

import ast
from typing import TypeGuard

from srcad.codegen.expressions import is_name

RUNTIME = "srcad.runtime.numba_ufuncs"


def respelled_ufuncs(source: str, body_name: str) -> tuple[str, set[str]]:
    """``source`` with the body's calls of the delegated functions respelled; the names of
    the runtime functions it now calls."""
    from srcad.runtime.numba_ufuncs import DELEGATED  # imports numba: only for its variant

    tree = ast.parse(source)
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == body_name)
    lines = source.splitlines()
    called: set[str] = set()
    calls = [node for node in ast.walk(body) if _delegated(node, DELEGATED)]
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset), reverse=True):
        assert isinstance(call.func, ast.Attribute)
        name = f"numpy_{call.func.attr}" + ("_into" if len(call.args) == 2 else "")
        called.add(name)
        _respell_function(lines, call, name)
    return "\n".join(lines) + "\n", called


def import_line(names: set[str]) -> list[str]:
    return [f"from {RUNTIME} import {', '.join(sorted(names))}"] if names else []


def _delegated(node: ast.AST, delegated: tuple[str, ...]) -> TypeGuard[ast.Call]:
    """``np.tanh(x)`` or ``np.tanh(x, out)``: one of ``delegated``, positional arguments."""
    if not isinstance(node, ast.Call) or node.keywords or len(node.args) not in (1, 2):
        return False
    function = node.func
    return (
        isinstance(function, ast.Attribute)
        and is_name(function.value, "np")
        and function.attr in delegated
        and not any(isinstance(a, ast.Starred) for a in node.args)
    )


def _respell_function(lines: list[str], call: ast.Call, name: str) -> None:
    """Replace the text of ``call``'s function (``np.tanh``) with ``name``; calls are taken
    last to first, so the columns of the others on a line stay right."""
    function = call.func
    assert function.end_lineno is not None and function.end_col_offset is not None
    row = function.lineno - 1
    assert row == function.end_lineno - 1  # np.tanh is spelled on one line
    line = lines[row].encode()
    start, end = function.col_offset, function.end_col_offset
    lines[row] = (line[:start] + name.encode() + line[end:]).decode()
