"""The registry the table fills: primitives by name (``PRIMS``) and by the Python objects a
user may call for them (``CALLABLES``: ``np.exp``, ``math.exp``, ``abs``, ``np.linalg.inv``).

The table is filled at import time and only read afterwards (users' own rules add to it,
see ``srcad.api.custom``), with one exception: the families of optional libraries (SciPy)
are registered when their module is first imported, not by srcad. ``when_imported`` keeps
them until then, and a lookup that misses (``prim_of``) or ``load_deferred`` registers the
families whose module the user's code has imported since::

    when_imported("scipy.special", register_rows)  # now if imported, else on a later lookup

so ``import srcad`` never imports SciPy, and a function that calls ``scipy.special.expit``
finds its row (the user's module imported SciPy before srcad lowered that call).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from srcad.ir.primitive import Prim, call_primitive  # noqa: F401  (rules call it from here)

PRIMS: dict[str, Prim] = {}
CALLABLES: dict[object, str] = {}


@dataclass
class Registrations:
    """How many rules the user has given (``srcad.defvjp``, ``defjvp``, ``custom_vjp``). A
    compile that inlined the user's functions or called one with a rule relies on the count:
    a rule given later, or given again, makes it compile again."""

    count: int = 0


REGISTRATIONS = Registrations()
# module name -> the functions that register its families, waiting for its import
DEFERRED: dict[str, list[Callable[[ModuleType], None]]] = {}

# Domains (see ``Prim.domain``) that several families share.
POSITIVE = (0.2, 3.0)
UNIT = (-0.9, 0.9)


def register(prim: Prim, *aliases: object) -> None:
    """Add ``prim`` to the table, reached by its function and by ``aliases``."""
    PRIMS[prim.name] = prim
    for target in (prim.fn, *aliases):
        CALLABLES[target] = prim.name


def alias(target: object, name: str) -> None:
    """``target`` stands for the row ``name`` (``scipy.special.expm1`` for NumPy's)."""
    CALLABLES[target] = name


def prim_of(target: object) -> Prim | None:
    """The primitive a callable stands for, or None."""
    try:
        name = CALLABLES.get(target)
    except TypeError:  # unhashable callables are never primitives
        return None
    if name is None and load_deferred():
        name = CALLABLES.get(target)
    return PRIMS[name] if name else None


def when_imported(module: str, register_family: Callable[[ModuleType], None]) -> None:
    """Call ``register_family(module)`` once ``module`` is imported: now if it is, else at
    the first lookup after (see the module docstring). Families of one module are
    registered in the order they were given (the rows before their rules)."""
    if sys.modules.get(module) is not None:
        register_family(sys.modules[module])
    else:
        DEFERRED.setdefault(module, []).append(register_family)


def load_deferred() -> bool:
    """Register the waiting families of every module imported by now; whether there were
    any."""
    ready = [module for module in DEFERRED if sys.modules.get(module) is not None]
    for module in ready:
        for register_family in DEFERRED.pop(module, []):
            register_family(sys.modules[module])
    return bool(ready)


def optional_module(name: str) -> ModuleType | None:
    """The module ``name``, or None where it is not installed. This imports it: families
    of optional libraries register with ``when_imported`` instead."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
