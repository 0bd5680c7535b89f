"""Drawing graphs: ``srcad.graph`` and ``srcad graph`` write valid DOT for every example."""

from __future__ import annotations

import inspect
import re
import shutil
from pathlib import Path

import pytest

import srcad
from srcad.cli import load_module_from_path, main

ROOT = Path(__file__).parent.parent
EXAMPLE_FILES = [ROOT / "examples" / "basics.py", ROOT / "examples" / "loops.py"]


def check_dot(text: str) -> None:
    """A light DOT parse: a digraph, balanced braces, every edge endpoint declared."""
    assert text.startswith("digraph "), text[:80]
    unquoted = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    unquoted = re.sub(r"label=<.*?>(?=[,\]])", "label=x", unquoted)
    depth = 0
    for character in unquoted:
        depth += {"{": 1, "}": -1}.get(character, 0)
        assert depth >= 0, "a '}' closes nothing"
    assert depth == 0, "unbalanced braces"
    declared = set(re.findall(r"^\s*(\w+) \[", unquoted, re.MULTILINE)) - {"graph", "node", "edge"}
    edges = re.findall(r"^\s*(\w+) -> (\w+)", unquoted, re.MULTILINE)
    assert edges, "no edges"
    for source, target in edges:
        assert source in declared, f"edge from undeclared node {source}"
        assert target in declared, f"edge to undeclared node {target}"


def example_functions() -> list:
    cases = []
    for path in EXAMPLE_FILES:
        module = load_module_from_path(path)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__:
                cases.append(pytest.param(path, name, id=f"{path.stem}:{name}"))
    return cases


@pytest.mark.parametrize("path, name", example_functions())
def test_cli_writes_valid_dot_for_every_example(path, name, tmp_path):
    output = tmp_path / f"{name}.dot"
    assert main(["graph", f"{path}:{name}", "-o", str(output)]) == 0
    check_dot(output.read_text())
    backward = tmp_path / f"{name}_backward.dot"
    assert main(["graph", f"{path}:{name}", "--backward", "--lines", "-o", str(backward)]) == 0
    check_dot(backward.read_text())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_cli_draws_svg_with_graphviz(tmp_path):
    output = tmp_path / "neuron.svg"
    assert main(["graph", f"{EXAMPLE_FILES[0]}:neuron", "--backward", "-o", str(output)]) == 0
    assert "<svg" in output.read_text()
    loops = tmp_path / "clipped.svg"
    assert main(["graph", f"{EXAMPLE_FILES[1]}:clipped_steps", "-o", str(loops)]) == 0
    assert "<svg" in loops.read_text()


def test_image_without_graphviz_writes_dot_and_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("srcad.tools.graph.shutil.which", lambda name: None)
    output = tmp_path / "neuron.png"
    assert main(["graph", f"{EXAMPLE_FILES[0]}:neuron", "-o", str(output)]) == 1
    assert not output.exists()
    check_dot((tmp_path / "neuron.dot").read_text())
    message = capsys.readouterr().err
    assert "Graphviz is not installed" in message
    assert "apt install graphviz" in message and "brew install graphviz" in message


def test_cli_prints_dot_without_output(capsys):
    assert main(["graph", f"{EXAMPLE_FILES[0]}:circuit"]) == 0
    check_dot(capsys.readouterr().out)


def circuit(w1, w2, w3):
    q = w1 + w2
    return w3 * q


def test_graph_nodes_are_named_after_values_and_operations():
    dot = srcad.graph(circuit, -2.0, 5.0, -4.0).to_dot()
    check_dot(dot)
    for label in ("w1", "w2", "w3", "+\\nq", "*\\nout"):
        assert f'label="{label}"' in dot
    assert "peripheries=2" in dot  # the output
    assert "backward" not in dot


def test_backward_graph_has_adjoint_nodes_reading_primal_values():
    dot = srcad.graph(circuit, -2.0, 5.0, -4.0, argnums=(0, 1, 2), backward=True).to_dot()
    check_dot(dot)
    assert "cluster_forward" in dot and "cluster_backward" in dot
    for name in ("dw1", "dw2", "dw3", "dq", "dout"):
        assert f"\\n{name}" in dot or f'"{name}"' in dot
    assert "#fde2cf" in dot  # adjoint colour
    assert "style=dashed" in dot  # an adjoint reads a primal value


def test_loops_and_branches_are_clusters_with_their_bodies():
    loops = load_module_from_path(EXAMPLE_FILES[1])
    dot = srcad.graph(loops.clipped_steps, *loops.EXAMPLE_ARGS["clipped_steps"]).to_dot()
    check_dot(dot)
    assert "subgraph cluster_for" in dot and "subgraph cluster_cond" in dot
    assert 'label="then"' in dot and 'label="else"' in dot
    assert 'label="next"' in dot
    dot = srcad.graph(loops.newton_sqrt, 2.0, backward=True).to_dot()
    check_dot(dot)
    assert dot.count("subgraph cluster_while") == 2  # the forward and the backward loop
    assert 'label="condition"' in dot


def test_lines_option_groups_nodes_by_source_line():
    dot = srcad.graph(circuit, 1.0, 2.0, 3.0, lines=True).to_dot()
    check_dot(dot)
    assert "line " in dot and "q = w1 + w2" in dot


def test_save_by_suffix(tmp_path):
    picture = srcad.graph(circuit)  # no example arguments: floats 1.0
    assert picture.save(tmp_path / "c.gv").read_text() == picture.to_dot()
    if shutil.which("dot"):
        assert picture.save(tmp_path / "c.png").read_bytes().startswith(b"\x89PNG")
