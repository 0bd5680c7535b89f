"""Lowering control flow: ``if`` / conditional expressions, ``for`` and ``while``.

A condition known at compile time (an int, a shape) selects its branch right away. A
condition computed from data becomes a ``cond`` equation: each branch is a sub-graph whose
outputs are the variables the branches assign. A ``for`` loop over ``range`` or over an
array's first axis, and a ``while`` loop, become ``for`` / ``while`` equations whose body is a
sub-graph from the loop-carried variables to their next values; the loop stays a loop in the
generated code. Loops over Python lists and tuples (whose items may differ in shape), and
loops whose body changes the shape of a carried value or grows a Python list, are unrolled.

Sub-graphs may use any value defined before them (lexical scope, as in Python). Early
``return`` inside an ``if`` is rewritten by moving the statements after the ``if`` into
the branch that does not return.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np

from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.ir import AVal, Const, Eqn, Graph, Var
from srcad.ir.builder import StaticValueNeeded, TraceError, Tracer
from srcad.lower.aliasing import AliasChecks
from srcad.lower.jumps import rewrite_returns

MAX_UNROLL = 10_000
INT = AVal((), "int64", is_weak=True)


class ReturnReached(Exception):
    """A ``return`` statement lowered: carries the returned value out of the blocks."""

    def __init__(self, value: object):
        self.value = value


class _Unroll(Exception):
    """The loop cannot be kept as a loop; lower it iteration by iteration."""


@dataclass(frozen=True)
class _Iteration:
    """How a ``for`` loop iterates: over ``range(start, stop, step)``, binding the target
    to the counter itself or to rows of ``arrays`` (``enumerate`` adds the counter)."""

    start: int
    stop: int
    step: int
    arrays: tuple
    is_enumerate: bool

    @property
    def trip_count(self) -> int:
        return len(range(self.start, self.stop, self.step))


class ControlFlowLowering(AliasChecks):
    """Mixin of the function lowerer: statements that contain other statements. It uses
    the state declared by ``AliasChecks`` and what follows, which the lowerer defines."""

    loop_depth: int

    if TYPE_CHECKING:

        @property
        def visible_names(self) -> set[str]: ...

        def lower_statement(self, node: ast.stmt) -> None: ...

        def evaluate(self, node: ast.expr) -> object: ...

        def assign(self, target: ast.expr, value: object, since: int) -> None: ...

        def _text(self, node: ast.stmt) -> str: ...

        def _error(self, error: TraceError, node: ast.stmt) -> SrcadError: ...

    # --- blocks and early returns -------------------------------------------------------
    def lower_block(self, statements: list[ast.stmt]) -> None:
        """Lower a statement list; an ``if`` that returns takes the rest of the list along."""
        for position, statement in enumerate(statements):
            if isinstance(statement, (ast.For, ast.While)) and _contains_return(statement):
                self.loop_depth += 1
                rewritten = rewrite_returns(statement, self.loop_depth, self.visible_names)
                with self.rewritten(statement, rewritten):
                    self.lower_block(rewritten + statements[position + 1 :])
                self.loop_depth -= 1
                return
            if isinstance(statement, ast.If) and _contains_return(statement):
                self._lower_returning_if(statement, statements[position + 1 :])
                return
            self.lower_statement(statement)

    def _lower_returning_if(self, node: ast.If, rest: list[ast.stmt]) -> None:
        from srcad.ir import Loc

        loc = Loc(self.parsed.file, node.lineno, self._text(node), self.parsed.name)
        with self.builder.at(loc, "primal"):
            self._lower_returning_if_at(node, rest)

    def _lower_returning_if_at(self, node: ast.If, rest: list[ast.stmt]) -> None:
        test = self.evaluate_at(node, node.test)
        if not isinstance(test, Tracer):
            self.lower_block((node.body if test else node.orelse) + rest)
            return
        values = []
        blocks = []
        for body in (node.body, node.orelse):
            statements = body if _always_returns(body) else body + rest
            with self.builder.block() as eqns:
                value = self._lower_returning_branch(statements, node)
            values.append(value)
            blocks.append(eqns)
        raise ReturnReached(self._join_returns(node, test, values, blocks))

    def _lower_returning_branch(self, statements: list[ast.stmt], node: ast.If) -> object:
        saved = dict(self.env)
        try:
            self.lower_block(statements)
        except ReturnReached as done:
            return done.value
        finally:
            self.env = saved
        raise self.located(
            UnsupportedSyntax,
            "one branch of this 'if' returns and the other does not reach a return; "
            "return from both, or assign the result and return once at the end",
            node,
        )

    def _join_returns(self, node, test, values, blocks) -> object:
        from srcad.pytree import flatten, unflatten

        leaves_true, tree_true = flatten(values[0])
        leaves_false, tree_false = flatten(values[1])
        if tree_true != tree_false:
            raise self.located(
                SrcadError,
                "the branches of this 'if' return values of different structure",
                node,
            )
        names = [f"out{k}" if len(leaves_true) > 1 else "out" for k in range(len(leaves_true))]
        joined = self._emit_cond(node, test, names, [leaves_true, leaves_false], blocks)
        return unflatten(tree_true, joined)

    def evaluate_at(self, statement: ast.stmt, expression: ast.expr) -> object:
        """Evaluate ``expression`` with ``statement``'s location (for errors and comments)."""
        from srcad.ir import Loc

        loc = Loc(self.parsed.file, statement.lineno, self._text(statement), self.parsed.name)
        with self.builder.at(loc, "primal"):
            try:
                return self.evaluate(expression)
            except TraceError as error:
                raise self._error(error, statement) from None

    # --- if -----------------------------------------------------------------------------
    def lower_if(self, node: ast.If) -> None:
        test = self.evaluate(node.test)
        if not isinstance(test, Tracer):
            self.lower_block(node.body if test else node.orelse)
            return
        before = dict(self.env)
        snapshot = _snapshot_containers(before)
        envs, blocks, contents = [], [], []
        for body in (node.body, node.orelse):
            self.env = dict(before)
            with self.builder.block() as eqns:
                self.lower_block(body)
            envs.append(self.env)
            blocks.append(eqns)
            contents.append([container.copy() for container, _ in snapshot])
            _restore_containers(snapshot)
        self.env = before
        names = _changed_names(before, envs)
        values = [[e.get(n) for n in names] for e in envs]
        slots = self._container_slots(node, before, snapshot, contents, names, values)
        joined = self._emit_cond(node, test, names, values, blocks)
        for name, value in zip(names, joined, strict=False):
            self.env[name] = value
        for (container, key), value in zip(slots, joined[len(joined) - len(slots) :], strict=True):
            container[key] = value

    def _container_slots(self, node, before, snapshot, contents, names, values) -> list:
        """Items of Python lists/dicts that the branches set differently: they become
        outputs of the ``cond`` too (appended to ``names`` and ``values``)."""
        slots = []
        labels = {id(v): n for n, v in before.items()}
        for index, (container, saved) in enumerate(snapshot):
            versions = [branch[index] for branch in contents]
            if not any(_differs(v, saved) for v in versions):
                continue
            keys = [list(v) if isinstance(v, dict) else list(range(len(v))) for v in versions]
            if keys[0] != keys[1]:
                raise self.located(
                    UnsupportedSyntax,
                    f"'{labels.get(id(container), 'a list')}' gets different items in the two "
                    "branches of a condition computed from data; give it the same items in "
                    "both (assign into it, or append in both branches)",
                    node,
                )
            for key in keys[0]:
                if versions[0][key] is not versions[1][key]:
                    slots.append((container, key))
                    names.append(f"{labels.get(id(container), 'item')}_{key}")
                    for branch, version in zip(values, versions, strict=True):
                        branch.append(version[key])
            if isinstance(container, list):
                container[:] = versions[0]
            else:
                container.update(versions[0])
        return slots

    def _eval_IfExp(self, node: ast.IfExp) -> object:
        test = self.evaluate(node.test)
        if not isinstance(test, Tracer):
            return self.evaluate(node.body if test else node.orelse)
        values, blocks = [], []
        for branch in (node.body, node.orelse):
            with self.builder.block() as eqns:
                values.append([self.evaluate(branch)])
            blocks.append(eqns)
        return self._emit_cond(node, test, ["t"], values, blocks)[0]

    def _emit_cond(
        self, node, test: Tracer, names: list[str], values: list[list], blocks: list[list[Eqn]]
    ) -> list[Tracer]:
        """A ``cond`` equation choosing between the branch values; returns the joined values."""
        if test.shape != ():
            raise self.located(
                SrcadError,
                f"the condition has shape {test.shape}; an 'if' needs a single truth value "
                "(use np.where for elementwise choices, or np.all / np.any)",
                node,
            )
        values = _fill_unset(values)
        atoms = [
            [self._branch_atom(v, name, node) for v, name in zip(vs, names, strict=True)]
            for vs in values
        ]
        outputs = []
        for k, name in enumerate(names):
            aval = _joined_aval([branch[k].aval for branch in atoms], name, self.parsed, node)
            outputs.append(self.builder.new_var(name, aval))
        branches = tuple(
            Graph(f"{self.parsed.name}_branch", (), tuple(eqns), tuple(branch_atoms))
            for eqns, branch_atoms in zip(blocks, atoms, strict=True)
        )
        eqn = Eqn(
            "cond",
            (test.atom,),
            tuple(outputs),
            (("branches", branches),),
            self.builder.loc,
            "primal",
        )
        self.builder.emit(eqn)
        self.join_alternatives(outputs, values)
        return [self.builder.tracer(v) for v in outputs]

    def _branch_atom(self, value: object, name: str, node) -> Var | Const:
        if isinstance(value, Tracer):
            return value.atom
        if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
            return Const(value)
        raise self.located(
            SrcadError,
            f"'{name}' is a {type(value).__name__} that differs between the branches of a "
            "condition computed from data; only arrays and numbers can",
            node,
        )

    # --- for ----------------------------------------------------------------------------
    def lower_for(self, node: ast.For) -> None:
        if node.orelse:
            raise self.located(UnsupportedSyntax, "'for ... else' is not supported", node)
        iterable = self.evaluate(node.iter)
        iteration = _structured_iteration(iterable)
        if iteration is None:
            self._unroll(node, _static_items(iterable, self.parsed, node))
            return
        if iteration.trip_count == 0:
            return
        try:
            self._structured_loop(node, iteration)
        except _Unroll:
            if iteration.trip_count > MAX_UNROLL:
                raise self.located(
                    SrcadError,
                    f"this loop changes the shape of a value it carries or grows a Python list, "
                    f"and runs {iteration.trip_count} times (too many to unroll); keep shapes "
                    "fixed across iterations (preallocate with np.zeros, assign y[i] = ...)",
                    node,
                ) from None
            self._unroll(node, _iteration_items(iteration, self.builder))

    def _unroll(self, node: ast.For, items: list) -> None:
        for item in items:
            self.assign(node.target, item, len(self.builder.eqns))
            self.lower_block(node.body)

    def _structured_loop(self, node: ast.For, iteration: _Iteration) -> None:
        before = dict(self.env)
        carried = [n for n in _assigned_names(node.body) if n in before]
        avals = [self._carried_atom(before[n], n, node).aval for n in carried]
        for _attempt in range(3):
            counter = self.builder.new_var(_counter_name(node.target), INT)
            in_vars = [self.builder.new_var(n, a) for n, a in zip(carried, avals, strict=True)]
            body, outs, ends = self._lower_loop_body(
                node, before, carried, in_vars, counter, iteration
            )
            out_avals = [a.aval for a in outs]
            widened = _widen(avals, out_avals)
            if widened == avals:
                break
            avals = widened
        else:
            raise _Unroll
        graph = Graph(f"{self.parsed.name}_loop", (counter, *in_vars), tuple(body), tuple(outs))
        params: tuple[tuple[str, object], ...] = (
            ("body", graph),
            ("start", iteration.start),
            ("step", iteration.step),
            ("stop", iteration.stop),
        )
        stop_dim = _stop_dim(node, iteration, before)
        if stop_dim is not None:
            params += (("stop_dim", stop_dim),)
        self._emit_loop("for", node, before, carried, avals, params, ends)

    def _lower_loop_body(self, node, before, carried, in_vars, counter=None, iteration=None):
        """The body as a sub-graph from the carried values (and the counter of a ``for``)
        to their next values, and those values; raises ``_Unroll`` when it cannot stay a
        loop. The body is lowered again while the carried values turn out to share arrays
        in later iterations that they did not in the first (see ``srcad.lower.aliasing``)."""
        extra: list[list[object]] = [[] for _ in carried]
        while True:
            self.carry_alternatives(before, carried, in_vars, extra)
            lowered = self._lower_body_once(node, before, carried, in_vars, counter, iteration)
            grown = self.next_alternatives(before, in_vars, lowered[2], extra)
            if all(len(g) == len(e) for g, e in zip(grown, extra, strict=True)):
                return lowered  # nothing new: the checks in this lowering saw every alias
            extra = grown

    def _lower_body_once(self, node, before, carried, in_vars, counter, iteration):
        snapshot = _snapshot_containers(before)
        self.env = dict(before)
        for name, var in zip(carried, in_vars, strict=True):
            self.env[name] = self.builder.tracer(var)
        try:
            with self.builder.block() as body:
                if counter is not None:
                    item = _loop_item(self.builder.tracer(counter), iteration)
                    self.assign(node.target, item, len(self.builder.eqns))
                self.lower_block(node.body)
                outs = [self._carried_atom(self.env[n], n, node) for n in carried]
        except StaticValueNeeded:
            _restore_containers(snapshot)
            raise _Unroll from None
        finally:
            after = self.env
            self.env = before
        if _restore_containers(snapshot) or _static_changed(before, after, carried):
            raise _Unroll
        return body, outs, [after[n] for n in carried]

    def _carried_atom(self, value: object, name: str, node) -> Var | Const:
        if isinstance(value, Tracer):
            return value.atom
        if value is None:
            return Const(0.0)  # a placeholder (a result set later in the loop)
        if isinstance(value, (bool, float, np.ndarray, np.floating)):
            return Const(value)
        if isinstance(value, int) and isinstance(node, ast.While):
            return Const(value)  # a counter: a while loop carries it as a value
        raise _Unroll

    def _emit_loop(self, prim: str, node, before, carried, avals, params, ends) -> None:
        """The loop equation; ``ends``: the carried values at the end of the body (a result
        is the last one, or, for a ``while`` that may not run, the value before the loop)."""
        inits = [self._carried_atom(before[n], n, node) for n in carried]
        outputs = tuple(self.builder.new_var(n, a) for n, a in zip(carried, avals, strict=True))
        self.builder.emit(Eqn(prim, tuple(inits), outputs, params, self.builder.loc, "primal"))
        self.env = dict(before)
        for name, var, end in zip(carried, outputs, ends, strict=True):
            self.env[name] = self.builder.tracer(var)
            runs = (end,) if prim == "for" else (before[name], end)
            self.alternatives[var.id] = runs  # which arrays it may be (aliasing)

    # --- while --------------------------------------------------------------------------
    def lower_while(self, node: ast.While) -> None:
        if node.orelse:
            raise self.located(UnsupportedSyntax, "'while ... else' is not supported", node)
        if self._unroll_static_while(node):
            return
        before = dict(self.env)
        carried = [n for n in _assigned_names(node.body) if n in before]
        try:
            avals = [self._carried_atom(before[n], n, node).aval for n in carried]
        except _Unroll:
            raise self._while_error(node) from None
        for _attempt in range(3):
            cond_graph = self._while_condition(node, before, carried, avals)
            in_vars = [self.builder.new_var(n, a) for n, a in zip(carried, avals, strict=True)]
            try:
                body, outs, ends = self._lower_loop_body(node, before, carried, in_vars)
            except _Unroll:
                raise self._while_error(node) from None
            widened = _widen(avals, [a.aval for a in outs])
            if widened == avals:
                break
            avals = widened
        else:
            raise self._while_error(node)
        graph = Graph(f"{self.parsed.name}_loop", tuple(in_vars), tuple(body), tuple(outs))
        params = (("body", graph), ("cond", cond_graph))
        self._emit_loop("while", node, before, carried, avals, params, ends)

    def _unroll_static_while(self, node: ast.While) -> bool:
        """Run a loop whose condition stays known at compile time (``while tape:``) now.
        Returns False, changing nothing, when the condition comes to depend on data."""
        before = dict(self.env)
        snapshot = _snapshot_containers(before)
        with self.builder.block() as unrolled:
            for _ in range(MAX_UNROLL + 1):
                with self.builder.block():
                    test = self.evaluate_at(node, node.test)
                if isinstance(test, Tracer):
                    self.env = before
                    _restore_containers(snapshot)
                    return False
                if not test:
                    break
                self.lower_block(node.body)
            else:
                raise self.located(
                    SrcadError,
                    f"this 'while' loop ran more than {MAX_UNROLL} times while " "compiling",
                    node,
                )
        for eqn in unrolled:
            self.builder.emit(eqn)
        return True

    def _while_condition(self, node, before, carried, avals) -> Graph:
        in_vars = [self.builder.new_var(n, a) for n, a in zip(carried, avals, strict=True)]
        self.env = dict(before)
        for name, var in zip(carried, in_vars, strict=True):
            self.env[name] = self.builder.tracer(var)
        with self.builder.block() as eqns:
            test = self.evaluate(node.test)
        self.env = before
        if not isinstance(test, Tracer) or test.shape != ():
            raise self.located(
                SrcadError,
                "a 'while' condition must be a single truth value that changes as the loop "
                "runs (a value computed from the loop's variables)",
                node,
            )
        return Graph(f"{self.parsed.name}_cond", tuple(in_vars), tuple(eqns), (test.atom,))

    def _while_error(self, node) -> SrcadError:
        return self.located(
            SrcadError,
            "this 'while' loop changes the shape of a value it carries, counts with a Python "
            "int or grows a Python list; keep shapes fixed and count with a float or an array",
            node,
        )


