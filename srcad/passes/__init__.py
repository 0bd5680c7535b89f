"""Graph → graph passes that run between differentiation and code generation."""

from __future__ import annotations

from srcad.passes.dce import eliminate_dead_code

__all__ = ["eliminate_dead_code"]
