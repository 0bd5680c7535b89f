"""Inlining: the values spelled inside the expression that reads them instead of named.

An unnamed temporary used exactly once, in its own block, by the same sweep, is written into
the expression that uses it. The first contribution to an adjoint is folded into the sum with
the next one where that keeps no array alive for longer. A folded expression reads its
operands where it is spelled, so their last use (``Program.last_use``) moves there.
"""

from __future__ import annotations

from dataclasses import dataclass

from srcad.codegen.program import Program
from srcad.ir import Atom, Eqn, Graph, Var
from srcad.ir.control import CONTROL, condition_of
from srcad.ir.facts import has_effect, is_statement, packs_results, updates_first_input
from srcad.ir.graph import RoleKind
from srcad.ir.prims import PRIMS
from srcad.ir.walk import sub_graphs


@dataclass(frozen=True)
class Inlining:
    """``inlined``: ids of the values spelled inside the expression that reads them, among
    them the ``first_terms`` of adjoint sums; ``spelled_at``: for each, the position of the
    statement that spells it (None for a ``while`` condition's value, read by its loop)."""

    inlined: set[int]
    first_terms: set[int]
    spelled_at: dict[int, int | None]


def inline_temporaries(graph: Graph, program: Program) -> Inlining:
    """What to inline in ``graph``; moves the last uses of their operands in ``program``."""
    inlined = _used_once(graph, program)
    first_terms = _first_terms(graph, program, inlined)
    inlined |= first_terms
    _name_every_so_deep(program, inlined, first_terms)
    spelled_at = _spelled_at(program, inlined)
    _read_where_spelled(program, spelled_at)
    return Inlining(inlined, first_terms, spelled_at)


def _used_once(graph: Graph, program: Program) -> set[int]:
    """Unnamed temporaries used exactly once, in their own block, by the same sweep."""
    kept = _kept(graph, program)
    consumer_role = _consumer_roles(program)
    inlined = set()
    for eqn in program.order:
        if len(eqn.outputs) != 1 or is_statement(eqn) or has_effect(eqn) or packs_results(eqn):
            continue
        var = eqn.outputs[0]
        is_control = PRIMS[eqn.prim].kind == CONTROL and eqn.prim != "tape_nonempty"
        if var.is_named or var.id in kept or is_control:
            continue
        if program.uses.get(var.id) != 1 or consumer_role.get(var.id) != eqn.role:
            continue
        if program.use_blocks.get(var.id) == {program.block_of[var.id]}:
            inlined.add(var.id)
    return inlined


MAX_DEPTH = 40  # expressions nested deeper get a name every so many levels


def _name_every_so_deep(program: Program, inlined: set[int], first_terms: set[int]) -> None:
    """Keep a name for every ``MAX_DEPTH``-th value of a chain of inlined ones (a sum of
    hundreds of terms, a convolution's shifted copies): one expression would nest them all,
    past what the code that writes it (and a reader) can follow."""
    depth: dict[int, int] = {}
    for eqn in program.order:
        if len(eqn.outputs) != 1 or eqn.outputs[0].id not in inlined:
            continue
        below = [depth.get(a.id, 0) for a in eqn.inputs if isinstance(a, Var)]
        nested = 1 + max(below, default=0)
        if nested > MAX_DEPTH and eqn.outputs[0].id not in first_terms:
            inlined.discard(eqn.outputs[0].id)
            nested = 0
        depth[eqn.outputs[0].id] = nested


def _kept(graph: Graph, program: Program) -> set[int]:
    """Ids of values that keep a name: the results of the function and of its blocks (a
    ``while`` condition's aside), and the arrays a statement fills in place."""
    kept = {a.id for a in graph.outputs if isinstance(a, Var)}
    kept |= {
        a.id
        for e in program.order
        for g in sub_graphs(e)
        for a in g.outputs
        if isinstance(a, Var) and g is not e.param_dict.get("cond")
    }
    kept |= {
        e.inputs[0].id
        for e in program.order
        if updates_first_input(e) and isinstance(e.inputs[0], Var)
    }
    return kept


