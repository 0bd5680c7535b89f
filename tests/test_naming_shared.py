"""One value, one name: the generated code, graph pictures, the grad table and the IR printer
name values by the same rules (``srcad.ir.naming``); pictures and the table by the generated
code's own allocator."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import srcad
from srcad.api.signature import bind_call, signature_of
from srcad.arguments import Wrt
from srcad.cli import load_module_from_path
from srcad.codegen import emit
from srcad.ir import Graph
from srcad.ir.naming import value_names as rule_names
from srcad.ir.printer import format_graph
from srcad.lower import lower_function
from srcad.pipeline import _compile_reverse, plain_function
from srcad.tools.graph import value_names as picture_names

ROOT = Path(__file__).parent.parent
EXAMPLES = [
    ROOT / "examples" / "basics.py",
    ROOT / "examples" / "loops.py",
    ROOT / "tests" / "golden" / "ir_cases.py",
]


def example_cases(paths: list[Path]) -> list:
    cases = []
    for path in paths:
        module = load_module_from_path(path)
        argnums = getattr(module, "EXAMPLE_ARGNUMS", {})
        for name, args in module.EXAMPLE_ARGS.items():
            case = (getattr(module, name), args, argnums.get(name, 0))
            cases.append(pytest.param(*case, id=f"{path.stem}:{name}"))
    return cases


def generated_names(monkeypatch, function, args, argnums) -> tuple[Graph, dict[int, str]]:
    """The graph the generated code is emitted from, and the names the emitter gave."""
    emitters = []
    name_all = emit.Emitter.name_all

    def capturing(emitter):
        prologue = name_all(emitter)
        emitters.append(emitter)
        return prologue

    monkeypatch.setattr(emit.Emitter, "name_all", capturing)
    signature = signature_of(bind_call(function, args, {}), function)
    _compile_reverse(function, signature, Wrt.of(argnums), False, True)
    return emitters[-1].graph, emitters[-1].names.names


def lowered_graph(function, *args) -> Graph:
    signature = signature_of(bind_call(function, args, {}), function)
    return lower_function(plain_function(function, signature), signature.trees()).graph


@pytest.mark.sampled(2)
@pytest.mark.parametrize("function, args, argnums", example_cases(EXAMPLES))
def test_pictures_name_values_as_the_generated_code(monkeypatch, function, args, argnums):
    graph, names = generated_names(monkeypatch, function, args, argnums)
    drawn = picture_names(graph)
    assert drawn, "no names"
    assert {i: names[i] for i in drawn} == drawn


@pytest.mark.parametrize("function, args, argnums", example_cases(EXAMPLES[:1]))
def test_the_printer_names_straight_line_code_as_the_generated_code(
    monkeypatch, function, args, argnums
):
    graph, names = generated_names(monkeypatch, function, args, argnums)
    assert rule_names(graph) == names


def tanh_layer(x, W):
    z = W @ x
    return np.sum(np.tanh(z) * W[0, 0])


def test_one_value_has_one_name_in_show_graph_explain_and_the_printer():
    x, W = np.array([0.1, -0.2, 0.3]), np.arange(12.0).reshape(4, 3) / 10
    gradient = srcad.value_and_grad(tanh_layer, argnums=(0, 1))
    gradient(x, W)
    source = srcad.source(gradient)
    assert "tanh_z = np.tanh(z)" in source and "W_0_0 = W[0, 0]" in source
    assert re.search(r"^\s+dz = ", source, re.MULTILINE)

    labels = set(re.findall(r'label="([^"]*)"', srcad.graph(tanh_layer, x, W).to_dot()))
    assert {"tanh\\ntanh_z", "[0, 0]\\nW_0_0", "@\\nz"} <= labels
    backward = srcad.graph(tanh_layer, x, W, argnums=(0, 1), backward=True).to_dot()
    assert "dz" in re.findall(r'label="[^"]*\\n(\w+)"', backward)

    table = srcad.explain(tanh_layer, x, W, argnums=(0, 1))
    assert table.row("tanh_z").operation == "tanh(z)"
    assert table.row("W_0_0").operation == "W[0, 0]"

    text = format_graph(lowered_graph(tanh_layer, x, W))
    assert "(tanh_z):f64[4] = tanh" in text and "(W_0_0):f64[] = getitem" in text
    assert "(dz):f64[4]" in format_graph(gradient.last.derive_graph())


def reassigned(x):
    y = np.sin(x)
    y = y * y
    return np.sum(y * np.cos(y) + y + x)


def test_the_rules_name_reassigned_values_and_the_contributions_to_an_adjoint():
    x = np.array([0.5, 1.0])
    names = rule_names(lowered_graph(reassigned, x))
    assert list(names.values()) == ["x", "y", "y_1", "cos_y_1", "t1", "t2", "t3", "out"]
    gradient = srcad.value_and_grad(reassigned)
    gradient(x)
    derived = gradient.last.derive_graph()
    names = rule_names(derived)
    adjoints = [names[v.id] for e in derived.eqns if e.role == "adjoint" for v in e.outputs]
    assert adjoints.count("dy_1") == 2 and "dy_1_1" not in adjoints
    assert re.search(r"^\s+dy_1 = ", srcad.source(gradient), re.MULTILINE)


def test_format_graph_prints_names_it_is_given():
    graph = lowered_graph(reassigned, np.array([0.5, 1.0]))
    names = {v.id: f"v{v.id}" for v in graph.inputs}
    assert format_graph(graph, names=names).startswith("graph reassigned(%0(v0):f64[2])")
