"""Graphviz DOT text of an SSA ``Graph``: what ``srcad.graph`` and ``srcad graph`` draw.

Every graph input is a box, every equation one node labelled with its operation (``*``,
``exp``, ``tanh``; ``srcad.tools.labels``), the name the generated code gives its value
(``Wx``, ``dW``; see ``srcad.api.inspect.value_names``), and an array's shape beside it;
edges are data flow. Structured equations (``for``, ``while``, ``cond``) are clusters with their
bodies inside; an ``if`` diamond points at its ``then`` and ``else`` clusters.

A backward graph is drawn top to bottom as two clusters side by side: the forward pass,
then the backward pass, whose adjoint values are drawn in another colour. The dashed edges
from the primal values an adjoint reads do not constrain the layout, so each pass keeps
its own order. A loop's tape is not drawn: what the forward loop saves appears in the
backward loop as the saved value, with a dashed edge from where it was computed.
``annotations`` add a value above and a gradient below a node (``srcad graph --explain``).

The text is generated here from the public inspection API, so nothing beyond Graphviz's
``dot`` binary is needed, and that only for images (``srcad.tools.graph.save_dot``).
"""

from __future__ import annotations

import html

from srcad.api.inspect import RoleKind, has_counter, is_loop, sub_graphs, value_names
from srcad.ir import Atom, Eqn, Graph, Var
from srcad.tools.labels import (
    TAPE_OPERATIONS,
    clip,
    const_text,
    format_index,
    is_tape,
    op_symbol,
)

INPUT_STYLE = 'shape=box, style="rounded,filled", fillcolor="#dbeafe", color="#1d4ed8"'
PRIMAL_STYLE = 'shape=ellipse, style=filled, fillcolor="#f3f4f6", color="#374151"'
ADJOINT_STYLE = 'shape=ellipse, style=filled, fillcolor="#fde2cf", color="#c2410c"'
ADJOINT_INPUT_STYLE = 'shape=box, style="rounded,filled", fillcolor="#fde2cf", color="#c2410c"'
VALUE_STYLE = 'shape=box, style="rounded", color="#374151"'
CONST_STYLE = 'shape=plaintext, fontcolor="#6b7280"'
READS_PRIMAL = 'style=dashed, color="#9ca3af", constraint=false'
ADJOINT_VALUE_STYLE = 'shape=box, style="rounded", color="#c2410c"'
ADJOINT_EDGE = 'color="#c2410c"'
VALUE_COLOUR = "#15803d"
ADJOINT_COLOUR = "#b91c1c"


# --- DOT ----------------------------------------------------------------------------------
def to_dot(
    graph: Graph,
    lines: bool = False,
    annotations: dict[int, tuple[str, str]] | None = None,
    output_names: tuple[str, ...] = (),
) -> str:
    """``graph`` as Graphviz DOT text.

    ``lines`` boxes the equations of each source line together; ``annotations`` maps var ids
    to ``(value, gradient)`` texts drawn above and below their nodes; ``output_names`` names
    the graph's outputs (a result whose value is called otherwise, such as ``dw1`` that is
    the same value as ``dq``, gets a node of its own).
    """
    return _DotWriter(graph, lines, annotations or {}, output_names).write()


