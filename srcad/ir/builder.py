"""Recording equations into graphs.

A ``GraphBuilder`` accumulates equations (in nested blocks for the sub-graphs of structured
control flow), owns the id counter and the current source location, role and origin, and
builds the ``Graph`` at the end with user names and roles applied. Code records equations
through it by running NumPy code on tracers (``srcad.ir.tracer``) or by calling ``apply``.

Equations are simplified as they are made, by the rules of ``srcad.ir.simplify``
(constant folding, ``x * 1``, ``x + 0``, ``-(-x)``, reading through broadcasts), and an
equation computed before in an open block is reused rather than recorded again (CSE): what
lowering and the derivative rules see is already simplified. The passes
``srcad.passes.simplify`` and ``srcad.passes.cse`` apply the same rules to a whole graph.
"""

from __future__ import annotations

import contextlib
import operator
from collections.abc import Iterator

import numpy as np

from srcad.ir.graph import Atom, AVal, Const, Eqn, Graph, Loc, Var, VarRole
from srcad.ir.primitive import (
    COMPARISON,
    CUSTOM,
    ELEMENTWISE,
    LINALG,
    PARAMETRIC,
    REDUCTION,
)
from srcad.ir.prims import PRIMS
from srcad.ir.shapes import infer_avals
from srcad.ir.simplify import canonical_params, cse_key, fold_constants, simplify_equation
from srcad.ir.tracer import (
    SAME_AS_NUMPY,
    StaticValueNeeded,
    Traced,
    TraceError,
    Tracer,
    UnknownPrimitiveError,
    plain_index,
    record_call,
)

# Primitives that compute with numbers, and the dtype of a string made when the code runs
NUMERIC_KINDS = frozenset({ELEMENTWISE, COMPARISON, PARAMETRIC, REDUCTION, LINALG})
STRING_DTYPE = "object"

# Tracing's names, as the stages that record equations import them from here.
__all__ = [
    "SAME_AS_NUMPY",
    "GraphBuilder",
    "StaticValueNeeded",
    "TraceError",
    "Traced",
    "Tracer",
    "UnknownPrimitiveError",
    "map_graph",
    "plain_index",
    "record_call",
    "rename_vars",
]


COMPLEX_REFUSED = (
    "complex numbers are not supported: srcad differentiates real arithmetic; carry the real "
    "and imaginary parts as two real arrays (np.fft's transforms are refused for the same reason)"
)


