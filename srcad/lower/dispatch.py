"""Which function lowers each kind of statement and expression.

The modules of the lowering register their functions with ``lowers_statement`` and
``lowers_expression``; ``lower_statement`` and ``evaluate`` look them up by the node's
class. (A table, rather than imports, connects them: lowering is recursive, so the modules
call one another in a cycle that imports could not follow.) ``srcad.lower.function``
imports every module that registers rules.

The frames that lower a statement hold its ``Loc`` in a local variable: an unexpected
exception is reported at the user's line being compiled, which ``srcad.runtime.errors``
finds there.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from srcad.errors import UnsupportedSyntax
from srcad.ir.builder import StaticValueNeeded, TraceError
from srcad.lower.fixed_floats import fixed_when_needed

if TYPE_CHECKING:
    from srcad.lower.context import Lowering

# A rule gets the node of its kind (and, for a statement, where its equations start).
StatementRule = Callable[["Lowering", Any, int], None]
ExpressionRule = Callable[["Lowering", Any], object]
S = TypeVar("S", bound=StatementRule)
X = TypeVar("X", bound=ExpressionRule)

STATEMENTS: dict[type[ast.stmt], StatementRule] = {}
EXPRESSIONS: dict[type[ast.expr], ExpressionRule] = {}
# "loss %.3f" % loss: the rule that formats a string with values from data, by operator
STRING_FORMATS: dict[type[ast.operator], Callable[..., object]] = {}
# The rule that lowers a call (``srcad.lower.calls.call``), for a call an expression makes
# without a call in the source: a property's getter read as an attribute (``hp.scaled``)
CALL: list[Callable[..., object]] = []


def lowers_statement(*kinds: type[ast.stmt]) -> Callable[[S], S]:
    """Register the decorated function as the rule for statements of these kinds."""

    def register(rule: S) -> S:
        STATEMENTS.update(dict.fromkeys(kinds, rule))
        return rule

    return register


def lowers_expression(*kinds: type[ast.expr]) -> Callable[[X], X]:
    """Register the decorated function as the rule for expressions of these kinds."""

    def register(rule: X) -> X:
        EXPRESSIONS.update(dict.fromkeys(kinds, rule))
        return rule

    return register


def lower_statement(lowering: Lowering, node: ast.stmt) -> None:
    """Lower one statement, its equations located at its line."""
    loc = lowering.location(node)  # also in this frame for srcad.runtime.errors to find
    since = len(lowering.builder.eqns)
    enclosing, lowering.statement = lowering.statement, node
    with lowering.builder.at(loc, "primal"):
        try:
            dispatch_statement(lowering, node, since)
        except StaticValueNeeded:
            raise  # a loop being kept as a loop unrolls and tries again
        except TraceError as error:
            raise lowering.trace_error(error, node) from None
        finally:
            lowering.statement = enclosing


def dispatch_statement(lowering: Lowering, node: ast.stmt, since: int) -> None:
    """Lower one statement with its rule (``since``: where its equations start, so that
    assignments can name what the statement computed)."""
    rule = STATEMENTS.get(type(node))
    if rule is None:
        raise no_effect(lowering, node)
    rule(lowering, node, since)


def no_effect(lowering: Lowering, node: ast.stmt) -> UnsupportedSyntax:
    """The error for a statement that does not change what the function computes."""
    return lowering.located(
        UnsupportedSyntax,
        f"the statement '{ast.unparse(node).splitlines()[0]}' has no effect on the "
        "result; remove it from the function you differentiate",
        node,
    )


def evaluate(lowering: Lowering, node: ast.expr) -> object:
    """The value of an expression: a tracer for data, a Python value for the rest."""
    rule = EXPRESSIONS.get(type(node))
    if rule is None:
        raise lowering.located(
            UnsupportedSyntax,
            f"the expression '{ast.unparse(node)}' is not supported",
            node,
        )
    return rule(lowering, node)


def evaluate_at(lowering: Lowering, statement: ast.stmt, expression: ast.expr) -> object:
    """Evaluate ``expression`` with ``statement``'s location (for errors and comments)."""
    loc = lowering.location(statement)  # also in this frame for srcad.runtime.errors to find
    with lowering.builder.at(loc, "primal"):
        try:
            return evaluate(lowering, expression)
        except StaticValueNeeded as error:  # a loop unrolls, a float outside is fixed
            if error.values and fixed_when_needed(lowering, error.values):
                raise
            raise lowering.trace_error(error, statement) from None
        except TraceError as error:
            raise lowering.trace_error(error, statement) from None