# --- helpers ------------------------------------------------------------------------------
def _contains_return(node: ast.AST) -> bool:
    """Whether ``node`` returns from the function being lowered (a ``return`` inside a nested
    ``def`` returns from that one)."""
    if isinstance(node, ast.Return):
        return True
    return any(
        _contains_return(child)
        for child in ast.iter_child_nodes(node)
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
    )


def _always_returns(statements: list[ast.stmt]) -> bool:
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, ast.Return):
        return True
    if isinstance(last, ast.If):
        return _always_returns(last.body) and _always_returns(last.orelse)
    return False


def _fill_unset(values: list[list]) -> list[list]:
    """A value that is None in one branch (a placeholder, as generated code writes before
    an ``if``) and computed in the other becomes zeros in the first."""
    filled = [list(branch) for branch in values]
    for k in range(len(values[0])):
        computed = [b[k] for b in values if isinstance(b[k], Tracer)]
        for branch in filled:
            if branch[k] is None and computed:
                aval = computed[0].aval
                zero = 0.0 if aval.shape == () else np.zeros(aval.shape, aval.dtype)
                branch[k] = zero
    return filled


def _changed_names(before: dict, envs: list[dict]) -> list[str]:
    """Names whose value some branch changed: bound in every branch, or computed in one
    (then the other branch gives zeros, as for a value only that branch's code reads)."""
    names = set().union(*envs)
    changed = []
    for name in sorted(names):
        values = [env.get(name) for env in envs]
        if all(name in env for env in envs):
            if any(name not in before or env[name] is not before[name] for env in envs):
                changed.append(name)
        elif name not in before and any(isinstance(v, Tracer) for v in values):
            changed.append(name)
    return changed


