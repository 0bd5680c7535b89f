"""Runtime: loading generated source as live functions, and the compiled-function cache."""

from __future__ import annotations

from srcad.runtime.loader import generated_dir, load_function, load_module

__all__ = ["generated_dir", "load_function", "load_module"]
