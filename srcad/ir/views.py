"""Aliasing facts: which primitives' results may share memory with their first input.

NumPy returns views from reshapes, transposes, splits and basic subscripts (the table marks
them: ``Prim.is_view``), and from an ``einsum`` of one operand that sums no axis; the lowering and the code generator must know them to keep a write
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
        if any(a.aval.ndim > 0 for a in eqn.inputs[1:]):
            return False  # fancy indexing copies
        # one element copies (y[0], a number), but with ``...`` it is a 0-d view (y[..., 0])
        index = eqn.param_dict.get("index", ())
        return eqn.outputs[0].aval.ndim > 0 or (isinstance(index, tuple) and "..." in index)
    if eqn.prim == "einsum":
        return _rearranges_one_operand(eqn)
    prim = PRIMS.get(eqn.prim)
    return prim is not None and prim.is_view


def _rearranges_one_operand(eqn: Eqn) -> bool:
    """``np.einsum("ij->ji", M)``, ``"ii->i"``, ``"ij"``: one operand, no axis summed, which
    NumPy gives as a view of it (a transpose, a diagonal)."""
    subscripts = eqn.param_dict.get("subscripts")
    if len(eqn.inputs) != 1 or not isinstance(subscripts, str):
        return False
    given, _, result = subscripts.replace(" ", "").partition("->")
    if "->" not in subscripts:
        result = "".join(sorted(k for k in set(given) if given.count(k) == 1 and k != "."))
    return set(given) - {"."} <= set(result)
