"""Derivative rules: one small NumPy function per primitive, registered by decorator.

Importing this package fills the registries (``VJP_RULES``, ``JVP_RULES``) from the family
modules. ``rules`` imports only ``ir``.
"""

from __future__ import annotations

from srcad.rules import (  # noqa: F401
    arithmetic,
    constructors,
    elementwise,
    indexing,
    linalg,
    reductions,
    shape,
    special,
    subscripts,
)
from srcad.rules.registry import JVP_RULES, VJP_RULES, defjvp, defvjp, unbroadcast

__all__ = ["JVP_RULES", "VJP_RULES", "defjvp", "defvjp", "unbroadcast"]
