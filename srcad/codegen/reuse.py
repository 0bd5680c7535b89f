"""Emission rule: a weight gradient written once, into an array the function reuses.

Comes in: the spelling of a backward-pass sum of a fresh matrix product (``h.T @ d`` or
``np.outer(h, d)``) and another elementwise term (``2.0 * c * W``) at the top level of the
function body. Goes out: three statements that allocate nothing large and pass over the
result twice (a scaled copy, then BLAS adding the product in place), instead of three
fresh megabyte arrays and five passes::

    before                                       after
    dW1 = 2.0 * dt11 * W1 + np.outer(x, dt1)     dW1 = reused.array("dW1", (784, 256), np.float64)
                                                 np.multiply(2.0 * dt11, W1, out=dW1)
                                                 add_outer(dW1, x, dt1)

``reused`` hands out an array of an earlier call only when no one else holds it
(``srcad.runtime.reuse``), so a caller never sees its result change. ``plain_source``
turns these statements back into plain NumPy (a blank line, ``dW1 = 2.0 * dt11 * W1``,
``dW1 += np.outer(x, dt1)``) for the variants spelled from the NumPy source (numba, array
API), line for line.
"""

from __future__ import annotations

import ast

POOL = "reused"  # the module's ReusedArrays
ADD_PRODUCT = {"matmul": "add_matmul", "outer": "add_outer"}
HELPERS = (POOL, *ADD_PRODUCT.values())
RUNTIME = "srcad.runtime.reuse"
IMPORT_LINES = (
    f"from {RUNTIME} import ReusedArrays, {', '.join(sorted(ADD_PRODUCT.values()))}",
    "",
    f"{POOL} = ReusedArrays()  # arrays of earlier calls that no one holds any more",
)
UFUNCS = {ast.Mult: "multiply", ast.Add: "add", ast.Sub: "subtract", ast.Div: "divide"}
FLOAT_DTYPES = {"float32": 4, "float64": 8}  # bytes per item
# Smaller arrays stay plain NumPy: malloc serves them without page faults, and the pass
# saved is a few microseconds (and a small teaching example keeps its one line).
MIN_BYTES = 64 * 1024


def written_once(
    target: str,
    shape: tuple[int, ...],
    dtype: str,
    product: str,
    factors: tuple[ast.expr, ast.expr],
    other: ast.expr,
) -> str | None:
    """The statements writing ``target = other + <product>(*factors)`` into a reused array,
    or None where the rule does not apply: a small array, or ``other`` not an arithmetic
    operation whose result can be written with ``out=``."""
    if product not in ADD_PRODUCT or dtype not in FLOAT_DTYPES or len(shape) != 2:
        return None
    if shape[0] * shape[1] * FLOAT_DTYPES[dtype] < MIN_BYTES:
        return None
    if not isinstance(other, ast.BinOp) or type(other.op) not in UFUNCS:
        return None
    ufunc = UFUNCS[type(other.op)]
    left, right = ast.unparse(other.left), ast.unparse(other.right)
    u, v = (ast.unparse(factor) for factor in factors)
    return "\n".join(
        [
            f"{target} = {POOL}.array({target!r}, {shape!r}, np.{dtype})",
            f"np.{ufunc}({left}, {right}, out={target})",
            f"{ADD_PRODUCT[product]}({target}, {u}, {v})",
        ]
    )


def plain_source(source: str) -> str:
    """``source`` with ``written_once``'s statements in plain NumPy and its import and pool
    lines blank: every statement keeps its first line (and the count of lines holds)."""
    if RUNTIME not in source:
        return source
    lines = source.splitlines()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or isinstance(node, _BLOCKS):
            continue
        is_module_line = node in tree.body and _is_module_line(node)
        plain = "" if is_module_line else ast.unparse(plain_statement(node))
        plain = "" if plain == "pass" else plain
        if is_module_line or plain != ast.unparse(node):
            assert node.end_lineno is not None
            indent = " " * node.col_offset if plain else ""
            lines[node.lineno - 1 : node.end_lineno] = [indent + plain] + [""] * (
                node.end_lineno - node.lineno
            )
    return "\n".join(lines) + "\n"


_BLOCKS = (ast.FunctionDef, ast.If, ast.For, ast.While, ast.With, ast.Try)


def _is_module_line(node: ast.stmt) -> bool:
    """The import of the runtime helpers or the line making the module's pool."""
    if isinstance(node, ast.ImportFrom):
        return node.module == RUNTIME
    return isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == POOL


def plain_statement(statement: ast.stmt) -> ast.stmt:
    """``statement`` in plain NumPy when it is one of ``written_once``'s, else itself."""
    if isinstance(statement, ast.Assign) and _is_call(statement.value, POOL, "array"):
        return ast.Pass()  # the next statement makes the array
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return statement
    call = statement.value
    target = _out_target(call)
    if target is not None and len(call.args) == 2:
        op = next(op for op, name in UFUNCS.items() if _is_call(call, "np", name))
        value = ast.BinOp(call.args[0], op(), call.args[1])
        return ast.fix_missing_locations(ast.Assign([_store(target)], value))
    for product, helper in ADD_PRODUCT.items():
        if isinstance(call.func, ast.Name) and call.func.id == helper:
            out, u, v = call.args
            added: ast.expr = ast.BinOp(u, ast.MatMult(), v)
            if product == "outer":
                added = ast.Call(_np("outer"), [u, v], [])
            return ast.fix_missing_locations(ast.AugAssign(_store(out), ast.Add(), added))
    return statement


def _out_target(call: ast.Call) -> ast.expr | None:
    """``dW1`` of ``np.multiply(a, b, out=dW1)`` (one of ``UFUNCS``), else None."""
    if not any(_is_call(call, "np", name) for name in UFUNCS.values()):
        return None
    return next((k.value for k in call.keywords if k.arg == "out"), None)


def _is_call(node: ast.AST, owner: str, attribute: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and (node.func.value.id, node.func.attr) == (owner, attribute)
    )


def _np(attribute: str) -> ast.Attribute:
    return ast.Attribute(ast.Name("np", ast.Load()), attribute, ast.Load())


def _store(target: ast.expr) -> ast.Name:
    assert isinstance(target, ast.Name)
    return ast.Name(target.id, ast.Store())