class GraphBuilder:
    """Accumulates equations; owns the id counter and the current source location."""

    def __init__(self, first_id: int = 0):
        self._blocks: list[list[Eqn]] = [[]]
        # per open block: values already computed (CSE)
        self._computed: list[dict[tuple, Traced]] = [{}]
        self.loc: Loc | None = None
        self.role = "primal"
        self.origin: int | None = None
        self.quiet = False  # the equations made compute values a mask drops (Eqn.quiet)
        self._next_id = first_id
        self._producer: dict[int, Eqn] = {}
        self._hints: dict[int, str] = {}
        self._roles: dict[int, VarRole] = {}

    @property
    def eqns(self) -> list[Eqn]:
        """The equations of the innermost open block."""
        return self._blocks[-1]

    @property
    def is_at_top(self) -> bool:
        """Whether equations go into the graph itself, not into a block of a branch or a
        loop's body (each of which may run or not, or many times)."""
        return len(self._blocks) == 1

    @contextlib.contextmanager
    def block(self) -> Iterator[list[Eqn]]:
        """Record the equations made inside the ``with`` into a separate list (a sub-graph)."""
        self._blocks.append([])
        self._computed.append({})
        try:
            yield self._blocks[-1]
        finally:
            self._blocks.pop()
            self._computed.pop()

    @contextlib.contextmanager
    def reopen(self, block: list[Eqn]) -> Iterator[list[Eqn]]:
        """Append to a block made earlier with ``block()``."""
        self._blocks.append(block)
        self._computed.append({})
        try:
            yield block
        finally:
            self._blocks.pop()
            self._computed.pop()

    def emit(self, eqn: Eqn) -> None:
        """Append an equation built elsewhere (structured control flow)."""
        self.eqns.append(eqn)
        self.register(eqn)

    def register(self, eqn: Eqn) -> None:
        """Know which equation produced its outputs (for simplifications) without adding it."""
        for var in eqn.outputs:
            self._producer[var.id] = eqn

    def remember(self, eqn: Eqn) -> None:
        """Let later identical computations in this scope reuse ``eqn``'s output (CSE)."""
        key = cse_key(eqn.prim, list(eqn.inputs), eqn.param_dict)
        if key is not None and len(eqn.outputs) == 1:
            self._computed[-1].setdefault(key, self.tracer(eqn.outputs[0]))

    def producer(self, var: Var) -> Eqn | None:
        return self._producer.get(var.id)

    def new_var(self, hint: str, aval: AVal, role: VarRole | None = None) -> Var:
        var = Var(self._next_id, hint, aval, role)
        self._next_id += 1
        return var

    def new_var_like(self, atom: Atom) -> Var:
        """A new var with the aval, user name and role of ``atom`` (no name for a Const)."""
        if isinstance(atom, Var):
            return self.new_var(atom.hint, atom.aval, atom.role)
        return self.new_var("", atom.aval)

    def set_hint(self, var: Var, hint: str) -> None:
        """Give ``var`` a (user) name, applied when the graph is built."""
        self._hints[var.id] = hint

    def set_role(self, var: Var, role: VarRole) -> None:
        """Record what ``var`` is a derivative of, applied when the graph is built."""
        self._roles[var.id] = role

    def hint_of(self, var: Var) -> str:
        return self._hints.get(var.id, var.hint)

    def is_named(self, var: Var) -> bool:
        """Whether ``var`` has a name of its own so far: a user's name or a role."""
        return bool(self.hint_of(var)) or self._roles.get(var.id, var.role) is not None

    def is_fresh(self, var: Var, since: int) -> bool:
        """Whether ``var`` was produced by an equation appended at index ``since`` or later."""
        eqn = self._producer.get(var.id)
        return eqn is not None and any(e is eqn for e in self.eqns[since:])

    def tracer(self, atom: Atom) -> Tracer:
        return Tracer(self, atom)

    @contextlib.contextmanager
    def at(
        self,
        loc: Loc | None,
        role: str | None = None,
        origin: int | None = None,
        quiet: bool = False,
    ) -> Iterator:
        """Record equations made inside the block with this location, role and origin (and
        as ``quiet``, Eqn's, where asked)."""
        saved = (self.loc, self.role, self.origin, self.quiet)
        self.loc = loc
        self.role = role or self.role
        self.origin = origin
        self.quiet = quiet or self.quiet
        try:
            yield
        finally:
            self.loc, self.role, self.origin, self.quiet = saved

    def apply(self, prim_name: str, inputs: tuple, params: dict | None = None) -> Traced:
        """Append ``prim_name(*inputs, **params)``; returns a Tracer (or a tuple of them)."""
        atoms = [self._atom(value) for value in inputs]
        params = canonical_params(prim_name, atoms, dict(params or {}))
        folded = fold_constants(prim_name, atoms, params)
        if folded is not None:
            return self.tracer(folded)
        avals = self.infer(prim_name, atoms, params)
        shortcut = simplify_equation(self, prim_name, atoms, avals[0])
        if shortcut is not None and self._copies_in_user_code(prim_name, atoms, shortcut):
            return self.apply("copy", (shortcut,))  # y = x * 1.0: a copy y's views view
        if shortcut is not None:  # x * 1.0 is a new array for NumPy; a reshape is a view
            is_view = PRIMS[prim_name].is_view
            return Tracer(self, shortcut, fresh=not is_view, view=is_view)
        key = cse_key(prim_name, atoms, params)
        if PRIMS[prim_name].rebuild_output is not None:  # a tree of the user's: made anew
            key = None
        for seen in reversed(self._computed):
            if key is not None and key in seen:
                return self._fresh(seen[key], is_view=PRIMS[prim_name].is_view)
        outputs = tuple(self.new_var("", aval) for aval in avals)
        eqn = Eqn(
            prim_name,
            tuple(atoms),
            outputs,
            tuple(sorted(params.items())),
            self.loc,
            self.role,
            self.origin,
            self.quiet,
        )
        self.emit(eqn)
        tracers = tuple(self.tracer(v) for v in outputs)
        result: Traced
        prim = PRIMS[prim_name]
        if len(tracers) == 1 and not prim.returns_list and prim.rebuild_output is None:
            result = tracers[0]
        else:  # np.split's list (even of one array), slogdet's SlogdetResult, or a tuple
            result = PRIMS[prim_name].results(tracers)
        if key is not None:
            self._computed[-1][key] = result
        return result

    def _copies_in_user_code(self, prim_name: str, atoms: list[Atom], shortcut: Atom) -> bool:
        """Whether the user's code (``y = x * 1.0``) asks for a new array that would be one
        of its operands: kept a copy, so that views of ``y`` and writes into it stay apart
        from ``x`` (a derivative rule's ``g * 1.0`` is simply ``g``)."""
        is_operand = any(shortcut is atom for atom in atoms)
        is_array = shortcut.aval.ndim >= 1
        return self.role == "primal" and not PRIMS[prim_name].is_view and is_operand and is_array

    def apply_atom(self, prim_name: str, inputs: tuple, params: dict | None = None) -> Atom:
        """``apply`` for a primitive with one output: the atom of its result."""
        result = self.apply(prim_name, inputs, params)
        if not isinstance(result, Tracer):
            raise TypeError(f"{prim_name} gives {len(result)} values, not one")
        return result.atom

    def _fresh(self, result: Traced, is_view: bool) -> Traced:
        """New tracers of an earlier result's values: NumPy would compute new arrays (new
        views of one array, ``is_view``), and the lowering tells arrays apart by their
        tracers (see ``srcad.lower.aliasing``): ``np.zeros_like(x)`` twice is two arrays,
        though the IR computes one."""

        def again(tracer: Tracer) -> Tracer:
            return Tracer(self, tracer.atom, fresh=not is_view, view=is_view)

        if isinstance(result, list):
            return [again(t) for t in result]
        if isinstance(result, tuple):
            items = [again(t) for t in result]
            return type(result)(*items) if hasattr(result, "_fields") else tuple(items)
        return again(result)

    def build(self, name: str, inputs: list[Var], outputs: list[Atom]) -> Graph:
        """The graph of everything recorded, with user names and roles applied to its vars."""
        graph = Graph(name, tuple(inputs), tuple(self.eqns), tuple(outputs))
        return rename_vars(graph, dict(self._hints), dict(self._roles))

    def _atom(self, value: object) -> Atom:
        if isinstance(value, Tracer):
            if value.builder is not self:
                raise TraceError("a value from another compilation leaked in", self.loc)
            return value.atom
        if isinstance(value, (Var, Const)):
            return value
        if isinstance(value, np.ndarray) and value.dtype == object:
            return self._object_array_atom(value)
        if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
            return Const(value)
        if isinstance(value, (list, tuple)) and _is_numbers(value):
            return Const(np.asarray(value))  # np.take(M, [2, 0], axis=1)
        if isinstance(value, range):  # P[range(n), y]: NumPy reads it as np.arange(n)
            return Const(np.asarray(value))
        if isinstance(value, complex):
            raise TraceError(COMPLEX_REFUSED, self.loc)
        plain = TypeError if isinstance(value, str) else None  # np.sum(x) + "a": Python's too
        raise TraceError(not_an_array(value), self.loc, plain)

    def atom_of(self, value: object) -> Atom:
        """What a rule returned (a tracer, a number, an array, an array NumPy filled with
        tracers) as an atom of this graph."""
        return self._atom(value)

    def _object_array_atom(self, value: np.ndarray) -> Atom:
        """An array NumPy filled with tracers (``np.full(shape, g)`` in a rule: NumPy does
        not dispatch on ``fill_value``) as the equations that make it: ``broadcast_to`` of
        the one tracer it repeats, else a ``stack`` of its elements."""
        items = list(value.flat)
        if not any(isinstance(item, Tracer) for item in items):
            return Const(value.astype(np.result_type(*items)) if items else value)
        first = items[0]
        if all(item is first for item in items):
            return self.apply_atom("broadcast_to", (first,), {"shape": value.shape})
        flat = self.apply("stack", tuple(items), {"axis": 0})
        return self.apply_atom("reshape", (flat,), {"shape": value.shape})

    def infer(self, prim_name: str, atoms: list[Atom], params: dict) -> tuple[AVal, ...]:
        """The avals of ``prim_name(*atoms, **params)``; a TraceError where they do not fit."""
        numeric = PRIMS[prim_name].kind in NUMERIC_KINDS
        if numeric and any(a.aval.dtype == STRING_DTYPE for a in atoms):
            raise TraceError(
                f"{PRIMS[prim_name].spelling} of a string formatted from data (an f-string, "
                "str() or format() of a computed value): srcad formats it when the code runs, "
                "to print or log; compute with the number itself",
                self.loc,
            )
        try:
            return infer_avals(prim_name, [a.aval for a in atoms], params)
        except Exception as error:
            if PRIMS[prim_name].kind == CUSTOM:
                raise TraceError(_user_function_failed(prim_name, error), self.loc) from None
            if not isinstance(error, (ValueError, TypeError, IndexError, np.exceptions.AxisError)):
                raise
            shapes = " and ".join(str(a.aval.shape) for a in atoms)
            raise TraceError(
                f"{PRIMS[prim_name].spelling} cannot combine shapes {shapes}: {error}",
                self.loc,
                type(error),  # the plain function raises it too, on arrays of these shapes
            ) from None


