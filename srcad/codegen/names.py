"""Naming: every var of a graph gets a readable, deterministic Python name.

The names follow the naming rules every view of srcad shares (``srcad.ir.naming``): user
variables keep their names (a reassigned ``x`` becomes ``x``, ``x_1``, ``x_2``), adjoints
are ``d<name>``, temporaries are named after their operation while that stays short
(``exp_b``, ``w_0`` for ``w[0]``, ``Wx`` for ``W @ x``) and ``t1``, ``t2`` otherwise. On top
of them, liveness: a second contribution to an adjoint reuses its name (``dx = dx + ...``)
because the old value is dead. Values that must share a Python variable (a loop-carried
value before, inside and after the loop; the branches' results of an ``if``) are grouped and
get one name. Names never depend on ids or hashing order, so the output is byte-for-byte
reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

from srcad.codegen.program import Program
from srcad.ir import Eqn, Graph, Var
from srcad.ir.control import body_of, branches_of, known_steps
from srcad.ir.facts import is_loop, updates_first_input
from srcad.ir.graph import RoleKind
from srcad.ir.naming import Namer, identifier, user_names
from srcad.ir.prims import shares_memory
from srcad.ir.walk import defined_vars, sub_graphs

IsOwned = Callable[[Var], bool]  # whether a value is a fresh array no other name can see


def _kept_for_later(graph: Graph, program: Program) -> set[int]:
    """Ids of values read after their block moves on: pushed on a tape, or a block's result."""
    kept = {a.id for a in graph.outputs if isinstance(a, Var)}
    for eqn in program.order:
        if eqn.prim == "tape_push":
            kept |= {a.id for a in eqn.inputs if isinstance(a, Var)}
        for sub in sub_graphs(eqn):
            kept |= {a.id for a in sub.outputs if isinstance(a, Var)}
    return kept


def _held_as_results(program: Program) -> dict[int, list[Var]]:
    """For each value a branch or a loop body gives back as it is (defined outside them:
    ``C_dot = B_dot``, the tangent of ``C = B.copy()`` in an ``if``), the structured
    equation's results that may be that very array, as may a loop's result that takes the
    value it started from when the loop runs no step."""
    held: dict[int, list[Var]] = {}
    for eqn in program.order:
        if eqn.prim == "cond":
            blocks: tuple[Graph, ...] = branches_of(eqn)
        elif is_loop(eqn):
            blocks = (body_of(eqn),)
            if known_steps(eqn) == 0:  # a while loop, or bounds known when it runs
                for out, start in zip(eqn.outputs, eqn.inputs, strict=True):
                    if isinstance(start, Var):
                        held.setdefault(start.id, []).append(out)
        else:
            continue
        position = program.pos(eqn)  # what the blocks define is defined at or after it
        for block in blocks:
            for out, atom in zip(eqn.outputs, block.outputs, strict=True):
                if isinstance(atom, Var) and program.defined_at.get(atom.id, -1) < position:
                    held.setdefault(atom.id, []).append(out)
    return held


