"""Emitting control flow: ``if`` / ``else``, ``for``, ``while`` and the tape.

Values that must be one Python variable are grouped before naming: a loop-carried value
before the loop (when nothing reads it afterwards), inside the loop and after it; an ``if``
result and the branch values that produce it. Where a group cannot absorb a value (a
constant, a value still needed elsewhere), an explicit assignment is written: before the
loop, at the end of the body, or at the end of a branch.
"""

from __future__ import annotations

import ast

from srcad.ir import Eqn, Graph, Var
from srcad.ir.walk import defined_vars, walk_eqns


class ControlFlowEmitter:
    """Mixin of the module emitter (needs ``program``, ``names``, ``operand``, ...)."""

    # --- grouping -----------------------------------------------------------------------
    def group_structured(self) -> None:
        for eqn in self.program.order:
            if eqn.prim == "cond":
                self._group_cond(eqn)
            elif eqn.prim in ("for", "while"):
                self._group_loop(eqn)

    def _group_cond(self, eqn: Eqn) -> None:
        claimed: set[int] = set()
        for k, out in enumerate(eqn.outputs):
            members = [out]
            for branch in eqn.param_dict["branches"]:
                atom = branch.outputs[k]
                if self._absorbable(atom, branch, claimed):
                    members.append(atom)
                    claimed.add(atom.id)
            self.names.group(members)

    def _group_loop(self, eqn: Eqn) -> None:
        body = eqn.param_dict["body"]
        carried = self._carried(eqn, body)
        condition = eqn.param_dict.get("cond")
        claimed: set[int] = set()
        for k, (init, out) in enumerate(zip(eqn.inputs, eqn.outputs, strict=True)):
            is_same_variable = isinstance(init, Var) and (
                init.hint == out.hint or init.id in self.names._derivative_ids
            )
            writes = _writes_into(body, carried[k])
            absorbable = self._init_absorbable(init, eqn, claimed, writes)
            absorbable = absorbable and not self._overwrites_live(init, out)
            members = [init] if is_same_variable and absorbable else []
            if members:
                claimed.add(init.id)
            members += [out, carried[k]]
            if condition is not None:
                members.append(condition.inputs[k])
            result = body.outputs[k]
            if (
                self._absorbable(result, body, claimed)
                and self._after_last_read(carried[k], result)
                and not self._overwrites_live(result, carried[k])
            ):
                members.append(result)
                claimed.add(result.id)
            self.names.group(members)

    @staticmethod
    def _carried(eqn: Eqn, body: Graph) -> tuple:
        return body.inputs[1:] if eqn.prim == "for" else body.inputs

    def _absorbable(self, atom, graph: Graph, claimed: set[int]) -> bool:
        """A value computed directly in ``graph``'s block, not yet given to another group."""
        if not isinstance(atom, Var) or atom.id in claimed or atom in graph.inputs:
            return False
        if atom.id in self.names.isolated:
            return False
        if atom.id in self.names.leader or atom.id not in self.program.defining:
            return False
        eqn = self.program.defining[atom.id]
        return any(e is eqn for e in graph.eqns)

    def _init_absorbable(self, init, eqn: Eqn, claimed: set[int], writes: bool) -> bool:
        """The value entering a loop can be the loop variable if nothing reads it later."""
        program = self.program
        return (
            isinstance(init, Var)
            and init.id not in claimed
            and init.id not in self.names.isolated
            and init not in self.graph.outputs
            and program.block_of.get(init.id) == program.block_of.get(eqn.outputs[0].id)
            and program.last_use.get(init.id) == program.pos(eqn)
            and (not writes or self.is_owned(init))
        )

    def _overwrites_live(self, var: Var, member: Var) -> bool:
        """Whether one name for ``var``'s and ``member``'s groups would overwrite a value
        that is still read after the next one is assigned (an inner loop's result that the
        tape records after the next value of the same variable is computed)."""
        program = self.program
        for one in self.names.members(var):
            for other in self.names.members(member):
                if one == other or one not in program.defined_at:
                    continue
                if other not in program.defined_at:
                    continue
                first, second = sorted((one, other), key=program.defined_at.__getitem__)
                defined = program.defined_at[second]
                if program.defined_at[first] < defined < program.last_use.get(first, -1):
                    return True
        return False

    def _after_last_read(self, carried: Var, result: Var) -> bool:
        """Whether ``result`` is computed after the body's last read of ``carried``."""
        last = self.program.last_use.get(carried.id, -1)
        return self.program.defined_at[result.id] >= last

    # --- statements ---------------------------------------------------------------------
    def control_statement(self, eqn: Eqn) -> str:
        if eqn.prim == "cond":
            return self._cond_statement(eqn)
        if eqn.prim == "for":
            return self._for_statement(eqn)
        if eqn.prim == "while":
            return self._while_statement(eqn)
        return self._tape_statement(eqn)

    def _cond_statement(self, eqn: Eqn) -> str:
        true_branch, false_branch = eqn.param_dict["branches"]
        test = ast.unparse(self.operand(eqn.inputs[0]))
        lines = [
            f"{self.names.name(var)} = {_placeholder(var)}"
            for var in self._recorded_from_branches(eqn)
        ]
        lines += [f"if {test}:", *_indent(self._branch_lines(eqn, true_branch))]
        else_lines = self._branch_lines(eqn, false_branch)
        if any(not line.startswith("#") for line in else_lines):
            lines += ["else:", *_indent(else_lines)]
        return "\n".join(lines)

    def _recorded_from_branches(self, eqn: Eqn) -> list[Var]:
        """Values computed in a branch that the tape records whichever branch ran: they
        start as a zero of their type so that the recording never reads an unset name."""
        inside = set()
        for branch in eqn.param_dict["branches"]:
            inside |= {v.id for v in defined_vars(branch.eqns)}
        recorded = {
            self.names.name(a): a
            for e in self.program.order
            if e.prim == "tape_push"
            for a in e.inputs[1:]
            if isinstance(a, Var) and a.id in inside
        }
        return [recorded[name] for name in sorted(recorded)]

    def _branch_lines(self, eqn: Eqn, branch: Graph) -> list[str]:
        lines = self.block_lines(branch.eqns, parent=eqn)
        lines += self._assignments(eqn.outputs, branch.outputs)
        return lines if any(not line.startswith("#") for line in lines) else lines + ["pass"]

    def _filled_in_place(self, eqn: Eqn) -> set[str]:
        """Names of carried arrays that the loop body writes into in place."""
        names = set()
        for inner in walk_eqns(eqn.param_dict["body"].eqns):
            if inner.prim in ("setitem", "index_add") and isinstance(inner.inputs[0], Var):
                target = self.names.names.get(inner.outputs[0].id)
                if target == self.names.names.get(inner.inputs[0].id):
                    names.add(target)
        return names

    def _assignments(
        self, targets, values, copied: set[str] = frozenset(), position: int = -1
    ) -> list[str]:
        """``a, b = x, y`` for the targets whose value is not already under their name;
        ``x.copy()`` for arrays in ``copied`` (the loop writes into them)."""
        pairs = []
        for target, value in zip(targets, values, strict=True):
            name = self.names.name(target)
            expression = ast.unparse(self.operand(value))
            is_fresh = isinstance(value, Var) and value.id in self.inlined and self.is_owned(value)
            if name in copied and target.aval.shape != () and not is_fresh:
                # another array, or this name's own array when it is not the function's to
                # write into (a read-only broadcast, an argument)
                if expression != name or not self._is_writable(value, position):
                    expression = f"{expression}.copy()"
            if expression != name:
                pairs.append((name, expression))
        if not pairs:
            return []
        left = ", ".join(name for name, _ in pairs)
        right = ", ".join(expression for _, expression in pairs)
        return [f"{left} = {right}"]

    def _is_writable(self, value: object, position: int) -> bool:
        """Whether the generated function owns ``value``'s array (may write into it) and no
        view of it is read after ``position``."""
        return (
            isinstance(value, Var)
            and value not in self.graph.inputs
            and self.is_owned(value)
            and not self.names.views_alive(value, position)
        )

    def _for_statement(self, eqn: Eqn) -> str:
        params = eqn.param_dict
        body = params["body"]
        counter = self.names.name(body.inputs[0])
        bounds = _range_arguments(params["start"], self._stop(params), params["step"])
        iterator = f"range({bounds})"
        if params.get("is_reversed"):
            iterator = f"reversed({iterator})"
        copied = self._filled_in_place(eqn)
        lines = self._assignments(eqn.outputs, eqn.inputs, copied, self.program.pos(eqn))
        lines.append(f"for {counter} in {iterator}:")
        lines += _indent(self._loop_body(eqn, body))
        return "\n".join(lines)

    def _stop(self, params: dict) -> int | str:
        """``xs.shape[0]`` where the source wrote the bound so and ``xs`` is a parameter of
        the generated function (the layout check makes the two equal), else the number."""
        var_id, axis = params.get("stop_dim", (None, 0))
        name = self.parameter_names().get(var_id)
        return params["stop"] if name is None else f"{name}.shape[{axis}]"

    def _loop_body(self, eqn: Eqn, body: Graph) -> list[str]:
        lines = self.block_lines(body.eqns, parent=eqn)
        lines += self._assignments(eqn.outputs, body.outputs)
        return lines if any(not line.startswith("#") for line in lines) else lines + ["pass"]

    def _while_statement(self, eqn: Eqn) -> str:
        params = eqn.param_dict
        condition = params["cond"]
        copied = self._filled_in_place(eqn)
        lines = self._assignments(eqn.outputs, eqn.inputs, copied, self.program.pos(eqn))
        test_lines = self.block_lines(condition.eqns, parent=eqn)
        test = self.operand(condition.outputs[0])
        if all(line.startswith("#") for line in test_lines):
            lines.append(f"while {ast.unparse(test)}:")
            lines += _indent(self._loop_body(eqn, params["body"]))
        else:
            lines.append("while True:")
            stop = ast.unparse(ast.UnaryOp(ast.Not(), test))  # "not (a and k)", not "not a and k"
            lines += _indent([*test_lines, f"if {stop}:", "    break"])
            lines += _indent(self._loop_body(eqn, params["body"]))
        return "\n".join(lines)

    def _tape_statement(self, eqn: Eqn) -> str:
        if eqn.prim == "tape_new":
            return f"{self.names.name(eqn.outputs[0])} = []"
        tape = self.names.name(eqn.inputs[0])
        if eqn.prim == "tape_push":
            values = [ast.unparse(self.operand(a)) for a in eqn.inputs[1:]]
            record = values[0] if len(values) == 1 else f"({', '.join(values)})"
            return f"{tape}.append({record})"
        if eqn.prim == "tape_pop":
            names = [self.names.name(v) for v in eqn.outputs[1:]]
            if not names:
                return f"{tape}.pop()"
            return f"{', '.join(names)} = {tape}.pop()"
        return f"{self.names.name(eqn.outputs[0])} = len({tape}) > 0"


def _writes_into(body: Graph, var: Var) -> bool:
    """Whether the body fills ``var`` in place (``var[i] = ...`` on the carried value)."""
    return any(
        e.prim in ("setitem", "index_add") and e.inputs[0] == var for e in walk_eqns(body.eqns)
    )


def _indent(lines: list[str]) -> list[str]:
    return ["    " + piece for line in lines for piece in line.split("\n")]


def _range_arguments(start: int, stop: int | str, step: int) -> str:
    if step != 1:
        return f"{start}, {stop}, {step}"
    return f"{stop}" if start == 0 else f"{start}, {stop}"


def _placeholder(var: Var) -> str:
    """A zero of ``var``'s type and shape (not None: code that srcad reads back, for second
    derivatives, must give a value the same type in both branches)."""
    shape, dtype = var.aval.shape, var.aval.dtype
    if shape == ():
        if dtype == "object":
            return "[]"  # a tape that the branch did not fill
        if dtype == "bool":
            return "False"
        if dtype.startswith(("int", "uint")):
            return "0"
        return "0.0" if dtype == "float64" else f"np.{dtype}(0)"
    suffix = "" if dtype == "float64" else f", dtype=np.{dtype}"
    return f"np.zeros({shape!r}{suffix})"
