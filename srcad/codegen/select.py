"""Emission rule: a large backward-pass ``np.where`` of arrays (or with a zero branch), without
branches.

Comes in: a ``where`` equation of the backward pass (or of a tangent) whose branches are
float32 or float64 arrays of the result's shape and dtype, or one of them the literal 0.0,
the condition a boolean array of that shape too, and ``MIN_ELEMENTS`` numbers or more. Goes
out: a call of ``srcad.runtime.select``, which gives the same numbers bit for bit and, on a condition that
changes at random from one element to the next (ReLU's), 10x faster than NumPy's ``where``
at 1024x256 (1.1 ms: a ReLU MLP's batch of 1024 spent 2.2 of its 16.8 ms there)::

    before                                       after
    dt1 = np.where(t1 >= 0.0, dh1, 0.0)          dt1 = kept_where(t1 >= 0.0, dh1)
    dy = np.where(is_x, 0.0, g)                  dy = zeroed_where(is_x, g)
    m_dot = np.where(a >= b, a_dot, b_dot)       m_dot = picked_where(a >= b, a_dot, b_dot)

Smaller arrays keep NumPy's ``where`` (below about 2048 numbers it is as fast or faster).
The forward pass stays as the user wrote it. ``plain_selects`` spells the calls as
``np.where`` again (``srcad.codegen.reuse.plain_source``), for the variants that run other array libraries and for a further
derivative of the generated code.
"""

from __future__ import annotations

import ast
import copy

import numpy as np

from srcad.ir import Atom, Const, Eqn

RUNTIME = "srcad.runtime.select"
KEPT, ZEROED = "kept_where", "zeroed_where"  # np.where(c, x, 0.0), np.where(c, 0.0, x)
PICKED = "picked_where"  # np.where(c, x, y)
HELPERS = (KEPT, ZEROED, PICKED)
MIN_ELEMENTS = 8192  # float32 64x128: 12.5 us -> 6.7; float64: 10.6 -> 9.6
FLOATS = frozenset({"float32", "float64"})


def selected(eqn: Eqn) -> tuple[str, list[Atom]] | None:
    """(the runtime function, the atoms it is called with) that spell ``eqn``, or None
    where the rule does not apply."""
    if eqn.prim != "where" or eqn.role == "primal":
        return None
    out = eqn.outputs[0].aval
    if out.dtype not in FLOATS or out.size < MIN_ELEMENTS:
        return None
    condition, x, y = eqn.inputs
    if condition.aval.dtype != "bool" or condition.aval.shape != out.shape:
        return None
    x_fits, y_fits = (_is_array_of(a, out.shape, out.dtype) for a in (x, y))
    if x_fits and y_fits:
        return PICKED, [condition, x, y]
    if x_fits and _is_zero(y):
        return KEPT, [condition, x]
    if y_fits and _is_zero(x):
        return ZEROED, [condition, y]
    return None


def import_line(helpers: set[str]) -> list[str]:
    return [f"from {RUNTIME} import {', '.join(sorted(helpers))}"] if helpers else []


class PlainSelects(ast.NodeTransformer):
    """``kept_where(c, x)`` -> ``np.where(c, x, 0.0)``, ``zeroed_where(c, x)`` ->
    ``np.where(c, 0.0, x)``, ``picked_where(c, x, y)`` -> ``np.where(c, x, y)``."""

    def visit_Call(self, node: ast.Call) -> ast.expr:  # noqa: N802 - ast's visitor name
        node = self.generic_visit(node)  # type: ignore[assignment]
        function = node.func
        if not (isinstance(function, ast.Name) and function.id in HELPERS) or node.keywords:
            return node
        arguments = list(node.args)
        if len(arguments) != (3 if function.id == PICKED else 2):
            return node
        if function.id == KEPT:
            arguments.append(ast.Constant(0.0))
        elif function.id == ZEROED:
            arguments.insert(1, ast.Constant(0.0))
        where = ast.Attribute(ast.Name("np", ast.Load()), "where", ast.Load())
        return ast.copy_location(ast.Call(where, arguments, []), node)


def plain_selects(node: ast.AST) -> ast.AST:
    """``node``, or a copy of it with the calls of this rule's functions spelled as
    ``np.where``."""
    calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
    if not any(isinstance(c.func, ast.Name) and c.func.id in HELPERS for c in calls):
        return node
    return PlainSelects().visit(copy.deepcopy(node))


def _is_zero(atom: Atom) -> bool:
    """The constant +0.0 (-0.0 is another value: NumPy's where gives it back)."""
    value = atom.value if isinstance(atom, Const) else None
    return isinstance(value, (float, np.floating)) and value == 0.0 and not np.signbit(value)


def _is_array_of(atom: Atom, shape: tuple[int, ...], dtype: str) -> bool:
    return not isinstance(atom, Const) and (atom.aval.shape, atom.aval.dtype) == (shape, dtype)
