"""Library solvers whose derivative comes from a rule of their own, not from their source.

An ODE integrator's gradient is the adjoint ODE integrated backwards, not the derivative of
its stepping code (which is compiled Fortran for ``scipy.integrate.odeint``). Such a solver
is lowered by the function registered here under its module and name, which records one
equation for the whole solve and gives it a reverse rule. ``srcad.api.integrate`` registers
``scipy.integrate.odeint`` when srcad is imported, without importing SciPy:

    SOLVERS[("scipy.integrate", "odeint")] = lower_odeint
"""

from __future__ import annotations

from collections.abc import Callable

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
