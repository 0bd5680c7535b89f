"""What a compile relies on about the derivative rules the user gave (``srcad.defvjp``,
``defjvp``, ``custom_vjp``): how many were given, and what the user's rule functions read
from outside themselves.

A rule runs when compiling, on traced values, as srcad's own rules do: a global or a
closed-over number or array it reads enters the generated code as the value it had then.
The compile relies on each such value (checked on every call; a change compiles again), on
the functions the rule calls (their identity and their code) and on the count of rules given
(a rule given later, or given again, compiles again). A compile that inlined a function of
the user's relies on the count too: that function may be given a rule later.

Before:  SCALE = 2.0; bwd = lambda res, g: (SCALE * g,)   # the rule reads SCALE
After:   the guard checks ``main_globals["SCALE"] == 2.0`` on every call
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator

import numpy as np

from srcad.frontend.parse import globals_name
from srcad.ir.prims import Prim
from srcad.ir.table import registry
from srcad.ir.world import WorldPath
from srcad.lower.user_code import is_user_function, is_user_module
from srcad.lower.world import FIXED_VALUES, World

# in the registry module's namespace, a root the disk cache can find in another process
COUNT = WorldPath(
    vars(registry),
    "srcad_registry",
    (("item", "REGISTRATIONS"), ("attr", "count")),
    "the rules given",
)
# values a rule may read whose equality a guard checks cheaply: the ints and strings the
# world fixes, and the floats and arrays it would otherwise read on every call
COMPARED = (*FIXED_VALUES, float, np.generic, np.ndarray)
# values used for what they are: their identity is what a rule relies on
IDENTIFIED = (type, types.BuiltinFunctionType, np.ufunc)


def rely_on_registrations(world: World) -> None:
    """The compile relies on the rules given so far (see the module docstring)."""
    world.fix(registry.REGISTRATIONS.count, COUNT, "equal")


def rely_on_user_rules(world: World, prim: Prim) -> None:
    """The compile relies on what the rules of ``prim``, a function of the user's given a
    rule, read from outside: for each, the fact the guard checks."""
    rely_on_registrations(world)
    seen: list[types.FunctionType] = []
    for _, functions in prim.user_rules:
        for function in functions:
            _rely_on_function(world, function, seen)


def _rely_on_function(world: World, function: object, seen: list) -> None:
    if not is_user_function(function) or any(function is done for done in seen):
        return
    seen.append(function)
    world.lowers(function)  # a reload that changes its code compiles again
    code, namespace = function.__code__, function.__globals__
    attributes = set(_names(code))
    for name in attributes & set(namespace):
        path = WorldPath(namespace, globals_name(namespace), (("item", name),), name)
        _rely_on_value(world, namespace[name], path, attributes, seen)
    for name, cell in zip(code.co_freevars, function.__closure__ or (), strict=True):
        try:
            value = cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue
        path = WorldPath(cell, name, (("attr", "cell_contents"),), name)
        _rely_on_value(world, value, path, attributes, seen)


def _rely_on_value(
    world: World, value: object, path: WorldPath, attributes: set[str], seen: list
) -> None:
    """The fact about one value a rule reads: equal for numbers, arrays and containers of
    them, identical for functions, classes and other objects (and their attributes the
    rule's code names, once)."""
    if isinstance(value, COMPARED):
        world.fix(value, path, "equal")
    elif isinstance(value, (tuple, list, dict)):
        world.fix(copy.deepcopy(value), path, "equal")
    elif isinstance(value, types.FunctionType):
        world.fix(value, path)
        _rely_on_attributes(world, value, path, attributes & set(vars(value)))  # leaky.alpha
        _rely_on_function(world, value, seen)
    elif isinstance(value, types.ModuleType) and not is_user_module(value):
        world.fix(value, path)  # np, scipy.special: used for their functions
    elif isinstance(value, IDENTIFIED):
        world.fix(value, path)
    else:  # an object or a module of the user's: cfg.scale
        world.fix(value, path)
        _rely_on_attributes(world, value, path, attributes)


_ABSENT = object()


def _rely_on_attributes(world: World, value: object, path: WorldPath, names: set[str]) -> None:
    """The numbers and arrays among ``value``'s attributes ``names``: compared."""
    for name in sorted(names):
        found = getattr(value, name, _ABSENT)  # a name the rule uses elsewhere (f1 of f1(a))
        if found is not _ABSENT and isinstance(found, COMPARED):
            world.fix(found, path.child("attr", name, f"{path.text}.{name}"), "equal")


def _names(code: types.CodeType) -> Iterator[str]:
    """The global and attribute names ``code`` and the code nested in it (lambdas,
    comprehensions) use."""
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _names(constant)
