"""srcad: source-transformation automatic differentiation for Python and NumPy.

The public API is what this module exports; see API.md for the contract.

Seeing what srcad makes of a function: ``make_graph(fun, argnums=0, *, backward=False)(*args)``
returns a ``GraphView`` (as ``jax.make_jaxpr`` returns a jaxpr): the lowered graph, with
``backward=True`` the gradient graph (reversed as ``grad`` reverses it), the name of every
value (the one ``srcad show``, ``srcad graph`` and ``srcad explain`` use), the inputs
differentiated and the values that depend on them. Its data types are those of ``srcad.ir``
(``Graph``, ``Eqn``, ``Var``, ``Const``, ``AVal``); ``srcad.api.inspect`` holds the helpers
that walk and query them, and is what ``graph`` and ``explain`` are built on.
"""

from __future__ import annotations

from srcad import rules as _rules  # noqa: F401  (fills the rule registries)
from srcad.api.checking import check_grad, numerical_grad
from srcad.api.custom import custom_vjp, defjvp, defvjp, stop_gradient
from srcad.api.fixed_point import fixed_point
from srcad.api.grad import grad, source, value_and_grad
from srcad.api.inspect import GraphView, make_graph
from srcad.api.integrate import lower_odeint as _registers_odeint  # noqa: F401
from srcad.api.ivp import lower_solve_ivp as _registers_solve_ivp  # noqa: F401
from srcad.api.transforms import hessian, hvp, jacfwd, jacrev, jvp, vjp
from srcad.errors import (
    GradientMismatch,
    InternalError,
    NoDerivativeRule,
    SrcadError,
    UnsupportedSyntax,
)
from srcad.runtime.errors import public_api as _public_api
from srcad.tools.compare import compare
from srcad.tools.explain import explain
from srcad.tools.graph import graph

# their errors about the user's code end their tracebacks at the user's call, as grad's do
compare, explain, graph = _public_api(compare), _public_api(explain), _public_api(graph)

__all__ = [
    "GradientMismatch",
    "GraphView",
    "InternalError",
    "NoDerivativeRule",
    "SrcadError",
    "UnsupportedSyntax",
    "check_grad",
    "compare",
    "custom_vjp",
    "defjvp",
    "defvjp",
    "explain",
    "fixed_point",
    "stop_gradient",
    "grad",
    "graph",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "make_graph",
    "numerical_grad",
    "source",
    "value_and_grad",
    "vjp",
]
__version__ = "0.1.0"
