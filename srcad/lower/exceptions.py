"""Lowering ``try`` statements: ``finally`` blocks, and ``except`` of the exceptions that
generated code raises exactly where the plain function does.

- ``try: A finally: F`` is A, then F. An exception in A propagates out of both codes.
- ``try: A except np.linalg.LinAlgError: B`` is a ``cond`` on a ``Catching`` constant
  (``srcad.ir.world``): generated code spells it ``try:`` A ``except
  np.linalg.LinAlgError:`` B, each branch ending with a flag that says which one ran, and
  the backward code branches on that flag. ``else: C`` is an ``if`` on the flag, after the
  ``try``; ``finally: F`` follows.
- Only NumPy's ``LinAlgError`` (SciPy raises the same class) is caught: generated code
  calls the same NumPy and SciPy functions on the same arrays, so it raises where the plain
  function does. Others could differ (``1.0 / 0.0`` of Python floats raises, NumPy's gives
  inf), so ``except`` of them is refused, with what to write instead.
- Nothing in A is removed as unused (``srcad.ir.dead_code``): a call kept for the check it
  makes (``np.linalg.cholesky(K)``: is K positive definite?) still raises.

Before:  try: L = np.linalg.cholesky(K)
         except np.linalg.LinAlgError: L = np.linalg.cholesky(K + 1e-6 * I)
After:   cond(Catching(("np.linalg.LinAlgError",), "_try1_completed"))
             [L = cholesky(K); _try1_completed = True]
             [L = cholesky(K + 1e-6 * I); _try1_completed = False]

``break`` and ``continue`` of a loop around the statement (the retry loop ``while True:
try: L = cholesky(K + jitter * I); break / except LinAlgError: jitter *= 10``), and a
``return`` inside a loop, are flags by the time the statement is lowered
(``srcad.lower.jumps``).

Refused: ``except ... as e`` (the exception object is not followed), a bare ``except``, a
handler that reads a name the ``try`` block assigns (where the block stopped depends on the
data), more than one handler, a ``return`` outside a loop that does not end its block (one
that does is moved after the statement: ``srcad.frontend.try_returns``), ``yield``, and a
jump out of the ``finally`` block.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.ir import Const
from srcad.ir.builder import Tracer
from srcad.ir.world import Catching
from srcad.lower.aliasing import rewritten
from srcad.lower.branches import join_branches, lower_block
from srcad.lower.context import LocalFunction
from srcad.lower.dispatch import evaluate, lowers_statement
from srcad.lower.jumps import FROM_RETURN
from srcad.lower.liveness import read_before_bound
from srcad.lower.user_code import is_user_function

if TYPE_CHECKING:
    from srcad.lower.context import Lowering

# Exceptions a handler may catch, as generated code spells them.
CAUGHT: dict[object, str] = {np.linalg.LinAlgError: "np.linalg.LinAlgError"}
JUMPS = (ast.Return, ast.Break, ast.Continue, ast.Yield, ast.YieldFrom)
# Methods of arrays and numbers that leave them as they are (a call of any other method of a
# name may change what the name holds).
READING_METHODS = frozenset(
    "all any argmax argmin astype conj copy cumsum dot flatten item max mean min prod ravel "
    "reshape round std sum swapaxes transpose var tolist get keys values items count index".split()
)


@lowers_statement(ast.Try)
def lower_try(lowering: Lowering, node: ast.Try, since: int) -> None:
    _refuse_jumps(lowering, node)
    lowering.checks.update(id(n) for s in node.body for n in ast.walk(s) if isinstance(n, ast.Expr))
    handled = [*node.body, *(s for h in node.handlers for s in h.body), *node.orelse]
    with rewritten(lowering, node, [*handled, *node.finalbody]):
        if node.handlers:
            _lower_handled(lowering, node)
        else:
            lower_block(lowering, node.body)
        lower_block(lowering, node.finalbody)


def _lower_handled(lowering: Lowering, node: ast.Try) -> None:
    """``try``/``except``/``else`` as a ``cond`` on a ``Catching``, then an ``if`` on its
    flag."""
    if len(node.handlers) > 1:
        raise lowering.located(
            UnsupportedSyntax,
            "a 'try' with more than one 'except' is not supported; catch "
            "np.linalg.LinAlgError in one handler",
            node.handlers[1],
        )
    handler = node.handlers[0]
    exceptions = _caught(lowering, handler)
    _refuse_reads_of_try_names(lowering, node, handler)
    _refuse_changes_before_a_raise(lowering, node, handler)
    flag = _flag_name(lowering)
    test = lowering.builder.tracer(Const(Catching(exceptions, flag), "try"))
    bodies = [
        [*node.body, _assign_flag(flag, True, node)],
        [*handler.body, _assign_flag(flag, False, handler)],
    ]
    join_branches(lowering, node, test, bodies)
    completed = lowering.env.pop(flag, True)
    if not node.orelse:
        return
    if isinstance(completed, Tracer):
        join_branches(lowering, node, completed, [node.orelse, []])
    elif completed:  # the handler raises: the 'else' runs whenever the code goes on
        lower_block(lowering, node.orelse)


def _caught(lowering: Lowering, handler: ast.ExceptHandler) -> tuple[str, ...]:
    """How generated code spells the exceptions ``handler`` catches (refused where they are
    not ones it raises exactly as the plain function does)."""
    if handler.type is None:
        raise lowering.located(
            UnsupportedSyntax,
            "a bare 'except:' catches every exception, also ones that srcad's generated code "
            "raises where the plain function does not (or the other way round); write "
            "'except np.linalg.LinAlgError:'",
            handler,
        )
    if handler.name is not None:
        raise lowering.located(
            UnsupportedSyntax,
            f"'except ... as {handler.name}': the exception object is not followed; drop "
            f"'as {handler.name}'",
            handler,
        )
    caught = lowering.world.unwrap(evaluate(lowering, handler.type))
    classes = caught if isinstance(caught, tuple) else (caught,)
    if not classes or any(not _is_caught(c) for c in classes):
        raise lowering.located(
            UnsupportedSyntax,
            f"'except {ast.unparse(handler.type)}' of a 'try' statement: srcad catches "
            "np.linalg.LinAlgError only, which NumPy and SciPy raise in srcad's generated "
            "code exactly where they do in your function; other exceptions may be raised at "
            "other places there (a "
            "Python float divided by 0.0 raises, NumPy's gives inf): test for the case "
            "with an 'if' instead",
            handler,
        )
    return tuple(dict.fromkeys(CAUGHT[c] for c in classes))


def _is_caught(value: object) -> bool:
    try:
        return value in CAUGHT
    except TypeError:  # unhashable
        return False


def _refuse_jumps(lowering: Lowering, node: ast.Try) -> None:
    """A jump out of the ``try`` statement that is still here: the ``break`` and
    ``continue`` of a loop around it are flags by now (``srcad.lower.jumps``), as is a
    ``return`` inside a loop; one in the ``finally`` block is not."""
    blocks = [*node.body, *(s for h in node.handlers for s in h.body), *node.orelse]
    for inner in _jumps_leaving(ast.Module(node.finalbody, [])):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{_jump_word(inner)}' inside a 'finally' block is not supported (it would "
            "discard an exception being raised); set a variable in the 'finally' block and "
            "act on it after the 'try' statement",
            inner,
        )
    for inner in _jumps_leaving(ast.Module(blocks, [])):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{_jump_word(inner)}' inside a 'try' statement is not supported; set a variable "
            "in the 'try' and act on it after the statement",
            inner,
        )


def _jump_word(node: ast.AST) -> str:
    if getattr(node, FROM_RETURN, False):  # a 'return' in a loop is a 'break' by now
        return "return"
    return "yield from" if isinstance(node, ast.YieldFrom) else type(node).__name__.lower()


def _jumps_leaving(node: ast.AST, in_loop: bool = False) -> Iterator[ast.stmt | ast.expr]:
    """The jumps inside ``node`` that leave it: ``return`` and ``yield`` (not of functions
    defined there), ``break`` and ``continue`` not of a loop inside it."""
    loop_body = node.body if isinstance(node, (ast.For, ast.While)) else []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        is_loop_jump = isinstance(child, (ast.Break, ast.Continue))
        is_jump = isinstance(child, JUMPS) and not (is_loop_jump and in_loop)
        if is_jump and isinstance(child, (ast.stmt, ast.expr)):
            yield child
        yield from _jumps_leaving(child, in_loop or any(child is s for s in loop_body))


def _nodes_inside(node: ast.AST) -> list[ast.AST]:
    """The nodes inside ``node`` (statements and expressions), not those of functions
    defined there."""
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.Lambda, ast.AsyncFunctionDef)):
            continue
        found.append(child)
        found += _nodes_inside(child)
    return found


def _refuse_reads_of_try_names(
    lowering: Lowering, node: ast.Try, handler: ast.ExceptHandler
) -> None:
    """A handler that reads a name the ``try`` block assigns or changes would see the value
    it had where the block stopped, which depends on the data."""
    changed = _changed_names(ast.Module(node.body, []), lowering.env)
    # Not the flags ``srcad.lower.jumps`` made of 'break' and 'continue' (no names of the
    # user's): a jump ends the block, so the handler of an exception sees them unset.
    changed &= lowering.visible_names
    changed &= read_before_bound(handler.body)  # not L = ...; then L: the handler's own
    for inner in _nodes_inside(ast.Module(handler.body, [])):
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load):
            if inner.id in changed:
                raise lowering.located(
                    UnsupportedSyntax,
                    f"the 'except' block reads '{inner.id}', which the 'try' block assigns "
                    "or changes: its value depends on where the 'try' block stopped; compute "
                    "what the handler needs before the 'try'",
                    inner,
                )


def _refuse_changes_before_a_raise(
    lowering: Lowering, node: ast.Try, handler: ast.ExceptHandler
) -> None:
    """Where the handler runs, srcad's values are those from before the ``try`` block; the
    plain function keeps what the block changed before the call that raised (``t = t * 3``
    then ``np.linalg.cholesky(K)``). Refused where code after the statement reads such a
    name and the handler does not bind it first."""
    calls = [k for k, statement in enumerate(node.body) if _may_raise(lowering, statement)]
    if not calls:
        return
    before_a_raise = ast.Module(node.body[: calls[-1]], [])
    changed = _changed_names(before_a_raise, lowering.env) & lowering.visible_names
    changed |= _passed_to_helpers(lowering, node.body[: calls[-1] + 1])  # fill(y, K): y
    read_after = lowering.live.get(id(node), frozenset())
    bound_first = _assigned_by(handler.body) - read_before_bound(handler.body)
    if _writes_into_arrays(lowering, before_a_raise):  # row *= 3 writes into M too
        changed |= {n for n in read_after if n in lowering.env and _holds_array(lowering, n)}
    kept = sorted((changed & read_after) - bound_first)
    if kept:
        raise lowering.located(
            UnsupportedSyntax,
            f"the 'try' block changes '{kept[0]}' before a call that may raise, and the code "
            f"after the statement reads it: where the handler runs, Python keeps that "
            "change, srcad's code does not follow where the block stopped. Make the call "
            f"that may raise the block's first statement, or set '{kept[0]}' in the "
            "handler too",
            node,
        )


# the functions that raise LinAlgError, by name (NumPy's and SciPy's)
RAISING = frozenset(
    "cholesky solve inv eig eigh eigvals eigvalsh svd svdvals qr lstsq det slogdet pinv "
    "matrix_power lu lu_factor lu_solve cho_factor cho_solve solve_triangular".split()
)


def _may_raise(lowering: Lowering, statement: ast.stmt) -> bool:
    """Whether ``statement`` calls what may raise LinAlgError: a linear-algebra function
    (by its name), or a function of the user's."""
    for call in ast.walk(statement):
        if isinstance(call, ast.Call):
            named = call.func.attr if isinstance(call.func, ast.Attribute) else None
            if named in RAISING or _users_function(lowering, call) is not None:
                return True
            if isinstance(call.func, ast.Name) and call.func.id in RAISING:
                return True
    return False


