"""Argument values that numba compiles but cannot run, found in a variant before it runs.

Comes in: the source of a numba variant (``numba_source``). Goes out: where it passes a
value that numba's implementation of a NumPy function refuses only when the code runs (it
types the argument, then raises where NumPy computes), and why; or nothing. The backend
runs the NumPy code instead, with the warning naming the line, rather than numba's error.

    np.linalg.norm(z, ord="nuc")   numba: ValueError "Invalid norm order for matrices."

Each entry of ``LACKED`` is one function: the position and keyword of the argument, a test
of its literal value, and what numba lacks.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Lacked:
    """Values of one argument of a function that numba's implementation refuses."""

    position: int
    keyword: str
    is_lacked: Callable[[object], bool]
    what: str


LACKED = {
    # numba computes the norms of numeric orders only ('fro' and 'nuc' raise ValueError)
    "np.linalg.norm": Lacked(1, "ord", lambda value: isinstance(value, str), "norm"),
}


def lacked_value(source: str) -> tuple[int, str] | None:
    """The first line of ``source`` passing a value numba lacks, and what it lacks there."""
    found = []
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]
    for node in calls:
        lacked = LACKED.get(ast.unparse(node.func))
        if lacked is None:
            continue
        argument = _argument(node, lacked)
        if isinstance(argument, ast.Constant) and lacked.is_lacked(argument.value):
            found.append((node.lineno, f"numba has no {argument.value!r} {lacked.what}"))
    return min(found, default=None)


def _argument(call: ast.Call, lacked: Lacked) -> ast.expr | None:
    """The argument ``lacked`` is about, as the call passes it (None when it does not)."""
    for keyword in call.keywords:
        if keyword.arg == lacked.keyword:
            return keyword.value
    return call.args[lacked.position] if len(call.args) > lacked.position else None
