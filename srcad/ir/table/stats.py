"""The rows of ``scipy.stats``: the methods ``logpdf pdf cdf logcdf sf logsf`` of the
distributions ``norm``, ``t`` (``df``), ``gamma`` (``a``), ``beta`` (``a``, ``b``),
``expon``, ``laplace``, ``cauchy``, ``logistic``, ``lognorm`` (``s``), ``weibull_min``
(``c``), ``halfnorm``, ``chi2`` (``df``), ``invgamma`` (``a``), ``gumbel_r``, ``rayleigh``,
``truncnorm`` (``a``, ``b``) and ``pareto`` (``b``), and ``multivariate_normal.logpdf``.

Each method is one primitive, called as users call it (``scipy.stats.norm.logpdf(x,
loc=m, scale=s)``, ``norm.logpdf(x, m, s)``, ``stats.t.cdf(x, df)``: see ``named``) and
spelled ``scipy.stats.norm.logpdf(x, loc=m, scale=s)`` in generated code, which imports
``scipy.stats``. Like ``special``, the rows are registered once the user's code has
imported ``scipy.stats``.

The rows are elementwise in ``x``, the shape parameters, ``loc`` and ``scale``
(broadcasting). A distribution is given by its support, its standardized log density
inside it, and its ``cdf`` and ``sf``, in ``z = (x - loc) / scale`` as sympy text: the
counterparts the exact tests differentiate are ``log_density(z) - log(scale)`` (``-oo``
outside the support), ``cdf(z)``, ``log(cdf(z))``, ... The numeric rule tests draw inputs
inside the support (``examples``). The derivative of a cdf in a shape parameter (an incomplete gamma or beta
function in its parameter) is not elementary: those inputs are ``no_derivative``.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from srcad.ir.primitive import ELEMENTWISE, LINALG, Example
from srcad.ir.table.named import NamedArgumentsPrim
from srcad.ir.table.registry import POSITIVE, register, when_imported

MODULE = "scipy.stats"
METHODS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")
CUMULATIVE = ("cdf", "logcdf", "sf", "logsf")

# name: (shape parameters, support (None: the whole line), log density inside the support,
#        cdf, sf), in z and the shape parameters
T_CDF = (
    "(S.Half + z * gamma((df + 1) / 2) / (sqrt(pi * df) * gamma(df / 2))"
    " * hyper((S.Half, (df + 1) / 2), (Rational(3, 2),), -(z**2) / df))"
)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], str | None, str, str, str]] = {
    "norm": (
        (),
        None,
        "-(z**2) / 2 - log(2 * pi) / 2",
        "(1 + erf(z / sqrt(2))) / 2",
        "erfc(z / sqrt(2)) / 2",
    ),
    "t": (
        ("df",),
        None,
        "loggamma((df + 1) / 2) - loggamma(df / 2) - log(pi * df) / 2"
        " - (df + 1) / 2 * log(1 + z**2 / df)",
        T_CDF,
        f"1 - {T_CDF}",
    ),
    "gamma": (
        ("a",),
        "z > 0",
        "(a - 1) * log(z) - z - loggamma(a)",
        "Piecewise((lowergamma(a, z) / gamma(a), z > 0), (0, True))",
        "Piecewise((uppergamma(a, z) / gamma(a), z > 0), (1, True))",
    ),
    "beta": (
        ("a", "b"),
        "(z > 0) & (z < 1)",
        "(a - 1) * log(z) + (b - 1) * log(1 - z) - loggamma(a) - loggamma(b) + loggamma(a + b)",
        "Piecewise((0, z <= 0), (1, z >= 1), (betainc_regularized(a, b, 0, z), True))",
        "Piecewise((1, z <= 0), (0, z >= 1), (betainc_regularized(a, b, z, 1), True))",
    ),
    "expon": (
        (),
        "z >= 0",
        "-z",
        "Piecewise((1 - exp(-z), z >= 0), (0, True))",
        "Piecewise((exp(-z), z >= 0), (1, True))",
    ),
    "laplace": (
        (),
        None,
        "-Abs(z) - log(2)",
        "Piecewise((exp(z) / 2, z < 0), (1 - exp(-z) / 2, True))",
        "Piecewise((1 - exp(z) / 2, z < 0), (exp(-z) / 2, True))",
    ),
    "cauchy": (
        (),
        None,
        "-log(pi) - log(1 + z**2)",
        "S.Half + atan(z) / pi",
        "S.Half - atan(z) / pi",
    ),
    "logistic": (
        (),
        None,
        "-z - 2 * log(1 + exp(-z))",
        "1 / (1 + exp(-z))",
        "1 / (1 + exp(z))",
    ),
    "lognorm": (
        ("s",),
        "z > 0",
        "-log(s * z * sqrt(2 * pi)) - log(z) ** 2 / (2 * s**2)",
        "Piecewise(((1 + erf(log(z) / (s * sqrt(2)))) / 2, z > 0), (0, True))",
        "Piecewise((erfc(log(z) / (s * sqrt(2))) / 2, z > 0), (1, True))",
    ),
    "weibull_min": (
        ("c",),
        "z > 0",
        "log(c) + (c - 1) * log(z) - z**c",
        "Piecewise((1 - exp(-(z**c)), z > 0), (0, True))",
        "Piecewise((exp(-(z**c)), z > 0), (1, True))",
    ),
    "halfnorm": (
        (),
        "z >= 0",
        "log(2) - z**2 / 2 - log(2 * pi) / 2",
        "Piecewise((erf(z / sqrt(2)), z >= 0), (0, True))",
        "Piecewise((erfc(z / sqrt(2)), z >= 0), (1, True))",
    ),
    "chi2": (
        ("df",),
        "z > 0",
        "(df / 2 - 1) * log(z) - z / 2 - df / 2 * log(2) - loggamma(df / 2)",
        "Piecewise((lowergamma(df / 2, z / 2) / gamma(df / 2), z > 0), (0, True))",
        "Piecewise((uppergamma(df / 2, z / 2) / gamma(df / 2), z > 0), (1, True))",
    ),
    "invgamma": (
        ("a",),
        "z > 0",
        "-(a + 1) * log(z) - 1 / z - loggamma(a)",
        "Piecewise((uppergamma(a, 1 / z) / gamma(a), z > 0), (0, True))",
        "Piecewise((lowergamma(a, 1 / z) / gamma(a), z > 0), (1, True))",
    ),
    "gumbel_r": (
        (),
        None,
        "-z - exp(-z)",
        "exp(-exp(-z))",
        "1 - exp(-exp(-z))",
    ),
    "rayleigh": (
        (),
        "z > 0",
        "log(z) - z**2 / 2",
        "Piecewise((1 - exp(-(z**2) / 2), z > 0), (0, True))",
        "Piecewise((exp(-(z**2) / 2), z > 0), (1, True))",
    ),
    "truncnorm": (
        ("a", "b"),
        "(z >= a) & (z <= b)",
        "-(z**2) / 2 - log(2 * pi) / 2 - log((erf(b / sqrt(2)) - erf(a / sqrt(2))) / 2)",
        "Piecewise((0, z < a), (1, z > b),"
        " ((erf(z / sqrt(2)) - erf(a / sqrt(2))) / (erf(b / sqrt(2)) - erf(a / sqrt(2))), True))",
        "Piecewise((1, z < a), (0, z > b),"
        " ((erf(b / sqrt(2)) - erf(z / sqrt(2))) / (erf(b / sqrt(2)) - erf(a / sqrt(2))), True))",
    ),
    "pareto": (
        ("b",),
        "z >= 1",
        "log(b) - (b + 1) * log(z)",
        "Piecewise((1 - z ** (-b), z >= 1), (0, True))",
        "Piecewise((z ** (-b), z >= 1), (1, True))",
    ),
}

# Inputs inside each support: x, the shape parameters, loc, scale (broadcasting).
_X = np.array([[0.7, 1.9, 2.6, 3.4], [1.2, 0.9, 4.1, 2.2], [3.3, 1.5, 0.8, 2.9]])
_UNIT = np.array([[0.15, 0.4, 0.55, 0.8], [0.3, 0.65, 0.25, 0.9], [0.5, 0.1, 0.7, 0.35]])
INSIDE_SUPPORT = {
    "gamma": (
        (_X, np.array([1.5, 2.5, 3.0, 0.8]), np.array([[0.2], [-0.3], [0.1]]), np.array(1.3)),
        (_X, np.array(2.2)),
    ),
    "beta": (
        (
            _UNIT * 2.0 + 0.4,
            np.array(2.5),
            np.array([1.5, 3.0, 2.2, 4.0]),
            np.array(0.4),
            np.array(2.0),
        ),
        (_UNIT, np.array([[1.3], [2.1], [3.5]]), np.array(2.8)),
    ),
    "expon": ((_X, np.array([0.1, 0.3, -0.2, 0.5]), np.array([[1.4], [0.8], [2.0]])), (_X,)),
    "lognorm": (
        (_X, np.array([0.5, 0.9, 1.3, 0.7]), np.array([[0.2], [-0.3], [0.1]]), np.array(1.3)),
        (_X, np.array(0.6)),
    ),
    "weibull_min": (
        (_X, np.array([1.5, 0.8, 2.5, 1.2]), np.array([[0.2], [-0.3], [0.1]]), np.array(1.3)),
        (_X, np.array(1.7)),
    ),
    "halfnorm": ((_X, np.array([[0.2], [-0.3], [0.1]]), np.array(1.3)), (_X,)),
    "chi2": (
        (_X, np.array([1.5, 2.5, 3.0, 4.0]), np.array([[0.2], [-0.3], [0.1]]), np.array(1.3)),
        (_X, np.array(2.2)),
    ),
    "invgamma": (
        (_X, np.array([1.5, 2.5, 3.0, 0.8]), np.array([[0.2], [-0.3], [0.1]]), np.array(1.3)),
        (_X, np.array(2.2)),
    ),
    "rayleigh": ((_X, np.array([[0.2], [-0.3], [0.1]]), np.array(1.3)), (_X,)),
    "truncnorm": (
        (
            _UNIT * 2.0 - 0.5,
            np.array([-1.0, -0.8, -1.5, -0.6]),
            np.array(2.0),
            np.array([[0.1], [-0.1], [0.05]]),
            np.array(1.2),
        ),
        (_UNIT * 2.0 - 0.5, np.array(-0.7), np.array([[1.5], [2.0], [1.8]])),
        (_UNIT + 1.5, np.array(1.2), np.array(3.5)),  # both bounds in the right tail
    ),
    "pareto": (
        (_X + 1.5, np.array([1.5, 2.5, 3.0, 0.8]), np.array([[0.2], [-0.3], [0.1]]), np.array(1.3)),
        (_X + 1.2, np.array(2.2)),
    ),
}


def _counterpart(name: str, method: str) -> str:
    """The sympy counterpart of ``scipy.stats.<name>.<method>``, as a lambda's text."""
    shapes, support, log_density, cdf, sf = DISTRIBUTIONS[name]
    standardized = {
        "logpdf": _inside(support, f"{log_density} - log(scale)", "-oo"),
        "pdf": _inside(support, f"exp({log_density}) / scale", "0"),
        "cdf": cdf,
        "logcdf": _log_of(cdf),
        "sf": sf,
        "logsf": _log_of(sf),
    }[method]
    arguments = ", ".join(("x", *shapes, "loc", "scale"))
    return f"lambda {arguments}: (lambda z: {standardized})((x - loc) / scale)"