class _DotWriter:
    """The state of drawing one graph: text so far, declared nodes, edges, a counter."""

    def __init__(
        self,
        graph: Graph,
        lines: bool,
        annotations: dict[int, tuple[str, str]],
        output_names: tuple[str, ...],
    ):
        self.graph = graph
        self.output_names = output_names
        self.lines = lines
        self.annotations = annotations
        self.names = value_names(graph)
        self.body: list[str] = []
        self.edges: list[str] = []
        self.declared: set[str] = set()
        self.roles: dict[str, str] = {}
        self.outputs = {a.id for a in graph.outputs if isinstance(a, Var)}
        self.hidden: set[str] = set()  # the tapes' nodes: never drawn
        self.order: list[str] = []  # declared nodes, in order
        self.counter = 0

    def write(self) -> str:
        is_backward = any(e.role != "primal" for e in self.graph.eqns)
        header = [
            f"digraph {_quote(self.graph.name)} {{",
            f'  graph [rankdir={"TB" if is_backward else "LR"}, compound=true, '
            'fontname="Helvetica", fontsize=10, labeljust=l, nodesep=0.25, ranksep=0.35];',
            '  node [fontname="Helvetica", fontsize=11, height=0.3];',
            '  edge [color="#4b5563", arrowsize=0.7, fontname="Helvetica", fontsize=9];',
        ]
        self._top_level(self.graph.eqns)
        footer = []
        for node in sorted(self._referenced() - self.declared):
            footer.append(f"  {node} [label={_quote(node)}, {VALUE_STYLE}];")
        return "\n".join(header + self.body + footer + self.edges + ["}"]) + "\n"

    def _inputs(self, role: str, indent: str) -> None:
        """The graph's inputs of ``role``: the arguments (``input``), or the seed ``dout``
        of the backward pass (``adjoint``)."""
        for var in self.graph.inputs:
            if ("adjoint" if var.hint == "dout" else "input") != role:
                continue
            style = ADJOINT_INPUT_STYLE if role == "adjoint" else INPUT_STYLE
            self._declare(_node_id(var), self._label("", var), style, role, indent, var)

    def _named_outputs(self, indent: str) -> None:
        """A node for each named output whose value goes by another name."""
        for k, (atom, name) in enumerate(zip(self.graph.outputs, self.output_names, strict=False)):
            if not name or (isinstance(atom, Var) and self.names.get(atom.id) == name):
                continue
            node = f"o{k}"
            style = ADJOINT_INPUT_STYLE if name.startswith("d") else VALUE_STYLE
            self._declare(node, _quote(name), style + ", peripheries=2", "result", indent)
            self._edge(self._source(atom, indent), node, "style=dashed, arrowhead=none")

    def _top_level(self, eqns: tuple) -> None:
        """The equations; a backward graph's as two clusters, each pass with its inputs
        (the arguments; ``dout``) and results inside."""
        primal = [e for e in eqns if e.role == "primal"]
        derived = [e for e in eqns if e.role != "primal"]
        if not derived:
            self._inputs("input", "  ")
            self._inputs("adjoint", "  ")
            self._group_by_line(eqns, "  ")
            self._named_outputs("  ")
            return
        for name, role, part, colour in [
            ("forward", "input", primal, "#374151"),
            ("backward", "adjoint", derived, "#c2410c"),
        ]:
            self.body.append(f"  subgraph cluster_{name} {{")
            self.body.append(
                f'    label="{name} pass"; color="{colour}"; fontcolor="{colour}"; '
                'style="rounded,dashed";'
            )
            self._inputs(role, "    ")
            self._group_by_line(part, "    ")
            if role == "adjoint":
                self._named_outputs("    ")
            self.body.append("  }")

    def _group_by_line(self, eqns: list | tuple, indent: str) -> None:
        if not self.lines:
            self._block(eqns, indent)
            return
        groups: list[list[Eqn]] = []
        for eqn in eqns:
            line = eqn.loc.line if eqn.loc else None
            if groups and (groups[-1][0].loc.line if groups[-1][0].loc else None) == line:
                groups[-1].append(eqn)
            else:
                groups.append([eqn])
        for group in groups:
            loc = group[0].loc
            if loc is None:
                self._block(group, indent)
                continue
            self.counter += 1
            self.body.append(f"{indent}subgraph cluster_line{self.counter} {{")
            text = f"line {loc.line}: {loc.text.strip()}"
            self.body.append(
                f'{indent}  label={_quote(text)}; style="rounded"; color="#d1d5db"; '
                'fontcolor="#6b7280";'
            )
            self._block(group, indent + "  ")
            self.body.append(f"{indent}}}")

    def _block(self, eqns: list | tuple, indent: str) -> None:
        for eqn in eqns:
            if sub_graphs(eqn):
                self._structured(eqn, indent)
            else:
                self._simple(eqn, indent)

    def _simple(self, eqn: Eqn, indent: str) -> None:
        if eqn.prim in TAPE_OPERATIONS and not op_symbol(eqn):
            self._tape_operation(eqn, indent)
            return
        role = "adjoint" if eqn.role != "primal" else "primal"
        style = ADJOINT_STYLE if role == "adjoint" else PRIMAL_STYLE
        symbol = op_symbol(eqn, [self._atom_name(a) for a in eqn.inputs])
        if len(eqn.outputs) == 1:
            node = _node_id(eqn.outputs[0])
            self._declare(
                node, self._label(symbol, eqn.outputs[0]), style, role, indent, eqn.outputs[0]
            )
        else:
            self.counter += 1
            node = f"e{self.counter}"
            self._declare(node, _plain_label([symbol]), style, role, indent)
            for var in eqn.outputs:
                self._declare(_node_id(var), self._label("", var), VALUE_STYLE, role, indent, var)
                self._edge(node, _node_id(var))
        for atom in eqn.inputs:
            self._edge(self._source(atom, indent), node)

    def _tape_operation(self, eqn: Eqn, indent: str) -> None:
        """A tape's operation is not drawn; the values a pop restores are the saved values,
        each with a dashed edge from the value the forward pass computed."""
        for var in eqn.outputs:
            if is_tape(var.aval):
                self.hidden.add(_node_id(var))
                continue
            self._declare(_node_id(var), self._label("", var), VALUE_STYLE, "primal", indent, var)
            saved = _node_id(Var(var.role.of, "", var.aval)) if var.role is not None else ""
            if saved in self.declared:
                self._edge(saved, _node_id(var), READS_PRIMAL + ', label="saved"')

    def _atom_name(self, atom: Atom) -> str:
        return self.names.get(atom.id, "·") if isinstance(atom, Var) else const_text(atom)

    def _value(self, var: Var, role: str, indent: str) -> None:
        """A value an equation does not draw itself: a loop's carried value, a result."""
        if is_tape(var.aval):
            self.hidden.add(_node_id(var))
            return
        is_adjoint = var.is_role(RoleKind.ADJOINT) or (role == "adjoint" and var.role is None)
        style = ADJOINT_VALUE_STYLE if is_adjoint else VALUE_STYLE
        self._declare(
            _node_id(var),
            self._label("", var),
            style,
            "adjoint" if is_adjoint else "primal",
            indent,
            var,
        )

    def _structured(self, eqn: Eqn, indent: str) -> None:
        role = "adjoint" if eqn.role != "primal" else "primal"
        self.counter += 1
        cluster = f"cluster_{eqn.prim}{self.counter}"
        colour = "#c2410c" if role == "adjoint" else "#1f2937"
        self.body.append(f"{indent}subgraph {cluster} {{")
        self.body.append(
            f"{indent}  label={_quote(_structured_title(eqn, self.names))}; "
            f'style="rounded"; color="{colour}"; fontcolor="{colour}";'
        )
        inner = indent + "  "
        if eqn.prim == "cond":
            results = self._cond_inside(eqn, inner)
        elif is_loop(eqn):
            results = self._loop_inside(eqn, inner)
        else:
            for sub in sub_graphs(eqn):
                self._sub_graph(sub, sub.name, inner)
            results = []
        self.body.append(f"{indent}}}")
        for var in eqn.outputs:
            self._value(var, role, indent)
        for atom, var, text in results:
            self._edge(self._source(atom, indent), _node_id(var), f'style=dashed, label="{text}"')

    def _cond_inside(self, eqn: Eqn, indent: str) -> list:
        self.counter += 1
        test = f"k{self.counter}"
        self._declare(test, '"if"', "shape=diamond", "primal", indent)
        for atom in eqn.inputs:
            self._edge(self._source(atom, indent), test)
        branches = eqn.param_dict.get("branches", ())
        titles = (
            ["then", "else"]
            if len(branches) == 2
            else [f"branch {k}" for k in range(len(branches))]
        )
        results = []
        for branch, title in zip(branches, titles, strict=True):
            cluster, first = self._sub_graph(branch, title, indent)
            self._edge(test, first, f'lhead={cluster}, label="{title}", style=bold')
            results += [(a, v, title) for a, v in zip(branch.outputs, eqn.outputs, strict=False)]
        return results

    def _loop_inside(self, eqn: Eqn, indent: str) -> list:
        params = eqn.param_dict
        body = params.get("body")
        skip = 1 if has_counter(eqn) else 0  # a for body starts with the counter
        condition = params.get("cond")
        if isinstance(condition, Graph):
            self._sub_graph(condition, "condition", indent)
            for atom, var in zip(eqn.inputs, condition.inputs, strict=False):
                self._edge(self._source(atom, indent), _node_id(var), 'style=dashed, label="init"')
        if not isinstance(body, Graph):
            return []
        self._sub_graph(body, "body", indent)
        carried = body.inputs[skip:]
        for atom, var in zip(eqn.inputs, carried, strict=False):
            self._edge(self._source(atom, indent), _node_id(var), 'style=dashed, label="init"')
        for atom, var in zip(body.outputs, carried, strict=False):
            self._edge(
                self._source(atom, indent),
                _node_id(var),
                'style=dotted, label="next", constraint=false',
            )
        return [(a, v, "last") for a, v in zip(body.outputs, eqn.outputs, strict=False)]

    def _sub_graph(self, sub: Graph, title: str, indent: str) -> tuple[str, str]:
        """Draw ``sub`` as a cluster; returns the cluster's name and its first node."""
        self.counter += 1
        cluster = f"cluster_sub{self.counter}"
        self.body.append(f"{indent}subgraph {cluster} {{")
        self.body.append(
            f'{indent}  label={_quote(title)}; style="rounded,dashed"; color="#9ca3af";'
        )
        declared_before = len(self.order)
        for var in sub.inputs:
            self._value(var, "primal", indent + "  ")
        self._block(sub.eqns, indent + "  ")
        if len(self.order) == declared_before:  # nothing drawn inside: a point to point at
            self._declare(f"p{self.counter}", '""', "shape=point", "primal", indent + "  ")
        self.body.append(f"{indent}}}")
        return cluster, self.order[declared_before]

    def _source(self, atom: Atom, indent: str) -> str:
        """The node an input atom comes from; constants get a small node of their own."""
        if isinstance(atom, Var):
            return _node_id(atom)
        self.counter += 1
        node = f"c{self.counter}"
        self._declare(node, _quote(const_text(atom)), CONST_STYLE, "const", indent)
        return node

    def _declare(
        self, node: str, label: str, style: str, role: str, indent: str, var: Var | None = None
    ) -> None:
        if node in self.declared:
            return
        extra = ", peripheries=2" if var is not None and var.id in self.outputs else ""
        if var is not None and var.aval.shape and var.id not in self.annotations:
            extra += f", xlabel={_quote(clip(str(var.aval.shape)))}"  # an array: its shape
        self.body.append(f"{indent}{node} [label={label}, {style}{extra}];")
        self.declared.add(node)
        self.order.append(node)
        self.roles[node] = role

    def _edge(self, source: str, target: str, attributes: str = "") -> None:
        if source in self.hidden or target in self.hidden:
            return
        if not attributes:
            source_role, target_role = self.roles.get(source), self.roles.get(target)
            if target_role == "adjoint" and source_role == "adjoint":
                attributes = ADJOINT_EDGE
            elif target_role == "adjoint" and source_role in ("primal", "input"):
                attributes = READS_PRIMAL
        suffix = f" [{attributes}]" if attributes else ""
        self.edges.append(f"  {source} -> {target}{suffix};")

    def _referenced(self) -> set[str]:
        nodes = set()
        for edge in self.edges:
            source, _, rest = edge.strip().partition(" -> ")
            nodes.add(source)
            nodes.add(rest.split(" ")[0].rstrip(";"))
        return nodes

    def _label(self, symbol: str, var: Var) -> str:
        """A node label: the operation, the value's name, and any annotation."""
        name = clip(self.names.get(var.id, ""))
        parts = [p for p in (symbol, name) if p] or [f"%{var.id}"]
        if name and symbol and name == symbol:
            parts = [symbol]
        if var.id not in self.annotations:
            return _plain_label(parts)
        value, gradient = self.annotations[var.id]
        rows = [f'<font color="{VALUE_COLOUR}">{html.escape(value)}</font>']
        rows += [html.escape(p) for p in parts]
        if gradient:
            rows.append(f'<font color="{ADJOINT_COLOUR}">{html.escape(gradient)}</font>')
        return "<" + "<br/>".join(rows) + ">"


def _structured_title(eqn: Eqn, names: dict[int, str]) -> str:
    params = eqn.param_dict
    where = f"  (line {eqn.loc.line})" if eqn.loc else ""
    if eqn.prim == "for":
        body = params.get("body")
        has_counter = isinstance(body, Graph) and bool(body.inputs)
        counter = names.get(body.inputs[0].id, "") if has_counter else ""
        bounds = ", ".join(str(params.get(k)) for k in ("start", "stop", "step"))
        order = "reversed " if params.get("is_reversed") else ""
        return f"for {counter or 'i'} in {order}range({bounds}){where}"
    if eqn.prim == "while":
        return f"while{where}"
    if eqn.prim == "cond":
        return f"if / else{where}"
    return f"{eqn.prim}{where}"


def _node_id(var: Var) -> str:
    return f"v{var.id}"


def _plain_label(parts: list[str]) -> str:
    return '"' + "\\n".join(_escape(p) for p in parts) + '"'


def _quote(text: str) -> str:
    return '"' + _escape(text) + '"'


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


# The label helpers live in ``srcad.tools.labels``; ``explain`` reads them from here too.
__all__ = ["const_text", "format_index", "op_symbol", "to_dot"]