def _user_function_failed(prim_name: str, error: Exception) -> str:
    """What to say when a function of the user's with a rule of theirs raised on the
    stand-in arguments that shape inference gives it (``srcad.ir.shapes``)."""
    name = PRIMS[prim_name].called_as
    return (
        f"srcad runs {name} once while it compiles, on stand-in arguments of the shapes and "
        "dtypes it is called with (ones, identity matrices), to learn the shape of its result, "
        f"and there it raised {type(error).__name__} ({error}); let {name} compute on such "
        "arguments (check the values in the code that calls it)"
    )


def rename_vars(
    graph: Graph, hints: dict[int, str], roles: dict[int, VarRole] | None = None
) -> Graph:
    """``graph`` with every var whose id is in ``hints`` carrying that hint, and every var
    whose id is in ``roles`` that role (sub-graphs too)."""
    roles = roles or {}

    def rename(atom: Atom) -> Atom:
        if not isinstance(atom, Var) or (atom.id not in hints and atom.id not in roles):
            return atom
        hint, role = hints.get(atom.id, atom.hint), roles.get(atom.id, atom.role)
        if hint == atom.hint and role == atom.role:
            return atom
        return Var(atom.id, hint, atom.aval, role)

    return map_graph(graph, rename)


def map_graph(graph: Graph, function) -> Graph:
    """``graph`` with ``function`` applied to every atom, recursively into sub-graphs."""

    def param(value: object) -> object:
        if isinstance(value, Graph):
            return map_graph(value, function)
        if isinstance(value, tuple) and any(isinstance(v, Graph) for v in value):
            return tuple(param(v) for v in value)
        return value

    def mapped(e: Eqn) -> Eqn:
        inputs = tuple(map(function, e.inputs))
        outputs = tuple(map(function, e.outputs))
        params = e.params
        if e.graphs:  # a body, branches: mapped too
            params = tuple((k, param(v)) for k, v in params)
        unchanged = all(map(operator.is_, inputs, e.inputs)) and all(
            map(operator.is_, outputs, e.outputs)
        )
        if unchanged and params is e.params:
            return e  # most equations: nothing to rename (no new object)
        return Eqn(e.prim, inputs, outputs, params, e.loc, e.role, e.origin, e.quiet)

    return Graph(
        graph.name,
        tuple(function(v) for v in graph.inputs),
        tuple(map(mapped, graph.eqns)),
        tuple(function(a) for a in graph.outputs),
    )


