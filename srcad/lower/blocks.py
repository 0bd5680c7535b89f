"""The statements nested in a statement: the blocks of ``if``, ``for``, ``while``, ``with``,
``try``, ``match`` and ``def``, for questions about a function's syntax that only statements
answer (does it return, break, assign a name). Walking these skips the expressions, where
most of a long function's nodes are: ``ast.walk`` visits every one of them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

BLOCK_FIELDS = ("body", "orelse", "finalbody")


def nested_statements(node: ast.AST) -> Iterator[ast.stmt]:
    """The statements of ``node``'s own blocks (one level down), in order."""
    for field in BLOCK_FIELDS:
        block = getattr(node, field, None)
        if isinstance(block, list):
            yield from block
    for handler in getattr(node, "handlers", ()):
        yield from handler.body
    for case in getattr(node, "cases", ()):
        yield from case.body


def all_statements(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """``statements`` and every statement nested in them, at any depth, in order."""
    for statement in statements:
        yield statement
        yield from all_statements(list(nested_statements(statement)))
