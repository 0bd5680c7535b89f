"""Rewriting a graph equation by equation, shared by the simplify and CSE passes.

``rewrite_graph(graph, step)`` walks every block in program order, sub-graphs included. Each
equation's inputs are first substituted (a var an earlier step replaced reads its
replacement, in any block: a backward branch reads what its forward branch computed); a
structured equation is kept with its sub-graphs rewritten; every other equation goes to
``step``, which returns the equations that take its place and may map its outputs to atoms
that exist already (``Rewriting.replace``).

What a step may reuse is scoped as in Python source: the values of the open blocks (the
block itself and the blocks around it), never those of a sibling block. Vars keep their ids,
names and roles; equations their locations, roles and origins. A value that some equation
writes into in place (``setitem``, through a view too: ``written_vars``) is never replaced
and never replaces another: the two names would then share one buffer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from srcad.ir import Atom, Eqn, Graph, Var
from srcad.ir.builder import rename_vars
from srcad.ir.facts import updates_first_input
from srcad.ir.graph import VarRole
from srcad.ir.views import shares_memory
from srcad.ir.walk import sub_graphs, walk_eqns


@dataclass
class Rewriting:
    """The state of one rewriting pass: the substitution so far, and per open block (the
    innermost last) the equations that made its values and its values by CSE key."""

    mapping: dict[int, Atom] = field(default_factory=dict)  # var id -> its replacement
    producers: list[dict[int, Eqn]] = field(default_factory=lambda: [{}])
    computed: list[dict[tuple, tuple[Var, ...]]] = field(default_factory=lambda: [{}])
    # names passed on: var id -> the user's name and role of a var it replaced
    names: dict[int, tuple[str, VarRole | None]] = field(default_factory=dict)

    def substitute(self, atoms: tuple[Atom, ...]) -> tuple[Atom, ...]:
        """``atoms`` with each replaced var read as its replacement."""
        mapping = self.mapping
        if not any(isinstance(a, Var) and a.id in mapping for a in atoms):
            return atoms
        return tuple(mapping.get(a.id, a) if isinstance(a, Var) else a for a in atoms)

    def replace(self, var: Var, atom: Atom) -> None:
        """Let every later read of ``var`` read ``atom``, which takes ``var``'s name if it
        has none of its own."""
        self.mapping[var.id] = atom
        if isinstance(atom, Var) and var.is_named and not atom.is_named:
            self.names.setdefault(atom.id, (var.hint, var.role))

    def producer(self, var: Var) -> Eqn | None:
        """The equation of an open block that makes ``var``."""
        for scope in reversed(self.producers):
            if var.id in scope:
                return scope[var.id]
        return None

    def keep(self, eqn: Eqn) -> Eqn:
        """Record that ``eqn`` stays, in the innermost open block."""
        for var in eqn.outputs:
            self.producers[-1][var.id] = eqn
        return eqn


Step = Callable[[Rewriting, Eqn], list[Eqn]]


def rewrite_graph(graph: Graph, step: Step) -> Graph:
    """``graph`` with ``step`` applied to every equation that holds no sub-graph."""
    rewriting = Rewriting()
    eqns = _rewrite_block(rewriting, graph.eqns, step)
    result = replace(graph, eqns=eqns, outputs=rewriting.substitute(graph.outputs))
    if not rewriting.names:
        return result
    hints = {k: hint for k, (hint, _) in rewriting.names.items()}
    roles = {k: role for k, (_, role) in rewriting.names.items() if role is not None}
    return rename_vars(result, hints, roles)


def _rewrite_block(rewriting: Rewriting, eqns: Iterable[Eqn], step: Step) -> tuple[Eqn, ...]:
    result: list[Eqn] = []
    for eqn in eqns:
        inputs = rewriting.substitute(eqn.inputs)
        if inputs != eqn.inputs:
            eqn = replace(eqn, inputs=inputs)
        if sub_graphs(eqn):
            result.append(rewriting.keep(_rewrite_inside(rewriting, eqn, step)))
        else:
            result.extend(step(rewriting, eqn))
    return tuple(result)


def _rewrite_inside(rewriting: Rewriting, eqn: Eqn, step: Step) -> Eqn:
    def rewrite_sub_graph(graph: Graph) -> Graph:
        rewriting.producers.append({})
        rewriting.computed.append({})
        try:
            eqns = _rewrite_block(rewriting, graph.eqns, step)
        finally:
            rewriting.producers.pop()
            rewriting.computed.pop()
        return replace(graph, eqns=eqns, outputs=rewriting.substitute(graph.outputs))

    params = []
    for key, value in eqn.params:
        if isinstance(value, Graph):
            value = rewrite_sub_graph(value)
        elif isinstance(value, tuple) and any(isinstance(v, Graph) for v in value):
            value = tuple(rewrite_sub_graph(v) if isinstance(v, Graph) else v for v in value)
        params.append((key, value))
    return replace(eqn, params=tuple(params))


def written_vars(graph: Graph) -> set[int]:
    """Ids of the vars whose buffer an equation writes into in place: the first inputs of
    ``setitem``-like equations, and the arrays that share memory with them (views)."""
    written = {
        e.inputs[0].id
        for e in walk_eqns(graph.eqns)
        if updates_first_input(e) and isinstance(e.inputs[0], Var)
    }
    views = [
        (e.inputs[0].id, out.id)
        for e in walk_eqns(graph.eqns)
        if e.inputs and isinstance(e.inputs[0], Var) and e.outputs and shares_memory(e)
        for out in e.outputs
    ]
    size = -1
    while size != len(written):
        size = len(written)
        for base, view in views:
            if base in written or view in written:
                written.update((base, view))
    return written
