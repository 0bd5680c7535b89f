"""Which equations of a graph no output needs, and the graph without them (the work of the
dead-code pass, ``srcad.passes.dce``; the reverse transformation also prunes loop bodies
with it).

Primitives are pure, so an equation is needed only if something needed reads one of its
outputs; the exception are calls with effects or random draws (``outside_call``), which are
always kept, and with them the branches and loops they run in. Sub-graphs read values
lexically (a backward branch reads what its forward branch computed), so liveness is found
in one backward sweep over all blocks: a structured equation is kept when one of its
outputs, or any value defined inside it, is needed; a kept loop needs every value it
carries. Nothing in a ``try`` block is removed: each equation may raise what the handler
catches.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from srcad.ir import Eqn, Graph, Var
from srcad.ir.control import branches_of
from srcad.ir.facts import has_effect
from srcad.ir.walk import defined_vars, sub_graphs, walk_eqns
from srcad.ir.world import catching_of


def remove_dead_code(graph: Graph) -> Graph:
    """The graph without equations that do not contribute to its outputs."""
    live = {atom for atom in graph.outputs if isinstance(atom, Var)}
    live.update(v for e in walk_eqns(graph.eqns) if has_effect(e) for v in e.outputs)
    live.update(v for e in _tried(graph.eqns) for v in e.outputs)
    _sweep(graph.eqns, live)
    return replace(graph, eqns=_prune(graph.eqns, live))


def _tried(eqns: Iterable[Eqn]) -> list[Eqn]:
    """The equations of every ``try`` block: each may raise the exception its handler
    catches, which decides the branch, so none is removed as unused."""
    return [
        inner
        for eqn in walk_eqns(tuple(eqns))
        if catching_of(eqn) is not None
        for inner in walk_eqns(branches_of(eqn)[0].eqns)
    ]


def _sweep(eqns: Iterable[Eqn], live: set[Var]) -> None:
    """Mark what ``eqns`` need, last equation first, in one sweep: a value is read only
    after it is defined (a loop's next iteration reads its carried values, which a kept
    loop keeps whole), so whatever reads a value has been seen when its definition is. A
    structured equation is decided before its sub-graphs are swept, which then see their
    results needed."""
    for eqn in reversed(tuple(eqns)):
        if not _is_live(eqn, live):
            continue
        _mark_inputs(eqn, live)
        for sub_graph in sub_graphs(eqn):
            _sweep(sub_graph.eqns, live)


def _is_live(eqn: Eqn, live: set[Var]) -> bool:
    if any(var in live for var in eqn.outputs):
        return True
    return bool(sub_graphs(eqn)) and any(v in live for v in defined_vars([eqn]))


def _mark_inputs(eqn: Eqn, live: set[Var]) -> None:
    live.update(a for a in eqn.inputs if isinstance(a, Var))
    if eqn.prim == "cond":
        for branch in branches_of(eqn):
            for k, out in enumerate(eqn.outputs):
                result = branch.outputs[k]
                if out in live and isinstance(result, Var):
                    live.add(result)
        return
    for graph in sub_graphs(eqn):
        live.update(a for a in graph.outputs if isinstance(a, Var))
        live.update(graph.inputs)


def _prune_cond(eqn: Eqn, live: set[Var]) -> Eqn:
    """A ``cond`` without its unneeded results (and what computes them)."""
    keep = [k for k, out in enumerate(eqn.outputs) if out in live]
    branches = tuple(
        replace(
            branch, eqns=_prune(branch.eqns, live), outputs=tuple(branch.outputs[k] for k in keep)
        )
        for branch in branches_of(eqn)
    )
    return replace(
        eqn, outputs=tuple(eqn.outputs[k] for k in keep), params=(("branches", branches),)
    )


def _prune(eqns: Iterable[Eqn], live: set[Var]) -> tuple[Eqn, ...]:
    kept = []
    for eqn in eqns:
        if not _is_live(eqn, live):
            continue
        if sub_graphs(eqn):
            eqn = _prune_inside(eqn, live)
        kept.append(eqn)
    return tuple(kept)


def _prune_inside(eqn: Eqn, live: set[Var]) -> Eqn:
    if eqn.prim == "cond":
        return _prune_cond(eqn, live)

    def prune_graph(graph: Graph) -> Graph:
        return replace(graph, eqns=_prune(graph.eqns, live))

    params = []
    for key, value in eqn.params:
        if isinstance(value, Graph):
            value = prune_graph(value)
        elif isinstance(value, tuple) and any(isinstance(v, Graph) for v in value):
            value = tuple(prune_graph(v) for v in value)
        params.append((key, value))
    return replace(eqn, params=tuple(params))
