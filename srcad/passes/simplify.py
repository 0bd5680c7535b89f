"""Simplification: the algebraic rules of ``srcad.ir.simplify`` over a whole graph.

Graph → graph. Constant folding, identity operands (``x * 1``, ``x + 0``, ``-(-x)``), scalars
first (``s * (r * z)`` → ``(s * r) * z``) and reading through broadcasts, in every block.
An equation that a rule makes unnecessary stays where it is, unread: dead-code elimination
removes it. Afterwards no equation of a pure primitive has only constant scalar inputs or
an identity operand (but where a value written in place is involved: ``rewrite``). Vars keep their ids, names and roles; a rule that rewrites one equation
into two gives the second the original output var, and both its location, role and origin.

Before:
  graph f(%0(x):f64[3], %1(s):~f64[]) {
    %2(t1):f64[3] = broadcast_to %1 shape=(3,)
    %3(t2):f64[3] = multiply %0 %2
    %4(t3):~f64[] = subtract 2.0 1
    %5(y):f64[3] = multiply %3 %4
    return %5
  }
After (``t1`` is left for dead-code elimination; ``y`` names the value it now is):
  graph f(%0(x):f64[3], %1(s):~f64[]) {
    %2(t1):f64[3] = broadcast_to %1 shape=(3,)
    %3(y):f64[3] = multiply %0 %1
    return %3
  }

The builder applies the same rules as it records equations, so on a graph it built this pass
changes nothing; it is for graphs made otherwise and keeps the rules' results an invariant.
"""

from __future__ import annotations

from dataclasses import replace

from srcad.ir import Atom, AVal, Const, Eqn, Graph, Var
from srcad.ir.facts import has_effect, is_tape
from srcad.ir.prims import PRIMS
from srcad.ir.shapes import infer_avals
from srcad.ir.simplify import fold_constants, simplify_equation
from srcad.ir.walk import max_var_id
from srcad.passes.rewrite import Rewriting, rewrite_graph, written_vars


def simplify_graph(graph: Graph) -> Graph:
    """``graph`` with the algebraic rules applied to every equation, sub-graphs too."""
    simplifier = _Simplifier(max_var_id(graph) + 1, written_vars(graph))
    return rewrite_graph(graph, simplifier.step)


class _Simplifier:
    """The rules' ``Recorder`` over an existing graph: equations a rule makes are collected
    for the equation being simplified and take its location, role and origin."""

    def __init__(self, next_id: int, written: set[int]):
        self.next_id = next_id
        self.written = written
        self.rewriting = Rewriting()
        self.current = Eqn("", (), ())
        self.made: list[Eqn] = []

    def step(self, rewriting: Rewriting, eqn: Eqn) -> list[Eqn]:
        """What takes the place of ``eqn``: itself (maybe reading simpler inputs), new
        equations, or nothing (its output is replaced by a value that exists)."""
        if not _is_simplifiable(eqn):
            return [rewriting.keep(eqn)]
        self.rewriting, self.current, self.made = rewriting, eqn, []
        atoms = list(eqn.inputs)
        result = self._simplified(eqn.prim, atoms, eqn.param_dict, eqn.outputs[0].aval)
        if result is None and tuple(atoms) == eqn.inputs:
            return [rewriting.keep(eqn)]
        if result is None:
            return [rewriting.keep(replace(eqn, inputs=tuple(atoms)))]
        if len(eqn.outputs) > 1 or self._touches_written(eqn, result):
            return [rewriting.keep(eqn)]
        return self._replaced_by(eqn.outputs[0], result)

    def _touches_written(self, eqn: Eqn, result: Atom) -> bool:
        """Whether replacing ``eqn``'s output by ``result`` would join two buffers, one of
        them written in place."""
        ids = {v.id for v in eqn.outputs} | ({result.id} if isinstance(result, Var) else set())
        return bool(ids & self.written)

    def _replaced_by(self, original: Var, result: Atom) -> list[Eqn]:
        """The equations made for ``original``; a var made here is renamed ``original``."""
        made_ids = {v.id for e in self.made for v in e.outputs}
        if not (isinstance(result, Var) and result.id in made_ids):
            self.rewriting.replace(original, result)
            return self.made
        renamed = []
        for eqn in self.made:
            outputs = tuple(original if v.id == result.id else v for v in eqn.outputs)
            inputs = tuple(original if a == result else a for a in eqn.inputs)
            renamed.append(self.rewriting.keep(replace(eqn, inputs=inputs, outputs=outputs)))
        return renamed

    def _simplified(self, prim_name: str, atoms: list[Atom], params: dict, out: AVal):
        """An atom equal to the result, or None when the equation stays (with ``atoms``
        perhaps rewritten in place)."""
        folded = fold_constants(prim_name, atoms, params)
        if folded is not None:
            return folded
        return simplify_equation(self, prim_name, atoms, out)

    # --- the Recorder the rules use --------------------------------------------------------
    def producer(self, var: Var) -> Eqn | None:
        return self.rewriting.producer(var)

    def infer(self, prim_name: str, atoms: list[Atom], params: dict) -> tuple[AVal, ...]:
        return infer_avals(prim_name, [a.aval for a in atoms], params)

    def apply_atom(self, prim_name: str, inputs: tuple, params: dict | None = None) -> Atom:
        """Record ``prim_name(*inputs)`` (itself simplified) with the current equation's
        location, role and origin; the atom of its result."""
        params = params or {}
        atoms = [a if isinstance(a, (Var, Const)) else Const(a) for a in inputs]
        aval = self.infer(prim_name, atoms, params)[0]
        result = self._simplified(prim_name, atoms, params, aval)
        if result is not None:
            return result
        out = Var(self.next_id, "", aval)
        self.next_id += 1
        current = self.current
        eqn = Eqn(
            prim_name,
            tuple(atoms),
            (out,),
            tuple(sorted(params.items())),
            current.loc,
            current.role,
            current.origin,
        )
        self.made.append(self.rewriting.keep(eqn))
        return out


def _is_simplifiable(eqn: Eqn) -> bool:
    """Whether the rules may look at ``eqn``: a pure primitive of the table with a result."""
    return eqn.prim in PRIMS and bool(eqn.outputs) and not (has_effect(eqn) or is_tape(eqn))
