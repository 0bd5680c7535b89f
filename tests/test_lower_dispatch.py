"""The lowering's rules: every kind of statement and expression srcad supports has one once
``srcad.lower`` is imported (a rule module left out of ``RULE_MODULES`` would lose its
kinds; the frontend refuses the other kinds before lowering)."""

from __future__ import annotations

import ast

import srcad.lower  # noqa: F401 - registers the rules
from srcad.lower.dispatch import EXPRESSIONS, STATEMENTS

SUPPORTED_STATEMENTS = {
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.If,
    ast.For,
    ast.While,
    ast.FunctionDef,
    ast.Return,
    ast.Expr,
    ast.Pass,
    ast.Delete,  # of names no later statement reads (the frontend refuses others)
    ast.Raise,
    ast.Assert,
    ast.With,
    ast.Try,  # with 'finally', or 'except np.linalg.LinAlgError' (others are refused)
    ast.Import,
    ast.ImportFrom,
    ast.Global,  # of names only read (the frontend refuses the others)
    ast.Nonlocal,
}
SUPPORTED_EXPRESSIONS = {
    ast.Constant,
    ast.Name,
    ast.Tuple,
    ast.List,
    ast.Dict,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.Attribute,
    ast.Subscript,
    ast.Call,
    ast.Lambda,
    ast.IfExp,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.JoinedStr,
    ast.Set,
    ast.NamedExpr,  # (s := np.sum(x**2)) > 1.0
}


def test_every_supported_kind_has_a_rule():
    assert set(STATEMENTS) == SUPPORTED_STATEMENTS
    assert set(EXPRESSIONS) == SUPPORTED_EXPRESSIONS
