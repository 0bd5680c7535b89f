"""Lowering the statements that are neither assignments nor control flow.

``def`` binds a local function (inlined where it is called), ``return`` ends the body with
its value, ``pass`` does nothing. An expression statement must have an effect srcad can
follow: ``np.add.at(y, ...)``, a method that builds a Python list (``hs.append(h)``), or a
call the generated code makes on every call (``print``, a random draw); anything else is
refused, since a value nobody reads cannot change the result.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, TypeGuard

from srcad.errors import UnsupportedSyntax
from srcad.lower.assignments import add_at
from srcad.lower.branches import ReturnReached
from srcad.lower.calls import CONTAINER_METHODS, local_function
from srcad.lower.dispatch import evaluate, lowers_statement, no_effect
from srcad.lower.world import outside_callee

if TYPE_CHECKING:
    from srcad.lower.context import Lowering


@lowers_statement(ast.FunctionDef)
def lower_function_definition(lowering: Lowering, node: ast.FunctionDef, since: int) -> None:
    lowering.env[node.name] = local_function(lowering, node)


@lowers_statement(ast.Return)
def lower_return(lowering: Lowering, node: ast.Return, since: int) -> None:
    raise ReturnReached(evaluate(lowering, node.value) if node.value is not None else None)


@lowers_statement(ast.Pass)
def lower_pass(lowering: Lowering, node: ast.Pass, since: int) -> None:
    return


@lowers_statement(ast.Expr)
def lower_expression_statement(lowering: Lowering, node: ast.Expr, since: int) -> None:
    if isinstance(node.value, ast.Constant):
        return  # a docstring or a bare constant
    if _is_add_at(node.value):
        add_at(lowering, node.value)
    elif _is_container_method_call(node.value):
        evaluate(lowering, node.value)  # hs.append(h): builds a Python list at compile time
    elif isinstance(node.value, ast.Call) and _is_outside_call(lowering, node.value):
        evaluate(lowering, node.value)  # print(...), rng.shuffle(...): runs on every call
    elif isinstance(node.value, ast.Call):
        raise lowering.located(
            UnsupportedSyntax,
            f"the result of '{ast.unparse(node.value)}' is not used; srcad follows values, "
            "so a function that changes an array in place must return it, to be assigned "
            f"(y = f(y)), or its call has no effect here",
            node,
        )
    else:
        raise no_effect(lowering, node)


def _is_outside_call(lowering: Lowering, call: ast.Call) -> bool:
    return outside_callee(evaluate(lowering, call.func)) is not None


def _is_add_at(node: ast.expr) -> TypeGuard[ast.Call]:
    return isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.add.at", "numpy.add.at")


def _is_container_method_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CONTAINER_METHODS
    )
