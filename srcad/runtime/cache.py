"""The in-memory cache of compiled functions.

Keyed by the user's function, then by the transformation, its options and the argument
signature (structure, shapes, dtypes and compile-time values). This is the one piece of
module-level state that changes after import; it holds only what can be recomputed. A
compile refers to its function (its guard checks it), so the cache keeps the
``MAX_FUNCTIONS`` functions used last and forgets the others: a training loop that makes a
new ``functools.partial(loss, X=batch)`` or lambda on every step would otherwise keep every
batch alive (a function forgotten and used again compiles again, or loads from disk).

Compiling is serialized by one re-entrant lock: two threads asking for the same function at
once get one compile and the same object, and a compile that compiles another one inside
(``grad(grad(f))`` compiles ``grad(f)``) takes the lock again in the same thread. Looking up
a compiled function that is current takes no lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

MAX_FUNCTIONS = 16  # a live transformed function keeps its own compiles besides
_COMPILED: OrderedDict[object, dict] = OrderedDict()  # function -> key -> compiled, last used last
_COMPILING = threading.RLock()


def cached(fun: Callable, key: tuple, compile_fn: Callable[[], object]) -> object:
    """The compiled object for ``(fun, key)``, compiling it on first use, and again when
    what it fixed about the world outside the function has changed (its ``is_current``)."""
    per_function = _COMPILED.get(fun)
    compiled = per_function.get(key) if per_function is not None else None
    if compiled is not None and compiled.is_current():
        try:
            _COMPILED.move_to_end(fun)  # used last: forgotten last
        except KeyError:
            pass  # another thread's compile forgot it meanwhile
        return compiled
    with _COMPILING:
        per_function = _COMPILED.setdefault(fun, {})
        _COMPILED.move_to_end(fun)
        compiled = per_function.get(key)  # another thread may have compiled it meanwhile
        if compiled is None or not compiled.is_current():
            compiled = per_function[key] = compile_fn()
        while len(_COMPILED) > MAX_FUNCTIONS:
            _COMPILED.popitem(last=False)
    return compiled


def clear() -> None:
    """Forget every compiled function (for tests and long-lived sessions)."""
    with _COMPILING:
        _COMPILED.clear()
