"""Unrolling one run of a graph: loops and branches become the statements that executed.

Used by ``explain``, on top of the public inspection API only. A graph with ``for``,
``while`` and ``cond`` equations is run on concrete inputs, and every equation that runs is
copied, with fresh vars, into a straight-line graph: a loop body once per iteration (its
counter becomes a constant), a branch only when taken, a ``while`` test once per check, a
``try`` block where it completed and its handler where it raised. The
result computes the same value for these inputs, and reversing it gives the adjoint of every
statement instance: back-propagation through time, one iteration at a time.

Each copied value remembers the var it copies (``origin``) and where it ran (``context``:
``t=2``, ``while 3``, ``else``), so that a table can name it as the source does.

Before:  h1 = for h0 start=0 stop=2 { (t, h): h' = tanh(W @ h + xs[t]) }
After:   h' = tanh(W @ h0 + xs[0])      (t=0)
         h'' = tanh(W @ h' + xs[1])     (t=1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from srcad.api.inspect import caught_by, evaluate_graph, max_var_id, sub_graphs
from srcad.errors import SrcadError
from srcad.ir import Atom, Const, Eqn, Graph, Var

MAX_STEPS = 100_000  # equations copied before unrolling gives up (a runaway while loop)


@dataclass(frozen=True)
class Unrolled:
    """A straight-line copy of one run: the graph, every value computed, and for every var
    of it the var of the original graph it copies and where it ran."""

    graph: Graph
    values: dict[int, object]
    origin: dict[int, int]
    context: dict[int, str]


@dataclass
class _Run:
    """The state of one unrolling: the copied equations and the value of every var."""

    next_id: int
    env: dict[Var, Atom] = field(default_factory=dict)
    values: dict[int, object] = field(default_factory=dict)
    eqns: list[Eqn] = field(default_factory=list)
    origin: dict[int, int] = field(default_factory=dict)
    context: dict[int, str] = field(default_factory=dict)
    where: tuple[str, ...] = ()

    def atom(self, atom: Atom) -> Atom:
        return self.env.get(atom, atom) if isinstance(atom, Var) else atom

    def value(self, atom: Atom) -> object:
        atom = self.atom(atom)
        return self.values[atom.id] if isinstance(atom, Var) else atom.value


def has_control_flow(graph: Graph) -> bool:
    """Whether any equation of ``graph`` holds a nested graph (a loop or a branch)."""
    return any(sub_graphs(eqn) for eqn in graph.eqns)


def unroll(graph: Graph, input_values: Sequence[object]) -> Unrolled:
    """Run ``graph`` on ``input_values`` and copy every equation that runs (see the module
    docstring); the inputs and outputs keep their vars."""
    run = _Run(next_id=max_var_id(graph) + 1)
    for var, value in zip(graph.inputs, input_values, strict=True):
        run.values[var.id] = value
        run.origin[var.id] = var.id
    _run_eqns(run, graph.eqns)
    outputs = tuple(run.atom(a) for a in graph.outputs)
    straight = Graph(graph.name, graph.inputs, tuple(run.eqns), outputs)
    return Unrolled(straight, run.values, run.origin, run.context)


def _run_eqns(run: _Run, eqns: Sequence[Eqn]) -> None:
    for eqn in eqns:
        if len(run.eqns) > MAX_STEPS:
            raise SrcadError(
                f"explain stops after {MAX_STEPS} executed statements; explain a shorter run"
            )
        if eqn.prim == "for":
            _run_for(run, eqn)
        elif eqn.prim == "while":
            _run_while(run, eqn)
        elif eqn.prim == "cond":
            _run_cond(run, eqn)
        elif sub_graphs(eqn):
            loc = eqn.loc
            raise SrcadError(
                f"explain cannot run the nested graph of '{eqn.prim}' step by step",
                loc.file if loc else None,
                loc.line if loc else None,
            )
        else:
            _run_plain(run, eqn)


def _run_plain(run: _Run, eqn: Eqn) -> None:
    """Copy ``eqn`` with fresh outputs and compute them."""
    inputs = tuple(run.atom(a) for a in eqn.inputs)
    outputs = []
    for var in eqn.outputs:
        fresh = Var(run.next_id, var.hint, var.aval)
        run.next_id += 1
        run.env[var] = fresh
        run.origin[fresh.id] = var.id
        run.context[fresh.id] = ", ".join(run.where)
        outputs.append(fresh)
    copied = replace(eqn, inputs=inputs, outputs=tuple(outputs))
    run.eqns.append(copied)
    operands = list(dict.fromkeys(a for a in inputs if isinstance(a, Var)))
    step = Graph("step", tuple(operands), (copied,), tuple(outputs))
    computed = evaluate_graph(step, [run.values[v.id] for v in operands])
    for var in outputs:
        run.values[var.id] = computed[var.id]


def _run_for(run: _Run, eqn: Eqn) -> None:
    params = eqn.param_dict
    body = params["body"]
    assert isinstance(body, Graph)
    counter, carried = body.inputs[0], body.inputs[1:]
    current = [run.atom(a) for a in eqn.inputs]
    named = bool(counter.hint) and counter.hint != "_"
    for k in range(params["start"], params["stop"], params["step"]):  # type: ignore[arg-type]
        run.env[counter] = Const(k)
        label = f"{counter.hint}={k}" if named else f"iteration {k}"
        current = _run_body(run, body, carried, current, label)
    _bind(run, eqn.outputs, current)


def _run_while(run: _Run, eqn: Eqn) -> None:
    params = eqn.param_dict
    body, test = params["body"], params["cond"]
    assert isinstance(body, Graph) and isinstance(test, Graph)
    current = [run.atom(a) for a in eqn.inputs]
    for k in range(1, MAX_STEPS):
        where = run.where
        run.where = (*where, f"while test {k}")
        _bind(run, test.inputs, current)
        _run_eqns(run, test.eqns)
        run.where = where
        if not bool(np.all(run.value(test.outputs[0]))):
            break
        current = _run_body(run, body, body.inputs, current, f"while {k}")
    _bind(run, eqn.outputs, current)


def _run_body(
    run: _Run, body: Graph, carried: Sequence[Var], current: list[Atom], label: str
) -> list[Atom]:
    """Run one iteration of a loop body; the carried values after it."""
    where = run.where
    run.where = (*where, label)
    _bind(run, carried, current)
    _run_eqns(run, body.eqns)
    run.where = where
    return [run.atom(a) for a in body.outputs]


def _run_cond(run: _Run, eqn: Eqn) -> None:
    branches = eqn.param_dict["branches"]
    assert isinstance(branches, tuple)
    if caught_by(eqn):
        return _run_try(run, eqn, branches)
    is_true = bool(np.all(run.value(eqn.inputs[0])))
    branch = branches[0] if is_true else branches[1]
    line = f" (line {eqn.loc.line})" if eqn.loc else ""
    where = run.where
    run.where = (*where, ("if" if is_true else "else") + line)
    _run_eqns(run, branch.eqns)
    run.where = where
    _bind(run, eqn.outputs, [run.atom(a) for a in branch.outputs])


def _run_try(run: _Run, eqn: Eqn, branches: tuple[Graph, Graph]) -> None:
    """A ``try`` statement: its block, or where that raises what it catches, the handler
    (the block's copied statements dropped: they did not complete)."""
    line = f" (line {eqn.loc.line})" if eqn.loc else ""
    where, copied = run.where, len(run.eqns)
    try:
        run.where = (*where, "try" + line)
        branch = branches[0]
        _run_eqns(run, branch.eqns)
    except caught_by(eqn):
        del run.eqns[copied:]
        run.where = (*where, "except" + line)
        branch = branches[1]
        _run_eqns(run, branch.eqns)
    run.where = where
    _bind(run, eqn.outputs, [run.atom(a) for a in branch.outputs])


def _bind(run: _Run, targets: Sequence[Var], atoms: Sequence[Atom]) -> None:
    for target, atom in zip(targets, atoms, strict=True):
        run.env[target] = atom


def origin_names(unrolled: Unrolled, names: Mapping[int, str]) -> dict[int, str]:
    """The name of every var of the unrolled graph: that of the value it copies."""
    return {
        var_id: names.get(original, f"%{original}") for var_id, original in unrolled.origin.items()
    }


__all__ = ["Unrolled", "has_control_flow", "origin_names", "unroll"]
