"""The registry the table fills: primitives by name (``PRIMS``) and by the Python objects a
user may call for them (``CALLABLES``: ``np.exp``, ``math.exp``, ``abs``, ``np.linalg.inv``).

The table is filled at import time and only read afterwards (users' own rules add to it,
see ``srcad.api.custom``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from srcad.ir.primitive import Prim

PRIMS: dict[str, Prim] = {}
CALLABLES: dict[object, str] = {}

# Domains (see ``Prim.domain``) that several families share.
POSITIVE = (0.2, 3.0)
UNIT = (-0.9, 0.9)


def register(prim: Prim, *aliases: object) -> None:
    """Add ``prim`` to the table, reached by its function and by ``aliases``."""
    PRIMS[prim.name] = prim
    for target in (prim.fn, *aliases):
        CALLABLES[target] = prim.name


def prim_of(target: object) -> Prim | None:
    """The primitive a callable stands for, or None."""
    try:
        name = CALLABLES.get(target)
    except TypeError:  # unhashable callables are never primitives
        return None
    return PRIMS[name] if name else None


def optional_module(name: str) -> ModuleType | None:
    """The module ``name``, or None where it is not installed: the families of optional
    libraries (SciPy) register their rows only when it is there."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
