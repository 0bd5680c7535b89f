"""The canonical text form of a graph, used in tests, golden files and error messages.

graph f(%0(x):f64[3], %1(a):~f64[]) {
  %2(exp_x):f64[3] = exp %0  # line 4
  %3(out):f64[3] = multiply %1 %2  # line 4
  return %3
}

Values are referred to by id (``%2``); where a value is defined, its name follows in
parentheses: the name the naming rules give it (``srcad.ir.naming``), the one the generated
code, ``srcad graph`` and ``srcad explain`` use (``dWx`` for the adjoint of ``Wx = W @ x``).
"""

from __future__ import annotations

from collections.abc import Mapping

from srcad.ir.graph import Atom, Eqn, Graph, Var
from srcad.ir.naming import value_names


def format_atom(atom: Atom) -> str:
    if isinstance(atom, Var):
        return f"%{atom.id}"
    if atom.name:
        return f"${atom.name}"
    return repr(atom.value)


def format_var(var: Var, name: str = "") -> str:
    """``%12(x):f64[3]``: the id, the value's name (by default its user name, if any) and its
    abstract value."""
    label = name or var.hint
    return f"%{var.id}{f'({label})' if label else ''}:{var.aval.short()}"


def format_eqn(eqn: Eqn, names: Mapping[int, str] | None = None) -> str:
    """One equation; ``names`` gives its outputs' names (by default their user names)."""
    names = names or {}
    outs = ", ".join(format_var(v, names.get(v.id, "")) for v in eqn.outputs)
    args = " ".join(format_atom(a) for a in eqn.inputs)
    params = "".join(f" {k}={v!r}" for k, v in eqn.params if not _holds_graphs(v))
    where = f"  # line {eqn.loc.line}" if eqn.loc else ""
    role = "" if eqn.role == "primal" else f" [{eqn.role}]"
    return f"{outs} = {eqn.prim} {args}{params}{role}{where}"


def _holds_graphs(value: object) -> bool:
    return isinstance(value, Graph) or (
        isinstance(value, tuple) and any(isinstance(v, Graph) for v in value)
    )


def format_graph(graph: Graph, indent: str = "", names: Mapping[int, str] | None = None) -> str:
    """The whole graph as text, one equation per line, sub-graphs indented below theirs.
    Values are named as everywhere else (``srcad.ir.naming``) unless ``names`` says."""
    names = value_names(graph) if names is None else names
    inputs = ", ".join(format_var(v, names.get(v.id, "")) for v in graph.inputs)
    lines = [f"{indent}graph {graph.name}({inputs}) {{"]
    for eqn in graph.eqns:
        lines.append(f"{indent}  {format_eqn(eqn, names)}")
        for key, value in eqn.params:
            if _holds_graphs(value):
                for sub in value if isinstance(value, tuple) else (value,):
                    lines.append(f"{indent}    {key}:")
                    lines.append(format_graph(sub, indent + "    ", names))
    lines.append(f"{indent}  return " + ", ".join(format_atom(a) for a in graph.outputs))
    lines.append(f"{indent}}}")
    return "\n".join(lines)


__all__ = ["format_atom", "format_eqn", "format_graph", "format_var"]
