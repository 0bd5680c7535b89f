"""SciPy's piecewise polynomials in differentiated code: a spline made in the function
(``CubicSpline(x, y)``, its values ``y`` and knots ``x`` from data) or read from outside
(``SPLINE = CubicSpline(t, v)``, ``PchipInterpolator``, ``Akima1DInterpolator``, ``PPoly``:
anything that is a ``scipy.interpolate.PPoly``), called at points: ``s(xq)``, ``s(xq, 1)``.

A spline made in the function gets its coefficients as SciPy computes them: the slopes at
the knots solve a tridiagonal system (the boundary conditions ``not-a-knot``, the default,
``natural`` and ``clamped``; a dense solve, or a product with its inverse where the knots
are constants), and each interval's cubic follows from its ends' values and slopes. One from
outside has its knots ``x`` and coefficients ``c`` read on every call, as its ``__call__``
reads them. Both are then evaluated as SciPy's ``PPoly`` does:

Before:  s = CubicSpline(t, y); s(xq)
After:   slopes = np.linalg.solve(A, r)                      (A, r from t and y)
         c3, c2, c1, c0 = ... (the cubic of each interval)
         i = np.clip(np.searchsorted(t, xq, side="right") - 1, 0, len(t) - 2)
         dx = xq - t[i];  ((c3[i] * dx + c2[i]) * dx + c1[i]) * dx + c0[i]

Points outside the knots take the end intervals' polynomials (``extrapolate=True``, SciPy's
default for ``CubicSpline``), are NaN (``False``) or are mapped into the knots' span
(``"periodic"``), as the spline was made or its call asks; the periodic boundary condition
is refused, saying so. The values agree with SciPy's to rounding (in float64, as SciPy
computes them); gradients reach the points, the values and the knots.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.ir.builder import Tracer
from srcad.ir.table.registry import call_primitive
from srcad.lower.callees import as_float64
from srcad.lower.context import Lowering
from srcad.lower.world import Outside

BOUNDARIES = ("not-a-knot", "natural", "clamped")
SPLINE_METHODS = ("derivative", "antiderivative", "integrate")


@dataclass(frozen=True)
class MadeSpline:
    """A piecewise polynomial made in the lowered function: knots ``x`` (n) and
    coefficients ``c`` (degree + 1, n - 1, ...), highest power first, as ``PPoly``'s."""

    x: Any
    c: Any
    extrapolate: bool | str = True
    axis: int = 0  # where the points' axes go in a value (the values' axis)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"srcad evaluates a spline made in the function as s(x), s(x, nu), "
            f"s.derivative(), s.antiderivative() and s.integrate(a, b); not s.{name}"
        )

    def derivative(self, nu: int = 1) -> MadeSpline:
        """``s.derivative(nu)``: each power's coefficient times its factor, ``nu`` times."""
        degree = np.shape(self.c)[0] - 1
        if nu > degree:
            return MadeSpline(self.x, 0.0 * self.c[:1], self.extrapolate, self.axis)
        scales = [float(math.perm(degree - j, nu)) for j in range(degree - nu + 1)]
        terms = [self.c[j] * scale for j, scale in enumerate(scales)]
        return MadeSpline(self.x, np.stack(terms), self.extrapolate, self.axis)

    def antiderivative(self, nu: int = 1) -> MadeSpline:
        """``s.antiderivative()``: each power's coefficient over its new power, and each
        interval's constant the integral from the first knot to its start."""
        spline = self
        for _ in range(nu):
            spline = spline._integrated()
        return spline

    def _integrated(self) -> MadeSpline:
        degree = np.shape(self.c)[0] - 1
        terms = [self.c[j] / float(degree + 1 - j) for j in range(degree + 1)]
        steps = np.diff(self.x)
        steps = np.reshape(steps, (-1, *(1,) * (np.ndim(self.c) - 2)))
        pieces: Any = None  # each interval's integral, by Horner's rule at its width
        for term in terms:
            pieces = term if pieces is None else pieces * steps + term
        pieces = pieces * steps
        starts = np.concatenate([0.0 * pieces[:1], np.cumsum(pieces, axis=0)[:-1]])
        return MadeSpline(self.x, np.stack([*terms, starts]), self.extrapolate, self.axis)

    def integrate(self, a: Any, b: Any, extrapolate: Any = None) -> Any:
        """``s.integrate(a, b)``: the antiderivative's change from ``a`` to ``b`` (NaN for
        limits outside the knots where the spline does not extrapolate, as SciPy's)."""
        how = self.extrapolate if extrapolate is None else extrapolate
        if how == "periodic":
            raise ValueError("integrate of a periodic spline: srcad does not lower it")
        whole = self.antiderivative()
        change = piecewise_value(self.x, whole.c, b, 0) - piecewise_value(self.x, whole.c, a, 0)
        change = _at_axis(change, np.ndim(b), self.axis) if np.ndim(b) else change
        if how is False:  # NaN where a limit is outside the knots, as SciPy's
            return np.where(_inside(self.x, a) & _inside(self.x, b), change, np.nan)
        return change


