"""Frontend: the ``else`` block of a loop that has no ``break`` of its own follows the loop.

Python runs a loop's ``else`` block when the loop ends without ``break``. Without a
``break`` that is every way out but ``return`` and exceptions, which skip what follows the
loop as well; so the block can simply follow the loop. The search loop that returns what it
finds and a default otherwise then has the plain early return the lowering follows::

    Before:                                     After:
        for k in range(n):                          for k in range(n):
            if x[k] > limit:                            if x[k] > limit:
                return x[k] ** 2                            return x[k] ** 2
        else:                                       return np.sum(x)
            return np.sum(x)

A loop with a ``break`` (not one of an inner loop's) keeps its ``else`` block, which the
lowering gives a flag.
"""

from __future__ import annotations

import ast

from srcad.frontend.syntax import own_nodes

LOOPS = (ast.For, ast.While)
# whose ``break`` statements are not the loop's own
INNER = (ast.For, ast.While, ast.AsyncFor, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def else_after_loops(function: ast.FunctionDef) -> ast.FunctionDef:
    """``function`` (changed in place) with the ``else`` block of each loop without a
    ``break`` moved after the loop."""
    function.body = _block(function.body)
    return function


def _block(statements: list[ast.stmt]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.append(node)  # its own function: parsed when it is called
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, field, _block(block))
        for handler in getattr(node, "handlers", []):
            handler.body = _block(handler.body)
        out.append(node)
        if isinstance(node, LOOPS) and node.orelse and not _breaks(node):
            out.extend(node.orelse)
            node.orelse = []
    return out


def _breaks(loop: ast.For | ast.While) -> bool:
    """Whether ``loop`` has a ``break`` of its own (not one of a loop inside it)."""
    return any(isinstance(n, ast.Break) for n in _own_nodes(loop))


def _own_nodes(loop: ast.For | ast.While) -> list[ast.AST]:
    """The nodes of ``loop``'s body, not those of functions or loops inside it, except
    the ``else`` blocks of inner loops: a ``break`` there leaves ``loop``."""
    return _nodes_of(loop.body)


def _nodes_of(statements: list[ast.stmt]) -> list[ast.AST]:
    found: list[ast.AST] = []
    for statement in statements:
        found.append(statement)
        if not isinstance(statement, INNER):
            found.extend(own_nodes(statement, INNER))
    for node in list(found):
        if isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
            found.extend(_nodes_of(node.orelse))
    return found
