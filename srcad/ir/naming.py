"""The naming rules: what a value is called, wherever srcad shows it.

One set of rules names values in the generated code (``srcad show``), in graph pictures
(``srcad graph``), in the grad table (``srcad explain``) and in the IR printer, so the same
value has the same name everywhere. A value is called

* by the user's name (``hint``), made a Python identifier: ``x``, ``params_W``;
* by its role: ``dz`` for the adjoint of ``z``, ``z_dot`` for its tangent, ``z`` for ``z``
  restored from the tape, ``probe_z`` for the probe ``srcad explain`` adds to it;
* after its operation while that stays short: ``exp_b``, ``Wx`` for ``W @ x``, ``w_0`` for
  ``w[0]``;
* else ``t1``, ``t2``, ... in the order the values are named.

A name in use gets a suffix (``x``, ``x_1``, ``x_2``). ``Namer`` holds these rules and the
names given so far; the code generator's allocator (``srcad.codegen.names``) builds on it
and also reuses a name whose value is dead (``dx = dx + ...``), which needs liveness.
``value_names`` (the IR printer's names) names a whole graph by the same rules without
liveness: a loop's carried values inside the body share the name of its result, a
derivative value takes a name held only by derivative values (the adjoint it adds to), and a
restored value the name of the value it restores, as the generated code mostly does; where
the generated code merges more values into one variable (the branches of an ``if``, a value
entering a loop, an array written in place), liveness decides, and these names differ.
"""

from __future__ import annotations

import builtins
import keyword
from collections.abc import Iterable, Mapping

from srcad.ir.control import carried_inputs, condition_of
from srcad.ir.facts import is_loop
from srcad.ir.graph import Atom, Const, Eqn, Graph, RoleKind, Var
from srcad.ir.prims import PRIMS
from srcad.ir.walk import sub_graphs

MAX_TEMP_NAME = 12
RESERVED = frozenset(keyword.kwlist) | frozenset(dir(builtins)) | {"np"}


class Namer:
    """Names values by the naming rules; owns the names given and the names in use.

    ``user_names`` maps ids to user names, for a role's name made before the value it
    relates to is named (``dx`` while ``x`` has no name yet).
    """

    def __init__(self, user_names: Mapping[int, str], reserved: Iterable[str] = ()):
        self.names: dict[int, str] = {}
        self.taken: set[str] = set(RESERVED) | set(reserved)
        self.holders: dict[str, list[Var]] = {}  # name -> the values given it, in order
        self.descriptive: set[int] = set()  # ids of values whose name says what they are
        self._user_names = user_names
        self._temp_count = 0

    def claim(self, var: Var, base: str) -> None:
        """Give ``var`` ``base``, or ``base_1``, ``base_2``, ... if that is in use."""
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.give(var, name)

    def give(self, var: Var, name: str) -> None:
        """Give ``var`` exactly ``name`` (which may be in use: another value of the same
        variable); the name is in use from now on."""
        self.taken.add(name)
        self.names[var.id] = name
        self.holders.setdefault(name, []).append(var)

    def base_name(self, var: Var, eqn: Eqn | None) -> str:
        """The name ``var`` is called by before any suffix; ``eqn`` is the equation that
        defines it (None for an input)."""
        if var.role is not None:
            return self.role_name(var.role.kind, var.role.of)
        if var.hint:
            self.descriptive.add(var.id)
            return identifier(var.hint)
        short = self._operation_name(eqn) if eqn is not None else ""
        if eqn is not None and short and len(short) <= MAX_TEMP_NAME:
            if eqn.prim in ("matmul", "dot"):
                self.descriptive.add(var.id)
            return short
        self._temp_count += 1
        return f"t{self._temp_count}"

    def role_name(self, kind: RoleKind, of: int) -> str:
        """``dz`` for the adjoint of ``z``, ``z_dot`` for its tangent, ``z`` for ``z`` restored
        from the tape, ``probe_z`` for its probe."""
        if kind is RoleKind.RESTORED:
            return self.names.get(of, "t")
        base = self._name_or_user_name(of)
        if kind is RoleKind.ADJOINT:
            return "d" + base
        if kind is RoleKind.TANGENT:
            return base + "_dot"
        return "probe_" + base

    def _name_or_user_name(self, var_id: int) -> str:
        """The name of a var, or its user name if it has none yet (``x`` for ``dx``), or a
        temporary's numbered name (``t12`` for ``dt12``: a value named after its derivative,
        or never, as one spelled inside an expression is)."""
        if var_id in self.names:
            return self.names[var_id]
        hint = self._user_names.get(var_id, "")
        if hint and hint[0].isalpha():
            return identifier(hint)
        self._temp_count += 1
        return f"t{self._temp_count}"

    def _operation_name(self, eqn: Eqn) -> str:
        """``Wx`` for ``W @ x``, ``exp_b`` for ``exp(b)``, ``w_0`` for ``w[0]``: a name from
        the operation and its operands' names, when they say what the operands are."""
        named = [self._operand_name(a) for a in eqn.inputs]
        operands = [name for name in named if name is not None]
        if len(operands) < len(named) or eqn.role != "primal":
            return ""
        prim = PRIMS[eqn.prim]
        if eqn.prim == "getitem" and len(operands) == 1:
            return _item_name(operands[0], eqn.param_dict.get("index"))
        if eqn.prim in ("matmul", "dot") and all(len(n) <= 3 for n in operands):
            return "".join(operands)
        if prim.operator is None and len(operands) == 1 and prim.kind != "control":
            return f"{prim.fn.__name__}_{operands[0]}"
        return ""

    def _operand_name(self, atom: Atom) -> str | None:
        """The operand's name if it says what the value is (not ``t3``), else None."""
        if isinstance(atom, Const):
            return atom.name or None
        return self.names.get(atom.id) if atom.id in self.descriptive else None


