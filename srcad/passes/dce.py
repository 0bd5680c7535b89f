"""Dead-code elimination: drop equations whose outputs no output depends on.

Before:  t = exp(x); u = sin(x); return t
After:   t = exp(x); return t

All primitives are pure, so any equation whose outputs are unused can go.
"""

from __future__ import annotations

from dataclasses import replace

from srcad.ir import Graph, Var


def eliminate_dead_code(graph: Graph) -> Graph:
    """The graph without equations that do not contribute to its outputs."""
    live = {atom for atom in graph.outputs if isinstance(atom, Var)}
    kept = []
    for eqn in reversed(graph.eqns):
        if any(var in live for var in eqn.outputs):
            kept.append(eqn)
            live.update(atom for atom in eqn.inputs if isinstance(atom, Var))
    return replace(graph, eqns=tuple(reversed(kept)))
