"""``scipy.special``'s functions for numba-compiled code, which numba has no typing for:
the numba variant calls these where the NumPy code calls SciPy (see
``srcad.backends.numba_spellings``).

    expit_values(x)           scipy.special.expit(x): 1 / (1 + exp(-x))
    erf_values(x)             scipy.special.erf(x), and erfc, gammaln, gamma, ndtr alike
                              (the C library's erf, erfc, lgamma, tgamma, as SciPy's
                              to a few units in the last place)
    psi_values(x)             scipy.special.psi(x) (digamma), which gammaln's derivative
                              calls: a recurrence up to 10, then the asymptotic series
    logsumexp_values(a)       scipy.special.logsumexp(a) over all elements
    logsumexp_along(a, axis)  scipy.special.logsumexp(a, axis=axis)
    softmax_values(x)         scipy.special.softmax(x) over all elements, and log_softmax
    softmax_along(x, axis)    scipy.special.softmax(x, axis=axis), and log_softmax

Each takes a float array of any layout, and returns an array of its dtype as SciPy does, or
a number, and returns a float. Integer arrays, and along an axis anything but a vector or
matrix with a literal axis, are left to numba's typing, which fails: srcad then runs the
NumPy code and names the line.
As SciPy, ``logsumexp`` and ``log_softmax`` subtract the largest element (0 where it is
not finite) before they exponentiate, and ``softmax`` the largest element.

Imported only by numba variants: importing it imports numba, never SciPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
from numba import types
from numba.extending import overload

from srcad.runtime.numba_arrays import along_rows, rowwise

# psi(x) ~ log(x) - 1/(2x) - sum_k B_2k / (2k x^2k) for x >= 10 (the next term is below
# 1e-16): the B_2k / 2k for k = 1..7
PSI_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def _scipy(name: str) -> Callable:
    import scipy.special  # the plain function's body, run only outside numba

    return getattr(scipy.special, name)


# --- element by element ---------------------------------------------------------------------
@numba.njit(error_model="numpy")
def _expit(x):
    return 1.0 / (1.0 + math.exp(-x))


@numba.njit(error_model="numpy")
def _ndtr(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@numba.njit(error_model="numpy")
def _psi(x):
    if x == 0.0:
        return -math.copysign(math.inf, x)  # SciPy's: -inf at 0.0, inf at -0.0
    if (x < 0.0 and x == math.floor(x)) or math.isinf(x):
        return math.nan if x < 0.0 else x  # the poles and -inf: nan; inf: inf
    shift = 0.0
    if x < 0.0:  # reflection: psi(x) = psi(1 - x) - pi / tan(pi x)
        shift = -math.pi / math.tan(math.pi * x)
        x = 1.0 - x
    while x < 10.0:  # psi(x) = psi(x + 1) - 1 / x
        shift -= 1.0 / x
        x += 1.0
    inverse_square = 1.0 / (x * x)
    tail = 0.0
    for coefficient in PSI_SERIES[::-1]:
        tail = tail * inverse_square + coefficient
    return shift + math.log(x) - 0.5 / x - tail * inverse_square


def _elementwise(name: str, scalar: Callable) -> Callable:
    """The function that applies the compiled ``scalar`` to a number or to each element of
    a float array (a new array of its shape and dtype)."""

    def of(x):
        return _scipy(name)(x)

    @overload(of)
    def _of(x):
        if isinstance(x, (types.Float, types.Integer)):
            return lambda x: scalar(float(x))
        if not (isinstance(x, types.Array) and isinstance(x.dtype, types.Float)):
            return None

        def each(x):
            out = np.empty(x.shape, x.dtype)
            flat = out.reshape(out.size)
            for k, value in enumerate(x.flat):
                flat[k] = scalar(value)
            return out

        return each

    of.__name__ = f"{name}_values"
    of.__doc__ = f"``scipy.special.{name}(x)``."
    return of


expit_values = _elementwise("expit", _expit)
erf_values = _elementwise("erf", numba.njit(lambda x: math.erf(x)))
erfc_values = _elementwise("erfc", numba.njit(lambda x: math.erfc(x)))
gammaln_values = _elementwise(
    "gammaln", numba.njit(lambda x: -math.inf if x == -math.inf else math.lgamma(x))
)
gamma_values = _elementwise("gamma", numba.njit(lambda x: math.gamma(x)))
ndtr_values = _elementwise("ndtr", _ndtr)
psi_values = _elementwise("psi", _psi)


# --- logsumexp and softmax --------------------------------------------------------------------
@numba.njit(error_model="numpy")
def _shift(values):
    """The largest of ``values``, 0 where it is not finite (SciPy's shift)."""
    largest = values.max()
    return largest if np.isfinite(largest) else 0.0


@numba.njit(error_model="numpy")
def _logsumexp_row(values):
    shift = _shift(values)
    total = 0.0
    for value in values:
        total += math.exp(value - shift)
    return math.log(total) + shift


@numba.njit(error_model="numpy")
def _logsumexp_rows(rows, out, unused):
    for r in range(rows.shape[0]):
        out[r] = _logsumexp_row(rows[r])


@numba.njit(error_model="numpy")
def _softmax_rows(rows, out, unused):
    for r in range(rows.shape[0]):
        shift = rows[r].max()  # SciPy's softmax shifts by an infinite largest too: nan
        total = 0.0
        for c in range(rows.shape[1]):
            out[r, c] = math.exp(rows[r, c] - shift)
            total += out[r, c]
        for c in range(rows.shape[1]):
            out[r, c] /= total


@numba.njit(error_model="numpy")
def _log_softmax_rows(rows, out, unused):
    for r in range(rows.shape[0]):
        shift = _shift(rows[r])
        total = 0.0
        for c in range(rows.shape[1]):
            total += math.exp(rows[r, c] - shift)
        log_total = math.log(total)
        for c in range(rows.shape[1]):
            out[r, c] = rows[r, c] - shift - log_total


def logsumexp_values(a):
    """``scipy.special.logsumexp(a)``."""
    return _scipy("logsumexp")(a)


def logsumexp_along(a, axis):
    """``scipy.special.logsumexp(a, axis=axis)``."""
    return _scipy("logsumexp")(a, axis=axis)


def softmax_values(x):
    """``scipy.special.softmax(x)``."""
    return _scipy("softmax")(x)


def softmax_along(x, axis):
    """``scipy.special.softmax(x, axis=axis)``."""
    return _scipy("softmax")(x, axis=axis)


def log_softmax_values(x):
    """``scipy.special.log_softmax(x)``."""
    return _scipy("log_softmax")(x)


def log_softmax_along(x, axis):
    """``scipy.special.log_softmax(x, axis=axis)``."""
    return _scipy("log_softmax")(x, axis=axis)


def _is_float_array(x: types.Type) -> bool:
    return isinstance(x, types.Array) and isinstance(x.dtype, types.Float)


@overload(logsumexp_values)
def _logsumexp_values(a):
    if not _is_float_array(a):
        return None
    dtype = a.dtype
    return lambda a: dtype(_logsumexp_row(np.ravel(a)))


@overload(logsumexp_along)
def _logsumexp_along(a, axis):
    if _is_float_array(a) and a.ndim == 1 and isinstance(axis, types.IntegerLiteral):
        if axis.literal_value not in (0, -1):
            return None
        dtype = a.dtype
        return lambda a, axis: dtype(_logsumexp_row(a))
    work = rowwise(a, axis, _logsumexp_rows, same_shape=False)
    return None if work is None else lambda a, axis: work(a, 0)


def _whole(rows_kernel: Callable) -> Callable:
    """``rows_kernel`` over all elements of an array of any shape, as one row."""

    def whole(x):
        out = np.empty(x.shape, x.dtype)
        rows_kernel(np.ravel(x).reshape((1, x.size)), out.reshape((1, x.size)), 0)
        return out

    return whole


@overload(softmax_values)
def _softmax_values(x):
    return _whole(_softmax_rows) if _is_float_array(x) else None


@overload(log_softmax_values)
def _log_softmax_values(x):
    return _whole(_log_softmax_rows) if _is_float_array(x) else None


overload(softmax_along)(along_rows(_softmax_rows, same_shape=True))
overload(log_softmax_along)(along_rows(_log_softmax_rows, same_shape=True))
