"""Lowering: the checked ``ast`` of a function → an SSA ``Graph``.

The function body is interpreted abstractly. Values the graph computes are ``Tracer``s over
IR vars; everything else (ints, shapes, axis tuples, modules, containers, the user's helper
functions) is an ordinary Python value evaluated at compile time. Expressions run as NumPy
code on tracers, so every operation becomes an equation through the ``GraphBuilder``; calls to
the user's own functions are inlined, their equations located in their own source lines.

Invariant afterwards: every equation carries the ``Loc`` of the user statement it came from,
and vars bound to user names carry those names as hints.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import operator
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard, TypeVar

import numpy as np
from numpy.typing import DTypeLike

from srcad.errors import NoDerivativeRule, SrcadError, UnsupportedSyntax
from srcad.frontend import ParsedFunction, parse_function
from srcad.ir import AVal, Const, Graph, Loc, Var
from srcad.ir.builder import (
    SAME_AS_NUMPY,
    GraphBuilder,
    StaticValueNeeded,
    TraceError,
    Tracer,
    UnknownPrimitiveError,
    bind_arguments,
    plain_index,
)
from srcad.ir.index import encode_index
from srcad.ir.indexing import index_add, setitem
from srcad.ir.prims import prim_of
from srcad.ir.world import WorldPath, WorldRead
from srcad.lower.control import (
    ControlFlowLowering,
    ReturnReached,
    _contains_return,
    _Enumerated,
    _Zipped,
)
from srcad.lower.jumps import has_jumps, rewrite_jumps
from srcad.lower.liveness import live_after
from srcad.lower.world import Outside, World, outside_call, outside_callee
from srcad.pytree import TreeDef, flatten, leaf_paths, unflatten

BINARY_OPERATORS: dict[type, Callable] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
UNARY_OPERATORS: dict[type, Callable] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}
COMPARE_OPERATORS: dict[type, Callable] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
# Operators that have no derivative: allowed on compile-time values and ints only. (``%`` has
# one: x % y = x - y floor(x / y), so d/dx = 1 and d/dy = -floor(x / y).)
STATIC_ONLY = (ast.FloorDiv,)
ARRAY_ATTRIBUTES = {"T", "shape", "ndim", "size", "dtype", "reshape", "transpose", "copy"}
ARRAY_ATTRIBUTES |= {"flatten", "astype", *SAME_AS_NUMPY}
MAX_INLINE_DEPTH = 40
E = TypeVar("E", bound=SrcadError)
A = TypeVar("A", bound=ast.AST)


@dataclass(frozen=True)
class LoweredFunction:
    """The graph of a function, the argument leaf each input stands for, and the output.

    The graph's inputs are the argument leaves (``input_paths``), then the values read from
    outside the function on every call (``world_paths``); ``world_reads`` are the facts
    about the outside that the compiled code relies on (see ``srcad.ir.world``).
    """

    graph: Graph
    input_paths: tuple[tuple, ...]
    out_tree: TreeDef
    world_paths: tuple[WorldPath, ...] = ()
    world_reads: tuple[WorldRead, ...] = ()


def lower_function(fn: Callable, arg_trees: dict[str, object]) -> LoweredFunction:
    """Lower ``fn`` called with arguments shaped like ``arg_trees``.

    ``arg_trees`` maps each parameter name to a tree whose leaves are ``AVal``s (runtime
    values, which become graph inputs) or plain Python values (compile-time constants).
    """
    parsed = parse_function(fn)
    builder = GraphBuilder()
    inputs: list[Var] = []
    input_paths: list[tuple] = []
    env: dict[str, object] = {}
    for name, tree in arg_trees.items():
        leaves, treedef = flatten(tree)
        values = []
        for path, leaf in zip(leaf_paths(treedef), leaves, strict=True):
            if isinstance(leaf, AVal):
                var = builder.new_var(_path_name(name, path), leaf)
                inputs.append(var)
                input_paths.append((name, *path))
                values.append(builder.tracer(var))
            else:
                values.append(leaf)
        env[name] = unflatten(treedef, values)
    context = _Context(builder, depth=0, world=World(builder))
    try:
        result = _FunctionLowerer(parsed, env, context).run()
    except StaticValueNeeded as error:
        where = error.loc
        raise UnsupportedSyntax(
            str(error), where.file if where else parsed.file, where.line if where else None
        ) from None
    out_leaves, out_tree = flatten(result)
    outputs = [_output_atom(leaf, parsed) for leaf in out_leaves]
    first = outputs[0] if outputs else None
    if isinstance(first, Var) and not builder.hint_of(first) and first not in inputs:
        builder.set_hint(first, "out")
    world = context.world
    graph = builder.build(parsed.name, inputs + [var for var, _ in world.inputs], outputs)
    world_paths = tuple(path for _, path in world.inputs)
    return LoweredFunction(
        graph, tuple(input_paths), out_tree, world_paths, tuple(world.reads.values())
    )


def _path_name(name: str, path: tuple) -> str:
    return "_".join([name, *(str(key) for key in path)])


def _output_atom(value: object, parsed: ParsedFunction):
    if isinstance(value, Tracer):
        return value.atom
    if isinstance(value, (bool, int, float, np.ndarray, np.generic)) or value is None:
        return Const(value)
    raise SrcadError(
        f"the function returns a {type(value).__name__}; return arrays, floats "
        "or tuples/lists/dicts of them",
        parsed.file,
        parsed.node.lineno,
    )


@dataclass(frozen=True, eq=False)
class LocalFunction:
    """A ``def`` or ``lambda`` inside the lowered function; it sees the enclosing names."""

    parsed: ParsedFunction
    signature: inspect.Signature


@dataclass
class _Context:
    """State shared by a function and the helpers inlined into it."""

    builder: GraphBuilder
    depth: int
    world: World
    loop_trials: int = 0  # loops being lowered as loops (they can still unroll)
    outside: tuple = ()  # values callers read later: a helper must not write into them


def _is_traced_mask(index: object, base: Tracer) -> TypeGuard[Tracer]:
    """A boolean array of ``base``'s shape, known only when the code runs."""
    return isinstance(index, Tracer) and index.aval.dtype == "bool" and index.shape == base.shape


