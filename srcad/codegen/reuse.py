"""Emission rule: a weight gradient written once, into an array the function reuses.

Comes in: the spelling of a backward-pass sum of a fresh matrix product (``h.T @ d`` or
``np.outer(h, d)``) and another elementwise term (``2.0 * c * W``) at the top level of the
function body, for a result of 64 KB or more. Goes out: three statements that allocate
nothing large and pass over the result twice, instead of three fresh megabyte arrays and
five passes. Over a short inner dimension the term is written first and BLAS adds the
product into it; over a longer one NumPy's matmul writes the product first and BLAS adds
the term (``written_once`` says why)::

    before                                       after
    dW1 = 2.0 * dt11 * W1 + np.outer(x, dt1)     dW1 = reused.array("dW1", (784, 256), np.float64)
                                                 np.multiply(2.0 * dt11, W1, out=dW1)
                                                 add_outer(dW1, x, dt1)

    dW1 = x.T @ dt1 (batch 128)                  dW1 = reused.array("dW1", (784, 256), np.float32)
    dW1 += 2.0 * dt12 * W1                       np.matmul(x.T, dt1, out=dW1)
                                                 add_scaled(dW1, 2.0 * dt12, W1)

``reused`` hands out an array of an earlier call only when no one else holds it
(``srcad.runtime.reuse``), so a caller never sees its result change. ``plain_source``
turns these statements back into plain NumPy, line for line (a blank line, ``dW1 = 2.0 *
dt11 * W1``, ``dW1 += np.outer(x, dt1)``), for the array-API variant; the numba variant
keeps the pool (``srcad.backends.numba_reuse``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from srcad.codegen import select
from srcad.codegen.expressions import is_name

POOL = "reused"  # the module's ReusedArrays
ADD_PRODUCT = {"matmul": "add_matmul", "outer": "add_outer"}
ADD_SCALED = "add_scaled"
HELPERS = (POOL, *ADD_PRODUCT.values(), ADD_SCALED)
SHORT_INNER = 32  # a matrix product's inner dimension up to which it is added last
RUNTIME = "srcad.runtime.reuse"


def import_lines(helpers: set[str]) -> list[str]:
    """The module lines a generated function that calls ``helpers`` needs: the runtime's
    import (after the third-party ones) and the module's pool."""
    names = ", ".join(["ReusedArrays", *sorted(helpers)])
    pool = f"{POOL} = ReusedArrays()  # arrays of earlier calls that no one holds any more"
    return ["", f"from {RUNTIME} import {names}", "", pool]


def helpers_called(text: str) -> set[str]:
    """The runtime helpers ``text`` calls."""
    return {helper for helper in HELPERS[1:] if f"{helper}(" in text}


UFUNCS = {ast.Mult: "multiply", ast.Add: "add", ast.Sub: "subtract", ast.Div: "divide"}
FLOAT_DTYPES = {"float32": 4, "float64": 8}  # bytes per item
# Smaller arrays stay plain NumPy: malloc serves them without page faults, and the pass
# saved is a few microseconds (and a small teaching example keeps its one line).
MIN_BYTES = 64 * 1024


@dataclass(frozen=True)
class Product:
    """The product of a sum: ``matmul`` or ``outer``, its two factors as spelled, and its
    inner dimension (a matmul's; 1 for an outer product)."""

    prim: str
    factors: tuple[ast.expr, ast.expr]
    inner: int