def is_spline_method(function: object) -> bool:
    """``s.derivative``, ``s.antiderivative``, ``s.integrate`` of a spline made in the
    function (run as they are, on the lowered values) or of a SciPy spline from outside."""
    if isinstance(function, Outside) and isinstance(function.owner, Outside):
        name = getattr(function.value, "__name__", "")
        return name in SPLINE_METHODS and is_piecewise_polynomial(function.owner)
    return isinstance(getattr(function, "__self__", None), MadeSpline)


def is_piecewise_polynomial(value: object) -> bool:
    """A spline this module evaluates: made in the function, or a SciPy ``PPoly``."""
    value = value.value if isinstance(value, Outside) else value
    kind: type = type(value)
    return isinstance(value, MadeSpline) or _is_ppoly_class(kind)


@functools.cache
def _is_ppoly_class(kind: type) -> bool:
    """Asked of every function the lowering calls: its class's answer, once."""
    return any(
        cls.__name__ == "PPoly" and cls.__module__.startswith("scipy.interpolate")
        for cls in kind.__mro__
    )


def _inside(knots: Any, points: Any) -> Any:
    """Where ``points`` lie within the knots' span (they may run either way)."""
    first, last = knots[0], knots[-1]
    return (points >= np.minimum(first, last)) & (points <= np.maximum(first, last))


def cubic_spline(
    x: Any, y: Any, axis: int = 0, bc_type: str = "not-a-knot", extrapolate: Any = None
) -> MadeSpline:
    """``scipy.interpolate.CubicSpline(x, y, axis, bc_type, extrapolate)`` made in the
    function."""
    if not isinstance(bc_type, str) or bc_type not in BOUNDARIES:
        raise ValueError(
            f"CubicSpline with bc_type={bc_type!r}: srcad makes splines with the boundary "
            f"conditions {', '.join(BOUNDARIES)}"
        )
    if extrapolate not in (None, True, False, "periodic"):
        raise ValueError(f"CubicSpline with extrapolate={extrapolate!r}")
    x, y = as_float64(x), as_float64(y)  # SciPy computes splines in float64
    axis = axis % max(np.ndim(y), 1)
    if axis != 0:
        y = np.moveaxis(y, axis, 0)
    if np.ndim(x) != 1 or np.shape(x)[0] < 2 or np.shape(y)[0] != np.shape(x)[0]:
        raise ValueError(
            "CubicSpline takes 1-d knots x (at least 2) and values y with as many along axis"
        )
    if not isinstance(x, Tracer) and not np.all(np.diff(x) > 0):
        raise ValueError("CubicSpline: `x` must be strictly increasing sequence.")
    steps = np.diff(x)
    trailing = (1,) * (np.ndim(y) - 1)
    widths = np.reshape(steps, (-1, *trailing))
    secants = np.diff(y, axis=0) / widths
    n = np.shape(x)[0]
    if n == 2 and bc_type == "not-a-knot":  # a line
        slopes = np.concatenate([secants, secants])
    else:
        slopes = _slopes(x, steps, secants, bc_type, trailing)
    t = (slopes[:-1] + slopes[1:] - 2.0 * secants) / widths
    cubic = t / widths
    square = (secants - slopes[:-1]) / widths - t
    coefficients = np.stack([cubic, square, slopes[:-1], y[:-1]])
    if isinstance(x, Tracer):  # knots from data: NaN where SciPy raises (not increasing)
        coefficients = np.where(np.all(steps > 0), coefficients, np.nan)
    return MadeSpline(x, coefficients, True if extrapolate is None else extrapolate, axis)


