"""Primitives from outside NumPy: ``scipy.special`` (rows of ``srcad/ir/table/special.py``),
the distributions of ``scipy.stats`` (``stats.py``) and ``math.erf``, ``math.lgamma``, ...
(``math_functions.py``) differentiated in user code, in reverse and forward mode, against
central differences; the generated module imports ``scipy.special`` / ``scipy.stats`` /
``math`` and calls them by that name. ``import srcad`` does not import SciPy: its rows are
registered once the user's code has. Without SciPy srcad still imports and works, without
those rows (the tests that need SciPy are skipped there).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from source_files import module_from_source

import srcad
from srcad.ir.prims import PRIMS, import_statement, module_spelling

USER_CODE = """
import numpy as np
import scipy.special
from scipy import special
from scipy.special import erf, expit

X = np.array([[0.1, 0.4, -0.3], [1.2, -0.7, 0.2]])


def loss(w, x):
    return np.sum(scipy.special.expit(x @ w) ** 2)


def loss_at_x(w):
    return loss(w, X)


def mixed(p):
    return np.sum(special.logit(p) * expit(p) + erf(p))


def shadowing(x):
    scipy = expit(x) * 2.0  # a variable named like the module the code imports
    return np.sum(scipy * x)


def numpy_only(x):
    return np.sum(np.tanh(x))


def normalizations(x, w):
    a = scipy.special.logsumexp(x, axis=1, b=w)
    b = special.logsumexp(x, axis=0, keepdims=True) + special.logsumexp(x)
    c = special.softmax(x, axis=0) * special.log_softmax(x, axis=1)
    return np.sum(a**2) + np.sum(b) + np.sum(np.sin(c))


def gamma_family(p):
    total = np.sum(special.gammaln(p) * special.digamma(p) + special.psi(p))
    total += np.sum(special.polygamma(1, p) + special.polygamma(2, p) * special.gamma(p))
    total += np.sum(special.loggamma(p + 0.5) * special.softplus(3.0 * p - 1.5))
    return total + np.sum(special.betaln(p, p[::-1]))


def error_family(p):
    total = np.sum(special.erfc(p) * special.erfinv(p - 0.5) + special.ndtr(p))
    return total + np.sum(special.log_ndtr(-3.0 * p)) + np.sum(special.xlogy(p, p + 1.0))


def bessel_family(p):
    total = np.sum(special.i0e(p) * special.i1e(-p) + special.i0(p) - special.i1(p))
    return total + np.sum(special.xlog1py(p, p) + special.iv(2, p) + special.zeta(2.5, p))


def information_family(p, q):
    total = np.sum(special.entr(p) + special.rel_entr(p, q) * special.kl_div(q, p))
    total += np.sum(special.huber(q, p - 0.5) + special.pseudo_huber(q, p * 2.0))
    total += np.sum(special.ndtri(p) ** 2 + special.gammainc(2.5, q) * special.gammaincc(0.5, p))
    total += np.sum(special.betainc(2.0, 3.5, p) * special.betaincc(0.7, 1.5, p**2))
    return total + np.sum(special.rel_entr(np.zeros(3), q))  # 0 log 0: slope 0 in q