def _joined_aval(avals: list[AVal], name: str, parsed, node) -> AVal:
    shapes = {a.shape for a in avals if not (a.is_weak and a.shape == ())}
    if len(shapes) > 1:
        raise SrcadError(
            f"'{name}' has shape {avals[0].shape} in one branch and {avals[1].shape} in the "
            "other; give it the same shape in both",
            parsed.file,
            node.lineno,
        )
    shape = shapes.pop() if shapes else ()
    dtype = np.result_type(*[np.dtype(a.dtype) for a in avals]).name
    return AVal(shape, dtype, all(a.is_weak for a in avals))


def _widen(avals: list[AVal], out_avals: list[AVal]) -> list[AVal]:
    """Loop-carried avals that fit both the values going in and coming out."""
    widened = []
    for before, after in zip(avals, out_avals, strict=True):
        if before == after:
            widened.append(before)
            continue
        if before.shape != after.shape and not (before.is_weak and before.shape == ()):
            raise _Unroll
        dtype = np.result_type(np.dtype(before.dtype), np.dtype(after.dtype)).name
        widened.append(AVal(after.shape, dtype, before.is_weak and after.is_weak))
    return widened


def _assigned_names(statements: list[ast.stmt]) -> list[str]:
    """Names a block assigns (including subscript and augmented targets), in order."""
    names: list[str] = []
    for statement in statements:
        for node in ast.walk(statement):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)):
                targets = [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and name.id not in names:
                        names.append(name.id)
    return names


def _counter_name(target: ast.expr) -> str:
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Tuple) and target.elts and isinstance(target.elts[0], ast.Name):
        return target.elts[0].id
    return "i"


