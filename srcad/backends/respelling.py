"""Rewriting the values of a generated body's statements in place, line for line: what the
numba variant's respellings (``numba_reductions``, ``numba_spellings``,
``numba_numpy_loops``) share.

Comes in: a module's source, its body function's name and an ``ast.NodeTransformer``. Goes
out: the source in which the value of each assignment, augmented assignment, return and
expression statement of the body, and the condition of each ``if`` and ``while``, is the
transformer's rewrite of it, spelled on the first line it took (the lines after it left
blank, so later line numbers hold).
"""

from __future__ import annotations

import ast


def respelled_values(source: str, body_name: str, rewriter: ast.NodeTransformer) -> str:
    tree = ast.parse(source)
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == body_name)
    lines = source.splitlines()
    for statement in ast.walk(body):
        if isinstance(statement, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)):
            value = statement.value
        elif isinstance(statement, (ast.If, ast.While)):
            value = statement.test  # a loop's or a branch's condition
        else:
            continue
        if value is None or value.end_lineno is None or value.end_col_offset is None:
            continue
        new = ast.unparse(rewriter.visit(copied(value)))
        if new != ast.unparse(value):
            spell_in_place(lines, value, new)
    return "\n".join(lines) + "\n"


def spell_in_place(lines: list[str], node: ast.expr, text: str) -> None:
    """``lines`` with the expression ``node`` spelled ``text``, on the first line it took
    (the lines after it left blank, so later line numbers hold)."""
    assert node.end_lineno is not None and node.end_col_offset is not None
    first, last = node.lineno - 1, node.end_lineno - 1
    head = lines[first].encode()[: node.col_offset].decode()
    tail = lines[last].encode()[node.end_col_offset :].decode()
    lines[first : last + 1] = [head + text + tail] + [""] * (last - first)


def copied(node: ast.expr) -> ast.expr:
    """A fresh tree of ``node`` (a transformer may change what it visits)."""
    return ast.parse(ast.unparse(node), mode="eval").body


def literal_int(node: ast.expr) -> int | None:
    """The value of a literal int, a negative one (``-1``) included."""
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return None
    return value if type(value) is int else None


def operand_arguments(node: ast.Call, names: tuple[str, ...]) -> dict[str, ast.expr] | None:
    """The arguments of ``np.f(a, ...)`` or of the method call ``a.f(...)`` by parameter
    name (``names``, after the array), the array as ``"a"``; None for a starred argument,
    an unknown keyword or one given twice."""
    function = node.func
    if not isinstance(function, ast.Attribute):
        return None
    if isinstance(function.value, ast.Name) and function.value.id == "np":
        return call_arguments(node, ("a", *names))
    given = call_arguments(node, names)
    return None if given is None else {"a": function.value, **given}


def call_arguments(node: ast.Call, names: tuple[str, ...]) -> dict[str, ast.expr] | None:
    """The call's arguments by parameter name; None for a starred one or an unknown name."""
    if len(node.args) > len(names) or any(isinstance(a, ast.Starred) for a in node.args):
        return None
    given = dict(zip(names, node.args, strict=False))
    for keyword in node.keywords:
        if keyword.arg not in names or keyword.arg in given:
            return None
        given[keyword.arg] = keyword.value
    return given