"""

W = np.array([0.3, -0.2, 0.5])
X = np.array([[0.1, 0.4, -0.3], [1.2, -0.7, 0.2]])
P = np.array([0.2, 0.45, 0.9])
EPS = 1e-6


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    pytest.importorskip("scipy.special")
    return module_from_source(USER_CODE, tmp_path_factory.mktemp("scipy"), "scipy_user")


def _differences(f, x):
    """Central differences of scalar ``f`` at ``x``, element by element."""
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = EPS
        gradient[index] = (f(x + step) - f(x - step)) / (2 * EPS)
    return gradient


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_expit_gradient_matches_differences(user, mode):
    gradient = srcad.grad(user.loss, mode=mode)
    expected = _differences(lambda w: user.loss(w, X), W)
    np.testing.assert_allclose(gradient(W, X), expected, rtol=1e-6, atol=1e-9)
    code = srcad.source(gradient)
    assert "import scipy.special" in code.splitlines()
    assert "scipy.special.expit(" in code


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_each_spelling_of_the_functions_is_the_primitive(user, mode):
    """``special.logit``, ``expit`` and ``erf`` imported by name are the same primitives."""
    gradient = srcad.grad(user.mixed, mode=mode)
    np.testing.assert_allclose(gradient(P), _differences(user.mixed, P), rtol=1e-6, atol=1e-9)
    code = srcad.source(gradient)
    for name in ("expit", "logit", "erf"):
        assert f"scipy.special.{name}(" in code


def test_jvp_and_hessian(user):
    tangent = np.array([1.0, -0.5, 2.0])
    value, derivative = srcad.jvp(user.loss_at_x, (W,), (tangent,))
    assert np.isclose(value, user.loss_at_x(W))
    expected = np.dot(_differences(user.loss_at_x, W), tangent)
    assert np.isclose(derivative, expected, rtol=1e-6)
    hessian = srcad.hessian(user.mixed)(P)
    gradient = srcad.grad(user.mixed)
    columns = [_differences(lambda p, i=i: gradient(p)[i], P) for i in range(P.size)]
    np.testing.assert_allclose(hessian, np.array(columns), rtol=1e-5, atol=1e-7)


def test_a_variable_does_not_take_the_imported_name(user):
    gradient = srcad.grad(user.shadowing)
    np.testing.assert_allclose(gradient(P), _differences(user.shadowing, P), rtol=1e-6)
    code = _code_lines(gradient)
    assert not [line for line in code if line.strip().startswith("scipy =")]
    assert any("scipy.special.expit(" in line for line in code)


def _code_lines(gradient) -> list[str]:
    """The generated module's lines but its header comments (which name the user's file)."""
    return [line for line in srcad.source(gradient).splitlines() if not line.startswith("#")]


def test_numpy_code_imports_only_numpy(user):
    gradient = srcad.grad(user.numpy_only)
    gradient(P)
    assert not [line for line in _code_lines(gradient) if "scipy" in line]


def test_modules_are_named_as_their_users_write_them():
    assert module_spelling("numpy") == "np"
    assert module_spelling("numpy.linalg") == "np.linalg"
    assert module_spelling("scipy.special") == "scipy.special"
    assert import_statement("numpy.linalg") == "import numpy as np"
    assert import_statement("scipy.special") == "import scipy.special"
    assert PRIMS["inv"].spelling == "np.linalg.inv"
    if "expit" in PRIMS:  # SciPy is installed
        assert PRIMS["expit"].spelling == "scipy.special.expit"


WITHOUT_SCIPY = """
import sys
sys.modules["scipy"] = None  # import scipy raises ImportError

import numpy as np

import srcad
from srcad.ir.prims import PRIMS


def f(x):
    return np.sum(np.tanh(x))


assert "expit" not in PRIMS and "tanh" in PRIMS
print(srcad.grad(f)(np.zeros(2)))
"""


@pytest.mark.slow
def test_srcad_works_without_scipy(tmp_path):
    script = tmp_path / "without_scipy.py"
    script.write_text(WITHOUT_SCIPY)
    env = {**os.environ, "SRCAD_GENERATED_DIR": str(tmp_path / "generated")}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1. 1.]"


def test_a_global_read_by_the_scipy_loss_is_read_again_after_it_changes(user):
    gradient = srcad.grad(user.loss_at_x)
    original = user.X
    try:
        for x in (original, original * -2.0 + 0.3, np.ones((4, 3)) * 0.25):  # values, shape
            user.X = x
            expected = _differences(user.loss_at_x, W)
            np.testing.assert_allclose(gradient(W), expected, rtol=1e-6, atol=1e-9)
    finally:
        user.X = original


WEIGHTS = np.array([[0.5, 1.0, 2.0], [1.5, 0.2, 0.7]])


@pytest.mark.sampled(2)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("normalizations", (X, WEIGHTS)),
        ("gamma_family", (P + 0.3,)),
        ("error_family", (P,)),
        ("bessel_family", (P - 0.1,)),
        ("information_family", (P, np.array([0.7, 0.3, 0.4]))),
    ],
)
def test_special_functions_match_differences(user, name, arguments, mode):
    function = getattr(user, name)
    argnums = tuple(range(len(arguments)))
    expected = srcad.numerical_grad(function, *arguments, argnums=argnums)
    gradient = srcad.grad(function, argnums=argnums, mode=mode)(*arguments)
    for got, want in zip(gradient, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


STATS_CODE = """
import math

