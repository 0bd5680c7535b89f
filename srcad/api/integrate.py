"""``scipy.integrate.odeint`` in differentiated code, with the adjoint method as its rule.

``odeint(func, y0, t, args=(...))`` records one equation, run by the generated code as the
solve itself; its reverse rule is a second equation that integrates the adjoint system
backwards from the last time to the first (Pontryagin; Chen et al. 2018), with srcad's own
vector-Jacobian products of ``func``:

    dy/ds = f(y, s, θ),   da/ds = -a ∂f/∂y,   dθ̄/ds = -a ∂f/∂θ      (from t[i] down to t[i-1])

    ys = odeint_dynamics(y0, t, A)                                  # forward
    dy0, dt, dA = odeint_dynamics_adjoint(dys, ys, y0, t, A)        # backward

The adjoint ``a`` starts as the last cotangent and gains each earlier one at its time; the
gradient of each later time is ``g[i] · f(y[i], t[i])`` and of the first ``-a · f(y0, t0)``
without ``g[0]``. ``func`` is read when compiling (a function of the user's, fixed and
checked per call like any callee); the arrays in ``args`` are inputs, read on every call.
A ``def`` inside the function that reads its values gets them as its last parameters.
SciPy is imported when a differentiated function calls ``odeint``, not before. Forward mode
has no rule: it is refused by name.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.ir import AVal
from srcad.ir.builder import Tracer
from srcad.ir.primitive import CUSTOM
from srcad.ir.prims import PRIMS, Prim
from srcad.lower.solvers import SOLVERS, adjoint_rule, atom_of, record
from srcad.lower.transform_targets import is_local_function, local_function_with_last_parameters
from srcad.pytree import TreeDef, flatten, unflatten
from srcad.rules.registry import VJP_RULES

# odeint's keywords that only tune the solver (numbers, read on every call)
OPTIONS = ("rtol", "atol", "mxstep", "h0", "hmax", "hmin", "mxordn", "mxords", "ixpr")
COUNTS = ("mxstep", "mxordn", "mxords", "ixpr")  # those that are ints
REFUSED = ("Dfun", "col_deriv", "full_output", "ml", "mu", "tcrit", "tfirst", "printmessg")
_MADE: dict[tuple, str] = {}
_SPELLINGS: dict[str, int] = {}  # how many functions of each name have a solver


def lower_odeint(lowering, args: list, kwargs: dict, node: ast.Call) -> object:
    """The equation of ``odeint(func, y0, t, args, **options)`` called in lowered code."""
    func, y0, t, extra, options = _parsed(lowering, args, kwargs, node)
    leaves, treedef = float_arguments(lowering, "odeint", extra, node)
    name = _solver(func, treedef, tuple(k for k, _ in options))
    settings = [v for _, v in options]  # numbers read on every call, as they are
    inputs = tuple(atom_of(v) for v in (y0, t))
    y0_aval, t_aval = inputs[0].aval, inputs[1].aval
    if y0_aval.ndim != 1 or t_aval.ndim != 1:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': srcad differentiates odeint of a 1-d state over 1-d times",
            node,
        )
    out_aval = AVal((t_aval.shape[0], y0_aval.shape[0]), "float64")
    (ys,) = record(lowering.builder, name, (y0, t, *settings, *leaves), (out_aval,))
    return ys


def _parsed(lowering, args: list, kwargs: dict, node: ast.Call) -> tuple:
    if len(args) < 3 or len(args) > 4 or any(k in REFUSED for k in kwargs):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': srcad differentiates odeint(func, y0, t, args, "
            f"{', '.join(OPTIONS[:3])}, ...) without {', '.join(REFUSED)}",
            node,
        )
    func, y0, t = args[:3]
    extra = args[3] if len(args) == 4 else kwargs.get("args", ())
    func, closure = dynamics_of(lowering, func, node)
    options = tuple(sorted((k, v) for k, v in kwargs.items() if k in OPTIONS))
    if not all(_is_number(v) for _, v in options):
        raise lowering.located(
            UnsupportedSyntax, f"'{ast.unparse(node)}': give odeint's options as numbers", node
        )
    extra = (*(extra if isinstance(extra, tuple) else (extra,)), *closure)
    return func, y0, t, extra, options


def dynamics_of(lowering, fun: object, node: ast.Call) -> tuple[types.FunctionType, list]:
    """The Python function a solver calls, and the values it reads from the lowered
    function (a ``def`` inside: they become its last parameters, passed after ``args``)."""
    closure: list = []
    if is_local_function(fun):
        fun, traced = local_function_with_last_parameters(lowering, fun, node)
        closure = list(traced.values())
    if not isinstance(fun, types.FunctionType):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': the dynamics must be a function defined with def "
            "(srcad calls it and differentiates it when the code runs)",
            node,
        )
    return fun, closure


def register_solver(prefix: str, fun: Callable, solve: Callable, adjoint: Callable, count: int):
    """The primitive ``{prefix}_{fun}`` (numbered where several functions share a name)
    running ``solve`` on ``count`` inputs after the start and the times, with ``adjoint``
    as its reverse rule; returns its name."""
    number = _SPELLINGS[fun.__name__] = _SPELLINGS.get(fun.__name__, -1) + 1
    name = f"{prefix}_{fun.__name__}_{number}"
    solve.__name__ = f"{prefix}_{fun.__name__}" + (f"_{number}" if number else "")
    adjoint.__name__ = f"{solve.__name__}_adjoint"
    PRIMS[name] = Prim(name, solve, CUSTOM, 2 + count)
    PRIMS[f"{name}_adjoint"] = Prim(f"{name}_adjoint", adjoint, CUSTOM, 4 + count)
    VJP_RULES[name] = adjoint_rule(f"{name}_adjoint")
    return name


def float_arguments(lowering, solver: str, extra: tuple, node: ast.Call) -> tuple[list, TreeDef]:
    """The leaves of what a solver passes its dynamics, and their layout: floats only."""
    leaves, treedef = flatten(tuple(extra))
    if not all(is_float_leaf(leaf) for leaf in leaves):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': {solver}'s args must be floats and float arrays here "
            "(give other values to a def at module level as default arguments, or read them "
            "from a global there)",
            node,
        )
    return leaves, treedef


def is_float_leaf(leaf: object) -> bool:
    if isinstance(leaf, Tracer):
        return leaf.aval.is_float
    return isinstance(leaf, float) or (isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f")


def _is_number(value: object) -> bool:
    if isinstance(value, Tracer):
        return value.aval.shape == () and value.aval.is_float
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _solver(func: Callable, treedef: TreeDef, options: tuple[str, ...]) -> str:
    """The primitive solving with ``func`` (made once per function, layout and the options
    given, whose values are inputs after the times)."""
    key = (func, treedef, options)
    if key not in _MADE:
        solve = _solve_function(func, treedef, options)
        adjoint = _adjoint_function(func, treedef, options)
        count = len(options) + treedef.n_leaves
        _MADE[key] = register_solver("odeint", func, solve, adjoint, count)
    return _MADE[key]


def _settings(options: tuple[str, ...], values: tuple) -> dict:
    return {k: int(v) if k in COUNTS else float(v) for k, v in zip(options, values, strict=True)}


def _solve_function(func: Callable, treedef: TreeDef, options: tuple[str, ...]) -> Callable:
    def solve(y0, t, *inputs):
        from scipy.integrate import odeint  # noqa: PLC0415 - SciPy only where it is used

        settings = _settings(options, inputs[: len(options)])
        extra = tuple(unflatten(treedef, list(inputs[len(options) :])))
        return odeint(func, y0, t, args=extra, **settings)

    return solve


def _adjoint_function(func: Callable, treedef: TreeDef, options: tuple[str, ...]) -> Callable:
    def adjoint(g, ys, y0, t, *inputs):
        from scipy.integrate import odeint  # noqa: PLC0415 - SciPy only where it is used

        settings_of = inputs[: len(options)]  # the solver's settings: no gradient
        settings = _settings(options, settings_of)
        leaves = inputs[len(options) :]
        extra = tuple(unflatten(treedef, list(leaves)))

        def rhs(s, y):
            return func(y, s, *extra)

        def backwards(augmented, start, t_from, t_to):
            return odeint(lambda state, s: augmented(s, state), start, [t_from, t_to], **settings)[
                -1
            ]

        g, ys, t = np.asarray(g, dtype=float), np.asarray(ys), np.asarray(t, dtype=float)
        products = products_by_vjp(func, extra, time_first=False)
        a, a_args, dt = adjoint_sweep(rhs, products, ys, g, t, leaves, backwards)
        return (a, dt, *(0.0 * np.asarray(v, dtype=float) for v in settings_of), *a_args)

    return adjoint


def adjoint_sweep(
    rhs: Callable, products: Callable, ys, gs, t, leaves: list, backwards: Callable
) -> tuple:
    """The adjoint system solved backwards over the intervals of ``t`` (``odeint``'s and
    ``solve_ivp``'s gradient): ``ys`` the states at ``t``, ``gs`` their cotangents,
    ``rhs(s, y)`` the dynamics, ``products`` from ``products_by_vjp``, ``backwards(f,
    start, t_from, t_to)`` the solver's end state of ``d state / ds = f(s, state)``.
    Returns the cotangent of the start, those of the dynamics' arguments (laid out as
    ``leaves``) and those of the times."""
    sizes = [int(np.size(leaf)) for leaf in leaves]
    size = ys.shape[1]
    a, a_args, dt = gs[-1].copy(), np.zeros(sum(sizes)), np.zeros_like(t)
    for i in range(len(t) - 1, 0, -1):
        dt[i] = gs[i] @ rhs(t[i], ys[i])
        if t[i] != t[i - 1]:

            def augmented(s, state):
                y, adj = state[:size], state[size : 2 * size]
                value, adj_y, adj_args = products(s, y, adj)
                return np.concatenate([value, -adj_y, -adj_args])

            end = backwards(augmented, np.concatenate([ys[i], a, a_args]), t[i], t[i - 1])
            a, a_args = end[size : 2 * size], end[2 * size :]
        a = a + gs[i - 1]
    dt[0] = -(a - gs[0]) @ rhs(t[0], ys[0])
    pieces = np.split(a_args, np.cumsum(sizes)[:-1]) if sizes else []
    shaped = [np.reshape(p, np.shape(leaf)) for p, leaf in zip(pieces, leaves, strict=True)]
    return a, shaped, dt


def products_by_vjp(fun: Callable, extra: tuple, time_first: bool) -> Callable:
    """``(s, y, a) -> (f, a ∂f/∂y, a ∂f/∂θ flattened)`` by srcad's own vjp, for dynamics
    ``fun(s, y, *θ)`` (``time_first``: solve_ivp's) or ``fun(y, s, *θ)`` (odeint's)."""
    from srcad.api.transforms import vjp  # noqa: PLC0415 - the API this module extends

    def products(s, y, adj):
        value, pull = vjp(fun, float(s), y, *extra) if time_first else vjp(fun, y, float(s), *extra)
        cotangents = pull(laid_out_like(value, adj))
        flat = [np.ravel(c) for c in flatten(tuple(cotangents[2:]))[0] if c is not None]
        adj_y = cotangents[1] if time_first else cotangents[0]
        return as_vector(value), adj_y, np.concatenate(flat) if flat else np.zeros(0)

    return products


def as_vector(value: object) -> np.ndarray:
    """What the dynamics return (an array, or a list of numbers as SciPy's examples write
    it) as the state's vector."""
    return np.concatenate([np.ravel(leaf) for leaf in flatten(value)[0]])


def laid_out_like(value: object, vector: np.ndarray) -> object:
    """``vector`` (a cotangent of the state) laid out as the dynamics' ``value``."""
    leaves, treedef = flatten(value)
    sizes = [int(np.size(leaf)) for leaf in leaves]
    pieces = np.split(np.asarray(vector, dtype=float), np.cumsum(sizes)[:-1])
    shaped = [np.reshape(p, np.shape(leaf)) for p, leaf in zip(pieces, leaves, strict=True)]
    return unflatten(treedef, [float(p) if np.ndim(p) == 0 else p for p in shaped])


SOLVERS[("scipy.integrate", "odeint")] = lower_odeint
