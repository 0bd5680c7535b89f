"""``srcad.fixed_point``: a fixed-point solver whose gradient comes from the implicit function
theorem, not from unrolling its iterations.

``x = fixed_point(f, a, x0)`` iterates ``x = f(a, x)`` from ``x0`` until two iterates are
closer than ``tol``. At the fixed point ``x* = f(a, x*)``, so for a cotangent ``g`` of ``x*``

    w = g + w ∂f/∂x      (a fixed point too, found by the same iteration)
    ā = w ∂f/∂a

computed with srcad's own vector-Jacobian products of ``f`` at ``x*`` (autograd ships the
same rule in ``autograd.misc.fixed_points``). Outside differentiated code it is a plain
function; inside, one equation runs the solve and another the adjoint solve:

    x = fixed_point_newton(a, x0)                 # forward
    da, dx0 = fixed_point_newton_adjoint(dx, x, a, x0)

``x0`` gets no gradient (the fixed point does not depend on where the iteration starts).
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable

import numpy as np

from srcad.errors import NoDerivativeRule, UnsupportedSyntax
from srcad.ir import AVal
from srcad.ir.primitive import CUSTOM
from srcad.ir.prims import PRIMS, Prim
from srcad.lower.solvers import SOLVERS, adjoint_rule, atom_of, record
from srcad.pytree import TreeDef, flatten, unflatten
from srcad.rules.registry import VJP_RULES

MAX_ITERATIONS = 10_000
_MADE: dict[tuple, str] = {}
_SPELLINGS: dict[str, int] = {}  # how many functions of each name have a solver


def fixed_point(
    f: Callable,
    a: object,
    x0: object,
    distance: Callable | None = None,
    tol: float = 1e-10,
    max_iter: int = MAX_ITERATIONS,
) -> object:
    """The fixed point of ``x = f(a, x)`` reached from ``x0``: iterates until
    ``distance(x, previous)`` (default: the largest absolute difference) is below ``tol``.
    Differentiable with respect to ``a`` by the implicit function theorem.

    >>> import srcad
    >>> def step(a, x):
    ...     return 0.5 * (x + a / x)   # Newton's step for sqrt(a)
    >>> round(srcad.fixed_point(step, 2.0, 1.0), 12)
    1.414213562373
    """
    measure = distance or _largest_difference
    x = x0
    for _ in range(max_iter):
        x, previous = f(a, x), x
        if measure(x, previous) < tol:
            return x
    raise NoDerivativeRule(
        f"fixed_point did not converge in {max_iter} iterations (tol={tol}); f must be a "
        "contraction near the fixed point"
    )


def _largest_difference(x: object, y: object) -> float:
    return float(np.max(np.abs(np.asarray(x) - np.asarray(y))))


def lower_fixed_point(lowering, args: list, kwargs: dict, node: ast.Call) -> object:
    """The equation of ``srcad.fixed_point(f, a, x0, ...)`` called in lowered code."""
    if len(args) != 3 or set(kwargs) - {"tol", "max_iter"}:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': differentiated code calls fixed_point(f, a, x0, tol=..., "
            "max_iter=...) (the default distance)",
            node,
        )
    f, a, x0 = args
    if not isinstance(f, types.FunctionType):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': f must be a function defined with def in a module",
            node,
        )
    options = (float(kwargs.get("tol", 1e-10)), int(kwargs.get("max_iter", MAX_ITERATIONS)))
    leaves, tree = flatten(a)  # a tuple (W, b) or a dict of parameters: one input each
    name = _solver(f, options, tree)
    start = atom_of(x0).aval
    (x,) = record(lowering.builder, name, (*leaves, x0), (AVal(start.shape, start.dtype),))
    return x


def _solver(f: Callable, options: tuple[float, int], tree: TreeDef) -> str:
    """The primitives of the solve and of its adjoint for ``f``, ``options`` and the tree of
    ``a``, whose leaves come first among their inputs, then ``x0``."""
    key = (f, options, tree)
    if key in _MADE:
        return _MADE[key]
    number = _SPELLINGS[f.__name__] = _SPELLINGS.get(f.__name__, -1) + 1
    name = f"fixed_point_{f.__name__}_{number}"
    tol, max_iter = options

    def solve(*inputs):
        *leaves, x0 = inputs
        return fixed_point(f, unflatten(tree, leaves), x0, tol=tol, max_iter=max_iter)

    def adjoint(g, x, *inputs):
        from srcad.api.transforms import vjp  # noqa: PLC0415 - the API this module extends

        *leaves, x0 = inputs
        _, pull = vjp(f, unflatten(tree, leaves), x)
        w = fixed_point(lambda _, w: g + pull(w)[1], None, g, tol=tol, max_iter=max_iter)
        return (*flatten(pull(w)[0])[0], np.zeros_like(x0))

    solve.__name__ = f"fixed_point_{f.__name__}" + (f"_{number}" if number else "")
    adjoint.__name__ = f"{solve.__name__}_adjoint"
    PRIMS[name] = Prim(name, solve, CUSTOM, tree.n_leaves + 1)
    PRIMS[f"{name}_adjoint"] = Prim(f"{name}_adjoint", adjoint, CUSTOM, tree.n_leaves + 3)
    VJP_RULES[name] = adjoint_rule(f"{name}_adjoint")
    _MADE[key] = name
    return name


SOLVERS[("srcad", "fixed_point")] = lower_fixed_point