import numpy as np
import scipy.stats
from scipy import stats

LOC = np.array([0.2, -0.1, 0.4])
A = 2.5


def normal(x, loc, scale):
    first = scipy.stats.norm.logpdf(x, loc=loc, scale=scale)
    second = stats.norm.pdf(x, loc, scale) + stats.norm.cdf(x, scale=scale)
    third = stats.norm.logcdf(x, loc) + stats.norm.sf(x) * stats.norm.logsf(x, loc, scale)
    return np.sum(first + second + third)


def student(x, df, loc, scale):
    value = stats.t.logpdf(x, df, loc, scale) + stats.t.pdf(x, df=df, scale=scale)
    return np.sum(value + stats.t.cdf(x, 4.0, loc) + stats.t.logsf(x, 3.0, scale=scale))


def gamma(x, a, scale):
    value = stats.gamma.logpdf(x, a, scale=scale) + stats.gamma.pdf(x, a, loc=-0.5)
    return np.sum(value + stats.gamma.logcdf(x, 2.0, scale=scale) + stats.gamma.sf(x, 1.5))


def beta(z, a, b):
    value = stats.beta.logpdf(z, a, b) + stats.beta.pdf(z, a, b, loc=-0.1, scale=1.5)
    return np.sum(value + stats.beta.cdf(z, 2.0, 3.0) + stats.beta.logsf(z, 1.5, 2.5))


def expon_laplace(x, loc, scale):
    value = stats.expon.logpdf(x, loc, scale) + stats.expon.cdf(x, scale=scale)
    value = value + stats.expon.logsf(x, loc) + stats.expon.pdf(x - 1.0)  # 0 left of loc
    value = value + stats.laplace.logpdf(x, loc, scale) + stats.laplace.cdf(x, loc=loc)
    return np.sum(value + stats.laplace.logcdf(x, scale=scale) + stats.laplace.sf(x, loc))


def cauchy_logistic(x, loc, scale):
    value = stats.cauchy.logpdf(x, loc, scale) + stats.cauchy.cdf(x, scale=scale)
    value = value + stats.cauchy.logsf(x, loc) + stats.logistic.logpdf(x, loc, scale)
    return np.sum(value + stats.logistic.logcdf(x, scale=scale) + stats.logistic.pdf(x, loc))


def lognorm_weibull(x, s, scale):
    value = stats.lognorm.logpdf(x, s, scale=scale) + stats.lognorm.pdf(x, 0.7, loc=-0.2)
    value = value + stats.lognorm.logcdf(x, 0.9, scale=scale) + stats.weibull_min.sf(x, 1.3)
    return np.sum(value + stats.weibull_min.logpdf(x, s * 2.0, scale=scale))


def positive_families(x, shape, scale):
    value = stats.halfnorm.logpdf(x, scale=scale) + stats.chi2.logpdf(x, shape * 2.0)
    value = value + stats.invgamma.logpdf(x, shape, scale=scale) + stats.chi2.cdf(x, 3.0)
    value = value + stats.rayleigh.logsf(x, scale=scale) + stats.pareto.logpdf(x + 1.0, shape)
    return np.sum(value + stats.gumbel_r.logcdf(x, 0.3, scale) + stats.gumbel_r.pdf(x, shape))


def truncated(x, a, b):
    value = stats.truncnorm.logpdf(x, a, b, loc=0.2, scale=1.5) + stats.truncnorm.sf(x, -2.0, 3.0)
    return np.sum(value + stats.truncnorm.pdf(x + 5.0, 3.0, 6.0))  # both bounds far right


def quantiles(q, loc, scale):
    value = stats.norm.ppf(q, loc, scale) + stats.norm(loc, scale).isf(q) ** 2
    return np.sum(value + stats.norm.ppf(q) * stats.norm.isf(q, scale=scale))