def _at_axis(values: Any, point_dims: int, axis: int) -> Any:
    """``values`` (the points' axes first) with the points' axes where SciPy puts them: at
    the spline's ``axis`` among the values' other axes."""
    if axis == 0 or point_dims == 0:
        return values
    return np.moveaxis(values, tuple(range(point_dims)), tuple(range(axis, axis + point_dims)))


def _slopes(x: Any, h: Any, secants: Any, bc_type: str, trailing: tuple) -> Any:
    """The spline's slopes at the knots: the solution of SciPy's tridiagonal system."""
    n = np.shape(x)[0]
    matrix = _system(h, n, bc_type)
    right = _right_side(x, h, secants, n, bc_type, trailing)
    if isinstance(matrix, np.ndarray):  # constant knots: the inverse, once
        return np.tensordot(np.linalg.inv(matrix), right, axes=1)
    return np.linalg.solve(matrix, np.reshape(right, (n, -1))).reshape(np.shape(right))


def _system(h: Any, n: int, bc_type: str) -> Any:
    """The matrix of SciPy's system for the slopes (rows: the ends' conditions around the
    interior knots' continuity of the second derivative)."""
    if n == 3 and bc_type == "not-a-knot":  # one parabola through the three points
        first = np.array([1.0, 1.0, 0.0])
        last = np.array([0.0, 1.0, 1.0])
    elif bc_type == "not-a-knot":
        first = np.concatenate([h[1:2], h[:1] + h[1:2], np.zeros(n - 2)])
        last = np.concatenate([np.zeros(n - 2), h[-1:] + h[-2:-1], h[-2:-1]])
    elif bc_type == "natural":
        first = np.concatenate([np.array([2.0, 1.0]), np.zeros(n - 2)])
        last = np.concatenate([np.zeros(n - 2), np.array([1.0, 2.0])])
    else:  # clamped: zero slopes
        first = np.concatenate([np.array([1.0]), np.zeros(n - 1)])
        last = np.concatenate([np.zeros(n - 1), np.array([1.0])])
    interior = (
        np.diag(np.concatenate([np.zeros(1), 2.0 * (h[:-1] + h[1:]), np.zeros(1)]))
        + np.diag(np.concatenate([np.zeros(1), h[:-1]]), 1)
        + np.diag(np.concatenate([h[1:], np.zeros(1)]), -1)
    )
    rows = np.arange(n)
    return np.where((rows == 0)[:, None], first, np.where((rows == n - 1)[:, None], last, interior))


def _right_side(x: Any, h: Any, secants: Any, n: int, bc_type: str, trailing: tuple) -> Any:
    """The right-hand side of the slopes' system (one column per trailing element of y)."""
    widths = np.reshape(h, (-1, *trailing))
    interior = 3.0 * (widths[1:] * secants[:-1] + widths[:-1] * secants[1:])
    if n == 3 and bc_type == "not-a-knot":
        first, last = 2.0 * secants[:1], 2.0 * secants[-1:]
    elif bc_type == "not-a-knot":
        d0, d1 = widths[:1], widths[1:2]
        span = d0 + d1
        first = ((d0 + 2.0 * span) * d1 * secants[:1] + d0**2 * secants[1:2]) / span
        e0, e1 = widths[-1:], widths[-2:-1]
        end_span = e0 + e1
        last = (e0**2 * secants[-2:-1] + (2.0 * end_span + e0) * e1 * secants[-1:]) / end_span
    elif bc_type == "natural":
        first, last = 3.0 * secants[:1], 3.0 * secants[-1:]
    else:
        first, last = 0.0 * secants[:1], 0.0 * secants[-1:]
    return np.concatenate([first, interior, last])


