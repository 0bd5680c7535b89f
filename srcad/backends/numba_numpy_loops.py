"""Operations that numba computes more slowly than NumPy, respelled in the numba variant to
call NumPy's own loops (``srcad.runtime.numba_ufuncs``).

Comes in: the numba variant's source (the body's in-place writes already spelled with a
positional ``out``). Goes out: the same source, line for line, in which

    h1 = np.tanh(x @ W1 + b1)     ->  h1 = numpy_tanh(numpy_matmul(x, W1) + b1)
    np.tanh(h1, h1)               ->  numpy_tanh_into(h1, h1)
    np.dot(x.T, dt1, dW1)         ->  numpy_dot_into(x.T, dt1, dW1)

for ``tanh``, ``exp``, ``log``, ``sin``, ``cos`` and matrix products, and the names it now
calls (the module imports them). On large float arrays the compiled code hands the work to
NumPy (float32 ``tanh``: 6x faster than numba's; a float32 product of 32x784 and 784x256:
1.5x); ``tanh`` of other contiguous float arrays, and a single row times a matrix, run loops
of srcad's that LLVM vectorises; on numbers, small arrays and the other cases numba's own
code runs.
"""

from __future__ import annotations

import ast

from srcad.backends.respelling import respelled_values
from srcad.codegen.expressions import is_name

RUNTIME = "srcad.runtime.numba_ufuncs"


def respelled_ufuncs(source: str, body_name: str) -> tuple[str, set[str]]:
    """``source`` with the body's delegated operations respelled; the names of the runtime
    functions it now calls."""
    from srcad.runtime.numba_ufuncs import DELEGATED  # imports numba: only for its variant

    rewriter = _Respelled(DELEGATED)
    return respelled_values(source, body_name, rewriter), rewriter.called


def import_line(names: set[str]) -> list[str]:
    return [f"from {RUNTIME} import {', '.join(sorted(names))}"] if names else []


class _Respelled(ast.NodeTransformer):
    def __init__(self, delegated: tuple[str, ...]) -> None:
        self.delegated = delegated
        self.called: set[str] = set()

    def visit_Call(self, node: ast.Call) -> ast.expr:  # noqa: N802 - ast's visitor name
        node = self.generic_visit(node)  # type: ignore[assignment]
        function = node.func
        plain = not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args)
        if not (plain and isinstance(function, ast.Attribute) and is_name(function.value, "np")):
            return node
        if function.attr in self.delegated and len(node.args) in (1, 2):
            into = "_into" if len(node.args) == 2 else ""
            return self._call(f"numpy_{function.attr}{into}", node.args)
        if function.attr == "dot" and len(node.args) == 3:
            return self._call("numpy_dot_into", node.args)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:  # noqa: N802 - ast's visitor name
        node = self.generic_visit(node)  # type: ignore[assignment]
        if isinstance(node.op, ast.MatMult):
            return self._call("numpy_matmul", [node.left, node.right])
        return node

    def _call(self, name: str, arguments: list[ast.expr]) -> ast.Call:
        self.called.add(name)
        return ast.Call(ast.Name(name, ast.Load()), arguments, [])