def _stop_dim(node: ast.For, iteration: _Iteration, env: dict) -> tuple[int, int] | None:
    """``(var id, axis)`` when the user wrote the loop's bound as the length of an array's
    axis (``range(xs.shape[0])``, ``range(len(xs))``, ``for x in xs``), so that the generated
    code can spell it so; ``env`` holds the values of the names before the loop."""
    array, axis = iteration.arrays[0] if len(iteration.arrays) == 1 else None, 0
    written = _range_bound(node.iter)
    if written is not None:
        array, axis = env.get(written[0]), written[1]
    if not isinstance(array, Tracer) or not isinstance(array.atom, Var):
        return None
    if not -array.ndim <= axis < array.ndim or array.shape[axis] != iteration.stop:
        return None  # not what it seemed (a shadowed 'len', say): keep the number
    return array.atom.id, axis % array.ndim


def _range_bound(iterable: ast.expr) -> tuple[str, int] | None:
    """``("xs", k)`` for ``range(xs.shape[k])`` and ``range(start, len(xs), step)`` (k = 0)."""
    if not _is_call_of(iterable, "range") or not 1 <= len(iterable.args) <= 3:
        return None
    bound = iterable.args[0 if len(iterable.args) == 1 else 1]
    if _is_call_of(bound, "len") and len(bound.args) == 1 and isinstance(bound.args[0], ast.Name):
        return bound.args[0].id, 0
    if (
        isinstance(bound, ast.Subscript)
        and isinstance(bound.value, ast.Attribute)
        and bound.value.attr == "shape"
        and isinstance(bound.value.value, ast.Name)
        and isinstance(bound.slice, ast.Constant)
        and type(bound.slice.value) is int
    ):
        return bound.value.value.id, bound.slice.value
    return None


