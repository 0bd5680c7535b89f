"""Lowering: the checked ``ast`` of a function → an SSA ``Graph``.

``function`` is the entry point; ``context`` holds the state of lowering one function body,
which the functions of the other modules take: ``dispatch`` finds the rule for each kind of
statement and expression, ``assignments``, ``statements``, ``expressions`` and ``calls``
lower straight-line code, ``branches``, ``loops``, ``iteration``, ``rows`` and ``jumps``
control flow, ``aliasing`` and ``liveness`` refuse writes NumPy would see through another
name, ``containers`` undoes compile-time changes to Python lists, and ``world`` stages what
the function reads from outside itself.
"""

from __future__ import annotations

from srcad.lower.function import LoweredFunction, lower_function

__all__ = ["LoweredFunction", "lower_function"]
