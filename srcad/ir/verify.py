"""The IR verifier: checks the SSA invariants and that every aval matches its inference.

Raises ``InternalError`` with the graph's text when an invariant fails: each var defined
once, every use after its definition, and every output aval what ``infer_avals`` gives.
"""

from __future__ import annotations

from srcad.ir.graph import Graph, Var
from srcad.ir.prims import PRIMS
from srcad.ir.printer import format_eqn, format_graph
from srcad.ir.shapes import infer_avals


class VerifyError(RuntimeError):
    """A broken IR invariant (a bug in srcad, not in user code)."""


def verify_graph(graph: Graph) -> None:
    """Raise ``VerifyError`` (with the IR dump) if ``graph`` breaks an invariant."""
    defined: set[int] = set()
    for var in graph.inputs:
        _define(var, defined, graph, "input")
    for eqn in graph.eqns:
        if eqn.prim not in PRIMS:
            _fail(graph, f"unknown primitive in: {format_eqn(eqn)}")
        for atom in eqn.inputs:
            if isinstance(atom, Var) and atom.id not in defined:
                _fail(graph, f"%{atom.id} used before definition in: {format_eqn(eqn)}")
        expected = infer_avals(eqn.prim, [a.aval for a in eqn.inputs], eqn.param_dict)
        if tuple(v.aval for v in eqn.outputs) != expected:
            _fail(graph, f"aval mismatch (expected {expected}) in: {format_eqn(eqn)}")
        for var in eqn.outputs:
            _define(var, defined, graph, format_eqn(eqn))
    for atom in graph.outputs:
        if isinstance(atom, Var) and atom.id not in defined:
            _fail(graph, f"output %{atom.id} is never defined")


def _define(var: Var, defined: set[int], graph: Graph, where: str) -> None:
    if var.id in defined:
        _fail(graph, f"%{var.id} defined twice ({where})")
    defined.add(var.id)


def _fail(graph: Graph, message: str) -> None:
    raise VerifyError(f"{message}\n{format_graph(graph)}")
