"""Weight gradients written into reused arrays, and arrays written in place, in the numba
variant.

Comes in: the NumPy source of a generated module whose body writes weight gradients with
``srcad.codegen.reuse``'s statements. Goes out: the same source in which the arrays are
taken from the pool before the compiled core runs (the pool is Python: the statements move
to the top of the body, where the numba variant's Python wrapper runs them and passes the
arrays in), and the writes are spelled for numba::

    dW1 = reused.array("dW1", (784, 256), np.float64)    (moved to the top of the body)
    np.multiply(2.0 * dt11, W1, out=dW1)            ->   np.multiply(2.0 * dt11, W1, dW1)
    add_outer(dW1, x, dt1)                          ->   add_outer_compiled(dW1, x, dt1)
    np.matmul(x.T, dt1, out=dW1)                    ->   np.dot(x.T, dt1, dW1)
    np.tanh(h1, out=h1)                             ->   np.tanh(h1, h1)
    add_scaled(dW1, 2.0 * dt11, W1)                 ->   add_scaled_compiled(dW1, 2.0 * dt11, W1)
    add_matmul(dW1, h.T, d)                         ->   dW1 += h.T @ d

``add_outer_compiled`` and ``add_scaled_compiled`` are loops compiled with the body
(``HELPERS``): no temporary array, so nothing large is allocated on a call. numba gives an
array argument it returns back as the same object, so the pool sees who holds it.
"""

from __future__ import annotations

import ast

import numpy as np

from srcad.codegen.reuse import ADD_PRODUCT, ADD_SCALED, POOL

# Loops over arrays whose shapes each helper checks first: no bounds check inside.
HELPER_OPTIONS = 'cache=True, error_model="numpy"'
COMPILED = {ADD_PRODUCT["outer"]: "add_outer_compiled", ADD_SCALED: "add_scaled_compiled"}
HELPERS = {
    "add_outer_compiled": [
        "def add_outer_compiled(out, u, v):",
        '    """out += np.outer(u, v), in place."""',
        "    u, v = np.ravel(u), np.ravel(v)",
        "    if (u.size, v.size) != out.shape:",
        '        raise ValueError("add_outer_compiled: the shapes do not match")',
        "    for i in range(out.shape[0]):",
        "        ui = u[i]",
        "        for j in range(out.shape[1]):",
        "            out[i, j] += ui * v[j]",
    ],
    "add_scaled_compiled": [
        "def add_scaled_compiled(out, scale, array):",
        '    """out += scale * array, in place."""',
        "    if array.shape != out.shape:",
        '        raise ValueError("add_scaled_compiled: the shapes do not match")',
        "    scale = np.full(1, scale, out.dtype)[0]  # in the array's precision, as NumPy",
        "    for i in range(out.shape[0]):",
        "        for j in range(out.shape[1]):",
        "            out[i, j] += scale * array[i, j]",
    ],
}


def pooled_arrays_first(source: str, body_name: str) -> tuple[str, set[str]]:
    """``source`` with the body's pool statements first and its writes spelled for numba;
    the ``HELPERS`` it calls."""
    tree = ast.parse(source)
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == body_name)
    lines = source.splitlines()
    pooled: list[str] = []
    helpers: set[str] = set()
    for statement in ast.walk(body):
        if not isinstance(statement, (ast.Assign, ast.Expr)) or statement is body.body[0]:
            continue
        assert statement.end_lineno is not None
        text = ast.unparse(statement)
        if is_pool_statement(statement):
            pooled.append(f"{' ' * statement.col_offset}{text}")
            new = ""
        else:
            spelled = _for_numba(statement, helpers)
            if spelled is None:
                continue
            new = " " * statement.col_offset + spelled
        first, last = statement.lineno - 1, statement.end_lineno - 1
        lines[first : last + 1] = [new] + [""] * (last - first)
    if pooled:
        top = docstring_end(body)
        lines[top:top] = pooled
    return "\n".join(lines) + "\n", helpers


def is_pool_statement(statement: ast.stmt) -> bool:
    """``dW1 = reused.array(...)``."""
    if not isinstance(statement, ast.Assign) or not isinstance(statement.value, ast.Call):
        return False
    function = statement.value.func
    return (
        isinstance(function, ast.Attribute)
        and isinstance(function.value, ast.Name)
        and (function.value.id, function.attr) == (POOL, "array")
    )


def _for_numba(statement: ast.stmt, helpers: set[str]) -> str | None:
    """The numba spelling of one of the writes, or None for any other statement."""
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return None
    call = statement.value
    function = call.func
    args = [ast.unparse(a) for a in call.args]
    out = next((ast.unparse(k.value) for k in call.keywords if k.arg == "out"), None)
    if isinstance(function, ast.Attribute) and out is not None:
        if function.attr == "matmul" and len(args) == 2:
            return f"np.dot({args[0]}, {args[1]}, {out})"
        if isinstance(getattr(np, function.attr, None), np.ufunc):  # numba: out positional
            return f"np.{function.attr}({', '.join(args)}, {out})"
        return None
    if not isinstance(function, ast.Name):
        return None
    if function.id in COMPILED:
        helpers.add(COMPILED[function.id])
        return f"{COMPILED[function.id]}({', '.join(args)})"
    if function.id == ADD_PRODUCT["matmul"]:
        return f"{args[0]} += {args[1]} @ {args[2]}"
    return None


def docstring_end(body: ast.FunctionDef) -> int:
    """The last line (1-based) of the ``def`` and its docstring: the 0-based index of the
    line after them."""
    first = body.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return first.end_lineno or first.lineno
    return body.lineno


def helper_lines(names: set[str]) -> list[str]:
    lines: list[str] = []
    for name in sorted(names):
        lines += ["", "", f"@numba.njit({HELPER_OPTIONS})", *HELPERS[name]]
    return lines
