"""Rules of the ``scipy.stats`` rows, registered once the user's code has imported
``scipy.stats`` (as the rows are).

A distribution's methods are elementwise in ``x``, its shape parameters, ``loc`` and
``scale``; their partial derivatives all follow from the standardized log density
``l(z)`` in ``z = (x - loc) / scale``, its derivative ``l'(z)`` (the score) and its
derivatives in the shape parameters:

    logpdf = l(z) - log(scale):  d/dx = l'(z) / scale,  d/dloc = -d/dx,
                                 d/dscale = -(z l'(z) + 1) / scale
    pdf    = exp(logpdf):        pdf times those
    cdf    = F(z):               d/dx = exp(l(z)) / scale,  d/dloc = -d/dx,  d/dscale = -z d/dx
    logcdf = log F(z):           the same with exp(l(z) - logcdf): no 0 / 0 in the tails
    sf, logsf:                   the negatives, with exp(l(z) - logsf)

Far in a tail ``l(z)`` and ``logcdf`` are both huge and their difference loses its digits
(gumbel_r's logcdf at z = -40 is -2.4e17): where the ratio ``f(z) / F(z)`` or ``f(z) / S(z)``
has a closed form (``TAIL_RATIOS``: gumbel_r's f/F = exp(-z), weibull_min's f/S = c z^(c-1),
rayleigh's f/S = z, expon's f/S = 1) the rules use it.

Outside a support that is not the whole line (gamma, beta, expon) every partial is 0; the
rules evaluate ``l`` at a point inside it there, so no ``log`` of a negative number is
computed. The derivative of a cdf in a shape parameter is not elementary: the forward rule
refuses a tangent there, and the reverse rule refuses the parameter unless it is a
constant (the rule cannot tell a value that is not differentiated from one that is).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from srcad.ir import Const, Var
from srcad.ir.prims import prim_of
from srcad.ir.table.named import NamedArgumentsPrim
from srcad.ir.table.registry import when_imported
from srcad.ir.table.stats import DISTRIBUTIONS, METHODS
from srcad.ir.tracer import Tracer
from srcad.rules.registry import Refused, add_tangents, defjvp, defvjp, unbroadcast
from srcad.rules.special import mills_ratio

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
LOG_2 = math.log(2.0)
LOG_PI = math.log(math.pi)


# stands for the partial derivative of a cdf in a shape parameter
NOT_ELEMENTARY = object()

# name: (log density l(z, *shapes), score l'(z), derivatives of l in the shape parameters,
#        whether z is inside the support (None: the whole line; of z and the shapes), a point
#        inside it (or a function of the shapes giving one))
Family = tuple[Callable, Callable, Callable, Callable | None, float | Callable]


def _families(special: ModuleType) -> dict[str, Family]:
    psi = special.psi
    return {
        "norm": (
            lambda z: -(z**2) / 2 - LOG_SQRT_2PI,
            lambda z: -z,
            lambda z: (),
            None,
            0.0,
        ),
        "t": (
            lambda z, df: special.gammaln((df + 1) / 2)
            - special.gammaln(df / 2)
            - np.log(math.pi * df) / 2
            - (df + 1) / 2 * np.log1p(z**2 / df),
            lambda z, df: -(df + 1) * z / (df + z**2),
            lambda z, df: (
                (
                    psi((df + 1) / 2)
                    - psi(df / 2)
                    - 1 / df
                    - np.log1p(z**2 / df)
                    + (df + 1) * z**2 / (df * (df + z**2))
                )
                / 2,
            ),
            None,
            0.0,
        ),
        "gamma": (
            # z is inside the support here (see _Standardized): log(z) is finite
            lambda z, a: (a - 1) * np.log(z) - z - special.gammaln(a),
            lambda z, a: (a - 1) / z - 1,
            lambda z, a: (np.log(z) - psi(a),),
            lambda z, *shapes: z > 0,
            1.0,
        ),
        "beta": (
            lambda z, a, b: (a - 1) * np.log(z) + (b - 1) * np.log1p(-z) - special.betaln(a, b),
            lambda z, a, b: (a - 1) / z - (b - 1) / (1 - z),
            lambda z, a, b: (
                np.log(z) - psi(a) + psi(a + b),
                np.log1p(-z) - psi(b) + psi(a + b),
            ),
            lambda z, *shapes: z * (1 - z) > 0,  # 0 < z < 1
            0.5,
        ),
        "expon": (
            lambda z: -z,
            lambda z: -1.0,
            lambda z: (),
            lambda z, *shapes: z >= 0,
            1.0,
        ),
        "laplace": (
            lambda z: -np.abs(z) - LOG_2,
            lambda z: -np.sign(z),
            lambda z: (),
            None,
            0.0,
        ),
        "cauchy": (
            lambda z: -LOG_PI - np.log1p(z**2),
            lambda z: -2 * z / (1 + z**2),
            lambda z: (),
            None,
            0.0,
        ),
        "lognorm": (
            lambda z, s: -np.log(s * z) - LOG_SQRT_2PI - np.log(z) ** 2 / (2 * s**2),
            lambda z, s: -(1 + np.log(z) / s**2) / z,
            lambda z, s: ((np.log(z) ** 2 / s**2 - 1) / s,),
            lambda z, *shapes: z > 0,
            1.0,
        ),
        "weibull_min": (
            lambda z, c: np.log(c) + (c - 1) * np.log(z) - z**c,
            lambda z, c: (c - 1) / z - c * z ** (c - 1),
            lambda z, c: (1 / c + np.log(z) * (1 - z**c),),
            lambda z, *shapes: z > 0,
            1.0,
        ),
        "halfnorm": (
            lambda z: LOG_2 - z**2 / 2 - LOG_SQRT_2PI,
            lambda z: -z,
            lambda z: (),
            lambda z, *shapes: z >= 0,
            1.0,
        ),
        "chi2": (  # gamma(df / 2) of z / 2
            lambda z, df: (df / 2 - 1) * np.log(z)
            - z / 2
            - df / 2 * LOG_2
            - special.gammaln(df / 2),
            lambda z, df: (df / 2 - 1) / z - 0.5,
            lambda z, df: ((np.log(z) - LOG_2 - psi(df / 2)) / 2,),
            lambda z, *shapes: z > 0,
            1.0,
        ),
        "invgamma": (
            lambda z, a: -(a + 1) * np.log(z) - 1 / z - special.gammaln(a),
            lambda z, a: (1 / z - (a + 1)) / z,
            lambda z, a: (-np.log(z) - psi(a),),
            lambda z, *shapes: z > 0,
            1.0,
        ),
        "gumbel_r": (
            lambda z: -z - np.exp(-z),
            lambda z: np.expm1(-z),
            lambda z: (),
            None,
            0.0,
        ),
        "rayleigh": (
            lambda z: np.log(z) - z**2 / 2,
            lambda z: 1 / z - z,
            lambda z: (),
            lambda z, *shapes: z > 0,
            1.0,
        ),
        "pareto": (
            lambda z, b: np.log(b) - (b + 1) * np.log(z),
            lambda z, b: -(b + 1) / z,
            lambda z, b: (1 / b - np.log(z),),
            lambda z, *shapes: z >= 1,
            2.0,
        ),
        "truncnorm": (  # the normal's, less the log of its mass between a and b
            lambda z, a, b: -(z**2) / 2 - LOG_SQRT_2PI - _log_normal_mass(special, a, b),
            lambda z, a, b: -z,
            lambda z, a, b: (
                np.exp(-(a**2) / 2 - LOG_SQRT_2PI - _log_normal_mass(special, a, b)),
                -np.exp(-(b**2) / 2 - LOG_SQRT_2PI - _log_normal_mass(special, a, b)),
            ),
            lambda z, a, b: (z - a) * (b - z) >= 0,  # a <= z <= b
            lambda a, b: (a + b) / 2,
        ),
        "logistic": (  # symmetric: in |z|, exp never overflows
            lambda z: -np.abs(z) - 2 * np.log1p(np.exp(-np.abs(z))),
            lambda z: -np.tanh(z / 2),
            lambda z: (),
            None,
            0.0,
        ),
    }


def _log_normal_mass(special: ModuleType, a: Any, b: Any) -> Any:
    """log(Phi(b) - Phi(a)) for a < b, from the tail where the two are far from 1 (the
    difference of two numbers near 1 loses every digit)."""
    right = special.log_ndtr(-a) + np.log1p(-np.exp(special.log_ndtr(-b) - special.log_ndtr(-a)))
    left = special.log_ndtr(b) + np.log1p(-np.exp(special.log_ndtr(a) - special.log_ndtr(b)))
    return np.where(a > 0, right, left)


class _Standardized:
    """``z = (x - loc) / scale`` of one call, where it is inside the support, and the
    family's functions of it (at a point inside the support where ``z`` is not)."""

    def __init__(self, family: Family, x: Any, rest: tuple, n_shapes: int):
        self.family = family
        self.shapes = rest[:n_shapes]
        self.loc = _unless(rest[n_shapes], 0.0) if len(rest) > n_shapes else None
        self.scale = _unless(rest[n_shapes + 1], 1.0) if len(rest) > n_shapes + 1 else None
        self.n_located = len(rest) - n_shapes  # 0, 1 (loc) or 2 (loc and scale)
        self.z = self.per_scale(x if self.loc is None else x - self.loc)
        _, _, _, inside, safe = family
        self.inside = None if inside is None else inside(self.z, *self.shapes)
        point = safe(*self.shapes) if callable(safe) else safe
        self.z_inside = self.z if self.inside is None else np.where(self.inside, self.z, point)

    def per_scale(self, value: Any) -> Any:
        return value if self.scale is None else value / self.scale

    def only_inside(self, value: Any) -> Any:
        return value if self.inside is None else np.where(self.inside, value, 0.0)

    def log_density(self) -> Any:
        return self.family[0](self.z_inside, *self.shapes)

    def score(self) -> Any:
        return self.family[1](self.z_inside, *self.shapes)

    def shape_scores(self) -> tuple:
        return self.family[2](self.z_inside, *self.shapes)


