"""The rows of the ``math`` module's special functions: ``math.erf``, ``math.erfc``,
``math.gamma`` and ``math.lgamma`` on Python floats, spelled so in generated code (which
then imports ``math``).

The other functions of ``math`` that have NumPy counterparts (``math.exp``, ``math.sqrt``,
``math.tanh``, ...) are aliases of NumPy's rows (see ``elementwise``). These four are rows
of their own: NumPy has no such function, and SciPy's need not be installed. They take
scalars, so the rule tests use scalar inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from srcad.ir.primitive import ELEMENTWISE, Example, Prim
from srcad.ir.table.registry import POSITIVE, register

MODULE = "math"
SCALAR: tuple[Example, ...] = ((((),), {}),)


def _unary(fn: Callable, sympy: str, domain: tuple[float, float] = (-2.0, 2.0)) -> None:
    """A function of one float, named ``math_<name>`` (``erf`` is SciPy's)."""
    name = f"math_{fn.__name__}"
    register(
        Prim(name, fn, ELEMENTWISE, 1, sympy=sympy, domain=domain, examples=SCALAR, module=MODULE)
    )


_unary(math.erf, "erf")
_unary(math.erfc, "erfc")
_unary(math.gamma, "gamma", domain=POSITIVE)
_unary(math.lgamma, "loggamma", domain=POSITIVE)
