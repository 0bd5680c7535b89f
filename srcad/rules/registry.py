"""The rule registries and the helpers rules are written with.

A VJP rule is ordinary NumPy code: ``rule(g, out, *inputs, **params)`` returns one cotangent
per input (``None`` for an input that takes no gradient, such as an index array); the rule
of a primitive with one input may return its cotangent bare (``return g * 2`` for
``return (g * 2,)``). For a primitive with several outputs (``slogdet``, ``split``) ``g``
and ``out`` are tuples with one entry per output; the reverse pass materialises zeros for
outputs without a cotangent.

A JVP rule is ``rule(tangents, out, *inputs, **params)``: ``tangents`` holds one tangent
per input, ``None`` for an input whose tangent is zero (the rule treats it as zero without
materialising it; it is only called when at least one tangent is not None). It returns the
output tangent, or a tuple of them for a primitive with several outputs; ``None`` stands for
a zero tangent, and a tangent may be smaller than the output when it broadcasts to it.

Most forward rules come from a helper: ``defdiagonal`` gives both rules of an elementwise
function from one line, ``deflinear`` the forward rule of a linear primitive (the primitive
applied to the tangents) and ``defbilinear`` that of a product (``x_dot @ y + x @ y_dot``).

Rules run on arrays (unit tests), on tracers (compilation) and on sympy wrappers (exact
checks), so they may only call NumPy functions that are primitives (or ``np.shape``,
``np.ndim``, ``np.size``), and must not branch on values, only on static facts such as
shapes, dtypes and params. NumPy calls on static values (``np.eye(n, dtype=x.dtype)``) are
computed right away and enter the generated code as constants.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from srcad.ir import Var
from srcad.ir.prims import PRIMS, prim_of
from srcad.ir.tracer import Tracer

VJP_RULES: dict[str, Callable] = {}
JVP_RULES: dict[str, Callable] = {}


def _prim_name(target: object) -> str:
    if isinstance(target, str) and target in PRIMS:
        return target
    prim = prim_of(target)
    if prim is None:
        raise KeyError(f"{target!r} is not a primitive; add its row to srcad/ir/table/ first")
    return prim.name


def defvjp(target: object) -> Callable[[Callable], Callable]:
    """Register the decorated function as the reverse rule of ``target``."""

    def register(rule: Callable) -> Callable:
        VJP_RULES[_prim_name(target)] = cotangents_as_tuple(rule)
        return rule

    return register


def cotangents_as_tuple(rule: Callable) -> Callable:
    """``rule`` returning a tuple of cotangents even where it returns one bare (the rule of
    a one-input primitive may write ``return g * 2`` for ``return (g * 2,)``)."""

    @functools.wraps(rule)
    def vjp(g, out, *inputs, **params):
        cotangents = rule(g, out, *inputs, **params)
        return cotangents if isinstance(cotangents, tuple) else (cotangents,)

    return vjp


def defjvp(target: object) -> Callable[[Callable], Callable]:
    """Register the decorated function as the forward rule of ``target``."""

    def register(rule: Callable) -> Callable:
        JVP_RULES[_prim_name(target)] = rule
        return rule

    return register


def defdiagonal(target: object, apply: Callable, infinite_slopes: bool = False) -> None:
    """Both rules of a function of one argument whose Jacobian is diagonal (every
    elementwise function): ``apply(seed, out, x)`` multiplies a seed by the derivative. The
    reverse rule applies it to the cotangent, the forward rule to the tangent::

        defdiagonal(np.tanh, lambda seed, out, x: seed * (1 - out**2))

    ``infinite_slopes``: the derivative is infinite where the value is finite (sqrt at 0);
    there a zero tangent stays zero (``zero_stays_zero``).
    """

    def vjp(g, out, x):
        return apply(g, out, x)

    def jvp(tangents, out, x):
        product = apply(tangents[0], out, x)
        return zero_stays_zero(tangents[0], product) if infinite_slopes else product

    defvjp(target)(vjp)
    defjvp(target)(jvp)


def zero_stays_zero(tangent, product):
    """``product`` (a tangent times a slope), 0 where the tangent is 0: a value that does not
    move has no tangent, even where the slope is infinite. Forward mode would give 0 * inf,
    NaN, at an entry that is a constant 0 in an array (the diagonal of a distance matrix
    under sqrt), and the sum of the entries NaN; reverse mode never sends a cotangent to
    such an entry."""
    return np.where(tangent == 0, 0.0, product)


def deflinear(
    target: object, linear_inputs: int | None = None, defaults: Mapping | None = None
) -> None:
    """The forward rule of a primitive that is linear in its inputs: the primitive applied
    to the tangents, with the primal call's params (``transpose(x_dot, axes)``)::

        deflinear(np.transpose)

    An input without a tangent counts as zeros (``concatenate([x_dot, zeros_like(y)])``).
    ``linear_inputs``: only the first so many inputs are; the others are index arrays,
    passed on as they are (``take(x_dot, indices)``). ``defaults``: params the tangent's call
    spells out where the primal call left them at their default (``k=0`` of ``triu``).
    """
    name = _prim_name(target)
    prim = PRIMS[name]
    spelled = dict(defaults or {})

    def jvp(tangents, out, *inputs, **params):
        n = len(inputs) if linear_inputs is None else linear_inputs
        arguments = [*zeros_for_none(tangents[:n], inputs[:n]), *inputs[n:]]
        return _as_tangents(prim.evaluate(arguments, {**spelled, **params}), out)

    JVP_RULES[name] = jvp


def _as_tangents(result: object, out: object) -> object:
    """A primitive's result as a forward rule returns it: a tuple for several outputs
    (``np.split`` gives a list), a bare tangent for one."""
    if not isinstance(result, list):
        return result
    return tuple(result) if isinstance(out, tuple) else result[0]


def defbilinear(target: object, defaults: Mapping | None = None) -> None:
    """The forward rule of a product, a primitive linear in each input when the others are
    fixed (``matmul``, ``kron``, ``einsum`` of any number of operands): the product rule
    ``product(x_dot, y) + product(x, y_dot)``, skipping zero tangents::

        defbilinear(np.matmul)

    ``defaults`` as for ``deflinear``.
    """
    name = _prim_name(target)
    prim = PRIMS[name]
    spelled = dict(defaults or {})

    def product(*factors, **params):
        return prim.evaluate(factors, params)

    def jvp(tangents, out, *inputs, **params):
        return product_rule(product, tangents, *inputs, **{**spelled, **params})

    JVP_RULES[name] = jvp


def unbroadcast(g: object, x: object) -> object:
    """Sum ``g`` over the axes along which ``x`` was broadcast, giving ``x``'s shape."""
    x_shape, g_shape = np.shape(x), np.shape(g)
    if g_shape == x_shape:
        return g
    lead = len(g_shape) - len(x_shape)
    if (
        int(np.prod(g_shape[:lead])) == 1
        and all(n == m or m == 1 for n, m in zip(g_shape[lead:], x_shape, strict=True))
        and np.size(g) == int(np.prod(x_shape))
    ):
        return np.reshape(g, x_shape)  # only length-1 axes to sum: nothing to add up
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


