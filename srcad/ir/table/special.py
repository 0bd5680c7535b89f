"""The rows of ``scipy.special``: functions from outside NumPy, spelled
``scipy.special.expit`` in generated code (which then imports ``scipy.special``).

SciPy is optional, and srcad never imports it: these rows are registered when the user's
code has imported ``scipy.special`` (``registry.when_imported``), so ``import srcad`` stays
fast and works without SciPy.

An elementwise row is the function and its sympy counterpart (an expression where sympy has
no function of that name, as for ``expit``), with the interval the rule tests draw inputs
from. ``polygamma(n, x)``, ``iv(v, x)``, ``ive(v, x)`` and ``zeta(s, q)`` take their first
argument as a static param (an int or float known when compiling), as do the Bessel
functions ``kv``, ``kve``, ``jv``, ``yv`` (Matérn kernels), ``gammainc(a, x)``
and ``gammaincc(a, x)``, whose derivative in ``a`` is not elementary, and, for the same
reason, ``betainc(a, b, x)`` and ``betaincc(a, b, x)`` their first two; ``logsumexp``,
``softmax`` and ``log_softmax`` reduce or normalize along ``axis``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from srcad.ir.primitive import ELEMENTWISE, PARAMETRIC, REDUCTION, Example, Prim
from srcad.ir.table.named import NamedArgumentsPrim
from srcad.ir.table.registry import POSITIVE, UNIT, alias, register, when_imported

MODULE = "scipy.special"
LOGIT = (0.05, 0.95)


def _unary(fn: Callable, sympy: str, domain: tuple[float, float] = (-2.0, 2.0)) -> None:
    """An elementwise function of one argument, named as in ``scipy.special``."""
    register(Prim(fn.__name__, fn, ELEMENTWISE, 1, sympy=sympy, domain=domain, module=MODULE))


def _binary(fn: Callable, sympy: str, domain: tuple[float, float] = POSITIVE) -> None:
    """An elementwise function of two broadcasting arguments."""
    register(Prim(fn.__name__, fn, ELEMENTWISE, 2, sympy=sympy, domain=domain, module=MODULE))


def _of_order(
    fn: Callable, order: str | tuple[str, ...], orders: tuple, sympy: str, domain: tuple
) -> None:
    """An elementwise function of ``x`` whose first argument, an order, is a static param
    (``polygamma(1, x)``), or whose first arguments are (``betainc(a, b, x)``: a tuple of
    names, and of values in ``orders``); the rule tests use ``orders``."""
    names = (order,) if isinstance(order, str) else order
    examples: tuple[Example, ...] = tuple(
        (((3, 4),), dict(zip(names, k if isinstance(k, tuple) else (k,), strict=True)))
        for k in orders
    )
    register(
        Prim(
            fn.__name__,
            fn,
            PARAMETRIC,
            1,
            sympy=sympy,
            domain=domain,
            examples=examples,
            module=MODULE,
            leading_params=names,
        )
    )


AXIS_CASES: tuple[Example, ...] = (
    (((3, 4),), {"axis": 1}),
    (((3, 4),), {"axis": 0}),
    (((2, 3, 4),), {"axis": (0, 2)}),
    (((3, 4),), {}),
)

# logsumexp also with keepdims, and with weights b (broadcasting)
LOGSUMEXP_CASES: tuple[Example, ...] = (
    *AXIS_CASES,
    (((3, 4),), {"axis": 1, "keepdims": True}),
    (((3, 4), (3, 4)), {"axis": 1}),
    (((3, 4), (4,)), {"axis": 0, "keepdims": True}),
    (((3, 4), ()), {}),
)


def register_rows(special: ModuleType) -> None:
    """The rows, once ``scipy.special`` is imported."""
    _unary(special.expit, "lambda x: 1 / (1 + exp(-x))")
    _unary(special.logit, "lambda x: log(x / (1 - x))", domain=LOGIT)
    _unary(special.erf, "erf")
    _unary(special.erfc, "erfc")
    _unary(special.erfcx, "lambda x: exp(x**2) * erfc(x)")
    _unary(special.erfinv, "erfinv", domain=UNIT)
    _unary(special.gammaln, "loggamma", domain=POSITIVE)
    _unary(special.loggamma, "loggamma", domain=POSITIVE)  # of real x: gammaln for x > 0
    _unary(special.psi, "digamma", domain=POSITIVE)  # also special.digamma, the same ufunc
    _unary(special.gamma, "gamma", domain=POSITIVE)
    _unary(special.ndtr, "lambda x: (1 + erf(x / sqrt(2))) / 2")
    _unary(special.ndtri, "lambda x: sqrt(2) * erfinv(2 * x - 1)", domain=LOGIT)
    _unary(special.entr, "lambda x: -x * log(x)", domain=POSITIVE)
    _unary(special.log_ndtr, "lambda x: log((1 + erf(x / sqrt(2))) / 2)")
    _unary(special.log_expit, "lambda x: -log(1 + exp(-x))")
    _unary(special.i0, "lambda x: besseli(0, x)")
    _unary(special.i1, "lambda x: besseli(1, x)")
    _unary(special.i0e, "lambda x: besseli(0, x) * exp(-Abs(x))")
    _unary(special.i1e, "lambda x: besseli(1, x) * exp(-Abs(x))")
    _unary(special.k0, "lambda x: besselk(0, x)", domain=POSITIVE)
    _unary(special.k1, "lambda x: besselk(1, x)", domain=POSITIVE)
    _unary(special.k0e, "lambda x: besselk(0, x) * exp(x)", domain=POSITIVE)
    _unary(special.k1e, "lambda x: besselk(1, x) * exp(x)", domain=POSITIVE)
    _unary(special.dawsn, "lambda x: sqrt(pi) / 2 * exp(-x**2) * erfi(x)")
    for name in ("expm1", "log1p", "cbrt", "exp2"):  # NumPy's functions under SciPy's names
        alias(getattr(special, name), name)
    _binary(special.xlogy, "lambda x, y: x * log(y)")
    _binary(special.xlog1py, "lambda x, y: x * log(1 + y)")
    _binary(special.betaln, "lambda a, b: loggamma(a) + loggamma(b) - loggamma(a + b)")
    _binary(special.beta, "lambda a, b: gamma(a) * gamma(b) / gamma(a + b)")
    _binary(special.rel_entr, "lambda x, y: x * log(x / y)")
    _binary(special.kl_div, "lambda x, y: x * log(x / y) - x + y")
    _binary(
        special.huber,
        "lambda d, r: Piecewise((r**2 / 2, Abs(r) <= d), (d * (Abs(r) - d / 2), True))",
    )
    _binary(special.pseudo_huber, "lambda d, r: d**2 * (sqrt(1 + (r / d) ** 2) - 1)")
    _of_order(special.polygamma, "n", (0, 1, 2), "lambda n, x: polygamma(n, x)", POSITIVE)
    _of_order(special.iv, "v", (0, 2), "lambda v, x: besseli(v, x)", (-2.0, 2.0))
    bessel_scaled = "lambda v, x: besseli(v, x) * exp(-Abs(x))"
    _of_order(special.ive, "v", (1, 3), bessel_scaled, (-2.0, 2.0))
    _of_order(special.kv, "v", (0, 1.5), "lambda v, x: besselk(v, x)", POSITIVE)
    _of_order(special.kve, "v", (0.5, 2), "lambda v, x: besselk(v, x) * exp(x)", POSITIVE)
    _of_order(special.jv, "v", (0, 2.5), "lambda v, x: besselj(v, x)", POSITIVE)
    _of_order(special.yv, "v", (0, 1.5), "lambda v, x: bessely(v, x)", POSITIVE)
    _of_order(special.zeta, "x", (2, 3.5), "lambda s, q: zeta(s, q)", POSITIVE)
    _of_order(special.gammainc, "a", (0.5, 3), "lambda a, x: lowergamma(a, x) / gamma(a)", POSITIVE)
    _of_order(
        special.gammaincc, "a", (1.5, 2), "lambda a, x: uppergamma(a, x) / gamma(a)", POSITIVE
    )
    for fn, sympy in (
        (special.betainc, "lambda a, b, x: betainc_regularized(a, b, 0, x)"),
        (special.betaincc, "lambda a, b, x: betainc_regularized(a, b, x, 1)"),
    ):
        _of_order(fn, ("a", "b"), ((2.5, 1.5), (0.8, 3.0)), sympy, LOGIT)
    for fn in (special.softmax, special.log_softmax):
        register(Prim(fn.__name__, fn, REDUCTION, 1, ("axis",), examples=AXIS_CASES, module=MODULE))
    register(
        NamedArgumentsPrim(
            "logsumexp",
            special.logsumexp,
            REDUCTION,
            2,
            params=("axis", "keepdims"),
            domain=POSITIVE,
            examples=LOGSUMEXP_CASES,
            module=MODULE,
            arguments=("a", "axis", "b", "keepdims"),
            input_names=("a", "b"),
            defaults=(1.0,),
        )
    )


when_imported(MODULE, register_rows)
