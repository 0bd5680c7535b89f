"""Frontend: the nodes of a syntax tree, in one pass, for the analyses that look at them all.

``ast.walk`` visits every node through two generators per node and also yields the
``Load``/``Store`` markers of each name; the analyses here ask which names, calls and
statements a tree holds, many times per compile. ``nodes`` lists the same nodes (less the
markers) in about half the time, and ``own_nodes`` those of one scope::

    nodes(ast.parse("y = f(x)"))      # [Module, Assign, Name y, Call, Name f, Name x]
    own_nodes(function, NESTED)       # its body's nodes, not those inside inner functions
"""

from __future__ import annotations

import ast


def nodes(tree: ast.AST) -> list[ast.AST]:
    """``tree`` and every node under it, breadth first as ``ast.walk`` (not the
    ``ast.Load``/``ast.Store``/``ast.Del`` markers)."""
    found = [tree]
    for node in found:  # grows while it is read
        _add_children(node, found)
    return found


def own_nodes(scope: ast.AST, nested: tuple[type, ...]) -> list[ast.AST]:
    """The nodes under ``scope`` (not itself), without going into nodes of the ``nested``
    types (which are listed, their insides not)."""
    found: list[ast.AST] = []
    _add_children(scope, found)
    for node in found:
        if not isinstance(node, nested):
            _add_children(node, found)
    return found


def children(node: ast.AST) -> list[ast.AST]:
    """The nodes right under ``node`` (``ast.iter_child_nodes``, less the markers)."""
    found: list[ast.AST] = []
    _add_children(node, found)
    return found


def _add_children(node: ast.AST, found: list[ast.AST]) -> None:
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST) and not isinstance(value, ast.expr_context):
            found.append(value)
