"""``scipy.special`` in the numba variant (``srcad.runtime.numba_special``): the variant
calls compiled functions where the NumPy code calls SciPy, which numba cannot type.

Checked: the calls are respelled (over all elements, along an axis, with ``keepdims``) and
the rest left to NumPy's code; each compiled function gives SciPy's values on float64 and
float32 arrays of several layouts and on numbers, special values included; a loss built on
them compiles without falling back and agrees with the NumPy backend and with central
differences, also after a global changed.
"""

from __future__ import annotations

import math
import textwrap
import warnings

import numpy as np
import pytest

import srcad
from srcad.backends.numba_spellings import import_line, respelled_spellings

try:
    import scipy.special as special
except ImportError:  # the tests that need SciPy skip
    special = None

MODULE = textwrap.dedent('''\
    import numpy as np
    import scipy.special


    def f_grad_unchecked(x, dout=1.0):
        """docstring"""
        a = scipy.special.expit(x) + scipy.special.psi(x) + scipy.special.xlogy(x, x)
        b = scipy.special.logsumexp(x) + scipy.special.logsumexp(x, axis=1, keepdims=True)
        c = scipy.special.softmax(x, axis=-1) + scipy.special.log_softmax(x)
        d = scipy.special.logsumexp(x, b=x) + scipy.special.softmax(x, axis=k)
        return a
    ''')


def test_the_calls_are_respelled_and_the_others_kept():
    source, called = respelled_spellings(MODULE, "f_grad_unchecked")
    lines = source.splitlines()
    assert lines[6] == "    a = expit_values(x) + psi_values(x) + scipy.special.xlogy(x, x)"
    assert lines[7] == ("    b = logsumexp_values(x) + np.expand_dims(logsumexp_along(x, 1), 1)")
    assert lines[8] == "    c = softmax_along(x, -1) + log_softmax_values(x)"
    assert lines[9] == (
        "    d = scipy.special.logsumexp(x, b=x) + scipy.special.softmax(x, axis=k)"
    )
    assert import_line(called | {"where_values"}) == [
        "from srcad.runtime.numba_arrays import where_values",
        "from srcad.runtime.numba_special import expit_values, log_softmax_values, "
        "logsumexp_along, logsumexp_values, psi_values, softmax_along",
    ]


def _arrays() -> list[np.ndarray]:
    """A contiguous and a strided float64 array, a float32 array (each layout and dtype a
    compile of its own)."""
    a = np.random.default_rng(3).normal(size=(4, 5)) * 3.0
    return [a, a[:, ::2], a.astype(np.float32)]


ELEMENTWISE = ["expit", "erf", "erfc", "gammaln", "gamma", "ndtr", "psi"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_functions_give_scipys_values(name):
    numba = pytest.importorskip("numba")
    pytest.importorskip("scipy")
    from srcad.runtime import numba_special

    function = getattr(numba_special, f"{name}_values")
    compiled = numba.njit(lambda x: function(x))  # its overload: inside compiled code
    reference = getattr(special, name)
    for array in _arrays():
        x = np.abs(array) + 0.1 if name.startswith("gamma") else array
        got, want = compiled(x), reference(x)
        assert got.dtype == want.dtype and got.shape == want.shape
        rtol = 1e-6 if x.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-300)
    number = 0.7
    assert compiled(number) == pytest.approx(float(reference(number)), rel=1e-13)
    special_values = np.array([0.0, -0.0, -2.0, np.inf, -np.inf, np.nan, 40.0, -40.0])
    with np.errstate(all="ignore"):
        want = reference(special_values)
    np.testing.assert_allclose(compiled(special_values), want, rtol=1e-12)


# over all elements and along each axis, each kernel (the others share theirs)
ALONG = [
    ("logsumexp", {}),
    ("logsumexp", {"axis": -1}),
    ("softmax", {}),
    ("softmax", {"axis": 0}),
    ("log_softmax", {"axis": 1}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "options"), ALONG)
def test_reductions_and_softmaxes_give_scipys_values(name, options):
    numba = pytest.importorskip("numba")
    pytest.importorskip("scipy")
    from srcad.runtime import numba_special

    if options:
        axis = options["axis"]
        along = getattr(numba_special, f"{name}_along")
        compiled = numba.njit(lambda x: along(x, axis))
    else:
        over_all = getattr(numba_special, f"{name}_values")
        compiled = numba.njit(lambda x: over_all(x))
    reference = getattr(special, name)
    infinite = np.array([[-np.inf, -np.inf, 0.5], [np.inf, 1.0, 2.0]])
    vectors = [np.linspace(-2.0, 3.0, 7)] if name == "logsumexp" else []  # to a number
    for x in [*_arrays(), infinite, *vectors]:
        got, want = compiled(x), reference(x, **options)
        assert np.shape(got) == np.shape(want)
        # float32: SciPy sums in float32, these in float64; log_softmax cancels near 0
        tolerance = 1e-6 * np.abs(x).max() if x.dtype == np.float32 else 1e-13
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


SETTINGS = {"temperature": 1.0}


def special_loss(x):
    """A classifier's losses written with SciPy: a log-softmax cross-entropy, a logsumexp
    along rows, a sigmoid, an error function and gammaln (whose derivative calls psi)."""
    scaled = x / SETTINGS["temperature"]
    picked = special.log_softmax(scaled, axis=1)[np.arange(3), [0, 2, 1]]
    spread = np.sum(special.logsumexp(scaled, axis=0, keepdims=True) * x)
    smooth = np.sum(special.expit(x) * special.erf(x)) + np.sum(special.gammaln(x**2 + 1.0))
    return -np.sum(picked) + spread + smooth + np.sum(special.softmax(scaled) * x)


@pytest.mark.slow
def test_a_loss_on_scipy_special_compiles_and_agrees_also_after_the_world_changed():
    pytest.importorskip("numba")
    pytest.importorskip("scipy")
    from srcad.backends import NumbaFallbackWarning

    x = np.random.default_rng(4).normal(size=(3, 4))
    compiled = srcad.value_and_grad(special_loss, backend="numba")
    try:
        for temperature in (1.0, 0.4):  # the second call reads the changed global
            SETTINGS["temperature"] = temperature
            with warnings.catch_warnings():
                warnings.simplefilter("error", NumbaFallbackWarning)
                value, grad = compiled(x)
            want_value, want_grad = srcad.value_and_grad(special_loss)(x)
            assert math.isclose(value, want_value, rel_tol=1e-12)
            np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-13)
            central = srcad.numerical_grad(special_loss, x)
            np.testing.assert_allclose(grad, central, rtol=1e-6, atol=1e-8)
    finally:
        SETTINGS["temperature"] = 1.0
    assert "logsumexp_along(" in srcad.source(compiled, backend="numba")