def spline_value(
    lowering: Lowering, spline: object, args: list, kwargs: dict, node: ast.Call
) -> Any:
    """``s(xq)`` or ``s(xq, nu)`` of a spline made in the function or read from outside."""
    points, order, extrapolate = _call_arguments(lowering, args, kwargs, node)
    made = _as_made(lowering, spline)
    how = made.extrapolate if extrapolate is None else extrapolate
    if how not in (True, False, "periodic"):
        raise lowering.located(
            UnsupportedSyntax, f"'{ast.unparse(node)}': extrapolate={how!r}", node
        )
    points = as_float64(points)  # as SciPy evaluates
    knots = made.x
    if how == "periodic":  # SciPy maps the points into the knots' span
        first, last = knots[0], knots[-1]
        points = first + np.mod(points - first, last - first)
    values = piecewise_value(knots, made.c, points, order)
    if how is False:  # NaN outside the knots, as SciPy's
        inside = _inside(knots, points)
        trailing = (1,) * (np.ndim(values) - np.ndim(inside))
        values = np.where(np.reshape(inside, (*np.shape(inside), *trailing)), values, np.nan)
    return _at_axis(values, np.ndim(points), made.axis)


def spline_method(lowering: Lowering, method: object, args: list, kwargs: dict) -> Any:
    """``s.derivative(2)``, ``s.antiderivative()``, ``s.integrate(a, b)`` of a spline made
    in the function or read from outside (``TABLE.integrate(0.0, t)``)."""
    if isinstance(method, Outside):
        owner = cast(Outside, method.owner)
        name = cast(Any, method.value).__name__
        return getattr(_as_made(lowering, owner), name)(*args, **kwargs)
    return cast(Callable, method)(*args, **kwargs)


def _as_made(lowering: Lowering, spline: object) -> MadeSpline:
    """A spline read from outside as one made here: its knots, coefficients, way of
    extrapolating and axis read through its path on every call (its class fixed)."""
    if not isinstance(spline, Outside):
        return cast(MadeSpline, spline)
    world = lowering.world
    kind = spline.path.child("attr", "__class__", f"type({spline.path.text})")
    world.fix(type(spline.value), kind)  # another object there is not evaluated so
    knots, coefficients = world.attribute(spline, "x"), world.attribute(spline, "c")
    extrapolate = world.attribute(spline, "extrapolate")
    axis = world.attribute(spline, "axis")
    return MadeSpline(knots, coefficients, cast(Any, extrapolate), cast(int, axis))


def _call_arguments(lowering: Lowering, args: list, kwargs: dict, node: ast.Call) -> tuple:
    names = ("x", "nu", "extrapolate")
    given = dict(zip(names, args, strict=False)) | kwargs
    order = given.get("nu", 0)
    if len(args) > 3 or set(given) - set(names) or "x" not in given or type(order) is not int:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': srcad evaluates a spline as s(x) or s(x, nu) with nu an "
            "int written in the code",
            node,
        )
    if order < 0:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': Order of derivative cannot be negative (SciPy's error)",
            node,
        )
    return given["x"], order, given.get("extrapolate")


def piecewise_value(knots: Any, coefficients: Any, points: Any, order: int) -> Any:
    """``PPoly(coefficients, knots)(points, order)``: each point's interval's polynomial
    (the end ones outside the knots), differentiated ``order`` times, by Horner's rule.
    Knots may run either way, as SciPy's: descending ones are searched negated."""
    degree = np.shape(coefficients)[0] - 1
    intervals = np.shape(knots)[0] - 1
    way = np.where(knots[-1] >= knots[0], 1.0, -1.0)
    found = np.searchsorted(way * knots, way * points, side="right")
    where = np.clip(found - 1, 0, intervals - 1)
    trailing = (1,) * (np.ndim(coefficients) - 2)
    offset = points - _taken(knots, where)
    offset = np.reshape(offset, (*np.shape(offset), *trailing)) if trailing else offset
    if order > degree:
        return 0.0 * _taken(coefficients[0], where)
    total: Any = None
    for j in range(degree - order + 1):
        scale = math.perm(degree - j, order)  # the power's factor in the derivative
        term = _taken(coefficients[j], where)
        term = term * float(scale) if scale != 1 else term
        total = term if total is None else total * offset + term
    return total


def _taken(array: Any, positions: Any) -> Any:
    """``np.take(array, positions, axis=0)``, recorded where either is traced (NumPy hands
    ``np.take`` to ``array``'s type only)."""
    return call_primitive(np.take, array, positions, axis=0)
