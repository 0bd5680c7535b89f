"""Reverse mode: a primal ``Graph`` → a graph computing its output and gradients.

The new graph takes the primal inputs and one more input, the output cotangent ``dout``.
Its equations are the primal equations (the forward sweep) followed by the adjoint
equations (the backward sweep): for each primal equation, in reverse order, whose output has
an adjoint and whose inputs depend on the requested arguments, the VJP rule of its primitive
runs on tracers and its results are added to the adjoints of the inputs. Adjoints that were
never created are symbolic zeros: nothing is computed for them.

Before:  b = exp(a); out = mul(x, b)             (wrt x, a)
After:   b = exp(a); out = mul(x, b);
         dx = mul(dout, b); db = mul(dout, x); da = mul(db, b)
         return out, dx, da
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srcad.errors import NoDerivativeRule, ShapeError
from srcad.ir import Atom, AVal, Const, Eqn, Graph, Var
from srcad.ir.builder import GraphBuilder, TraceError, Tracer
from srcad.ir.prims import PRIMS
from srcad.rules import VJP_RULES


@dataclass(frozen=True)
class ReverseResult:
    """The gradient graph: inputs are primal inputs + ``dout``; outputs are primal outputs
    followed by one gradient per ``wrt`` input."""

    graph: Graph
    n_primal_outputs: int


def reverse_graph(graph: Graph, wrt: tuple[int, ...], output_index: int = 0) -> ReverseResult:
    """Differentiate output ``output_index`` of ``graph`` with respect to inputs ``wrt``."""
    builder = GraphBuilder(first_id=_max_id(graph) + 1)
    for eqn in graph.eqns:
        builder.emit(eqn)
    target = graph.outputs[output_index]
    dout = builder.new_var("dout", _cotangent_aval(target.aval))
    active = _active_vars(graph, [graph.inputs[i] for i in wrt])
    adjoints: dict[Var, Atom] = {}
    if isinstance(target, Var) and target in active:
        adjoints[target] = dout
    for eqn in reversed(graph.eqns):
        _backward_step(builder, eqn, adjoints, active)
    grads = [_gradient_of(builder, graph.inputs[i], adjoints) for i in wrt]
    result = builder.build(graph.name, [*graph.inputs, dout], [*graph.outputs, *grads])
    return ReverseResult(result, len(graph.outputs))


def _max_id(graph: Graph) -> int:
    ids = [v.id for v in graph.inputs] + [v.id for e in graph.eqns for v in e.outputs]
    return max(ids, default=0)


def _cotangent_aval(aval: AVal) -> AVal:
    """A Python float ``dout=1.0`` for float64 scalars; otherwise the output's own aval, so
    that a float32 function's backward sweep stays in float32."""
    if aval.shape == () and aval.dtype == "float64":
        return AVal((), "float64", is_weak=True)
    return AVal(aval.shape, aval.dtype)


def _active_vars(graph: Graph, sources: list[Var]) -> set[Var]:
    """Vars that depend on ``sources`` through differentiable operations."""
    active = set(sources)
    for eqn in graph.eqns:
        if PRIMS[eqn.prim].is_differentiable and any(a in active for a in eqn.inputs):
            active.update(eqn.outputs)
    return active


def _backward_step(builder: GraphBuilder, eqn: Eqn, adjoints: dict, active: set) -> None:
    cotangents = [adjoints.get(v) for v in eqn.outputs]
    if all(c is None for c in cotangents):
        return
    if not any(isinstance(a, Var) and a in active for a in eqn.inputs):
        return
    rule = VJP_RULES.get(eqn.prim)
    if rule is None:
        where = eqn.loc or None
        raise NoDerivativeRule(
            f"np.{PRIMS[eqn.prim].fn.__name__} has no reverse rule; register one with "
            "srcad.defvjp",
            where.file if where else None,
            where.line if where else None,
        )
    with builder.at(eqn.loc, "adjoint", eqn.outputs[0].id):
        g = _cotangent_tracers(builder, eqn, cotangents)
        out = g if len(eqn.outputs) > 1 else builder.tracer(eqn.outputs[0])
        inputs = [builder.tracer(a) for a in eqn.inputs]
        try:
            results = rule(g if len(eqn.outputs) > 1 else g[0], out, *inputs, **eqn.param_dict)
        except TraceError as error:
            raise ShapeError(str(error), eqn.loc.file, eqn.loc.line) from None
        for atom, result in zip(eqn.inputs, results, strict=True):
            if result is not None and isinstance(atom, Var) and atom in active:
                _accumulate(builder, atom, result, adjoints)


def _cotangent_tracers(builder: GraphBuilder, eqn: Eqn, cotangents: list) -> tuple:
    """Tracers for the output cotangents, materialising zeros only for multi-output eqns."""
    tracers = []
    for var, cotangent in zip(eqn.outputs, cotangents, strict=True):
        if cotangent is None:
            cotangent = builder.apply("zeros_like", (builder.tracer(var),)).atom
        tracers.append(builder.tracer(cotangent))
    return tuple(tracers)


def _accumulate(builder: GraphBuilder, var: Var, result: object, adjoints: dict) -> None:
    """Add one contribution to the adjoint of ``var`` (``dx = dx + ...``)."""
    contribution = _fit_to(builder, result, var)
    previous = adjoints.get(var)
    scatter = _scattered(builder, contribution)
    if previous is None:
        total = contribution
    elif scatter is not None:
        # dx[i] += g rather than dx = dx + (zeros with g at i)
        total = builder.apply(
            "index_add",
            (builder.tracer(previous), *(builder.tracer(a) for a in scatter.inputs)),
            {"index": scatter.param_dict["index"]},
        ).atom
    else:
        total = builder.apply("add", (builder.tracer(previous), builder.tracer(contribution))).atom
    if isinstance(total, Var) and total.id not in (var.id,) and not builder.hint_of(total):
        builder.set_hint(total, f"d@{var.id}")
    adjoints[var] = total


def _scattered(builder: GraphBuilder, atom: Atom) -> Eqn | None:
    """The ``add_at`` equation that produced ``atom``, if it did."""
    if not isinstance(atom, Var):
        return None
    eqn = builder.producer(atom)
    return eqn if eqn is not None and eqn.prim == "add_at" else None


def _fit_to(builder: GraphBuilder, result: object, var: Var) -> Atom:
    """The contribution as an atom with the shape of ``var`` (broadcast when it is smaller)."""
    atom = result.atom if isinstance(result, Tracer) else Const(result)
    if atom.aval.shape != var.aval.shape:
        if np.broadcast_shapes(atom.aval.shape, var.aval.shape) != var.aval.shape:
            raise ShapeError(
                f"internal: cotangent of shape {atom.aval.shape} for a value of shape "
                f"{var.aval.shape}",
            )
        atom = builder.apply(
            "broadcast_to", (builder.tracer(atom),), {"shape": var.aval.shape}
        ).atom
    return atom


def _gradient_of(builder: GraphBuilder, var: Var, adjoints: dict) -> Atom:
    """The adjoint of an input; an explicit zero only when nothing reached it."""
    if var in adjoints:
        return adjoints[var]
    zero = builder.apply("zeros_like", (builder.tracer(var),)).atom
    builder.set_hint(zero, f"d@{var.id}")
    return zero