def gaussian(x, mean, cov):
    return np.sum(stats.multivariate_normal.logpdf(x, mean, cov))


def gaussian_by_name(x, mean, factor):
    cov = factor @ factor.T + np.eye(3)
    return np.sum(stats.multivariate_normal.logpdf(x, mean=mean, cov=cov))


def read_global(x):
    value = np.sum(stats.norm.logpdf(x, loc=LOC, scale=2.0)) + stats.gamma.logpdf(A, 2.0)
    return value + np.sum(stats.truncnorm.logpdf(x, -A, A + 1.0) + stats.chi2.logpdf(x, A))


def gamma_cdf(x, a):
    return np.sum(stats.gamma.cdf(x, a))


def gamma_cdf_constant(x):
    return np.sum(stats.gamma.cdf(x, 2.0, scale=1.5))


GAMMA_FROZEN = stats.gamma(a=2.0, scale=1.5)


def frozen_gamma_cdf(x):
    return np.sum(GAMMA_FROZEN.cdf(x))


def math_functions(x):
    return math.erf(x) * math.erfc(x / 2) + math.gamma(x) + math.lgamma(x) * math.tanh(x)
"""

SPD = np.array([[1.2, 0.3, -0.4], [0.3, 0.9, 0.2], [-0.4, 0.2, 1.5]])
POINTS = np.array([[0.5, 1.2, 2.0], [2.4, 0.3, 1.1], [1.7, 0.9, 0.6], [0.8, 2.2, 1.4]])


@pytest.fixture(scope="module")
def distributions(tmp_path_factory):
    pytest.importorskip("scipy.stats")
    return module_from_source(STATS_CODE, tmp_path_factory.mktemp("stats"), "stats_user")


STATS_CASES = [
    ("normal", (POINTS, np.array([0.2, -0.1, 0.4]), 1.7)),
    ("student", (POINTS, 3.5, np.array([0.2, -0.1, 0.4]), 1.3)),
    ("gamma", (POINTS, np.array([1.5, 2.5, 3.0]), 0.8)),
    ("beta", (POINTS / 3.0, np.array([1.5, 2.5, 3.0]), 2.2)),
    ("expon_laplace", (POINTS, 0.25, 1.4)),
    ("cauchy_logistic", (POINTS, 0.25, 1.4)),
    ("lognorm_weibull", (POINTS, np.array([0.5, 1.1, 0.8]), 1.4)),
    ("positive_families", (POINTS, np.array([1.5, 2.1, 0.8]), 1.4)),
    ("truncated", (POINTS, np.array([-1.0, -0.5, -0.3]), 2.0)),
    ("quantiles", (POINTS / 3.0, np.array([0.2, -0.1, 0.4]), 1.7)),
    ("gaussian", (POINTS, np.array([0.1, 0.3, -0.2]), SPD)),
    ("gaussian_by_name", (POINTS, np.array([0.1, 0.3, -0.2]), SPD / 2)),
    ("math_functions", (0.7,)),
]


@pytest.mark.sampled(4)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(("name", "arguments"), STATS_CASES, ids=[c[0] for c in STATS_CASES])
def test_distributions_match_differences(distributions, name, arguments, mode):
    """In x, loc, scale and the shape parameters (a pdf's; a cdf's are constants here)."""
    function = getattr(distributions, name)
    argnums = tuple(range(len(arguments)))
    expected = srcad.numerical_grad(function, *arguments, argnums=argnums)
    gradient = srcad.grad(function, argnums=argnums, mode=mode)(*arguments)
    for got, want in zip(gradient, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_generated_code_calls_the_distributions_by_name(distributions):
    gradient = srcad.grad(distributions.normal, argnums=(0, 1, 2))
    gradient(POINTS, np.array([0.2, -0.1, 0.4]), 1.7)
    lines = _code_lines(gradient)
    assert "import scipy.stats" in lines
    code = "\n".join(lines)
    assert "scipy.stats.norm.logpdf(x, loc=loc, scale=scale)" in code
    assert "scipy.stats.norm.cdf(x, scale=scale)" in code  # loc=0.0 is left out
    math_gradient = srcad.grad(distributions.math_functions)
    math_gradient(0.7)
    assert "import math" in _code_lines(math_gradient)
    assert "math.lgamma(x)" in srcad.source(math_gradient)


def test_hessian_through_the_shape_parameter(distributions):
    """Second derivatives: the rules' own functions (psi, zeta) have rules."""
    arguments = (POINTS, 3.5, np.array([0.2, -0.1, 0.4]), 1.3)

    def in_df(df):
        return distributions.student(POINTS, df, arguments[2], arguments[3])

    second = srcad.grad(srcad.grad(in_df))(3.5)
    first = srcad.grad(in_df)
    expected = (first(3.5 + EPS) - first(3.5 - EPS)) / (2 * EPS)
    assert np.isclose(second, expected, rtol=1e-5)


