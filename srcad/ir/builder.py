"""Building graphs by running ordinary NumPy code on tracers.

A ``Tracer`` stands for an IR value. Arithmetic operators, NumPy ufuncs, NumPy functions
(through ``__array_ufunc__`` / ``__array_function__``) and a few array methods on tracers
append equations to a ``GraphBuilder`` instead of computing. Lowering uses it to turn the
user's expressions into equations, and the reverse transformation runs the derivative rules
(plain NumPy code) on tracers to produce the gradient equations.

Small algebraic simplifications happen here, as equations are made: multiplying by one,
adding zero, double negation, and broadcasting a value only to combine it elementwise with a
value of the full shape (the elementwise operation broadcasts by itself).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TypeAlias

import numpy as np

from srcad.ir.graph import Atom, AVal, Const, Eqn, Graph, Loc, Var, VarRole
from srcad.ir.index import encode_index
from srcad.ir.prims import ELEMENTWISE, PRIMS, prim_of
from srcad.ir.shapes import infer_avals

# What recording a primitive gives: one tracer per output, a tuple of them for several (a
# list for the primitives that return one, as ``np.split``).
Traced: TypeAlias = "Tracer | tuple[Tracer, ...] | list[Tracer]"


class TraceError(Exception):
    """An operation on a traced value that the builder cannot record."""

    def __init__(self, message: str, loc: Loc | None):
        super().__init__(message)
        self.loc = loc


class StaticValueNeeded(TraceError):
    """A computed value was used where compile-time ints are needed (a slice bound, a
    range); a loop retries by unrolling, which makes its counter a compile-time int."""


class UnknownPrimitiveError(TraceError):
    """A NumPy function with no entry in the primitive table."""


class GraphBuilder:
    """Accumulates equations; owns the id counter and the current source location."""

    def __init__(self, first_id: int = 0):
        self._blocks: list[list[Eqn]] = [[]]
        # per open block: values already computed (CSE)
        self._computed: list[dict[tuple, Traced]] = [{}]
        self.loc: Loc | None = None
        self.role = "primal"
        self.origin: int | None = None
        self._next_id = first_id
        self._producer: dict[int, Eqn] = {}
        self._hints: dict[int, str] = {}
        self._roles: dict[int, VarRole] = {}

    @property
    def eqns(self) -> list[Eqn]:
        """The equations of the innermost open block."""
        return self._blocks[-1]

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
        key = _cse_key(eqn.prim, list(eqn.inputs), eqn.param_dict)
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
    def at(self, loc: Loc | None, role: str | None = None, origin: int | None = None) -> Iterator:
        """Record equations made inside the block with this location, role and origin."""
        saved = (self.loc, self.role, self.origin)
        self.loc = loc
        self.role = role or self.role
        self.origin = origin
        try:
            yield
        finally:
            self.loc, self.role, self.origin = saved

    def apply(self, prim_name: str, inputs: tuple, params: dict | None = None) -> Traced:
        """Append ``prim_name(*inputs, **params)``; returns a Tracer (or a tuple of them)."""
        params = {k: v for k, v in (params or {}).items()}
        atoms = [self._atom(value) for value in inputs]
        folded = _fold_constants(prim_name, atoms, params)
        if folded is not None:
            return self.tracer(folded)
        avals = self._infer(prim_name, atoms, params)
        shortcut = self._simplify(prim_name, atoms, avals)
        if shortcut is not None:  # x * 1.0 is a new array for NumPy; a reshape is a view
            return Tracer(self, shortcut, fresh=not PRIMS[prim_name].is_view)
        key = _cse_key(prim_name, atoms, params)
        for seen in reversed(self._computed):
            if key is not None and key in seen:
                return self._fresh(seen[key])
        outputs = tuple(self.new_var("", aval) for aval in avals)
        eqn = Eqn(
            prim_name,
            tuple(atoms),
            outputs,
            tuple(sorted(params.items())),
            self.loc,
            self.role,
            self.origin,
        )
        self.emit(eqn)
        tracers = tuple(self.tracer(v) for v in outputs)
        result: Traced
        if len(tracers) == 1 and not PRIMS[prim_name].returns_list:
            result = tracers[0]
        else:  # np.split's list (even of one array), slogdet's SlogdetResult, or a tuple
            result = PRIMS[prim_name].results(tracers)
        if key is not None:
            self._computed[-1][key] = result
        return result

    def apply_atom(self, prim_name: str, inputs: tuple, params: dict | None = None) -> Atom:
        """``apply`` for a primitive with one output: the atom of its result."""
        result = self.apply(prim_name, inputs, params)
        if not isinstance(result, Tracer):
            raise TypeError(f"{prim_name} gives {len(result)} values, not one")
        return result.atom

    def _fresh(self, result: Traced) -> Traced:
        """New tracers of an earlier result's values: NumPy would compute new arrays, and the
        lowering tells arrays apart by their tracers (see ``srcad.lower.aliasing``)."""
        if isinstance(result, list):
            return [self.tracer(t.atom) for t in result]
        if isinstance(result, tuple):
            items = [self.tracer(t.atom) for t in result]
            return type(result)(*items) if hasattr(result, "_fields") else tuple(items)
        return self.tracer(result.atom)

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
        if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
            return Const(value)
        if isinstance(value, (list, tuple)) and _is_numbers(value):
            return Const(np.asarray(value))  # np.take(M, [2, 0], axis=1)
        raise TraceError(f"cannot use a {type(value).__name__} as an array here", self.loc)

    def _infer(self, prim_name: str, atoms: list[Atom], params: dict) -> tuple[AVal, ...]:
        try:
            return infer_avals(prim_name, [a.aval for a in atoms], params)
        except (ValueError, TypeError, IndexError, np.exceptions.AxisError) as error:
            shapes = " and ".join(str(a.aval.shape) for a in atoms)
            raise TraceError(
                f"{PRIMS[prim_name].spelling} cannot combine shapes {shapes}: {error}",
                self.loc,
            ) from None

    def _simplify(self, prim_name: str, atoms: list[Atom], avals: tuple) -> Atom | None:
        """An existing atom equal to the result, or None. Rewrites ``atoms`` in place."""
        out = avals[0]
        if PRIMS[prim_name].kind == ELEMENTWISE:
            for i, atom in enumerate(atoms):
                source = self._broadcast_source(atom)
                if source is not None:
                    trial = atoms[:i] + [source] + atoms[i + 1 :]
                    if self._infer(prim_name, trial, {})[0] == out:
                        atoms[i] = source
        if prim_name in ("reshape", "broadcast_to", "expand_dims") and atoms[0].aval == out:
            return atoms[0]
        source = (
            self._broadcast_source(atoms[0]) if prim_name in ("reshape", "expand_dims") else None
        )
        if source is not None and source.aval.shape == ():
            # a broadcast scalar, reshaped: the scalar broadcast to the new shape
            return self.apply_atom("broadcast_to", (self.tracer(source),), {"shape": out.shape})
        if prim_name == "multiply":
            return _identity_operand(atoms, 1, out) or self._scalars_first(atoms, out)
        if prim_name == "divide" and isinstance(atoms[1], Const) and atoms[0].aval == out:
            return atoms[0] if _is_scalar_equal(atoms[1].value, 1) else None
        if prim_name == "add" and isinstance(atoms[0], Var) and atoms[0] == atoms[1]:
            return self.apply_atom("multiply", (2.0, self.tracer(atoms[0])))  # x + x
        if prim_name == "add":
            return _identity_operand(atoms, 0, out)
        if prim_name == "power" and isinstance(atoms[1], Const) and atoms[0].aval == out:
            return atoms[0] if _is_scalar_equal(atoms[1].value, 1) else None
        if prim_name == "negative" and isinstance(atoms[0], Var):
            inner = self._producer.get(atoms[0].id)
            if inner is not None and inner.prim == "negative":
                return inner.inputs[0]
        return None

    def _scalars_first(self, atoms: list[Atom], out: AVal) -> Atom | None:
        """``s * (r * z)`` with scalars ``s``, ``r`` → ``(s * r) * z``: one pass over the
        array instead of two (``dout * (2 * W)`` becomes ``(dout * 2) * W``)."""
        if out.shape == ():
            return None
        for scalar, other in ((atoms[0], atoms[1]), (atoms[1], atoms[0])):
            if scalar.aval.shape != () or not isinstance(other, Var):
                continue
            inner = self._producer.get(other.id)
            if inner is None or inner.prim != "multiply":
                continue
            for r, z in ((inner.inputs[0], inner.inputs[1]), (inner.inputs[1], inner.inputs[0])):
                if r.aval.shape == () and z.aval.shape == out.shape:
                    factor = self.apply_atom("multiply", (self.tracer(scalar), self.tracer(r)))
                    result = self.apply_atom("multiply", (self.tracer(factor), self.tracer(z)))
                    if result.aval == out:
                        return result
        return None

    def _broadcast_source(self, atom: Atom) -> Atom | None:
        """What ``atom`` is a broadcast of (through chains of broadcasts), or None."""
        source = None
        while isinstance(atom, Var):
            eqn = self._producer.get(atom.id)
            if eqn is None or eqn.prim != "broadcast_to":
                break
            source = atom = eqn.inputs[0]
        return source


def _cse_key(prim_name: str, atoms: list[Atom], params: dict) -> tuple | None:
    """A key under which an identical computation is found again, or None."""
    parts = tuple(a.id if isinstance(a, Var) else ("const", id(a)) for a in atoms)
    try:
        key = (prim_name, parts, tuple(sorted(params.items())))
        hash(key)
    except TypeError:
        return None
    return key


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

    eqns = tuple(
        Eqn(
            e.prim,
            tuple(function(a) for a in e.inputs),
            tuple(function(v) for v in e.outputs),
            tuple((k, param(v)) for k, v in e.params),
            e.loc,
            e.role,
            e.origin,
        )
        for e in graph.eqns
    )
    return Graph(
        graph.name,
        tuple(function(v) for v in graph.inputs),
        eqns,
        tuple(function(a) for a in graph.outputs),
    )


def _fold_constants(prim_name: str, atoms: list[Atom], params: dict) -> Const | None:
    """Compute ``prim`` now when every input is a Python scalar constant (``2.0 - 1``)."""
    values = [a.value for a in atoms if isinstance(a, Const)]
    if len(values) < len(atoms) or not all(isinstance(v, (int, float)) for v in values):
        return None
    with np.errstate(all="ignore"):
        result = PRIMS[prim_name].evaluate(values, params)
    if isinstance(result, np.bool_):
        return Const(bool(result))
    if isinstance(result, np.integer) or type(result) is int:
        return Const(int(result))
    return Const(float(result)) if isinstance(result, (np.floating, float)) else None


def _identity_operand(atoms: list[Atom], unit: float, out: AVal) -> Atom | None:
    """For ``x * 1`` or ``x + 0``: the operand ``x``, when the result has its aval."""
    for here, other in ((0, 1), (1, 0)):
        atom = atoms[here]
        if isinstance(atom, Const) and _is_scalar_equal(atom.value, unit):
            if atoms[other].aval == out:
                return atoms[other]
    return None


def _is_scalar_equal(value: object, unit: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == unit


class Tracer:
    """A stand-in for an IR value inside NumPy code; operations record equations."""

    __array_priority__ = 1000
    __slots__ = ("builder", "atom", "fresh")

    def __init__(self, builder: GraphBuilder, atom: Atom, fresh: bool = False):
        self.builder = builder
        self.atom = atom
        self.fresh = fresh  # a new array for NumPy, though the IR reuses a value (x * 1.0)

    # --- static facts -------------------------------------------------------------------
    @property
    def aval(self) -> AVal:
        return self.atom.aval

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def ndim(self) -> int:
        return self.aval.ndim

    @property
    def size(self) -> int:
        return self.aval.size

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.aval.dtype)

    def __len__(self) -> int:
        if not self.shape:
            raise TraceError("len() of a 0-d value", self.builder.loc)
        return self.shape[0]

    def __bool__(self) -> bool:
        raise TraceError(
            "the truth value of a traced value is only known when the function runs",
            self.builder.loc,
        )

    def __repr__(self) -> str:
        return f"Tracer({self.atom!r})"

    def _apply(self, prim_name: str, *inputs: object, **params: object) -> Traced:
        return self.builder.apply(prim_name, inputs, params)

    # --- operators ----------------------------------------------------------------------
    def __add__(self, other):
        return self._apply("add", self, other)

    def __radd__(self, other):
        return self._apply("add", other, self)

    def __sub__(self, other):
        return self._apply("subtract", self, other)

    def __floordiv__(self, other):  # on ints (a counter): see the lowering's STATIC_ONLY
        return self._apply("floor_divide", self, other)

    def __rfloordiv__(self, other):
        return self._apply("floor_divide", other, self)

    def __mod__(self, other):
        return self._apply("remainder", self, other)

    def __rmod__(self, other):
        return self._apply("remainder", other, self)

    def __rsub__(self, other):
        return self._apply("subtract", other, self)

    def __mul__(self, other):
        return self._apply("multiply", self, other)

    def __rmul__(self, other):
        return self._apply("multiply", other, self)

    def __truediv__(self, other):
        return self._apply("divide", self, other)

    def __rtruediv__(self, other):
        return self._apply("divide", other, self)

    def __pow__(self, other):
        return self._apply("power", self, other)

    def __rpow__(self, other):
        return self._apply("power", other, self)

    def __matmul__(self, other):
        return self._apply("matmul", self, other)

    def __rmatmul__(self, other):
        return self._apply("matmul", other, self)

    def __neg__(self):
        return self._apply("negative", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self._apply("absolute", self)

    def __gt__(self, other):
        return self._apply("greater", self, other)

    def __ge__(self, other):
        return self._apply("greater_equal", self, other)

    def __lt__(self, other):
        return self._apply("less", self, other)

    def __le__(self, other):
        return self._apply("less_equal", self, other)

    def __eq__(self, other):  # noqa: D105 - elementwise, as for arrays
        return self._apply("equal", self, other)

    def __ne__(self, other):
        return self._apply("not_equal", self, other)

    __hash__ = object.__hash__

    # --- NumPy protocols ----------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        prim = prim_of(ufunc)
        if method != "__call__" or kwargs or prim is None:
            raise UnknownPrimitiveError(_unknown(ufunc, method), self.builder.loc)
        return self.builder.apply(prim.name, inputs)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.shape:
            return self.shape
        if func is np.ndim:
            return self.ndim
        if func is np.size and len(args) == 1:
            return self.size
        prim = prim_of(func)
        if prim is None:
            raise UnknownPrimitiveError(_unknown(func, "__call__"), self.builder.loc)
        arrays, params = bind_arguments(prim.name, args, kwargs, self.builder.loc)
        return self.builder.apply(prim.name, arrays, params)

    # --- array methods ------------------------------------------------------------------
    @property
    def T(self):
        return self._apply("transpose", self)

    def reshape(self, *shape, order="C"):
        shape = shape[0] if len(shape) == 1 else shape
        order_param = {} if order == "C" else {"order": order}
        # NumPy's stubs do not know ``__array_function__``: the call records a reshape here
        return np.reshape(self, shape, **order_param)  # type: ignore[call-overload]

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 else axes
        return self._apply("transpose", self, **({"axes": tuple(axes)} if axes else {}))

    def copy(self, order="K"):  # noqa: ARG002 - the copy's layout does not matter here
        return self._apply("copy", self)  # a new array: other names for this one are not it

    def astype(self, dtype, copy=True):  # noqa: ARG002 - graph values are never shared
        return self.builder.apply("astype", (self,), {"dtype": np.dtype(dtype)})

    def flatten(self):
        # a copy, unlike ravel; NumPy's stubs do not know ``__array_function__`` (see reshape)
        ravelled = np.ravel(self)  # type: ignore[call-overload]
        return Tracer(self.builder, ravelled.atom, fresh=True)

    def __iter__(self):
        return iter([self[i] for i in range(len(self))])

    def __getitem__(self, index):
        static, arrays = encode_index(plain_index(index, self.builder.loc))
        return self.builder.apply("getitem", (self, *arrays), {"index": static})


# Array methods that mean the NumPy function of the same name, with the same arguments after
# the array (``x.sum(axis=1, keepdims=True)`` is ``np.sum(x, axis=1, keepdims=True)``).
SAME_AS_NUMPY = (
    "sum mean max min std var prod cumsum cumprod ravel squeeze swapaxes clip dot "
    "argmax argmin any all round diagonal trace repeat take"
).split()


def _method_of(function: Callable) -> Callable:
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    method.__name__ = function.__name__
    method.__doc__ = f"``np.{function.__name__}`` of this value."
    return method


for _name in SAME_AS_NUMPY:
    setattr(Tracer, _name, _method_of(getattr(np, _name)))


def _is_numbers(values: list | tuple) -> bool:
    """Whether a (nested) list holds plain numbers only, as an array literal does."""
    return all(
        _is_numbers(v) if isinstance(v, (list, tuple)) else isinstance(v, (int, float))
        for v in values
    )


def plain_index(index: object, loc: Loc | None) -> tuple[object, ...]:
    """Index parts as ints, slices, tracers or integer arrays (masks become positions)."""
    items = index if isinstance(index, tuple) else (index,)
    plain: list[object] = []
    for item in items:
        if isinstance(item, slice):
            for bound in (item.start, item.stop, item.step):
                if bound is not None and not isinstance(bound, int):
                    raise StaticValueNeeded(
                        "slice bounds must be ints known when compiling (shapes, loop "
                        "counters over range) ; use np.where or np.take for computed "
                        "positions",
                        loc,
                    )
            plain.append(item)
        elif isinstance(item, Tracer) and isinstance(item.atom, Const):
            plain.extend(plain_index(np.asarray(item.atom.value), loc))
        elif isinstance(item, Tracer):
            if item.aval.dtype == "bool":
                raise TraceError(
                    "boolean masks computed from data give data-dependent shapes; "
                    "use np.where(mask, x, 0) instead",
                    loc,
                )
            if item.aval.dtype not in ("int64", "int32", "intp", "uint8", "int16", "int8"):
                raise TraceError(f"cannot index with a {item.aval.dtype} value", loc)
            plain.append(item)
        elif isinstance(item, (list, np.ndarray)):
            array = np.asarray(item)
            plain.extend(np.nonzero(array) if array.dtype == bool else [array])
        elif isinstance(item, float):
            raise TraceError("cannot index with a float; use an int", loc)
        else:
            plain.append(item)
    return tuple(plain)


def bind_arguments(prim_name: str, args: tuple, kwargs: dict, loc: Loc | None) -> tuple:
    """Split a NumPy call's arguments into array inputs and static params by the table."""
    try:
        return PRIMS[prim_name].bind(tuple(args), dict(kwargs))
    except ValueError as error:
        raise TraceError(str(error), loc) from None


def _unknown(func: object, method: str) -> str:
    name = getattr(func, "__name__", repr(func))
    if method != "__call__":
        return f"np.{name}.{method} is not supported"
    return f"np.{name} has no derivative rule in srcad"
