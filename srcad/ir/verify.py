"""The IR verifier: checks the SSA invariants and that every aval matches its inference.

Raises ``VerifyError`` with the graph's text when an invariant fails: each var defined
once, every use after its definition, and every output aval what ``infer_avals`` gives.
"""

from __future__ import annotations

from srcad.ir.control import CONTROL
from srcad.ir.graph import Eqn, Graph, Var
from srcad.ir.prims import PRIMS
from srcad.ir.printer import format_eqn, format_graph
from srcad.ir.shapes import infer_avals
from srcad.ir.walk import sub_graphs
from srcad.ir.world import OUTSIDE


class VerifyError(RuntimeError):
    """A broken IR invariant (a bug in srcad, not in user code)."""


def verify_graph(graph: Graph) -> None:
    """Raise ``VerifyError`` (with the IR dump) if ``graph`` breaks an invariant.

    Sub-graphs may read any value defined before them in program order (lexical scope).
    """
    defined: set[int] = set()
    for var in graph.inputs:
        _define(var, defined, graph, "input")
    _verify_block(graph.eqns, defined, graph)
    _check_uses(graph.outputs, defined, graph, "the graph outputs")


def _verify_block(eqns, defined: set[int], graph: Graph) -> None:
    for eqn in eqns:
        if eqn.prim not in PRIMS:
            _fail(graph, f"unknown primitive in: {format_eqn(eqn)}")
        _check_uses(eqn.inputs, defined, graph, eqn)
        if PRIMS[eqn.prim].kind not in (CONTROL, OUTSIDE):
            expected = infer_avals(eqn.prim, [a.aval for a in eqn.inputs], eqn.param_dict)
            if tuple(v.aval for v in eqn.outputs) != expected:
                _fail(graph, f"aval mismatch (expected {expected}) in: {format_eqn(eqn)}")
        for sub in sub_graphs(eqn):
            for var in sub.inputs:
                _define(var, defined, graph, eqn)
            _verify_block(sub.eqns, defined, graph)
            _check_uses(sub.outputs, defined, graph, eqn, "a sub-graph of ")
        for var in eqn.outputs:
            _define(var, defined, graph, eqn)


def _check_uses(atoms, defined: set[int], graph: Graph, where: Eqn | str, prefix: str = "") -> None:
    for atom in atoms:
        if isinstance(atom, Var) and atom.id not in defined:
            _fail(graph, f"%{atom.id} used before definition in: {prefix}{_text(where)}")


def _define(var: Var, defined: set[int], graph: Graph, where: Eqn | str) -> None:
    if var.id in defined:
        _fail(graph, f"%{var.id} defined twice ({_text(where)})")
    defined.add(var.id)


def _text(where: Eqn | str) -> str:
    """An equation as the IR printer writes it (only when a check fails: printing every
    equation, constant arrays in full, would take most of the verifier's time)."""
    return where if isinstance(where, str) else format_eqn(where)


def _fail(graph: Graph, message: str) -> None:
    raise VerifyError(f"{message}\n{format_graph(graph)}")
