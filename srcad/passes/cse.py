"""Common-subexpression elimination: compute each pure value once per scope.

Graph → graph. An equation of a pure primitive whose primitive, inputs and params are those
of an earlier equation of the same block or of a block around it (``srcad.ir.simplify.
cse_key``) is dropped, and what read its outputs reads the earlier ones. Equations with
effects (``outside_call``), tape operations, structured equations, and values written in
place are never merged; a value of a branch or loop body is not reused outside it or in a
sibling block. The earlier output keeps its name, or takes the dropped one's if it had none.

Before:
  graph f(%0(x):f64[3]) {
    %1(a):f64[3] = exp %0
    %2(b):f64[3] = exp %0
    %3(out):f64[3] = add %1 %2
    return %3
  }
After:
  graph f(%0(x):f64[3]) {
    %1(a):f64[3] = exp %0
    %3(out):f64[3] = add %1 %1
    return %3
  }

The builder already reuses a value computed in an open block as it records equations; this
pass finds the rest (equations recorded in separate passes over the graph).
"""

from __future__ import annotations

from srcad.ir import Eqn, Graph, Var
from srcad.ir.facts import has_effect, is_statement, is_tape
from srcad.ir.prims import PRIMS
from srcad.ir.simplify import cse_key
from srcad.passes.rewrite import Rewriting, rewrite_graph, written_vars


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    """``graph`` with each repeated pure computation replaced by its first result."""
    written = written_vars(graph)

    def step(rewriting: Rewriting, eqn: Eqn) -> list[Eqn]:
        key = cse_key(eqn.prim, list(eqn.inputs), eqn.param_dict) if _may_merge(eqn) else None
        if key is None or _reads_or_makes(eqn, written):
            return [rewriting.keep(eqn)]
        for scope in reversed(rewriting.computed):
            if key in scope:
                for var, earlier in zip(eqn.outputs, scope[key], strict=True):
                    rewriting.replace(var, earlier)
                return []
        rewriting.computed[-1][key] = eqn.outputs
        return [rewriting.keep(eqn)]

    return rewrite_graph(graph, step)


def _may_merge(eqn: Eqn) -> bool:
    """Whether ``eqn`` is a pure computation with results: equal inputs, equal outputs."""
    if eqn.prim not in PRIMS or not eqn.outputs:
        return False
    return not (has_effect(eqn) or is_tape(eqn) or is_statement(eqn))


def _reads_or_makes(eqn: Eqn, written: set[int]) -> bool:
    """Whether ``eqn`` reads or makes a buffer that is written in place somewhere."""
    atoms = [*eqn.inputs, *eqn.outputs]
    return any(isinstance(a, Var) and a.id in written for a in atoms)
