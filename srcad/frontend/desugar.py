"""Frontend: desugaring, ``ast`` → ``ast`` rewrites into constructs the lowering knows.

Comprehensions, generator expressions and generator functions become the plain loops
Python runs for them, building a Python list (a dict, a set) or a sum. Lowering unrolls a
loop that builds a list and keeps a loop that only adds up floats as a loop; the names in
the rewritten code are the user's (the loop variables, the elements), so the generated code
reads like the source.

A comprehension is a function that Python defines and calls where the comprehension
stands: its loop variables stay inside it. ``comprehension_function`` and ``sum_function``
write that function; its parameters are the names of the enclosing function that the
comprehension reads (the caller passes their values), the names it finds further out
resolve as they do for the enclosing function. The lowering rewrites a comprehension when
it reaches it, so that the function sees the values its names have at that moment.

``desugar_generators`` rewrites generator functions (a ``def`` whose body has ``yield``)
into functions returning the list of the values they yield. It runs on a whole parsed
function, nested ``def``s included. Every statement it writes carries the line of the
construct it comes from.

``desugar_matches`` rewrites ``match`` statements of values (literals, constants such as
``Mode.FAST``, ``None``, ``|``, captures, ``_``, guards) into the ``if``/``elif`` chain they
mean.

Invariant afterwards: no ``yield`` and no ``match`` in the tree; each comprehension
function has only ``for``, ``if``, assignments, ``.append`` calls and one ``return``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import TypeVar

from srcad.errors import UnsupportedSyntax
from srcad.frontend.syntax import nodes

Comprehension = ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp
N = TypeVar("N", bound=ast.AST)
NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def comprehension_function(
    node: Comprehension, name: str, parameters: list[str]
) -> tuple[ast.FunctionDef, ast.Call]:
    """The function a comprehension is, and its call where the comprehension stands.

    Before: ``[np.tanh(W @ h) for W in Ws if W.ndim == 2]`` (``Ws``, ``h``: parameters)

    After::

        def f(Ws, h):
            items = []
            for W in Ws:
                if W.ndim == 2:
                    items.append(np.tanh(W @ h))
            return items

    and the call ``f(Ws, h)``. A dict comprehension assigns ``items[k] = v`` into
    ``items = {}``; a set comprehension returns ``set(items)``; a generator expression
    builds a list, which every consumer (``sum``, ``list``, ``np.stack``, a ``for``) takes
    as it takes the generator.
    """
    items = fresh_name("items", names_in(node))
    if isinstance(node, ast.DictComp):
        start: ast.expr = ast.Dict(keys=[], values=[])
        key = ast.Subscript(value=_load(items), slice=node.key, ctx=ast.Store())
        innermost: ast.stmt = ast.Assign(targets=[key], value=node.value)
        innermost = ast.copy_location(innermost, node.key)
    else:
        start = ast.List(elts=[], ctx=ast.Load())
        append = ast.Call(func=_method(items, "append"), args=[node.elt], keywords=[])
        innermost = ast.copy_location(ast.Expr(value=append), node.elt)
    result: ast.expr = _load(items)
    if isinstance(node, ast.SetComp):
        result = ast.Call(func=_load("set"), args=[result], keywords=[])
    body = [
        _at(ast.Assign(targets=[_store(items)], value=start), node),
        *_loops(node.generators, [innermost]),
        _at(ast.Return(value=result), node),
    ]
    return _function(name, parameters, body, node)


def sum_function(
    node: ast.GeneratorExp | ast.ListComp,
    name: str,
    parameters: list[str],
    total: str,
    start: int | float,
) -> tuple[ast.FunctionDef, ast.Call]:
    """The function ``sum(comprehension)`` is: an accumulation loop, with ``total`` (a name
    the comprehension does not use) starting at ``start``.

    Before: ``sum(x[i] * x[i + 1] for i in range(len(x) - 1))`` (``x``: a parameter)

    After::

        def f(x):
            total = 0.0
            for i in range(len(x) - 1):
                total = total + x[i] * x[i + 1]
            return total

    ``sum`` starts from the int 0; starting from 0.0 gives the same result when the first
    element is a float, and lets a loop over a range or an array's rows stay a loop (a
    loop that carries an int is unrolled). The caller decides which.
    """
    add = ast.BinOp(left=_load(total), op=ast.Add(), right=node.elt)
    accumulate = ast.copy_location(ast.Assign(targets=[_store(total)], value=add), node.elt)
    body = [
        _at(ast.Assign(targets=[_store(total)], value=ast.Constant(start)), node),
        *_loops(node.generators, [accumulate]),
        _at(ast.Return(value=_load(total)), node),
    ]
    return _function(name, parameters, body, node)


def _loops(generators: list[ast.comprehension], innermost: list[ast.stmt]) -> list[ast.stmt]:
    """``for target in iter: if cond: ...`` for each generator, the first outermost."""
    body = innermost
    for generator in reversed(generators):
        for condition in reversed(generator.ifs):
            body = [ast.copy_location(ast.If(test=condition, body=body, orelse=[]), condition)]
        loop = ast.For(target=generator.target, iter=generator.iter, body=body, orelse=[])
        body = [ast.copy_location(loop, generator.iter)]
    return body


def _function(
    name: str, parameters: list[str], body: list[ast.stmt], node: ast.expr
) -> tuple[ast.FunctionDef, ast.Call]:
    arguments = ast.arguments(
        posonlyargs=[],
        args=[ast.arg(arg=p) for p in parameters],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )
    definition = ast.FunctionDef(name=name, args=arguments, body=body, decorator_list=[])
    call = ast.Call(func=_load(name), args=[_load(p) for p in parameters], keywords=[])
    definition, call = _at(definition, node), _at(call, node)
    ast.fix_missing_locations(definition)
    ast.fix_missing_locations(call)
    return definition, call


# --- generator functions ------------------------------------------------------------------
def desugar_generators(function: ast.FunctionDef, file: str) -> ast.FunctionDef:
    """Rewrite, in place, every generator function in ``function`` (itself included) into
    a function that returns the list of what it yields.

    Before::

        def gen(v):
            for i in range(3):
                yield v[i] ** 2

    After::

        def gen(v):
            items = []
            for i in range(3):
                items.append(v[i] ** 2)
            return items

    ``yield from it`` becomes ``items.extend(it)`` and ``return`` returns ``items``. A
    ``yield`` whose value is used (``x = yield v``: a generator that is sent values) is
    refused. The consumers see a list where Python gives a generator: ``sum``, ``list``,
    ``np.stack`` and ``for`` take either.
    """
    generators = [
        node
        for node in ast.walk(function)
        if isinstance(node, ast.FunctionDef) and any(True for _ in own_yields(node))
    ]
    for node in generators:
        setattr(node, WAS_GENERATOR, True)  # a nested one runs when consumed: see was_generator
        items = fresh_name("items", names_in(node))
        rewrite = _YieldsToAppends(items, file)
        body = [rewrite.visit(statement) for statement in node.body]
        node.body = [
            _at(ast.Assign(targets=[_store(items)], value=ast.List(elts=[], ctx=ast.Load())), node),
            *body,
            _at(ast.Return(value=_load(items)), node),
        ]
        ast.fix_missing_locations(node)
    return function


WAS_GENERATOR = "srcad_was_generator"  # the attribute of a definition desugared from one


def was_generator(definition: ast.FunctionDef) -> bool:
    """Whether ``desugar_generators`` rewrote ``definition`` from a generator function."""
    return getattr(definition, WAS_GENERATOR, False)


def own_yields(function: ast.FunctionDef) -> Iterator[ast.Yield | ast.YieldFrom]:
    """The ``yield`` expressions of ``function`` itself (not of functions nested in it)."""
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            yield node
        if not isinstance(node, NESTED_SCOPES):
            pending.extend(ast.iter_child_nodes(node))


class _YieldsToAppends(ast.NodeTransformer):
    """``yield v`` → ``items.append(v)``, ``return`` → ``return items``; stops at nested
    functions, whose yields are their own."""

    def __init__(self, items: str, file: str):
        self.items = items
        self.file = file

    def visit_Expr(self, node: ast.Expr) -> ast.stmt:
        value = node.value
        if isinstance(value, ast.Yield):
            item = value.value if value.value is not None else ast.Constant(None)
            return self._call(node, "append", self.visit(item))
        if isinstance(value, ast.YieldFrom):
            return self._call(node, "extend", self.visit(value.value))
        visited = self.generic_visit(node)
        assert isinstance(visited, ast.stmt)  # an expression statement stays one
        return visited

    def visit_Return(self, node: ast.Return) -> ast.Return:
        return ast.copy_location(ast.Return(value=_load(self.items)), node)

    def visit_Yield(self, node: ast.Yield) -> ast.expr:
        raise UnsupportedSyntax(
            f"'{ast.unparse(node)}' uses the value of a 'yield' (a generator that is sent "
            "values), which is not supported; yield values as statements only",
            self.file,
            node.lineno,
        )

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.expr:
        raise UnsupportedSyntax(
            f"'{ast.unparse(node)}' uses the value of a 'yield from', which is not "
            "supported; write 'yield from' as a statement",
            self.file,
            node.lineno,
        )

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return node  # a nested function: its yields are its own

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        return node

    def _call(self, node: ast.Expr, method: str, argument: ast.expr) -> ast.stmt:
        call = ast.Call(func=_method(self.items, method), args=[argument], keywords=[])
        return ast.copy_location(ast.Expr(value=call), node)


# --- match --------------------------------------------------------------------------------
def desugar_matches(function: ast.FunctionDef, file: str) -> ast.FunctionDef:
    """Rewrite, in place, every ``match`` statement in ``function`` into ``if``/``elif``.

    Before::

        match cfg.mode:
            case Mode.SMOOTH | Mode.SOFT:
                y = np.tanh(x)
            case "relu" if x.ndim == 1:
                y = np.maximum(x, 0.0)
            case other:
                y = x

    After::

        matched = cfg.mode
        if matched == Mode.SMOOTH or matched == Mode.SOFT:
            y = np.tanh(x)
        elif matched == "relu" and x.ndim == 1:
            y = np.maximum(x, 0.0)
        else:
            other = matched
            y = x

    (A subject that is a name is compared as it is, without ``matched``.) Value patterns
    compare with ``==``, ``None``/``True``/``False`` with ``is``; sequence, mapping and
    class patterns are refused at their line.
    """
    while True:  # a match inside a case body is rewritten on the next round
        found = [
            (node, field, statements)
            for node in ast.walk(function)
            for field, statements in _statement_lists(node)
            if any(isinstance(s, ast.Match) for s in statements)
        ]
        if not found:
            break
        for node, field, statements in found:
            setattr(node, field, _without_matches(statements, file, names_in(function)))
    ast.fix_missing_locations(function)
    return function


def _statement_lists(node: ast.AST) -> Iterator[tuple[str, list]]:
    for field in ("body", "orelse", "finalbody"):
        statements = getattr(node, field, None)
        if isinstance(statements, list):
            yield field, statements


def _without_matches(statements: list, file: str, taken: set[str]) -> list:
    rewritten: list[ast.stmt] = []
    for statement in statements:
        if not isinstance(statement, ast.Match):
            rewritten.append(statement)
            continue
        subject: ast.expr = statement.subject
        if not isinstance(subject, ast.Name):
            name = fresh_name("matched", taken)
            rewritten.append(_at(ast.Assign(targets=[_store(name)], value=subject), statement))
            subject = _load(name)
        chain: list[ast.stmt] = []
        for case in reversed(statement.cases):
            test, captures = _pattern_test(case.pattern, subject, file)
            if case.guard is not None:
                if captures:
                    raise UnsupportedSyntax(
                        "a 'case' with a guard that binds names is not supported; bind "
                        "the name in the case body and test it there",
                        file,
                        case.pattern.lineno,
                    )
                test = ast.BoolOp(op=ast.And(), values=[test, case.guard])
            bindings = [
                _at(ast.Assign(targets=[_store(n)], value=subject), case.pattern) for n in captures
            ]
            body = bindings + case.body
            if isinstance(test, ast.Constant) and test.value is True:
                chain = body
            else:
                chain = [_at(ast.If(test=test, body=body, orelse=chain), case.pattern)]
        rewritten += chain or [_at(ast.Pass(), statement)]
    return rewritten


def _pattern_test(pattern: ast.pattern, subject: ast.expr, file: str) -> tuple[ast.expr, list[str]]:
    """The condition that ``pattern`` matches ``subject``, and the names it binds."""
    if isinstance(pattern, ast.MatchValue):
        return _compare(subject, ast.Eq(), pattern.value), []
    if isinstance(pattern, ast.MatchSingleton):
        return _compare(subject, ast.Is(), ast.Constant(value=pattern.value)), []
    if isinstance(pattern, ast.MatchAs):
        if pattern.pattern is None:
            return ast.Constant(value=True), [pattern.name] if pattern.name else []
        test, captures = _pattern_test(pattern.pattern, subject, file)
        return test, [*captures, *([pattern.name] if pattern.name else [])]
    if isinstance(pattern, ast.MatchOr):
        parts = [_pattern_test(p, subject, file) for p in pattern.patterns]
        if any(captures for _, captures in parts):
            raise UnsupportedSyntax(
                "names bound inside '|' patterns are not supported", file, pattern.lineno
            )
        return ast.BoolOp(op=ast.Or(), values=[test for test, _ in parts]), []
    raise UnsupportedSyntax(
        f"the pattern '{ast.unparse(pattern)}' is not supported; 'match' takes values "
        "(literals, Mode.FAST, None), '|', captures and '_'",
        file,
        pattern.lineno,
    )


def _compare(left: ast.expr, op: ast.cmpop, right: ast.expr) -> ast.Compare:
    return ast.Compare(left=left, ops=[op], comparators=[right])


# --- names --------------------------------------------------------------------------------
def names_in(node: ast.AST) -> set[str]:
    """Every name ``node`` reads, binds or takes as a parameter."""
    found = nodes(node)
    names = {n.id for n in found if isinstance(n, ast.Name)}
    return names | {n.arg for n in found if isinstance(n, ast.arg)}


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base_1``, ``base_2``, ... : the first not in ``taken``."""
    name, k = base, 1
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _store(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Store())


def _method(name: str, method: str) -> ast.Attribute:
    return ast.Attribute(value=_load(name), attr=method, ctx=ast.Load())


def _at(new: N, old: ast.AST) -> N:
    """``new`` located where ``old`` is (line, column, end)."""
    return ast.copy_location(new, old)
