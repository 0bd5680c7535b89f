"""``break`` and ``continue`` rewritten as flags, so that loops keep a fixed structure.

    for i in range(n):                 _broke = False
        a = f(a)                       for i in range(n):
        if a > 1:                  →       if not _broke:
            break                              _stopped = i
        b = g(b)                               a = f(a)
                                               if a > 1:
                                                   _broke = True
                                               if not _broke:
                                                   b = g(b)

A loop that breaks keeps running its remaining iterations without doing anything, so the
tape of the backward sweep still has one entry per iteration. ``continue`` works the same
way with a flag reset at the start of every iteration. The ``else`` block of a loop runs
when the loop did not break: after the loop, under ``if not _broke:``.

A jump inside ``try`` (the retry loop ``while True: try: L = cholesky(K); break`` /
``except LinAlgError: K = K + jitter * I``) becomes a flag there too; the ``try``'s
``else`` runs under ``if not _broke:`` as well, since a jump out of the ``try`` block skips
it. A jump in a ``finally`` block (it would swallow an exception being raised) stays, and
``srcad.lower.exceptions`` refuses it.
"""

from __future__ import annotations

import ast
import copy

from srcad.frontend.unbound import bound_in
from srcad.lower.blocks import nested_statements
from srcad.lower.loop_tests import RETEST, retest

MAY_BREAK = "srcad_may_break"  # the attribute of a loop made here that breaks
# the attribute naming the variable that keeps such a loop's target as of the iteration it
# broke at (or its last): ``for i in ...: if not _broke: _stopped = i; ...``
STOPPED_AT = "srcad_stopped_at"
FROM_RETURN = "srcad_from_return"  # the attribute of a 'break' made here of a 'return'
# Statements whose blocks may hold a jump of the loop around them.
JUMPING = (ast.If, ast.With, ast.For, ast.While, ast.Try)


def has_jumps(body: list[ast.stmt]) -> bool:
    """Whether ``body`` breaks or continues its own loop (not an inner one)."""
    return any(_jumps_in(statement) for statement in body)


def _jumps_in(node: ast.AST) -> bool:
    return _contains(node, (ast.Break, ast.Continue))


def flag_name(base: str, depth: int, taken: set[str]) -> str:
    """``_<base><depth>``, made unique against the names the user's code can see."""
    name = f"_{base}{depth}"
    while name in taken:
        name += "_"
    return name


def rewrite_jumps(
    loop: ast.For | ast.While, depth: int, taken: set[str], keeps_target: bool = False
) -> list[ast.stmt]:
    """The loop (and the flag set-up before it) with ``break``/``continue`` as flags;
    ``keeps_target``: the code after it reads a ``for`` loop's target, which the loop keeps
    as of the iteration it breaks at (``_stopped = i``)."""
    broke, skip = flag_name("broke", depth, taken), flag_name("skip", depth, taken)
    uses_break = any(_contains(s, ast.Break) for s in loop.body)
    uses_continue = any(_contains(s, ast.Continue) for s in loop.body)
    flags = [name for name, used in ((broke, uses_break), (skip, uses_continue)) if used]
    again = retest(loop)  # the condition's := assignments: after a continue, not a break
    if again and uses_break:
        again = [ast.If(test=_not(broke, loop), body=again, orelse=[])]
    body = _guarded(copy.deepcopy(loop.body), flags, broke, skip) + again
    if uses_continue:
        body = [_assign(skip, False, loop), *body]
    stopped = None
    if (
        keeps_target
        and uses_break
        and isinstance(loop, ast.For)
        and isinstance(loop.target, ast.Name)
    ):
        stopped = flag_name("stopped", depth, taken)  # the target, where it broke
        body = [_assign_name(stopped, loop.target.id, loop), *body]
    if uses_break:
        body = [ast.If(test=_not(broke, loop), body=body, orelse=[])]
    new_loop = copy.copy(loop)
    setattr(new_loop, STOPPED_AT, stopped)
    new_loop.body = body
    new_loop.orelse = []
    setattr(new_loop, MAY_BREAK, uses_break)  # its target after it: see lower.loops
    setattr(new_loop, RETEST, [])  # in its body now
    if uses_break and isinstance(new_loop, ast.While):
        new_loop.test = ast.BoolOp(ast.And(), [new_loop.test, _not(broke, loop)])
    prologue: list[ast.stmt] = [_assign(broke, False, loop)] if uses_break else []
    epilogue: list[ast.stmt] = copy.deepcopy(loop.orelse)
    if uses_break and epilogue:  # the loop's 'else': when it did not break
        epilogue = [ast.copy_location(ast.If(_not(broke, loop), epilogue, []), loop.orelse[0])]
    result = [*prologue, new_loop, *epilogue]
    for node in result:
        _locate(node, loop)
        ast.fix_missing_locations(node)
    return result


def target_read_after(loop: ast.For | ast.While, function: ast.AST) -> bool:
    """Whether ``function`` reads a ``for`` loop's (single) target on a line after the loop,
    where it holds the item the loop broke at."""
    if not isinstance(loop, ast.For) or not isinstance(loop.target, ast.Name):
        return False
    name, end = loop.target.id, loop.end_lineno or loop.lineno
    if name in bound_in(loop.body):  # i = i + 2 in the body: Python's i is that one
        return False
    return any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) and n.lineno > end
        for n in ast.walk(function)
    )