def _ndim(value: object) -> int:
    """``np.ndim(value)`` of any value (NumPy's stubs accept array-likes only)."""
    ndim = getattr(value, "ndim", None)
    return ndim if isinstance(ndim, int) else np.asarray(value).ndim


def _is_int(value: Tracer) -> bool:
    """Whether a traced value holds integers (a loop counter, an index): ``//`` on those
    needs no derivative."""
    return value.aval.dtype.startswith(("int", "uint"))


def _array_of(value: object, dtype: DTypeLike | None = None) -> Tracer | np.ndarray:
    """``np.array(value)`` of traced values: a copy of an array, or nested lists of values
    stacked into one."""
    array: Tracer | np.ndarray
    if isinstance(value, (list, tuple)):
        rows = [_array_of(item) for item in value]
        # NumPy's stubs do not know ``__array_function__``: a stack of tracers is a tracer
        array = np.stack(rows)  # type: ignore[arg-type]
    elif isinstance(value, Tracer):
        array = value.copy()
    else:
        array = np.array(value)
    return array if dtype is None else array.astype(dtype)


class _FunctionLowerer(ControlFlowLowering):
    """Lowers the body of one function (the user's, or a helper being inlined)."""

    def __init__(self, parsed: ParsedFunction, env: dict, context: _Context):
        self.parsed = parsed
        self.env = env
        self.context = context
        self.builder = context.builder
        self.named: set[int] = set()
        self.loop_depth = 0
        self.live = live_after(parsed.node.body)  # names read after each statement
        self.statement: ast.stmt | None = None
        self.alternatives: dict[int, tuple] = {}  # var id -> values it may be

    @functools.cached_property
    def visible_names(self) -> set[str]:
        """Names the user's code can see: generated flags (``_broke1``) must not hide them.
        Worked out only for a loop with break, continue or return (the module's globals)."""
        names = {n.id for n in ast.walk(self.parsed.node) if isinstance(n, ast.Name)}
        return names | set(self.parsed.globals)

    def run(self) -> object:
        try:
            self.lower_block(self.parsed.node.body)
        except ReturnReached as done:
            return done.value
        return None

    # --- statements ---------------------------------------------------------------------
    def lower_statement(self, node: ast.stmt) -> None:
        loc = Loc(self.parsed.file, node.lineno, self._text(node), self.parsed.name)
        since = len(self.builder.eqns)
        enclosing, self.statement = self.statement, node
        with self.builder.at(loc, "primal"):
            try:
                self._dispatch_statement(node, since)
            except StaticValueNeeded:
                raise  # a loop being kept as a loop unrolls and tries again
            except TraceError as error:
                raise self._error(error, node) from None
            finally:
                self.statement = enclosing

    def _dispatch_statement(self, node: ast.stmt, since: int) -> None:
        """Lower one statement with its ``_stmt_<Kind>`` method (``since``: where its
        equations start, so that assignments can name what the statement computed)."""
        handler = getattr(self, f"_stmt_{type(node).__name__}", None)
        if handler is None:
            raise self._no_effect(node)
        handler(node, since)

    def _stmt_Assign(self, node: ast.Assign, since: int) -> None:
        value = self.evaluate(node.value)
        for target in node.targets:
            self.assign(target, value, since)

    def _stmt_AugAssign(self, node: ast.AugAssign, since: int) -> None:
        self._augmented_assign(node, since)

    def _stmt_AnnAssign(self, node: ast.AnnAssign, since: int) -> None:
        if node.value is not None:
            self.assign(node.target, self.evaluate(node.value), since)

    def _stmt_If(self, node: ast.If, since: int) -> None:
        self.lower_if(node)

    def _stmt_FunctionDef(self, node: ast.FunctionDef, since: int) -> None:
        self.env[node.name] = self._local_function(node)

    def _stmt_For(self, node: ast.For | ast.While, since: int) -> None:
        original = node
        if isinstance(node, ast.For):
            node = self._rows_read_when_used(node)
        if has_jumps(node.body):  # break / continue become flags first
            self.loop_depth += 1
            rewritten = rewrite_jumps(node, self.loop_depth, self.visible_names)
            with self.rewritten(original, rewritten):
                for statement in rewritten:
                    self._dispatch_statement(statement, len(self.builder.eqns))
            self.loop_depth -= 1
        elif _contains_return(node):  # lower_block rewrites these; reaching here is a bug
            raise self.located(
                UnsupportedSyntax,
                "'return' inside this loop is not supported; assign the result to a "
                "variable and return it after the loop",
                node,
            )
        elif isinstance(node, ast.For):
            self.lower_for(node)
        else:
            self.lower_while(node)

    _stmt_While = _stmt_For

    def _rows_read_when_used(self, node: ast.For) -> ast.For:
        """``for e in x:`` while the body writes into ``x`` in place (``x[0] += v``,
        ``x += v``): NumPy's iterator sees the writes, so each row is read when its
        iteration starts: ``for i in range(len(x)): e = x[i]`` (also for ``enumerate``
        and ``zip``, whose other arguments are evaluated once, before the loop)."""
        written = {_written_in_place(s) for s in ast.walk(ast.Module(node.body, []))}
        changed = [
            name
            for name in _iterated_names(node.iter)
            if name in written and isinstance(self.env.get(name), (Tracer, np.ndarray))
        ]
        if not changed:
            return node
        rows = _row_reads(node, f"_row{node.lineno}_{node.col_offset}")
        if rows is None:
            raise self.located(
                UnsupportedSyntax,
                f"the loop iterates over '{changed[0]}' and writes into it, so later rows "
                f"would see the writes; loop over range(len({changed[0]})) and read "
                f"{changed[0]}[i] in the body",
                node,
            )
        index, sources, target = rows
        for k, source in enumerate(sources):
            if not isinstance(source, ast.Name):  # zip(x, x + y): x + y is computed once
                name = f"_zipped{node.lineno}_{node.col_offset}_{k}"
                self.env[name] = self.evaluate(source)
                if any(self._same_memory(self.env[name], self.env[c]) for c in changed):
                    raise self.located(  # zip(x, x.T.T): a view sees the writes too
                        UnsupportedSyntax,
                        f"'{ast.unparse(source)}' shares memory with '{changed[0]}', which "
                        f"the loop writes into; loop over range(len({changed[0]})) and "
                        "index both in the body",
                        node,
                    )
                sources[k] = ast.Name(name, ast.Load())
        names = [source.id for source in sources if isinstance(source, ast.Name)]
        reads = _expression_at(", ".join(f"{n}[{index.id}]" for n in names), node)
        read = ast.copy_location(ast.Assign(targets=[target], value=reads), node)
        lengths = ", ".join(f"len({n})" for n in names)
        bound = f"min({lengths})" if len(names) > 1 else lengths
        body: list[ast.stmt] = [read, *node.body]
        loop = ast.For(index, _expression_at(f"range({bound})", node), body, node.orelse)
        return ast.fix_missing_locations(_located_like(loop, node))

    def _stmt_Return(self, node: ast.Return, since: int) -> None:
        raise ReturnReached(self.evaluate(node.value) if node.value is not None else None)

    def _stmt_Expr(self, node: ast.Expr, since: int) -> None:
        if isinstance(node.value, ast.Constant):
            return  # a docstring or a bare constant
        if _is_add_at(node.value):
            self._add_at_statement(node.value)
        elif _is_container_method_call(node.value):
            self.evaluate(node.value)  # hs.append(h): builds a Python list at compile time
        elif isinstance(node.value, ast.Call) and self._is_outside_call(node.value):
            self.evaluate(node.value)  # print(...), rng.shuffle(...): runs on every call
        elif isinstance(node.value, ast.Call):
            raise self.located(
                UnsupportedSyntax,
                f"the result of '{ast.unparse(node.value)}' is not used; srcad follows values, "
                "so a function that changes an array in place must return it, to be assigned "
                f"(y = f(y)), or its call has no effect here",
                node,
            )
        else:
            raise self._no_effect(node)

    def _is_outside_call(self, call: ast.Call) -> bool:
        return outside_callee(self.evaluate(call.func)) is not None

    def _stmt_Pass(self, node: ast.Pass, since: int) -> None:
        return

    def _no_effect(self, node: ast.stmt) -> UnsupportedSyntax:
        return self.located(
            UnsupportedSyntax,
            f"the statement '{ast.unparse(node).splitlines()[0]}' has no effect on the "
            "result; remove it from the function you differentiate",
            node,
        )

    def _add_at_statement(self, call: ast.Call) -> None:
        """``np.add.at(y, index, values)`` (as generated code writes it): a new ``y``."""
        target = call.args[0]
        if not isinstance(target, ast.Name) or len(call.args) != 3:
            raise self.located(
                UnsupportedSyntax, "np.add.at needs a variable, an index and values", call
            )
        base = self.lookup(target.id, call)
        if isinstance(base, np.ndarray):
            base = self.builder.tracer(Const(base))
        static, arrays = encode_index(plain_index(self._index(call.args[1]), self.builder.loc))
        values = self.evaluate(call.args[2])
        self.env[target.id] = index_add(base, values, *arrays, index=static)

    def _augmented_assign(self, node: ast.AugAssign, since: int) -> None:
        if isinstance(node.target, ast.Subscript):
            current = self._eval_Subscript(node.target)
        elif isinstance(node.target, ast.Name):
            current = self.lookup(node.target.id, node)
            if isinstance(current, (Tracer, np.ndarray)) and current.ndim >= 1:
                self.check_write(node.target.id, current, node)  # y += v writes into y
        else:
            raise self.located(
                UnsupportedSyntax,
                f"augmented assignment to '{ast.unparse(node.target)}' is not supported",
                node,
            )
        value = self._binary(node.op, current, self.evaluate(node.value), node)
        self.assign(node.target, value, since)

    def assign(self, target: ast.expr, value: object, since: int) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, value, since)
        elif isinstance(target, (ast.Tuple, ast.List)) and any(
            isinstance(e, ast.Starred) for e in target.elts
        ):
            self._assign_starred(target, value, since)
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = self._unpack(value, len(target.elts), target)
            for element, item in zip(target.elts, items, strict=True):
                self.assign(element, item, since)
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            self._assign_subscript(target, target.value.id, value, since)
        else:
            raise self.located(
                UnsupportedSyntax,
                f"assignment to '{ast.unparse(target)}' is not supported; assign to names "
                "or to subscripts of names (y[i] = ...)",
                target,
            )

    def _assign_starred(self, target: ast.Tuple | ast.List, value: object, since: int) -> None:
        """``first, *rest = values``: the starred name gets a list of the middle items."""
        starred = next(e for e in target.elts if isinstance(e, ast.Starred))
        star = target.elts.index(starred)
        after = len(target.elts) - star - 1
        items = list(value) if isinstance(value, (tuple, list, Tracer)) else None
        if items is None or len(items) < len(target.elts) - 1:
            raise self.located(
                SrcadError,
                f"cannot unpack {type(value).__name__} into '{ast.unparse(target)}'",
                target,
            )
        for element, item in zip(target.elts[:star], items[:star], strict=True):
            self.assign(element, item, since)
        self.assign(starred.value, items[star : len(items) - after], since)
        for element, item in zip(target.elts[star + 1 :], items[len(items) - after :], strict=True):
            self.assign(element, item, since)

    def _assign_subscript(
        self, target: ast.Subscript, name: str, value: object, since: int
    ) -> None:
        """``y[i] = v`` (``name`` is ``y``): a new value of ``y`` for arrays; in place for
        Python containers."""
        base = self.lookup(name, target)
        index = self._index(target.slice)
        if isinstance(base, (list, dict, Outside)) and id(base) in self.context.world.containers:
            raise self.located(
                UnsupportedSyntax,
                f"'{ast.unparse(target)} = ...' writes into a container from outside the "
                "function; srcad reads outside values but does not change them: build a new "
                "container, or return the value and store it in the caller",
                target,
            )
        if isinstance(base, Outside):
            raise self.located(
                UnsupportedSyntax,
                f"'{ast.unparse(target)} = ...' writes into an object from outside the "
                "function; return the value and store it in the caller",
                target,
            )
        if isinstance(base, (list, dict)) and not _contains_tracer(index):
            container: Any = base  # Python's TypeError for an index a list does not take
            container[index] = value
            return
        self.check_write(name, base, target)
        if isinstance(base, np.ndarray):
            base = self.builder.tracer(Const(base))
        if not isinstance(base, Tracer):
            raise self.located(
                UnsupportedSyntax,
                f"cannot assign into a {type(base).__name__}",
                target,
            )
        if _is_traced_mask(index, base) and _ndim(value) == 0:
            # y[mask] = v, for a mask known at run time (NumPy's stubs do not know
            # ``__array_function__``, through which tracers give np.where its meaning)
            updated = np.where(index, value, base)  # type: ignore[call-overload]
        else:
            static, arrays = encode_index(plain_index(index, self.builder.loc))
            updated = setitem(base, value, *arrays, index=static)
        self.builder.set_hint(updated.atom, name)
        self.env[name] = updated

    def _bind(self, name: str, value: object, since: int) -> None:
        if isinstance(value, Tracer) and isinstance(value.atom, Var):
            var = value.atom
            is_unnamed_input = "_" in var.hint and var.id not in self.named
            if var.id not in self.named and (self.builder.is_fresh(var, since) or is_unnamed_input):
                self.builder.set_hint(var, name)
                self.named.add(var.id)
        self.env[name] = value

    def _unpack(self, value: object, count: int, target: ast.expr) -> list:
        if isinstance(value, (tuple, list)) and len(value) == count:
            return list(value)
        what = f"a {type(value).__name__}"
        if isinstance(value, (tuple, list)):
            what += f" of length {len(value)}"
        if isinstance(value, Tracer):
            what = f"an array of shape {value.shape}"
        raise self.located(
            SrcadError,
            f"cannot unpack {what} into {count} names; "
            "unpack tuples or lists of matching length",
            target,
        )

    # --- expressions --------------------------------------------------------------------
    def evaluate(self, node: ast.expr) -> object:
        method = getattr(self, f"_eval_{type(node).__name__}", None)
        if method is None:
            raise self.located(
                UnsupportedSyntax,
                f"the expression '{ast.unparse(node)}' is not supported",
                node,
            )
        return method(node)

    def _eval_Constant(self, node: ast.Constant) -> object:
        return node.value

    def _eval_Name(self, node: ast.Name) -> object:
        return self.lookup(node.id, node)

    def lookup(self, name: str, node: ast.stmt | ast.expr) -> object:
        if name in self.env:
            return self.env[name]
        value, path = self.parsed.locate(name, node.lineno)
        if path is not None:  # a global or closure cell: staged (read every call, or fixed)
            return self.context.world.stage(value, path)
        if isinstance(value, np.ndarray):
            return self.builder.tracer(Const(value, name))
        return value

    def _eval_Tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self.evaluate(element) for element in node.elts)

    def _eval_List(self, node: ast.List) -> list:
        return [self.evaluate(element) for element in node.elts]

    def _eval_Dict(self, node: ast.Dict) -> dict:
        keys = [key for key in node.keys if key is not None]
        if len(keys) != len(node.keys):
            raise self.located(UnsupportedSyntax, "'**' in dict displays is not supported", node)
        return {self.evaluate(k): self.evaluate(v) for k, v in zip(keys, node.values, strict=True)}

    def _eval_BinOp(self, node: ast.BinOp) -> object:
        return self._binary(node.op, self.evaluate(node.left), self.evaluate(node.right), node)

    def _binary(
        self, op: ast.operator, left: object, right: object, node: ast.stmt | ast.expr
    ) -> object:
        self._require_static(op, (left, right), node)
        if isinstance(left, Tracer) or isinstance(right, Tracer):
            return BINARY_OPERATORS[type(op)](left, right)
        return self._run_static(lambda: BINARY_OPERATORS[type(op)](left, right), node)

    def _eval_UnaryOp(self, node: ast.UnaryOp) -> object:
        operand = self.evaluate(node.operand)
        if isinstance(node.op, ast.Not) and isinstance(operand, Tracer):
            return self._logical("logical_not", [operand], node)
        self._require_static(node.op, (operand,), node)
        return UNARY_OPERATORS[type(node.op)](operand)

    def _eval_BoolOp(self, node: ast.BoolOp) -> object:
        """``and`` / ``or``: Python's meaning on compile-time values, logical ops on data."""
        values = [self.evaluate(value) for value in node.values]
        if not any(isinstance(v, Tracer) for v in values):
            result = values[0]
            for value in values[1:]:
                result = (result and value) if isinstance(node.op, ast.And) else (result or value)
            return result
        prim = "logical_and" if isinstance(node.op, ast.And) else "logical_or"
        result = values[0]
        for value in values[1:]:
            result = self._logical(prim, [result, value], node)
        return result

    def _logical(self, prim: str, operands: list, node: ast.stmt | ast.expr) -> object:
        if any(isinstance(v, Tracer) and v.shape != () for v in operands):
            raise self.located(
                UnsupportedSyntax,
                f"'{ast.unparse(node)}' combines arrays; 'and', 'or' and 'not' need single "
                "truth values (use np.logical_and / np.all for arrays)",
                node,
            )
        return self.builder.apply(prim, tuple(operands))

    def _eval_Compare(self, node: ast.Compare) -> object:
        """``a < b`` and chains ``a < b < c`` (each operand evaluated once)."""
        operands = [self.evaluate(node.left)] + [self.evaluate(c) for c in node.comparators]
        results = []
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            self._require_static(op, (left, right), node)
            results.append(COMPARE_OPERATORS[type(op)](left, right))
        if not any(isinstance(r, Tracer) for r in results):
            return self._static_comparison(results, node)
        result = results[0]
        for value in results[1:]:
            result = self._logical("logical_and", [result, value], node)
        return result

    def _static_comparison(self, results: list, node: ast.Compare) -> object:
        """A comparison of compile-time values, as Python computes it: one comparison of
        arrays is an array (``np.arange(3.0) > 0.5`` is a constant mask); a chain is the
        ``and`` of its links, which needs a single truth value from each."""
        if len(results) == 1:
            return results[0] if isinstance(results[0], np.ndarray) else all(results)
        if any(isinstance(r, np.ndarray) and r.size != 1 for r in results):
            raise self.located(
                UnsupportedSyntax,
                f"'{ast.unparse(node)}' chains comparisons of arrays, which needs single truth "
                "values (Python raises here too); write np.logical_and(a < b, b < c)",
                node,
            )
        return all(results)

    def _require_static(self, op: ast.AST, operands: tuple, node: ast.stmt | ast.expr) -> None:
        if type(op) not in BINARY_OPERATORS | UNARY_OPERATORS | COMPARE_OPERATORS:
            raise self.located(
                UnsupportedSyntax,
                f"the operator in '{ast.unparse(node)}' is not supported",
                node,
            )
        traced = [v for v in operands if isinstance(v, Tracer)]
        if isinstance(op, STATIC_ONLY) and not all(_is_int(v) for v in traced):
            raise StaticValueNeeded(
                f"'{ast.unparse(node)}' has no derivative; it is allowed on ints and "
                "shapes only",
                self.builder.loc,
            )

    def _eval_Attribute(self, node: ast.Attribute) -> object:
        value = self.evaluate(node.value)
        if isinstance(value, Tracer) and node.attr not in ARRAY_ATTRIBUTES:
            raise self.located(
                NoDerivativeRule,
                f"the array attribute '.{node.attr}' is not supported; supported: "
                + ", ".join(sorted(ARRAY_ATTRIBUTES)),
                node,
            )
        try:
            if isinstance(value, Outside):  # cfg.scale, self.W: read on every call
                return self.context.world.attribute(value, node.attr)
            return getattr(value, node.attr)
        except AttributeError as error:
            raise self.located(SrcadError, str(error), node) from None

    def _eval_Subscript(self, node: ast.Subscript) -> object:
        value = self.evaluate(node.value)
        index = self._index(node.slice)
        if isinstance(value, Outside) and not _contains_tracer(index):
            try:  # state["target"] of a big dict or an object: read on every call
                return self.context.world.item(value, index)
            except (IndexError, KeyError, TypeError) as error:
                raise self.located(SrcadError, f"'{ast.unparse(node)}': {error!r}", node) from None
        if isinstance(value, np.ndarray) and _contains_tracer(index):
            value = self.builder.tracer(Const(value))
        if not isinstance(value, Tracer) and _contains_tracer(index):
            raise StaticValueNeeded(
                f"'{ast.unparse(node)}' indexes a Python {type(value).__name__} with a value "
                "computed from data; index lists with ints, or stack them into an array first",
                self.builder.loc,
            )
        container: Any = value  # any value: Python's TypeError if it has no items
        try:
            return container[index]
        except (IndexError, KeyError, TypeError) as error:
            raise self.located(SrcadError, f"'{ast.unparse(node)}': {error}", node) from None

    def _index(self, node: ast.expr) -> object:
        """A subscript's index: slices and tuples evaluated part by part."""
        if isinstance(node, ast.Slice):
            parts = (node.lower, node.upper, node.step)
            return slice(*[None if p is None else self.evaluate(p) for p in parts])
        if isinstance(node, ast.Tuple):
            return tuple(self._index(element) for element in node.elts)
        return self.evaluate(node)

    def _eval_Call(self, node: ast.Call) -> object:
        function = self.evaluate(node.func)
        args = [self.evaluate(arg) for arg in node.args]
        kwargs = {kw.arg: self.evaluate(kw.value) for kw in node.keywords}
        if None in kwargs:
            raise self.located(UnsupportedSyntax, "'**kwargs' in calls is not supported", node)
        return self.call(function, args, kwargs, node)

    def call(self, function: object, args: list, kwargs: dict, node: ast.Call) -> object:
        callee = outside_callee(function)
        if callee is not None:  # random draws, print, logging: run by the generated code
            return self._outside_call(function, callee, args, kwargs)
        if isinstance(function, Outside):
            return self._call_outside_object(function, args, kwargs, node)
        if not _is_user_function(function) and not isinstance(function, LocalFunction):
            args = self.context.world.unwrap(args)  # a library call sees the objects
            kwargs = self.context.world.unwrap(kwargs)
        is_traced = any(isinstance(v, Tracer) for v in _leaves(args, kwargs))
        if is_traced and function is math.log and len(args) == 2:
            return self._traced_builtin(function, args, kwargs, node)
        if is_traced and function is np.array and len(args) == 1:
            return _array_of(args[0], kwargs.get("dtype"))
        prim = prim_of(function)
        if prim is not None and is_traced:
            arrays, params = bind_arguments(prim.name, tuple(args), kwargs, self.builder.loc)
            return self.builder.apply(prim.name, arrays, params)
        if isinstance(function, types.MethodType) and isinstance(function.__self__, Tracer):
            return function(*args, **kwargs)
        if is_traced and function in TRACEABLE_BUILTINS:
            return self._traced_builtin(function, args, kwargs, node)
        if _is_container_method(function):
            if id(function.__self__) in self.context.world.containers:
                if function.__name__ in CONTAINER_METHODS | {"pop", "clear", "remove"}:
                    raise self.located(
                        UnsupportedSyntax,
                        f"'{ast.unparse(node)}' changes a container from outside the "
                        "function; srcad reads outside values but does not change them: "
                        "build a new list or dict in the function",
                        node,
                    )
            return function(*args, **kwargs)  # list.append and friends, at compile time
        if _is_user_function(function):
            return self._inline(function, args, kwargs, node)
        if isinstance(function, LocalFunction):
            return self._inline(function, args, kwargs, node)
        if function is enumerate and isinstance(args[0], _Zipped):
            return _Enumerated(args[0])
        if function is zip and is_traced:
            return (
                _Zipped(tuple(args))
                if all(isinstance(a, Tracer) for a in args)
                else zip(*args, strict=False)
            )
        if function is enumerate and is_traced:
            return _Enumerated(args[0])
        if not is_traced:  # compile-time value: shapes, ranges, constants
            called: Any = function  # any value: Python's TypeError if it is not callable
            return self._run_static(lambda: called(*args, **kwargs), node)
        raise self._no_rule(function, node)

    def _run_static(self, compute: Callable[[], object], node: ast.stmt | ast.expr) -> object:
        """Run Python on compile-time values; what it raises is about the user's line
        (the plain function raises there too), not a bug in srcad."""
        try:
            return compute()
        except (TraceError, SrcadError):
            raise
        except (ArithmeticError, ValueError, TypeError, IndexError, KeyError) as error:
            raise self.located(
                SrcadError,
                f"'{ast.unparse(node)}' raises {type(error).__name__}: {error} (the plain "
                "function raises here too)",
                node,
            ) from None

    def _outside_call(self, function: object, callee: object, args: list, kwargs: dict) -> object:
        """A call the generated code makes on every call (random draws, print)."""
        return outside_call(self.builder, function, callee, args, kwargs)

    def _call_outside_object(
        self, function: Outside, args: list, kwargs: dict, node: ast.Call
    ) -> object:
        """``self.forward(x)``, ``layer(x)``: a method of the user's is inlined with ``self``
        read through its path; any other outside callable is fixed and called as is."""
        method = function.value
        world = self.context.world
        if isinstance(method, types.MethodType) and _is_user_function(method.__func__):
            func_path = function.path.child("attr", "__func__", f"{function.path.text}")
            world.fix(method.__func__, func_path)
            self_value = function.owner or Outside(
                method.__self__, function.path.child("attr", "__self__", function.path.text)
            )
            return self._inline(method.__func__, [self_value, *args], kwargs, node)
        call = type(method).__call__ if not isinstance(method, types.MethodType) else None
        if call is not None and _is_user_function(call):  # a callable object: layer(x)
            world.fix(type(method), function.path.child("attr", "__class__", function.path.text))
            return self._inline(call, [function, *args], kwargs, node)
        return self.call(world.unwrap(function), args, kwargs, node)

    def _inline(
        self, function: types.FunctionType | LocalFunction, args: list, kwargs: dict, node: ast.Call
    ) -> object:
        if self.context.depth >= MAX_INLINE_DEPTH:
            raise self.located(
                UnsupportedSyntax,
                f"calls nest deeper than {MAX_INLINE_DEPTH} levels (recursion without a base "
                "case that depends only on ints?)",
                node,
            )
        try:
            signature = (
                function.signature
                if isinstance(function, LocalFunction)
                else inspect.signature(function)
            )
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise self.located(SrcadError, f"in '{ast.unparse(node)}': {error}", node) from None
        if isinstance(function, LocalFunction):
            bound.apply_defaults()
        else:
            self._stage_defaults(function, bound)
        parsed = (
            function.parsed if isinstance(function, LocalFunction) else parse_function(function)
        )
        context = _Context(
            self.builder,
            self.context.depth + 1,
            self.context.world,
            self.context.loop_trials,
            self.live_values(node),
        )
        return _FunctionLowerer(parsed, dict(bound.arguments), context).run()

    def _stage_defaults(self, function: Callable, bound: inspect.BoundArguments) -> None:
        """A helper's default arguments, read on every call like other outside values
        (``def act(x, slope=SLOPE)``: a float default is a value, not a constant)."""
        world = self.context.world
        defaults = function.__defaults__ or ()
        positional = [
            p.name
            for p in bound.signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        first = len(positional) - len(defaults)
        for k, name in enumerate(positional[first:]):
            if name not in bound.arguments:
                path = WorldPath(function, function.__name__, (("attr", "__defaults__"),), name)
                bound.arguments[name] = world.stage(
                    defaults[k], path.child("item", k, f"{function.__name__}.{name}")
                )
        for name, value in (function.__kwdefaults__ or {}).items():
            if name not in bound.arguments:
                path = WorldPath(function, function.__name__, (("attr", "__kwdefaults__"),), name)
                bound.arguments[name] = world.stage(value, path.child("item", name, name))
        bound.apply_defaults()  # *args and **kwargs: empty

    def _traced_builtin(self, function, args: list, kwargs: dict, node: ast.Call) -> object:
        """Python builtins (and ``math.log`` with a base) applied to traced values."""
        if function in (max, min) and len(args) >= 2 and not kwargs:
            prim = "maximum" if function is max else "minimum"
            result = args[0]  # max(a, b, c) as NumPy's maximum of maximum
            for arg in args[1:]:
                result = self.builder.apply(prim, (result, arg))
            return result
        if function in (float, int) and isinstance(args[0], Tracer):
            if args[0].shape != ():
                raise self.located(
                    SrcadError,
                    f"{function.__name__}() of an array of shape {args[0].shape}",
                    node,
                )
            return args[0]
        if function is math.log and len(args) == 2:
            return self.builder.apply("log", (args[0],)) / math.log(args[1])
        if function is range:
            raise StaticValueNeeded(
                f"'{ast.unparse(node)}': the bounds of a range must be ints known when "
                "compiling (not values computed inside a loop)",
                self.builder.loc,
            )
        return function(*args, **kwargs)  # len, sum, abs... work through the array protocol

    def _local_function(self, node: ast.FunctionDef | ast.Lambda) -> LocalFunction:
        """A function defined inside the one being lowered (``def`` or ``lambda``)."""
        if isinstance(node, ast.Lambda):
            body: list[ast.stmt] = [ast.copy_location(ast.Return(node.body), node.body)]
            node = ast.copy_location(
                ast.FunctionDef(name="lambda", args=node.args, body=body, decorator_list=[]),
                node,
            )
        elif node.decorator_list:
            raise self.located(
                UnsupportedSyntax,
                "decorators on nested functions are not supported; define it without one",
                node,
            )
        arguments = node.args
        defaults = [self.evaluate(d) for d in arguments.defaults]
        names = [a.arg for a in arguments.posonlyargs + arguments.args]
        parameters = [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for name in names[: len(names) - len(defaults)]
        ]
        parameters += [
            inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=value)
            for name, value in zip(names[len(names) - len(defaults) :], defaults, strict=True)
        ]
        parsed = ParsedFunction(None, node, self.parsed.file, self.parsed.globals, self.env)
        return LocalFunction(parsed, inspect.Signature(parameters))

    def _eval_Lambda(self, node: ast.Lambda) -> LocalFunction:
        return self._local_function(node)

    def _no_rule(self, function: object, node: ast.Call) -> NoDerivativeRule:
        name = ast.unparse(node.func)
        return self.located(
            NoDerivativeRule,
            f"'{name}' has no derivative rule; rewrite it with supported NumPy operations "
            f"or give it one with srcad.defvjp({name}, rule)",
            node,
        )

    # --- helpers ------------------------------------------------------------------------
    def _text(self, node: ast.stmt) -> str:
        line = self.parsed.source_line(node.lineno) or ast.unparse(node).splitlines()[0]
        return line.split("  # ")[0]  # without a trailing comment

    def located(self, kind: type[E], message: str, node: ast.stmt | ast.expr) -> E:
        """An error of ``kind`` about ``node``, at its line of the user's file."""
        return kind(message, self.parsed.file, node.lineno)

    def _error(self, error: TraceError, node: ast.stmt) -> SrcadError:
        line = error.loc.line if error.loc else node.lineno
        file = error.loc.file if error.loc else self.parsed.file
        if isinstance(error, UnknownPrimitiveError):
            return NoDerivativeRule(
                f"{error}; rewrite it with supported NumPy operations or give it a rule with "
                "srcad.defvjp",
                file,
                line,
            )
        return SrcadError(str(error), file, line)


