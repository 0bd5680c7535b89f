"""Which functions and classes are the user's code, which the lowering follows (inlines,
calls the special methods of), and which are libraries', whose functions are primitives or
refused."""

from __future__ import annotations

import inspect
import sys
import types
from typing import TypeGuard

import numpy as np

from srcad.ir.builder import Tracer
from srcad.lower.world import Outside

# Packages whose functions are primitives or refused, never inlined (a user's module may be
# called mathutils or scipy_helpers: the first dotted part must match exactly).
LIBRARY_PACKAGES = frozenset({"numpy", "math", "scipy", "srcad"})
# the standard library's modules (not "__main__", a script's)
STANDARD_LIBRARY = frozenset(sys.stdlib_module_names) - {"__main__"}


def is_user_function(function: object) -> TypeGuard[types.FunctionType]:
    """A Python function of the user's (not NumPy's, SciPy's, srcad's or the standard
    library's: ``enum``'s lookup of a member is run, not lowered)."""
    if not isinstance(function, types.FunctionType):
        return False
    package = (getattr(function, "__module__", "") or "").split(".")[0]
    return package not in LIBRARY_PACKAGES and package not in STANDARD_LIBRARY


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
