"""Checking the names: no Python variable is assigned while the value it held is still read.

Naming gives several values one name where that saves a copy or a move: a loop-carried
value and the result that becomes its next value, an array filled in place, an adjoint
that takes over its old value's name (``dx = dx + ...``). Each of those choices has its own
rule in ``names`` and ``control``; this module checks their sum with one rule over the
program as it will run:

    a value ``a`` is overwritten when another value ``b`` of the same name is assigned on a
    path from ``a``'s assignment to one of ``a``'s reads.

Positions are those of ``codegen.program`` (program order, a structured equation before
its blocks). Two positions in different branches of one ``if`` are never on one path. A
value defined before a loop and read inside it is read by every iteration, so any
assignment inside the loop is on a path to that read. The emitter names again, giving each
value found here a name of its own, until no conflict is left.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from srcad.codegen.program import Program
from srcad.ir import Atom, Eqn, Graph, Var
from srcad.ir.control import body_of, branches_of
from srcad.ir.facts import has_counter, is_loop, is_statement, updates_first_input
from srcad.ir.walk import sub_graphs

# The branches a position lies in: (position of an ``if``, index of its branch), outer first.
Branches = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Point:
    """A position where a name is assigned or read, and the branches it lies in.
    ``every_iteration``: a read by a loop's later iterations (on a path from anything in
    the loop, whatever branch). ``copies``: the value an assignment gives the name, when it
    gives it another var's value (a branch's result to the ``if``'s, say)."""

    position: float
    branches: Branches = ()
    every_iteration: bool = False
    copies: int | None = None  # an assignment of another value (``y = x``): its id


@dataclass(frozen=True)
class Conflict:
    """``overwritten`` is still read when ``assigned``, under the same name, is assigned."""

    overwritten: Var
    assigned: Var
    name: str


def _after(last: int, branches: Branches, loops: list[Eqn]) -> float:
    """Where a structured statement ending at ``last`` assigns its results: after its last
    statement, and after the results of the statements nested in it (which end there too)."""
    return last + 0.5 - (len(branches) + len(loops)) / 1000


def _id(atom: Atom) -> int | None:
    return atom.id if isinstance(atom, Var) else None


def exclusive(first: Point, second: Point) -> bool:
    """Whether no run passes through both points (different branches of one ``if``)."""
    branches = dict(first.branches)
    return any(branches.get(cond, index) != index for cond, index in second.branches)