def _users_function(lowering: Lowering, call: ast.Call) -> object:
    """The function of the user's a call by a bare name makes (not an imported library's:
    ``from numpy.linalg import cholesky``), or None."""
    if not isinstance(call.func, ast.Name):
        return None
    name = call.func.id
    function = lowering.env.get(name, lowering.parsed.globals.get(name))
    return function if isinstance(function, LocalFunction) or is_user_function(function) else None


def _passed_to_helpers(lowering: Lowering, statements: list[ast.stmt]) -> set[str]:
    """The arrays passed by name to functions of the user's, which may write into them
    before they raise."""
    return {
        argument.id
        for statement in statements
        for call in ast.walk(statement)
        if isinstance(call, ast.Call) and _users_function(lowering, call) is not None
        for argument in call.args
        if isinstance(argument, ast.Name) and _holds_array(lowering, argument.id)
    }


def _writes_into_arrays(lowering: Lowering, block: ast.AST) -> bool:
    """Whether ``block`` writes into an array (``y[i] = v``, ``y += v``, ``out=``; not
    ``count += 1`` of a number)."""
    for inner in _nodes_inside(block):
        if isinstance(inner, ast.keyword) and inner.arg == "out":
            return True
        target = None
        if isinstance(inner, ast.AugAssign):
            target = inner.target
        elif isinstance(inner, ast.Subscript) and isinstance(inner.ctx, ast.Store):
            target = inner
        roots = _roots(target) if target is not None else set()
        if any(n not in lowering.env or _holds_array(lowering, n) for n in roots):
            return True  # (a name the block binds itself, row = M[0], may be a view)
    return False