def _is_numbers(values: list | tuple) -> bool:
    """Whether a (nested) list holds plain numbers only, as an array literal does."""
    return all(
        _is_numbers(v) if isinstance(v, (list, tuple)) else isinstance(v, (int, float))
        for v in values
    )


def not_an_array(value: object) -> str:
    """Why ``value`` cannot enter an equation: what it is (an object from outside the
    function is named by its path), and for a SciPy sparse matrix what to write instead."""
    refusal = getattr(value, "srcad_refusal", None)  # lu_factor's lu: for lu_solve only
    if isinstance(refusal, str):
        return refusal
    path = getattr(value, "path", None)  # an outside object: read through its path
    held = getattr(value, "value", value) if path is not None else value
    where = f" ({path.text})" if path is not None else ""
    kind = type(held)
    message = f"cannot use a {kind.__module__}.{kind.__qualname__}{where} as an array here"
    if kind is str:
        return (
            f"cannot compute with the text {held!r}{where} here: an operation mixes it with a "
            "value read on every call (NumPy raises TypeError for text in arithmetic; text "
            "formatted from a float, f'{x:.1f}', is made when the code runs: compare or "
            "compute with the number itself, abs(x - 0.5) < 0.05 rather than f'{x:.1f}' == "
            "'0.5')"
        )
    if kind.__module__.startswith("scipy.sparse"):
        message += (
            "; srcad differentiates dense NumPy arrays: make it one with .toarray() (outside "
            "the function, once), or keep the sparse products out of the differentiated code"
        )
    return message
