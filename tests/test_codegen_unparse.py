"""``srcad.codegen.unparse`` writes what ``ast.unparse`` writes, character for character.

Checked on every expression of the golden generated files, on trees that test the
precedence rules (powers and unary minus, comparisons, tuples, a node used twice, floats
that are not finite, an attribute of an int), on node kinds it hands to ``ast.unparse``, and
on 3000 random trees.
"""

from __future__ import annotations

import ast
import math
import random
from pathlib import Path

import pytest

from srcad.codegen.unparse import unparse

GENERATED = Path(__file__).resolve().parents[1] / "generated"


def _expressions(tree: ast.AST) -> list[ast.expr]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.expr)]


def test_every_expression_of_the_golden_files():
    files = sorted(GENERATED.rglob("*.py"))
    assert files
    count = 0
    for path in files:
        for node in _expressions(ast.parse(path.read_text())):
            assert unparse(node) == ast.unparse(node), (path.name, ast.unparse(node))
            count += 1
    assert count > 1000


@pytest.mark.parametrize(
    "text",
    [
        "a ** -b",
        "(-a) ** 2",
        "-a ** 2",
        "a ** b ** c",
        "(a ** b) ** c",
        "a - (b - c)",
        "a - b - c",
        "a / (b * c)",
        "not a == b",
        "(not a) == b",
        "a < b <= c",
        "(a < b) + 1",
        "x[1:2, ::3]",
        "x[1,]",
        "x[()]",
        "x[(1, 2)]",
        "f(*args)",
        "f(**kwargs)",
        "lambda t: t + 1",
        "f'{a}'",
        "a if b else c",
        "(a, b)",
        "()",
        "(a,)",
        "3 .real",
        "(1.5).real",
        "x.T @ y",
        "np.sum(x, axis=(0, 1), keepdims=True)",
        "[a, [b, c]]",
        "~a & b | c ^ d",
        "a << 2 >> b",
        "a % b // c",
        "-1.0 * x",
        "'text' + \"quoted ' text\"",
        "b'bytes'",
        "None is not a",
        "a not in b",
        "x[...]",
        "u'text'",
    ],
)
def test_precedence_and_other_kinds(text):
    node = ast.parse(text, mode="eval").body
    assert unparse(node) == ast.unparse(node)


def test_a_node_used_twice_and_floats_that_are_not_finite():
    shared = ast.BinOp(ast.Name("a"), ast.Add(), ast.Name("b"))
    tree = ast.Call(
        ast.Name("f"),
        [ast.BinOp(shared, ast.Mult(), ast.Constant(2.0)), shared],
        [ast.keyword("k", ast.Constant(math.inf))],
    )
    assert unparse(tree) == ast.unparse(tree)
    for value in (math.inf, -math.inf, math.nan, complex(1, math.inf), 1e-300, -0.0):
        node = ast.BinOp(ast.Name("x"), ast.Pow(), ast.Constant(value))
        assert unparse(node) == ast.unparse(node)
    statement = ast.parse("y = x + 1").body[0]
    assert unparse(statement) == ast.unparse(statement)  # not an expression: ast.unparse


OPERATORS = [ast.Add, ast.Sub, ast.Mult, ast.MatMult, ast.Div, ast.Pow, ast.Mod, ast.BitAnd]
UNARY = [ast.USub, ast.UAdd, ast.Not, ast.Invert]
COMPARISONS = [ast.Lt, ast.Eq, ast.IsNot, ast.NotIn]


def _random_tree(rng: random.Random, depth: int) -> ast.expr:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(
            [
                ast.Name(rng.choice("abcxy")),
                ast.Constant(rng.choice([1, 2.5, -3.0, 0, True, None, "s", math.inf])),
            ]
        )
    kind = rng.randrange(8)
    child = lambda: _random_tree(rng, depth - 1)  # noqa: E731
    if kind == 0:
        return ast.BinOp(child(), rng.choice(OPERATORS)(), child())
    if kind == 1:
        return ast.UnaryOp(rng.choice(UNARY)(), child())
    if kind == 2:
        count = rng.randrange(1, 3)
        ops = [rng.choice(COMPARISONS)() for _ in range(count)]
        return ast.Compare(child(), ops, [child() for _ in range(count)])
    if kind == 3:
        keywords = [ast.keyword("axis", child())] if rng.random() < 0.5 else []
        return ast.Call(ast.Attribute(ast.Name("np"), "f"), [child()], keywords)
    if kind == 4:
        return ast.Attribute(child(), "T")
    if kind == 5:
        index = rng.choice(
            [child(), ast.Slice(child(), None, child()), ast.Tuple([child(), ast.Slice()])]
        )
        return ast.Subscript(child(), index)
    if kind == 6:
        return ast.Tuple([child() for _ in range(rng.randrange(3))])
    return ast.List([child() for _ in range(rng.randrange(3))])


def test_random_trees():
    rng = random.Random(7)
    for _ in range(3000):
        tree = _random_tree(rng, 4)
        assert unparse(tree) == ast.unparse(tree)
