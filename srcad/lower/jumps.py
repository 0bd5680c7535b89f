"""``break`` and ``continue`` rewritten as flags, so that loops keep a fixed structure.

    for i in range(n):                 _broke = False
        a = f(a)                       for i in range(n):
        if a > 1:                  →       if not _broke:
            break                              a = f(a)
        b = g(b)                               if a > 1:
                                                   _broke = True
                                               if not _broke:
                                                   b = g(b)

A loop that breaks keeps running its remaining iterations without doing anything, so the
tape of the backward sweep still has one entry per iteration. ``continue`` works the same
way with a flag reset at the start of every iteration.
"""

from __future__ import annotations

import ast
import copy


def has_jumps(body: list[ast.stmt]) -> bool:
    """Whether ``body`` breaks or continues its own loop (not an inner one)."""
    return any(_jumps_in(statement) for statement in body)


def _jumps_in(node: ast.AST) -> bool:
    if isinstance(node, (ast.Break, ast.Continue)):
        return True
    if isinstance(node, (ast.For, ast.While, ast.FunctionDef, ast.Lambda)):
        return False
    return any(_jumps_in(child) for child in ast.iter_child_nodes(node))


def flag_name(base: str, depth: int, taken: set[str]) -> str:
    """``_<base><depth>``, made unique against the names the user's code can see."""
    name = f"_{base}{depth}"
    while name in taken:
        name += "_"
    return name


def rewrite_jumps(loop: ast.For | ast.While, depth: int, taken: set[str]) -> list[ast.stmt]:
    """The loop (and the flag set-up before it) with ``break``/``continue`` as flags."""
    broke, skip = flag_name("broke", depth, taken), flag_name("skip", depth, taken)
    uses_break = any(_contains(s, ast.Break) for s in loop.body)
    uses_continue = any(_contains(s, ast.Continue) for s in loop.body)
    flags = [name for name, used in ((broke, uses_break), (skip, uses_continue)) if used]
    body = _guarded(copy.deepcopy(loop.body), flags, broke, skip)
    if uses_continue:
        body = [_assign(skip, False, loop), *body]
    if uses_break:
        body = [ast.If(test=_not(broke, loop), body=body, orelse=[])]
    new_loop = copy.copy(loop)
    new_loop.body = body
    if uses_break and isinstance(new_loop, ast.While):
        new_loop.test = ast.BoolOp(ast.And(), [new_loop.test, _not(broke, loop)])
    prologue: list[ast.stmt] = [_assign(broke, False, loop)] if uses_break else []
    result = [*prologue, new_loop]
    for node in result:
        ast.fix_missing_locations(node)
        _locate(node, loop)
    return result


def rewrite_returns(loop: ast.For | ast.While, depth: int, taken: set[str]) -> list[ast.stmt]:
    """A loop that returns, as a loop that records the value and breaks, followed by
    ``if _returned: return _value`` (the statements after the loop then go to the other
    branch, as for any ``if`` that returns)."""
    returned, value = flag_name("returned", depth, taken), flag_name("value", depth, taken)
    new_loop = copy.deepcopy(loop)
    _ReturnToBreak(returned, value).generic_visit(new_loop)  # in place
    check = ast.If(
        test=ast.Name(returned, ast.Load()),
        body=[ast.Return(ast.Name(value, ast.Load()))],
        orelse=[],
    )
    result: list[ast.stmt] = [
        _assign(returned, False, loop),
        _assign_none(value, loop),
        new_loop,
        check,
    ]
    for node in result:
        ast.fix_missing_locations(node)
        _locate(node, loop)
    return result


class _ReturnToBreak(ast.NodeTransformer):
    """``return v`` → ``_value = v; _returned = True; break`` (not inside inner functions).

    That ``break`` leaves only the innermost loop around the ``return``, so every inner loop
    that returns is followed by ``if _returned: break``, which passes the return on to the
    loop around it, up to the loop being rewritten (visit that one with ``generic_visit``).
    """

    def __init__(self, returned: str, value: str):
        self.returned = returned
        self.value = value

    def visit_FunctionDef(self, node):
        return node

    def visit_Lambda(self, node):
        return node

    def visit_For(self, node: ast.For | ast.While):
        if not _returns_in(node):
            return node
        stop = ast.If(
            test=ast.Name(self.returned, ast.Load()),
            body=[ast.copy_location(ast.Break(), node)],
            orelse=[],
        )
        return [self.generic_visit(node), ast.copy_location(stop, node)]

    visit_While = visit_For

    def visit_Return(self, node: ast.Return):
        value = node.value or ast.Constant(None)
        assign = ast.copy_location(
            ast.Assign(targets=[ast.Name(self.value, ast.Store())], value=value), node
        )
        flag = _assign(self.returned, True, node)
        return [assign, flag, ast.copy_location(ast.Break(), node)]


def _returns_in(node: ast.AST) -> bool:
    """Whether ``node`` returns from the function being lowered (not from an inner one)."""
    if isinstance(node, ast.Return):
        return True
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return False
    return any(_returns_in(child) for child in ast.iter_child_nodes(node))


def _assign_none(name: str, where: ast.AST) -> ast.Assign:
    node = ast.Assign(targets=[ast.Name(name, ast.Store())], value=ast.Constant(None))
    return ast.copy_location(node, where)


def _contains(node: ast.AST, kind: type) -> bool:
    if isinstance(node, kind):
        return True
    if isinstance(node, (ast.For, ast.While, ast.FunctionDef, ast.Lambda)):
        return False
    return any(_contains(child, kind) for child in ast.iter_child_nodes(node))


def _guarded(statements: list[ast.stmt], flags: list[str], broke: str, skip: str) -> list:
    """Replace jumps by flag assignments; guard what follows a possible jump."""
    result: list[ast.stmt] = []
    for position, statement in enumerate(statements):
        if isinstance(statement, ast.Break):
            result.append(_assign(broke, True, statement))
            return result
        if isinstance(statement, ast.Continue):
            result.append(_assign(skip, True, statement))
            return result
        if isinstance(statement, ast.If) and _jumps_in(statement):
            statement.body = _guarded(statement.body, flags, broke, skip)
            statement.orelse = _guarded(statement.orelse, flags, broke, skip)
            result.append(statement)
            rest = _guarded(statements[position + 1 :], flags, broke, skip)
            if rest:
                result.append(ast.If(test=_none_set(flags, statement), body=rest, orelse=[]))
            return result
        result.append(statement)
    return result


def _assign(name: str, value: bool, where: ast.AST) -> ast.Assign:
    node = ast.Assign(targets=[ast.Name(name, ast.Store())], value=ast.Constant(value))
    return ast.copy_location(node, where)


def _not(name: str, where: ast.AST) -> ast.expr:
    return ast.copy_location(ast.UnaryOp(ast.Not(), ast.Name(name, ast.Load())), where)


def _none_set(flags: list[str], where: ast.AST) -> ast.expr:
    tests = [_not(flag, where) for flag in flags]
    if len(tests) == 1:
        return tests[0]
    return ast.copy_location(ast.BoolOp(ast.And(), tests), where)


def _locate(node: ast.AST, where: ast.AST) -> None:
    for child in ast.walk(node):
        if hasattr(child, "lineno") and getattr(child, "lineno", None) is None:
            ast.copy_location(child, where)
