"""Nested containers of values, flattened to a list of leaves.

Containers are tuples, lists, dicts (any hashable key), NamedTuples and dataclass
instances (their fields, in order; registered automatically, as JAX users register theirs),
namespaces (``types.SimpleNamespace``, ``argparse.Namespace``) and objects of the user's own
classes (a config, a model holding its arrays): their attributes, in the order they were set.
Everything else is a leaf. Arguments, gradients and auxiliary outputs are such trees; a
``TreeDef`` records the structure so that a flat list of leaves can be put back into it.
"""

from __future__ import annotations

import dataclasses
import enum
import sys
import types
from typing import NamedTuple


class TreeDef(NamedTuple):
    """The structure of a tree: ``kind`` is ``leaf``, ``tuple``, ``list``, ``dict``,
    ``namedtuple`` or ``dataclass``; ``keys`` are a dict's keys or the field names;
    ``node_type`` is the class of a NamedTuple or dataclass.
    (A named tuple rather than a dataclass: trees are flattened on every call.)"""

    kind: str
    children: tuple = ()
    keys: tuple = ()
    node_type: type | None = None

    @property
    def n_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(child.n_leaves for child in self.children)


LEAF = TreeDef("leaf")
CLASS_KINDS = ("namedtuple", "dataclass")


@dataclasses.dataclass(frozen=True)
class Field:
    """A step into a field of a NamedTuple or dataclass (spelled ``.name`` in code)."""

    name: str

    def __str__(self) -> str:
        return self.name


def flatten(tree: object) -> tuple[list, TreeDef]:
    """The leaves of ``tree`` in order, and its structure."""
    leaves: list = []
    return leaves, _flatten_into(tree, leaves, ())


def leaves_of(tree: object) -> tuple:
    """The leaves of ``tree`` in order: what generated code takes from a function of the
    user's that returns a dict, a NamedTuple or nested tuples (a rule of the user's)."""
    return tuple(flatten(tree)[0])


class CyclicTree(ValueError):
    """An object that holds itself through its attributes (a parent link): no tree."""


def _flatten_into(tree: object, leaves: list, within: tuple) -> TreeDef:
    """``within``: the objects of the user's classes being flattened around ``tree``."""
    kind = type(tree)
    if kind is list or kind is tuple:
        children = tuple([_flatten_into(item, leaves, within) for item in tree])
        return TreeDef(kind.__name__, children)
    if kind is dict:
        keys = tuple(tree)
        children = tuple(_flatten_into(tree[key], leaves, within) for key in keys)
        return TreeDef("dict", children, keys)
    fields = fields_of(tree)
    if fields is None:
        if isinstance(tree, (tuple, list, dict)) and not _is_own(tree):  # a subclass: as its base
            return _flatten_into(_as_base(tree), leaves, within)
        leaves.append(tree)
        return LEAF
    if is_plain_object(tree):
        if any(tree is outer for outer in within):
            raise CyclicTree(f"a {kind.__name__} object holds itself through its attributes")
        within = (*within, tree)
    children = tuple(_flatten_into(getattr(tree, name), leaves, within) for name in fields)
    node = "namedtuple" if isinstance(tree, tuple) else "dataclass"
    return TreeDef(node, children, fields, kind)


def fields_of(tree: object) -> tuple[str, ...] | None:
    """The field names of a NamedTuple or dataclass instance; None for anything else
    (srcad's own records, such as the ``AVal`` leaves of an argument signature, are leaves)."""
    if _is_own(tree):
        return None
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return tuple(tree._fields)
    if dataclasses.is_dataclass(tree) and not isinstance(tree, type):
        return tuple(field.name for field in dataclasses.fields(tree))
    if has_open_attributes(tree):
        return tuple(vars(tree))
    return None


def has_open_attributes(tree: object) -> bool:
    """A namespace or an object of the user's class: its fields are the attributes it has
    now, which come and go (a layout is exactly these)."""
    return is_namespace(tree) or is_plain_object(tree)


def is_namespace(tree: object) -> bool:
    """A ``types.SimpleNamespace`` or an ``argparse.Namespace`` (a script's ``args``)."""
    kind = type(tree)
    return kind is types.SimpleNamespace or (
        kind.__name__ == "Namespace" and kind.__module__ == "argparse"
    )


def is_plain_object(tree: object) -> bool:
    """An object of a class the user wrote (not of the standard library or an installed
    package), whose state is its instance attributes: no ``__slots__`` only, no computed
    attribute lookup (``__getattr__``, ``__getattribute__``), not an Enum or an exception."""
    return is_plain_class(type(tree))


def is_plain_class(kind: type) -> bool:
    """Whether objects of ``kind`` are plain objects (``is_plain_object``)."""
    known = _PLAIN_CLASSES.get(kind)
    if known is None:
        known = _PLAIN_CLASSES[kind] = _is_plain_class(kind)
    return known