def add_tangents(*terms: object) -> object:
    """The sum of the terms that are not None; None when all are (a zero tangent)."""
    total = None
    for term in terms:
        if term is not None:
            total = term if total is None else total + term
    return total


def product_rule(product: Callable, tangents: tuple, *factors: object, **params) -> object:
    """The tangent of a product that is linear in each factor: the sum, over the factors
    with a tangent, of the product with that factor replaced by its tangent
    (``product(x_dot, y) + product(x, y_dot)`` for two)."""
    return add_tangents(
        *(
            None if t is None else product(*factors[:i], t, *factors[i + 1 :], **params)
            for i, t in enumerate(tangents)
        )
    )


def zeros_for_none(tangents: tuple, inputs: tuple) -> list:
    """The tangents with zeros in place of None, for rules that must pack them together."""
    return [np.zeros_like(x) if t is None else t for t, x in zip(tangents, inputs, strict=True)]


def normalize_axes(axis: object, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple, possibly negative) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(a % ndim for a in axes))


def matrix_transpose(a: object) -> object:
    """Swap the last two axes; ``a.T`` in generated code for a matrix."""
    return np.transpose(a) if np.ndim(a) == 2 else np.matrix_transpose(a)


def is_zero_cotangent(g: object) -> bool:
    """Whether an output's cotangent is known to be zero: the zeros the reverse pass makes
    for an output nothing reads (eigenvectors, when only the eigenvalues are used), or an
    array of zeros. A rule skips the terms of such an output, whose other factors may be
    infinite (``1 / (w_j - w_i)`` at a repeated eigenvalue: 0 * inf would be NaN)."""
    if isinstance(g, Tracer):
        made = g.builder.producer(g.atom) if isinstance(g.atom, Var) else None
        return made is not None and made.prim == "zeros_like"
    return g is None or isinstance(g, np.ndarray) and not g.any()


@dataclass(frozen=True)
class Refused:
    """A cotangent a reverse rule cannot give (a distribution's cdf in its shape parameter):
    the sweep refuses it, with ``reason``, where that input is differentiated, and drops it
    where it is not (a parameter read from outside, ``stats.t(df=3.0)``: a value, never
    differentiated)."""

    reason: str