def test_a_cdf_is_not_differentiated_in_its_shape_parameter(distributions):
    x = POINTS
    with pytest.raises(srcad.NoDerivativeRule, match="shape parameter 'a'") as error:
        srcad.grad(distributions.gamma_cdf, argnums=1)(x, 2.0)
    assert "stats_user" in str(error.value)  # at the user's line
    with pytest.raises(srcad.NoDerivativeRule, match="scipy.stats.gamma.cdf"):
        srcad.grad(distributions.gamma_cdf, argnums=1, mode="forward")(x, 2.0)
    # in x: with a constant, and, in either mode, with a that is not differentiated (reverse
    # mode refused an argument or a frozen distribution's parameter read from outside:
    # values read on every call, never differentiated; found by a probe)
    srcad.check_grad(distributions.gamma_cdf_constant, x)
    expected = srcad.numerical_grad(distributions.gamma_cdf, x, 2.0)
    for mode in ("forward", "reverse"):
        gradient = srcad.grad(distributions.gamma_cdf, mode=mode)(x, 2.0)
        np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-8)
    frozen = distributions.GAMMA_FROZEN
    try:
        for shape in (2.0, 3.5):  # the frozen distribution's parameter, changed
            frozen.kwds["a"] = shape
            got = srcad.grad(distributions.frozen_gamma_cdf)(x)
            expected = srcad.numerical_grad(distributions.frozen_gamma_cdf, x)
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)
    finally:
        frozen.kwds["a"] = 2.0


def test_globals_read_by_the_distributions_are_read_again(distributions):
    gradient = srcad.grad(distributions.read_global)
    original = distributions.LOC, distributions.A
    try:
        for loc, a in ((original[0], 2.5), (original[0] * 3.0, 1.5), (np.array([0.5]), 3.0)):
            distributions.LOC, distributions.A = loc, a  # values, then a shape
            expected = srcad.numerical_grad(distributions.read_global, POINTS)
            np.testing.assert_allclose(gradient(POINTS), expected, rtol=1e-6, atol=1e-9)
    finally:
        distributions.LOC, distributions.A = original


IMPORTED_BY_NAME = """
import numpy as np
from scipy.stats import norm


def loss(x, m):
    return np.sum(norm.logpdf(x, m, 2.0))
"""


def test_a_distribution_imported_by_name(tmp_path):
    pytest.importorskip("scipy.stats")
    module = module_from_source(IMPORTED_BY_NAME, tmp_path, "by_name")
    srcad.check_grad(module.loss, POINTS, 0.5, argnums=(0, 1))
    gradient = srcad.grad(module.loss, argnums=(0, 1))
    gradient(POINTS, 0.5)
    compiled = gradient.last
    gradient(POINTS, 0.5)
    assert gradient.last is compiled  # the method read again is the same function: no recompile


LAZY_SCIPY = """
import sys

import numpy as np

import srcad

assert "scipy" not in sys.modules, "import srcad imported scipy"
import scipy.special  # after srcad: the rows are registered when a function needs them
from scipy import stats


def f(x):
    return np.sum(scipy.special.expit(x) + stats.norm.logpdf(x, scale=2.0))


print(srcad.grad(f)(np.zeros(2)))
"""