def _consumer_roles(program: Program) -> dict[int, str]:
    """Var id → the role (sweep) of the equation that reads it (the last one that does)."""
    consumer_role = {a.id: e.role for e in program.order for a in e.inputs if isinstance(a, Var)}
    loops = [eqn for eqn in program.order if eqn.prim == "while"]
    for eqn in loops:  # a while condition's value is read by its loop
        for atom in condition_of(eqn).outputs:
            if isinstance(atom, Var):
                consumer_role[atom.id] = eqn.role
    return consumer_role


def _first_terms(graph: Graph, program: Program, inlined: set[int]) -> set[int]:
    """First contributions to an adjoint, folded into the sum with the next one:
    ``dW = 2.0 * lam * W + np.outer(x, dz)`` computes the term where it is added instead
    of where the sweep met it, so it is not held (or evicted from cache) in between.
    Only when that keeps no array alive for longer."""
    folded = set()
    for eqn in program.order:
        first = eqn.inputs[0] if eqn.prim == "add" and eqn.role == "adjoint" else None
        if not isinstance(first, Var) or not first.is_role(RoleKind.ADJOINT):
            continue
        term = program.defining.get(first.id)
        if term is None or not _is_foldable(program, term, first, eqn):
            continue
        position = program.pos(eqn)
        reads = _reads(program, term, inlined)
        if all(_alive_at(graph, program, atom, position) for atom in reads):
            folded.add(first.id)
    return folded


def _is_foldable(program: Program, term: Eqn, first: Var, sum_eqn: Eqn) -> bool:
    """Whether ``term``, which computes ``first``, can be spelled inside ``sum_eqn``."""
    return (
        first.names_alike(sum_eqn.outputs[0])
        and term.role == "adjoint"
        and len(term.outputs) == 1
        and not is_statement(term)
        and PRIMS[term.prim].kind != CONTROL
        and program.uses.get(first.id) == 1
        and program.block_of[first.id] == program.block_of[sum_eqn.outputs[0].id]
    )


def _reads(program: Program, eqn: Eqn, inlined: set[int]) -> list[Atom]:
    """The values the expression of ``eqn`` reads, through the temporaries folded in."""
    atoms = []
    for atom in eqn.inputs:
        if isinstance(atom, Var) and atom.id in inlined:
            atoms += _reads(program, program.defining[atom.id], inlined)
        else:
            atoms.append(atom)
    return atoms


def _alive_at(graph: Graph, program: Program, atom: Atom, position: int) -> bool:
    """Whether reading ``atom`` at ``position`` keeps no array alive for longer."""
    if not isinstance(atom, Var) or atom.aval.ndim == 0 or atom in graph.inputs:
        return True
    return program.last_use.get(atom.id, -1) >= position


def _spelled_at(program: Program, inlined: set[int]) -> dict[int, int | None]:
    """The position of the statement that spells each inlined value: its reader's, or the
    reader's reader's where the reader is inlined too."""
    consumers = {a.id: e for e in program.order for a in e.inputs if isinstance(a, Var)}

    def spelled_at(var_id: int) -> int | None:
        consumer = consumers.get(var_id)
        if consumer is None:
            return None  # a while condition's value: its reads are inside the loop
        if len(consumer.outputs) == 1 and consumer.outputs[0].id in inlined:
            return spelled_at(consumer.outputs[0].id)
        return program.pos(consumer)

    return {var_id: spelled_at(var_id) for var_id in inlined}


def _read_where_spelled(program: Program, spelled_at: dict[int, int | None]) -> None:
    """An inlined expression reads its operands in the statement that spells it, so they
    stay alive (their names unreused, their arrays unmodified) until that statement."""
    for var_id, position in spelled_at.items():
        if position is None:
            continue
        for atom in program.defining[var_id].inputs:
            if isinstance(atom, Var):
                program.last_use[atom.id] = max(program.last_use.get(atom.id, -1), position)
