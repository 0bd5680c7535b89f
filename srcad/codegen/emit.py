"""Emitting a module: a derivative graph → the source of one readable Python function.

``emit_module`` names the values and checks the names (``liveness``), naming again until no
value is overwritten while it is still read. An ``Emitter`` is the context of one naming:
the graph laid out as a program (``program``), the temporaries spelled inside the expression
that reads them (``inlining``), the names (``names``, ``grouping``) and the constants the
module reads. It spells the statements of a block and the expressions of values; ``control``
spells the structured statements, ``function`` the function around them. The module is
written one statement per line; ``formatting`` formats it with black where a person reads it.

The function body has a forward section (the primal equations, grouped under a comment
quoting the source line they come from) and a backward section (the adjoint equations, in
reverse order, each line commented with the primal statement it differentiates).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from srcad.codegen.chains import FRESH_RESULTS, in_place_step
from srcad.codegen.control import control_statement
from srcad.codegen.expressions import (
    KEPT_SCALAR_TYPES,
    eqn_expression,
    index_argument,
    index_expression,
    literal,
    reads_name,
    setting_name,
    static_index,
    strong_scalar,
)
from srcad.codegen.function import FunctionSpec, module_source, name_inputs, world_roots
from srcad.codegen.grouping import group_structured
from srcad.codegen.inlining import inline_temporaries
from srcad.codegen.liveness import Conflict, LiveRanges, name_conflicts
from srcad.codegen.names import IsOwned, NameAllocator
from srcad.codegen.program import Program, analyze
from srcad.codegen.quiet import grouped
from srcad.codegen.reuse import MIN_BYTES, Product, helpers_called, written_once
from srcad.codegen.select import selected
from srcad.codegen.unparse import unparse
from srcad.ir import Atom, AVal, Const, Eqn, Graph, Var
from srcad.ir.control import CONTROL, carried_inputs
from srcad.ir.facts import (
    has_effect,
    is_loop,
    is_statement,
    packs_results,
    updates_first_input,
)
from srcad.ir.index import Index
from srcad.ir.naming import constant_names
from srcad.ir.prims import PRIMS
from srcad.ir.walk import sub_graphs
from srcad.ir.world import (
    AT_LINE,
    ONCE_PER_CALL,
    RUNTIME_CALLEES,
    ArgumentRoot,
    WorldPath,
)
from srcad.pytree import record

LINE_LENGTH = 100
T = TypeVar("T")


def emit_module(graph: Graph, spec: FunctionSpec) -> tuple[str, dict[str, object]]:
    """The module source and the constants it expects in its namespace."""
    first = Emitter(graph, spec, frozenset())
    ranges = LiveRanges(graph, first.program, first.spelled_at)

    def name_once(isolated: frozenset[int]) -> tuple[tuple[Emitter, list[str]], dict[int, str]]:
        emitter = first if not isolated else Emitter(graph, spec, isolated)
        prologue = emitter.name_all()
        return (emitter, prologue), emitter.names.names

    emitter, prologue = _named_without_overwrites(
        name_once, ranges, first.inlined, graph, first.program
    )
    return module_source(emitter, prologue), dict(emitter.constants)


def _named_without_overwrites(
    name_once: Callable[[frozenset[int]], tuple[T, dict[int, str]]],
    ranges: LiveRanges,
    inlined: set[int] | frozenset[int],
    graph: Graph,
    program: Program,
) -> T:
    """``name_once(isolated)`` named again, with a name of its own for each value another
    one would overwrite while it is still read (``codegen.liveness``), until no such value
    is left."""
    isolated: frozenset[int] = frozenset()
    while True:
        result, names = name_once(isolated)
        conflicts = name_conflicts(ranges, names, inlined)
        if not conflicts:
            return result
        isolated = _isolating(isolated, conflicts, graph, program)


def _isolating(
    isolated: frozenset[int], conflicts: list[Conflict], graph: Graph, program: Program
) -> frozenset[int]:
    """``isolated`` and a value of each conflict, to be named again."""
    more = isolated | {_to_isolate(conflict, graph, program) for conflict in conflicts}
    if more == isolated:
        raise AssertionError(f"generated names overwrite a value still read: {conflicts[0]}")
    return frozenset(more)


def _to_isolate(conflict: Conflict, graph: Graph, program: Program) -> int:
    """The value of a conflict that can take a name of its own: the one assigned second,
    unless its name is the variable of a loop or an ``if`` (or a parameter)."""
    for var in (conflict.assigned, conflict.overwritten):
        defining = program.defining.get(var.id)
        is_structured = defining is not None and PRIMS[defining.prim].kind == CONTROL
        is_block_input = var.id in program.defined_at and defining is None
        if not is_structured and not is_block_input and var not in graph.inputs:
            return var.id
    return conflict.assigned.id


class FreshArrays:
    """Which values of a program are fresh arrays no other name can see (safe to fill in
    place). A loop-carried array is: the loop copies it on entry when it fills it in place."""

    def __init__(self, program: Program):
        self.defining = program.defining
        self.carried_ids = {v.id for e in program.order if is_loop(e) for v in carried_inputs(e)}

    def __call__(self, var: Var) -> bool:
        if var.id in self.carried_ids:
            return True
        eqn = self.defining.get(var.id)
        return eqn is not None and not PRIMS[eqn.prim].is_view and PRIMS[eqn.prim].kind != CONTROL


def name_defined(names: NameAllocator, is_owned: IsOwned) -> None:
    """Name every value the equations of ``names``' program define, in program order (the
    inputs of a structured equation's sub-graphs after its outputs)."""
    program = names.program
    for eqn in program.order:
        names.assign_eqn(eqn, is_owned)
        for graph in sub_graphs(eqn):
            for var in graph.inputs:
                names.assign_var(var, program.pos(eqn))


