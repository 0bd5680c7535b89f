"""Graphviz DOT text of an SSA ``Graph``: what ``srcad.graph`` and ``srcad graph`` draw.

Every graph input is a box, every equation one node labelled with its operation (``*``,
``exp``, ``tanh``) and the name the generated code gives its value (``Wx``, ``dW``; see
``srcad.api.inspect.value_names``); edges are data flow. Structured equations (``for``,
``while``, ``cond``) are clusters with their bodies inside. In a backward graph the adjoint
equations are drawn in another colour, with dashed edges from the primal values they read.
``annotations`` add a value above and a gradient below a node (``srcad graph --explain``).

The text is generated here from the public inspection API, so nothing beyond Graphviz's
``dot`` binary is needed, and that only for images (``srcad.tools.graph.save_dot``).
"""

from __future__ import annotations

import html

from srcad.api.inspect import (
    has_counter,
    is_loop,
    is_statement,
    operator_of,
    sub_graphs,
    value_names,
)
from srcad.ir import Atom, Const, Eqn, Graph, Var

INPUT_STYLE = 'shape=box, style="rounded,filled", fillcolor="#dbeafe", color="#1d4ed8"'
PRIMAL_STYLE = 'shape=ellipse, style=filled, fillcolor="#f3f4f6", color="#374151"'
ADJOINT_STYLE = 'shape=ellipse, style=filled, fillcolor="#fde2cf", color="#c2410c"'
ADJOINT_INPUT_STYLE = 'shape=box, style="rounded,filled", fillcolor="#fde2cf", color="#c2410c"'
VALUE_STYLE = 'shape=box, style="rounded", color="#374151"'
CONST_STYLE = 'shape=plaintext, fontcolor="#6b7280"'
READS_PRIMAL = 'style=dashed, color="#9ca3af"'
ADJOINT_EDGE = 'color="#c2410c"'
VALUE_COLOUR = "#15803d"
ADJOINT_COLOUR = "#b91c1c"


# --- labels -------------------------------------------------------------------------------
def const_text(const: Const) -> str:
    """A constant as written in a label: its name, a short number, or its shape."""
    if const.name:
        return const.name
    value = const.value
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float)) or getattr(value, "ndim", 1) == 0:
        return f"{float(value):g}" if not isinstance(value, int) else str(value)
    return f"array{tuple(getattr(value, 'shape', ()))}"


def format_index(index: tuple, array_names: list[str]) -> str:
    """The static index encoding of ``getitem``/``setitem`` as Python subscript text."""
    parts = []
    for item in index:
        if isinstance(item, tuple) and item and item[0] == "slice":
            start, stop, step = (("" if v is None else str(v)) for v in item[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif isinstance(item, tuple) and item and item[0] == "array":
            parts.append(array_names[item[1]] if item[1] < len(array_names) else "?")
        elif item == "...":
            parts.append("...")
        else:
            parts.append("None" if item is None else str(item))
    return ", ".join(parts)


def op_symbol(eqn: Eqn) -> str:
    """The operation as drawn: ``+``, ``exp``, ``sum axis=0``, ``[1:3]``."""
    params = eqn.param_dict
    if eqn.prim == "getitem" or is_statement(eqn):
        names = ["·"] * len(eqn.inputs)  # array indices are drawn as edges
        text = "[" + format_index(params.get("index", ()), names) + "]"
        return text if eqn.prim == "getitem" else f"{eqn.prim} {text}"
    if eqn.prim == "negative":
        return "neg"  # not "-", which is subtraction
    operator = operator_of(eqn)
    if operator:
        return operator
    shown = [f"{k}={_short(v)}" for k, v in eqn.params if not _holds_graphs(v)]
    return " ".join([eqn.prim, *shown])


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 16 else text[:15] + "…"


def _holds_graphs(value: object) -> bool:
    return isinstance(value, Graph) or (
        isinstance(value, tuple) and any(isinstance(v, Graph) for v in value)
    )


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
        self.counter = 0

    def write(self) -> str:
        header = [
            f"digraph {_quote(self.graph.name)} {{",
            '  graph [rankdir=LR, fontname="Helvetica", fontsize=10, labeljust=l, '
            "nodesep=0.25, ranksep=0.35];",
            '  node [fontname="Helvetica", fontsize=11, height=0.3];',
            '  edge [color="#4b5563", arrowsize=0.7, fontname="Helvetica", fontsize=9];',
        ]
        for var in self.graph.inputs:
            role = "adjoint" if var.hint == "dout" else "input"
            style = ADJOINT_INPUT_STYLE if role == "adjoint" else INPUT_STYLE
            self._declare(_node_id(var), self._label("", var), style, role, "  ", var)
        self._top_level(self.graph.eqns)
        self._named_outputs()
        footer = []
        for node in sorted(self._referenced() - self.declared):
            footer.append(f"  {node} [label={_quote(node)}, {VALUE_STYLE}];")
        return "\n".join(header + self.body + footer + self.edges + ["}"]) + "\n"

    def _named_outputs(self) -> None:
        """A node for each named output whose value goes by another name."""
        for k, (atom, name) in enumerate(zip(self.graph.outputs, self.output_names, strict=False)):
            if not name or (isinstance(atom, Var) and self.names.get(atom.id) == name):
                continue
            node = f"o{k}"
            style = ADJOINT_INPUT_STYLE if name.startswith("d") else VALUE_STYLE
            self._declare(node, _quote(name), style + ", peripheries=2", "result", "  ")
            self._edge(self._source(atom, "  "), node, "style=dashed, arrowhead=none")

    def _top_level(self, eqns: tuple) -> None:
        primal = [e for e in eqns if e.role == "primal"]
        derived = [e for e in eqns if e.role != "primal"]
        if not derived:
            self._group_by_line(eqns, "  ")
            return
        for name, part, colour in [
            ("forward", primal, "#374151"),
            ("backward", derived, "#c2410c"),
        ]:
            self.body.append(f"  subgraph cluster_{name} {{")
            self.body.append(
                f'    label="{name} pass"; color="{colour}"; fontcolor="{colour}"; '
                'style="rounded,dashed";'
            )
            self._group_by_line(part, "    ")
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
        role = "adjoint" if eqn.role != "primal" else "primal"
        style = ADJOINT_STYLE if role == "adjoint" else PRIMAL_STYLE
        symbol = op_symbol(eqn)
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
            self._declare(_node_id(var), self._label("", var), VALUE_STYLE, role, indent, var)
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
            self._sub_graph(branch, title, indent)
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

    def _sub_graph(self, sub: Graph, title: str, indent: str) -> None:
        self.counter += 1
        self.body.append(f"{indent}subgraph cluster_sub{self.counter} {{")
        self.body.append(
            f'{indent}  label={_quote(title)}; style="rounded,dashed"; color="#9ca3af";'
        )
        for var in sub.inputs:
            self._declare(
                _node_id(var), self._label("", var), VALUE_STYLE, "primal", indent + "  ", var
            )
        self._block(sub.eqns, indent + "  ")
        self.body.append(f"{indent}}}")

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
        self.body.append(f"{indent}{node} [label={label}, {style}{extra}];")
        self.declared.add(node)
        self.roles[node] = role

    def _edge(self, source: str, target: str, attributes: str = "") -> None:
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
        name = self.names.get(var.id, "")
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


__all__ = ["const_text", "format_index", "op_symbol", "to_dot"]
