"""The in-memory cache of compiled functions.

Keyed by the user's function, then by the transformation, its options and the argument
signature (structure, shapes, dtypes and compile-time values). A function is told apart by
identity, a bound method by its object and function: two callable objects that compare
equal (NamedTuples of one value, dataclasses compared by a name) are two functions, and one
that cannot be hashed (a plain dataclass) is one all the same. This is the one piece of
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
from types import MethodType

MAX_FUNCTIONS = 16  # a live transformed function keeps its own compiles besides
# function's identity -> (the function, kept alive so that its ids stay its own; key ->
# compiled), used last last
_COMPILED: OrderedDict[tuple, tuple[Callable, dict]] = OrderedDict()
_COMPILING = threading.RLock()


def identity(fun: Callable) -> tuple:
    """What tells ``fun`` apart from other functions: itself, by id (not by ``==``), or for a
    bound method (a new object at each ``model.loss``) its object and function."""
    if isinstance(fun, MethodType):
        return (id(fun.__self__), id(fun.__func__))
    return (id(fun),)


def cached(fun: Callable, key: tuple, compile_fn: Callable[[], object]) -> object:
    """The compiled object for ``(fun, key)``, compiling it on first use, and again when
    what it fixed about the world outside the function has changed (its ``is_current``)."""
    known = identity(fun)
    entry = _COMPILED.get(known)
    compiled = entry[1].get(key) if entry is not None else None
    if compiled is not None and compiled.is_current():
        try:
            _COMPILED.move_to_end(known)  # used last: forgotten last
        except KeyError:
            pass  # another thread's compile forgot it meanwhile
        return compiled
    with _COMPILING:
        per_function = _COMPILED.setdefault(known, (fun, {}))[1]
        _COMPILED.move_to_end(known)
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
