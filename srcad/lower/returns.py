"""Which statements return: a question about the syntax alone, asked by the lowering of
branches, loops and ``with`` blocks before it lowers them (an ``if`` that returns joins its
branches' results; a loop whose body returns is rewritten first).
"""

from __future__ import annotations

import ast

from srcad.lower.blocks import nested_statements


def contains_return(node: ast.AST) -> bool:
    """Whether ``node`` returns from the function being lowered (a ``return`` inside a nested
    ``def`` returns from that one)."""
    if isinstance(node, ast.Return):
        return True
    return any(
        contains_return(child)
        for child in nested_statements(node)
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )


def body_returns(loop: ast.For | ast.While) -> bool:
    """Whether the body of ``loop`` returns (a ``return`` in its ``else`` ends the function
    after the loop, as any statement after the loop could)."""
    return block_returns(loop.body)


def block_returns(statements: list[ast.stmt]) -> bool:
    """Whether ``statements`` return from the function being lowered."""
    return contains_return(ast.Module(body=statements, type_ignores=[]))


def always_returns(statements: list[ast.stmt]) -> bool:
    """Whether every path through ``statements`` ends with a ``return`` or a ``raise``."""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, (ast.Return, ast.Raise)):
        return True
    if isinstance(last, ast.If):
        return always_returns(last.body) and always_returns(last.orelse)
    if isinstance(last, ast.With):
        return always_returns(last.body)
    return False
