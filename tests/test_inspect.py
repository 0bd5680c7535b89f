"""``srcad.make_graph`` and ``srcad.api.inspect``: what srcad makes of a function, as data."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import srcad
from srcad.api import inspect
from srcad.ir import Const, Graph, Var


def f(a, b):
    return a * np.exp(b)


def layer(params, x, n):
    W, b = params["W"], params["b"]
    return np.sum(np.tanh(W @ x + b)) * n


def looped(x):
    for _ in range(3):
        x = np.sin(x) * 2.0
    return np.sum(x)


def test_make_graph_is_public():
    assert srcad.make_graph is inspect.make_graph
    assert srcad.GraphView is inspect.GraphView
    assert {"make_graph", "GraphView", "graph", "explain", "compare", "grad"} <= set(srcad.__all__)


def test_the_view_holds_the_lowered_graph_and_its_names():
    view = srcad.make_graph(f)(1.0, 2.0)
    assert isinstance(view.graph, Graph) and view.function == "f"
    assert [view.names[v.id] for v in view.graph.inputs] == ["a", "b"]
    assert [eqn.prim for eqn in view.graph.eqns] == ["exp", "multiply"]
    assert sorted(view.names.values()) == ["a", "b", "exp_b", "out"]
    assert view.wrt == (0,) and view.gradient is None and view.gradient_output_names == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.wrt = (1,)  # type: ignore[misc]


def test_the_active_values_depend_on_the_differentiated_inputs():
    a, b = srcad.make_graph(f)(1.0, 2.0).graph.inputs
    by_a = srcad.make_graph(f, argnums=0)(1.0, 2.0)
    by_b = srcad.make_graph(f, argnums=1)(1.0, 2.0)
    exp_b = by_a.graph.eqns[0].outputs[0]
    assert a in by_a.active and exp_b not in by_a.active
    assert {b, exp_b} <= by_b.active and a not in by_b.active


def test_pytree_arguments_become_inputs_in_order_and_constants_stay_out():
    W, b, x = np.ones((2, 3)), np.zeros(2), np.arange(3.0)
    view = srcad.make_graph(layer, argnums=0)({"W": W, "b": b}, x, 2)
    assert len(view.graph.inputs) == len(view.argument_values) == 3
    assert [np.shape(v) for v in view.argument_values] == [(2, 3), (2,), (3,)]
    assert view.wrt == (0, 1)  # W and b, not x; n is a constant


def test_the_gradient_graph_and_its_output_names():
    view = srcad.make_graph(f, argnums=(0, 1), backward=True)(1.0, 2.0)
    assert view.gradient_output_names == ("", "da", "db")
    assert len(view.gradient.outputs) == 3
    assert view.gradient == inspect.gradient_graph(view.graph, view.wrt)
    names = inspect.value_names(view.gradient)
    assert [names[a.id] for a in view.gradient.outputs] == ["out", "da", "db"]
    source = srcad.source(srcad.grad(f, argnums=(0, 1)))
    assert "def f_grad(a, b, dout=1.0)" in source and "return out, (da, db)" in source


def test_evaluate_graph_runs_the_primal_and_the_gradient_graph():
    view = srcad.make_graph(f, argnums=(0, 1), backward=True)(1.5, 0.5)
    primal = inspect.evaluate_graph(view.graph, view.argument_values)
    assert primal[view.graph.outputs[0].id] == pytest.approx(f(1.5, 0.5))
    values = inspect.evaluate_graph(view.gradient, [*view.argument_values, 1.0])
    gradients = [values[a.id] for a in view.gradient.outputs[1:]]
    assert gradients == pytest.approx(list(srcad.grad(f, argnums=(0, 1))(1.5, 0.5)))


def test_evaluate_graph_refuses_control_flow():
    view = srcad.make_graph(looped)(np.ones(2))
    with pytest.raises(srcad.SrcadError, match="structured equation for"):
        inspect.evaluate_graph(view.graph, view.argument_values)


def test_keep_primal_values_keeps_every_forward_value():
    view = srcad.make_graph(f, argnums=1)(1.0, 2.0)
    kept = inspect.gradient_graph(view.graph, view.wrt, keep_primal_values=True)
    primal = [e for e in kept.eqns if e.role == "primal"]
    assert [e.prim for e in primal] == ["exp", "multiply"]
    assert len(kept.outputs) == 2


def test_the_query_helpers_see_into_loops():
    view = srcad.make_graph(looped)(np.ones(2))
    loop = next(eqn for eqn in view.graph.eqns if inspect.sub_graphs(eqn))
    assert inspect.is_loop(loop) and inspect.has_counter(loop)
    assert not inspect.is_statement(loop) and inspect.operator_of(loop) is None
    (body,) = inspect.sub_graphs(loop)
    prims = [eqn.prim for eqn in inspect.walk_eqns(view.graph.eqns)]
    assert "sin" in prims and "sin" in [eqn.prim for eqn in body.eqns]
    assert inspect.max_var_id(view.graph) >= max(v.id for v in body.inputs)
    multiply = next(eqn for eqn in body.eqns if eqn.prim == "multiply")
    assert inspect.operator_of(multiply) == "*"
    assert any(isinstance(atom, Const) for atom in multiply.inputs)


def test_a_probe_is_a_var_with_a_role():
    var = Var(7, "", srcad.make_graph(f)(1.0, 2.0).graph.inputs[0].aval)
    role = inspect.VarRole(inspect.RoleKind.PROBE, var.id)
    assert dataclasses.replace(var, role=role).role.of == 7


def test_printing_a_view_shows_both_graphs_with_the_same_names():
    text = str(srcad.make_graph(f, argnums=(0, 1), backward=True)(1.0, 2.0))
    assert text.count("graph f(") == 2
    assert "%2(exp_b)" in text and "(da)" in text and "(db)" in text and "(dout)" in text
