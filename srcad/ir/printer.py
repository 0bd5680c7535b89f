"""The canonical text form of a graph, used in tests, golden files and error messages.

graph f(%0:f64[3], %1:~f64[]) {
  %2:f64[3] = exp %0                     # line 4
  %3:f64[3] = multiply %1 %2
  return %3
}
"""

from __future__ import annotations

from srcad.ir.graph import Atom, Eqn, Graph, Var


def format_atom(atom: Atom) -> str:
    if isinstance(atom, Var):
        return f"%{atom.id}"
    if atom.name:
        return f"${atom.name}"
    return repr(atom.value)


def format_var(var: Var) -> str:
    name = f"({var.hint})" if var.hint else ""
    return f"%{var.id}{name}:{var.aval.short()}"


def format_eqn(eqn: Eqn) -> str:
    outs = ", ".join(format_var(v) for v in eqn.outputs)
    args = " ".join(format_atom(a) for a in eqn.inputs)
    params = "".join(f" {k}={v!r}" for k, v in eqn.params)
    where = f"  # line {eqn.loc.line}" if eqn.loc else ""
    role = "" if eqn.role == "primal" else f" [{eqn.role}]"
    return f"{outs} = {eqn.prim} {args}{params}{role}{where}"


def format_graph(graph: Graph) -> str:
    """The whole graph as text, one equation per line."""
    inputs = ", ".join(format_var(v) for v in graph.inputs)
    lines = [f"graph {graph.name}({inputs}) {{"]
    lines += [f"  {format_eqn(eqn)}" for eqn in graph.eqns]
    lines.append("  return " + ", ".join(format_atom(a) for a in graph.outputs))
    lines.append("}")
    return "\n".join(lines)


__all__ = ["format_atom", "format_eqn", "format_graph", "format_var"]
