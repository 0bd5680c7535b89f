"""Grouping before naming: the values of a structured equation that must be one Python variable.

A loop-carried value is one variable before the loop (when nothing reads it afterwards),
inside the loop and after it; an ``if`` result is one variable with the branch values that
produce it. Where a group cannot absorb a value (a constant, a value still needed elsewhere,
one that would overwrite a value still read), ``control`` writes an explicit assignment:
before the loop, at the end of the body, or at the end of a branch.
"""

from __future__ import annotations

from srcad.codegen.names import IsOwned, NameAllocator
from srcad.codegen.program import Program
from srcad.ir import Eqn, Graph, Var
from srcad.ir.control import body_of, branches_of, carried_inputs, condition_of
from srcad.ir.facts import is_loop, updates_first_input
from srcad.ir.walk import walk_eqns


def group_structured(names: NameAllocator, is_owned: IsOwned) -> None:
    """Group the values of every ``if`` and loop of the program ``names`` names."""
    for eqn in names.program.order:
        if eqn.prim == "cond":
            _group_cond(names, eqn)
        elif is_loop(eqn):
            _group_loop(names, eqn, is_owned)


def _group_cond(names: NameAllocator, eqn: Eqn) -> None:
    claimed: set[int] = set()
    for k, out in enumerate(eqn.outputs):
        members = [out]
        for branch in branches_of(eqn):
            atom = branch.outputs[k]
            if isinstance(atom, Var) and _absorbable(names, atom, branch, claimed):
                members.append(atom)
                claimed.add(atom.id)
        names.group(members)


def _group_loop(names: NameAllocator, eqn: Eqn, is_owned: IsOwned) -> None:
    condition = condition_of(eqn) if eqn.prim == "while" else None
    claimed: set[int] = set()
    written = _written_in(body_of(eqn))
    for k, out in enumerate(eqn.outputs):
        members = _entering_value(names, eqn, k, claimed, is_owned, written)
        members += [out, carried_inputs(eqn)[k]]
        if condition is not None:
            members.append(condition.inputs[k])
        members += _next_value(names, eqn, k, claimed)
        names.group(members)


def _entering_value(
    names: NameAllocator,
    eqn: Eqn,
    k: int,
    claimed: set[int],
    is_owned: IsOwned,
    written: set[int],
) -> list[Var]:
    """The value entering the loop as carried value ``k``, when it can be the loop's
    variable itself: the same user variable (or adjoint), read by nothing after the loop."""
    init, out = eqn.inputs[k], eqn.outputs[k]
    if not isinstance(init, Var):
        return []
    is_same_variable = init.names_alike(out) or names.is_derivative(init)
    writes = carried_inputs(eqn)[k].id in written
    if (
        is_same_variable
        and _init_absorbable(names, init, eqn, claimed, writes, is_owned)
        and not _overwrites_live(names, init, out)
    ):
        claimed.add(init.id)
        return [init]
    return []


def _next_value(names: NameAllocator, eqn: Eqn, k: int, claimed: set[int]) -> list[Var]:
    """The body's result for carried value ``k``, when it can be computed into the loop's
    variable: after the body's last read of the value it replaces."""
    body = body_of(eqn)
    result, variable = body.outputs[k], carried_inputs(eqn)[k]
    if (
        isinstance(result, Var)
        and _absorbable(names, result, body, claimed)
        and _after_last_read(names.program, variable, result)
        and not _overwrites_live(names, result, variable)
    ):
        claimed.add(result.id)
        return [result]
    return []


def _absorbable(names: NameAllocator, atom: Var, graph: Graph, claimed: set[int]) -> bool:
    """A value computed directly in ``graph``'s block, not yet given to another group."""
    if atom.id in claimed or atom in graph.inputs:
        return False
    if atom.id in names.isolated:
        return False
    if atom.id in names.leader or atom.id not in names.program.defining:
        return False
    eqn = names.program.defining[atom.id]
    return any(e is eqn for e in graph.eqns)


def _init_absorbable(
    names: NameAllocator, init: Var, eqn: Eqn, claimed: set[int], writes: bool, is_owned: IsOwned
) -> bool:
    """The value entering a loop can be the loop variable if nothing reads it later."""
    program = names.program
    return (
        init.id not in claimed
        and init.id not in names.isolated
        and init not in names.graph.outputs
        and program.block_of.get(init.id) == program.block_of.get(eqn.outputs[0].id)
        and program.last_use.get(init.id) == program.pos(eqn)
        and (not writes or is_owned(init))
    )


def _overwrites_live(names: NameAllocator, var: Var, member: Var) -> bool:
    """Whether one name for ``var``'s and ``member``'s groups would overwrite a value
    that is still read after the next one is assigned (an inner loop's result that the
    tape records after the next value of the same variable is computed)."""
    program = names.program
    for one in names.members(var):
        for other in names.members(member):
            if one == other or one not in program.defined_at:
                continue
            if other not in program.defined_at:
                continue
            first, second = sorted((one, other), key=program.defined_at.__getitem__)
            defined = program.defined_at[second]
            if program.defined_at[first] < defined < program.last_use.get(first, -1):
                return True
    return False


def _after_last_read(program: Program, variable: Var, result: Var) -> bool:
    """Whether ``result`` is computed after the body's last read of ``variable``."""
    last = program.last_use.get(variable.id, -1)
    return program.defined_at[result.id] >= last


def _written_in(body: Graph) -> set[int]:
    """The ids of the values the body fills in place (``var[i] = ...``)."""
    return {
        e.inputs[0].id
        for e in walk_eqns(body.eqns)
        if updates_first_input(e) and isinstance(e.inputs[0], Var)
    }
