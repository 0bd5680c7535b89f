"""Loop-invariant equations move out of their ``for`` loop, in front of it.

An equation of a loop body that reads nothing the body makes anew (its counter, its carried
values, what they compute) gives the same value on every iteration; computed once before the
loop, the reverse sweep reads that one value instead of taping it on every iteration:

    before                                   after
    for t in range(T):                       scale = np.exp(log_scale)
        scale = np.exp(log_scale)            for t in range(T):
        h = np.tanh(W @ h * scale + x[t])        h = np.tanh(W @ h * scale + x[t])

An equation moves when the loop runs at least once (its bounds are numbers, so nothing is
computed that the plain function would not compute), it has no effect and draws nothing, it
holds no block, it writes into no array, no array it reads or makes is written into in
place (``y[i] = v``), and what it makes is not carried out of the body as it is. Equations of inner loops move first, so
an invariant of two nested loops leaves both.
"""

from __future__ import annotations

from dataclasses import replace

from srcad.ir import Eqn, Graph, Var
from srcad.ir.control import CONTROL, body_of, known_steps
from srcad.ir.facts import has_effect, is_statement, is_tape
from srcad.ir.prims import PRIMS
from srcad.ir.walk import sub_graphs, with_sub_graphs
from srcad.ir.world import OUTSIDE
from srcad.passes.rewrite import written_vars


def hoist_loop_invariants(graph: Graph) -> Graph:
    """``graph`` with every loop's invariant equations in front of the loop."""
    written = written_vars(graph)
    return replace(graph, eqns=_block(graph.eqns, written))


def _block(eqns: tuple[Eqn, ...], written: set[int]) -> tuple[Eqn, ...]:
    result: list[Eqn] = []
    for eqn in eqns:
        eqn = with_sub_graphs(eqn, lambda block: _block(block, written))
        if eqn.prim == "for" and known_steps(eqn) > 0:
            moved, eqn = _without_invariants(eqn, written)
            result.extend(moved)
        result.append(eqn)
    return tuple(result)


def _without_invariants(loop: Eqn, written: set[int]) -> tuple[list[Eqn], Eqn]:
    """The body's invariant equations, and the loop without them."""
    body = body_of(loop)
    variant = {var.id for var in body.inputs} | written  # values that may differ per step
    kept_in = written | {atom.id for atom in body.outputs if isinstance(atom, Var)}
    moved: list[Eqn] = []
    kept: list[Eqn] = []
    for eqn in body.eqns:
        reads = [atom.id for atom in eqn.inputs if isinstance(atom, Var)]
        outputs = [var.id for var in eqn.outputs]
        stays = any(r in variant for r in reads) or any(o in kept_in for o in outputs)
        if not stays and may_move(eqn):
            moved.append(eqn)
        else:
            kept.append(eqn)
            variant.update(outputs)
    if not moved:
        return [], loop
    new_body = replace(body, eqns=tuple(kept))
    params = tuple((k, new_body if k == "body" else v) for k, v in loop.params)
    return moved, replace(loop, params=params)


def may_move(eqn: Eqn) -> bool:
    """Whether ``eqn`` computes a value from its inputs alone: no block, no effect or draw
    (``outside_call``), no write into an array, no tape."""
    kind = PRIMS[eqn.prim].kind
    if kind in (CONTROL, OUTSIDE) or sub_graphs(eqn):
        return False
    return not (has_effect(eqn) or is_statement(eqn) or is_tape(eqn))
