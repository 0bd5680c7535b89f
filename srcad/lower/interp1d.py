"""SciPy's ``interp1d`` in differentiated code: an interpolant made in the function
(``f = interp1d(t, v, kind="linear")``, its samples from data) or read from outside (a
global ``TABLE = interp1d(t, v)``, its arrays read on every call), called at points.

Each kind is evaluated as SciPy's ``interp1d`` evaluates it, with the same searches, so the
values agree to rounding and each point takes the same sample or segment:

    linear    searchsorted(x, xq) clipped to 1..n-1: the segment lo = i - 1, hi = i, and
              slope * (xq - x[lo]) + y[lo] (where SciPy hands it to ``np.interp``, one row
              of float64 samples and no extrapolation, as NumPy's: a point at a sample
              takes that sample's value and the next segment)
    slinear   the same formula
    nearest   the sample whose midpoints bracket xq (``nearest-up``: ties go up)
    previous  y[searchsorted(x, xq, "right") - 1], ``next`` y[searchsorted(x, xq, "left")]
    zero      as ``previous``, the end samples outside
    cubic     the not-a-knot cubic spline through the samples (``srcad.lower.interpolate``)

Points outside the samples raise SciPy's ``ValueError`` (``bounds_error``, the default
unless ``fill_value="extrapolate"``): the generated code checks them on every call and
raises with SciPy's message. Otherwise they take ``fill_value`` (NaN by default, or a pair
for below and above) or, with ``"extrapolate"``, the end segment or sample. Gradients reach
the sample values ``y``, the sample points ``x`` (through the segments' slopes) and the
points ``xq``; a sample chosen by a search passes no gradient to ``xq``.

Before:  f = interp1d(t, v); f(tq)
After:   i = np.clip(np.searchsorted(t, tq), 1, n - 1); lo = i - 1
         if np.any(tq < t[0]): raise ValueError(...)        (also above t[-1])
         (v[i] - v[lo]) / (t[i] - t[lo]) * (tq - t[lo]) + v[lo]
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.ir.builder import Tracer
from srcad.ir.primitive import call_primitive
from srcad.lower.branches import emit_cond
from srcad.lower.context import Lowering
from srcad.lower.effects import emit_raise
from srcad.lower.interpolate import cubic_spline, piecewise_value
from srcad.lower.literals import format_string
from srcad.lower.world import Outside

KINDS = ("linear", "slinear", "nearest", "nearest-up", "previous", "next", "zero", "cubic")
ORDERS = {0: "zero", 1: "slinear", 3: "cubic"}  # kind=k, as SciPy's spline kinds
FEWEST = {"cubic": 4}  # samples a kind needs (others: 2)
SPLINES = ("zero", "slinear", "cubic")  # SciPy's spline kinds


@dataclass(frozen=True)
class MadeInterpolant:
    """An ``interp1d`` as the lowering evaluates it: sorted sample points ``x`` (n), values
    ``y`` with the interpolation axis first (n, ...), and what points outside get."""

    x: Any
    y: Any
    kind: str
    axis: int  # where the points' axes go in a value
    bounds_error: bool
    extrapolate: bool
    below: Any = np.nan  # values below and above the samples, where they are filled
    above: Any = np.nan
    searched: Any = None  # what a table from outside searches (its midpoints, or shifted x)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"srcad evaluates an interp1d made in the function as f(x); not f.{name}"
        )


def interp1d(
    x: Any,
    y: Any,
    kind: Any = "linear",
    axis: int = -1,
    copy: bool = True,
    bounds_error: Any = None,
    fill_value: Any = np.nan,
    assume_sorted: bool = False,
) -> MadeInterpolant:
    """``scipy.interpolate.interp1d(x, y, kind, axis, copy, bounds_error, fill_value,
    assume_sorted)`` made in the function."""
    kind = _kind(kind)
    x, y = _as_array(x), _as_array(y)
    if np.ndim(x) != 1:
        raise ValueError("the x array must have exactly one dimension.")
    if np.ndim(y) == 0:
        raise ValueError("the y array must have at least one dimension.")
    axis = axis % np.ndim(y)
    y = np.moveaxis(y, axis, 0) if axis != 0 else y
    if np.shape(y)[0] != np.shape(x)[0]:
        raise ValueError("x and y arrays must be equal in length along interpolation axis.")
    if np.shape(x)[0] < FEWEST.get(kind, 2):
        raise ValueError(f"x and y arrays must have at least {FEWEST.get(kind, 2)} entries")
    if not assume_sorted:
        x, y = _sorted(x, y)
    if kind in SPLINES and not isinstance(x, Tracer) and np.any(np.diff(x) == 0):
        raise ValueError("Expect x to not have duplicates")  # SciPy's splines
    if np.dtype(getattr(y, "dtype", np.float64)).kind not in "fc":
        y = y.astype(np.float64)
    extrapolate = isinstance(fill_value, str) and fill_value == "extrapolate"
    if extrapolate and bounds_error:
        raise ValueError("Cannot extrapolate and raise at the same time.")
    raises = not extrapolate and (bounds_error is None or bool(bounds_error))
    below, above = _fill_values(fill_value, kind, y, extrapolate)
    if kind in ("previous", "next"):
        extrapolate = False  # SciPy fills the side it cannot extrapolate (NaN)
    return MadeInterpolant(x, y, kind, axis, raises, extrapolate, below, above)


def _sorted(x: Any, y: Any) -> tuple[Any, Any]:
    """The samples in the order of ``x`` (a stable sort, as SciPy's); constant sample
    points already in order are left as they are."""
    order = np.argsort(x, kind="mergesort")
    if not isinstance(order, Tracer) and np.array_equal(order, np.arange(len(order))):
        return x, y
    return x[order], y[order]


def _kind(kind: Any) -> str:
    if isinstance(kind, int) and not isinstance(kind, bool):
        if kind not in ORDERS:
            raise NotImplementedError(
                f"interp1d of spline order {kind}: srcad lowers the orders 0, 1 and 3"
            )
        return ORDERS[kind]
    if kind not in KINDS:
        raise NotImplementedError(
            f"interp1d with kind={kind!r}: srcad lowers the kinds {', '.join(KINDS)}"
        )
    return cast(str, kind)


def _as_array(value: Any) -> Any:
    if isinstance(value, Tracer):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tracer) for v in value):
        return np.stack(value)
    return np.asarray(value)


def _fill_values(fill_value: Any, kind: str, y: Any, extrapolate: bool) -> tuple[Any, Any]:
    """The values below and above the samples (SciPy's ``fill_value`` setter): a pair, or
    one value for both; ``previous``/``next`` extrapolate one side, NaN the other."""
    if extrapolate and kind == "previous":
        return np.nan, y[-1]
    if extrapolate and kind == "next":
        return y[0], np.nan
    if extrapolate:
        return np.nan, np.nan  # not read
    if isinstance(fill_value, tuple) and len(fill_value) == 2:
        return fill_value
    return fill_value, fill_value


def is_interpolant(value: object) -> bool:
    """An ``interp1d`` made in the function, or SciPy's from outside."""
    if isinstance(value, MadeInterpolant):
        return True
    if not isinstance(value, Outside):
        return False
    kind = type(value.value)
    return kind.__name__ == "interp1d" and kind.__module__.startswith("scipy.interpolate")


def interpolant_value(
    lowering: Lowering, interpolant: object, args: list, kwargs: dict, node: ast.Call
) -> Any:
    """``f(xq)``: the interpolated values, SciPy's error or fill values outside."""
    given = dict(zip(("x",), args, strict=False)) | kwargs
    if len(args) > 1 or set(given) != {"x"}:
        raise lowering.located(
            UnsupportedSyntax, f"'{ast.unparse(node)}': an interp1d is called as f(x)", node
        )
    made = _as_made(lowering, interpolant, node)
    points = given["x"]
    points = points if isinstance(points, Tracer) else np.asarray(points, dtype=np.float64)
    if np.dtype(points.dtype).kind != "f":
        points = points.astype(np.float64)
    values = _evaluated(made, points)
    below, above = points < made.x[0], points > made.x[-1]
    if made.bounds_error:
        _raise_outside(lowering, node, points, below, made.x[0], "below", "minimum")
        _raise_outside(lowering, node, points, above, made.x[-1], "above", "maximum")
    elif not made.extrapolate:
        trailing = (1,) * (np.ndim(values) - np.ndim(points))
        values = np.where(np.reshape(below, np.shape(below) + trailing), made.below, values)
        values = np.where(np.reshape(above, np.shape(above) + trailing), made.above, values)
    if made.axis == 0 or np.ndim(points) == 0:
        return values
    point_axes = tuple(range(np.ndim(points)))
    return np.moveaxis(values, point_axes, tuple(a + made.axis for a in point_axes))


def _evaluated(made: MadeInterpolant, points: Any) -> Any:
    """The values at ``points`` before filling (the points' axes first)."""
    x, y, n = made.x, made.y, np.shape(made.x)[0]
    if made.kind in SPLINES:  # SciPy's B-splines compute in float64
        y = y if np.dtype(y.dtype) == np.float64 else y.astype(np.float64)
    if made.kind == "cubic":
        spline = cubic_spline(x, y)
        return piecewise_value(spline.x, spline.c, points, 0)
    if made.kind in ("linear", "slinear"):
        numpy_way = made.kind == "linear" and _hands_to_numpy(made)
        if numpy_way:  # np.interp's segment: a point at a sample starts the next one
            lo = np.clip(_search(x, points, "right") - 1, 0, n - 2)
            hi = lo + 1
        else:
            hi = np.clip(_search(x, points, "left"), 1, n - 1)
            lo = hi - 1
        x_lo, y_lo = _taken(x, lo), _taken(y, lo)
        trailing = (1,) * (np.ndim(y) - 1)
        slope = (_taken(y, hi) - y_lo) / _expanded(_taken(x, hi) - x_lo, trailing)
        values = slope * _expanded(points - x_lo, trailing) + y_lo
        return np.where(points >= x[-1], y[-1], values) if numpy_way else values
    if made.kind in ("nearest", "nearest-up"):
        halves = x / 2.0
        bounds = halves[1:] + halves[:-1] if made.searched is None else made.searched
        side = "left" if made.kind == "nearest" else "right"
        return _taken(y, np.clip(_search(bounds, points, side), 0, n - 1))
    if made.searched is not None:  # SciPy's x moved by one float: its own searches
        side = "right" if made.kind == "next" else "left"
        lowest = 0 if made.kind == "next" else 1
        found = np.clip(_search(made.searched, points, side), lowest, n - 1 + lowest)
        return _taken(y, found if made.kind == "next" else found - 1)
    if made.kind == "next":
        return _taken(y, np.clip(_search(x, points, "left"), 0, n - 1))
    return _taken(y, np.clip(_search(x, points, "right"), 1, n) - 1)  # previous, zero


def _hands_to_numpy(made: MadeInterpolant) -> bool:
    """Where SciPy calls ``np.interp``: one row of float64 (or int) samples, and no
    extrapolation."""
    dtypes = (np.dtype(np.float64), np.dtype(int))
    same = np.dtype(made.x.dtype) in dtypes and np.dtype(made.y.dtype) in dtypes
    return same and np.ndim(made.y) == 1 and not made.extrapolate


def _search(sorted_values: Any, points: Any, side: str) -> Any:
    return call_primitive(np.searchsorted, sorted_values, points, side=side)


def _taken(array: Any, positions: Any) -> Any:
    return call_primitive(np.take, array, positions, axis=0)


def _expanded(values: Any, trailing: tuple) -> Any:
    return np.reshape(values, np.shape(values) + trailing) if trailing else values


def _raise_outside(
    lowering: Lowering, node: ast.Call, points: Any, outside: Any, end: Any, side: str, word: str
) -> None:
    """``if np.any(outside): raise ValueError(...)`` in the generated code, with SciPy's
    message naming the first point outside."""
    test: Any = outside  # (a Tracer answers NumPy's functions)
    if not isinstance(outside, Tracer):
        if np.any(outside):  # points and samples known now: SciPy raises when compiling
            first = np.ravel(points)[np.argmax(np.ravel(outside))]
            raise ValueError(_message(side, word, first, end))
        return
    builder = lowering.builder
    with builder.block() as raising:
        first = _taken(np.ravel(points), np.argmax(np.ravel(test)))
        text = ") in x_new is " + side + f" the interpolation range's {word} value ("
        message = format_string(lowering, ["A value (", (first, "", ""), text, (end, "", ""), ")."])
        emit_raise(lowering, ValueError, [message], {})
    emit_cond(lowering, node, cast(Tracer, np.any(test)), [], [[], []], [raising, []])


def _message(side: str, word: str, first: Any, end: Any) -> str:
    return f"A value ({first}) in x_new is {side} the interpolation range's {word} value ({end})."


def _fill_shaped(fill: Any, extra: tuple) -> Any:
    """A fill value SciPy stored (one value as shape (1,)) in the shape of one value."""
    return np.broadcast_to(np.reshape(fill, ()) if np.size(fill) == 1 else fill, extra)


def _spline_samples(
    lowering: Lowering, interpolant: Outside, shape: tuple, node: ast.Call
) -> tuple[str, Any, Any]:
    """The kind, sample points and values of a table of a spline kind from outside, read
    from the B-spline SciPy made with it (what its calls evaluate, even where its ``y`` was
    changed since): of order 0, the knots less the last; of order 1, less both ends; its
    coefficients are the values. A cubic's coefficients are not: refused."""
    world = lowering.world
    spline = cast(Outside, world.attribute(interpolant, "_spline"))
    order = world.attribute(spline, "k")
    if order not in (0, 1):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': an interp1d of spline order {order} made outside the "
            "function; make it in the function, or read a CubicSpline from outside",
            node,
        )
    knots: Any = world.attribute(spline, "t")
    values: Any = world.attribute(spline, "c")
    points = knots[:-1] if order == 0 else knots[1:-1]
    return ORDERS[cast(int, order)], points, np.reshape(values, shape)


def _as_made(lowering: Lowering, interpolant: object, node: ast.Call) -> MadeInterpolant:
    """An ``interp1d`` read from outside as one made here: what its call reads (its
    sorted samples, the rows and searched points it made from them, axis and fill values)
    read through its path on every call (its class and kind fixed)."""
    if not isinstance(interpolant, Outside):
        return cast(MadeInterpolant, interpolant)
    world = lowering.world
    kind = interpolant.path.child("attr", "__class__", f"type({interpolant.path.text})")
    world.fix(type(interpolant.value), kind)
    scipy_kind = world.attribute(interpolant, "_kind")
    axis = cast(int, world.attribute(interpolant, "axis"))
    x: Any = world.attribute(interpolant, "x")
    y: Any = world.attribute(interpolant, "y")
    y = np.moveaxis(y, axis, 0) if axis != 0 else y
    searched = None
    if scipy_kind == "spline":  # its B-spline, made when it was: its knots and values
        scipy_kind, x, y = _spline_samples(lowering, interpolant, np.shape(y), node)
    else:  # its rows as it made them (_y: y itself for one row, which np.interp reads)
        y = np.reshape(cast(Any, world.attribute(interpolant, "_y")), np.shape(y))
    if scipy_kind in ("nearest", "nearest-up"):  # the midpoints it computed when made
        searched = world.attribute(interpolant, "x_bds")
    elif scipy_kind in ("previous", "next"):
        searched = world.attribute(interpolant, "_x_shift")
    extrapolate = cast(bool, world.attribute(interpolant, "_extrapolate"))
    bounds_error = bool(world.attribute(interpolant, "bounds_error")) and not extrapolate
    below: Any = np.nan
    above: Any = np.nan
    if not extrapolate:
        extra = np.shape(y)[1:]  # SciPy keeps them of that shape, or of shape (1,)
        below = _fill_shaped(world.attribute(interpolant, "_fill_value_below"), extra)
        above = _fill_shaped(world.attribute(interpolant, "_fill_value_above"), extra)
    return MadeInterpolant(
        x, y, cast(str, scipy_kind), axis, bounds_error, extrapolate, below, above, searched
    )
