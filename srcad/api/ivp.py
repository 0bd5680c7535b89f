"""``scipy.integrate.solve_ivp`` in differentiated code, with the adjoint method as its rule.

``sol = solve_ivp(fun, t_span, y0, method, t_eval=times, args=(...))`` records one equation,
run by the generated code as SciPy's solve itself; ``sol.y`` and ``sol.t`` are its values at
``times``, as SciPy's. The reverse rule integrates the adjoint system backwards with the same
method and tolerances, from the last time to ``t_span[0]`` (as ``srcad.api.integrate`` does
for ``odeint``; ``fun`` takes ``(t, y, *args)`` here):

    dy/ds = f(s, y, θ),   da/ds = -a ∂f/∂y,   dθ̄/ds = -a ∂f/∂θ

    ys = solve_ivp_dynamics(y0, times, A)                          # forward: (len(times), n)
    dy0, dtimes, dA = solve_ivp_dynamics_adjoint(dys, ys, y0, times, A)

``times`` holds ``t_span[0]``, ``t_span[1]`` and then ``t_eval``: gradients reach the start
time and every time of ``t_eval`` (the end of ``t_span`` past the last of them changes no
value). ``t_eval`` is required: without it SciPy picks the times, and how many, from the
data. ``fun`` is read when compiling, like any callee; the arrays in ``args`` are inputs,
read on every call. A ``def`` inside the function that reads its parameters
(``def rhs(t, y): return -k * y``) gets them as its last parameters, as if passed in
``args``. The gradient is the adjoint system's, solved to the same tolerances as
the forward solve (``rtol``, ``atol``): tighten them for more digits.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from srcad.api.integrate import (
    adjoint_sweep,
    dynamics_of,
    float_arguments,
    is_float_leaf,
    products_by_vjp,
    register_solver,
)
from srcad.errors import UnsupportedSyntax
from srcad.ir import AVal
from srcad.lower.callees import as_float64
from srcad.lower.solvers import SOLVERS, record
from srcad.pytree import TreeDef, unflatten

METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")
OPTIONS = ("rtol", "atol", "max_step", "first_step", "min_step")  # numbers, passed on
_MADE: dict[tuple, str] = {}


@dataclass(frozen=True)
class Solution:
    """What ``solve_ivp`` returns, as the lowering holds it: the times and the states at
    them (``y``: one row per component, as SciPy's), and a solve that succeeded (the
    generated code raises where SciPy's did not)."""

    t: Any
    y: Any
    success: bool = True
    status: int = 0
    message: str = "The solver successfully reached the end of the integration interval."

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"srcad gives solve_ivp's t, y, success, status and message; not .{name} "
            "(dense output and events are not lowered)"
        )


def lower_solve_ivp(lowering, args: list, kwargs: dict, node: ast.Call) -> Solution:
    """The equation of ``solve_ivp(fun, t_span, y0, method, t_eval, args=..., ...)``."""
    fun, t_span, y0, method, t_eval, extra, options = _parsed(lowering, args, kwargs, node)
    leaves, treedef = float_arguments(lowering, "solve_ivp", extra, node)
    y0 = as_float64(y0)
    times = np.concatenate([as_float64(t_span), as_float64(t_eval)])
    if np.ndim(y0) != 1 or np.ndim(t_eval) != 1 or np.shape(t_span) != (2,):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': srcad differentiates solve_ivp of a 1-d state, with "
            "t_span a pair and t_eval 1-d",
            node,
        )
    name = _solver(fun, treedef, method, tuple(k for k, _ in options))
    out_aval = AVal((np.shape(t_eval)[0], np.shape(y0)[0]), "float64")
    settings = [as_float64(v) for _, v in options]  # numbers read on every call, as they are
    (states,) = record(lowering.builder, name, (y0, times, *settings, *leaves), (out_aval,))
    return Solution(times[2:], np.transpose(states))


