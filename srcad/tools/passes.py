"""Counting the passes a gradient makes, and timing one of them alone (for ``compare``).

Part of the tools, on top of the public API. A gradient method makes *passes*: central
differences evaluate f, forward mode runs the generated ``<f>_jvp`` once per input, reverse
mode runs the generated ``<f>_grad`` (one forward and one backward sweep) once. Counting them
tells how the cost grows with the number of inputs, whatever the per-call overhead.

``count_passes(call, names)`` runs ``call()`` once under a profile hook and counts the calls of
the functions whose names are in ``names`` that are not made from one of them (a checked
function calling its unchecked body counts once). It keeps the function and the arguments of
the first such call, so that one pass can be timed without the overhead around it.
``counting(fun)`` is ``fun`` with a counter, for methods that call the user's function.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType


@dataclass
class PassCount:
    """The number of passes one call made, and a way to run the first pass on its own."""

    calls: int = 0
    first: Callable[[], object] | None = None


@dataclass
class CountingFunction:
    """``fun`` with a counter: every call adds one to ``count.calls``."""

    fun: Callable
    count: PassCount = field(default_factory=PassCount)

    def __call__(self, *args: object) -> object:
        if self.count.first is None:
            fun = self.fun
            self.count.first = lambda: fun(*args)
        self.count.calls += 1
        return self.fun(*args)


def generated_function_names(source_text: str) -> frozenset[str]:
    """The names of the functions a generated module defines at its top level."""
    return frozenset(
        node.name for node in ast.parse(source_text).body if isinstance(node, ast.FunctionDef)
    )


def count_passes(call: Callable[[], object], names: frozenset[str]) -> PassCount:
    """Run ``call()`` once and count its outermost calls of the functions named ``names``."""
    count = PassCount()

    def hook(frame: FrameType, event: str, _arg: object) -> None:
        if event != "call" or frame.f_code.co_name not in names:
            return
        caller = frame.f_back
        if caller is not None and caller.f_code.co_name in names:
            return
        count.calls += 1
        if count.first is None:
            count.first = _replay(frame)

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        call()
    finally:
        sys.setprofile(previous)
    return count


def _replay(frame: FrameType) -> Callable[[], object] | None:
    """A call of the function running in ``frame`` with the arguments it was given (at its
    first line); None when it is not a module-level function with positional parameters."""
    code = frame.f_code
    function = frame.f_globals.get(code.co_name)
    if function is None or getattr(function, "__code__", None) is not code:
        return None
    if code.co_kwonlyargcount:
        return None
    args = tuple(frame.f_locals[name] for name in code.co_varnames[: code.co_argcount])
    return lambda: function(*args)


__all__ = ["CountingFunction", "PassCount", "count_passes", "generated_function_names"]
