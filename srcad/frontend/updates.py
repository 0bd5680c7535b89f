"""Frontend: assignments that update a place from its own value, ``calls = calls + 1`` or
``self.total = self.total + loss``: the value is the place combined with an expression that
does not read the place. For a place outside the function they are writes the generated
code makes on every call, reading the place then (``srcad.lower.outside_writes``), as the
augmented ``calls += 1`` is (with Python's binary operator, not the in-place one).

Before:  self.total = self.total + loss
After:   update_of(...): place ``self.total``, other ``loss``, how ``"+"``; the lowering
         writes ``once_per_call(update_attribute, self, "total", "+", loss)`` (``"r+"`` for
         ``self.total = loss + self.total``)
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

BINARY = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}


@dataclass(frozen=True)
class Update:
    """``calls = calls + 1``: ``place`` is the operand that reads the place written,
    ``other`` the other operand, ``how`` the operator (``"+"``), or with the place on the
    right (``total = loss + total``) the operator after an ``r`` (``"r+"``)."""

    place: ast.expr
    other: ast.expr
    how: str


def update_of(node: ast.AST) -> Update | None:
    """``node`` as an update of a place from its own value, where it is one and its other
    operand does not read the place; else None."""
    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
        return None
    target, value = node.targets[0], node.value
    if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
        return None
    if not isinstance(value, ast.BinOp) or type(value.op) not in BINARY:
        return None
    how = BINARY[type(value.op)]
    if _same_place(value.left, target) and not _reads(value.right, target):
        return Update(value.left, value.right, how)
    if _same_place(value.right, target) and not _reads(value.left, target):
        return Update(value.right, value.left, f"r{how}")
    return None


def _same_place(operand: ast.expr, target: ast.expr) -> bool:
    """Whether ``operand`` reads the place ``target`` writes (the same source)."""
    if type(operand) is not type(target):
        return False
    if isinstance(operand, ast.Name) and isinstance(target, ast.Name):
        return operand.id == target.id
    return _text(operand) == _text(target)


def updated_operand(node: ast.AST) -> ast.expr | None:
    """The operand ``calls`` of ``calls = calls + 1`` (the place read and written), where
    ``node`` is such an update (``update_of``); else None."""
    update = update_of(node)
    return None if update is None else update.place


def _text(node: ast.expr) -> str:
    """``node`` as source, the same for a place read and written (``ast.dump`` tells them
    apart by their context)."""
    return ast.unparse(node)


def _reads(expression: ast.expr, place: ast.expr) -> bool:
    """Whether ``expression`` reads ``place`` as written (a read through another path is
    the lowering's to find: ``srcad.lower.outside_state``)."""
    if isinstance(place, ast.Name):
        return any(isinstance(n, ast.Name) and n.id == place.id for n in ast.walk(expression))
    text = _text(place)
    return any(isinstance(n, ast.expr) and _text(n) == text for n in ast.walk(expression))
