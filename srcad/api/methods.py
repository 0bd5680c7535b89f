"""Transformations of methods: ``@srcad.grad`` (``jacrev``, ``jacfwd``, ``hessian``) on a
method binds ``self`` as a plain function's is bound, and a transformation pickles as what
it computes.

Comes in: a transformation (``srcad.api.grad.Transformed``, ``srcad.api.transforms``'s
``_Jacobian``: ``BOUND_KINDS``) read from an instance, or pickled. Goes out: the
transformation of the method bound to that instance, made once for each of the last
``BOUND_KEPT`` instances (``bound_to``); and the reductions pickle takes: a function of a
module by its qualified name (``found_by_name``), a bound transformation as the class
attribute that made it, bound again and followed down stacked transformations (``reached``:
``getattr(instance, name)`` would give ``super().loss`` the child's, a stacked ``@grad
@grad`` its third derivative), a transformation of a method's own function made again from
it (``rebound``).
"""

from __future__ import annotations

import inspect
import sys
import types
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

BOUND_KEPT = 8  # instances whose bound method's transformation a method decorated keeps


def bound_to(
    transformation: Any, kept: OrderedDict, instance: object, owner: type | None, remake: Callable
) -> Any:
    """``transformation`` (of a method, read from ``instance``) made again by ``remake`` for
    the method bound to ``instance``, once for each of the last ``BOUND_KEPT`` instances
    (``kept``); the transformation itself read from its class or for another callable."""
    binds = getattr(type(transformation.fun), "__get__", None)
    if instance is None or binds is None:
        return transformation
    bound = kept.get(id(instance))
    if bound is not None and _bound_instance(bound.fun) is instance:
        kept.move_to_end(id(instance))
        return bound
    bound = remake(binds(transformation.fun, instance, owner))
    kept[id(instance)] = bound
    while len(kept) > BOUND_KEPT:
        kept.popitem(last=False)
    return bound


def _bound_instance(fun: object) -> object:
    """The instance a bound method (or a transformation of one) is bound to."""
    return getattr(_bound_method(fun), "__self__", None)


def reduced_by_name(transformation: Any) -> str | tuple | None:
    """How pickle finds ``transformation`` again by name: its qualified name where its module
    holds it so (``@srcad.grad`` on a function); for a decorated method bound to an instance,
    the class attribute that made it, bound to the instance again, and the transformations
    it wraps followed down as far (``reached``: a stacked ``@grad @grad``'s inner one, or
    ``super().loss``'s, is not what ``getattr(instance, name)`` gives); None otherwise."""
    if found_by_name(transformation):
        return str(getattr(transformation, "__qualname__"))  # noqa: B009 - update_wrapper's
    owner = _bound_instance(transformation.fun)
    for cls in type(owner).__mro__ if owner is not None else ():
        for name, held in vars(cls).items():  # the attribute whose binding made it
            kept = getattr(held, "_bound", None) if isinstance(held, tuple(BOUND_KINDS)) else None
            made = kept.get(id(owner)) if isinstance(kept, dict) else None
            for depth in range(MAX_STACKED):
                if made is transformation:
                    return (reached, (owner, cls, name, depth))
                made = getattr(made, "fun", None)
    return None


MAX_STACKED = 8  # transformations of transformations followed when pickling a bound one
# the transformations that bind to instances: Transformed, and transforms' _Jacobian
BOUND_KINDS: list[type] = []


def reduced_as_method(transformation: Any, options: tuple) -> tuple | None:
    """For a transformation of a bound method whose function a class holds under a
    transformation (``srcad.grad(model.loss.fun)``): made again from that function, found
    through the class, and bound again (pickle's own ``getattr(instance, name)`` of a bound
    method would give the transformation the class holds); None for anything else."""
    fun = transformation.fun
    if not isinstance(fun, types.MethodType):
        return None
    for cls in type(fun.__self__).__mro__:
        for name, held in vars(cls).items():
            item: object = held
            for depth in range(MAX_STACKED):
                if item is fun.__func__:
                    where = (cls, name, depth, fun.__self__)
                    return (rebound, (type(transformation), where, options))
                item = getattr(item, "fun", None) if isinstance(item, tuple(BOUND_KINDS)) else None
    return None


def rebound(kind: type, where: tuple, options: tuple) -> object:
    """``kind`` (a transformation's class) of the function ``where`` names, bound again:
    what ``reduced_as_method`` pickled."""
    cls, name, depth, owner = where
    function = cls.__dict__[name]
    for _ in range(depth):
        function = function.fun
    return kind(types.MethodType(function, owner), *options)


def reached(owner: object, cls: type, name: str, depth: int) -> object:
    """``cls``'s attribute ``name`` bound to ``owner``, then ``.fun`` ``depth`` times: what
    ``reduced_by_name`` pickled."""
    found = cls.__dict__[name].__get__(owner, cls)
    for _ in range(depth):
        found = found.fun
    return found


def _bound_method(fun: object) -> object:
    """The bound method under a transformation (of transformations) of one."""
    while not hasattr(fun, "__self__") and hasattr(fun, "fun"):
        fun = getattr(fun, "fun")  # noqa: B009 - a transformation's function
    return fun


def found_by_name(transformed: object) -> bool:
    """Whether ``transformed`` is what its module holds under its qualified name (a function
    decorated with ``@srcad.grad``, or a method so decorated read from its class)."""
    found: object = sys.modules.get(getattr(transformed, "__module__", ""), None)
    for part in str(getattr(transformed, "__qualname__", "")).split("."):
        found = inspect.getattr_static(found, part, None) if found is not None else None
    if isinstance(found, (staticmethod, classmethod)):  # @staticmethod over @srcad.grad
        found = found.__func__
    return found is transformed
