"""srcad: source-transformation automatic differentiation for Python and NumPy.

The public API is what this module exports; see API.md for the contract.
"""

from __future__ import annotations

from srcad import rules as _rules  # noqa: F401  (fills the rule registries)
from srcad.api import grad, source, value_and_grad
from srcad.checking import check_grad, numerical_grad
from srcad.custom import custom_vjp, defvjp, stop_gradient
from srcad.errors import GradientMismatch, NoDerivativeRule, SrcadError, UnsupportedSyntax

__all__ = [
    "GradientMismatch",
    "NoDerivativeRule",
    "SrcadError",
    "UnsupportedSyntax",
    "check_grad",
    "custom_vjp",
    "defvjp",
    "stop_gradient",
    "grad",
    "numerical_grad",
    "source",
    "value_and_grad",
]
__version__ = "0.1.0"