def _inside(support: str | None, expression: str, outside: str) -> str:
    return (
        expression
        if support is None
        else f"Piecewise(({expression}, {support}), ({outside}, True))"
    )


def _log_of(piecewise: str) -> str:
    """``log`` of a cdf or sf, taken inside each piece: ``-oo`` where it is 0 (sympy's
    ``log(0)`` is complex infinity, whose derivative is no number)."""
    return f"piecewise_fold(log({piecewise})).subs(zoo, -oo)"


def _examples(name: str) -> tuple[Example, ...]:
    cases = INSIDE_SUPPORT.get(name, ())
    return tuple((tuple(case), {}) for case in cases)


def register_distribution(stats: ModuleType, name: str) -> None:
    """The six rows of one distribution."""
    shapes = DISTRIBUTIONS[name][0]
    inputs = ("x", *shapes, "loc", "scale")
    for method in METHODS:
        register(
            NamedArgumentsPrim(
                f"{name}_{method}",
                getattr(getattr(stats, name), method),
                ELEMENTWISE,
                len(inputs),
                sympy=_counterpart(name, method),
                domain=POSITIVE,
                examples=_examples(name),
                module=MODULE,
                arguments=inputs,
                input_names=inputs,
                required=1 + len(shapes),
                defaults=(0.0, 1.0),
                qualname=f"{name}.{method}",
                no_derivative=shapes if method in CUMULATIVE else (),
            )
        )


