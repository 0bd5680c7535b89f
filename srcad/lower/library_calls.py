"""Library functions called on what the lowering knows when compiling: which run then, and
which would read state the guard cannot check and are refused.

- ``getattr(obj, "name"[, default])`` and ``hasattr(obj, "name")`` of an outside object
  read ``obj.name`` as an attribute read does, on every call; whether the object has the
  attribute becomes a fact the guard checks (``World.has_attribute``).
- Functions of an object's identity and class (``isinstance``, ``id``) run when
  compiling; the object's identity is fixed. ``type(obj)`` of an outside object or a
  dataclass value is its class as an outside object (``type(obj).SCALE`` read on every
  call).
- Any other library function given an outside object (``len(model)``, ``vars(cfg)``) would
  compute, once, from what the object holds when compiling: refused at the user's line.
- A function of a pure module of Python's standard library called on constants
  (``statistics.median`` of a literal list) runs when compiling, rather than being lowered
  line by line; one that cannot be lowered on traced values is refused at the user's call.
- ``sorted``, ``list``, ``len``, ... of a dict see its keys only, which are known when
  compiling even where its values come from data.

Before: ``if hasattr(cfg, "decay"): rate = rate * getattr(cfg, "decay")``
After:  the guard checks ``hasattr(cfg, "decay") is True``; ``cfg.decay`` is read on every
        call like ``cfg.scale``.
"""

from __future__ import annotations

import ast
import sys
import types
from typing import Any, TypeGuard

from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.ir.builder import Tracer
from srcad.ir.world import WorldPath
from srcad.lower.callees import Args, Kwargs, call_leaves
from srcad.lower.context import Lowering
from srcad.lower.expressions import function_as_outside, run_static
from srcad.lower.user_code import is_user_function
from srcad.lower.value_classes import traced_attribute_test, traced_class
from srcad.lower.world import Outside, is_hashable
from srcad.pytree import fields_of, is_namespace

# Modules of the standard library whose functions compute from their arguments only (not
# from the environment, the clock or other state a later call could see changed).
PURE_MODULES = frozenset(
    {"statistics", "collections", "functools", "itertools", "operator", "string", "textwrap"}
    | {"fractions", "decimal", "numbers", "dataclasses", "enum", "copy", "bisect", "heapq"}
)


def is_standard_library_call(function: object, args: Args, kwargs: Kwargs) -> TypeGuard[Any]:
    """A function of a pure module of Python's standard library (``PURE_MODULES``) called
    on values known when compiling (no traced values, no outside objects): run then, not
    lowered line by line. (``os.getenv`` is not run: the environment may change.)"""
    module = standard_library_module(function)
    if module is None or module.split(".")[0] not in PURE_MODULES:
        return False
    return not any(isinstance(v, (Tracer, Outside)) for v in call_leaves(args, kwargs))


def standard_library_module(function: object) -> str | None:
    """The module of Python's standard library a Python function comes from, if it does."""
    if not isinstance(function, types.FunctionType):
        return None
    module = getattr(function, "__module__", "") or ""
    return module if module.split(".")[0] in sys.stdlib_module_names else None


# Functions that see a dict's keys only (``sorted(params)``): the values may come from data.
OF_KEYS = frozenset({sorted, list, tuple, set, frozenset, len, reversed})
# Functions whose result on an object depends only on the object itself (fixed by identity)
# and its class, not on what it holds: called on outside objects when compiling.
OF_IDENTITY = frozenset({isinstance, issubclass, type, id, callable})


def attribute_test(
    lowering: Lowering, function: object, args: Args, kwargs: Kwargs, node: ast.Call
) -> object:
    """``getattr(obj, "name"[, default])`` and ``hasattr(obj, "name")``. Of an outside
    object: read as ``obj.name`` is, on every call; whether it has the attribute is a fact
    the guard checks (``World.has_attribute``). Of an argument (a namespace, a dataclass)
    or a value made in the function: its layout, which the signature fixes, answers."""
    outside, name, *default = args
    if kwargs or len(default) > (function is getattr):
        raise lowering.located(
            SrcadError, f"'{ast.unparse(node)}': give an object and an attribute name", node
        )
    if isinstance(outside, Tracer):
        return traced_attribute_test(lowering, function, outside, name, default, node)
    if isinstance(outside, types.FunctionType) and is_user_function(outside):
        outside = function_as_outside(lowering, outside)  # getattr(f, "scale", 1.0)
    if not isinstance(outside, Outside):
        called: Any = function
        return run_static(lowering, lambda: called(outside, name, *default), node)
    found = lowering.world.has_attribute(outside, name)
    if function is hasattr:
        return found
    if found:
        return lowering.world.attribute(outside, name)
    if default:
        return default[0]
    raise lowering.located(
        SrcadError,
        f"'{ast.unparse(node)}': {outside.path.text} has no attribute {name!r} (the plain "
        "function raises AttributeError here too)",
        node,
    )


def class_of(lowering: Lowering, value: object, node: ast.Call) -> object:
    """``type(obj)``: for an object of the user's class, the class as an outside object, so
    that ``type(obj).SCALE`` is read on every call (and the class's identity checked); for a
    traced value, its class when the code runs (``value_classes``)."""
    if isinstance(value, Tracer):
        return traced_class(lowering, value, node)
    if isinstance(value, Outside):
        return lowering.world.attribute(value, "__class__")
    cls = type(value)
    if fields_of(value) is not None and not is_namespace(value):  # a dataclass argument
        return lowering.world.stage(cls, WorldPath(cls, cls.__name__, (), cls.__qualname__))
    return cls


def refuse_reading_state(
    lowering: Lowering, function: object, args: Args, kwargs: Kwargs, node: ast.Call
) -> None:
    """A library function given an outside object (``len(model)``, ``vars(cfg)``) would
    run when compiling on what the object holds then, which the guard cannot check:
    refused, except for functions of the object's identity and class (``isinstance``)."""
    if is_hashable(function) and function in OF_IDENTITY:
        return
    for value in [*args, *kwargs.values()]:  # a list of objects has its length fixed
        if isinstance(value, Outside) and not isinstance(value.value, types.ModuleType):
            name = getattr(function, "__name__", type(function).__name__)
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(node)}' gives {value.path.text}, a "
                f"{type(value.value).__name__} object, to {name}, which srcad would run once "
                "when compiling, on what the object holds then; read the attributes it "
                "needs in the function (obj.scale), or compute the result outside and pass "
                "it in as an argument",
                node,
            )


def uncached(function: object) -> object:
    """The user's function a ``functools.lru_cache`` or ``functools.cache`` wraps, followed
    as itself: for arguments computed from data (a cache cannot key on them), and for
    arguments known when compiling too, so that what it reads is read on every call (the
    cache run once when compiling froze its value: a global it reads changed, and the
    cache cleared, went unseen)."""
    wrapped = getattr(function, "__wrapped__", None)
    is_cache = type(function).__name__ == "_lru_cache_wrapper"
    if not (is_cache and is_user_function(wrapped)):
        return function
    return wrapped
