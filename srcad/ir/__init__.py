"""The intermediate representation: an SSA computation graph of frozen dataclasses.

``ir`` imports nothing else from srcad; every later stage builds on it.
"""

from __future__ import annotations

from srcad.ir import control, indexing, world  # noqa: F401  (register their primitives)
from srcad.ir.graph import Atom, AVal, Const, Eqn, Graph, Loc, Var, aval_of

__all__ = ["AVal", "Atom", "Const", "Eqn", "Graph", "Loc", "Var", "aval_of"]