_A = np.array([[1.2, 0.3, -0.4], [0.3, 0.9, 0.2], [-0.4, 0.2, 1.5]])
_MEAN = np.array([0.1, -0.2, 0.3])
MULTIVARIATE_CASES: tuple[Example, ...] = (
    ((np.linspace(-1.0, 1.2, 15).reshape(5, 3), _A, _MEAN), {}),
    ((np.array([0.4, -0.7, 1.1]), _A, np.array([0.2, 0.0, -0.5])), {}),
    ((np.linspace(-1.0, 1.2, 12).reshape(2, 2, 3), np.array([0.5, 1.2, 2.0]), _MEAN), {}),
    ((np.linspace(-1.0, 1.2, 6).reshape(2, 3), np.array(1.7), _MEAN), {}),
    ((np.linspace(-1.0, 1.2, 15).reshape(5, 3), _A), {}),
    ((np.array([0.3, -1.1, 0.8, 1.6]),), {}),
)


def register_rows(stats: ModuleType) -> None:
    """The rows, once ``scipy.stats`` is imported."""
    for name in DISTRIBUTIONS:
        register_distribution(stats, name)
    # the covariance before the mean: left out, the mean is no input; cov=1.0 is the identity
    register(
        NamedArgumentsPrim(
            "multivariate_normal_logpdf",
            stats.multivariate_normal.logpdf,
            LINALG,
            3,
            examples=MULTIVARIATE_CASES,
            module=MODULE,
            arguments=("x", "mean", "cov"),
            input_names=("x", "cov", "mean"),
            defaults=(1.0, 0.0),
            qualname="multivariate_normal.logpdf",
        )
    )


when_imported(MODULE, register_rows)
