"""srcad: source-transformation automatic differentiation for Python and NumPy.

The public API is what this module exports; see API.md for the contract.
"""

from __future__ import annotations

from srcad import rules as _rules  # noqa: F401  (fills the rule registries)
from srcad.api.checking import check_grad, numerical_grad
from srcad.api.custom import custom_vjp, defjvp, defvjp, stop_gradient
from srcad.api.grad import grad, source, value_and_grad
from srcad.api.transforms import hessian, hvp, jacfwd, jacrev, jvp, vjp
from srcad.errors import (
    GradientMismatch,
    InternalError,
    NoDerivativeRule,
    SrcadError,
    UnsupportedSyntax,
)
from srcad.tools.compare import compare
from srcad.tools.explain import explain
from srcad.tools.graph import graph

__all__ = [
    "GradientMismatch",
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
    "stop_gradient",
    "grad",
    "graph",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "numerical_grad",
    "source",
    "value_and_grad",
    "vjp",
]
__version__ = "0.1.0"
