"""Forward mode: a primal ``Graph`` → a graph computing its outputs and their tangents.

The new graph takes the primal inputs and one tangent per ``wrt`` input (``x_dot``); it
returns the primal outputs followed by one tangent per output. Each primal equation is
followed by the tangent equations of its JVP rule, run on tracers. Values that do not
depend on the ``wrt`` inputs have symbolic zero tangents: nothing is computed for them.
Branches and loops stay branches and loops, carrying tangents beside primal values; unlike
reverse mode, nothing needs recording.

Before:  b = exp(a); out = mul(x, b)             (wrt x, a)
After:   b = exp(a); b_dot = mul(a_dot, b)
         out = mul(x, b); out_dot = add(mul(x_dot, b), mul(x, b_dot))
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from srcad.errors import NoDerivativeRule, ShapeError, SrcadError
from srcad.ir import Atom, Const, Eqn, Graph, Var
from srcad.ir.builder import GraphBuilder, TraceError, Tracer
from srcad.ir.control import body_of, branches_of, condition_of
from srcad.ir.facts import has_counter, is_loop
from srcad.ir.graph import RoleKind, VarRole, source_position
from srcad.ir.prims import PRIMS
from srcad.ir.walk import max_var_id, walk_eqns
from srcad.reverse.activity import active_vars, refuse_active_draw
from srcad.reverse.masks import MaskedBranches, masked_branches
from srcad.rules import JVP_RULES


def forward_graph(graph: Graph, wrt: tuple[int, ...]) -> Graph:
    """The JVP graph of ``graph`` with tangent inputs for inputs ``wrt``."""
    builder = GraphBuilder(first_id=max_var_id(graph) + 1)
    for eqn in walk_eqns(graph.eqns):
        builder.register(eqn)
    active = active_vars(graph.eqns, {graph.inputs[i] for i in wrt})
    tangents: dict[Var, Atom] = {}
    tangent_inputs: list[Var] = []
    for i in wrt:
        var = graph.inputs[i]
        tangent = builder.new_var("", var.aval, tangent_of(var))
        tangents[var] = tangent
        tangent_inputs.append(tangent)
    masks = masked_branches(graph, builder.producer, active)
    _Forward(builder, active, masks).block(graph.eqns, tangents)
    outputs = [_tangent_or_zero(builder, atom, tangents) for atom in graph.outputs]
    return builder.build(graph.name, [*graph.inputs, *tangent_inputs], [*graph.outputs, *outputs])


class _Forward:
    def __init__(self, builder: GraphBuilder, active: set[Var], masks: MaskedBranches):
        self.builder = builder
        self.active = active
        self.masks = masks  # tangents of np.where's branches: NumPy's warnings off

    def block(self, eqns: Iterable[Eqn], tangents: dict[Var, Atom]) -> None:
        """Append ``eqns`` and their tangent equations to the current block."""
        for eqn in eqns:
            if eqn.prim == "cond":
                self.cond(eqn, tangents)
            elif is_loop(eqn):
                self.loop(eqn, tangents)
            else:
                self.builder.emit(eqn)
                self.step(eqn, tangents)

    def step(self, eqn: Eqn, tangents: dict[Var, Atom]) -> None:
        inputs_dot = [tangents.get(a) if isinstance(a, Var) else None for a in eqn.inputs]
        if eqn.prim == "outside_call" and any(t is not None for t in inputs_dot):
            refuse_active_draw(eqn)
        if all(t is None for t in inputs_dot) or not PRIMS[eqn.prim].is_differentiable:
            return
        if not any(var in self.active for var in eqn.outputs):
            return  # an integer or boolean result (x.astype(int)): a step, no tangent
        rule = JVP_RULES.get(eqn.prim)
        if rule is None:
            raise NoDerivativeRule(
                f"{PRIMS[eqn.prim].spelling} has no forward-mode rule; use reverse mode "
                "(the default) or register one with srcad.defjvp",
                *source_position(eqn.loc),
            )
        builder = self.builder
        quiet = self.masks.computes_dropped_values(eqn, backward=False)
        with builder.at(eqn.loc, "tangent", eqn.outputs[0].id, quiet):
            args = tuple(None if t is None else builder.tracer(t) for t in inputs_dot)
            out = tuple(builder.tracer(v) for v in eqn.outputs)
            inputs = [builder.tracer(a) for a in eqn.inputs]
            try:
                result = rule(args, out if len(out) > 1 else out[0], *inputs, **eqn.param_dict)
            except TraceError as error:
                raise ShapeError(str(error), *source_position(eqn.loc)) from None
            except NotImplementedError as error:  # a rule that covers only some cases
                where = source_position(eqn.loc)
                raise NoDerivativeRule(f"no derivative for {error}", *where) from None
            except SrcadError as error:  # a rule of the user's, not located yet
                raise error.at(*source_position(eqn.loc)) from None
            results = result if len(eqn.outputs) > 1 else (result,)
            for var, tangent in zip(eqn.outputs, results, strict=True):
                if tangent is not None:
                    atom = _fit(builder, tangent, var)
                    if isinstance(atom, Var) and not builder.is_named(atom):
                        builder.set_role(atom, tangent_of(var))
                    tangents[var] = atom

    def cond(self, eqn: Eqn, tangents: dict[Var, Atom]) -> None:
        builder = self.builder
        flowing = [k for k, v in enumerate(eqn.outputs) if v in self.active]
        new_branches = []
        for branch in branches_of(eqn):
            local = dict(tangents)
            with builder.block() as block:
                self.block(branch.eqns, local)
                with builder.at(eqn.loc, "tangent", _origin(eqn)):
                    dots = [_tangent_or_zero(builder, branch.outputs[k], local) for k in flowing]
            new_branches.append(Graph(branch.name, (), tuple(block), (*branch.outputs, *dots)))
        output_dots = tuple(
            builder.new_var("", eqn.outputs[k].aval, tangent_of(eqn.outputs[k])) for k in flowing
        )
        builder.emit(
            Eqn(
                "cond",
                eqn.inputs,
                (*eqn.outputs, *output_dots),
                (("branches", tuple(new_branches)),),
                eqn.loc,
                eqn.role,
                eqn.origin,
            )
        )
        for k, dot in zip(flowing, output_dots, strict=True):
            tangents[eqn.outputs[k]] = dot

    def loop(self, eqn: Eqn, tangents: dict[Var, Atom]) -> None:
        builder = self.builder
        params = eqn.param_dict
        body = body_of(eqn)
        offset = 1 if has_counter(eqn) else 0
        carried = body.inputs[offset:]
        flowing = [k for k, v in enumerate(carried) if v in self.active]
        dots_in = [builder.new_var("", carried[k].aval, tangent_of(carried[k])) for k in flowing]
        local = dict(tangents)
        local.update({carried[k]: dot for k, dot in zip(flowing, dots_in, strict=True)})
        with builder.block() as block:
            self.block(body.eqns, local)
            with builder.at(eqn.loc, "tangent", _origin(eqn)):
                dots_out = [_tangent_or_zero(builder, body.outputs[k], local) for k in flowing]
        new_params = dict(params)
        new_params["body"] = Graph(
            body.name, (*body.inputs, *dots_in), tuple(block), (*body.outputs, *dots_out)
        )
        if eqn.prim == "while":
            condition = condition_of(eqn)
            extra = tuple(builder.new_var_like(v) for v in dots_in)
            new_params["cond"] = Graph(
                condition.name, (*condition.inputs, *extra), condition.eqns, condition.outputs
            )
        with builder.at(eqn.loc, "tangent", _origin(eqn)):
            inits = [_tangent_or_zero(builder, eqn.inputs[k], tangents) for k in flowing]
        outs = tuple(
            builder.new_var("", eqn.outputs[k].aval, tangent_of(eqn.outputs[k])) for k in flowing
        )
        builder.emit(
            Eqn(
                eqn.prim,
                (*eqn.inputs, *inits),
                (*eqn.outputs, *outs),
                tuple(sorted(new_params.items())),
                eqn.loc,
                eqn.role,
                eqn.origin,
            )
        )
        for k, out in zip(flowing, outs, strict=True):
            tangents[eqn.outputs[k]] = out


def tangent_of(var: Var) -> VarRole:
    """The role of a value that is the tangent of ``var``."""
    return VarRole(RoleKind.TANGENT, var.id)


def _fit(builder: GraphBuilder, tangent: object, var: Var) -> Atom:
    """The tangent as an atom with ``var``'s shape (broadcast when it is smaller)."""
    atom = tangent.atom if isinstance(tangent, Tracer) else builder.atom_of(tangent)
    if atom.aval.shape != var.aval.shape:
        if np.broadcast_shapes(atom.aval.shape, var.aval.shape) != var.aval.shape:
            raise ShapeError(f"internal: tangent of shape {atom.aval.shape} for {var.aval.shape}")
        atom = builder.apply_atom(
            "broadcast_to", (builder.tracer(atom),), {"shape": var.aval.shape}
        )
    return atom


def _origin(eqn: Eqn) -> int | None:
    """What a tangent equation of a branch or a loop differentiates: its first result (an
    ``if`` that only prints or raises has none)."""
    return eqn.outputs[0].id if eqn.outputs else None


def _tangent_or_zero(builder: GraphBuilder, atom: Atom, tangents: dict[Var, Atom]) -> Atom:
    if isinstance(atom, Var) and tangents.get(atom) is not None:
        return tangents[atom]
    if isinstance(atom, Const) and (atom.value is None or isinstance(atom.value, str)):
        return Const(None)  # an auxiliary output's label: no tangent
    if isinstance(atom, Const) and type(atom.value) is float:
        return Const(0.0)  # a Python float's: a Python float (np.zeros_like gives a 0-d array)
    value = builder.tracer(atom) if isinstance(atom, Var) else atom.value
    return builder.apply_atom("zeros_like", (value,))