@dataclass(frozen=True)
class NamedValues:
    """The names the generated code gives the values of a graph (by id), and the ids of the
    values it spells inside the expression that reads them (never a variable of their own,
    though comments may quote their names)."""

    names: dict[int, str]
    inlined: frozenset[int]


def name_values(graph: Graph) -> NamedValues:
    """The name the generated code gives every value of ``graph``: the same allocator, with
    the same liveness, named again until no value is overwritten while still read, but
    without a function around it (the inputs are named by their user names or roles). What
    ``srcad graph`` and ``srcad explain`` call the values."""
    program = analyze(graph)
    inlining = inline_temporaries(graph, program)
    ranges = LiveRanges(graph, program, inlining.spelled_at)

    def name_once(isolated: frozenset[int]) -> tuple[dict[int, str], dict[int, str]]:
        names = _name_graph(graph, program, isolated).names
        return names, names

    names = _named_without_overwrites(name_once, ranges, inlining.inlined, graph, program)
    return NamedValues(names, frozenset(inlining.inlined))


def _name_graph(graph: Graph, program: Program, isolated: frozenset[int]) -> NameAllocator:
    """Every value of ``graph`` named as an ``Emitter`` names them, the inputs first."""
    names = NameAllocator(graph, program, constant_names(graph), isolated)
    is_owned = FreshArrays(program)
    group_structured(names, is_owned)
    for var in graph.inputs:
        names.claim(var, names.base_name(var, None))
    name_defined(names, is_owned)
    return names


