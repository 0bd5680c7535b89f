"""Lowering ``import`` statements inside the function: the names they bind are read like
globals of the module they come from.

``from scipy.special import logsumexp`` binds ``logsumexp`` to what the module holds under
that name, staged as a global read is (``srcad.lower.world``): a function is fixed when
compiling and checked on every call, a float or float array is read on every call.
``import numpy as np`` binds the module; a module of the user's is read through (its
arrays on every call). Importing happens when compiling, as the plain function's first
call would do; later calls find the module imported.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import types
from typing import TYPE_CHECKING

from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.frontend import globals_name
from srcad.ir.world import WorldPath
from srcad.lower.dispatch import lowers_statement
from srcad.lower.world import LIBRARY_MODULES, Outside

if TYPE_CHECKING:
    from srcad.lower.context import Lowering


@lowers_statement(ast.Import)
def lower_import(lowering: Lowering, node: ast.Import, since: int) -> None:
    for alias in node.names:
        module = _imported(lowering, alias.name, node)
        if alias.asname is None:  # import scipy.special binds scipy
            name = alias.name.partition(".")[0]
            module = _imported(lowering, name, node)
        else:
            name = alias.asname
        lowering.env[name] = _module_value(module, name)


@lowers_statement(ast.ImportFrom)
def lower_import_from(lowering: Lowering, node: ast.ImportFrom, since: int) -> None:
    module = _imported(lowering, _absolute_name(lowering, node), node)
    namespace = vars(module)
    for alias in node.names:
        if alias.name == "*":
            raise lowering.located(
                UnsupportedSyntax,
                "'from ... import *' inside a function is not allowed in Python 3; "
                "import the names you use",
                node,
            )
        if alias.name not in namespace:  # a submodule not imported yet
            _imported(lowering, f"{module.__name__}.{alias.name}", node)
        path = WorldPath(namespace, globals_name(namespace), (("item", alias.name),), alias.name)
        value = namespace[alias.name]
        lowering.env[alias.asname or alias.name] = lowering.world.stage(value, path)


def _imported(lowering: Lowering, name: str, node: ast.stmt) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise lowering.located(
            SrcadError,
            f"'{ast.unparse(node)}' raises {type(error).__name__}: {error} (the plain "
            "function raises here too)",
            node,
        ) from None


def _absolute_name(lowering: Lowering, node: ast.ImportFrom) -> str:
    """The module ``from .x import y`` names, resolved against the function's package."""
    name = node.module or ""
    if not node.level:
        return name
    package = lowering.parsed.globals.get("__package__") or ""
    try:
        return importlib.util.resolve_name("." * node.level + name, package)
    except ImportError as error:
        raise lowering.located(SrcadError, f"'{ast.unparse(node)}': {error}", node) from None


def _module_value(module: types.ModuleType, name: str) -> object:
    """A module as the lowering uses it: a library as it is (never rebound in practice),
    a module of the user's read through on every call."""
    if module.__name__.partition(".")[0] in LIBRARY_MODULES:
        return module
    return Outside(module, WorldPath(module, name, (), name))
