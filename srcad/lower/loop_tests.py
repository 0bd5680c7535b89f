"""A ``while`` loop whose condition assigns (``:=``), rewritten so that the assignment
happens where Python makes it: before the first test, and before each test after that.

    while (y := y * 1.5) < 4.0:        y = y * 1.5
        n = n + 1                  →   while y < 4.0:
                                           n = n + 1
                                           y = y * 1.5

The loop's body and its condition are lowered apart (the condition is a sub-graph of the
``while``), so an assignment inside the condition would otherwise be lost. The statements
that repeat the assignment (``retest``) go at the end of the body after ``break`` and
``continue`` became flags (``srcad.lower.jumps``): a ``continue`` still tests again, a
``break`` does not. An assignment that Python makes only sometimes (after ``and``/``or``,
inside ``... if ... else ...``) is refused.
"""

from __future__ import annotations

import ast
import copy

RETEST = "srcad_retest"  # the attribute of the rewritten loop holding the assignments


class ConditionalAssignment(Exception):
    """An ``:=`` in a loop's condition that Python evaluates only sometimes."""

    def __init__(self, node: ast.NamedExpr):
        super().__init__(node)
        self.node = node


def assigns_in_test(loop: ast.While) -> bool:
    return any(isinstance(n, ast.NamedExpr) for n in ast.walk(loop.test))


def hoisted_assignments(loop: ast.While) -> list[ast.stmt]:
    """The statements that replace ``loop``: its assignments, then the loop testing the
    names, with the assignments again in ``RETEST``. Raises ``ConditionalAssignment``."""
    assignments: list[ast.stmt] = []
    test = _Hoist(assignments).visit(copy.deepcopy(loop.test))
    new_loop = ast.While(test=test, body=loop.body, orelse=loop.orelse)
    ast.copy_location(new_loop, loop)
    setattr(new_loop, RETEST, assignments)
    ast.fix_missing_locations(new_loop)
    return [*copy.deepcopy(assignments), new_loop]


def retest(loop: ast.stmt) -> list[ast.stmt]:
    """The assignments to repeat at the end of each iteration of ``loop`` (none for a loop
    not made by ``hoisted_assignments``)."""
    return copy.deepcopy(getattr(loop, RETEST, []))


class _Hoist(ast.NodeTransformer):
    """Each unconditional ``name := value`` becomes ``name``, its assignment collected in
    the order Python evaluates them."""

    def __init__(self, assignments: list[ast.stmt]):
        self.assignments = assignments

    def visit_NamedExpr(self, node: ast.NamedExpr) -> ast.expr:
        value = self.visit(node.value)  # an inner := is evaluated first
        target = ast.Name(node.target.id, ast.Store())
        self.assignments.append(ast.copy_location(ast.Assign([target], value), node))
        return ast.copy_location(ast.Name(node.target.id, ast.Load()), node)

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        node.values[0] = self.visit(node.values[0])  # always evaluated
        for later in node.values[1:]:
            _refuse_assignments(later)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        node.left = self.visit(node.left)
        node.comparators[0] = self.visit(node.comparators[0])  # a < b < c: c only if a < b
        for later in node.comparators[1:]:
            _refuse_assignments(later)
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if isinstance(
            node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            _refuse_assignments(node)  # evaluated per item, or not at all
            return node
        return super().generic_visit(node)

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        node.test = self.visit(node.test)
        _refuse_assignments(node.body)
        _refuse_assignments(node.orelse)
        return node


def _refuse_assignments(node: ast.AST) -> None:
    for inner in ast.walk(node):
        if isinstance(inner, ast.NamedExpr):
            raise ConditionalAssignment(inner)
