"""Explaining one gradient: every forward value and its adjoint, for one concrete input.

Sits on top of the pipeline, beside ``api``, and uses only the public inspection API
(``srcad.make_graph`` and ``srcad.api.inspect``): the function is lowered and reversed as
``grad`` does it, and the reversed graph is run by a small interpreter (each equation
evaluated with its primitive's NumPy function) instead of being turned into source. The
result is the "grad table" of the textbook back-propagation algorithm: one row per value of
the forward pass, with the operation that made it, its value, and its adjoint
d out / d value, so that a hand computation can be checked line by line.

Loops and branches are first unrolled for the given input (``srcad.tools.unroll``): the
table then has one row per executed statement instance, each with where it ran (``t=2``,
``else (line 34)``), so back-propagation through time can be followed one step at a time.
Arrays with more than a few entries are summarized: shape, norm and the first entries.

A pass-through adjoint (``d(a + b) / da`` is the incoming one unchanged) has no var of its
own in the reversed graph, so before reversing, each intermediate value ``v`` is routed
through ``v' = v + p`` with a new zero input ``p`` (a probe): the gradient with respect to
``p`` is exactly the adjoint of ``v``, accumulated over all of its uses.

Before:  t = exp(x); out = mul(t, t)
Probed:  t = exp(x); t' = add(t, p1); out = mul(t', t'); out' = add(out, p2)
         (wrt x, p1, p2: the gradient for p1 is the adjoint of t)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

import numpy as np

from srcad.api.inspect import (
    RoleKind,
    VarRole,
    evaluate_graph,
    gradient_graph,
    make_graph,
    max_var_id,
    operator_of,
)
from srcad.errors import ArgumentTypeError, SrcadError
from srcad.ir import Atom, AVal, Eqn, Graph, Var
from srcad.tools.display import table_html
from srcad.tools.dot import const_text, format_index, to_dot
from srcad.tools.labels import short_value
from srcad.tools.unroll import has_control_flow, origin_names, unroll

SUMMARIZED_ABOVE = 6  # arrays with more entries are shown as shape, norm and a few entries


@dataclass(frozen=True)
class ExplainRow:
    """One value of the forward pass: ``name = operation``, its value and its adjoint.

    ``adjoint`` is None for values the differentiated output does not depend on through
    the arguments being differentiated (constants, integer values, other arguments).
    """

    name: str
    operation: str
    line: int | None
    value: object
    adjoint: object | None
    var_id: int
    where: str = ""


@dataclass(frozen=True)
class Explanation:
    """The grad table of one function at one input; ``str()`` gives it as text."""

    function: str
    output: str
    rows: tuple[ExplainRow, ...]
    graph: Graph
    precision: int = 4

    def __str__(self) -> str:
        return format_table(self)

    def _repr_html_(self) -> str:
        """The grad table as an HTML table, for Jupyter."""
        header, body = table_cells(self)
        return table_html(_title(self), header, body, right=header.index("line"))

    def row(self, name: str) -> ExplainRow:
        """The row of the value called ``name``."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no value named {name!r}; the names are {[r.name for r in self.rows]}")

    def rows_named(self, name: str) -> tuple[ExplainRow, ...]:
        """Every row of the value called ``name``: one per time its statement ran."""
        return tuple(row for row in self.rows if row.name == name)

    def annotate_graph(self, precision: int = 2, lines: bool = False) -> str:
        """DOT text of the forward graph with each value above and its gradient below (an
        array summarized by its shape and first entries: ``srcad.tools.labels``)."""
        annotations = {
            row.var_id: (
                short_value(row.value, precision),
                "" if row.adjoint is None else "grad " + short_value(row.adjoint, precision),
            )
            for row in self.rows
        }
        return to_dot(self.graph, lines=lines, annotations=annotations)


