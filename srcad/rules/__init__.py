"""Derivative rules: one small NumPy function per primitive, registered by decorator.

Importing this package fills the registries (``VJP_RULES``, ``JVP_RULES``) from the family
modules; those of SciPy's functions (``special``, ``stats``) once the user's code has
imported SciPy, as the table's rows (``srcad.ir.table.registry.when_imported``). ``rules``
imports only ``ir``.
"""

from __future__ import annotations

from srcad.rules import (  # noqa: F401
    arithmetic,
    constructors,
    decompositions,
    elementwise,
    indexing,
    linalg,
    reductions,
    scipy_linalg,
    scipy_signal,
    shape,
    special,
    stats,
    subscripts,
)
from srcad.rules.registry import JVP_RULES, VJP_RULES, defjvp, defvjp, unbroadcast

__all__ = ["JVP_RULES", "VJP_RULES", "defjvp", "defvjp", "unbroadcast"]
