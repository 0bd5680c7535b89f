"""Frontend: assignments that update a place from its own value, ``calls = calls + 1`` or
``self.total = self.total + loss``: the value is the place combined with an expression that
does not read the place. For a place outside the function they are writes the generated
code makes on every call, reading the place then (``srcad.lower.outside_writes``), as the
augmented ``calls += 1`` is (with Python's binary operator, not the in-place one).

Before:  self.total = self.total + loss
After:   updated_operand(...) is the Attribute ``self.total``; the lowering writes
         ``once_per_call(update_attribute, self, "total", "+", loss)``
"""

from __future__ import annotations

import ast

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


def updated_operand(node: ast.AST) -> ast.expr | None:
    """The operand ``calls`` of ``calls = calls + 1`` (the place read and written), where
    ``node`` is such an update and its other operand does not read the place; else None."""
    if not isinstance(node, ast.Assign) or len(node.targets) != 1:
        return None
    target, value = node.targets[0], node.value
    if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
        return None
    if not isinstance(value, ast.BinOp) or type(value.op) not in BINARY:
        return None
    if _text(value.left) != _text(target) or _reads(value.right, target):
        return None
    return value.left


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