class Emitter:
    """The context of emitting one function (the graph laid out as a program, the values
    inlined, the names, the constants the module reads) and the spelling of its statements
    and values."""

    def __init__(self, graph: Graph, spec: FunctionSpec, isolated: frozenset[int]):
        self.graph = graph
        self.spec = spec
        self.program = analyze(graph)
        self.defining = self.program.defining
        inlining = inline_temporaries(graph, self.program)
        self.inlined = inlining.inlined
        self.first_terms = inlining.first_terms
        self.spelled_at = inlining.spelled_at
        self._fresh_arrays = FreshArrays(self.program)
        self.names = NameAllocator(graph, self.program, set(spec.params), isolated)
        self.names.taken.update(spec.params)
        self.names.taken.update(constant_names(graph))  # globals the code reads keep them
        self.roots = world_roots(graph, spec)
        self.names.taken.update(self.roots.values())
        group_structured(self.names, self.is_owned)
        self.constants: dict[str, object] = {}
        self._constant_names: dict[int, str] = {}
        self._top_level = {id(eqn) for eqn in graph.eqns}
        self.reuses_arrays = False  # whether a statement writes into ``reuse``'s arrays
        self.reuse_helpers: set[str] = set()  # the runtime helpers those statements call
        self.select_helpers: set[str] = set()  # srcad.runtime.select's functions called
        self.once_helpers: set[str] = set()  # srcad.runtime.passes's functions called
        self.reports_lines = False  # whether a warning or a log call goes through at_line
        self._texts: dict[int, str] = {}  # id of an equation -> its expression_text
        # the values the tape records, in program order (branches ask which are theirs)
        self.taped = [
            a
            for e in self.program.order
            if e.prim == "tape_push"
            for a in e.inputs[1:]
            if isinstance(a, Var)
        ]

    def is_owned(self, var: Var) -> bool:
        """Whether ``var`` is a fresh array no other name can see (safe to fill in place)."""
        return self._fresh_arrays(var)

    # --- names --------------------------------------------------------------------------
    def name_all(self) -> list[str]:
        """Name every value (the inputs first); the prologue that reads the inputs."""
        prologue = name_inputs(self)
        name_defined(self.names, self.is_owned)
        return prologue

    def spelling(self, path: WorldPath) -> str:
        """The expression reading ``path``; its root object is given to the module."""
        if isinstance(path.root, ArgumentRoot):  # rng.normal: the parameter itself
            return path.expression(path.root.name, self._key_name)
        name = self.roots[id(path.root)]
        self.constants[name] = path.root
        return path.expression(name, self._key_name)

    def _key_name(self, key: object) -> str:
        """The name under which the module reads an object used as a dict key."""
        for name, value in self.constants.items():
            if value is key and name.startswith("key_"):
                return name
        name = f"key_{sum(n.startswith('key_') for n in self.constants)}"
        self.constants[name] = key
        return name

    # --- statements ---------------------------------------------------------------------
    def block_lines(self, eqns: Iterable[Eqn], parent: Eqn | None = None) -> list[str]:
        """The statements of a block, with a comment wherever the source line changes;
        ``parent`` is the structured equation the block belongs to (None for the body of the
        function)."""
        items: list[tuple[bool | None, str]] = []  # (quiet, text); comments: None
        top = parent is None
        role = None if parent is None else _sweep(parent.role)
        line_no = None if parent is None or parent.loc is None else parent.loc.line
        for eqn in eqns:
            if any(v.id in self.inlined for v in eqn.outputs):
                continue
            source_line = eqn.loc.line if eqn.loc else None
            if eqn.prim in ("tape_push", "tape_pop"):
                items.append((False, self.statement(eqn)))  # bookkeeping: no comment
                continue
            if _sweep(eqn.role) != role or source_line != line_no:
                items.append((None, self._section_comment(eqn, role, top)))
                role, line_no = _sweep(eqn.role), source_line
            items.append((self._is_quiet(eqn), self.statement(eqn)))
        return grouped(items)

    def _is_quiet(self, eqn: Eqn) -> bool:
        """Whether the statement of ``eqn`` computes values a mask drops (``Eqn.quiet``), in
        its own equation or one it spells inline."""
        return eqn.quiet or any(
            isinstance(atom, Var)
            and atom.id in self.inlined
            and self._is_quiet(self.defining[atom.id])
            for atom in eqn.inputs
        )

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
        if has_effect(eqn) and not self.program.uses.get(eqn.outputs[0].id):
            return unparse(self.expression(eqn))  # print(...): only its effect counts
        targets = ", ".join(self.names.name(v) for v in eqn.outputs)
        if len(eqn.outputs) == 1 and packs_results(eqn):
            targets = f"({targets},)"  # np.split(x, 1): a list of one array
        if is_statement(eqn):
            text = self._fill_statements(eqn, targets)
        else:
            text = (
                self._added_in_place(eqn, targets)
                or self._accumulated(eqn, targets)
                or self._chained(eqn, targets)
                or f"{targets} = {self.expression_text(eqn)}"
            )
        comment = "; ".join(filter(None, map(self._primal_text, self._origins(eqn))))
        if not comment:
            return text
        if len(text) + len(comment) > LINE_LENGTH - 8 or "\n" in text:
            return f"# {comment}\n{text}"  # too long to share a line: comment above
        return f"{text}  # {comment}"

    def _added_in_place(self, eqn: Eqn, target: str) -> str | None:
        """``dW = h.T @ d`` then ``dW += 2.0 * c * W``: in the backward pass, a sum whose matrix
        product is a fresh array of the result's shape and dtype, spelled in this line, is
        written into that array (one array and one pass fewer than ``dW = 2.0 * c * W +
        h.T @ d``)."""
        if eqn.prim != "add" or eqn.role == "primal" or eqn.outputs[0].aval.ndim == 0:
            return None  # the forward lines stay as the user wrote them
        out = eqn.outputs[0].aval
        for k, atom in enumerate(eqn.inputs):
            if not isinstance(atom, Var) or atom.id not in self.inlined:
                continue
            producer = self.defining.get(atom.id)
            if producer is None or producer.prim not in ("matmul", "outer"):
                continue
            if (atom.aval.shape, atom.aval.dtype) != (out.shape, out.dtype):
                continue
            product = unparse(self.operand(atom))
            other = self.operand(eqn.inputs[1 - k])
            if reads_name(other, target):
                continue  # dW = dW + h.T @ d would read the product, not dW
            written = self._written_once(eqn, target, producer, other)
            if written or producer.prim == "outer":  # a small outer product: one line
                return written
            return f"{target} = {product}\n{target} += {unparse(other)}"
        return None

    def _accumulated(self, eqn: Eqn, target: str) -> str | None:
        """``dx = dx + term`` in the backward pass, where ``dx`` names an array of the
        result's shape and dtype that an elementwise operation of this function made and
        nothing else reads: ``dx += term`` (the sum written into it, not into one more array
        of its size)."""
        if eqn.prim != "add" or eqn.role == "primal" or eqn.outputs[0].aval.ndim == 0:
            return None
        out = eqn.outputs[0].aval
        for k, atom in enumerate(eqn.inputs):
            if not isinstance(atom, Var) or atom.id in self.inlined:
                continue
            if self.names.name(atom) != target or not self.is_owned(atom):
                continue
            if (atom.aval.shape, atom.aval.dtype) != (out.shape, out.dtype):
                continue
            producer = self.defining.get(atom.id)  # a ufunc's result: a new, writable array
            if producer is None or not _is_elementwise_ufunc(producer):
                continue
            return f"{target} += {unparse(self.operand(eqn.inputs[1 - k]))}"
        return None

    def _written_once(self, eqn: Eqn, target: str, product: Eqn, other: ast.expr) -> str | None:
        """At the top level of the body, the sum written into a reused array (``reuse``)."""
        if id(eqn) not in self._top_level or eqn.inputs[0].aval.dtype != eqn.inputs[1].aval.dtype:
            return None
        out = eqn.outputs[0].aval
        left, right = product.inputs
        inner = left.aval.shape[-1] if product.prim == "matmul" else 1
        factors = (self.operand(left), self.operand(right))
        if any(reads_name(factor, target) for factor in factors):
            return None  # the array is taken before the factors are read
        term = next(a for a in eqn.inputs if a is not product.outputs[0])
        scaled = self._scaled(term, out.shape)
        text = written_once(
            target, out.shape, out.dtype, Product(product.prim, factors, inner), other, scaled
        )
        if text is not None:
            self.reuses_arrays = True
            self.reuse_helpers |= helpers_called(text)
        return text

    def _scaled(self, term: Atom, shape: tuple[int, ...]) -> tuple[ast.expr, ast.expr] | None:
        """(``c``, ``W``) spelled, when ``term`` is an inlined ``c * W`` of a number and an
        array of ``shape``."""
        if not isinstance(term, Var) or term.id not in self.inlined:
            return None
        multiply = self.defining.get(term.id)
        if multiply is None or multiply.prim != "multiply":
            return None
        first, second = multiply.inputs
        if first.aval.shape == () and second.aval.shape == shape:
            return self.operand(first), self.operand(second)
        if second.aval.shape == () and first.aval.shape == shape:
            return self.operand(second), self.operand(first)
        return None

    def _chained(self, eqn: Eqn, target: str) -> str | None:
        """A large array made by elementwise operations on a fresh temporary of its own
        shape, written in place step by step (``chains``)."""
        out = eqn.outputs[0].aval
        if not out.is_float or out.ndim == 0 or out.size * np.dtype(out.dtype).itemsize < MIN_BYTES:
            return None
        if reads_name(self.expression(eqn), target):
            return None  # the statement reads a value of the same name: keep one expression
        steps: list[str] = []
        current = eqn
        while (fresh := self._fresh_operand(current, out)) is not None:
            step = in_place_step(eqn_expression(current, self._reading(fresh, target)), target)
            if step is None:
                break
            steps.append(step)
            current = self.defining[fresh.id]
        if not steps:
            return None
        return "\n".join([f"{target} = {self.expression_text(current)}", *reversed(steps)])

    def _reading(self, fresh: Var, target: str) -> Callable[[Atom], ast.expr]:
        """Operands spelled as usual, but ``fresh`` as the name ``target``."""

        def operand(atom: Atom) -> ast.expr:
            return ast.Name(target, ast.Load()) if atom is fresh else self.operand(atom)

        return operand

    def _fresh_operand(self, eqn: Eqn, aval: AVal) -> Var | None:
        """The input of the elementwise ``eqn`` that is a temporary spelled inside it, of
        ``aval``, made by an operation that always makes a new array; None otherwise."""
        if not _is_elementwise_ufunc(eqn) or eqn.outputs[0].aval != aval:
            return None
        for atom in eqn.inputs:
            if not isinstance(atom, Var) or atom.id not in self.inlined or atom.aval != aval:
                continue
            producer = self.defining.get(atom.id)
            if producer is not None and (
                _is_elementwise_ufunc(producer) or producer.prim in FRESH_RESULTS
            ):
                return atom
        return None

    def _origins(self, eqn: Eqn) -> list[int]:
        """The primal equations (by output id) that ``eqn``'s line differentiates: its own,
        after those of the first terms folded into it."""
        if eqn.role == "primal" or eqn.origin is None or eqn.origin not in self.defining:
            return []
        folded = [a for a in eqn.inputs if isinstance(a, Var) and a.id in self.first_terms]
        origins = [o for a in folded for o in self._origins(self.defining[a.id])]
        return list(dict.fromkeys(origins + [eqn.origin]))

    def _primal_text(self, origin: int) -> str:
        primal = self.defining[origin]
        if is_statement(primal) or PRIMS[primal.prim].kind == CONTROL:
            return primal.loc.text if primal.loc else ""
        expression = self.expression_text(primal)
        if primal.outputs[0].id in self.inlined:
            return expression  # spelled inside the line that reads it: it has no name here
        return f"{self.names.name(primal.outputs[0])} = {expression}"

    def _fill_statements(self, eqn: Eqn, target: str) -> str:
        """``y[i] = v`` (after a copy unless ``y`` is reused) or a scatter into zeros."""
        if updates_first_input(eqn):
            return self._write_statements(eqn, target)
        values, *arrays = [self.operand(a) for a in eqn.inputs]
        static = static_index(eqn)
        index = index_expression(static, arrays)
        aval = eqn.outputs[0].aval
        dtype = "" if aval.dtype == "float64" else f", dtype=np.{aval.dtype}"
        zeros = f"{target} = np.zeros({eqn.param_dict['shape']!r}{dtype})"
        subscript = unparse(ast.Subscript(ast.Name(target, ast.Load()), index))
        if _has_index_arrays(static, eqn.inputs[1:]):
            at = unparse(index_argument(index))
            fill = f"np.add.at({target}, {at}, {unparse(values)})"
        else:
            fill = f"{subscript} = {unparse(values)}"
        return f"{zeros}\n{fill}"

    def _write_statements(self, eqn: Eqn, target: str) -> str:
        """``y[i] = v`` or ``y[i] += v`` (``np.add.at`` where positions may repeat), after a
        copy of the base unless the result is written into it in place."""
        base, value, *arrays = [self.operand(a) for a in eqn.inputs]
        static = static_index(eqn)
        index = index_expression(static, arrays)
        in_place = eqn.outputs[0].id in self.names.filled_in_place
        # a copy also when the result took the base's name only because the base is dead:
        # the base may be a view (a read-only broadcast, say) or another name's array
        lines = [] if in_place else [f"{target} = {unparse(base)}.copy()"]
        subscript = unparse(ast.Subscript(ast.Name(target, ast.Load()), index))
        if eqn.prim == "setitem":
            lines.append(f"{subscript} = {unparse(value)}")
        elif _has_index_arrays(static, eqn.inputs[2:]):
            at = unparse(index_argument(index))
            lines.append(f"np.add.at({target}, {at}, {unparse(value)})")
        else:
            lines.append(f"{subscript} += {unparse(value)}")
        return "\n".join(lines)

    # --- expressions --------------------------------------------------------------------
    def expression_text(self, eqn: Eqn) -> str:
        """``expression(eqn)`` as text, spelled once: a backward line's comment quotes the
        forward line it differentiates."""
        key = id(eqn)
        if key not in self._texts:
            self._texts[key] = unparse(self.expression(eqn))
        return self._texts[key]

    def expression(self, eqn: Eqn) -> ast.expr:
        custom = PRIMS[eqn.prim]
        if custom.kind == "custom":
            called = custom.user_function or custom.fn  # the user's, called on the leaves' tree
            self.constants[custom.called_as or custom.fn.__name__] = called
            for _, setting in custom.arguments_tree[1] if custom.arguments_tree else ():
                if callable(setting):
                    self.constants[setting_name(custom, setting)] = setting
        if eqn.prim == "tape_nonempty":
            return self.operand(eqn.inputs[0])  # a list is true while it has items
        if eqn.prim == "outside_call":
            return self._outside_call(eqn)
        if eqn.prim == "broadcast_to" and eqn.outputs[0] in self.graph.outputs:
            return self._writable_broadcast(eqn)
        if eqn.prim == "where":
            return self._where(eqn)
        return eqn_expression(eqn, self.operand)

    def _where(self, eqn: Eqn) -> ast.expr:
        """``np.where(c, x, 0.0)``, or the branch-free call of the ``select`` rule."""
        rule = selected(eqn)
        if rule is None:
            return eqn_expression(eqn, self.operand)
        helper, atoms = rule
        self.select_helpers.add(helper)
        return ast.Call(ast.Name(helper, ast.Load()), [self.operand(a) for a in atoms], [])

    def _outside_call(self, eqn: Eqn) -> ast.expr:
        """``np.random.rand(3)``, ``rng.normal(size=(3,))``, ``print("loss", loss)``."""
        params = eqn.param_dict
        function = self._callee(params["callee"])
        arguments, keywords = params["arguments"], params["keywords"]
        if not isinstance(arguments, tuple) or not isinstance(keywords, tuple):
            raise TypeError("an outside call without its arguments")
        positional = [self.call_argument(eqn, spec) for spec in arguments]
        named = [ast.keyword(name, self.call_argument(eqn, spec)) for name, spec in keywords]
        if params["callee"] in RUNTIME_CALLEES:  # update_attribute, refuse_changed_arguments
            self.once_helpers.add(params["callee"])
        if params.get("once"):  # once_per_call(history.append, loss): not in later passes
            self.once_helpers.add(ONCE_PER_CALL)
            return ast.Call(ast.Name(ONCE_PER_CALL, ast.Load()), [function, *positional], named)
        where = params.get("at_line")
        if isinstance(where, tuple):  # at_line(where, warnings.warn, "..."): the user's line
            self.reports_lines = True
            spelled = ast.Tuple([ast.Constant(part) for part in where], ast.Load())
            return ast.Call(ast.Name(AT_LINE, ast.Load()), [spelled, function, *positional], named)
        return ast.Call(function, positional, named)

    def _callee(self, callee: object) -> ast.expr:
        """The function an outside call calls: a place outside the function it reads
        (``rng.normal``) or a module-qualified name (``np.random.rand``, ``print``)."""
        if isinstance(callee, WorldPath):
            return ast.parse(self.spelling(callee), mode="eval").body
        if not isinstance(callee, str):
            raise TypeError(f"an outside call of {callee!r}")
        module = callee.split(".")[0]
        if (
            module not in ("np", callee) and callee not in RUNTIME_CALLEES
        ):  # random.random, logging.info: give the module
            self.constants[module] = sys.modules[module]
        return ast.parse(callee, mode="eval").body

    def call_argument(self, eqn: Eqn, spec: tuple[str, object]) -> ast.expr:
        """An argument of an outside call (or a raise): ``("input", k)`` for its k-th
        input, ``("list", specs)``, ``("tuple", specs)`` and ``("dict", ((key, spec),
        ...))`` for a container that holds computed values (``print([x, y])``), else
        ``("value", literal)``."""
        kind, value = spec
        if kind == "input" and isinstance(value, int):
            return self.operand(eqn.inputs[value])
        if kind == "place" and isinstance(value, WorldPath):  # print(CFG): read at call time
            return ast.parse(self.spelling(value), mode="eval").body
        if kind == "parameter" and isinstance(value, str):  # the function's own parameter
            return ast.Name(value, ast.Load())
        if kind in ("list", "tuple") and isinstance(value, tuple):
            items = [self.call_argument(eqn, item) for item in value]
            return ast.List(items, ast.Load()) if kind == "list" else ast.Tuple(items, ast.Load())
        if kind == "dict" and isinstance(value, tuple):
            keys: list[ast.expr | None] = [literal(key) for key, _ in value]
            return ast.Dict(keys, [self.call_argument(eqn, item) for _, item in value])
        if kind == "record" and isinstance(value, tuple):
            return self._record(eqn, *value)
        return literal(value)

    def _record(self, eqn: Eqn, kind: type, fields: tuple) -> ast.expr:
        """An object of the user's class made where it is printed: ``Params(w=w, b=b)`` for
        a NamedTuple, ``record(Layer, w=w)`` for others (no ``__init__`` run)."""
        name = kind.__name__ if kind.__name__.isidentifier() else "record_class"
        while self.constants.get(name, kind) is not kind:
            name = f"{name}_"
        self.constants[name] = kind
        keywords = [ast.keyword(field, self.call_argument(eqn, spec)) for field, spec in fields]
        if issubclass(kind, tuple):
            return ast.Call(ast.Name(name, ast.Load()), [], keywords)
        self.constants["record"] = record
        return ast.Call(ast.Name("record", ast.Load()), [ast.Name(name, ast.Load())], keywords)

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
        if isinstance(value, (np.number)) and type(value).__name__ in KEPT_SCALAR_TYPES:
            return strong_scalar(value)  # np.float64(1.5): NumPy's promotion keeps its dtype
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or isinstance(value, (bool, int, float)):
            return literal(value)
        if isinstance(value, str) and len(value) <= SHORT_STRING:  # an auxiliary output's label
            return ast.Constant(value)
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


SHORT_STRING = 40  # longer strings become named module constants


def _is_elementwise_ufunc(eqn: Eqn) -> bool:
    """Whether ``eqn`` is a NumPy ufunc applied elementwise (its result a new array)."""
    prim = PRIMS[eqn.prim]
    return prim.kind == "elementwise" and isinstance(prim.fn, np.ufunc) and len(eqn.outputs) == 1


def _sweep(role: str) -> str:
    """Primal values and their tangents run together in the forward sweep."""
    return "backward" if role == "adjoint" else "forward"


def _has_index_arrays(static: Index, arrays: Iterable[Atom]) -> bool:
    """Whether the index has arrays that may repeat positions (not just 0-d counters)."""
    has_arrays = any(isinstance(item, tuple) and item[0] == "array" for item in static)
    return has_arrays and any(a.aval.shape != () for a in arrays)