def _holds_array(lowering: Lowering, name: str) -> bool:
    """Whether ``name`` holds an array (not a number: ``count += 1`` changes no array)."""
    value = lowering.env.get(name)
    if isinstance(value, Tracer):
        return not value.aval.is_weak and (
            value.ndim >= 1 or lowering.zero_d_arrays.get(id(value)) is value
        )
    return isinstance(value, np.ndarray)


def _assigned_by(statements: list[ast.stmt]) -> set[str]:
    """The names the top-level assignments of ``statements`` bind (``L, a = ...`` too)."""
    names: set[str] = set()
    for statement in statements:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def _changed_names(block: ast.AST, local: dict[str, object]) -> set[str]:
    """Names ``block`` binds, writes into (``y[i] = v``, ``y.a = v``, ``y += v``) or calls a
    method of that may change it (``y.append(v)``; not ``y.sum()``, nor a module's function:
    ``local`` holds the function's own names)."""
    changed = set()
    for inner in _nodes_inside(block):
        if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
            changed.add(inner.id)
        elif isinstance(inner, (ast.Subscript, ast.Attribute)) and isinstance(inner.ctx, ast.Store):
            changed |= _roots(inner)
        elif isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
            if inner.func.attr not in READING_METHODS:  # of a name of the function's own
                roots = _roots(inner.func.value)
                changed |= {r for r in roots if r in local and not _is_module(local[r])}
    return changed


def _is_module(value: object) -> bool:
    return isinstance(value, types.ModuleType)  # import numpy as np inside the function


def _roots(node: ast.expr) -> set[str]:
    """``y`` of ``y[0].a``."""
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    return {node.id} if isinstance(node, ast.Name) else set()


def _flag_name(lowering: Lowering) -> str:
    """A name for the flag that no code of the user's can see."""
    taken = set(lowering.env) | lowering.visible_names
    number = 1
    while f"_try{number}_completed" in taken:
        number += 1
    return f"_try{number}_completed"


def _assign_flag(flag: str, value: bool, where: ast.AST) -> ast.stmt:
    statement = ast.Assign([ast.Name(flag, ast.Store())], ast.Constant(value))
    return ast.fix_missing_locations(ast.copy_location(statement, where))