def _is_call_of(node: ast.expr, name: str) -> TypeGuard[ast.Call]:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == name
        and not node.keywords
    )


def _structured_iteration(iterable: object) -> _Iteration | None:
    """How to iterate without unrolling, or None for Python containers."""
    if isinstance(iterable, range):
        return _Iteration(iterable.start, iterable.stop, iterable.step, (), False)
    if isinstance(iterable, (Tracer, _Zipped)):
        return _rows_iteration(iterable, is_enumerate=False)
    if isinstance(iterable, _Enumerated) and isinstance(iterable.inner, (Tracer, _Zipped)):
        return _rows_iteration(iterable.inner, is_enumerate=True)
    return None


def _rows_iteration(iterable: Tracer | _Zipped, is_enumerate: bool) -> _Iteration:
    """Iterating over the rows of an array, or of arrays zipped together."""
    if isinstance(iterable, Tracer):
        return _Iteration(0, _rows(iterable), 1, (iterable,), is_enumerate)
    return _Iteration(0, iterable.length, 1, iterable.arrays, is_enumerate)


def _rows(array: Tracer) -> int:
    if not array.shape:
        raise TypeError("iteration over a 0-d array")
    return array.shape[0]


class _Zipped:
    """``zip`` over arrays, kept symbolic so the loop can stay a loop."""

    def __init__(self, arrays: tuple):
        self.arrays = arrays
        self.length = min(_rows(a) for a in arrays)