def written_once(
    target: str,
    shape: tuple[int, ...],
    dtype: str,
    product: Product,
    other: ast.expr,
    scaled: tuple[ast.expr, ast.expr] | None,
) -> str | None:
    """The statements writing ``target = other + product`` into a reused array, or None
    where the rule does not apply: a small array, or ``other`` not an arithmetic operation
    whose result can be written with ``out=``. ``scaled``: (``c``, ``W``) when ``other`` is
    ``c * W`` with ``c`` a number.

    A product over a short inner dimension (an outer product, a small batch) is added last,
    by BLAS into the array holding ``other`` (``add_outer``, ``add_matmul``); over a longer
    one NumPy writes it first and ``other`` is added (``add_scaled``: BLAS axpy, no
    temporary). Measured at 784x256 in float32: at batch 8 the first order takes 0.69x the
    time of ``h.T @ d + c * W``, at batch 64 the second 0.73x and the first 0.91x."""
    if product.prim not in ADD_PRODUCT or dtype not in FLOAT_DTYPES or len(shape) != 2:
        return None
    if shape[0] * shape[1] * FLOAT_DTYPES[dtype] < MIN_BYTES:
        return None
    u, v = (ast.unparse(factor) for factor in product.factors)
    pooled = f"{target} = {POOL}.array({target!r}, {shape!r}, np.{dtype})"
    if product.prim == "matmul" and product.inner > SHORT_INNER:
        if scaled is not None:
            scale, array = (ast.unparse(part) for part in scaled)
            added = f"{ADD_SCALED}({target}, {scale}, {array})"
        else:
            added = f"{target} += {ast.unparse(other)}"
        return "\n".join([pooled, f"np.matmul({u}, {v}, out={target})", added])
    if not isinstance(other, ast.BinOp) or type(other.op) not in UFUNCS:
        return None
    ufunc = UFUNCS[type(other.op)]
    left, right = ast.unparse(other.left), ast.unparse(other.right)
    written = f"np.{ufunc}({left}, {right}, out={target})"
    return "\n".join([pooled, written, f"{ADD_PRODUCT[product.prim]}({target}, {u}, {v})"])


def plain_source(source: str) -> str:
    """``source`` with ``written_once``'s statements (and ``select``'s calls) in plain NumPy
    and their import and pool lines blank: every statement keeps its first line (and the
    count of lines holds)."""
    if RUNTIME not in source and ", out=" not in source and select.RUNTIME not in source:
        return source
    lines = source.splitlines()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or isinstance(node, _BLOCKS):
            continue
        blank = (node in tree.body and _is_module_line(node)) or _is_pool_statement(node)
        plain = "" if blank else ast.unparse(plain_statement(node))
        if blank or plain != ast.unparse(node):
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
        return node.module in (RUNTIME, select.RUNTIME)
    return isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == POOL


def _is_pool_statement(statement: ast.stmt) -> bool:
    """``dW1 = reused.array(...)``: the next statement makes the array."""
    return isinstance(statement, ast.Assign) and _is_call(statement.value, POOL, "array")


def plain_statement(statement: ast.stmt) -> ast.stmt:
    """``statement`` in plain NumPy when it is one of ``written_once``'s or ``chains``'s or
    calls ``select``'s functions, else itself (a pool statement is left for ``plain_source``
    to blank)."""
    statement = select.plain_selects(statement)  # type: ignore[assignment]
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return statement
    call = statement.value
    target = _out_target(call)
    if target is not None:
        operators = {**{name: op for op, name in UFUNCS.items()}, "matmul": ast.MatMult}
        op = operators.get(call.func.attr) if isinstance(call.func, ast.Attribute) else None
        value: ast.expr = ast.Call(call.func, call.args, [])  # np.tanh(h1, out=h1): chains
        if op is not None and len(call.args) == 2:
            value = ast.BinOp(call.args[0], op(), call.args[1])
        return ast.fix_missing_locations(ast.Assign([_store(target)], value))
    if isinstance(call.func, ast.Name) and call.func.id == ADD_SCALED:
        out, scale, array = call.args
        scaled = ast.BinOp(scale, ast.Mult(), array)
        return ast.fix_missing_locations(ast.AugAssign(_store(out), ast.Add(), scaled))
    for product, helper in ADD_PRODUCT.items():
        if isinstance(call.func, ast.Name) and call.func.id == helper:
            out, u, v = call.args
            added: ast.expr = ast.BinOp(u, ast.MatMult(), v)
            if product == "outer":
                added = ast.Call(_np("outer"), [u, v], [])
            return ast.fix_missing_locations(ast.AugAssign(_store(out), ast.Add(), added))
    return statement


def _out_target(call: ast.Call) -> ast.expr | None:
    """``dW1`` of ``np.multiply(a, b, out=dW1)`` (a NumPy ufunc, or ``np.matmul``), else
    None."""
    function = call.func
    if not (isinstance(function, ast.Attribute) and is_name(function.value, "np")):
        return None
    if not isinstance(getattr(np, function.attr, None), np.ufunc):
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
