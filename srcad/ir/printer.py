"""The canonical text form of a graph, used in tests, golden files and error messages.

graph f(%0:f64[3], %1:~f64[]) {
  %2:f64[3] = exp %0                     # line 4
  %3:f64[3] = multiply %1 %2
  return %3
}
"""

from __future__ import annotations

from srcad.ir.graph import Atom, Eqn, Graph, RoleKind, Var


def format_atom(atom: Atom) -> str:
    if isinstance(atom, Var):
        return f"%{atom.id}"
    if atom.name:
        return f"${atom.name}"
    return repr(atom.value)


ROLE_MARKS = {
    RoleKind.ADJOINT: "d",
    RoleKind.TANGENT: "t",
    RoleKind.RESTORED: "=",
    RoleKind.PROBE: "probe",
}


def format_var(var: Var) -> str:
    """``%12(x):f64[3]``: the id, the user's name or the role (``d@5``: the adjoint of
    ``%5``), and the abstract value."""
    label = var.hint or (f"{ROLE_MARKS[var.role.kind]}@{var.role.of}" if var.role else "")
    name = f"({label})" if label else ""
    return f"%{var.id}{name}:{var.aval.short()}"


def format_eqn(eqn: Eqn) -> str:
    outs = ", ".join(format_var(v) for v in eqn.outputs)
    args = " ".join(format_atom(a) for a in eqn.inputs)
    params = "".join(f" {k}={v!r}" for k, v in eqn.params if not _holds_graphs(v))
    where = f"  # line {eqn.loc.line}" if eqn.loc else ""
    role = "" if eqn.role == "primal" else f" [{eqn.role}]"
    return f"{outs} = {eqn.prim} {args}{params}{role}{where}"


def _holds_graphs(value: object) -> bool:
    return isinstance(value, Graph) or (
        isinstance(value, tuple) and any(isinstance(v, Graph) for v in value)
    )


def format_graph(graph: Graph, indent: str = "") -> str:
    """The whole graph as text, one equation per line, sub-graphs indented below theirs."""
    inputs = ", ".join(format_var(v) for v in graph.inputs)
    lines = [f"{indent}graph {graph.name}({inputs}) {{"]
    for eqn in graph.eqns:
        lines.append(f"{indent}  {format_eqn(eqn)}")
        for key, value in eqn.params:
            if _holds_graphs(value):
                for sub in value if isinstance(value, tuple) else (value,):
                    lines.append(f"{indent}    {key}:")
                    lines.append(format_graph(sub, indent + "    "))
    lines.append(f"{indent}  return " + ", ".join(format_atom(a) for a in graph.outputs))
    lines.append(f"{indent}}}")
    return "\n".join(lines)


__all__ = ["format_atom", "format_eqn", "format_graph", "format_var"]