class _Enumerated:
    def __init__(self, inner: object):
        self.inner = inner


def _loop_item(counter: Tracer, iteration: _Iteration) -> object:
    if not iteration.arrays:
        return counter
    rows = tuple(array[counter] for array in iteration.arrays)
    item = rows[0] if len(rows) == 1 else rows
    return (counter, item) if iteration.is_enumerate else item


def _iteration_items(iteration: _Iteration, builder) -> list:
    items = []
    for i in range(iteration.start, iteration.stop, iteration.step):
        rows = tuple(array[i] for array in iteration.arrays)
        item = i if not rows else rows[0] if len(rows) == 1 else rows
        items.append((i, item) if iteration.is_enumerate else item)
    return items


def _static_items(iterable: object, parsed, node) -> list:
    if isinstance(iterable, _Enumerated):
        return list(enumerate(_static_items(iterable.inner, parsed, node)))
    if isinstance(iterable, _Zipped):
        return list(zip(*[_static_items(a, parsed, node) for a in iterable.arrays], strict=False))
    items: Any = iterable  # any value: Python's TypeError if it is not iterable
    try:
        return list(items)
    except TypeError:
        raise SrcadError(
            f"cannot iterate over a {type(iterable).__name__}",
            parsed.file,
            node.lineno,
        ) from None


def _snapshot_containers(env: dict) -> list:
    """The Python lists and dicts the loop could change, with copies of their contents."""
    return [(v, v.copy()) for _, v in sorted(env.items()) if isinstance(v, (list, dict))]


def _differs(container: list | dict, saved: list | dict) -> bool:
    if len(container) != len(saved):
        return True
    if isinstance(container, dict):
        return any(k not in saved or container[k] is not saved[k] for k in container)
    return any(a is not b for a, b in zip(container, saved, strict=True))


def _restore_containers(snapshot: list) -> bool:
    """Undo changes a trial lowering made to containers; whether there were any."""
    changed = False
    for container, saved in snapshot:
        if _differs(container, saved):
            changed = True
            if isinstance(container, list):
                container[:] = saved
            else:
                container.clear()
                container.update(saved)
    return changed


def _static_changed(before: dict, after: dict, carried: list[str]) -> bool:
    """Whether the body changed a compile-time value (an int counter, say)."""
    for name, value in before.items():
        if name in carried or isinstance(value, Tracer):
            continue
        if after.get(name) is not value:
            return True
    return False