_PLAIN_CLASSES: dict[type, bool] = {}
# Where installed packages live: their classes are theirs to describe, not plain records.
_INSTALLED = ("site-packages", "dist-packages")


def _is_plain_class(kind: type) -> bool:
    return (
        not is_library_class(kind)
        and not_plain_because(kind) is None
        and all(
            base is object or base.__module__ in NEUTRAL_BASES or not is_library_class(base)
            for base in kind.__mro__
        )
    )


# Modules whose classes a plain class may derive from: they add no state (``abc.ABC``,
# ``typing.Generic``); a subclass of ``dict`` or ``np.ndarray`` is not plain.
NEUTRAL_BASES = ("abc", "typing")


def not_plain_because(kind: type) -> str | None:
    """Why objects of a class of the user's are not trees of their attributes; None where
    they are."""
    if issubclass(kind, (type, enum.Enum, BaseException)):
        return "it is a class, an Enum or an exception"
    if not kind.__dictoffset__:
        return "it keeps its state in __slots__"
    if kind.__getattribute__ is not object.__getattribute__ or hasattr(kind, "__getattr__"):
        return "it computes its attributes (__getattr__ or __getattribute__)"
    return None


def is_library_class(kind: type) -> bool:
    """A class of the standard library, srcad, or an installed package."""
    module_name = str(kind.__module__)
    if module_name.split(".")[0] in (*sys.stdlib_module_names, "builtins", "srcad"):
        return True
    module = sys.modules.get(module_name)
    if module_name == "__main__" or module is None:
        return False  # a script's, a notebook's, code run with exec (installed code is imported)
    location = getattr(module, "__file__", None)
    return not isinstance(location, str) or any(part in location for part in _INSTALLED)


def _is_own(tree: object) -> bool:
    return type(tree).__module__.startswith("srcad.")


def _as_base(tree: object) -> object:
    if isinstance(tree, dict):
        return dict(tree)
    return list(tree) if isinstance(tree, list) else tuple(tree)  # type: ignore[arg-type]


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
    if treedef.kind == "namedtuple":
        return treedef.node_type(*items)  # type: ignore[misc]
    if treedef.kind == "dataclass":
        return _new_dataclass(treedef, items)
    return tuple(items) if treedef.kind == "tuple" else items


def _new_dataclass(treedef: TreeDef, items: list) -> object:
    """An instance with these field values, made without running the class's ``__init__``
    (which may check or convert its arguments: the values may be srcad's tracers)."""
    cls: type = treedef.node_type  # type: ignore[assignment]
    instance = object.__new__(cls) if dataclasses.is_dataclass(cls) else cls.__new__(cls)
    for name, value in zip(treedef.keys, items, strict=True):
        object.__setattr__(instance, name, value)
    return instance


def record(kind: type, **fields: object) -> object:
    """An object of the user's class ``kind`` (a NamedTuple, a dataclass, a plain class)
    holding ``fields``, made without running its ``__init__``: what generated code passes to
    ``print`` where the function made or got one holding computed values."""
    if issubclass(kind, tuple):
        return kind(**fields)
    instance = object.__new__(kind)
    for name, value in fields.items():
        object.__setattr__(instance, name, value)
    return instance


def plain_treedef(treedef: TreeDef) -> TreeDef:
    """The same structure with NamedTuples and dataclasses as tuples (what generated code
    returns; the API gives each result its argument's class back)."""
    if treedef.kind == "leaf":
        return treedef
    children = tuple(plain_treedef(child) for child in treedef.children)
    if treedef.kind in CLASS_KINDS:
        return TreeDef("tuple", children)
    return treedef._replace(children=children)


def has_classes(treedef: TreeDef) -> bool:
    """Whether the structure holds NamedTuples, dataclasses or objects (which generated
    code returns as tuples: ``plain_treedef``)."""
    if treedef.kind in CLASS_KINDS:
        return True
    return any(has_classes(child) for child in treedef.children)


def spelled(name: str, path: tuple) -> str:
    """A leaf's path in an argument as Python spells it: ``cfg.layers[0]['W']``."""
    return name + "".join(f".{step}" if isinstance(step, Field) else f"[{step!r}]" for step in path)


def leaf_paths(treedef: TreeDef, prefix: tuple = ()) -> list[tuple]:
    """For each leaf, the keys, indices and fields (``Field``) that reach it from the root."""
    if treedef.kind == "leaf":
        return [prefix]
    if treedef.kind in CLASS_KINDS:
        keys: object = [Field(name) for name in treedef.keys]
    elif treedef.kind == "dict":
        keys = treedef.keys
    else:
        keys = range(len(treedef.children))
    paths: list[tuple] = []
    for key, child in zip(keys, treedef.children, strict=True):  # type: ignore[call-overload]
        paths.extend(leaf_paths(child, (*prefix, key)))
    return paths