def explain(
    fun: Callable, *args: object, argnums: int | tuple = 0, precision: int = 4
) -> Explanation:
    """The grad table of ``fun(*args)``: every intermediate value and its adjoint.

    Args:
        fun: a function returning a scalar float.
        *args: the point at which the gradient is explained.
        argnums: the argument(s) differentiated; the others are constants.
        precision: digits shown by ``str()`` of the result.

    Returns:
        An ``Explanation``: ``rows`` in execution order (the inputs first), each an
        ``ExplainRow`` with ``name``, ``operation``, ``line``, ``value``, ``adjoint`` (d out /
        d value; None for values that do not depend on the differentiated arguments) and
        ``where`` (the loop iteration and branch it ran in, for functions with control flow).

    Example:
        >>> import numpy as np, srcad
        >>> table = srcad.explain(lambda x: np.sin(x) * x, 2.0)
        >>> print(f"{table.row('x').adjoint:.4f}")   # cos(2) * 2 + sin(2)
        0.0770
    """
    view = make_graph(fun, argnums)(*args)
    graph, names, context = view.graph, dict(view.names), {}
    _refuse_effects(graph, fun)  # a function that raises returns nothing to explain
    _scalar_output(graph, fun)
    active: AbstractSet[Var] = view.active
    if has_control_flow(graph):
        unrolled = unroll(graph, view.argument_values + view.outside_values)
        active_ids = {v.id for v in view.active}
        graph, context = unrolled.graph, unrolled.context
        names = origin_names(unrolled, view.names)
        active = {v for e in graph.eqns for v in e.outputs if unrolled.origin[v.id] in active_ids}
    output = _scalar_output(graph, fun)
    wrt = list(view.wrt)
    probed, probes = add_probes(graph, active)
    n_inputs = len(graph.inputs)
    probe_indices = list(range(n_inputs, n_inputs + len(probes)))
    reversed_graph = gradient_graph(probed, wrt + probe_indices, keep_primal_values=True)
    inputs = [*view.argument_values, *view.outside_values]
    inputs += [_zeros(p.aval) for p in probes.values()]
    values = run_graph(reversed_graph, inputs + [_ones(output.aval)])
    gradients = [_read(values, a) for a in reversed_graph.outputs[len(graph.outputs) :]]
    adjoints = dict(zip([graph.inputs[i].id for i in wrt] + list(probes), gradients, strict=True))
    rows = _rows(graph, names, values, adjoints, context)
    return Explanation(fun.__name__, names.get(output.id, ""), rows, graph, precision)


def _refuse_effects(graph: Graph, fun: Callable) -> None:
    """explain evaluates the function's graph itself, equation by equation: a call the
    generated code makes on every call (print, a clock, a random draw) it does not run."""
    for eqn in graph.eqns:
        if eqn.prim in ("outside_call", "raise"):
            callee = dict(eqn.params).get("callee", eqn.prim)
            raise SrcadError(
                f"srcad explain evaluates {fun.__name__}'s graph itself and does not run "
                f"'{getattr(callee, 'text', callee)}' (print, logging, clocks, random draws "
                "and raise run only in the generated code); explain a function without it: "
                "pass a draw in as an argument, or drop the print",
                *((eqn.loc.file, eqn.loc.line) if eqn.loc is not None else ()),
            )


def _scalar_output(graph: Graph, fun: Callable) -> Var:
    output = graph.outputs[0] if graph.outputs else None
    if not (isinstance(output, Var) and output.aval.is_float and output.aval.size == 1):
        code = getattr(fun, "__code__", None)
        raise ArgumentTypeError(
            f"srcad explain needs {fun.__name__} to return a scalar float computed from its "
            "arguments (the value whose gradient is explained); reduce the result first "
            "(e.g. np.sum)",
            *((code.co_filename, code.co_firstlineno) if code else ()),
        )
    return output


def add_probes(graph: Graph, active: AbstractSet[Var]) -> tuple[Graph, dict[int, Var]]:
    """``graph`` with every active float value ``v`` replaced by ``v + p`` for a new zero
    input ``p``; returns the new graph and the probe of each value, by the value's id."""
    next_id = max_var_id(graph) + 1
    probes: dict[int, Var] = {}
    renamed: dict[Var, Var] = {}
    eqns: list[Eqn] = []
    for eqn in graph.eqns:
        eqn = replace(eqn, inputs=tuple(renamed.get(a, a) for a in eqn.inputs))
        eqns.append(eqn)
        for var in eqn.outputs:
            if var not in active or not var.aval.is_float:
                continue
            probe = Var(next_id, "", var.aval, VarRole(RoleKind.PROBE, var.id))
            probed = Var(next_id + 1, var.hint, var.aval, var.role)
            next_id += 2
            eqns.append(Eqn("add", (var, probe), (probed,), loc=eqn.loc))
            probes[var.id] = probe
            renamed[var] = probed
    outputs = tuple(renamed.get(a, a) for a in graph.outputs)
    inputs = (*graph.inputs, *probes.values())
    return Graph(graph.name, inputs, tuple(eqns), outputs), probes


def run_graph(graph: Graph, input_values: list) -> dict[int, object]:
    """Evaluate a straight-line graph; the value of every var, by id (see
    ``srcad.api.inspect.evaluate_graph``)."""
    return evaluate_graph(graph, input_values)


def _read(values: dict[int, object], atom: Atom) -> object:
    return values[atom.id] if isinstance(atom, Var) else atom.value


def _zeros(aval: AVal) -> object:
    return 0.0 if aval.is_weak else np.zeros(aval.shape, dtype=aval.dtype)