class LiveRanges:
    """Assignments and reads of every var of a laid-out graph."""

    def __init__(self, graph: Graph, program: Program, spelled_at: dict[int, int | None]):
        self.program = program
        self.spelled_at = spelled_at  # a value folded into the expression that reads it
        self.writes: dict[int, list[Point]] = {}
        self.reads: dict[int, list[Point]] = {}
        self.vars: dict[int, Var] = {}
        self._loop_end: dict[int, float] = {}  # a loop -> where its results are assigned
        for var in graph.inputs:
            self._write(var, Point(-1))
        self._block(graph.eqns, (), [])
        end = Point(len(program.order) + 1)
        for atom in graph.outputs:
            self._read(atom, end, [])

    def _write(self, var: Var, point: Point) -> None:
        self.vars[var.id] = var
        self.writes.setdefault(var.id, []).append(point)

    def _read(self, atom: Atom, point: Point, loops: list[Eqn]) -> None:
        if not isinstance(atom, Var):
            return
        self.reads.setdefault(atom.id, []).append(point)
        defined = self.program.defined_at.get(atom.id, -1)
        for loop in loops:
            if self.program.pos(loop) > defined:  # just after the results are assigned
                self.reads[atom.id].append(Point(self._loop_end[id(loop)] + 1e-4, (), True))

    def _block(self, eqns: Iterable[Eqn], branches: Branches, loops: list[Eqn]) -> None:
        for eqn in eqns:
            point = Point(self.program.pos(eqn), branches)
            folded = [self.spelled_at.get(v.id) for v in eqn.outputs if v.id in self.spelled_at]
            if folded and folded[0] is not None:
                point = Point(folded[0], branches)  # read where the expression is written
            for atom in eqn.inputs:
                self._read(atom, point, loops)
            if eqn.prim == "cond":
                self._cond(eqn, branches, loops)
            elif is_loop(eqn):
                self._loop(eqn, branches, loops)
            elif is_statement(eqn) and not updates_first_input(eqn):
                # dv = np.zeros(...) then dv[i] = values: the name is assigned before the
                # values are read, so none of them may be read under that name
                for var in eqn.outputs:
                    self._write(var, replace(point, position=point.position - 1e-3))
            else:
                for var in eqn.outputs:
                    self._write(var, point)

    def _cond(self, eqn: Eqn, branches: Branches, loops: list[Eqn]) -> None:
        """Each branch assigns the results at its end."""
        position = self.program.pos(eqn)
        for index, branch in enumerate(branches_of(eqn)):
            inner = (*branches, (position, index))
            self._block(branch.eqns, inner, loops)
            last = max((self.program.end[id(e)] for e in branch.eqns), default=position)
            end = Point(_after(last, branches, loops), inner)
            for atom in branch.outputs:
                self._read(atom, end, loops)
            for var, atom in zip(eqn.outputs, branch.outputs, strict=True):
                self._write(var, replace(end, copies=_id(atom)))

    def _loop(self, eqn: Eqn, branches: Branches, loops: list[Eqn]) -> None:
        """The carried values are assigned on entry; the results at the end of the body,
        which is also where the loop's outputs are assigned."""
        start = Point(self.program.pos(eqn), branches)
        end = Point(_after(self.program.end[id(eqn)], branches, loops), branches)
        self._loop_end[id(eqn)] = end.position
        inner_loops = [*loops, eqn]
        body = body_of(eqn)
        for graph in sub_graphs(eqn):
            carried = graph.inputs[1:] if has_counter(eqn) and graph is body else graph.inputs
            self._write_all(graph.inputs[: len(graph.inputs) - len(carried)], start)
            for var, atom in zip(carried, eqn.inputs, strict=True):
                self._write(var, replace(start, copies=_id(atom)))
            self._block(graph.eqns, branches, inner_loops)
            for atom in graph.outputs:
                self._read(atom, end, inner_loops)
        for var, atom in zip(eqn.outputs, body.outputs, strict=True):
            self._write(var, replace(end, copies=_id(atom)))

    def _write_all(self, variables: Iterable[Var], point: Point) -> None:
        for var in variables:
            self._write(var, point)

    def _holds(self, value: int | None, earlier: int, born: Point, depth: int = 0) -> bool:
        """Whether ``value`` is ``earlier`` wherever ``earlier`` exists: itself, or a value
        every assignment of which (on a path with ``earlier``) copies such a value (an
        ``if``'s result that is ``earlier`` in the branch that defines it)."""
        if value == earlier:
            return True
        if value is None or depth > 8:
            return False
        writes = [w for w in self.writes.get(value, ()) if not exclusive(w, born)]
        return bool(writes) and all(self._holds(w.copies, earlier, born, depth + 1) for w in writes)

    def overwritten(self, earlier: int, later: int) -> bool:
        """Whether an assignment of ``later`` lies on a path from ``earlier``'s first
        assignment to one of its reads."""
        born = min(self.writes[earlier], key=lambda p: p.position)
        for write in self.writes.get(later, ()):
            if write.position <= born.position or exclusive(write, born):
                continue
            if self._holds(write.copies, earlier, born):
                continue  # gives the name the value it holds
            for read in self.reads.get(earlier, ()):
                if write.position < read.position and (
                    read.every_iteration or not exclusive(write, read)
                ):
                    return True
        return False


def name_conflicts(
    ranges: LiveRanges, names: dict[int, str], unnamed: set[int] | frozenset[int]
) -> list[Conflict]:
    """Every pair of values of one name where the second overwrites the first while it is
    still read (``unnamed``: values written into the expression that reads them). A tape is
    one list, pushed to and popped from in place: its values are one value."""
    holders: dict[str, list[int]] = {}
    for var_id, name in names.items():
        is_tape = var_id in ranges.vars and ranges.vars[var_id].aval.dtype == "object"
        if var_id not in unnamed and var_id in ranges.writes and not is_tape:
            holders.setdefault(name, []).append(var_id)
    conflicts = []
    for name, ids in holders.items():
        for earlier, later in _candidate_pairs(ranges, ids):
            if ranges.overwritten(earlier, later):
                conflicts.append(Conflict(ranges.vars[earlier], ranges.vars[later], name))
    return conflicts


def _candidate_pairs(ranges: LiveRanges, ids: list[int]) -> Iterator[tuple[int, int]]:
    """The pairs of ``ids`` where ``later`` may be assigned while ``earlier`` is live: an
    assignment of it after ``earlier``'s first and before its last read. Values assigned
    once are found by bisection (a long function that assigns ``x = x + ...`` 4,000 times
    had 16 million pairs to test); values assigned several times (in loops, branches) are
    paired with every other."""
    once = sorted((ranges.writes[i][0].position, i) for i in ids if len(ranges.writes[i]) == 1)
    positions = [position for position, _ in once]
    several = [i for i in ids if len(ranges.writes[i]) > 1]
    for earlier in ids:
        born = min(w.position for w in ranges.writes[earlier])
        last_read = max((r.position for r in ranges.reads.get(earlier, ())), default=born)
        start, stop = bisect.bisect_right(positions, born), bisect.bisect_left(positions, last_read)
        for _, later in once[start:stop]:
            if later != earlier:
                yield earlier, later
        for later in several:
            if later != earlier:
                yield earlier, later
