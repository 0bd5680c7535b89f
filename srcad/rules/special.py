"""Reverse and forward rules of the ``scipy.special`` functions in the table, and of the
``math`` module's special functions (``math.erf``, ``math.lgamma``).

Like the table's rows, the SciPy rules are registered once the user's code has imported
``scipy.special`` (``when_imported``). An elementwise function of one argument is one line,
as in ``elementwise``: a seed times the derivative. One of several broadcasting arguments
gives its partial derivatives (``defpartials``). The exact tests check each against sympy's
derivative of the row's counterpart; the reductions (``logsumexp``, ``softmax``,
``log_softmax``) are checked numerically on the row's examples.

SciPy functions that NumPy does not dispatch (``polygamma`` is plain Python; a ufunc whose
first argument is a static order, ``iv(2, x)``) are called through ``call_primitive``, so
that a rule records their primitive on tracers as it does for ``np.exp``.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from srcad.ir.table.registry import call_primitive, when_imported
from srcad.rules.arithmetic import share_of
from srcad.rules.registry import (
    add_tangents,
    defdiagonal,
    defjvp,
    defvjp,
    expand_reduced,
    unbroadcast,
)

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
SQRT_PI_OVER_TWO = math.sqrt(math.pi) / 2.0
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
ONE_OVER_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def mills_ratio(z: Any) -> Any:
    """The normal density over the normal cdf at ``z``, phi(z) / Phi(z), exact in either tail:
    sqrt(2 / pi) / erfcx(-z / sqrt(2)) (as z -> -inf it grows as -z; as z -> inf it goes
    to 0 with the density)."""
    from scipy import special  # imported by the user's code when a rule asks

    return SQRT_2_OVER_PI / special.erfcx(-z / math.sqrt(2.0))


def defpartials(target: Any, partials: Callable) -> None:
    """Both rules of an elementwise function of several broadcasting arguments from its
    partial derivatives: ``partials(out, *inputs)`` gives one per input. The reverse rule
    multiplies the cotangent by each (summed over broadcast axes), the forward rule adds
    up the tangents times theirs::

        defpartials(special.xlogy, lambda out, x, y: (np.log(y), x / y))
    """

    def vjp(g, out, *inputs):
        derivatives = partials(out, *inputs)
        return tuple(unbroadcast(g * d, x) for d, x in zip(derivatives, inputs, strict=True))

    def jvp(tangents, out, *inputs):
        derivatives = partials(out, *inputs)
        terms = (None if t is None else t * d for t, d in zip(tangents, derivatives, strict=True))
        return add_tangents(*terms)

    defvjp(target)(vjp)
    defjvp(target)(jvp)


def deforder(target: Any, order: str | tuple[str, ...], derivative: Callable) -> None:
    """Both rules of a function of ``x`` with a static order (``polygamma(n, x)``), or
    static first arguments (``betainc(a, b, x)``: a tuple of their names):
    ``derivative(out, x, *orders)`` is its derivative in ``x``."""
    names = (order,) if isinstance(order, str) else order

    def orders(params: dict) -> list:
        # an order given as an array is kept as a tuple: its arithmetic (n + 1) is an array's
        return [_as_numbers(params[name]) for name in names]

    # positional-only: zeta's order is named x
    def vjp(g, out, value, /, **params):
        return g * derivative(out, value, *orders(params))

    def jvp(tangents, out, value, /, **params):
        return tangents[0] * derivative(out, value, *orders(params))

    defvjp(target)(vjp)
    defjvp(target)(jvp)


def _as_numbers(order: Any) -> Any:
    return np.asarray(order) if isinstance(order, (tuple, list)) else order


def register_rules(special: ModuleType) -> None:
    """The rules, once ``scipy.special`` is imported (after its rows)."""

    def psi(x):
        return special.psi(x)

    # fmt: off
    seed_times_derivative = {
        special.expit: lambda d, out, x: d * out * (1 - out),
        special.logit: lambda d, out, x: d / (x * (1 - x)),
        special.erf: lambda d, out, x: d * TWO_OVER_SQRT_PI * np.exp(-(x**2)),
        special.erfc: lambda d, out, x: -d * TWO_OVER_SQRT_PI * np.exp(-(x**2)),
        special.erfcx: lambda d, out, x: d * (2.0 * x * out - TWO_OVER_SQRT_PI),
        special.erfinv: lambda d, out, x: d * SQRT_PI_OVER_TWO * np.exp(out**2),
        special.gammaln: lambda d, out, x: d * psi(x),
        special.loggamma: lambda d, out, x: d * psi(x),
        # trigamma(x) = zeta(2, x), which keeps float32 (polygamma(1, x) gives float64)
        special.psi: lambda d, out, x: d * call_primitive(special.zeta, 2, x),
        special.gamma: lambda d, out, x: d * out * psi(x),
        special.ndtr: lambda d, out, x: d * ONE_OVER_SQRT_2PI * np.exp(-(x**2) / 2),
        # the inverse of ndtr: one over its slope at the result
        special.ndtri: lambda d, out, x: d * SQRT_2PI * np.exp(out**2 / 2),
        special.entr: lambda d, out, x: -d * (np.log(x) + 1),
        # log expit(x) = -log(1 + e^-x): its slope is expit(-x)
        special.log_expit: lambda d, out, x: d * special.expit(-x),
        # pdf / cdf = sqrt(2 / pi) / erfcx(-x / sqrt(2)): no 0 / 0 far in the left tail,
        # nor the digits exp(log pdf - log cdf) loses there (both logs near -x^2 / 2)
        special.log_ndtr: lambda d, out, x: d * mills_ratio(x),
        special.i0: lambda d, out, x: d * special.i1(x),
        # I1' = (I0 + I2) / 2, which needs no division by x (finite at 0)
        special.i1: lambda d, out, x: d * (special.i0(x) + call_primitive(special.iv, 2, x)) / 2,
        # i0e = exp(-|x|) I0
        special.i0e: lambda d, out, x: d * (special.i1e(x) - np.sign(x) * out),
        special.i1e: lambda d, out, x: d * (
            (special.i0e(x) + call_primitive(special.ive, 2, x)) / 2 - np.sign(x) * out
        ),
        # K0' = -K1, K1' = -(K0 + K2) / 2; k0e = exp(x) K0, k1e = exp(x) K1
        special.k0: lambda d, out, x: -d * special.k1(x),
        special.k1: lambda d, out, x: -d * (special.k0(x) + call_primitive(special.kv, 2, x)) / 2,
        special.k0e: lambda d, out, x: d * (out - special.k1e(x)),
        special.k1e: lambda d, out, x: d * (
            out - (special.k0e(x) + call_primitive(special.kve, 2, x)) / 2
        ),
        # Dawson's integral solves D' = 1 - 2 x D
        special.dawsn: lambda d, out, x: d * (1 - 2 * x * out),
    }
    # fmt: on
    for function, rule in seed_times_derivative.items():
        defdiagonal(function, rule)
    # x log(y) is 0 wherever x is: its slope in y there is 0, also at y = 0 (x / y: NaN);
    # x / y with y replaced by 1 only where both are 0, so that the slope's own slope in x
    # (a mixed second derivative, 1 / y) stays right at x = 0
    defpartials(special.xlogy, lambda out, x, y: (np.log(y), _over(x, y)))
    defpartials(special.xlog1py, lambda out, x, y: (np.log1p(y), _over(x, 1 + y)))
    defpartials(special.betaln, lambda out, a, b: (psi(a) - psi(a + b), psi(b) - psi(a + b)))
    defpartials(
        special.beta, lambda out, a, b: (out * (psi(a) - psi(a + b)), out * (psi(b) - psi(a + b)))
    )
    # x log(x / y) is 0 wherever x is (as xlogy): its slope in y there is 0
    defpartials(special.rel_entr, lambda out, x, y: (np.log(x / y) + 1, -_over(x, y)))
    defpartials(special.kl_div, lambda out, x, y: (np.log(x / y), 1 - _over(x, y)))
    defpartials(special.huber, _huber_partials)
    defpartials(special.pseudo_huber, _pseudo_huber_partials)
    # the regularized incomplete gamma functions in x: the gamma density, x^(a-1) e^-x / G(a)
    deforder(special.gammainc, "a", lambda out, x, a: _gamma_density(a, x))
    deforder(special.gammaincc, "a", lambda out, x, a: -_gamma_density(a, x))
    # the regularized incomplete beta functions in x: the beta density
    deforder(special.betainc, ("a", "b"), lambda out, x, a, b: _beta_density(a, b, x))
    deforder(special.betaincc, ("a", "b"), lambda out, x, a, b: -_beta_density(a, b, x))
    deforder(special.polygamma, "n", lambda out, x, n: call_primitive(special.polygamma, n + 1, x))
    # I_v' = (I_{v-1} + I_{v+1}) / 2; ive(v, x) = exp(-|x|) I_v(x)
    deforder(special.iv, "v", lambda out, x, v: _bessel_average(special.iv, v, x))
    deforder(
        special.ive,
        "v",
        lambda out, x, v: _bessel_average(special.ive, v, x) - np.sign(x) * out,
    )
    # K_v' = -(K_{v-1} + K_{v+1}) / 2; kve(v, x) = exp(x) K_v(x)
    deforder(special.kv, "v", lambda out, x, v: -_bessel_average(special.kv, v, x))
    deforder(special.kve, "v", lambda out, x, v: out - _bessel_average(special.kve, v, x))
    # J_v' = (J_{v-1} - J_{v+1}) / 2, and the same for Y_v
    deforder(special.jv, "v", lambda out, x, v: _bessel_half_difference(special.jv, v, x))
    deforder(special.yv, "v", lambda out, x, v: _bessel_half_difference(special.yv, v, x))
    # d zeta(s, q) / dq = -s zeta(s + 1, q)
    deforder(special.zeta, "x", lambda out, q, s: -s * call_primitive(special.zeta, s + 1, q))
    _register_normalizations(special)


def _over(x: Any, y: Any) -> Any:
    """x / y, and 0 where both are 0 (the slope in y of x log y there)."""
    return x / np.where((x == 0) & (y == 0), 1.0, y)


def _huber_partials(out: Any, delta: Any, r: Any) -> tuple:
    """huber(delta, r): r^2 / 2 where |r| <= delta, delta (|r| - delta / 2) beyond."""
    inside = np.abs(r) <= delta
    return np.where(inside, 0.0, np.abs(r) - delta), np.where(inside, r, delta * np.sign(r))


def _pseudo_huber_partials(out: Any, delta: Any, r: Any) -> tuple:
    """pseudo_huber(delta, r) = delta sqrt(delta^2 + r^2) - delta^2."""
    root = np.sqrt(delta**2 + r**2)
    return root + delta**2 / root - 2 * delta, delta * r / root


def _gamma_density(a: float, x: Any) -> Any:
    return np.exp((a - 1) * np.log(x) - x - math.lgamma(a))


def _beta_density(a: float, b: float, x: Any) -> Any:
    """x^(a-1) (1-x)^(b-1) / B(a, b)."""
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    return np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - log_beta)


def _bessel_average(function: Callable, v: float, x: Any) -> Any:
    return (call_primitive(function, v - 1, x) + call_primitive(function, v + 1, x)) / 2


def _bessel_half_difference(function: Callable, v: float, x: Any) -> Any:
    return (call_primitive(function, v - 1, x) - call_primitive(function, v + 1, x)) / 2


def _register_normalizations(special: ModuleType) -> None:
    """``logsumexp`` (with weights ``b``), ``softmax`` and ``log_softmax`` along ``axis``."""

    @defvjp(special.logsumexp)
    def logsumexp_vjp(g, out, a, b=None, axis=None, keepdims=False):
        # d/da = b exp(a - out), d/db = exp(a - out): the softmax weights
        weighted = expand_reduced(g, axis, keepdims) * share_of(
            a, expand_reduced(out, axis, keepdims)
        )
        if b is None:
            return unbroadcast(weighted, a)
        return unbroadcast(weighted * b, a), unbroadcast(weighted, b)

    @defjvp(special.logsumexp)
    def logsumexp_jvp(tangents, out, a, b=None, axis=None, keepdims=False):
        a_dot, b_dot = (*tangents, None)[:2]
        weights = share_of(a, expand_reduced(out, axis, keepdims))
        scale = weights if b is None else weights * b
        terms: Any = add_tangents(
            None if a_dot is None else a_dot * scale,
            None if b_dot is None else b_dot * weights,
        )
        return np.sum(terms, axis=axis, keepdims=keepdims)

    @defvjp(special.softmax)
    def softmax_vjp(g, out, x, axis=None):
        return out * (g - np.sum(g * out, axis=axis, keepdims=True))

    @defjvp(special.softmax)
    def softmax_jvp(tangents, out, x, axis=None):
        (x_dot,) = tangents
        return out * (x_dot - np.sum(x_dot * out, axis=axis, keepdims=True))

    # log_softmax(x) = x - logsumexp(x): its derivative subtracts the softmax exp(out)
    @defvjp(special.log_softmax)
    def log_softmax_vjp(g, out, x, axis=None):
        return g - np.exp(out) * np.sum(g, axis=axis, keepdims=True)

    @defjvp(special.log_softmax)
    def log_softmax_jvp(tangents, out, x, axis=None):
        (x_dot,) = tangents
        return x_dot - np.sum(np.exp(out) * x_dot, axis=axis, keepdims=True)


def _digamma(x: Any) -> Any:
    """``scipy.special.psi(x)``, the derivative of ``math.lgamma``: SciPy is imported only
    when a function differentiates ``math.lgamma`` or ``math.gamma``."""
    try:
        special = importlib.import_module("scipy.special")
    except ImportError:
        raise NotImplementedError(
            "math.lgamma and math.gamma without SciPy (their derivative is "
            "scipy.special.psi: pip install scipy)"
        ) from None
    return special.psi(x)


# fmt: off
MATH_SEED_TIMES_DERIVATIVE = {
    math.erf: lambda d, out, x: d * TWO_OVER_SQRT_PI * np.exp(-(x**2)),
    math.erfc: lambda d, out, x: -d * TWO_OVER_SQRT_PI * np.exp(-(x**2)),
    math.lgamma: lambda d, out, x: d * _digamma(x),
    math.gamma: lambda d, out, x: d * out * _digamma(x),
}
# fmt: on
for _function, _rule in MATH_SEED_TIMES_DERIVATIVE.items():
    defdiagonal(_function, _rule)

when_imported("scipy.special", register_rules)
