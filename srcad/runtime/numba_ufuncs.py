"""NumPy's own loops for the elementwise functions numba computes more slowly, called from
numba-compiled code (the numba variant's ``np.tanh(h)`` becomes ``numpy_tanh(h)``, see
``srcad.backends.numba_ufuncs``).

NumPy vectorises ``tanh``, ``exp``, ``log``, ``sin`` and ``cos``; numba calls the C library
once per element. On arrays of 32768 float32 numbers numba's ``tanh`` takes 6x NumPy's time,
``exp``, ``log``, ``sin`` and ``cos`` 2x (float64 ``tanh``: 1.2x). For an array of
``MIN_SIZE`` elements or more, compiled code leaves numba for NumPy's loop (``numba.objmode``,
about 3 us); below that, and for numbers, numba's own function runs. NumPy's loop also gives
exactly the NumPy backend's values.

    numpy_tanh(h)            h's tanh, a new array
    numpy_tanh_into(h, out)  np.tanh(h, out): written into ``out`` (which may be ``h``)

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


numpy_tanh, numpy_tanh_into = _delegating(0)
numpy_exp, numpy_exp_into = _delegating(1)
numpy_log, numpy_log_into = _delegating(2)
numpy_sin, numpy_sin_into = _delegating(3)
numpy_cos, numpy_cos_into = _delegating(4)
