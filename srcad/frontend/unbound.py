"""Frontend: reads of a local variable that may not be bound yet check it first, as Python does.

Python raises ``UnboundLocalError`` where a function reads a local variable that no path has
bound yet: ``L`` after a retry loop whose every attempt failed, ``y`` after an ``if`` that
did not run. The lowering gives such a value a stand-in (zeros) so that the code after the
loop or branch can be written; without a check, the stand-in would be read as if it were
the value. This rewrite finds the reads that may come first (a definite-assignment pass
over the function's own statements, the one Python's compiler does not expose) and guards
them with a flag that every binding sets::

    Before:                                 After:
        for attempt in range(3):                L_is_bound = False
            try:                                for attempt in range(3):
                L = np.linalg.cholesky(K)           try:
                break                                   L = np.linalg.cholesky(K)
            except np.linalg.LinAlgError:               L_is_bound = True
                K = K + 1e-6 * I                        break
        return np.log(np.diag(L)).sum()             except np.linalg.LinAlgError:
                                                        K = K + 1e-6 * I
                                                if not L_is_bound:
                                                    raise UnboundLocalError(...)
                                                return np.log(np.diag(L)).sum()

The flags are plain bools: known when compiling, the check vanishes (or the function
always raises); decided by data, the generated code tests them. Functions whose reads all
follow a binding are left as they are. Each statement written carries the line of the
statement it guards or follows.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from srcad.frontend.desugar import fresh_name, names_in
from srcad.frontend.syntax import children, nodes, own_nodes

# marks the statement that sets a loop target's flag (``i_is_bound = True`` first in the body)
TARGET_FLAG = "srcad_target_flag"
Bound = frozenset[str] | None  # the names bound on every path; None: no path gets here
NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def guard_unbound_reads(function: ast.FunctionDef) -> ast.FunctionDef:
    """``function`` with its reads of maybe-unbound locals checked (itself, changed in
    place, when there are some), and those of the functions defined in it."""
    nested = [
        node
        for node in nodes(function)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node is not function
    ]
    for inner in nested:
        _guard_one(inner)  # type: ignore[arg-type]
    return _guard_one(function)


def _guard_one(function: ast.FunctionDef) -> ast.FunctionDef:
    """``guard_unbound_reads`` of ``function``'s own scope."""
    own = _own_nodes(function)
    parameters = {a.arg for a in nodes(function.args) if isinstance(a, ast.arg)}
    local = _own_bindings(own) - parameters - _declared_outside(own)
    walrus = any(isinstance(n, ast.NamedExpr) for n in own)
    deletes = any(isinstance(n, ast.Delete) for n in own)
    analysis = _Definite(local, walrus, deletes)
    analysis.block(function.body, frozenset())
    if not analysis.unsure:
        return function
    taken = names_in(function)
    flags = {}
    for name in sorted(analysis.unsure):
        flags[name] = fresh_name(f"{name}_is_bound", taken)
        taken.add(flags[name])
    function.body = _Guarded(flags, analysis.checks, walrus).statements(function.body)
    first = 1 if ast.get_docstring(function, clean=False) is not None else 0
    starts = [_at(_assign(flag, False), function.body[first]) for flag in flags.values()]
    function.body[first:first] = starts
    return function


