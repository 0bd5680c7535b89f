"""Aliasing facts: which primitives' results may share memory with their first input.

NumPy returns views from reshapes, transposes, splits and basic subscripts (the table marks
them: ``Prim.is_view``); the lowering and the code generator must know them to keep a write
to one array from reaching another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from srcad.ir.table.registry import PRIMS

if TYPE_CHECKING:
    from srcad.ir.graph import Eqn


def shares_memory(eqn: Eqn) -> bool:
    """Whether NumPy's result of ``eqn`` may share memory with its first input: a view.
    Reading one element (a 0-d result) or with integer arrays (fancy indexing) copies."""
    if eqn.prim == "getitem":
        if eqn.outputs[0].aval.ndim == 0:
            return False
        return all(a.aval.ndim == 0 for a in eqn.inputs[1:])
    prim = PRIMS.get(eqn.prim)
    return prim is not None and prim.is_view
