"""Lowering calls of NumPy's polynomial objects from outside the function.

A fitted polynomial held in a global (``p = np.poly1d(np.polyfit(t, y, 3))``, ``q =
Polynomial.fit(t, y, 3)``) is called like a function: ``p(x)``. Its coefficients are
floats, read on every call through their path (``p.coeffs``, ``q.coef``, and ``q``'s
``domain`` and ``window``, which map ``x`` before the power series is summed), exactly as
NumPy's ``__call__`` reads them:

    p(x)  →  np.polyval(p.coeffs, x)
    q(x)  →  np.polyval(q.coef[::-1], off + scl * x)    off, scl from q.domain, q.window

Series of other bases (Chebyshev, Legendre, Hermite, Laguerre) are refused, with the
conversion to write instead.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.lower.context import Lowering
from srcad.lower.world import Outside

# ``call(lowering, function, args, kwargs, node)``: how ``srcad.lower.calls`` lowers a call
CallFunction = Callable[[Lowering, object, list, dict, ast.Call], object]


def is_polynomial(value: object) -> bool:
    """A ``np.poly1d``, or a series of ``np.polynomial`` (any basis)."""
    return isinstance(value, (np.poly1d, np.polynomial._polybase.ABCPolyBase))


def polynomial_value(
    lowering: Lowering,
    polynomial: object,
    args: list,
    kwargs: dict,
    node: ast.Call,
    call: CallFunction,
) -> object:
    """``p(x)`` of a ``np.poly1d`` or ``np.polynomial.Polynomial`` read from outside, or
    made in the function (from numbers known when compiling: its coefficients are
    constants)."""
    if len(args) != 1 or kwargs:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': srcad evaluates a polynomial at one argument, p(x)",
            node,
        )
    world = lowering.world
    value = polynomial.value if isinstance(polynomial, Outside) else polynomial
    if isinstance(polynomial, Outside):
        world.fix(
            type(polynomial.value),
            polynomial.path.child("attr", "__class__", f"type({polynomial.path.text})"),
        )

    def attribute(name: str) -> Any:
        if isinstance(polynomial, Outside):
            return world.attribute(polynomial, name)
        return getattr(polynomial, name)

    if isinstance(value, np.poly1d):
        return call(lowering, np.polyval, [attribute("coeffs"), args[0]], {}, node)
    if type(value) is not np.polynomial.Polynomial:
        kind = type(value).__name__
        text = polynomial.path.text if isinstance(polynomial, Outside) else "p"
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' evaluates a {kind} series, which srcad does not lower; "
            f"convert it to the power basis outside the function "
            f"(q = {text}.convert(kind=np.polynomial.Polynomial)) and call that",
            node,
        )
    lowest_first: Any = attribute("coef")
    domain: Any = attribute("domain")
    window: Any = attribute("window")
    # NumPy's mapparms: the line taking the domain onto the window
    width = domain[1] - domain[0]
    offset = (domain[1] * window[0] - domain[0] * window[1]) / width
    scale = (window[1] - window[0]) / width
    mapped: Any = offset + scale * args[0]
    return call(lowering, np.polyval, [lowest_first[::-1], mapped], {}, node)
