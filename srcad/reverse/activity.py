"""Activity analysis: which vars depend on the inputs differentiated, through
differentiable operations. Only those get adjoints (or tangents); everything else is a
constant of the derivative.

    y = x * 2.0; n = len(xs); z = y + n     (wrt x)   →   active: x, y, z

Integers and booleans carry no derivative: a value cast to them (``(x / h).astype(int)``,
``x.astype(bool)``, a float written into an int array) is a step of its input, slope 0,
and never active.

Through a ``cond``, an output is active when a branch's result is; through a loop, a carried
value is active when it enters active or the body makes it so, to a fixed point.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from srcad.errors import NoDerivativeRule
from srcad.ir import Atom, Eqn, Var
from srcad.ir.control import body_of, branches_of, carried_inputs
from srcad.ir.facts import is_structured
from srcad.ir.graph import source_position
from srcad.ir.prims import PRIMS
from srcad.ir.world import is_random_draw


def active_vars(eqns: Iterable[Eqn], active: set[Var]) -> set[Var]:
    """Vars that depend on ``active`` ones through differentiable operations."""
    for eqn in eqns:
        if is_structured(eqn):
            mark_active_structured(eqn, active)
        elif PRIMS[eqn.prim].is_differentiable and any(a in active for a in eqn.inputs):
            active.update(v for v in eqn.outputs if carries_derivative(v))
        elif eqn.prim == "outside_call" and any(a in active for a in eqn.inputs):
            refuse_active_draw(eqn)
    return active


def refuse_active_draw(eqn: Eqn) -> None:
    """An outside call whose arguments depend on a differentiated value: a random draw of
    floats (its derivative is not zero, and srcad has none to give) or a NumPy function
    without a rule (run by the generated code on constants only). Integers drawn (indices
    from ``choice(n, p=softmax(w))``) are steps of the parameters: their slope is 0."""
    callee = eqn.param_dict.get("callee")
    name = getattr(callee, "text", callee)
    if not any(out.aval.is_float for out in eqn.outputs):
        return  # indices drawn with probabilities p: a step function of p, slope 0
    if is_random_draw(eqn):
        raise NoDerivativeRule(
            f"'{name}' draws with parameters computed from the differentiated input, and srcad "
            "does not differentiate through random draws; draw standard values and transform "
            "them (mu + sigma * np.random.normal(size=...), the reparameterization)",
            *source_position(eqn.loc),
        )
    if any(out.aval.is_float for out in eqn.outputs):
        raise NoDerivativeRule(
            f"'{name}' has no derivative rule, and here its argument depends on the "
            "differentiated input; rewrite it with supported NumPy operations or give it one "
            f"with srcad.defvjp({name}, rule)",
            *source_position(eqn.loc),
        )


def mark_active_structured(eqn: Eqn, active: set[Var]) -> None:
    """Extend ``active`` through a ``cond``, ``for`` or ``while`` equation."""
    if eqn.prim == "cond":
        branches = branches_of(eqn)
        for branch in branches:
            active_vars(branch.eqns, active)
        for k, out in enumerate(eqn.outputs):
            if any(is_active(b.outputs[k], active) for b in branches) and carries_derivative(out):
                active.add(out)
        return
    body = body_of(eqn)
    carried_in = carried_inputs(eqn)
    while True:
        size = len(active)
        for k, var in enumerate(carried_in):
            if not carries_derivative(var):
                continue
            if is_active(eqn.inputs[k], active) or is_active(body.outputs[k], active):
                active.add(var)
                active.add(eqn.outputs[k])
        active_vars(body.eqns, active)
        if len(active) == size:
            return


def carries_derivative(var: Var) -> bool:
    """Whether a value may have a derivative: not an integer or a boolean (nor an effect)."""
    dtype = var.aval.dtype
    return not dtype.startswith("str") and np.dtype(dtype).kind in "fcO"


def is_active(atom: Atom, active: set[Var]) -> bool:
    return isinstance(atom, Var) and atom in active