def _unless(value: Any, number: float) -> Any:
    """``value``, or None where it is the constant ``number`` (``loc=0.0`` where the call
    gave only ``scale``): no ``x - 0.0`` in the generated code."""
    constant = (
        value.atom.value if isinstance(value, Tracer) and isinstance(value.atom, Const) else value
    )
    return None if type(constant) in (int, float) and constant == number else value


def _logpdf_partials(family: Family, n_shapes: int, out, x, *rest) -> list:
    call = _Standardized(family, x, rest, n_shapes)
    score = call.score()
    d_x = call.per_scale(score)
    d_located = [-d_x, -call.per_scale(call.z_inside * score + 1)]
    derivatives = [d_x, *call.shape_scores(), *d_located[: call.n_located]]
    return [call.only_inside(d) for d in derivatives]


def _pdf_partials(family: Family, n_shapes: int, out, x, *rest) -> list:
    return [out * d for d in _logpdf_partials(family, n_shapes, None, x, *rest)]


def _cumulative_partials(
    family: Family, n_shapes: int, sign: float, is_log: bool, out, x, *rest, ratio=None
) -> list:
    """cdf (sign 1) and sf (sign -1), and their logs (``is_log``): the density, over the
    cdf or sf where the log is taken (``ratio``: that quotient in closed form)."""
    call = _Standardized(family, x, rest, n_shapes)
    if ratio is not None:
        density = ratio(call.z_inside, *call.shapes)
    else:
        log_density = call.log_density()
        density = np.exp(log_density - out if is_log else log_density)
    d_x = call.only_inside(call.per_scale(sign * density))
    d_located = [-d_x, -call.z * d_x]
    return [d_x, *[NOT_ELEMENTARY] * n_shapes, *d_located[: call.n_located]]