@pytest.mark.slow  # a fresh interpreter: the full suite runs it
def test_import_srcad_does_not_import_scipy(tmp_path):
    pytest.importorskip("scipy.special")
    script = tmp_path / "lazy_scipy.py"
    script.write_text(LAZY_SCIPY)
    env = {**os.environ, "SRCAD_GENERATED_DIR": str(tmp_path / "generated")}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0.25 0.25]"


def test_a_frozen_distributions_parameters_changed_in_place_are_read_on_every_call():
    """``LIK.args = (30.0,)``, ``PRIOR.kwds["scale"] = 0.5``: srcad kept the parameters it
    compiled with (a stale gradient; found by a probe)."""
    stats = pytest.importorskip("scipy.stats")
    likelihood, prior = stats.t(3.0), stats.norm(loc=0.0, scale=1.0)

    def negative_log_joint(x):
        return -np.sum(likelihood.logpdf(x)) - np.sum(prior.logpdf(x))

    x = np.array([0.5, 1.5])
    for mode in ("reverse", "forward"):
        gradient = srcad.grad(negative_log_joint, mode=mode)
        for change in (
            lambda: None,
            lambda: setattr(likelihood, "args", (30.0,)),
            lambda: likelihood.kwds.update(loc=1.0),
            lambda: prior.kwds.update(scale=0.5),
        ):
            change()
            expected = srcad.numerical_grad(negative_log_joint, x)
            np.testing.assert_allclose(gradient(x), expected, rtol=1e-6, atol=1e-8)
        likelihood.args, likelihood.kwds, prior.kwds = (3.0,), {}, {"loc": 0.0, "scale": 1.0}


def test_frozen_distributions_are_their_distributions_with_named_parameters():
    stats = pytest.importorskip("scipy.stats")
    prior = {"dist": stats.norm(0.2, 1.5)}  # a global frozen distribution: fixed by identity

    def log_joint(x):
        theta = 1.0 + x[0] ** 2
        likelihood = np.sum(stats.gamma(2.0, scale=theta).logpdf(np.abs(x) + 0.1))
        shaped = np.sum(stats.beta(2.0, 3.0).logpdf(x / 4.0 + 0.5))
        located = np.sum(stats.norm(x[1], 2.0 + x[2] ** 2).logpdf(x))
        return likelihood + shaped + located + np.sum(prior["dist"].logpdf(x))

    x = np.array([0.3, -0.5, 1.2])
    gradient = srcad.grad(log_joint)
    gradient(x)
    compiled = gradient.last
    gradient(x * 2.0)
    assert gradient.last is compiled  # the prior's method read again: no recompile
    for change in (None, stats.norm(1.0, 0.5)):  # the world changes: another prior
        if change is not None:
            prior["dist"] = change
        expected = srcad.numerical_grad(log_joint, x)
        np.testing.assert_allclose(gradient(x), expected, rtol=1e-6, atol=1e-8)


ORDERS: dict = {"scale": 1.0}


def special_of_array_orders(x):
    special = ORDERS["special"]
    orders = np.array([0.5, 1.0, 2.0])
    return ORDERS["scale"] * (
        np.sum(special.polygamma(np.array([0, 1, 2]), x))
        + np.sum(special.iv(orders, x))
        + np.sum(special.zeta(orders + 1.5, x))
    )


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_orders_given_as_arrays_differentiate_each_element_by_its_order(mode):
    """polygamma(np.array([0, 1, 2]), x): the rule added 1 to the tuple the order is kept
    as (InternalError 'can only concatenate tuple (not int) to tuple'; found by a probe)."""
    ORDERS["special"] = pytest.importorskip("scipy.special")
    x = np.array([0.4, 1.3, 3.7])
    gradient = srcad.grad(special_of_array_orders, mode=mode)
    for scale in (1.0, -2.0):  # a global read on every call
        ORDERS["scale"] = scale
        try:
            expected = srcad.numerical_grad(special_of_array_orders, x)
            np.testing.assert_allclose(gradient(x), expected, rtol=1e-6)
        finally:
            ORDERS["scale"] = 1.0


