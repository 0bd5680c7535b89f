"""Generators run when they are consumed, as Python runs them.

A generator expression bound to a name (``gen = (v * s for v in xs)``) and the call of a
generator function (``batches(X, 32)``) are ``Deferred``: Python evaluates the expression's
first iterable, or binds the call's arguments, at once, and runs the rest as the generator
is consumed, reading the names and containers it uses at that moment. srcad runs it, to its
end, where it is consumed (``sum(gen)``, ``for b in gen``, ``a, b = gen``, any call given
it), with what those hold then; consuming it a second time is refused (Python's would be
exhausted), and so is a ``for`` loop over a generator expression whose body rebinds a name
the expression reads (Python would read each new value as the loop goes).

Before: ``gen = (v * s for v in x); s = 3.0; return sum(gen)`` summed ``v * 1.0``.
After:  it sums ``v * 3.0``, as Python does.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from srcad.errors import UnsupportedSyntax

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node


@dataclass(eq=False)
class Deferred:
    """A generator not consumed yet: ``run()`` lowers it and returns its items (a list).
    ``reads``: the names of the enclosing function a generator expression reads as it goes
    (none for a generator function's call, whose own scope holds its names)."""

    run: Callable[[], object]
    text: str
    reads: frozenset[str] = field(default_factory=frozenset)
    consumed: bool = False


def consumed(lowering: Lowering, value: object, node: Node) -> object:
    """``value``, or the items of a ``Deferred`` generator, run now."""
    if not isinstance(value, Deferred):
        return value
    if value.consumed:
        raise lowering.located(
            UnsupportedSyntax,
            f"the generator '{value.text}' is consumed a second time, where Python's would be "
            "exhausted (empty); build a list ([...]) to go over the items twice",
            node,
        )
    value.consumed = True
    return value.run()


def check_loop_over(lowering: Lowering, value: object, loop: ast.For) -> None:
    """A ``for`` loop over a generator expression whose body rebinds a name the expression
    reads: Python reads the new value for each later item; refused."""
    if not isinstance(value, Deferred) or not value.reads:
        return
    assigned = {
        target.id
        for statement in loop.body
        for node in ast.walk(statement)
        for target in _targets(node)
        if isinstance(target, ast.Name)
    }
    changed = sorted(value.reads & assigned)
    if changed:
        raise lowering.located(
            UnsupportedSyntax,
            f"this loop goes over the generator '{value.text}' and rebinds {changed[0]!r}, "
            "which the generator reads as it goes; build a list first ([...]) or keep "
            f"{changed[0]!r} unchanged in the loop",
            loop,
        )


def reads_as_it_goes(node: ast.GeneratorExp) -> frozenset[str]:
    """The names a generator expression reads after its first iterable: its element, its
    conditions and its later iterables, less its own loop variables."""
    parts: list[ast.AST] = [node.elt, *node.generators[0].ifs]
    for generator in node.generators[1:]:
        parts += [generator.iter, *generator.ifs]
    own = {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}
    names = {n.id for part in parts for n in ast.walk(part) if isinstance(n, ast.Name)}
    return frozenset(names - own)


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return [n for t in node.targets for n in ast.walk(t) if isinstance(n, ast.expr)]
    if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
        return [node.target]
    if isinstance(node, ast.For):
        return [n for n in ast.walk(node.target) if isinstance(n, ast.expr)]
    return []