# (distribution, logcdf or logsf) -> f(z) / F(z) or f(z) / S(z) of z and the shapes, in
# closed form: exact where exp(l(z) - logcdf) cancels its digits away
TAIL_RATIOS: dict[tuple[str, str], Callable] = {
    ("gumbel_r", "logcdf"): lambda z: np.exp(-z),
    ("weibull_min", "logsf"): lambda z, c: c * z ** (c - 1),
    ("rayleigh", "logsf"): lambda z: z,
    ("expon", "logsf"): lambda z: 1.0 + 0.0 * z,
    ("norm", "logcdf"): mills_ratio,  # f / F as sqrt(2 / pi) / erfcx(-z / sqrt(2))
    ("norm", "logsf"): lambda z: mills_ratio(-z),  # f / S: the same, mirrored
}


def _partials_of(family: Family, n_shapes: int, method: str, name: str = "") -> Callable:
    if method == "logpdf":
        return lambda out, x, *rest: _logpdf_partials(family, n_shapes, out, x, *rest)
    if method == "pdf":
        return lambda out, x, *rest: _pdf_partials(family, n_shapes, out, x, *rest)
    sign = -1.0 if method in ("sf", "logsf") else 1.0
    is_log = method.startswith("log")
    ratio = TAIL_RATIOS.get((name, method))
    return lambda out, x, *rest: _cumulative_partials(
        family, n_shapes, sign, is_log, out, x, *rest, ratio=ratio
    )


def _refusal(prim: NamedArgumentsPrim, index: int) -> str:
    name = prim.input_names[index]
    return (
        f"{prim.spelling} in its shape parameter {name!r} (not an elementary function); "
        f"it is differentiated in x, loc and scale where {name!r} is a constant in the "
        f"code, or, with mode='forward', any value that is not differentiated"
    )


def _may_be_differentiated(value: Any) -> bool:
    """Whether ``value`` is a traced value (a constant never is differentiated)."""
    return isinstance(value, Tracer) and isinstance(value.atom, Var)


