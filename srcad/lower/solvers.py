"""Library solvers whose derivative comes from a rule of their own, not from their source.

An ODE integrator's gradient is the adjoint ODE integrated backwards, not the derivative of
its stepping code (which is compiled Fortran for ``scipy.integrate.odeint``). Such a solver
is lowered by the function registered here under its module and name, which records one
equation for the whole solve and gives it a reverse rule. ``srcad.api.integrate`` registers
``scipy.integrate.odeint`` when srcad is imported, without importing SciPy:

    SOLVERS[("scipy.integrate", "odeint")] = lower_odeint
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from srcad.ir import AVal, Const, Eqn
from srcad.ir.builder import Tracer

if TYPE_CHECKING:
    from srcad.ir.builder import GraphBuilder

# (the package the solver is public in, its name) -> its lowering (lowering, args, kwargs, node)
SOLVERS: dict[tuple[str, str], Callable[..., object]] = {}


def solver_of(function: object) -> Callable[..., object] | None:
    """The lowering of ``function`` if it is a registered solver."""
    module = getattr(function, "__module__", None)
    name = getattr(function, "__name__", None)
    if not isinstance(module, str) or not isinstance(name, str):
        return None
    for (package, solver), lowering in SOLVERS.items():
        if name == solver and (module == package or module.startswith(package + ".")):
            return lowering
    return None


def atom_of(value: object):
    """A solver input as the equation records it."""
    return value.atom if isinstance(value, Tracer) else Const(value)


def record(
    builder: GraphBuilder, prim_name: str, values: Iterable[object], avals: Iterable[AVal]
) -> tuple[Tracer, ...]:
    """Append ``prim_name(*values)`` with outputs of ``avals`` (a solver's shapes are known
    without running it); returns their tracers."""
    outputs = tuple(builder.new_var("", aval) for aval in avals)
    inputs = tuple(atom_of(v) for v in values)
    builder.emit(Eqn(prim_name, inputs, outputs, (), builder.loc, builder.role, builder.origin))
    return tuple(builder.tracer(v) for v in outputs)


def adjoint_rule(adjoint_name: str) -> Callable:
    """The reverse rule of a solver ``outputs = solve(*inputs)``: one equation of
    ``adjoint_name(g, out, *inputs)``, which gives a cotangent for every input."""

    def vjp(g, out, *inputs):
        avals = [AVal(atom_of(v).aval.shape, atom_of(v).aval.dtype) for v in inputs]
        return record(g.builder, adjoint_name, (g, out, *inputs), avals)

    return vjp
