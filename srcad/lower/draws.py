"""Random draws whose parameters are computed from the differentiated input, lowered as the
standard draw and the transformation NumPy applies to it (the reparameterization): the
values are NumPy's own, bit for bit, and the gradient flows through the parameters.

Before:  z = rng.normal(mu, sigma)
After:   z = mu + sigma * rng.standard_normal(np.broadcast_shapes(mu.shape, sigma.shape))

NumPy computes ``normal`` as ``loc + scale * standard_normal``, ``uniform`` as ``low +
(high - low) * random``, ``exponential`` as ``scale * standard_exponential`` and
``lognormal`` as ``exp(mean + sigma * standard_normal)``, drawing one standard value per
element in order, for a ``Generator`` as for ``np.random`` (``RandomState``). Draws whose
parameters are constants stay the calls they are.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Callable
from typing import Any

import numpy as np

from srcad.ir.builder import Tracer
from srcad.lower.branches import join_branches
from srcad.lower.context import Lowering
from srcad.lower.world import Outside, outside_call, outside_callee

# method: (its parameters with their defaults, the standard draw, the transformation)
Transform = Callable[..., Any]
# the parameters NumPy refuses below 0 (NaN passes), raising ValueError("scale < 0")
NON_NEGATIVE = {"normal": "scale", "exponential": "scale", "lognormal": "sigma"}
REPARAMETERIZED: dict[str, tuple[tuple[tuple[str, float], ...], str, Transform]] = {
    "normal": ((("loc", 0.0), ("scale", 1.0)), "standard_normal", lambda z, m, s: m + s * z),
    "uniform": ((("low", 0.0), ("high", 1.0)), "random", lambda u, a, b: a + (b - a) * u),
    "exponential": ((("scale", 1.0),), "standard_exponential", lambda e, s: s * e),
    "lognormal": (
        (("mean", 0.0), ("sigma", 1.0)),
        "standard_normal",
        lambda z, m, s: np.exp(m + s * z),
    ),
}


def reparameterized(
    lowering: Lowering, function: object, args: list, kwargs: dict, node: ast.Call
) -> object:
    """The draw as its standard draw transformed, where a parameter is a traced float; None
    for any other call."""
    method = _method(function)
    if _owner(function) is not None and isinstance(_owner(function), random.Random):
        return _pythons_uniform(lowering, function, args, kwargs) if method == "uniform" else None
    if method == "permutation" and len(args) == 1 and not kwargs and _is_traced_array(args[0]):
        return _permuted(lowering, function, args[0])
    if method not in REPARAMETERIZED:
        return None
    parameters, standard, transform = REPARAMETERIZED[method]
    names = [name for name, _ in parameters]
    if len(args) > len(names) + 1 or set(kwargs) - {*names, "size"}:
        return None  # a call NumPy refuses: run as it is
    given = dict(zip([*names, "size"], args, strict=False)) | kwargs
    values = [given.get(name, default) for name, default in parameters]
    if not any(isinstance(v, Tracer) and v.aval.is_float for v in values):
        return None
    if method in NON_NEGATIVE:
        _refuse_negative(lowering, NON_NEGATIVE[method], given, node)
    size = given.get("size")
    if size is None:
        size = np.broadcast_shapes(*(np.shape(v) for v in values))
    draw: Any = _standard_draw(lowering, function, standard)
    if outside_callee(draw) is None:  # a generator the function made: drawn now, as its
        drawn: object = draw(size=size)  # other draws are (its seed is fixed when compiling)
    else:
        drawn = outside_call(lowering.builder, draw, outside_callee(draw), [], {"size": size})
    return transform(drawn, *values)


def _is_traced_array(value: object) -> bool:
    return isinstance(value, Tracer) and value.aval.shape != ()


def _permuted(lowering: Lowering, function: Any, array: Tracer) -> object:
    """``rng.permutation(w)`` as ``w[rng.permutation(len(w))]``: NumPy shuffles a copy of
    ``w`` and ``np.arange(len(w))`` with the same draws, so the rows move alike."""
    length = array.aval.shape[0]
    if outside_callee(function) is None:  # a generator the function made: drawn now
        order: object = function(length)
    else:
        order = outside_call(lowering.builder, function, outside_callee(function), [length], {})
    return array[order]


def _refuse_negative(lowering: Lowering, name: str, given: dict, node: ast.Call) -> None:
    """The generated code raises NumPy's ValueError where the parameter ``name`` is below 0
    (its sign bit set, NaN aside), as NumPy's draw does."""
    value = given.get(name)
    if not isinstance(value, Tracer):
        return  # a constant: NumPy's own draw on the stand-ins checked it when compiling
    negative: Any = np.any(np.logical_and(np.signbit(value), np.logical_not(np.isnan(value))))
    message = ast.Constant(f"{name} < 0")
    failure = ast.Raise(ast.Call(ast.Name("ValueError", ast.Load()), [message], []), None)
    ast.fix_missing_locations(ast.copy_location(failure, node))
    join_branches(lowering, node, negative, [[failure], []])


def _pythons_uniform(lowering: Lowering, function: object, args: list, kwargs: dict) -> object:
    """Python's ``random.uniform(a, b)`` of traced bounds: ``a + (b - a) * random()``, as
    Python's random module computes it (the same draw)."""
    values = dict(zip(("a", "b"), args, strict=False)) | kwargs
    if set(values) != {"a", "b"} or not any(isinstance(v, Tracer) for v in values.values()):
        return None
    draw = _standard_draw(lowering, function, "random")
    drawn: Any = outside_call(lowering.builder, draw, outside_callee(draw), [], {})
    return values["a"] + (values["b"] - values["a"]) * drawn


def _owner(function: object) -> object:
    """The generator whose method ``function`` is (None for other callables)."""
    if isinstance(function, Outside):
        return function.owner.value if function.owner is not None else None
    return getattr(function, "__self__", None)


def _method(function: object) -> str | None:
    """The name of a Generator's or np.random's drawing method."""
    bound = function.value if isinstance(function, Outside) else function
    return getattr(bound, "__name__", None)


def _standard_draw(lowering: Lowering, function: object, standard: str) -> object:
    """The standard draw of the same generator: ``rng.standard_normal``,
    ``np.random.standard_normal``."""
    if isinstance(function, Outside) and function.owner is not None:
        return lowering.world.attribute(function.owner, standard)
    return getattr(function.__self__, standard)  # type: ignore[attr-defined]
