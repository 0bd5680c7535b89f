"""Drawing graphs: ``srcad.graph`` and ``srcad graph`` write valid DOT for every example."""

from __future__ import annotations

import inspect
import re
import shutil
from pathlib import Path

import numpy as np
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
    with pytest.raises(ValueError, match=r"\.xyz names no format srcad writes"):
        picture.save(tmp_path / "c.xyz")  # it wrote DOT text there, silently (probe AT F12)
    assert not (tmp_path / "c.xyz").exists()


# --- pictures that teach -------------------------------------------------------------------
LOOPS = load_module_from_path(EXAMPLE_FILES[1])
IR_INTERNALS = ("tape_new", "tape_push", "tape_pop", "tape_nonempty", "index_add", "[·]")
NODE = re.compile(r'^\s*(\w+) \[label=("(?:\\.|[^"\\])*"|<.*?>), ', re.MULTILINE)


def node_label_lines(dot: str) -> dict[str, list[str]]:
    """Each node's label as the lines a reader sees (tags and escapes removed)."""
    labels = {}
    for node, label in NODE.findall(dot):
        if label.startswith("<"):
            text = re.sub(r"<[^>]*>", "\n", label[1:-1].replace("<br/>", "\n"))
            lines = [html_unescape(line) for line in text.split("\n")]
        else:
            lines = label[1:-1].split("\\n")
        labels[node] = [line for line in lines if line]
    return labels


def html_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def example_pictures() -> list:
    """The DOT text of every example with EXAMPLE_ARGS: forward, backward, annotated."""
    cases = []
    for path in EXAMPLE_FILES:
        module = load_module_from_path(path)
        for name, args in module.EXAMPLE_ARGS.items():
            argnums = getattr(module, "EXAMPLE_ARGNUMS", {}).get(name, 0)
            function = getattr(module, name)
            for kind in ("forward", "backward", "explain"):
                cases.append(pytest.param(function, args, argnums, kind, id=f"{name}-{kind}"))
    return cases


def picture(function, args, argnums, kind: str) -> str:
    if kind == "explain":
        return srcad.explain(function, *args, argnums=argnums).annotate_graph()
    return srcad.graph(function, *args, argnums=argnums, backward=kind == "backward").to_dot()


@pytest.mark.parametrize("function, args, argnums, kind", example_pictures())
def test_pictures_show_no_ir_internals_and_short_labels(function, args, argnums, kind):
    dot = picture(function, args, argnums, kind)
    check_dot(dot)
    for internal in IR_INTERNALS:
        assert internal not in dot
    assert "dtype(" not in dot
    for node, lines in node_label_lines(dot).items():
        assert all(len(line) <= 30 for line in lines), (node, lines)


def mlp_loss(W1, W2, x, y):
    """Large arrays (64 x 32 weights) and a constant matrix: nothing is written out."""
    mask = np.arange(32.0).reshape(4, 8)
    h = np.tanh(x @ W1)
    scores = (h @ W2).reshape(4, 8) * mask
    return np.sum((scores.ravel() - y) ** 2)


def test_large_arrays_are_summarized_by_shape_and_a_few_entries():
    rng = np.random.default_rng(0)
    args = (rng.normal(size=(64, 32)), rng.normal(size=(32, 32)), rng.normal(size=64), np.ones(1))
    for dot in (
        srcad.graph(mlp_loss, *args).to_dot(),
        srcad.graph(mlp_loss, *args, argnums=(0, 1), backward=True).to_dot(),
        srcad.explain(mlp_loss, *args, argnums=(0, 1)).annotate_graph(),
    ):
        check_dot(dot)
        lines = [line for label in node_label_lines(dot).values() for line in label]
        assert max(len(line) for line in lines) <= 30
        assert 'xlabel="(64, 32)"' in dot or any(line.startswith("(64, 32) [") for line in lines)
        assert all(len(shape) <= 30 for shape in re.findall(r'xlabel="([^"]*)"', dot))
    explained = srcad.explain(mlp_loss, *args, argnums=(0, 1)).annotate_graph()
    assert re.search(r"grad \(64, 32\) \[-?\d+\.\d\d, (-?\d+\.\d\d, )?…\]", explained)


def test_backward_picture_puts_the_primal_beside_the_adjoint():
    dot = srcad.graph(LOOPS.rnn, *LOOPS.EXAMPLE_ARGS["rnn"], argnums=(0, 1, 2), backward=True)
    text = dot.to_dot()
    assert "rankdir=TB" in text
    forward = text[text.index("subgraph cluster_forward") : text.index("subgraph cluster_backward")]
    backward = text[text.index("subgraph cluster_backward") :]
    backward_nodes = set(re.findall(r"^\s*(\w+) \[label=", backward, re.MULTILINE))
    primal_nodes = set(re.findall(r"^\s*(\w+) \[label=", forward, re.MULTILINE))
    primal_nodes |= {"v0", "v1", "v2"}  # the arguments W, h, xs
    crossing = [
        (source, target, attributes)
        for source, target, attributes in re.findall(r"^\s*(\w+) -> (\w+)(.*)$", text, re.M)
        if source in primal_nodes and target in backward_nodes
    ]
    assert crossing, "the backward pass reads no primal value"
    for edge in crossing:  # a read of a primal value does not pull the passes together
        assert "constraint=false" in edge[2], edge
    saved = [edge for edge in crossing if 'label="saved"' in edge[2]]
    assert len(saved) == 2  # h_1 and h, saved by the forward loop for the backward loop
    assert '"[t] +=\\ndxs' in text  # dxs[t] += dt3, not index_add


def test_if_diamond_points_at_its_branches():
    dot = srcad.graph(LOOPS.clipped_steps, *LOOPS.EXAMPLE_ARGS["clipped_steps"]).to_dot()
    assert "compound=true" in dot
    diamonds = re.findall(r"^\s*(\w+) \[label=\"if\", shape=diamond", dot, re.MULTILINE)
    assert len(diamonds) == 1
    edges = re.findall(rf"^\s*{diamonds[0]} -> (\w+) \[lhead=(\w+), label=\"(\w+)\"", dot, re.M)
    assert [label for _, _, label in edges] == ["then", "else"]
    for node, cluster, label in edges:
        inside = dot[dot.index(f"subgraph {cluster} {{") :]
        assert f'label="{label}"' in inside.split("\n")[1]
        assert re.search(rf"^\s*{node} \[", inside.split("  }")[0], re.MULTILINE)


def test_a_branch_that_computes_nothing_still_gets_its_arrow():
    def relu_or_one(x):
        if x > 0.0:
            y = x
        else:
            y = 1.0
        return y * x

    dot = srcad.graph(relu_or_one, 2.0).to_dot()
    check_dot(dot)
    assert re.findall(r'-> \w+ \[lhead=cluster_sub\d+, label="(then|else)"', dot) == [
        "then",
        "else",
    ]
