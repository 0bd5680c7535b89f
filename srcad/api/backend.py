"""The backend a transformation runs its generated code on, seen from ``srcad.api``.

Comes in: a transformation's backend runner (``srcad.backends.backend_runner``: None for
NumPy, a ``NumbaBackend`` for numba), a ``Compiled`` and a call's arguments. Goes out: the
call's result computed on that backend (``run``), the function that computes it since the
first call (``function``), the source a backend runs (``source_for``: NumPy, numba or
array-API), and a lean ``__call__`` (``lean_entry``) that the transformed function takes as
its own on later calls laid out like the first:

    def __call__(self, a0=MISSING, a1=MISSING, a2=MISSING, /, *rest, **kwargs):
        if type(v0 := a0) is ndarray and v0.shape == (3, 4) and ... and type(a2) is float:
            if not rest and not kwargs:
                value, grads = callee(a0, a1, a2)
                return plain_value(value), grads
        given = tuple(a for a in (a0, a1, a2) if a is not MISSING)
        return full_call(self, *given, *rest, **kwargs)

Its conditions are srcad's guard of those arguments (``srcad.runtime.guard``), followed by
the world guard where the compile read something outside the function. ``callee`` is the
generated function without its own check of the layout; for numba-compiled code of Python
scalars it is numba's compiled entry point, as the conditions fix the types numba compiled
for. Any other call takes the transformed function's own path (``full_call``). The
parameters are positional-only (a keyword of the user's named ``a0`` stays a keyword);
taking them by position rather than as ``*args`` saves ~60 ns of a 0.55 us call. Checking
inline rather than through ``Transformed.__call__`` and its guard function saves 0.8 us of
a 3x4 layer's 8.7 us value and gradient.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from srcad.api.results import plain_value
from srcad.arrayapi import ArrayApiRunner
from srcad.backends import NumbaBackend
from srcad.pipeline import Compiled
from srcad.runtime.guard import always_current, layout_conditions

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


RETURNS = {  # what the lean __call__ returns of the generated function's (value, grads)
    "whole": ("return {call}",),
    "gradients": ("return {call}[1]",),
    "plain value": ("value, grads = {call}", "return plain_value(value), grads"),
}


def lean_entry(
    runner: NumbaBackend | None,
    compiled: Compiled,
    args: tuple,
    returns: str,
    full_call: Callable,
    locate: Callable[[BaseException], None] = lambda error: None,
) -> Callable | None:
    """The lean ``__call__`` (see the module docstring) for calls laid out like ``args``: it
    returns, of what the generated function returns, what ``returns`` names (``RETURNS``),
    and passes other calls to ``full_call``; None where some argument has no cheap check.
    Numba-compiled scalar code is called at numba's compiled entry point. An exception the
    user's code raises is given to ``locate`` (its note of the user's line) and raised."""
    found = None if runner is None else runner.entry_point(compiled, args)
    callee, omitted = found or (function(runner, compiled), 0)
    names = [f"a{position}" for position in range(len(args))]
    layout = layout_conditions(args, names)
    if layout is None:
        return None
    conditions, namespace = layout
    inline = getattr(compiled.is_current, "inline", None)
    if inline is not None:  # the world guard's checks inline: a call costs 10 % here
        conditions += inline[0]
        namespace |= inline[1]
    elif compiled.is_current is not always_current:
        conditions.append("is_current()")
    call = f"callee({', '.join(names + ['None'] * omitted)})"
    given = "".join(f"{name}, " for name in names)
    parameters = "".join(f"{name}=MISSING, " for name in names)
    returned = [" " * 12 + line.format(call=call) for line in RETURNS[returns]]
    if runner is not None:  # numba's code raised: the NumPy code decides (runner.retry)
        handled = [line.format(call=f"retry(error, ({given}))") for line in RETURNS[returns]]
    else:  # the user's code raised: a note of the user's line (locate_users_error)
        handled = ["locate(error)", "raise"]
    returned = [
        " " * 12 + "try:",
        *(" " * 4 + line for line in returned),
        " " * 12 + "except Exception as error:",
        *(" " * 16 + line for line in handled),
    ]
    source = "\n".join(
        [
            f"def __call__(self, {parameters}/, *rest, **kwargs):",
            f"    if {' and '.join(conditions)}:",
            "        if not rest and not kwargs:",
            *returned,
            f"    given = tuple(a for a in ({given}) if a is not MISSING)",
            "    return full_call(self, *given, *rest, **kwargs)",
            "",
        ]
    )
    namespace |= {
        "callee": callee,
        "is_current": compiled.is_current,
        "full_call": full_call,
        "plain_value": plain_value,
        "MISSING": MISSING,
        "retry": None if runner is None else functools.partial(runner.retry, compiled),
        "locate": locate,
    }
    exec(compile(source, "<srcad entry>", "exec"), namespace)  # noqa: S102
    return namespace["__call__"]