def identifier(text: str) -> str:
    """``text`` as a Python name: ``params_init_hiddens`` for the leaf of a dict key
    ``"init hiddens"``; a keyword or a leading digit gets an underscore."""
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in text) or "t"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"v_{name}" if name[0].isdigit() else f"{name}_"
    return name


def _item_name(base: str, index: object) -> str:
    """``w_0`` for ``w[0]``, ``x_1_2`` for ``x[1, 2]``; empty for slices and arrays."""
    if not isinstance(index, tuple):
        return ""
    if all(isinstance(item, int) and item >= 0 for item in index):
        return "_".join([base, *(str(item) for item in index)])
    return ""


def user_names(eqns: Iterable[Eqn]) -> dict[int, str]:
    """Id -> user name of the values ``eqns`` define (outside their sub-graphs)."""
    return {v.id: v.hint for e in eqns for v in e.outputs}


def program_order(eqns: Iterable[Eqn]) -> list[Eqn]:
    """Every equation, a structured one before the equations of its sub-graphs."""
    order: list[Eqn] = []
    for eqn in eqns:
        order.append(eqn)
        for graph in sub_graphs(eqn):
            order.extend(program_order(graph.eqns))
    return order


def constant_names(graph: Graph) -> set[str]:
    """The names of the user's globals (named constants) ``graph`` reads: no value takes
    them."""
    atoms: list[Atom] = list(graph.outputs)
    for eqn in program_order(graph.eqns):
        atoms += eqn.inputs
        atoms += [a for sub in sub_graphs(eqn) for a in sub.outputs]
    return {atom.name for atom in atoms if isinstance(atom, Const) and atom.name}


class _GraphNamer(Namer):
    """``value_names``: every value of one graph, in program order, without liveness."""

    def __init__(self, graph: Graph):
        order = program_order(graph.eqns)
        super().__init__(user_names(order), constant_names(graph))
        self.graph = graph
        self.order = order
        self._outputs = {a.id for a in graph.outputs if isinstance(a, Var)}
        self._derivative_ids = {v.id for e in order if e.role != "primal" for v in e.outputs}
        self._loop_variable = _loop_variables(order)

    def name_all(self) -> dict[int, str]:
        """Name the inputs, then every value in program order (the inputs of a structured
        equation's sub-graphs after its outputs)."""
        for var in self.graph.inputs:
            self.descriptive.add(var.id)
            self.claim(var, self.base_name(var, None))
        for eqn in self.order:
            for var in eqn.outputs:
                self._name(var, eqn)
            for sub in sub_graphs(eqn):
                for var in sub.inputs:
                    self._name(var, None)
        return self.names

    def _name(self, var: Var, eqn: Eqn | None) -> None:
        if var.id in self.names:
            return
        loop_output = self._loop_variable.get(var.id)
        if loop_output is not None and loop_output.id in self.names:
            self.give(var, self.names[loop_output.id])  # one variable inside and after
            return
        base = self.base_name(var, eqn)
        if self._continues_variable(var, base, eqn):
            self.give(var, base)
        else:
            self.claim(var, base)

    def _continues_variable(self, var: Var, base: str, eqn: Eqn | None) -> bool:
        """Whether ``var`` is by its facts a new value of the variable ``base`` names: a
        value restored from the tape (of the value it restores), a derivative value whose
        name only derivative values hold (a contribution to the adjoint it adds to)."""
        role = var.role
        if role is not None and role.kind is RoleKind.RESTORED:
            return role.of in self.names
        if eqn is None or eqn.role == "primal":
            return False
        holders = self.holders.get(base, [])
        return bool(holders) and all(
            h.id in self._derivative_ids and h.id not in self._outputs for h in holders
        )


def _loop_variables(order: Iterable[Eqn]) -> dict[int, Var]:
    """Id of a loop body's carried input (or a ``while`` condition's input) -> the loop's
    output it is one variable with."""
    same: dict[int, Var] = {}
    for eqn in order:
        if not is_loop(eqn):
            continue
        inside = [carried_inputs(eqn)]
        if eqn.prim == "while":
            inside.append(condition_of(eqn).inputs)
        for variables in inside:
            same.update((v.id, out) for v, out in zip(variables, eqn.outputs, strict=False))
    return same


def value_names(graph: Graph) -> dict[int, str]:
    """A name for every value of ``graph`` (inside sub-graphs too) by the naming rules, in
    program order, as the generated code names them where no liveness is involved."""
    return _GraphNamer(graph).name_all()


__all__ = ["MAX_TEMP_NAME", "RESERVED", "Namer", "identifier", "value_names"]