def _parsed(lowering, args: list, kwargs: dict, node: ast.Call) -> tuple:
    names = ("fun", "t_span", "y0", "method", "t_eval")
    given = dict(zip(names, args, strict=False)) | kwargs
    refused = set(given) - {*names, "args", *OPTIONS}
    if len(args) > 5 or refused or given.get("t_eval") is None:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': srcad differentiates solve_ivp(fun, t_span, y0, "
            f"method, t_eval=times, args=..., {', '.join(OPTIONS)}): t_eval is needed "
            "(SciPy picks the times from the data without it)"
            + (f"; not {', '.join(sorted(refused))}" if refused else ""),
            node,
        )
    method = given.get("method", "RK45")
    fun, closure = dynamics_of(lowering, given["fun"], node)
    if method not in METHODS:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': method must be one of {', '.join(METHODS)}, written in "
            "the code",
            node,
        )
    options = tuple(sorted((k, v) for k, v in given.items() if k in OPTIONS))
    if not all(np.ndim(v) == 0 and is_float_leaf(as_float64(v)) for _, v in options):
        raise lowering.located(
            UnsupportedSyntax, f"'{ast.unparse(node)}': give solve_ivp's options as numbers", node
        )
    extra = given.get("args") or ()
    extra = (*(extra if isinstance(extra, tuple) else (extra,)), *closure)
    return fun, given["t_span"], given["y0"], method, given["t_eval"], extra, options


def _solver(fun: Callable, treedef: TreeDef, method: str, options: tuple[str, ...]) -> str:
    """The primitive solving with ``fun`` (made once per function, layout, method and the
    options given, whose values are inputs after the times)."""
    key = (fun, treedef, method, options)
    if key not in _MADE:
        solve = _solve_function(fun, treedef, method, options)
        adjoint = _adjoint_function(fun, treedef, method, options)
        count = len(options) + treedef.n_leaves
        _MADE[key] = register_solver("solve_ivp", fun, solve, adjoint, count)
    return _MADE[key]


def _settings(method: str, options: tuple[str, ...], values: tuple) -> dict:
    return {"method": method} | {k: float(v) for k, v in zip(options, values, strict=True)}


def _solve_function(
    fun: Callable, treedef: TreeDef, method: str, options: tuple[str, ...]
) -> Callable:
    def solve(y0, times, *inputs):
        from scipy.integrate import solve_ivp  # noqa: PLC0415 - SciPy only where it is used

        settings = _settings(method, options, inputs[: len(options)])
        extra = tuple(unflatten(treedef, list(inputs[len(options) :])))
        if times[0] == times[1]:  # an empty span (SciPy returns no states): y0 at t0
            return np.tile(np.asarray(y0, dtype=float), (len(times) - 2, 1))
        result = solve_ivp(fun, times[:2], y0, t_eval=times[2:], args=extra, **settings)
        if not result.success:
            raise RuntimeError(f"solve_ivp did not reach the end: {result.message}")
        return result.y.T

    return solve


def _adjoint_function(
    fun: Callable, treedef: TreeDef, method: str, options: tuple[str, ...]
) -> Callable:
    def adjoint(g, states, y0, times, *inputs):
        from scipy.integrate import solve_ivp  # noqa: PLC0415 - SciPy only where it is used

        settings_of = inputs[: len(options)]  # tolerances: no gradient
        settings = _settings(method, options, settings_of)
        leaves = inputs[len(options) :]
        extra = tuple(unflatten(treedef, list(leaves)))
        g, states = np.asarray(g, dtype=float), np.asarray(states, dtype=float)
        t = np.concatenate([times[:1], times[2:]])  # the start, then the times of t_eval
        ys = np.concatenate([np.asarray(y0, dtype=float)[None], states])
        gs = np.concatenate([np.zeros_like(g[:1]), g])

        def rhs(s, y):
            return fun(s, y, *extra)

        def backwards(augmented, start, t_from, t_to):
            return solve_ivp(augmented, (t_from, t_to), start, **settings).y[:, -1]

        products = products_by_vjp(fun, extra, time_first=True)
        a, a_args, dt = adjoint_sweep(rhs, products, ys, gs, t, list(leaves), backwards)
        dtimes = np.concatenate([dt[:1], [0.0], dt[1:]])
        return (a, dtimes, *(0.0 * np.asarray(v) for v in settings_of), *a_args)

    return adjoint


SOLVERS[("scipy.integrate", "solve_ivp")] = lower_solve_ivp