@dataclass
class _Definite:
    """Definite assignment over the statements: which reads of ``local`` names may come
    before any binding (``unsure``), by the statement that reads them (``checks``).
    ``walrus`` and ``deletes``: whether the function has a ``:=``, a ``del`` at all (most
    have neither: their statements are then not searched for them)."""

    local: set[str]
    walrus: bool
    deletes: bool
    unsure: set[str] = field(default_factory=set)
    checks: dict[int, set[str]] = field(default_factory=dict)  # statement id -> names
    breaks: list[list[frozenset[str]]] = field(default_factory=list)

    def block(self, statements: list[ast.stmt], bound: Bound) -> Bound:
        for statement in statements:
            if bound is None:
                return None
            bound = self.statement(statement, bound)
        return bound

    def statement(self, node: ast.stmt, bound: frozenset[str]) -> Bound:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is not None:
            return method(node, bound)
        self.reads(node, node, bound)
        binds = _binds(node, self.walrus)
        return bound | binds if not isinstance(node, ast.Delete) else bound - binds

    def reads(self, statement: ast.AST, part: ast.AST, bound: frozenset[str]) -> None:
        """Note the names of ``local`` that ``part`` of ``statement`` reads unbound."""
        missing = (_eager_reads(part) & self.local) - bound - self._walrus(part)
        if missing:
            self.unsure |= missing
            self.checks.setdefault(id(statement), set()).update(missing)

    def _walrus(self, part: ast.AST) -> frozenset[str]:
        return walrus_targets(part) if self.walrus else frozenset()

    def _deleted(self, statements: list[ast.stmt]) -> frozenset[str]:
        return _deleted(statements) if self.deletes else frozenset()

    # compound statements: their parts in the order Python runs them
    def _If(self, node: ast.If, bound: frozenset[str]) -> Bound:
        self.reads(node, node.test, bound)
        bound = bound | self._walrus(node.test)
        return _meet(self.block(node.body, bound), self.block(node.orelse, bound))

    def _For(self, node: ast.For, bound: frozenset[str]) -> Bound:
        self.reads(node, node.iter, bound)
        start = bound | self._walrus(node.iter)
        inside = (start | _target_names(node.target)) - self._deleted(node.body)
        return self._loop(node, start, inside)

    def _While(self, node: ast.While, bound: frozenset[str]) -> Bound:
        self.reads(node, node.test, bound)
        start = bound | self._walrus(node.test)
        return self._loop(node, start, start - self._deleted(node.body))

    def _loop(self, node: ast.For | ast.While, start: frozenset[str], inside) -> Bound:
        self.breaks.append([])
        self.block(node.body, inside)
        breaks = self.breaks.pop()
        endless = isinstance(node, ast.While) and _is_true(node.test)
        finished = None if endless else self.block(node.orelse, start - self._deleted(node.body))
        for state in breaks:
            finished = _meet(finished, state)
        return finished

    def _Break(self, node: ast.Break, bound: frozenset[str]) -> Bound:
        if self.breaks:
            self.breaks[-1].append(bound)
        return None

    def _Continue(self, node: ast.Continue, bound: frozenset[str]) -> Bound:
        return None

    def _Return(self, node: ast.Return, bound: frozenset[str]) -> Bound:
        self.reads(node, node, bound)
        return None

    def _Raise(self, node: ast.Raise, bound: frozenset[str]) -> Bound:
        self.reads(node, node, bound)
        return None

    def _With(self, node: ast.With, bound: frozenset[str]) -> Bound:
        for item in node.items:
            self.reads(node, item.context_expr, bound)
            if item.optional_vars is not None:
                bound = bound | _target_names(item.optional_vars)
        return self.block(node.body, bound)

    def _Try(self, node: ast.Try, bound: frozenset[str]) -> Bound:
        done = self.block(node.orelse, self.block(node.body, bound))
        for handler in node.handlers:  # it may start anywhere in the body: from ``bound``
            caught = bound | ({handler.name} if handler.name else frozenset())
            if handler.type is not None:
                self.reads(handler, handler.type, bound)
            done = _meet(done, self.block(handler.body, caught))
        if not node.finalbody:
            return done
        self.block(node.finalbody, bound)  # on the way out of an exception: from ``bound``
        return None if done is None else self.block(node.finalbody, done)

    def _FunctionDef(self, node: ast.FunctionDef, bound: frozenset[str]) -> Bound:
        for default in [*node.args.defaults, *node.args.kw_defaults, *node.decorator_list]:
            if default is not None:
                self.reads(node, default, bound)
        return bound | {node.name}

    _AsyncFunctionDef = _FunctionDef

    def _ClassDef(self, node: ast.ClassDef, bound: frozenset[str]) -> Bound:
        return bound | {node.name}


