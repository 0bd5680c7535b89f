"""The backward sweep over a block of equations, and the top-level reverse transform."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from srcad.errors import NoDerivativeRule, ShapeError, SrcadError
from srcad.ir import Atom, AVal, Eqn, Graph, Var
from srcad.ir.builder import GraphBuilder, TraceError, Tracer
from srcad.ir.control import branches_of
from srcad.ir.facts import is_loop
from srcad.ir.graph import RoleKind, VarRole, source_position
from srcad.ir.prims import PRIMS
from srcad.ir.walk import max_var_id, walk_eqns
from srcad.reverse import control, mask_code
from srcad.reverse.activity import active_vars
from srcad.reverse.masks import MaskedBranches, masked_branches
from srcad.rules import VJP_RULES
from srcad.rules.registry import Refused


@dataclass(frozen=True)
class ReverseResult:
    """The gradient graph: inputs are primal inputs + ``dout``; outputs are primal outputs
    followed by one gradient per ``wrt`` input."""

    graph: Graph


def reverse_graph(
    graph: Graph, wrt: tuple[int, ...], outputs: tuple[int, ...] = (0,)
) -> ReverseResult:
    """Differentiate the outputs ``outputs`` of ``graph`` with respect to inputs ``wrt``: the
    result takes one cotangent per differentiated output (``dout``, or ``dout_0``,
    ``dout_1``, ... when there are several) after the inputs, and returns the outputs, then
    one gradient per input of ``wrt``."""
    builder = GraphBuilder(first_id=max_var_id(graph) + 1)
    for eqn in walk_eqns(graph.eqns):
        builder.register(eqn)
    for eqn in graph.eqns:
        builder.remember(eqn)  # the backward sweep reuses forward values it recomputes
    active = active_vars(graph.eqns, {graph.inputs[i] for i in wrt})
    reverser = Reverser(builder, active, masked_branches(graph, builder.producer, active))
    adjoints: dict[Var, Atom] = {}
    douts = []
    for k, index in enumerate(outputs):
        target = graph.outputs[index]
        name = "dout" if len(outputs) == 1 else f"dout_{k}"
        dout = builder.new_var(name, _cotangent_aval(target.aval))
        douts.append(dout)
        if isinstance(target, Var) and target in active and target not in adjoints:
            adjoints[target] = dout
        else:  # an output returned twice: its cotangents add up
            reverser.accumulate(target, builder.tracer(dout), adjoints)
    reverser.reverse_block(graph.eqns, adjoints)
    inputs = [graph.inputs[i] for i in wrt]
    grads = _distinct(builder, inputs, [_gradient_of(builder, v, adjoints) for v in inputs])
    backward = list(builder.eqns)
    builder.eqns[:] = reverser.forward_eqns(graph.eqns) + backward
    result = builder.build(graph.name, [*graph.inputs, *douts], [*graph.outputs, *grads])
    return ReverseResult(result)


class Reverser:
    """The state of one reverse transformation: the builder, which vars are active, and
    the forward equations replaced by taped versions (loops that record for the backward
    sweep)."""

    def __init__(self, builder: GraphBuilder, active: set[Var], masks: MaskedBranches):
        self.builder = builder
        self.active = active
        self.masks = masks
        self.replaced: dict[int, list[Eqn]] = {}

    def reverse_block(self, eqns: Sequence[Eqn], adjoints: dict[Var, Atom]) -> None:
        """Append the backward sweep of ``eqns`` (in reverse order) to the current block."""
        for eqn in reversed(eqns):
            if eqn.prim == "cond":
                control.reverse_cond(self, eqn, adjoints)
            elif is_loop(eqn):
                control.reverse_loop(self, eqn, adjoints)
            else:
                _backward_step(self.builder, eqn, adjoints, self.active, self.masks)

    def forward_eqns(self, eqns: Iterable[Eqn]) -> list[Eqn]:
        """``eqns`` with replaced equations swapped for their taped versions, also inside
        the branches of a ``cond`` (a loop under an ``if``: the backward branch reads its
        tape, which the same forward branch filled)."""
        result: list[Eqn] = []
        for eqn in eqns:
            if id(eqn) in self.replaced:
                result.extend(self.replaced[id(eqn)])
            elif eqn.prim == "cond":
                result.append(self._forward_cond(eqn))
            else:
                result.append(eqn)
        return result

    def _forward_cond(self, eqn: Eqn) -> Eqn:
        branches = branches_of(eqn)
        forward = [self.forward_eqns(branch.eqns) for branch in branches]
        if all(map(_same_eqns, forward, (b.eqns for b in branches))):
            return eqn
        new = tuple(replace(b, eqns=tuple(f)) for b, f in zip(branches, forward, strict=True))
        params = tuple((k, new if k == "branches" else v) for k, v in eqn.params)
        return replace(eqn, params=params)

    def accumulate(self, atom: Atom, result: object, adjoints: dict[Var, Atom]) -> None:
        """Add ``result`` to the adjoint of ``atom`` when it is an active var."""
        if isinstance(atom, Var) and atom in self.active:
            _accumulate(self.builder, atom, result, adjoints)


def _cotangent_aval(aval: AVal) -> AVal:
    """A Python float ``dout=1.0`` for float64 scalars; otherwise the output's own aval, so
    that a float32 function's backward sweep stays in float32."""
    if aval.shape == () and aval.dtype == "float64":
        return AVal((), "float64", is_weak=True)
    return AVal(aval.shape, aval.dtype)


