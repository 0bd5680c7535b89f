"""NumPy's own loops for the elementwise functions and matrix products numba computes more
slowly, called from numba-compiled code (the numba variant's ``np.tanh(h)`` becomes
``numpy_tanh(h)`` and ``x @ W`` ``numpy_matmul(x, W)``, see
``srcad.backends.numba_numpy_loops``).

NumPy vectorises ``tanh``, ``exp``, ``log``, ``sin`` and ``cos``; numba calls the C library
once per element. On arrays of 32768 float32 numbers numba's ``tanh`` takes 6x NumPy's time,
``exp``, ``log``, ``sin`` and ``cos`` 2x (float64 ``tanh``: 1.2x). For an array of
``MIN_SIZE`` elements or more, compiled code leaves numba for NumPy's loop (``numba.objmode``,
about 3 us); below that, and for numbers, numba's own function runs. NumPy's loop also gives
exactly the NumPy backend's values.

    numpy_tanh(h)            h's tanh, a new array
    numpy_tanh_into(h, out)  np.tanh(h, out): written into ``out`` (which may be ``h``)
    numpy_matmul(a, b)       a @ b (NumPy's BLAS for float32 matrices of ``MIN_PRODUCT``)
    numpy_dot_into(a, b, out)

Imported only by numba variants: importing it imports numba.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
from numba import types
from numba.extending import overload

MIN_SIZE = 4096
DELEGATED = ("tanh", "exp", "log", "sin", "cos")


def _numpy_loop(code: int, x: np.ndarray, out: np.ndarray) -> None:
    """Run in object mode: NumPy's ``DELEGATED[code]`` of ``x`` into ``out``."""
    getattr(np, DELEGATED[code])(x, out=out)


def _delegating(code: int) -> tuple[Callable, Callable]:
    """The two functions (a new array, into an array) for ``DELEGATED[code]``, each a plain
    Python function that numba compiles through its overload."""
    ufunc = getattr(np, DELEGATED[code])

    def into(x, out):
        ufunc(x, out=out)

    def of(x):
        return ufunc(x)

    @overload(into)
    def _into(x, out):
        if not _is_float_array(x):
            return lambda x, out: ufunc(x, out)  # numba's function

        def compiled_into(x, out):
            if x.size < MIN_SIZE:
                ufunc(x, out)
            else:
                with numba.objmode():
                    _numpy_loop(code, x, out)

        return compiled_into

    @overload(of)
    def _of(x):
        if not _is_float_array(x):
            return lambda x: ufunc(x)  # a number, ints: numba's function

        def compiled_of(x):
            out = np.empty_like(x)
            into(x, out)
            return out

        return compiled_of

    return of, into


def _is_float_array(x: types.Type) -> bool:
    return isinstance(x, types.Array) and isinstance(x.dtype, types.Float)


# --- matrix products ----------------------------------------------------------------------
MIN_PRODUCT = 2**16  # rows x inner x columns from which NumPy's float32 matmul is worth a call


def _numpy_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Run in object mode: NumPy's ``a @ b`` into ``out``."""
    np.matmul(a, b, out=out)


def numpy_matmul(a, b):
    """``a @ b``, by NumPy's BLAS for large float32 matrix-matrix products."""
    return a @ b


def numpy_dot_into(a, b, out):
    """``np.dot(a, b, out)``, the same way."""
    np.dot(a, b, out)


def _is_float32_matrices(*arrays: types.Type) -> bool:
    """numba calls SciPy's BLAS, whose float32 gemm ran 1.15-1.5x NumPy's on an MLP's
    shapes; its float64 one and its matrix-vector products as fast as NumPy's."""
    return all(
        isinstance(a, types.Array) and a.ndim == 2 and a.dtype == types.float32 for a in arrays
    )


@overload(numpy_dot_into)
def _dot_into(a, b, out):
    if not _is_float32_matrices(a, b, out):
        return lambda a, b, out: np.dot(a, b, out)

    def compiled_dot_into(a, b, out):
        rows, inner, columns = a.shape[0], a.shape[1], b.shape[1]
        if rows < 2 or columns < 2 or rows * inner * columns < MIN_PRODUCT:
            np.dot(a, b, out)
        else:
            with numba.objmode():
                _numpy_matmul(a, b, out)

    return compiled_dot_into


@overload(numpy_matmul)
def _matmul(a, b):
    if not _is_float32_matrices(a, b):
        return lambda a, b: a @ b

    def compiled_matmul(a, b):
        out = np.empty((a.shape[0], b.shape[1]), a.dtype)
        numpy_dot_into(a, b, out)
        return out

    return compiled_matmul


numpy_tanh, numpy_tanh_into = _delegating(0)
numpy_exp, numpy_exp_into = _delegating(1)
numpy_log, numpy_log_into = _delegating(2)
numpy_sin, numpy_sin_into = _delegating(3)
numpy_cos, numpy_cos_into = _delegating(4)
