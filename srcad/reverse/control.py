"""Reversing branches and loops.

A ``cond`` is reversed by a ``cond`` on the same condition whose branches are the backward
sweeps of the forward branches; each outputs the adjoints it changed. The backward branch
reads the forward branch's values directly: they exist because the same branch ran.

A loop is reversed by a loop running the other way. Its forward version records, at the
end of each iteration, the values the backward body reads (``tape.append``); the backward
body pops them (``tape.pop()``) and back-propagates one iteration. Memory grows with the
number of iterations times the values recorded, no more. The backward loop carries the
adjoints of the loop-carried values and accumulates those of values read from outside.

    for i in range(n): h = tanh(W @ h)
    →   tape = []
        for i in range(n): h_1 = tanh(W @ h); tape.append((h, h_1)); h = h_1
        for i in reversed(range(n)): h, h_1 = tape.pop(); ... dW = dW + ...; dh = ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from srcad.ir import Atom, AVal, Eqn, Graph, Var
from srcad.ir.builder import GraphBuilder
from srcad.ir.control import TAPE, body_of, branches_of, carried_inputs, condition_of
from srcad.ir.facts import has_counter, is_structured
from srcad.ir.graph import RoleKind, VarRole
from srcad.ir.prims import PRIMS
from srcad.ir.walk import defined_vars, substitute, used_atoms
from srcad.ir.world import catching_of

if TYPE_CHECKING:
    from srcad.reverse.sweep import Reverser

Adjoints = dict[Var, Atom]


# --- cond -----------------------------------------------------------------------------------
def reverse_cond(reverser: Reverser, eqn: Eqn, adjoints: Adjoints) -> None:
    cotangents = [adjoints.get(v) for v in eqn.outputs]
    if all(c is None for c in cotangents):
        return
    branches = branches_of(eqn)
    sweeps = [_branch_sweep(reverser, eqn, branch, cotangents, adjoints) for branch in branches]
    inner = set().union(*(defined_vars(branch.eqns) for branch in branches))
    changed = sorted(
        {
            v
            for _, local in sweeps
            for v in local
            if v not in inner and local[v] is not adjoints.get(v)
        },
        key=lambda v: v.id,
    )
    if not changed:
        return
    builder = reverser.builder
    graphs = []
    for block, local in sweeps:
        with builder.reopen(block), builder.at(eqn.loc, "adjoint", eqn.outputs[0].id):
            outputs = tuple(_adjoint_or_zero(builder, v, local) for v in changed)
        name = f"{eqn.loc.function if eqn.loc else 'f'}_branch"
        graphs.append(Graph(name, (), tuple(block), outputs))
    new = tuple(builder.new_var("", v.aval, adjoint_of(v)) for v in changed)
    params = (("branches", tuple(graphs)),)
    test = (_branch_taken(eqn), *eqn.inputs[1:])
    builder.emit(Eqn("cond", test, new, params, eqn.loc, "adjoint", eqn.outputs[0].id))
    for var, adjoint in zip(changed, new, strict=True):
        adjoints[var] = adjoint


def _branch_taken(eqn: Eqn) -> Atom:
    """What the backward ``cond`` of ``eqn`` tests: the forward test, or for a ``try`` the
    flag its branches set (True where the ``try`` block ran to its end). A ``try`` whose
    handler raises sets none: its backward code runs only after the ``try`` block did."""
    catching = catching_of(eqn)
    if catching is None:
        return eqn.inputs[0]
    return next((out for out in eqn.outputs if out.hint == catching.flag), eqn.inputs[0])


def _branch_sweep(
    reverser: Reverser,
    eqn: Eqn,
    branch: Graph,
    cotangents: list[Atom | None],
    adjoints: Adjoints,
) -> tuple[list[Eqn], Adjoints]:
    """The backward sweep of one branch, and the adjoints as that branch leaves them."""
    builder = reverser.builder
    local = dict(adjoints)
    with builder.block() as block, builder.at(eqn.loc, "adjoint", eqn.outputs[0].id):
        for atom, cotangent in zip(branch.outputs, cotangents, strict=True):
            if cotangent is not None:
                reverser.accumulate(atom, builder.tracer(cotangent), local)
        reverser.reverse_block(branch.eqns, local)
    return block, local


def _adjoint_or_zero(builder: GraphBuilder, var: Var, adjoints: Adjoints) -> Atom:
    if adjoints.get(var) is not None:
        return adjoints[var]
    return builder.apply_atom("zeros_like", (builder.tracer(var),))


# --- loops ----------------------------------------------------------------------------------
def reverse_loop(reverser: Reverser, eqn: Eqn, adjoints: Adjoints) -> None:
    cotangents = [adjoints.get(v) for v in eqn.outputs]
    if all(c is None for c in cotangents):
        return
    builder = reverser.builder
    body = body_of(eqn)
    carried_in = carried_inputs(eqn)
    inner = defined_vars(body.eqns) | set(body.inputs)
    flowing = [k for k, v in enumerate(carried_in) if v in reverser.active]
    free = _free_gradients(reverser, body, flowing, inner)
    with builder.at(eqn.loc, "adjoint", eqn.outputs[0].id):
        plan = _backward_body(reverser, eqn, flowing, free)
        inits: list[Atom] = [_emit_taped_forward(reverser, eqn, plan.residuals)]
        inits += [_adjoint_or_zero(builder, eqn.outputs[k], adjoints) for k in flowing]
        inits += [_adjoint_or_zero(builder, v, adjoints) for v in free]
        outputs = tuple(builder.new_var_like(v) for v in plan.graph.outputs)
        params = _backward_params(reverser, eqn, plan)
        builder.emit(
            Eqn(eqn.prim, tuple(inits), outputs, params, eqn.loc, "adjoint", eqn.outputs[0].id)
        )
        # free values first: their final adjoint includes what they had before the loop
        for position, var in enumerate(free):
            final = outputs[1 + len(flowing) + position]
            builder.set_role(final, adjoint_of(var))
            adjoints[var] = final
        for position, k in enumerate(flowing):
            builder.set_role(outputs[1 + position], adjoint_of(eqn.outputs[k]))
            reverser.accumulate(eqn.inputs[k], builder.tracer(outputs[1 + position]), adjoints)


def adjoint_of(var: Var) -> VarRole:
    """The role of a value that is the adjoint of ``var``."""
    return VarRole(RoleKind.ADJOINT, var.id)


def _free_gradients(
    reverser: Reverser, body: Graph, flowing: list[int], inner: set[Var]
) -> list[Var]:
    """Values from outside the loop that receive gradient inside it: the active values the
    body reads on a differentiable path to a flowing carried value (one backward walk over
    the body; a nested ``if`` or loop counts every active value read inside it)."""
    needed: set[Var] = {v for k in flowing if isinstance(v := body.outputs[k], Var)}
    for eqn in reversed(body.eqns):
        if not any(v in needed for v in eqn.outputs):
            continue
        if is_structured(eqn):  # at any depth: a branch of an if in a nested loop too
            read = used_atoms([eqn])
        elif PRIMS[eqn.prim].is_differentiable:
            read = list(eqn.inputs)
        else:
            continue
        needed.update(a for a in read if isinstance(a, Var) and a in reverser.active)
    return sorted((v for v in needed if v not in inner), key=lambda v: v.id)


class _Plan:
    def __init__(self, graph: Graph, residuals: list[Var]):
        self.graph = graph
        self.residuals = residuals


def _backward_body(reverser: Reverser, eqn: Eqn, flowing: list[int], free: list[Var]) -> _Plan:
    """The body of the backward loop, and the forward values it reads (the residuals):
    it pops them from the tape, then back-propagates one iteration."""
    builder = reverser.builder
    body = body_of(eqn)
    d_carried = [
        builder.new_var("", body.outputs[k].aval, adjoint_of(eqn.outputs[k])) for k in flowing
    ]
    d_free = [builder.new_var("", v.aval, adjoint_of(v)) for v in free]
    block, outs = _sweep_body(
        reverser, eqn, flowing, d_carried, dict(zip(free, d_free, strict=True))
    )
    # what the forward body defines as it will run (nested loops in their taped versions)
    inner = defined_vars(reverser.forward_eqns(body.eqns)) | set(body.inputs)
    counter = body.inputs[0] if has_counter(eqn) else None
    read = [a for a in used_atoms(block) + outs if isinstance(a, Var) and a in inner]
    residuals = list(dict.fromkeys(a for a in read if a != counter))
    restored = {r: builder.new_var("", r.aval, VarRole(RoleKind.RESTORED, r.id)) for r in residuals}
    new_counter = [] if counter is None else [builder.new_var_like(counter)]
    if counter is not None:
        restored[counter] = new_counter[0]  # the backward loop's own counter runs the same values
    tape_in, tape_out = builder.new_var("tape", TAPE), builder.new_var("tape", TAPE)
    popped = (tape_out, *(restored[r] for r in residuals))
    pop = Eqn("tape_pop", (tape_in,), popped, (), eqn.loc, "adjoint", eqn.outputs[0].id)
    eqns = (pop, *substitute(block, restored))
    outs = [restored.get(a, a) if isinstance(a, Var) else a for a in outs]
    inputs = (*new_counter, tape_in, *d_carried, *d_free)
    return _Plan(Graph("backward_loop", inputs, eqns, (tape_out, *outs)), residuals)


def _sweep_body(
    reverser: Reverser, eqn: Eqn, flowing: list[int], d_carried: list[Var], local: Adjoints
) -> tuple[list[Eqn], list[Atom]]:
    """One iteration's backward sweep, seeded with the carried adjoints ``d_carried``; returns
    its live equations and the adjoints it passes on (carried values, then free values)."""
    builder = reverser.builder
    body = body_of(eqn)
    free = list(local)
    with builder.block() as block:
        for k, seed in zip(flowing, d_carried, strict=True):
            reverser.accumulate(body.outputs[k], builder.tracer(seed), local)
        reverser.reverse_block(body.eqns, local)
        outs = [_adjoint_or_zero(builder, carried_inputs(eqn)[k], local) for k in flowing]
        outs += [local[v] for v in free]
    return _live_part(block, outs), outs


def _live_part(block: list[Eqn], outs: list[Atom]) -> list[Eqn]:
    """The equations of ``block`` that its outputs need."""
    from srcad.ir.dead_code import remove_dead_code

    return list(remove_dead_code(Graph("block", (), tuple(block), tuple(outs))).eqns)


def _emit_taped_forward(reverser: Reverser, eqn: Eqn, residuals: list[Var]) -> Var:
    """Replace the forward loop by one that records ``residuals`` each iteration; returns
    the filled tape."""
    builder = reverser.builder
    body = body_of(eqn)
    empty, tape_in, tape_out, filled = (builder.new_var("tape", TAPE) for _ in range(4))
    body_eqns = reverser.forward_eqns(body.eqns)
    push = Eqn("tape_push", (tape_in, *residuals), (tape_out,), (), eqn.loc, "primal")
    new_body = Graph(
        body.name, (*body.inputs, tape_in), (*body_eqns, push), (*body.outputs, tape_out)
    )
    params = dict(eqn.params)
    params["body"] = new_body
    if eqn.prim == "while":
        condition = condition_of(eqn)
        extra = builder.new_var("tape", TAPE)
        params["cond"] = Graph(
            condition.name, (*condition.inputs, extra), condition.eqns, condition.outputs
        )
    start = Eqn("tape_new", (), (empty,), (), eqn.loc, "primal")
    taped = Eqn(
        eqn.prim,
        (*eqn.inputs, empty),
        (*eqn.outputs, filled),
        tuple(sorted(params.items())),
        eqn.loc,
        "primal",
    )
    reverser.replaced[id(eqn)] = [start, taped]
    return filled


def _backward_params(reverser: Reverser, eqn: Eqn, plan: _Plan) -> tuple[tuple[str, object], ...]:
    if eqn.prim == "for":
        p = eqn.param_dict
        bounds = tuple((key, p[key]) for key in ("start", "step", "stop", "stop_dim") if key in p)
        return (("body", plan.graph), ("is_reversed", True), *bounds)
    builder = reverser.builder
    inputs = tuple(builder.new_var_like(v) for v in plan.graph.inputs)
    has_more = builder.new_var("has_more", AVal((), "bool"))
    check = Eqn("tape_nonempty", (inputs[0],), (has_more,), (), eqn.loc, "adjoint")
    has_more = Var(has_more.id, "", has_more.aval)
    check = Eqn("tape_nonempty", (inputs[0],), (has_more,), (), eqn.loc, "adjoint")
    condition = Graph("backward_cond", inputs, (check,), (has_more,))
    return (("body", plan.graph), ("cond", condition))