def _ones(aval: AVal) -> object:
    if aval.shape == () and aval.dtype == "float64":
        return 1.0
    return np.ones(aval.shape, dtype=aval.dtype)


def _rows(
    graph: Graph, names: Mapping[int, str], values: dict, adjoints: dict, context: dict
) -> tuple[ExplainRow, ...]:
    rows = [
        ExplainRow(names[v.id], "input", None, values[v.id], adjoints.get(v.id), v.id)
        for v in graph.inputs
    ]
    for eqn in graph.eqns:
        operation = operation_text(eqn, names)
        line = eqn.loc.line if eqn.loc else None
        for k, var in enumerate(eqn.outputs):
            text = operation if len(eqn.outputs) == 1 else f"{operation}[{k}]"
            where = context.get(var.id, "")
            value, adjoint = values[var.id], adjoints.get(var.id)
            rows.append(ExplainRow(names[var.id], text, line, value, adjoint, var.id, where))
    return tuple(rows)


def operation_text(eqn: Eqn, names: Mapping[int, str]) -> str:
    """The equation's right-hand side as Python-like text: ``t1 + t2``, ``exp(t4)``."""
    operands = [
        names.get(a.id, f"%{a.id}") if isinstance(a, Var) else const_text(a) for a in eqn.inputs
    ]
    operator = operator_of(eqn)
    params = eqn.param_dict
    if eqn.prim == "negative":
        return f"-{operands[0]}"
    if operator and len(operands) == 2:
        return f"{operands[0]} {operator} {operands[1]}"
    if eqn.prim == "getitem":
        return f"{operands[0]}[{format_index(params['index'], operands[1:])}]"
    if eqn.prim == "setitem":
        index = format_index(params["index"], operands[2:])
        return f"{operands[0]} with [{index}] = {operands[1]}"
    shown = [f"{key}={value!r}" for key, value in eqn.params]
    return f"{eqn.prim}({', '.join(operands + shown)})"


def format_value(value: object, precision: int = 4) -> str:
    """A value on one line: ``0.3679``, ``1.2000e-07``, ``[0.1, -0.2]``, or for an array of
    more than a few entries its shape, norm and first entries:
    ``(5, 3) |.|=2.1 [0.1, -0.2, 0.3, ...]``."""
    if value is None:
        return ""
    array = np.asarray(value)
    if array.ndim == 0:
        return _number(array, precision)
    if array.size > SUMMARIZED_ABOVE and array.dtype.kind in "fc":
        first = ", ".join(_number(x, precision) for x in array.ravel()[:3])
        norm = _number(np.linalg.norm(array.ravel()), min(precision, 3))
        return f"{tuple(array.shape)} |.|={norm} [{first}, ...]"
    if array.ndim == 1:
        return "[" + ", ".join(_number(x, precision) for x in array) + "]"
    text = np.array2string(
        array, precision=precision, threshold=6, edgeitems=2, separator=", ", max_line_width=10**6
    )
    return " ".join(text.split())


def _number(array: np.ndarray, precision: int) -> str:
    if array.dtype.kind not in "fc":
        return str(array.item())
    number = array.item()
    if number == 0 or 1e-3 <= abs(number) < 1e6:
        return f"{number:.{precision}f}"
    return f"{number:.{precision}e}"


def table_cells(explanation: Explanation) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The header and the rows of the grad table as texts (with a ``where`` column, the
    iteration and branch, when the function has loops or branches)."""
    precision = explanation.precision
    output = explanation.output or "out"
    header: tuple[str, ...] = ("name", "computed as", "line", " value")
    header += (f" adjoint d {output} / d name",)
    body: list[tuple[str, ...]] = [
        (
            row.name,
            _clip(row.operation, 40),
            "" if row.line is None else str(row.line),
            _signed(format_value(row.value, precision)),
            _signed("(const)" if row.adjoint is None else format_value(row.adjoint, precision)),
        )
        for row in explanation.rows
    ]
    if any(row.where for row in explanation.rows):
        header = (header[0], "where", *header[1:])
        body = [(b[0], row.where, *b[1:]) for b, row in zip(body, explanation.rows, strict=True)]
    return header, body


def _title(explanation: Explanation) -> str:
    return f"grad table of {explanation.function} (forward values, then adjoints)"


def format_table(explanation: Explanation) -> str:
    """The grad table as aligned text columns."""
    header, body = table_cells(explanation)
    right = header.index("line")
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]
    lines = [_title(explanation)]
    for k, row in enumerate([header, *body]):
        cells = [
            cell.rjust(width) if column == right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines) + "\n"


def _signed(text: str) -> str:
    """Room for a minus sign, so that numbers line up in a left-aligned column."""
    return text if text.startswith("-") else " " + text


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


__all__ = ["ExplainRow", "Explanation", "explain", "run_graph"]
