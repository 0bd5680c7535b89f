"""Nested containers (tuples, lists, dicts) of values, flattened to a list of leaves.

Arguments, gradients and auxiliary outputs are such trees; a ``TreeDef`` records the
structure so that a flat list of leaves can be put back into it.
"""

from __future__ import annotations

from typing import NamedTuple


class TreeDef(NamedTuple):
    """The structure of a tree: ``kind`` is ``leaf``, ``tuple``, ``list`` or ``dict``.
    (A named tuple rather than a dataclass: trees are flattened on every call.)"""

    kind: str
    children: tuple = ()
    keys: tuple = ()

    @property
    def n_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(child.n_leaves for child in self.children)


LEAF = TreeDef("leaf")


def flatten(tree: object) -> tuple[list, TreeDef]:
    """The leaves of ``tree`` in order, and its structure."""
    leaves: list = []
    return leaves, _flatten_into(tree, leaves)


def _flatten_into(tree: object, leaves: list) -> TreeDef:
    kind = type(tree)
    if kind is list or (kind is tuple and not hasattr(tree, "_fields")):
        return TreeDef(kind.__name__, tuple([_flatten_into(item, leaves) for item in tree]))
    if kind is not dict and not isinstance(tree, (tuple, list, dict)):
        leaves.append(tree)
        return LEAF
    if isinstance(tree, (tuple, list)) and not _is_namedtuple(tree):
        children = tuple(_flatten_into(item, leaves) for item in tree)
        return TreeDef(type(tree).__name__, children)
    if isinstance(tree, dict):
        keys = tuple(tree)
        children = tuple(_flatten_into(tree[key], leaves) for key in keys)
        return TreeDef("dict", children, keys)
    leaves.append(tree)
    return LEAF


def _is_namedtuple(value: object) -> bool:
    return isinstance(value, tuple) and hasattr(value, "_fields")


def unflatten(treedef: TreeDef, leaves: list) -> object:
    """Put ``leaves`` back into the structure ``treedef``."""
    iterator = iter(leaves)
    return _build(treedef, iterator)


def _build(treedef: TreeDef, leaves) -> object:
    if treedef.kind == "leaf":
        return next(leaves)
    items = [_build(child, leaves) for child in treedef.children]
    if treedef.kind == "dict":
        return dict(zip(treedef.keys, items, strict=True))
    return tuple(items) if treedef.kind == "tuple" else items


def leaf_paths(treedef: TreeDef, prefix: tuple = ()) -> list[tuple]:
    """For each leaf, the keys and indices that reach it from the root."""
    if treedef.kind == "leaf":
        return [prefix]
    keys = treedef.keys if treedef.kind == "dict" else range(len(treedef.children))
    paths: list[tuple] = []
    for key, child in zip(keys, treedef.children, strict=True):
        paths.extend(leaf_paths(child, (*prefix, key)))
    return paths