@dataclass
class _Guarded:
    """The statements with a check before each statement in ``checks`` and the flag set
    after each binding of a name in ``flags``."""

    flags: dict[str, str]
    checks: dict[int, set[str]]
    walrus: bool  # whether the function has a ``:=``

    def statements(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for node in statements:
            out.extend(self._check(node, self.checks.get(id(node), set())))
            self._inside(node)
            if self.walrus and isinstance(node, (ast.If, ast.While, ast.For)):  # if (s := f(x)):
                header = node.iter if isinstance(node, ast.For) else node.test
                out.extend(self._set(node, walrus_targets(header), True))
            out.append(node)
            if not isinstance(node, (ast.For, ast.While, ast.If, ast.Try, ast.With, *NESTED)):
                binds = _binds(node, self.walrus)
                out.extend(self._set(node, binds, not isinstance(node, ast.Delete)))
            elif isinstance(node, NESTED):
                out.extend(self._set(node, {node.name}, True))
        return out

    def _inside(self, node: ast.stmt) -> None:
        """Rewrite the blocks of a compound statement; set the flags of what its header
        binds (a loop variable, ``with ... as``, ``except ... as``) at their starts."""
        if isinstance(node, ast.For):
            flags = self._set(node, _target_names(node.target), True)
            for flag in flags:  # known True after a loop known to run (srcad.lower.loops)
                setattr(flag, TARGET_FLAG, True)
            node.body = flags + node.body
        if isinstance(node, ast.With):
            bound = set().union(
                *(_target_names(i.optional_vars) for i in node.items if i.optional_vars)
            )
            node.body = self._set(node, bound, True) + node.body
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                handler.body = self._check(handler, self.checks.get(id(handler), set())) + (
                    self._set(handler, {handler.name} if handler.name else set(), True)
                    + self.statements(handler.body)
                )
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and not isinstance(node, NESTED):
                setattr(node, name, self.statements(block))

    def _check(self, node: ast.AST, names: set[str]) -> list[ast.stmt]:
        return [_at(_raise_unless(self.flags[n], n), node) for n in sorted(names)]

    def _set(self, node: ast.AST, names: set[str] | frozenset[str], value: bool) -> list[ast.stmt]:
        return [_at(_assign(self.flags[n], value), node) for n in sorted(names) if n in self.flags]


# --- what statements bind and read ----------------------------------------------------------
def _own_nodes(node: ast.AST) -> list[ast.AST]:
    """The nodes of ``node`` outside nested functions, classes and lambdas (their bodies
    run later, in their own scope); comprehensions are entered (a walrus in one binds here)."""
    return [n for n in own_nodes(node, NESTED) if not isinstance(n, NESTED)]


def bound_in(statements: list[ast.stmt]) -> set[str]:
    """The names ``statements`` bind in their own scope (a nested function's, a lambda's or
    a comprehension's variables aside; a walrus in a comprehension binds here)."""
    return _own_bindings([n for s in statements for n in (s, *_own_nodes(s))])


def _own_bindings(own: list[ast.AST]) -> set[str]:
    """The names the nodes ``own`` of a function's scope bind."""
    names: set[str] = set()
    for node in own:
        if isinstance(node, ast.stmt):
            names |= _binds(node, walrus=False)  # the walrus targets: below
        if isinstance(node, ast.For):  # a range counted by data may run no iteration
            names |= _target_names(node.target)
        if isinstance(node, NESTED[:3]):
            names.add(node.name)
        if isinstance(node, ast.NamedExpr):
            names.add(node.target.id)
    return names


def _declared_outside(own: list[ast.AST]) -> set[str]:
    return {
        name for node in own if isinstance(node, (ast.Global, ast.Nonlocal)) for name in node.names
    }


def _binds(node: ast.stmt, walrus: bool = True) -> frozenset[str]:
    """The names a simple statement binds (or, ``del``, unbinds); those it binds with
    ``:=`` only if ``walrus``."""
    if isinstance(node, (ast.For, ast.With)):
        return frozenset()  # their blocks bind: lowered statement by statement
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return frozenset((a.asname or a.name).split(".")[0] for a in node.names)
    if isinstance(node, ast.Delete):
        return frozenset().union(*(_target_names(t) for t in node.targets))
    walrus_bound = walrus_targets(node) if walrus else frozenset()
    if isinstance(node, ast.Assign):
        return frozenset().union(*(_target_names(t) for t in node.targets)) | walrus_bound
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        has_value = not isinstance(node, ast.AnnAssign) or node.value is not None
        bound = _target_names(node.target) if has_value else frozenset()
        return bound | walrus_bound
    return walrus_bound  # (n := x.shape[0]) in an assert, an expression, ...


def _target_names(target: ast.AST) -> frozenset[str]:
    """Names an assignment target binds: ``x``, ``x, y``, ``*rest`` (not ``x[i]``, ``x.a``)."""
    if isinstance(target, ast.Name):
        return frozenset({target.id})
    if isinstance(target, (ast.Tuple, ast.List)):
        return frozenset().union(*(_target_names(e) for e in target.elts))
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return frozenset()


def walrus_targets(node: ast.AST) -> frozenset[str]:
    """The names ``node`` binds with ``:=`` in its own scope (nested functions aside)."""
    return frozenset(n.target.id for n in _own_nodes(node) if isinstance(n, ast.NamedExpr))


def _eager_reads(node: ast.AST) -> set[str]:
    """The names ``node`` reads whatever the data: not those only the second operand of an
    ``and``/``or``, a branch of ``x if c else y``, an ``assert``'s message or a
    comprehension's element or filter reads (``i > 0 and v > prev`` reads ``prev`` only
    when ``i > 0``: Python raises there only then; those reads are not checked)."""
    reads: set[str] = set()
    pending: list[ast.AST] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, NESTED):
            continue
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Load):
            reads.add(current.id)
        elif isinstance(current, ast.AugAssign) and isinstance(current.target, ast.Name):
            reads.add(current.target.id)
        if isinstance(current, ast.BoolOp):
            pending.append(current.values[0])
        elif isinstance(current, ast.IfExp):
            pending.append(current.test)
        elif isinstance(current, ast.Assert):
            pending.append(current.test)
        elif isinstance(current, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            pending.append(current.generators[0].iter)
        else:
            pending.extend(children(current))
    return reads


def _deleted(statements: list[ast.stmt]) -> frozenset[str]:
    return frozenset().union(
        *(_binds(n) for s in statements for n in [s, *_own_nodes(s)] if isinstance(n, ast.Delete))
    )


def _is_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


def _meet(a: Bound, b: Bound) -> Bound:
    """The names bound on both paths (a path that does not arrive counts for nothing)."""
    if a is None:
        return b
    if b is None:
        return a
    return a & b


# --- the statements written -----------------------------------------------------------------
def _assign(flag: str, value: bool) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(id=flag, ctx=ast.Store())], value=ast.Constant(value))


def _raise_unless(flag: str, name: str) -> ast.If:
    message = f"cannot access local variable '{name}' where it is not associated with a value"
    error = ast.Call(
        func=ast.Name(id="UnboundLocalError", ctx=ast.Load()),
        args=[ast.Constant(message)],
        keywords=[],
    )
    test = ast.UnaryOp(op=ast.Not(), operand=ast.Name(id=flag, ctx=ast.Load()))
    return ast.If(test=test, body=[ast.Raise(exc=error, cause=None)], orelse=[])


def _at(new: ast.stmt, old: ast.AST) -> ast.stmt:
    """``new`` (and every node in it) located where ``old`` is."""
    for node in ast.walk(new):
        ast.copy_location(node, old)
    return new
