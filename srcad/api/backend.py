"""The backend a transformation runs its generated code on, seen from ``srcad.api``.

Comes in: a transformation's backend runner (``srcad.backends.backend_runner``: None for
NumPy, a ``NumbaBackend`` for numba), a ``Compiled`` and a call's arguments. Goes out: the
call's result computed on that backend (``run``), the function that computes it since the
first call (``function``), the source a backend runs (``source_for``: NumPy, numba or
array-API), and for numba-compiled code of Python scalars a lean ``__call__``
(``scalar_entry``) that the transformed function takes as its own on later calls:

    def __call__(self, a0=MISSING, a1=MISSING, a2=MISSING, /, *rest, **kwargs):
        if type(a0) is float and type(a1) is float and type(a2) is int and a2 == 2:
            if not rest and not kwargs:
                return entry_point(a0, a1, a2, None)
        given = tuple(a for a in (a0, a1, a2) if a is not MISSING)
        return full_call(self, *given, *rest, **kwargs)

Its conditions are srcad's guard of those arguments (``srcad.runtime.guard.make_guard``
writes the same conditions for Python scalars), followed by the world guard where the compile
read something outside the function; they also fix the types numba compiled for, so the call
goes to numba's compiled entry point without numba's type dispatch. Any other call takes
the transformed function's own path (``full_call``). The parameters are positional-only
(a keyword of the user's named ``a0`` stays a keyword); taking them by position rather than
as ``*args`` saves ~60 ns of a 0.55 us call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from srcad.arrayapi import ArrayApiRunner
from srcad.backends import NumbaBackend
from srcad.pipeline import Compiled
from srcad.runtime.guard import always_current

MISSING = object()  # a lean __call__'s parameter the call did not give


def run(runner: NumbaBackend | None, compiled: Compiled, args: tuple) -> Any:
    """``compiled.fn(*args)``, computed on the backend of ``runner``."""
    if runner is None:
        return compiled.fn(*args)
    return runner.run(compiled, args)


def function(runner: NumbaBackend | None, compiled: Compiled) -> Callable:
    """The function that ``run`` calls for ``compiled`` (after its first call)."""
    return compiled.fn if runner is None else runner.function(compiled)


def source_for(transformed: object, compiled: Compiled, backend: str) -> str:
    """The source that ``backend`` runs for ``compiled``, a compile of ``transformed``: the
    generated NumPy module, its numba variant or its array-API variant (as the transformed
    function's runners run them, or would)."""
    if backend == "numba":
        return (getattr(transformed, "numba", None) or NumbaBackend()).source(compiled)
    if backend == "array_api":  # what runs on CuPy and array-API arrays (srcad.arrayapi)
        return (getattr(transformed, "array_api", None) or ArrayApiRunner()).source(compiled)
    return compiled.source


def scalar_entry(
    runner: NumbaBackend | None,
    compiled: Compiled,
    args: tuple,
    is_whole: bool,
    full_call: Callable,
) -> Callable | None:
    """The lean ``__call__`` (see the module docstring) for calls laid out like ``args``: it
    returns what the generated function returns (``is_whole``, for ``value_and_grad``) or
    its gradients (for ``grad``), as they are, and passes other calls to ``full_call``;
    None unless ``runner`` runs ``compiled`` numba-compiled whole and every argument is a
    Python float, int or bool."""
    found = None if runner is None else runner.entry_point(compiled, args)
    if found is None:
        return None
    entry_point, omitted = found
    names = [f"a{position}" for position in range(len(args))]
    conditions = [c for name, arg in zip(names, args, strict=True) for c in _conditions(name, arg)]
    namespace: dict[str, Any] = {}
    code_only = getattr(compiled.is_current, "only_code", ())
    for k, function in enumerate(code_only):  # the checks inline: a call costs 10 % here
        namespace[f"function_{k}"], namespace[f"code_{k}"] = function, function.__code__
        conditions.append(f"function_{k}.__code__ is code_{k}")
    if compiled.is_current is not always_current and not code_only:
        conditions.append("is_current()")
    call = f"entry_point({', '.join(names + ['None'] * omitted)})"
    parameters = "".join(f"{name}=MISSING, " for name in names)
    source = "\n".join(
        [
            f"def __call__(self, {parameters}/, *rest, **kwargs):",
            f"    if {' and '.join(conditions) or 'True'}:",
            "        if not rest and not kwargs:",
            f"            return {call if is_whole else call + '[1]'}",
            f"    given = tuple(a for a in ({''.join(n + ', ' for n in names)}) if a is not MISSING)",
            "    return full_call(self, *given, *rest, **kwargs)",
            "",
        ]
    )
    namespace |= {
        "entry_point": entry_point,
        "is_current": compiled.is_current,
        "full_call": full_call,
        "MISSING": MISSING,
    }
    exec(compile(source, "<srcad numba entry>", "exec"), namespace)  # noqa: S102
    return namespace["__call__"]


def _conditions(name: str, value: object) -> list[str]:
    """srcad's guard of the Python scalar ``name``: its exact type, and an int's or a
    bool's value (compile-time constants)."""
    if type(value) is bool:
        return [f"{name} is {value!r}"]
    if type(value) is int:
        return [f"type({name}) is int", f"{name} == {value!r}"]
    assert type(value) is float, value
    return [f"type({name}) is float"]
