"""Code generation: a derivative ``Graph`` → readable Python source (``formatting`` formats it
with black where a person reads it)."""

from __future__ import annotations

from srcad.codegen.emit import emit_module
from srcad.codegen.function import ConstantLeaf, FunctionSpec, entry_name

__all__ = ["ConstantLeaf", "FunctionSpec", "emit_module", "entry_name"]
