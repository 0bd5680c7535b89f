"""Emitting a module: a derivative graph → the source of one readable Python function.

The function body has a forward section (the primal equations, grouped under a comment
quoting the source line they come from) and a backward section (the adjoint equations, in
reverse order, each line commented with the primal statement it differentiates).
Temporaries used once are folded into the expression that uses them; adjoints and values
the backward section reuses keep names. When the spec names the layout the function was
compiled for, the function is ``<name>_unchecked`` and the public ``<name>`` in front of it
checks that layout first (``srcad.codegen.layout``). The module is written one statement per
line; ``srcad.codegen.formatting`` formats it with black where a person reads it.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from srcad.codegen.control import control_statement
from srcad.codegen.expressions import eqn_expression, index_argument, index_expression, literal
from srcad.codegen.grouping import group_structured
from srcad.codegen.inlining import STATEMENT_PRIMS, inline_temporaries
from srcad.codegen.layout import checked_function
from srcad.codegen.liveness import Conflict, LiveRanges, name_conflicts
from srcad.codegen.names import NameAllocator
from srcad.codegen.program import LOOPS, analyze, carried
from srcad.ir import Atom, Const, Eqn, Graph, Var
from srcad.ir.control import CONTROL
from srcad.ir.prims import PRIMS, VIEW_PRIMS
from srcad.ir.walk import sub_graphs, used_atoms, walk_eqns
from srcad.ir.world import EFFECT_PRIMS, WorldPath

if TYPE_CHECKING:
    from srcad.signature import ArgSignature

LINE_LENGTH = 100


@dataclass(frozen=True)
class FunctionSpec:
    """What the generated function looks like from outside.

    ``input_paths[i]`` says where graph input ``i`` comes from: ``(param, *keys)`` for a
    leaf of a parameter, or ``(name, default)`` for an extra parameter such as ``dout``.
    ``returns`` is a tree whose leaves are indices into the graph's outputs;
    ``output_names`` gives preferred names to outputs (``dw1`` for the gradient of ``w1``), so
    that a gradient shared with another value is returned under its own name.
    """

    name: str
    params: tuple[str, ...]
    input_paths: tuple[tuple, ...]
    returns: object
    docstring: str
    header: tuple[str, ...]
    output_names: tuple[tuple[int, str], ...] = ()
    compiled_for: ArgSignature | None = None

    @property
    def is_checked(self) -> bool:
        """Whether the module checks the layout of the arguments (``srcad.codegen.layout``)."""
        return self.compiled_for is not None and bool(self.compiled_for.params)

    @property
    def body_name(self) -> str:
        """The function that computes: ``<name>_unchecked`` when the public ``name`` checks
        the layout first, else ``name`` itself."""
        return f"{self.name}_unchecked" if self.is_checked else self.name


def emit_module(graph: Graph, spec: FunctionSpec) -> tuple[str, dict[str, object]]:
    """The module source and the constants it expects in its namespace. Named again, with
    a name of its own for each value another one would overwrite while it is still read
    (``codegen.liveness``), until no such value is left."""
    isolated: frozenset[int] = frozenset()
    ranges = None
    while True:
        emitter = Emitter(graph, spec, isolated)
        emitter.name_all()
        ranges = ranges or LiveRanges(graph, emitter.program, emitter.spelled_at)
        conflicts = name_conflicts(ranges, emitter.names.names, emitter.inlined)
        if not conflicts:
            return emitter.module()
        more = isolated | {_to_isolate(conflict, graph, emitter.program) for conflict in conflicts}
        if more == isolated:
            raise AssertionError(f"generated names overwrite a value still read: {conflicts[0]}")
        isolated = frozenset(more)


def _to_isolate(conflict: Conflict, graph: Graph, program) -> int:
    """The value of a conflict that can take a name of its own: the one assigned second,
    unless its name is the variable of a loop or an ``if`` (or a parameter)."""
    for var in (conflict.assigned, conflict.overwritten):
        defining = program.defining.get(var.id)
        is_structured = defining is not None and PRIMS[defining.prim].kind == CONTROL
        is_block_input = var.id in program.defined_at and defining is None
        if not is_structured and not is_block_input and var not in graph.inputs:
            return var.id
    return conflict.assigned.id


class Emitter:
    """The context of emitting one function: the graph laid out as a program, the
    temporaries folded into expressions, the names, and the constants the module reads.
    ``control`` spells the structured statements with it."""

    def __init__(self, graph: Graph, spec: FunctionSpec, isolated: frozenset[int]):
        self.graph = graph
        self.spec = spec
        self.program = analyze(graph)
        self.defining = self.program.defining
        inlining = inline_temporaries(graph, self.program)
        self.inlined = inlining.inlined
        self.first_terms = inlining.first_terms
        self.spelled_at = inlining.spelled_at
        self._carried_ids = {
            v.id for e in self.program.order if e.prim in LOOPS for v in carried(e)
        }
        self.names = NameAllocator(graph, self.program, set(spec.params), isolated)
        self.names.taken.update(spec.params)
        self.names.taken.update(_constant_names(graph))  # globals the code reads keep them
        self.roots = world_roots(graph, spec)
        self.names.taken.update(self.roots.values())
        group_structured(self.names, self.is_owned)
        self.constants: dict[str, object] = {}
        self._constant_names: dict[int, str] = {}

    def is_owned(self, var: Var) -> bool:
        """Whether ``var`` is a fresh array no other name can see (safe to fill in place).
        A loop-carried array is: the loop copies it on entry when it fills it in place."""
        if var.id in self._carried_ids:
            return True
        eqn = self.defining.get(var.id)
        return eqn is not None and eqn.prim not in VIEW_PRIMS and PRIMS[eqn.prim].kind != CONTROL

    # --- the module ---------------------------------------------------------------------
    def name_all(self) -> None:
        """Name every value (the inputs first)."""
        self.prologue = self._name_inputs()
        for eqn in self.program.order:
            self.names.assign_eqn(eqn, self.is_owned)
            for graph in sub_graphs(eqn):
                for var in graph.inputs:
                    self.names.assign_var(var, self.program.pos(eqn))

    def module(self) -> tuple[str, dict[str, object]]:
        body = self.prologue + self.block_lines(self.graph.eqns, top=True)
        body += self._aliases() + [self._return_line()]
        extras = [
            name if default is None else f"{name}={default}" for name, default in self._extras()
        ]
        parameters = [*self.spec.params, *extras]
        lines = [*(f"# {line}" for line in self.spec.header)]
        if self.constants:
            lines.append("# Names bound at load time: " + ", ".join(sorted(self.constants)))
        lines += [
            "import numpy as np",
            "",
            "",
            f"def {self.spec.body_name}({', '.join(parameters)}):",
        ]
        lines += _docstring(self.spec.docstring)
        body = [piece for line in body for piece in line.split("\n")]
        lines += [f"    {line}" if line else "" for line in body]
        source = "\n".join(lines) + "\n"
        return self._with_checked_function(source, parameters), dict(self.constants)

    def _with_checked_function(self, source: str, parameters: list[str]) -> str:
        """``source`` with the public function, which checks the layout of its arguments
        before calling the body, in front of the body (none when the spec names no layout)."""
        spec = self.spec
        if not spec.is_checked:
            return source
        docstring = f"{spec.docstring} Only for the layout in the header: others raise ValueError."
        checked = checked_function(spec.name, parameters, spec.compiled_for, _docstring(docstring))
        body = source.index(f"\ndef {spec.body_name}(") + 1
        return f"{source[:body]}{checked}\n\n{source[body:]}"

    def parameter_names(self) -> dict[int, str]:
        """Var id → name of the graph inputs that are parameters of the generated function
        (not leaves of a container, not extras such as ``dout``)."""
        return {
            var.id: path[0]
            for var, path in zip(self.graph.inputs, self.spec.input_paths, strict=True)
            if not isinstance(path, WorldPath) and len(path) == 1 and path[0] in self.spec.params
        }

    def _extras(self) -> list[tuple[str, str]]:
        extras = []
        for var, path in zip(self.graph.inputs, self.spec.input_paths, strict=True):
            if not isinstance(path, WorldPath) and path[0] not in self.spec.params:
                extras.append((self.names.name(var), path[1]))
        return extras

    def _name_inputs(self) -> list[str]:
        """Name the graph inputs; leaves of container parameters are unpacked first, then
        the values read from outside the function (globals, closures, attributes)."""
        prologue = []
        reads = []
        for var, path in zip(self.graph.inputs, self.spec.input_paths, strict=True):
            if isinstance(path, WorldPath):
                self.names.assign_input(var, path.name_hint)
                if self.program.uses.get(var.id):
                    reads.append(f"{self.names.name(var)} = {self.spelling(path)}")
            elif path[0] not in self.spec.params:
                self.names.assign_input(var, path[0])
            elif len(path) == 1:
                self.names.bind(var, path[0])
            else:
                self.names.assign_input(var, var.hint)
                if self.program.uses.get(var.id):
                    access = path[0] + "".join(f"[{key!r}]" for key in path[1:])
                    prologue.append(f"{self.names.name(var)} = {access}")
        if reads:
            prologue += [f"# read on every call: values from outside {self.graph.name}", *reads]
        return prologue

    def spelling(self, path: WorldPath) -> str:
        """The expression reading ``path``; its root object is given to the module."""
        name = self.roots[id(path.root)]
        self.constants[name] = path.root
        return path.expression(name)

    def block_lines(self, eqns, top: bool = False, parent: Eqn | None = None) -> list[str]:
        """The statements of a block, with a comment wherever the source line changes."""
        lines: list[str] = []
        role = None if top else _sweep(parent.role)
        line_no = None if top or parent.loc is None else parent.loc.line
        for eqn in eqns:
            if any(v.id in self.inlined for v in eqn.outputs):
                continue
            source_line = eqn.loc.line if eqn.loc else None
            if eqn.prim in ("tape_push", "tape_pop"):
                lines.append(self.statement(eqn))  # bookkeeping: no comment of its own
                continue
            if _sweep(eqn.role) != role or source_line != line_no:
                lines.append(self._section_comment(eqn, role, top))
                role, line_no = _sweep(eqn.role), source_line
            lines.append(self.statement(eqn))
        return lines

    def _section_comment(self, eqn: Eqn, previous_role: str | None, top: bool) -> str:
        label = _sweep(eqn.role)
        where = ""
        if eqn.loc:
            function = "" if eqn.loc.function == self.graph.name else f" in {eqn.loc.function}"
            where = f"line {eqn.loc.line}{function}: {eqn.loc.text}"
        if not top:
            return f"# {where}" if where else f"# {label}"
        blank = "" if previous_role is None else "\n"
        return f"{blank}# {label}  ({where})" if where else f"{blank}# {label}"

    def statement(self, eqn: Eqn) -> str:
        if PRIMS[eqn.prim].kind == CONTROL:
            return control_statement(self, eqn)
        if eqn.prim in EFFECT_PRIMS and not self.program.uses.get(eqn.outputs[0].id):
            return ast.unparse(self.expression(eqn))  # print(...): only its effect counts
        targets = ", ".join(self.names.name(v) for v in eqn.outputs)
        if eqn.prim in STATEMENT_PRIMS:
            text = self._fill_statements(eqn, targets)
        else:
            text = f"{targets} = {ast.unparse(self.expression(eqn))}"
        comment = "; ".join(filter(None, map(self._primal_text, self._origins(eqn))))
        if not comment:
            return text
        if len(text) + len(comment) > LINE_LENGTH - 8 or "\n" in text:
            return f"# {comment}\n{text}"  # too long to share a line: comment above
        return f"{text}  # {comment}"

    def _origins(self, eqn: Eqn) -> list[int]:
        """The primal equations (by output id) that ``eqn``'s line differentiates: its own,
        after those of the first terms folded into it."""
        if eqn.role == "primal" or eqn.origin not in self.defining:
            return []
        folded = [a for a in eqn.inputs if isinstance(a, Var) and a.id in self.first_terms]
        origins = [o for a in folded for o in self._origins(self.defining[a.id])]
        return list(dict.fromkeys(origins + [eqn.origin]))

    def _primal_text(self, origin: int) -> str:
        primal = self.defining[origin]
        if primal.prim in STATEMENT_PRIMS or PRIMS[primal.prim].kind == CONTROL:
            return primal.loc.text if primal.loc else ""
        return f"{self.names.name(primal.outputs[0])} = {ast.unparse(self.expression(primal))}"

    def _fill_statements(self, eqn: Eqn, target: str) -> str:
        """``y[i] = v`` (after a copy unless ``y`` is reused) or a scatter into zeros."""
        params = eqn.param_dict
        if eqn.prim in ("setitem", "index_add"):
            base, value, *arrays = [self.operand(a) for a in eqn.inputs]
            index = index_expression(params["index"], arrays)
            in_place = eqn.outputs[0].id in self.names.filled_in_place
            # a copy also when the result took the base's name only because the base is dead:
            # the base may be a view (a read-only broadcast, say) or another name's array
            lines = [] if in_place else [f"{target} = {ast.unparse(base)}.copy()"]
            subscript = ast.unparse(ast.Subscript(ast.Name(target, ast.Load()), index))
            if eqn.prim == "setitem":
                lines.append(f"{subscript} = {ast.unparse(value)}")
            elif _has_index_arrays(params["index"], eqn.inputs[2:]):
                at = ast.unparse(index_argument(index))
                lines.append(f"np.add.at({target}, {at}, {ast.unparse(value)})")
            else:
                lines.append(f"{subscript} += {ast.unparse(value)}")
            return "\n".join(lines)
        values, *arrays = [self.operand(a) for a in eqn.inputs]
        index = index_expression(params["index"], arrays)
        aval = eqn.outputs[0].aval
        dtype = "" if aval.dtype == "float64" else f", dtype=np.{aval.dtype}"
        zeros = f"{target} = np.zeros({params['shape']!r}{dtype})"
        subscript = ast.Subscript(ast.Name(target, ast.Load()), index)
        if _has_index_arrays(params["index"], eqn.inputs[1:]):
            at = ast.unparse(index_argument(index))
            fill = f"np.add.at({target}, {at}, {ast.unparse(values)})"
        else:
            fill = f"{ast.unparse(subscript)} = {ast.unparse(values)}"
        return f"{zeros}\n{fill}"

    def _aliases(self) -> list[str]:
        """``dw1 = dq`` for outputs that are values named after something else."""
        lines = []
        self.output_alias: dict[int, str] = {}
        for index, preferred in self.spec.output_names:
            atom = self.graph.outputs[index]
            if not isinstance(atom, Var) or atom.id in self.inlined:
                continue
            current = self.names.name(atom)
            if current != preferred and preferred not in self.names.taken:
                self.names.taken.add(preferred)
                lines.append(f"{preferred} = {current}")
                self.output_alias[index] = preferred
        return lines

    def _return_line(self) -> str:
        returns = self.spec.returns
        if isinstance(returns, tuple) and len(returns) > 1:
            return "return " + ", ".join(ast.unparse(self._tree_expression(r)) for r in returns)
        return "return " + ast.unparse(self._tree_expression(returns))

    def _tree_expression(self, tree: object) -> ast.expr:
        if isinstance(tree, tuple):
            return ast.Tuple([self._tree_expression(t) for t in tree], ast.Load())
        if isinstance(tree, list):
            return ast.List([self._tree_expression(t) for t in tree], ast.Load())
        if isinstance(tree, dict):
            keys = [literal(k) for k in tree]
            return ast.Dict(keys, [self._tree_expression(v) for v in tree.values()])
        if tree in self.output_alias:
            return ast.Name(self.output_alias[tree], ast.Load())
        return self.operand(self.graph.outputs[tree])

    # --- expressions --------------------------------------------------------------------
    def expression(self, eqn: Eqn) -> ast.expr:
        if PRIMS[eqn.prim].kind == "custom":
            self.constants[PRIMS[eqn.prim].fn.__name__] = PRIMS[eqn.prim].fn
        if eqn.prim == "tape_nonempty":
            return self.operand(eqn.inputs[0])  # a list is true while it has items
        if eqn.prim == "outside_call":
            return self._outside_call(eqn)
        if eqn.prim == "broadcast_to" and eqn.outputs[0] in self.graph.outputs:
            return self._writable_broadcast(eqn)
        return eqn_expression(eqn, self.operand)

    def _outside_call(self, eqn: Eqn) -> ast.expr:
        """``np.random.rand(3)``, ``rng.normal(size=(3,))``, ``print("loss", loss)``."""
        params = eqn.param_dict
        callee = params["callee"]
        if isinstance(callee, WorldPath):
            function = ast.parse(self.spelling(callee), mode="eval").body
        else:
            module = callee.split(".")[0]
            if module not in ("np", callee):  # random.random, logging.info: give the module
                self.constants[module] = sys.modules[module]
            function = ast.parse(callee, mode="eval").body

        def argument(spec: tuple) -> ast.expr:
            kind, value = spec
            return self.operand(eqn.inputs[value]) if kind == "input" else literal(value)

        positional = [argument(spec) for spec in params["arguments"]]
        keywords = [ast.keyword(name, argument(spec)) for name, spec in params["keywords"]]
        return ast.Call(function, positional, keywords)

    def _writable_broadcast(self, eqn: Eqn) -> ast.expr:
        """A returned broadcast as an array of its own: ``np.broadcast_to`` gives a read-only
        view that a caller could not update in place (``g *= 0.5``)."""
        value = self.operand(eqn.inputs[0])
        shape = literal(eqn.param_dict["shape"])
        if eqn.inputs[0].aval.ndim == 0:
            return ast.Call(ast.parse("np.full", mode="eval").body, [shape, value], [])
        view = eqn_expression(eqn, self.operand)
        return ast.Call(ast.Attribute(view, "copy", ast.Load()), [], [])

    def operand(self, atom: Atom) -> ast.expr:
        if isinstance(atom, Const):
            return self._constant(atom)
        if atom.id in self.inlined:
            return self.expression(self.defining[atom.id])
        return ast.Name(self.names.name(atom), ast.Load())

    def _constant(self, const: Const) -> ast.expr:
        value = const.value
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, (bool, int, float)):
            return literal(value)
        name = self._constant_names.get(id(const))
        if name is None:
            name = self._constant_names[id(const)] = self._unused_constant_name(const)
        self.constants[name] = value
        return ast.Name(name, ast.Load())

    def _unused_constant_name(self, const: Const) -> str:
        """The constant's own name (a user's global) unless another value has it already;
        otherwise ``const_<k>`` (``<name>_<k>``) that no variable or other constant uses."""
        is_variable = const.name in self.spec.params or const.name in self.names.names.values()
        if const.name and not is_variable:  # a parameter or variable keeps its name
            if self.constants.get(const.name, const.value) is const.value:
                return const.name
        base, k = const.name or "const", 0
        while (name := f"{base}_{k}") in self.names.taken or name in self.constants:
            k += 1
        self.names.taken.add(name)
        return name


def world_roots(graph: Graph, spec: FunctionSpec) -> dict[int, str]:
    """A distinct name for each outside object the code reads from (``main_globals``,
    ``state_cell``), by the object's identity."""
    paths = [p for p in spec.input_paths if isinstance(p, WorldPath)]
    paths += [
        e.param_dict["callee"]
        for e in walk_eqns(graph.eqns)
        if e.prim == "outside_call" and isinstance(e.param_dict["callee"], WorldPath)
    ]
    roots: dict[int, str] = {}
    for path in paths:
        if id(path.root) not in roots:
            name, k = path.root_name, 1
            while name in roots.values() or name in spec.params:
                name, k = f"{path.root_name}_{k}", k + 1
            roots[id(path.root)] = name
    return roots


def _constant_names(graph: Graph) -> set[str]:
    """The names of the user's globals (named constants) that ``graph`` reads."""
    atoms = [*used_atoms(graph.eqns), *graph.outputs]
    return {atom.name for atom in atoms if isinstance(atom, Const) and atom.name}


def _sweep(role: str) -> str:
    """Primal values and their tangents run together in the forward sweep."""
    return "backward" if role == "adjoint" else "forward"


def _has_index_arrays(static: tuple, arrays) -> bool:
    """Whether the index has arrays that may repeat positions (not just 0-d counters)."""
    has_arrays = any(isinstance(item, tuple) and item[0] == "array" for item in static)
    return has_arrays and any(a.aval.shape != () for a in arrays)


def _docstring(text: str) -> list[str]:
    wrapped = textwrap.wrap(f'"""{text}', width=LINE_LENGTH - 12)
    if len(wrapped) == 1:
        return [f'    {wrapped[0]}"""']
    return [f"    {line}" for line in wrapped] + ['    """']
