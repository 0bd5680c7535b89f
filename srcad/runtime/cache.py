"""The in-memory cache of compiled functions.

Keyed by the user's function (weakly, so that the cache never keeps it alive) and then by
the transformation, its options and the argument signature (structure, shapes, dtypes and
compile-time values). This is the one piece of module-level state that changes after
import; it holds only what can be recomputed.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached(fun: Callable, key: tuple, compile_fn: Callable[[], object]) -> object:
    """The compiled object for ``(fun, key)``, compiling it on first use."""
    per_function = _COMPILED.setdefault(fun, {})
    if key not in per_function:
        per_function[key] = compile_fn()
    return per_function[key]


def clear() -> None:
    """Forget every compiled function (for tests and long-lived sessions)."""
    _COMPILED.clear()