CONTAINER_METHODS = {"append", "extend", "insert", "update", "setdefault"}
TRACEABLE_BUILTINS = {len, sum, max, min, float, int, math.log, range, isinstance, tuple, list}


def _expression_at(text: str, node: ast.AST) -> ast.expr:
    """The expression ``text``, every node of it at ``node``'s place in the user's source."""
    expression = ast.parse(text, mode="eval").body
    for child in ast.walk(expression):
        if "lineno" in child._attributes:
            ast.copy_location(child, node)
    return expression


def _located_like(tree: A, node: ast.AST) -> A:
    """``tree`` with every new node at ``node``'s line."""
    for child in ast.walk(tree):
        if "lineno" in child._attributes and not hasattr(child, "lineno"):
            ast.copy_location(child, node)
    return tree


def _row_reads(node: ast.For, row: str) -> tuple[ast.Name, list[ast.expr], ast.expr] | None:
    """For ``for T in ITER``: the index name, the sequences read by index and the target
    assigned from them; None for iterables this rewrite does not cover."""
    iterable, target = node.iter, node.target
    if _is_named_call(iterable, "enumerate") and len(iterable.args) == 1 and not iterable.keywords:
        if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
            return None
        counter, sequence = target.elts[0], iterable.args[0]
        if not isinstance(counter, ast.Name) or not isinstance(sequence, ast.Name):
            return None
        return counter, [sequence], target.elts[1]
    index = ast.Name(row, ast.Store())
    if isinstance(iterable, ast.Name):
        return index, [iterable], target
    if _is_named_call(iterable, "zip") and not iterable.keywords and iterable.args:
        if not isinstance(iterable.args[0], ast.Name):  # the first names the rows' count
            return None
        return index, list(iterable.args), target
    return None


