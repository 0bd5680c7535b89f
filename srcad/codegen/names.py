"""Naming: every var of a graph gets a readable, deterministic Python name.

User variables keep their names (a reassigned ``x`` becomes ``x``, ``x_1``, ``x_2``), adjoints
are ``d<name>``, temporaries are named after their operation while that stays short
(``exp_b``, ``tanh_Wx``, ``Wx`` for ``W @ x``) and ``t1``, ``t2`` otherwise. A second
contribution to an adjoint reuses its name (``dx = dx + ...``) because the old value is dead.
Names never depend on ids or hashing order, so the output is byte-for-byte reproducible.
"""

from __future__ import annotations

import builtins
import keyword

from srcad.ir import Const, Eqn, Graph, Var
from srcad.ir.prims import PRIMS

MAX_TEMP_NAME = 12
RESERVED = set(keyword.kwlist) | set(dir(builtins)) | {"np"}


class NameAllocator:
    """Assigns names to the vars of one graph; owns the set of names in use."""

    def __init__(self, graph: Graph, reserved: set[str], inlined: set[int]):
        self.graph = graph
        self.names: dict[int, str] = {}
        self.taken = set(RESERVED) | set(reserved)
        self.inlined = inlined
        self._holder: dict[str, Var] = {}
        self._temp_count = 0
        self._descriptive: set[int] = {v.id for v in graph.inputs}
        self._last_use = _last_uses(graph)
        self._derivative_ids = {v.id for e in graph.eqns if e.role != "primal" for v in e.outputs}

    def name(self, var: Var) -> str:
        return self.names[var.id]

    def assign_input(self, var: Var, name: str) -> None:
        self._claim(var, name)

    def bind(self, var: Var, name: str) -> None:
        """Give ``var`` a name already reserved for it (a parameter of the function)."""
        self.taken.add(name)
        self.names[var.id] = name
        self._holder[name] = var

    def assign_eqn(self, index: int, eqn: Eqn, is_owned) -> None:
        if eqn.prim in ("setitem", "index_add") and self._fills_in_place(index, eqn, is_owned):
            self.names[eqn.outputs[0].id] = self.names[eqn.inputs[0].id]
            self._holder[self.names[eqn.inputs[0].id]] = eqn.outputs[0]
            return
        for var in eqn.outputs:
            base = self._base_name(var, eqn)
            if eqn.role != "primal" and self._is_reusable(base, index):
                self.names[var.id] = base
                self._holder[base] = var
            else:
                self._claim(var, base)

    def _claim(self, var: Var, base: str) -> None:
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        self.names[var.id] = name
        self._holder[name] = var

    def _fills_in_place(self, index: int, eqn: Eqn, is_owned) -> bool:
        """``y[i] = v`` may write into ``y`` when nothing reads the old ``y`` afterwards."""
        base = eqn.inputs[0]
        return (
            isinstance(base, Var)
            and base not in self.graph.inputs
            and base not in self.graph.outputs
            and self._last_use.get(base.id, -1) <= index
            and is_owned(base)
        )

    def _is_reusable(self, name: str, index: int) -> bool:
        holder = self._holder.get(name)
        return (
            holder is not None
            and holder not in self.graph.outputs
            and self._last_use.get(holder.id, -1) <= index
            and holder.id in self._derivative_ids
        )

    def _base_name(self, var: Var, eqn: Eqn) -> str:
        if var.hint.startswith("d@"):
            return "d" + self.names.get(int(var.hint[2:]), "x")
        if var.hint:
            self._descriptive.add(var.id)
            return var.hint
        short = self._operation_name(eqn)
        if short and len(short) <= MAX_TEMP_NAME:
            if eqn.prim in ("matmul", "dot"):
                self._descriptive.add(var.id)
            return short
        self._temp_count += 1
        return f"t{self._temp_count}"

    def _operation_name(self, eqn: Eqn) -> str:
        operands = [self._operand_name(a) for a in eqn.inputs]
        if None in operands or eqn.role != "primal":
            return ""
        prim = PRIMS[eqn.prim]
        if eqn.prim == "getitem" and len(operands) == 1:
            return _item_name(operands[0], eqn.param_dict["index"])
        if eqn.prim in ("matmul", "dot") and all(len(n) <= 3 for n in operands):
            return "".join(operands)
        if prim.operator is None and len(operands) == 1:
            return f"{prim.fn.__name__}_{operands[0]}"
        return ""

    def _operand_name(self, atom) -> str | None:
        """The operand's name if it says what the value is (not ``t3``), else None."""
        if isinstance(atom, Const):
            return atom.name or None
        return self.names.get(atom.id) if atom.id in self._descriptive else None


def _last_uses(graph: Graph) -> dict[int, int]:
    last: dict[int, int] = {}
    for index, eqn in enumerate(graph.eqns):
        for atom in eqn.inputs:
            if isinstance(atom, Var):
                last[atom.id] = index
    return last


def _item_name(base: str, index: tuple) -> str:
    """``w_0`` for ``w[0]``, ``x_1_2`` for ``x[1, 2]``; empty for slices and arrays."""
    if all(isinstance(item, int) and item >= 0 for item in index):
        return "_".join([base, *(str(item) for item in index)])
    return ""
