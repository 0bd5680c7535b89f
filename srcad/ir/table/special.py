"""The rows of ``scipy.special``: functions from outside NumPy, spelled
``scipy.special.expit`` in generated code (which then imports ``scipy.special``). SciPy is
optional: without it these rows are left out.

A row is the function and its sympy counterpart (an expression where sympy has no function
of that name, as for ``expit``), with the interval the rule tests draw inputs from.
"""

from __future__ import annotations

from collections.abc import Callable

from srcad.ir.primitive import ELEMENTWISE, Prim
from srcad.ir.table.registry import optional_module, register

MODULE = "scipy.special"
special = optional_module(MODULE)


def _unary(fn: Callable, sympy: str, domain: tuple[float, float] = (-2.0, 2.0)) -> None:
    """An elementwise function of one argument, named as in ``scipy.special``."""
    register(Prim(fn.__name__, fn, ELEMENTWISE, 1, sympy=sympy, domain=domain, module=MODULE))


if special is not None:
    _unary(special.expit, "lambda x: 1 / (1 + exp(-x))")
    _unary(special.logit, "lambda x: log(x / (1 - x))", domain=(0.05, 0.95))
    _unary(special.erf, "erf")
