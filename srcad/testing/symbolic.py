"""Testing: the exact gradient of a scalar program, by running its source on sympy symbols.

In: the module source of a ``scalar`` family program (straight-line code on floats) and its
float arguments. Out: the exact partial derivatives at those arguments. The function's own
source is executed with ``np``, ``math``, ``abs``, ``max`` and ``min`` bound to sympy
counterparts, so the sympy expression is the program itself, operation for operation (the
generator's symbolic palette uses nothing else).

Choices (``maximum``, ``abs``, ``where``, ``clip``) are resolved at the point itself: the
oracle has already discarded points next to a kink, and away from one the derivative is the
derivative of the branch taken. This keeps sympy's expressions free of ``Piecewise`` and
``Max``, whose derivatives are slow to build.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from types import SimpleNamespace

import mpmath
import sympy


class Point:
    """The point at which choices are resolved: symbol -> value."""

    def __init__(self, values: dict):
        self.values = values

    def value(self, expression: object) -> float:
        """The numeric value of an expression at the point."""
        return float(sympy.sympify(expression).evalf(30, subs=self.values))

    def larger(self, a: object, b: object) -> object:
        """``max(a, b)``, resolved: the operand that is larger at the point."""
        return a if self.value(a) >= self.value(b) else b

    def smaller(self, a: object, b: object) -> object:
        """``min(a, b)``, resolved."""
        return a if self.value(a) <= self.value(b) else b

    def absolute(self, a: object) -> object:
        """``abs(a)``, resolved."""
        return a if self.value(a) >= 0 else -a

    def where(self, condition: object, a: object, b: object) -> object:
        """``np.where(condition, a, b)`` on scalars, resolved."""
        return a if bool(sympy.sympify(condition).subs(self.values)) else b

    def clip(self, a: object, low: object, high: object) -> object:
        """``np.clip(a, low, high)``, resolved."""
        return self.smaller(self.larger(a, low), high)


def _numpy(point: Point) -> SimpleNamespace:
    return SimpleNamespace(
        sin=sympy.sin,
        cos=sympy.cos,
        tanh=sympy.tanh,
        arctan=sympy.atan,
        exp=sympy.exp,
        log=sympy.log,
        sqrt=sympy.sqrt,
        log1p=lambda a: sympy.log(1 + a),
        expm1=lambda a: sympy.exp(a) - 1,
        square=lambda a: a**2,
        abs=point.absolute,
        maximum=point.larger,
        minimum=point.smaller,
        clip=point.clip,
        sinh=sympy.sinh,
        cosh=sympy.cosh,
        arcsinh=sympy.asinh,
        logaddexp=lambda a, b: sympy.log(sympy.exp(a) + sympy.exp(b)),
        power=sympy.Pow,
        where=point.where,
        hypot=lambda a, b: sympy.sqrt(a**2 + b**2),
        arctan2=sympy.atan2,
    )


MATH = SimpleNamespace(
    sin=sympy.sin,
    cos=sympy.cos,
    exp=sympy.exp,
    tanh=sympy.tanh,
    sqrt=sympy.sqrt,
    log=sympy.log,
    atan=sympy.atan,
)


def symbolic_function(source: str, point: Point) -> Callable:
    """The module's ``f``, defined where NumPy and math mean sympy (choices resolved at
    ``point``)."""
    module = ast.parse(source)
    module.body = [node for node in module.body if not isinstance(node, ast.Import)]
    namespace = {"np": _numpy(point), "math": MATH, "abs": point.absolute}
    namespace.update({"max": point.larger, "min": point.smaller})
    exec(compile(module, "<symbolic>", "exec"), namespace)
    return namespace["f"]


def symbolic_gradient(source: str, args: tuple) -> list[float]:
    """Exact partial derivatives of the module's ``f`` at the float arguments ``args``,
    evaluated in 30-digit arithmetic (mpmath)."""
    symbols = [sympy.Symbol(f"a{index}", real=True) for index in range(len(args))]
    values = {symbol: sympy.Float(value, 30) for symbol, value in zip(symbols, args, strict=True)}
    expression = sympy.sympify(symbolic_function(source, Point(values))(*symbols))
    derivatives = [expression.diff(symbol) for symbol in symbols]
    evaluate = sympy.lambdify(symbols, derivatives, modules="mpmath", cse=True)
    with mpmath.workdps(30):
        return [float(value) for value in evaluate(*(mpmath.mpf(arg) for arg in args))]