def _backward_step(
    builder: GraphBuilder,
    eqn: Eqn,
    adjoints: dict[Var, Atom],
    active: set[Var],
    masks: MaskedBranches,
) -> None:
    cotangents = [adjoints.get(v) for v in eqn.outputs]
    if all(c is None for c in cotangents):
        return
    if not any(isinstance(a, Var) and a in active for a in eqn.inputs):
        return
    rule = VJP_RULES.get(eqn.prim)
    if rule is None:
        raise NoDerivativeRule(
            f"{PRIMS[eqn.prim].spelling} has no reverse rule; register one with " "srcad.defvjp",
            *source_position(eqn.loc),
        )
    quiet = masks.computes_dropped_values(eqn)  # NumPy's warnings about those: off
    with builder.at(eqn.loc, "adjoint", eqn.outputs[0].id, quiet):
        g = _cotangent_tracers(builder, eqn, cotangents)
        outs = tuple(builder.tracer(v) for v in eqn.outputs)
        out = outs if len(outs) > 1 else outs[0]
        inputs = [builder.tracer(a) for a in eqn.inputs]
        try:
            rule_inputs = mask_code.rule_inputs(builder, eqn, inputs, masks)
            results = rule(g if len(eqn.outputs) > 1 else g[0], out, *rule_inputs, **eqn.param_dict)
            results = mask_code.masked_results(builder, eqn, results, inputs, masks, g[0])
            _refuse_where_differentiated(eqn.inputs, results, active)
        except TraceError as error:
            raise ShapeError(str(error), *source_position(eqn.loc)) from None
        except NotImplementedError as error:  # a rule that covers only some cases
            raise NoDerivativeRule(
                f"no derivative for {error}", *source_position(eqn.loc)
            ) from None
        except SrcadError as error:  # a rule of the user's, not located yet
            raise error.at(*source_position(eqn.loc)) from None
        for atom, result in _per_input(eqn.inputs, results, active).items():
            _accumulate(builder, atom, result, adjoints)


def _refuse_where_differentiated(
    inputs: tuple[Atom, ...], results: tuple, active: set[Var]
) -> None:
    """A cotangent the rule refused (``Refused``), for an input the sweep differentiates."""
    for atom, result in zip(inputs, results, strict=False):
        if isinstance(result, Refused) and isinstance(atom, Var) and atom in active:
            raise NotImplementedError(result.reason)


def _per_input(inputs: tuple[Atom, ...], results: tuple, active: set[Var]) -> dict[Var, object]:
    """Each active input's contribution from one rule: an input the equation reads twice
    (``s - s``, ``x * x``) gets the sum of its two, added together before they join its
    adjoint, as the chain rule groups them (``(ds + g) - g`` loses ``ds``'s low bits where
    ``g`` is large; ``ds + (g - g)`` does not)."""
    per_input: dict[Var, object] = {}
    for atom, result in zip(inputs, results, strict=True):
        if isinstance(result, Refused):
            continue  # an input not differentiated (else refused before)
        if result is not None and isinstance(atom, Var) and atom in active:
            earlier = per_input.get(atom)
            per_input[atom] = result if earlier is None else earlier + result
    return per_input