class NameAllocator(Namer):
    """Assigns names to the vars of one graph by the naming rules, reusing the names of dead
    values; owns the set of names in use."""

    def __init__(
        self, graph: Graph, program: Program, reserved: set[str], isolated: frozenset[int]
    ):
        super().__init__(user_names(program.order), reserved)
        self.graph = graph
        self.isolated = isolated  # ids of values that get a name of their own (liveness)
        self.program = program
        self.filled_in_place: set[int] = set()  # ids of setitem results written into the base
        self._filled_from: dict[int, int] = {}  # such a result -> the base it was written into
        self.leader: dict[int, Var] = {}
        self._source: dict[int, Var] = {}
        self.descriptive.update(v.id for v in graph.inputs)
        self._views: dict[int, list[Var]] = {}
        self._viewed: dict[int, int] = {}  # a view -> the value it views
        for eqn in program.order:
            if shares_memory(eqn) and isinstance(eqn.inputs[0], Var):
                self._views.setdefault(eqn.inputs[0].id, []).extend(eqn.outputs)
                self._viewed.update((v.id, eqn.inputs[0].id) for v in eqn.outputs)
        self._kept = _kept_for_later(graph, program)
        self._held_as = _held_as_results(program)
        self._vars = {v.id: v for v in defined_vars(graph.eqns) | set(graph.inputs)}
        self._taped = {
            a.id
            for e in program.order
            if e.prim == "tape_push"
            for a in e.inputs[1:]
            if isinstance(a, Var)
        }
        self._derivative_ids = {
            v.id for e in program.order if e.role != "primal" for v in e.outputs
        }
        self._output_ids = {v.id for v in graph.outputs if isinstance(v, Var)}
        self._input_ids = {v.id for v in graph.inputs}

    def name(self, var: Var) -> str:
        return self.names[var.id]

    def is_derivative(self, var: Var) -> bool:
        """Whether ``var`` is computed by the derivative (an adjoint or a tangent)."""
        return var.id in self._derivative_ids

    def group(self, members: list[Var]) -> None:
        """Make ``members`` share one name (merging groups they already belong to): the
        name of the first member to be named, made from a member's hint that says
        something."""
        roots = [self._find(v) for v in members]
        root = roots[0]
        hinted = next((v for v in members if _says_something(v)), None)
        for other in roots[1:]:
            if other.id != root.id:
                self.leader[other.id] = root
                if other.id in self._source:
                    self._source.setdefault(root.id, self._source[other.id])
        for var in members:
            self.leader.setdefault(var.id, root)
        self.leader.setdefault(root.id, root)
        if hinted is not None:
            self._source.setdefault(root.id, hinted)

    def members(self, var: Var) -> list[int]:
        """Ids of the vars that share ``var``'s name group (``var`` itself if none)."""
        if var.id not in self.leader:
            return [var.id]
        root = self._find(var)
        return [i for i, leader in self.leader.items() if self._find(leader).id == root.id]

    def _find(self, var: Var) -> Var:
        while var.id in self.leader and self.leader[var.id].id != var.id:
            var = self.leader[var.id]
        return var

    def assign_input(self, var: Var, name: str) -> None:
        self.claim(var, identifier(name))

    def bind(self, var: Var, name: str) -> None:
        """Give ``var`` a name already reserved for it (a parameter of the function)."""
        self.give(var, name)

    def assign_var(self, var: Var, position: int) -> None:
        """Name a var defined without an equation (a sub-graph input, such as a counter)."""
        if var.id in self.names or self._follow_leader(var):
            return
        base = self.base_name(var, None)
        if self._is_dead(base, position) and var.id not in self.isolated:
            self.give(var, base)
        else:
            self.claim(var, base)

    def assign_eqn(self, eqn: Eqn, is_owned: IsOwned) -> None:
        position = self.program.pos(eqn)
        array = eqn.inputs[0] if updates_first_input(eqn) else None
        if (
            isinstance(array, Var)
            and eqn.outputs[0].id not in self.isolated
            and self._fills_in_place(position, eqn, array, is_owned)
        ):
            self.give(eqn.outputs[0], self.names[array.id])
            self.filled_in_place.add(eqn.outputs[0].id)
            self._filled_from[eqn.outputs[0].id] = array.id
            return
        for var in eqn.outputs:
            if var.id in self.names or self._follow_leader(var):
                continue
            base = self.base_name(var, eqn)
            if var.id in self.isolated:
                self.claim(var, base)
            elif var.is_role(RoleKind.RESTORED) and self._is_dead(base, position):
                self.give(var, base)  # a value restored from the tape takes its old name
            elif eqn.role != "primal" and self._is_reusable(base, position):
                self.give(var, base)
            else:
                self.claim(var, base)

    def _follow_leader(self, var: Var) -> bool:
        if var.id not in self.leader:
            return False
        leader = self._find(var)
        if leader.id not in self.names:
            source = self._source.get(leader.id, leader)
            self.claim(leader, self.base_name(source, self.program.defining.get(source.id)))
        self.give(var, self.names[leader.id])
        return True

    def _fills_in_place(self, position: int, eqn: Eqn, base: Var, is_owned: IsOwned) -> bool:
        """``y[i] = v`` may write into ``y`` when nothing reads the old ``y`` afterwards,
        and the result, taking ``y``'s name, keeps it while it is needed: not when a later
        value of a loop's carried name takes it over while the result is still read (by
        the tape, say), nor when a value of that name is on the tape (the next iteration
        would write into the array an earlier one recorded)."""
        result = eqn.outputs[0]
        return (
            not any(m in self._taped for m in self.members(base))
            and not self._group_takes_name_while_read(base, result, position)
            and base not in self.graph.inputs
            and base not in self.graph.outputs
            and self.program.last_use.get(base.id, -1) <= position
            and self.program.block_of.get(base.id) == self.program.block_of.get(eqn.outputs[0].id)
            and is_owned(base)
            and not self.views_alive(base, position)
            and not self._recorded_view_of_same_array(base)
            and not self._writes_a_view_of_itself(eqn, base)
            and not self._read_as_a_result(base, position)
        )

    def _read_as_a_result(self, var: Var, position: int, seen: frozenset = frozenset()) -> bool:
        """Whether a result of a branch or a loop that may be ``var``'s very array (see
        ``_held_as_results``) is read after ``position``: writing into ``var`` changes it."""
        for result in self._held_as.get(var.id, ()):
            if result.id in seen:
                continue
            if self.program.last_use.get(result.id, -1) > position or result.id in self._kept:
                return True
            if self._read_as_a_result(result, position, seen | {var.id}):
                return True
        return False

    def _writes_a_view_of_itself(self, eqn: Eqn, base: Var) -> bool:
        """``y_dot[:, -1] = y_1_dot`` with ``y_1_dot = y_dot[1]``: NumPy would copy the view
        element by element while writing over it (no copy of the view first), so the
        result would depend on the order; a copy of the base is written instead."""
        read = {a.id for a in eqn.inputs[1:] if isinstance(a, Var) and a.aval.shape != ()}
        pending, seen = [base], set()
        while pending:
            var = pending.pop()
            for view in self._views.get(var.id, ()):
                if view.id in read:
                    return True
                if view.id not in seen:
                    seen.add(view.id)
                    pending.append(view)
        return False

    def _recorded_view_of_same_array(self, base: Var) -> bool:
        """Whether a view of an earlier value held in ``base``'s array is on a tape or a
        block's result: written into in place before it (an in-place chain) or by the
        previous iteration of a loop (the loop's values of one name)."""
        same, pending = set(), [base.id]
        while pending:
            var_id = pending.pop()
            if var_id in same:
                continue
            same.add(var_id)
            if var_id in self._vars:
                pending += self.members(self._vars[var_id])
            if var_id in self._filled_from:
                pending.append(self._filled_from[var_id])
        return any(self._view_kept(var_id) for var_id in same - {base.id})

    def _view_kept(self, var_id: int) -> bool:
        for view in self._views.get(var_id, ()):
            if view.id in self._kept or self._view_kept(view.id):
                return True
        return False

    def _group_takes_name_while_read(self, base: Var, result: Var, position: int) -> bool:
        """Whether a later value of ``base``'s name group is assigned while ``result``
        (written into ``base``'s array, under its name) is still read. ``base`` may hold
        the group's name by an earlier write in place, so the group is found by name."""
        last = self.program.last_use.get(result.id, -1)
        defined_at = self.program.defined_at
        name = self.names.get(base.id)
        group = set(self.members(base))
        group |= {
            member
            for member, leader in self.leader.items()
            if name is not None and self.names.get(self._find(leader).id) == name
        }
        return any(
            position < defined_at.get(member, -1) < last for member in group if member != base.id
        )

    def viewed(self, var: Var) -> Var:
        """The value whose array ``var`` is: views followed to the value they view."""
        while var.id in self._viewed and self._viewed[var.id] in self._vars:
            var = self._vars[self._viewed[var.id]]
        return var

    def views_alive(self, base: Var, position: int) -> bool:
        """Whether an array sharing ``base``'s memory (a slice, a reshape of it) is read after
        ``position`` or kept for later (on a tape, as a block's result): writing into
        ``base`` would change it."""
        for view in self._views.get(base.id, ()):
            if self.program.last_use.get(view.id, -1) > position or view.id in self._kept:
                return True
            if self.views_alive(view, position):
                return True
        return False

    def _is_reusable(self, name: str, position: int) -> bool:
        """Whether a derivative value may take over ``name`` (``dx = dx + ...``)."""
        holders = self.holders.get(name, [])
        return bool(holders) and all(
            holder.id not in self._output_ids
            and holder.id not in self.leader
            and self.program.last_use.get(holder.id, -1) <= position
            and holder.id in self._derivative_ids
            for holder in holders
        )

    def _is_dead(self, name: str, position: int) -> bool:
        """Whether no value under ``name`` is read at or after ``position``."""
        holders = self.holders.get(name)
        if not holders:
            return name not in self.taken
        return all(
            holder.id not in self._output_ids
            and holder.id not in self._input_ids
            and self.program.last_use.get(holder.id, -1) < position
            for holder in holders
        )


def _says_something(var: Var) -> bool:
    """Whether ``var``'s facts give a name (a user's name, an adjoint or a tangent role);
    a value restored from the tape only repeats the name of the value it restores."""
    return var.is_named and not var.is_role(RoleKind.RESTORED)
