"""Lowering the statements that act on the world without computing data: ``raise``,
``assert``, ``with`` and calls that change settings (``warnings.simplefilter``).

They run in the generated forward code, in the user's order, with the values the forward
code computes (``srcad.ir.world``):

- ``raise E(...)`` becomes a ``raise`` equation; nothing after it in its block runs
  (``RaiseReached``). Under a condition computed from data it ends its branch of the
  ``cond``; under one known at compile time (a shape, an int: checked on every call) the
  branch is chosen now, and a function that always raises compiles to code that raises.
- ``assert test, message`` is ``if not test: raise AssertionError(message)``, so that the
  message is computed only when the test fails.
- ``with np.errstate(...):`` enters the context in the generated code around the block's
  forward lines and, since the block is a branch that is always entered (a ``cond`` on a
  ``Context``), around its backward and tangent lines too. Only context managers that leave
  the data alone are entered (``CONTEXTS``); others are refused.

Before:  if np.sum(x) < 0: raise ValueError(f"{np.sum(x)} < 0")
After:   cond(lt(sum(x), 0)) [raise(format_string(sum(x)), exception="ValueError")] []
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import sys
import warnings
from typing import TYPE_CHECKING

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.ir import Const, Eqn
from srcad.ir.builder import Tracer
from srcad.ir.world import Context
from srcad.lower.aliasing import rewritten
from srcad.lower.branches import RaiseReached, join_branches, join_returns
from srcad.lower.dispatch import evaluate, lowers_statement
from srcad.lower.machine_state import FILE_READERS
from srcad.lower.operator_methods import truth_of
from srcad.lower.returns import always_returns, block_returns
from srcad.lower.world import EFFECT_TYPE, Outside, is_hashable

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node

# Context managers a differentiated function may enter: how generated code spells them and
# the module it finds them in. They change how NumPy and Python report, never a value.
CONTEXTS: dict[object, tuple[str, str]] = {
    np.errstate: ("np.errstate", "numpy"),
    np.printoptions: ("np.printoptions", "numpy"),
    warnings.catch_warnings: ("warnings.catch_warnings", "warnings"),
    contextlib.nullcontext: ("contextlib.nullcontext", "contextlib"),
}
# Calls that change such settings, run as statements by the generated code.
SETTINGS: dict[object, str] = {
    np.seterr: "np.seterr",
    np.set_printoptions: "np.set_printoptions",
    warnings.simplefilter: "warnings.simplefilter",
    warnings.filterwarnings: "warnings.filterwarnings",
    warnings.resetwarnings: "warnings.resetwarnings",
}
LITERALS = (bool, int, float, str, type(None))


# --- raise ----------------------------------------------------------------------------------
@lowers_statement(ast.Raise)
def lower_raise(lowering: Lowering, node: ast.Raise, since: int) -> None:
    if node.exc is None:
        raise lowering.located(
            UnsupportedSyntax,
            "a bare 'raise' re-raises the exception being handled, and a differentiated "
            "function has no 'except'; raise a new exception instead, such as "
            "ValueError('...')",
            node,
        )
    is_from_none = node.cause is not None
    if is_from_none and evaluate(lowering, node.cause) is not None:  # type: ignore[arg-type]
        raise lowering.located(
            UnsupportedSyntax,
            "'raise ... from error' is not supported (there is no error being handled); "
            "write 'from None' or leave the 'from' out",
            node,
        )
    exception, args, kwargs, is_called = _exception(lowering, node.exc)
    emit_raise(lowering, exception, args, kwargs, is_called, is_from_none)
    raise RaiseReached


def _exception(
    lowering: Lowering, node: ast.expr
) -> tuple[type[BaseException], list, dict[str, object], bool]:
    """What ``raise node`` raises: the class, its arguments and whether it is called."""
    if isinstance(node, ast.Call):
        exception = lowering.world.unwrap(evaluate(lowering, node.func))
        args = [evaluate(lowering, arg) for arg in node.args]
        if any(keyword.arg is None for keyword in node.keywords):
            raise lowering.located(UnsupportedSyntax, "'**kwargs' in calls is not supported", node)
        kwargs = {str(kw.arg): evaluate(lowering, kw.value) for kw in node.keywords}
        return _exception_class(lowering, exception, node), args, kwargs, True
    value = lowering.world.unwrap(evaluate(lowering, node))
    if isinstance(value, BaseException):  # made earlier: raised as made again here
        return type(value), list(value.args), {}, True
    return _exception_class(lowering, value, node), [], {}, False


def _exception_class(lowering: Lowering, value: object, node: Node) -> type[BaseException]:
    if isinstance(value, type) and issubclass(value, BaseException):
        return value
    raise lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' is not an exception (Python raises TypeError: exceptions "
        "must derive from BaseException); raise ValueError('...') or another exception",
        node,
    )


def emit_raise(
    lowering: Lowering,
    exception: type[BaseException],
    args: list,
    kwargs: dict[str, object],
    is_called: bool = True,
    is_from_none: bool = False,
) -> None:
    """The equation that raises ``exception(*args, **kwargs)`` in the generated code."""
    inputs: list = []
    spelled: object = exception.__name__
    if getattr(builtins, exception.__name__, None) is not exception:
        spelled = ("input", 0)  # the user's class: given to the module under its name
        inputs.append(Const(exception, exception.__name__))
    params: list[tuple[str, object]] = [("exception", spelled)]
    if is_called:
        arguments = tuple(_argument(lowering, value, inputs) for value in args)
        keywords = tuple((name, _argument(lowering, v, inputs)) for name, v in kwargs.items())
        params += [("arguments", arguments), ("keywords", keywords)]
    if is_from_none:
        params.append(("is_from_none", True))
    _emit_effect(lowering, "raise", inputs, tuple(params))


def _argument(lowering: Lowering, value: object, inputs: list) -> tuple[str, object]:
    """An argument as an effect records it: ``("input", k)`` or ``("value", literal)``."""
    if isinstance(value, Outside):
        value = lowering.world.unwrap(value)  # read as it is when the code runs
    if _is_literal(value):
        return ("value", value)
    inputs.append(value.atom if isinstance(value, Tracer) else Const(value))
    return ("input", len(inputs) - 1)


def _is_literal(value: object) -> bool:
    if type(value) in (tuple, list):
        return all(_is_literal(item) for item in value)  # type: ignore[attr-defined]
    return type(value) in LITERALS


def _emit_effect(lowering: Lowering, prim: str, inputs: list, params: tuple) -> None:
    builder = lowering.builder
    out = builder.new_var("", EFFECT_TYPE)
    builder.emit(Eqn(prim, tuple(inputs), (out,), params, builder.loc, builder.role))


# --- assert ---------------------------------------------------------------------------------
@lowers_statement(ast.Assert)
def lower_assert(lowering: Lowering, node: ast.Assert, since: int) -> None:
    if sys.flags.optimize:  # python -O: Python compiled the function without its asserts
        return
    test = truth_of(lowering, evaluate(lowering, node.test), node.test)
    arguments = [node.msg] if node.msg is not None else []
    failure = ast.Raise(ast.Call(ast.Name("AssertionError", ast.Load()), arguments, []), None)
    ast.fix_missing_locations(ast.copy_location(failure, node))
    if not isinstance(test, Tracer):
        if not test:  # known to fail for this signature: the generated code raises
            lower_raise(lowering, failure, since)
        return
    failed = lowering.builder.apply("logical_not", (test,))
    assert isinstance(failed, Tracer)  # a traced test gives a traced result
    join_branches(lowering, node, failed, [[failure], []])


# --- with -----------------------------------------------------------------------------------
@lowers_statement(ast.With)
def lower_with(lowering: Lowering, node: ast.With, since: int) -> None:
    first, *more = node.items
    context = _context(lowering, first, node)
    body = node.body
    if more:  # with a, b: ... is with a: with b: ...
        inner = ast.copy_location(ast.With(items=more, body=node.body), node)
        body = [ast.fix_missing_locations(inner)]
    entered = lowering.builder.tracer(Const(context, "context"))
    with rewritten(lowering, node, body):
        if not block_returns(body):
            join_branches(lowering, node, entered, [body, []], is_entered=True)
        elif always_returns(body):
            join_returns(lowering, node, entered, [body, []], is_entered=True)
        else:
            raise lowering.located(
                UnsupportedSyntax,
                "a 'return' inside a 'with' block must end every path through the block; "
                "assign the result, and return it after the block",
                node,
            )


def _context(lowering: Lowering, item: ast.withitem, node: ast.With) -> Context:
    """The context manager of ``item``, checked to leave the data alone."""
    expression = item.context_expr
    function = None
    if isinstance(expression, ast.Call):
        function = lowering.world.unwrap(evaluate(lowering, expression.func))
    if not _is_context(function) or not isinstance(expression, ast.Call):
        raise _unknown_context(lowering, expression, function, node)
    if item.optional_vars is not None:  # (after the check above: the advice must hold)
        raise lowering.located(
            UnsupportedSyntax,
            f"'with ... as {ast.unparse(item.optional_vars)}' is not supported: what a "
            "context manager gives is not followed; write 'with "
            f"{ast.unparse(item.context_expr)}:' without 'as'",
            node,
        )
    callee, module = CONTEXTS[function]
    args = [_literal(lowering, arg, callee, node) for arg in expression.args]
    keywords = []
    for keyword in expression.keywords:
        if keyword.arg is None:
            raise lowering.located(UnsupportedSyntax, "'**kwargs' in calls is not supported", node)
        keywords.append((keyword.arg, _literal(lowering, keyword.value, callee, node)))
    return Context(callee, module, tuple(args), tuple(keywords))


def _is_context(function: object) -> bool:
    try:
        return function in CONTEXTS
    except TypeError:  # unhashable: not one of them
        return False


def _literal(lowering: Lowering, node: ast.expr, callee: str, where: ast.With) -> object:
    value = lowering.world.unwrap(evaluate(lowering, node))
    if _is_literal(value):
        return value
    raise lowering.located(
        UnsupportedSyntax,
        f"the arguments of {callee}(...) must be strings, numbers or None known when "
        f"compiling; '{ast.unparse(node)}' is not",
        where,
    )


def _unknown_context(
    lowering: Lowering, expression: ast.expr, function: object, node: ast.With
) -> UnsupportedSyntax:
    known = ", ".join(f"{callee}(...)" for callee, _ in CONTEXTS.values())
    why = "it may change the values the block computes"
    if function is contextlib.suppress:
        why = "it swallows exceptions, which changes which statements run"
    elif is_hashable(function) and function in FILE_READERS:
        why = (
            "it reads a file, which can change between calls (srcad would read it once, "
            "when compiling); read the file outside the function and pass the values in"
        )
    return lowering.located(
        UnsupportedSyntax,
        f"cannot enter '{ast.unparse(expression)}' in a differentiated function: {why}. "
        f"Supported: {known}, written in the 'with' statement; enter others in the code "
        "that calls the function",
        node,
    )


# --- settings -------------------------------------------------------------------------------
def is_setting_call(lowering: Lowering, node: ast.expr) -> bool:
    """Whether ``node`` calls a function that changes a setting (``SETTINGS``)."""
    if not isinstance(node, ast.Call):
        return False
    function = lowering.world.unwrap(evaluate(lowering, node.func))
    try:
        return function in SETTINGS
    except TypeError:  # unhashable: not one of them
        return False


def lower_setting_call(lowering: Lowering, node: ast.Call) -> None:
    """``warnings.simplefilter("ignore")``: run by the generated code where it stands."""
    function = lowering.world.unwrap(evaluate(lowering, node.func))
    inputs: list = []
    arguments = tuple(_argument(lowering, evaluate(lowering, a), inputs) for a in node.args)
    keywords = []
    for keyword in node.keywords:
        if keyword.arg is None:
            raise lowering.located(UnsupportedSyntax, "'**kwargs' in calls is not supported", node)
        keywords.append(
            (keyword.arg, _argument(lowering, evaluate(lowering, keyword.value), inputs))
        )
    params = (
        ("arguments", arguments),
        ("callee", SETTINGS[function]),
        ("keywords", tuple(keywords)),
    )
    _emit_effect(lowering, "outside_call", inputs, params)
