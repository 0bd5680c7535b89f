"""Code generation: a derivative ``Graph`` → readable, black-formatted Python source."""

from __future__ import annotations

from srcad.codegen.emit import FunctionSpec, emit_module

__all__ = ["FunctionSpec", "emit_module"]
