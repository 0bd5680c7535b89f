"""Facts about a graph laid out as a program: the order statements run in, which block
each value lives in, and where each value is read for the last time.

Equations are numbered in program order (a structured equation before its sub-graphs). A
value read inside a loop that was defined before the loop stays alive until the loop ends,
because the next iteration reads it again; ``last_use`` accounts for that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from srcad.ir import Atom, Eqn, Graph, Var
from srcad.ir.facts import is_loop
from srcad.ir.walk import sub_graphs


@dataclass
class Program:
    """Positions, blocks, definitions and uses of every var of a graph."""

    order: list[Eqn] = field(default_factory=list)
    position: dict[int, int] = field(default_factory=dict)
    end: dict[int, int] = field(default_factory=dict)
    defining: dict[int, Eqn] = field(default_factory=dict)
    defined_at: dict[int, int] = field(default_factory=dict)
    block_of: dict[int, int] = field(default_factory=dict)
    graph_block: dict[int, int] = field(default_factory=dict)  # id of a sub-graph -> its block
    uses: dict[int, int] = field(default_factory=dict)
    use_blocks: dict[int, set[int]] = field(default_factory=dict)
    last_use: dict[int, int] = field(default_factory=dict)

    def pos(self, eqn: Eqn) -> int:
        return self.position[id(eqn)]


def analyze(graph: Graph) -> Program:
    program = Program()
    for var in graph.inputs:
        program.defined_at[var.id] = -1
        program.block_of[var.id] = 0
    _number(graph.eqns, program, block=0, counter=[1])
    _record_uses(graph.eqns, program, block=0, loops=[])
    for atom in graph.outputs:
        _use(atom, len(program.order) + 1, 0, program, [])
    return program


def _number(eqns: Iterable[Eqn], program: Program, block: int, counter: list[int]) -> None:
    for eqn in eqns:
        position = len(program.order)
        program.order.append(eqn)
        program.position[id(eqn)] = position
        for var in eqn.outputs:
            program.defining[var.id] = eqn
            program.defined_at[var.id] = position
            program.block_of[var.id] = block
        for graph in sub_graphs(eqn):
            inner = counter[0]
            counter[0] += 1
            for var in graph.inputs:
                program.defined_at[var.id] = position
                program.block_of[var.id] = inner
            _number(graph.eqns, program, inner, counter)
            program.graph_block[id(graph)] = inner
        program.end[id(eqn)] = len(program.order) - 1


def _record_uses(eqns: Iterable[Eqn], program: Program, block: int, loops: list[Eqn]) -> None:
    for eqn in eqns:
        position = program.pos(eqn)
        for atom in eqn.inputs:
            _use(atom, position, block, program, loops)
        inner_loops = loops + [eqn] if is_loop(eqn) else loops
        for graph in sub_graphs(eqn):
            inner = program.graph_block[id(graph)]
            _record_uses(graph.eqns, program, inner, inner_loops)
            for atom in graph.outputs:
                _use(atom, program.end[id(eqn)], inner, program, inner_loops)


def _use(atom: Atom, position: int, block: int, program: Program, loops: list[Eqn]) -> None:
    if not isinstance(atom, Var):
        return
    program.uses[atom.id] = program.uses.get(atom.id, 0) + 1
    program.use_blocks.setdefault(atom.id, set()).add(block)
    defined = program.defined_at.get(atom.id, -1)
    last = position
    for loop in loops:
        if program.pos(loop) > defined:
            last = max(last, program.end[id(loop)])
    program.last_use[atom.id] = max(program.last_use.get(atom.id, -1), last)