def defdistribution(target: Any, partials: Callable) -> None:
    """Both rules of a method from its partial derivatives (see ``defpartials`` in
    ``special``); a partial that is ``NOT_ELEMENTARY`` refuses its input."""
    prim = prim_of(target)
    assert isinstance(prim, NamedArgumentsPrim)

    def vjp(g, out, *inputs):
        cotangents: list[Any] = []
        for index, (d, x) in enumerate(zip(partials(out, *inputs), inputs, strict=True)):
            if d is NOT_ELEMENTARY:  # refused where the sweep differentiates x
                may_be = _may_be_differentiated(x)
                cotangents.append(Refused(_refusal(prim, index)) if may_be else None)
            else:
                cotangents.append(unbroadcast(g * d, x))
        return tuple(cotangents)

    def jvp(tangents, out, *inputs):
        terms: list[Any] = []
        for index, (t, d) in enumerate(zip(tangents, partials(out, *inputs), strict=True)):
            if t is not None and d is NOT_ELEMENTARY:
                raise NotImplementedError(_refusal(prim, index))
            terms.append(None if t is None else t * d)
        return add_tangents(*terms)

    defvjp(target)(vjp)
    defjvp(target)(jvp)


def register_rules(stats: ModuleType) -> None:
    """The rules, once ``scipy.stats`` (and with it ``scipy.special``) is imported."""
    for name, family in _families(sys.modules["scipy.special"]).items():
        distribution = getattr(stats, name)
        n_shapes = len(DISTRIBUTIONS[name][0])
        for method in METHODS:
            partials = _partials_of(family, n_shapes, method, name)
            defdistribution(getattr(distribution, method), partials)
    _register_multivariate_normal(stats.multivariate_normal)


# --- multivariate_normal.logpdf(x, mean, cov) ------------------------------------------------
def _covariance(cov: Any, dim: int) -> Any:
    """The matrix SciPy uses for ``cov``: a number times the identity, a diagonal, or the
    symmetric matrix of the lower triangle (SciPy reads only that)."""
    if cov is None:
        return np.eye(dim)
    if np.ndim(cov) < 2:
        return cov * np.eye(dim)
    return np.tril(cov) + np.transpose(np.tril(cov, -1))


def _covariance_cotangent(matrix_cotangent: Any, cov: Any) -> Any:
    """The cotangent of ``cov`` from that of ``_covariance(cov)`` (a symmetric matrix)."""
    if np.ndim(cov) == 0:
        return np.trace(matrix_cotangent)
    if np.ndim(cov) == 1:
        return np.diagonal(matrix_cotangent)
    return np.tril(matrix_cotangent) + np.tril(matrix_cotangent, -1)


def _gaussian(x: Any, cov: Any, mean: Any) -> tuple:
    """What both rules of ``multivariate_normal.logpdf`` use: the dimension, the number of
    points (the rows of ``x`` as SciPy reads it), the inverse covariance and
    ``solved = (x - mean) cov^-1`` (a row per point)."""
    if mean is not None:
        dim = np.size(mean)
    else:
        dim = np.shape(cov)[0] if np.ndim(cov) == 2 else 1
    n = np.size(x) // dim
    rows = np.reshape(x, (n, dim))
    centered = rows if mean is None else rows - mean
    precision = np.linalg.inv(_covariance(cov, dim))
    return dim, n, precision, centered @ precision  # the precision is symmetric


def _register_multivariate_normal(distribution: Any) -> None:
    target = distribution.logpdf

    @defvjp(target)
    def multivariate_normal_logpdf_vjp(g, out, x, cov=None, mean=None):
        # logpdf = -(log det C + r C^-1 r + dim log 2 pi) / 2 for each row r = x - mean
        _, n, precision, solved = _gaussian(x, cov, mean)
        weighted = np.reshape(g, (n, 1)) * solved
        dx = np.reshape(-weighted, np.shape(x))
        if cov is None:
            return dx
        # d/dC = (C^-1 r r C^-1 - C^-1) / 2, weighted by g and summed over the rows
        outer = np.transpose(solved) @ weighted
        dcov = _covariance_cotangent((outer - np.sum(g) * precision) / 2, cov)
        if mean is None:
            return dx, dcov
        return dx, dcov, unbroadcast(np.sum(weighted, axis=0), mean)

    @defjvp(target)
    def multivariate_normal_logpdf_jvp(tangents, out, x, cov=None, mean=None):
        x_dot, cov_dot, mean_dot = (*tangents, None, None)[:3]
        dim, n, precision, solved = _gaussian(x, cov, mean)
        centered_dot = add_tangents(
            None if x_dot is None else np.reshape(np.broadcast_to(x_dot, np.shape(x)), (n, dim)),
            None if mean_dot is None else -mean_dot,
        )
        terms = [None if centered_dot is None else -np.sum(solved * centered_dot, axis=1)]
        if cov_dot is not None:
            matrix_dot = _covariance(np.broadcast_to(cov_dot, np.shape(cov)), dim)
            quadratic = np.sum((solved @ matrix_dot) * solved, axis=1)
            terms.append((quadratic - np.trace(precision @ matrix_dot)) / 2)
        total: Any = add_tangents(*terms)
        return np.reshape(total, np.shape(out))


when_imported("scipy.stats", register_rules)
