"""Reverse and forward rules of the ``scipy.special`` functions in the table (where SciPy is
installed), one line each as in ``elementwise``: a seed times the derivative. The exact
tests check each line against sympy's derivative of the row's counterpart.
"""

from __future__ import annotations

import math

import numpy as np

from srcad.ir.prims import optional_module
from srcad.rules.registry import defdiagonal

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

special = optional_module("scipy.special")

if special is not None:
    # fmt: off
    SEED_TIMES_DERIVATIVE = {
        special.expit: lambda d, out, x: d * out * (1 - out),
        special.logit: lambda d, out, x: d / (x * (1 - x)),
        special.erf: lambda d, out, x: d * TWO_OVER_SQRT_PI * np.exp(-(x**2)),
    }
    # fmt: on
    for function, seed_times_derivative in SEED_TIMES_DERIVATIVE.items():
        defdiagonal(function, seed_times_derivative)
