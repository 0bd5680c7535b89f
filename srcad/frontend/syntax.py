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


# fields that hold names, numbers or markers, never nodes: skipping them halves the walk
# (a ``Name`` or ``Constant``, the most common nodes, then has no field to look at)
_SCALAR_FIELDS = frozenset(
    {"id", "arg", "attr", "asname", "conversion", "ctx", "is_async", "kind", "level"}
    | {"lineno", "module", "n", "name", "s", "simple", "tag", "type_comment"}
)
_SCALAR_VALUE = (ast.Constant, ast.MatchSingleton)  # their ``value`` is a Python constant
_NODE_FIELDS: dict[type, tuple[str, ...]] = {}


def _node_fields(kind: type) -> tuple[str, ...]:
    """The fields of ``kind`` that may hold nodes, worked out once per class."""
    fields = _NODE_FIELDS.get(kind)
    if fields is None:
        fields = tuple(
            f
            for f in kind._fields  # type: ignore[attr-defined]
            if f not in _SCALAR_FIELDS and not (f == "value" and issubclass(kind, _SCALAR_VALUE))
        )
        _NODE_FIELDS[kind] = fields
    return fields


def _add_children(node: ast.AST, found: list[ast.AST]) -> None:
    for name in _node_fields(type(node)):
        value = getattr(node, name, None)
        if isinstance(value, list):
            found.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            found.append(value)