TAIL = {"scale": 0.1}


def tail_log_probabilities(x, loc):
    stats = TAIL["stats"]
    return (
        stats.gumbel_r.logcdf(x, loc=loc, scale=TAIL["scale"])
        + stats.weibull_min.logsf(-x * 250.0, 3.0, scale=TAIL["scale"] / 100.0)
        + stats.rayleigh.logsf(-x * 1e8)
    )


def test_log_cdfs_and_log_sfs_far_in_their_tails_have_their_exact_slopes():
    """exp(logpdf - logcdf) of two numbers of -2.4e17 lost every digit: gumbel_r.logcdf at
    z = -40 had slope 10 where it is 2.4e18, weibull_min.logsf at 1e6 scales -1000 where it
    is -3e15 (found by a probe); the closed forms of f/F and f/S are exact."""
    TAIL["stats"] = pytest.importorskip("scipy.stats")
    x, loc = -4.0, 0.0
    for scale in (0.1, 0.125):  # a global read on every call
        TAIL["scale"] = scale
        try:
            z = (x - loc) / scale
            weibull_scale = scale / 100.0
            exact_x = (
                np.exp(-z) / scale
                + 250.0 * 3.0 * (-x * 250.0 / weibull_scale) ** 2 / weibull_scale
                + 1e8 * (-x * 1e8)
            )
            for mode in ("reverse", "forward"):
                got_x, got_loc = srcad.grad(tail_log_probabilities, argnums=(0, 1), mode=mode)(
                    x, loc
                )
                assert got_x == pytest.approx(exact_x, rel=1e-9)
                assert got_loc == pytest.approx(-np.exp(-z) / scale, rel=1e-9)
        finally:
            TAIL["scale"] = 0.1


def normal_tails(x, loc):
    stats, special = TAIL["stats"], TAIL["special"]
    scale = TAIL["scale"]
    return np.sum(
        stats.norm.logcdf(x, loc=loc, scale=scale)
        + stats.norm.logsf(-x, loc=-loc, scale=scale)
        + special.log_ndtr(x / scale)
    )


def test_the_normal_log_cdf_and_log_sf_have_their_exact_slopes_in_either_tail():
    """exp(logpdf - logcdf) of two numbers near -z^2 / 2 lost digits as z grew: 0.7 % off
    at z = -1e7, and log_ndtr's second derivative at -1e4 was -1.61 where it is -1.00
    (the ratio is now sqrt(2 / pi) / erfcx(-z / sqrt(2)))."""
    TAIL["stats"] = pytest.importorskip("scipy.stats")
    TAIL["special"] = pytest.importorskip("scipy.special")
    mpmath = pytest.importorskip("mpmath")
    x = np.array([-1e7, -1e4, -40.0, -3.0, 0.5, 3.0, 12.0])

    def ratio(z):  # phi(z) / Phi(z), with 40 digits
        with mpmath.workdps(40):
            return float(mpmath.npdf(z) / mpmath.ncdf(z))

    for scale in (1.0, 0.5):  # a global read on every call
        TAIL["scale"] = scale
        try:
            slopes = np.array([ratio(mpmath.mpf(v) / scale) for v in x]) / scale
            exact_x = slopes + slopes + slopes  # logsf(-x) = logcdf(x) for the normal
            for mode in ("reverse", "forward"):
                got_x, got_loc = srcad.grad(normal_tails, argnums=(0, 1), mode=mode)(x, 0.0)
                np.testing.assert_allclose(got_x, exact_x, rtol=1e-13)
                assert got_loc == pytest.approx(-2.0 * np.sum(slopes), rel=1e-13)
        finally:
            TAIL["scale"] = 0.1
    second = np.diag(srcad.hessian(lambda v: np.sum(TAIL["special"].log_ndtr(v)))(x[1:4]))
    for got, z in zip(second, x[1:4], strict=True):
        with mpmath.workdps(40):
            z = mpmath.mpf(z)
            r = mpmath.npdf(z) / mpmath.ncdf(z)
            assert got == pytest.approx(float(r * (-z - r)), rel=1e-7)
