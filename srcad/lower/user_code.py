"""Which functions and classes are the user's code, which the lowering follows (inlines,
calls the special methods of), and which are libraries', whose functions are primitives or
refused."""

from __future__ import annotations

import inspect
import types
from typing import TypeGuard

import numpy as np

from srcad.ir.builder import Tracer
from srcad.lower.world import Outside

# Packages whose functions are primitives or refused, never inlined (a user's module may be
# called mathutils or scipy_helpers: the first dotted part must match exactly).
LIBRARY_PACKAGES = frozenset({"numpy", "math", "scipy", "srcad"})


def is_user_function(function: object) -> TypeGuard[types.FunctionType]:
    if not isinstance(function, types.FunctionType):
        return False
    module = getattr(function, "__module__", "") or ""
    return module.split(".")[0] not in LIBRARY_PACKAGES


def is_user_module(module: types.ModuleType) -> bool:
    return module.__name__.split(".")[0] not in LIBRARY_PACKAGES


def has_own_method(value: object, name: str) -> bool:
    """Whether ``value`` (an object of the function's, or one from outside) is of a class of
    the user's that defines the special method ``name`` (``__iter__``, ``__float__``)."""
    if isinstance(value, (Tracer, np.ndarray, int, float, list, tuple, dict)):
        return False
    held = value.value if isinstance(value, Outside) else value
    found = inspect.getattr_static(type(held), name, None)
    return is_user_function(found)
