"""Walking graphs with sub-graphs: every equation, what a block defines and uses, and
substituting vars. Structured equations (``cond``, ``for``, ``while``) keep their sub-graphs
in params; these helpers look inside them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace

from srcad.ir.graph import Atom, Eqn, Graph, Var


def sub_graphs(eqn: Eqn) -> tuple[Graph, ...]:
    """The sub-graphs held by ``eqn`` (branches, loop body, loop condition)."""
    return eqn.graphs


def with_sub_graphs(eqn: Eqn, rewrite: Callable[[tuple[Eqn, ...]], tuple[Eqn, ...]]) -> Eqn:
    """``eqn`` with ``rewrite`` applied to the equations of each of its sub-graphs (a pass
    going into branches and loop bodies)."""
    if not sub_graphs(eqn):
        return eqn
    params = []
    for key, value in eqn.params:
        if isinstance(value, Graph):
            value = replace(value, eqns=rewrite(value.eqns))
        elif isinstance(value, tuple) and value and all(isinstance(v, Graph) for v in value):
            value = tuple(replace(g, eqns=rewrite(g.eqns)) for g in value)
        params.append((key, value))
    return replace(eqn, params=tuple(params))


def walk_eqns(eqns: tuple | list) -> Iterator[Eqn]:
    """Every equation, in program order, entering sub-graphs before moving on."""
    pending = [iter(eqns)]  # the blocks being walked, innermost last (no recursion)
    while pending:
        for eqn in pending[-1]:
            yield eqn
            if eqn.graphs:  # the first sub-graph on top: walked first
                pending.extend(iter(graph.eqns) for graph in reversed(eqn.graphs))
                break
        else:
            pending.pop()


def defined_vars(eqns: tuple | list) -> set[Var]:
    """Vars defined anywhere inside ``eqns``: outputs and sub-graph inputs."""
    defined: set[Var] = set()
    for eqn in walk_eqns(eqns):
        defined.update(eqn.outputs)
        for graph in sub_graphs(eqn):
            defined.update(graph.inputs)
    return defined


def used_atoms(eqns: tuple | list) -> list[Atom]:
    """Atoms read inside ``eqns`` (inputs and sub-graph outputs), first use first."""
    seen: dict[int, Atom] = {}
    for eqn in walk_eqns(eqns):
        for atom in eqn.inputs:
            seen.setdefault(id(atom) if not isinstance(atom, Var) else atom.id, atom)
        for graph in sub_graphs(eqn):
            for atom in graph.outputs:
                seen.setdefault(id(atom) if not isinstance(atom, Var) else atom.id, atom)
    return list(seen.values())


def substitute(eqns: tuple | list, mapping: Mapping[Var, Atom]) -> tuple[Eqn, ...]:
    """``eqns`` with each var in ``mapping`` replaced, inside sub-graphs too."""
    from srcad.ir.builder import map_graph

    def replace(atom: Atom) -> Atom:
        return mapping.get(atom, atom) if isinstance(atom, Var) else atom

    graph = map_graph(Graph("block", (), tuple(eqns), ()), replace)
    return graph.eqns


def max_var_id(graph: Graph) -> int:
    ids = [v.id for v in graph.inputs]
    ids += [v.id for v in defined_vars(graph.eqns)]
    return max(ids, default=0)