def _is_named_call(node: ast.expr, name: str) -> TypeGuard[ast.Call]:
    """Whether ``node`` calls the name ``name``: ``zip(...)``, ``enumerate(...)``."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def _iterated_names(iterable: ast.expr) -> set[str]:
    """The arrays a ``for`` reads rows of: ``x`` in ``x``, ``enumerate(x)``, ``zip(x, y)``."""
    if isinstance(iterable, ast.Name):
        return {iterable.id}
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name):
        if iterable.func.id in ("enumerate", "zip", "reversed"):
            return set().union(*(_iterated_names(arg) for arg in iterable.args))
    return set()


def _written_in_place(statement: ast.AST) -> str | None:
    """The name a statement writes into in place: ``x[i] = v``, ``x[i] += v``, ``x += v``."""
    targets = []
    if isinstance(statement, ast.AugAssign):
        targets = [statement.target]
    elif isinstance(statement, ast.Assign):
        targets = [t for t in statement.targets if isinstance(t, ast.Subscript)]
    for target in targets:
        if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            return target.value.id
        if isinstance(target, ast.Name):
            return target.id
    return None


def _is_add_at(node: ast.expr) -> TypeGuard[ast.Call]:
    return isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.add.at", "numpy.add.at")


def _is_container_method_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CONTAINER_METHODS
    )


def _contains_tracer(index: object) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(item, Tracer) for item in items)


def _leaves(args: list, kwargs: dict) -> list:
    leaves, _ = flatten([args, kwargs])
    return leaves


class _ContainerMethod(Protocol):
    """A bound method of a Python list or dict (``hs.append``)."""

    __self__: list | dict
    __name__: str

    def __call__(self, *args: object, **kwargs: object) -> object: ...


def _is_container_method(function: object) -> TypeGuard[_ContainerMethod]:
    return isinstance(getattr(function, "__self__", None), (list, dict))


def _is_user_function(function: object) -> TypeGuard[types.FunctionType]:
    if not isinstance(function, types.FunctionType):
        return False
    module = getattr(function, "__module__", "") or ""
    return not module.startswith(("numpy", "math", "srcad."))