def _assign_name(target: str, source: str, at: ast.AST) -> ast.Assign:
    value = ast.Name(source, ast.Load())
    return ast.copy_location(ast.Assign([ast.Name(target, ast.Store())], value), at)


def rewrite_returns(loop: ast.For | ast.While, depth: int, taken: set[str]) -> list[ast.stmt]:
    """A loop whose body returns, as a loop that records the value and breaks, followed by
    ``if _returned: return _value`` (the statements after the loop then go to the other
    branch, as for any ``if`` that returns). A ``return`` in the loop's ``else`` stays."""
    returned, value = flag_name("returned", depth, taken), flag_name("value", depth, taken)
    new_loop = copy.deepcopy(loop)
    body = ast.Module(body=new_loop.body, type_ignores=[])  # not the 'else': it ends the loop
    _ReturnToBreak(returned, value).generic_visit(body)  # in place
    new_loop.body = body.body
    check: ast.stmt = ast.If(
        test=ast.Name(returned, ast.Load()),
        body=[ast.Return(ast.Name(value, ast.Load()))],
        orelse=[],
    )
    if _left_only_by_return(loop):  # while True: ... return v: nothing follows the loop
        check = ast.Return(ast.Name(value, ast.Load()))
    # ``value`` is first bound in the loop: the loop carries a stand-in for it until then
    # (``srcad.lower.loops``), read only where ``returned`` holds
    result: list[ast.stmt] = [_assign(returned, False, loop), new_loop, check]
    for node in result:
        _locate(node, loop)
        ast.fix_missing_locations(node)
    return result


def _left_only_by_return(loop: ast.For | ast.While) -> bool:
    """``while True:`` with no ``break`` or ``else`` of its own: only a ``return`` ends it."""
    is_endless = isinstance(loop, ast.While) and isinstance(loop.test, ast.Constant)
    if not is_endless or not loop.test.value or loop.orelse:  # type: ignore[union-attr]
        return False
    return not any(_contains(statement, ast.Break) for statement in loop.body)


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
        stop = ast.copy_location(ast.Break(), node)
        setattr(stop, FROM_RETURN, True)  # what a refusal calls it
        return [assign, flag, stop]


def _returns_in(node: ast.AST) -> bool:
    """Whether ``node`` returns from the function being lowered (not from an inner one)."""
    if isinstance(node, ast.Return):
        return True
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return False
    return any(_returns_in(child) for child in ast.iter_child_nodes(node))


def _contains(node: ast.AST, kind: type | tuple[type, ...]) -> bool:
    """Whether ``node`` holds a ``kind`` jump of the loop around it: not one of an inner
    loop (but one in an inner loop's ``else``, which jumps in the loop around it)."""
    if isinstance(node, kind):
        return True
    if isinstance(node, (ast.For, ast.While)):
        return any(_contains(statement, kind) for statement in node.orelse)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return False
    if isinstance(node, ast.Try):  # not its 'finally': see the module's docstring
        return any(_contains(statement, kind) for statement in _guarded_blocks_of_try(node))
    return any(_contains(child, kind) for child in nested_statements(node))


def _guarded_blocks_of_try(node: ast.Try) -> list[ast.stmt]:
    return [*node.body, *(s for h in node.handlers for s in h.body), *node.orelse]


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
        if isinstance(statement, JUMPING) and _jumps_in(statement):
            if isinstance(statement, ast.Try):
                _guard_try(statement, flags, broke, skip)
            if isinstance(statement, (ast.If, ast.With)):  # an inner loop's jumps are its own
                statement.body = _guarded(statement.body, flags, broke, skip)
            if isinstance(statement, (ast.If, ast.For, ast.While)):
                statement.orelse = _guarded(statement.orelse, flags, broke, skip)
            result.append(statement)
            rest = _guarded(statements[position + 1 :], flags, broke, skip)
            if rest:
                result.append(ast.If(test=_none_set(flags, statement), body=rest, orelse=[]))
            return result
        result.append(statement)
    return result


def _guard_try(node: ast.Try, flags: list[str], broke: str, skip: str) -> None:
    """The jumps of a ``try``'s blocks as flags (in place); its ``else`` runs only where the
    ``try`` block did not jump (Python skips it then)."""
    body_jumps = any(_jumps_in(statement) for statement in node.body)
    node.body = _guarded(node.body, flags, broke, skip)
    for handler in node.handlers:
        handler.body = _guarded(handler.body, flags, broke, skip)
    node.orelse = _guarded(node.orelse, flags, broke, skip)
    if body_jumps and node.orelse:
        node.orelse = [ast.If(test=_none_set(flags, node), body=node.orelse, orelse=[])]


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
    """Give the nodes made here the line of ``where`` (the loop), not line 1."""
    for child in ast.walk(node):
        if "lineno" in child._attributes and getattr(child, "lineno", None) is None:
            ast.copy_location(child, where)
