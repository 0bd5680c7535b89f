"""The rule registries and the helpers rules are written with.

A VJP rule is ordinary NumPy code: ``rule(g, out, *inputs, **params)`` returns one cotangent
per input (``None`` for an input that takes no gradient). A JVP rule is
``rule(tangents, out, *inputs, **params)`` and returns the output tangent. Rules run on
arrays (unit tests), on tracers (compilation) and on sympy wrappers (exact checks), so they
must not branch on values, only on static facts such as shapes and params.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from srcad.ir.prims import PRIMS, prim_of

VJP_RULES: dict[str, Callable] = {}
JVP_RULES: dict[str, Callable] = {}


def _prim_name(target: object) -> str:
    if isinstance(target, str) and target in PRIMS:
        return target
    prim = prim_of(target)
    if prim is None:
        raise KeyError(f"{target!r} is not a primitive; add it to srcad/ir/prims.py first")
    return prim.name


def defvjp(target: object) -> Callable[[Callable], Callable]:
    """Register the decorated function as the reverse rule of ``target``."""

    def register(rule: Callable) -> Callable:
        VJP_RULES[_prim_name(target)] = rule
        return rule

    return register


def defjvp(target: object) -> Callable[[Callable], Callable]:
    """Register the decorated function as the forward rule of ``target``."""

    def register(rule: Callable) -> Callable:
        JVP_RULES[_prim_name(target)] = rule
        return rule

    return register


def unbroadcast(g: object, x: object) -> object:
    """Sum ``g`` over the axes along which ``x`` was broadcast, giving ``x``'s shape."""
    x_shape, g_shape = np.shape(x), np.shape(g)
    if g_shape == x_shape:
        return g
    lead = len(g_shape) - len(x_shape)
    if lead > 0:
        g = np.sum(g, axis=_axis_param(tuple(range(lead))))
    stretched = tuple(i for i, n in enumerate(x_shape) if n == 1 and g_shape[lead + i] != 1)
    if stretched:
        g = np.sum(g, axis=_axis_param(stretched), keepdims=True)
    return g


def _axis_param(axes: tuple[int, ...]) -> int | tuple[int, ...]:
    """``axis=1`` rather than ``axis=(1,)`` in generated code."""
    return axes[0] if len(axes) == 1 else axes


def expand_reduced(g: object, axis: object, keepdims: bool) -> object:
    """Give a reduction's cotangent back the reduced axes (as length-1 axes)."""
    if axis is None or keepdims:
        return g
    return np.expand_dims(g, axis)
