"""Scalar code on Python floats: ``math`` functions instead of NumPy ufuncs.

A NumPy ufunc called on a Python float takes about 0.7 µs, ``math.sin`` 0.05 µs, and its
result is a Python float, so no conversion is needed on the way out. When every value of a
graph is a single float (or an int or bool: loop counters, conditions), the module gets a
second body, ``<name>_math``, spelled line by line from the NumPy body:

    NumPy body (the readable artifact)      math body (tried first)
    sin_x = np.sin(x)                       sin_x = math.sin(x)
    t4 = np.exp(t2 * x)                     t4 = math.exp(t2 * x)
    r = a**1.5  # r = a ** 1.5              r = math.pow(a, 1.5)  # r = a ** 1.5
    dt16 = dd / (2 * t17)                   dt16 = dd / (2 * t17)

NumPy's semantics are kept by falling back: where NumPy gives nan or inf with a warning
(``log(0)``, ``sqrt(-1)``, ``exp(1000)``, ``x / 0.0``) ``math`` and Python raise
``ValueError``, ``OverflowError`` or ``ZeroDivisionError``; the checked function then runs
the NumPy body on ``np.float64`` arguments, which returns NumPy's values (with NumPy's
warnings). ``math.pow`` stands for a power whose exponent
is not an integer literal, because Python's ``(-8.0) ** 0.5`` is a complex number where
NumPy's is nan (``math.pow`` raises, and the NumPy body answers). Calls without a ``math``
counterpart stay NumPy calls. Graphs with effects or random draws (which a fallback would
run twice), float32 values (``math`` computes in float64) or user rules get no math body.
The C library's ``exp``, ``log``, ``tanh``, ``tan`` may round the last bit differently from
NumPy's vectorised loops: values within a unit in the last place of the NumPy body's.
"""

from __future__ import annotations

import ast
import builtins
import io
import math
import tokenize
import types

from srcad.ir import Const, Graph, Var
from srcad.ir.prims import PRIMS
from srcad.ir.walk import walk_eqns

# NumPy function -> its math (or builtin) counterpart on a float
MATH_FUNCTIONS = {
    **{name: f"math.{name}" for name in "sin cos tan sinh cosh tanh exp expm1 log log1p".split()},
    **{name: f"math.{name}" for name in "log2 log10 sqrt hypot".split()},
    **{f"arc{name}": f"math.a{name}" for name in "sin cos tan sinh cosh tanh".split()},
    "arctan2": "math.atan2",
    "absolute": "abs",
    "abs": "abs",
}
SCALAR_DTYPES = frozenset({"float64", "int64", "bool", "object"})  # object: a loop's tape
NOT_REPEATABLE = frozenset({"outside_call", "raise", "format_string"})
FALLBACK_ERRORS = "(ArithmeticError, ValueError)"


def is_scalar_graph(graph: Graph) -> bool:
    """Whether every value of ``graph`` is a single float, int or bool, and running it twice
    (the math body, then the NumPy body) has no effect the user could see."""
    if not all(_is_scalar(var) for var in graph.inputs):
        return False
    for eqn in walk_eqns(graph.eqns):
        prim = PRIMS[eqn.prim]
        if eqn.prim in NOT_REPEATABLE or prim.kind == "custom":
            return False
        if prim.is_tape:
            continue  # a list of the loop's floats
        values = [*eqn.outputs, *eqn.inputs]
        if not all(_is_scalar(v) for v in values):
            return False
    return True


def _is_scalar(atom: object) -> bool:
    if isinstance(atom, Const):
        return isinstance(atom.value, (bool, int, float)) or atom.value is None
    return isinstance(atom, Var) and atom.aval.shape == () and atom.aval.dtype in SCALAR_DTYPES


def math_lines(lines: list[str]) -> list[str]:
    """The body ``lines`` (statements with their comments, indented blocks) with NumPy's
    scalar functions spelled with ``math``."""
    return [_math_line(line) for line in lines]


def _math_line(line: str) -> str:
    code, comment = _split_comment(line)
    stripped = code.strip()
    if not stripped or not any(token in stripped for token in ("np.", "**")):
        return line
    indent = code[: len(code) - len(code.lstrip())]
    if stripped.endswith(":"):  # a block's header: if / while / for / elif
        keyword = stripped.split()[0]
        if keyword not in ("if", "while", "for", "elif"):
            return line
        parsed = ast.parse(("if" + stripped[4:] if keyword == "elif" else stripped) + "\n    pass")
        header = ast.unparse(_ToMath().visit(parsed)).splitlines()[0]
        new = "elif" + header[2:] if keyword == "elif" else header
    else:
        new = ast.unparse(_ToMath().visit(ast.parse(stripped)))
    return f"{indent}{new}{comment}"


def _split_comment(line: str) -> tuple[str, str]:
    """The code of ``line`` and its trailing comment (with the spaces before it)."""
    if "#" not in line:
        return line, ""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return line, ""
    for token in tokens:
        if token.type == tokenize.COMMENT:
            offset = len(line) - len(line.lstrip())
            start = offset + token.start[1]
            code = line[:start].rstrip()
            return code, line[len(code) :]
    return line, ""


class _ToMath(ast.NodeTransformer):
    """``np.sin(x)`` -> ``math.sin(x)``; ``a ** b`` -> ``math.pow(a, b)`` unless ``b`` is an
    int literal."""

    def visit_Call(self, node: ast.Call) -> ast.expr:  # noqa: N802 - ast's visitor name
        self.generic_visit(node)
        function = node.func
        if not isinstance(function, ast.Attribute) or not _is_name(function.value, "np"):
            return node
        spelled = MATH_FUNCTIONS.get(function.attr)
        if not node.keywords and spelled is not None and _holds_its_own(spelled):
            node.func = ast.parse(spelled, mode="eval").body
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:  # noqa: N802 - ast's visitor name
        self.generic_visit(node)
        if not isinstance(node.op, ast.Pow) or _is_int_literal(node.right):
            return node
        if not _holds_its_own("math.pow"):
            return node
        power = ast.parse("math.pow", mode="eval").body
        return ast.Call(power, [node.left, node.right], [])


def _holds_its_own(spelled: str) -> bool:
    """Whether ``math.exp`` (or the builtin ``abs``) is Python's own function, not one the
    user put in its place (``math.exp = my_exp``): generated code would call that one."""
    module, _, name = spelled.rpartition(".")
    held = getattr(math if module == "math" else builtins, name, None)
    return type(held) is types.BuiltinFunctionType and held.__name__ == name


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _is_int_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


def fallback_call(name: str, arguments: list[str], floats: set[str]) -> list[str]:
    """The checked function's last lines: the math body, and on a domain error or overflow
    the NumPy body on NumPy floats (``floats``: the arguments that are floats), whose
    arithmetic gives NumPy's nan and inf where Python's raises (``1.0 / 0.0``)."""
    as_numpy = [f"np.float64({a})" if a in floats else a for a in arguments]
    return [
        "    try:",
        f"        return {name}_math({', '.join(arguments)})",
        f"    except {FALLBACK_ERRORS}:  # math raises where NumPy gives nan or inf",
        f"        return {name}_unchecked({', '.join(as_numpy)})",
    ]
