"""The in-memory cache of compiled functions.

Keyed by the user's function (weakly, so that the cache never keeps it alive) and then by
the transformation, its options and the argument signature (structure, shapes, dtypes and
compile-time values). This is the one piece of module-level state that changes after
import; it holds only what can be recomputed.

Compiling is serialized by one re-entrant lock: two threads asking for the same function at
once get one compile and the same object, and a compile that compiles another one inside
(``grad(grad(f))`` compiles ``grad(f)``) takes the lock again in the same thread. Looking up
a compiled function that is current takes no lock.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_COMPILING = threading.RLock()


def cached(fun: Callable, key: tuple, compile_fn: Callable[[], object]) -> object:
    """The compiled object for ``(fun, key)``, compiling it on first use, and again when
    what it fixed about the world outside the function has changed (its ``is_current``)."""
    per_function = _COMPILED.get(fun)
    compiled = per_function.get(key) if per_function is not None else None
    if compiled is not None and compiled.is_current():
        return compiled
    with _COMPILING:
        per_function = _COMPILED.setdefault(fun, {})
        compiled = per_function.get(key)  # another thread may have compiled it meanwhile
        if compiled is None or not compiled.is_current():
            compiled = per_function[key] = compile_fn()
    return compiled


def clear() -> None:
    """Forget every compiled function (for tests and long-lived sessions)."""
    with _COMPILING:
        _COMPILED.clear()