def _cotangent_tracers(
    builder: GraphBuilder, eqn: Eqn, cotangents: list[Atom | None]
) -> tuple[Tracer, ...]:
    """Tracers for the output cotangents, materialising zeros only for multi-output eqns."""
    tracers = []
    for var, cotangent in zip(eqn.outputs, cotangents, strict=True):
        if cotangent is None:
            cotangent = builder.apply_atom("zeros_like", (builder.tracer(var),))
        tracers.append(builder.tracer(cotangent))
    return tuple(tracers)


def _accumulate(builder: GraphBuilder, var: Var, result: object, adjoints: dict[Var, Atom]) -> None:
    """Add one contribution to the adjoint of ``var`` (``dx = dx + ...``)."""
    contribution = _fit_to(builder, result, var)
    previous = adjoints.get(var)
    scatter = _scattered(builder, contribution)
    if previous is None:
        total = contribution
    elif scatter is not None:
        # dx[i] += g rather than dx = dx + (zeros with g at i)
        total = builder.apply_atom(
            "index_add",
            (builder.tracer(previous), *(builder.tracer(a) for a in scatter.inputs)),
            {"index": scatter.param_dict["index"]},
        )
    else:
        total = builder.apply_atom("add", (builder.tracer(previous), builder.tracer(contribution)))
    if isinstance(total, Var) and total.id not in (var.id,) and not builder.is_named(total):
        builder.set_role(total, VarRole(RoleKind.ADJOINT, var.id))
    adjoints[var] = total


def _scattered(builder: GraphBuilder, atom: Atom) -> Eqn | None:
    """The ``add_at`` equation that produced ``atom``, if it did."""
    if not isinstance(atom, Var):
        return None
    eqn = builder.producer(atom)
    return eqn if eqn is not None and eqn.prim == "add_at" else None


def _fit_to(builder: GraphBuilder, result: object, var: Var) -> Atom:
    """The contribution as an atom with the shape of ``var`` (broadcast when it is smaller)."""
    atom = result.atom if isinstance(result, Tracer) else builder.atom_of(result)
    if atom.aval.shape != var.aval.shape:
        if np.broadcast_shapes(atom.aval.shape, var.aval.shape) != var.aval.shape:
            raise ShapeError(
                f"internal: cotangent of shape {atom.aval.shape} for a value of shape "
                f"{var.aval.shape}",
            )
        atom = builder.apply_atom(
            "broadcast_to", (builder.tracer(atom),), {"shape": var.aval.shape}
        )
    return atom


def _distinct(builder: GraphBuilder, inputs: list[Var], grads: list[Atom]) -> list[Atom]:
    """``grads`` (of ``inputs``) with a copy in place of an array that an earlier gradient is
    already (the biases of ``X @ W + b_in + b_out`` get one cotangent): returned twice, it
    was one object, and scaling one gradient in place (``g[k] *= lr``) changed the other."""
    last_copy: dict[int, Atom] = {}  # a gradient returned already -> its latest copy
    distinct = []
    for var, atom in zip(inputs, grads, strict=True):
        if isinstance(atom, Var) and atom.aval.shape != () and atom.id in last_copy:
            original = atom.id
            with builder.at(None, "adjoint"):  # a copy of the latest: one of each is one
                atom = builder.apply_atom("copy", (builder.tracer(last_copy[original]),))
            if isinstance(atom, Var):
                builder.set_role(atom, VarRole(RoleKind.ADJOINT, var.id))
            last_copy[original] = atom
        elif isinstance(atom, Var):
            last_copy[atom.id] = atom
        distinct.append(atom)
    return distinct


def _gradient_of(builder: GraphBuilder, var: Var, adjoints: dict[Var, Atom]) -> Atom:
    """The adjoint of an input; an explicit zero only when nothing reached it."""
    if var in adjoints:
        return adjoints[var]
    zero = builder.apply_atom("zeros_like", (builder.tracer(var),))
    if isinstance(zero, Var):  # always: zeros_like of a var is never folded to a constant
        builder.set_role(zero, VarRole(RoleKind.ADJOINT, var.id))
    return zero


def _same_eqns(new: list[Eqn], old: tuple[Eqn, ...]) -> bool:
    return len(new) == len(old) and all(map(operator.is_, new, old))
