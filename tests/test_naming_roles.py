"""Derivative values carry their relation to a primal value as a typed fact (``Var.role``).

The reverse sweep marks adjoints, forward mode marks tangents, a backward loop marks the
values it pops from the tape, and ``explain`` marks its probes; ``Var.hint`` keeps only the
user's name, and a role takes no part in a var's equality or hash.
"""

from __future__ import annotations

import numpy as np

from srcad.api.signature import bind_call, signature_of
from srcad.forward import forward_graph
from srcad.ir import AVal, Graph, Var
from srcad.ir.graph import RoleKind, VarRole
from srcad.ir.walk import sub_graphs, walk_eqns
from srcad.lower import lower_function
from srcad.reverse import reverse_graph
from srcad.reverse.activity import active_vars
from srcad.tools.explain import add_probes

F64 = AVal((3,), "float64")


def lowered(function, *args) -> Graph:
    signature = signature_of(bind_call(function, args, {}))
    return lower_function(function, signature.trees()).graph


def all_vars(graph: Graph) -> list[Var]:
    found = list(graph.inputs)
    for eqn in walk_eqns(graph.eqns):
        found += [v for sub in sub_graphs(eqn) for v in sub.inputs]
        found += list(eqn.outputs)
    return found


def by_hint(graph: Graph) -> dict[str, Var]:
    return {v.hint: v for v in all_vars(graph) if v.hint}


def layer(x, W):
    z = W @ x
    return np.sum(np.tanh(z))


def recurrence(W, xs):
    h = np.zeros(2)
    for x in xs:
        h = np.tanh(W @ h + x)
    return np.sum(h)


def test_a_role_takes_no_part_in_equality_or_hashing():
    plain = Var(7, "", F64)
    adjoint = Var(7, "", F64, VarRole(RoleKind.ADJOINT, 3))
    assert plain == adjoint and hash(plain) == hash(adjoint)
    assert {plain: 1}[adjoint] == 1
    assert not plain.is_named and adjoint.is_named
    assert adjoint.is_role(RoleKind.ADJOINT) and not adjoint.is_role(RoleKind.TANGENT)


def test_the_reverse_sweep_marks_adjoints():
    graph = lowered(layer, np.ones(3), np.ones((2, 3)))
    reversed_graph = reverse_graph(graph, (0, 1)).graph
    names = by_hint(graph)
    gradients = reversed_graph.outputs[len(graph.outputs) :]
    assert [g.role for g in gradients if isinstance(g, Var)] == [
        VarRole(RoleKind.ADJOINT, names["x"].id),
        VarRole(RoleKind.ADJOINT, names["W"].id),
    ]
    d_z = [
        v for v in all_vars(reversed_graph) if v.role == VarRole(RoleKind.ADJOINT, names["z"].id)
    ]
    assert len(d_z) == 1 and d_z[0].hint == ""


def test_no_hint_encodes_a_relation():
    graph = lowered(recurrence, np.eye(2), np.ones((3, 2)))
    for derived in (reverse_graph(graph, (0,)).graph, forward_graph(graph, (0,))):
        hints = {v.hint for v in all_vars(derived)}
        assert not any("@" in hint for hint in hints), hints


def test_a_backward_loop_marks_the_values_it_restores():
    graph = lowered(recurrence, np.eye(2), np.ones((3, 2)))
    primal_ids = {v.id for v in all_vars(graph)}
    restored = [v for v in all_vars(reverse_graph(graph, (0,)).graph) if v.role is not None]
    kinds = {v.role.kind for v in restored if v.role is not None}
    assert kinds == {RoleKind.ADJOINT, RoleKind.RESTORED}
    for var in restored:
        assert var.role is not None and var.role.of in primal_ids | {v.id for v in restored}


def test_forward_mode_marks_tangents():
    graph = lowered(layer, np.ones(3), np.ones((2, 3)))
    tangent_graph = forward_graph(graph, (0,))
    x = by_hint(graph)["x"]
    assert tangent_graph.inputs[-1].role == VarRole(RoleKind.TANGENT, x.id)
    output_tangent = tangent_graph.outputs[-1]
    assert isinstance(output_tangent, Var)
    assert output_tangent.role == VarRole(RoleKind.TANGENT, graph.outputs[0].id)


def test_explain_marks_its_probes():
    graph = lowered(layer, np.ones(3), np.ones((2, 3)))
    active = active_vars(graph.eqns, set(graph.inputs))
    _, probes = add_probes(graph, active)
    assert probes and all(p.role == VarRole(RoleKind.PROBE, of) for of, p in probes.items())
