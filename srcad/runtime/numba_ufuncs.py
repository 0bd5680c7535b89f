"""Elementwise functions and matrix products that numba computes more slowly than they can
be, for numba-compiled code (the numba variant's ``np.tanh(h)`` becomes ``numpy_tanh(h)`` and
``x @ W`` ``numpy_matmul(x, W)``, see ``srcad.backends.numba_numpy_loops``).

NumPy vectorises ``exp``, ``log``, ``sin`` and ``cos``; numba calls the C library once per
element (on 32768 float32 numbers 2x NumPy's time). For an array of ``MIN_SIZE`` elements or
more, compiled code leaves numba for NumPy's loop (``numba.objmode``, about 3 us, which then
gives exactly the NumPy backend's values); below that, and for numbers, numba's own function
runs.

``tanh`` of a contiguous float array runs ``tanh_loop`` instead: float64 arithmetic that
LLVM vectorises (256 numbers: 1.5 us, where numba's per-element C call takes 4.7 us and
NumPy's loop 1.2 us in float32, 4.0 us in float64), at any size in float64 and up to
``MIN_SIZE`` numbers in float32 (above it NumPy's loop is faster: ``LOOP_LARGEST``). Its values
are within 3 units in the last place of NumPy's in float64 and 1 in float32
(``tests/test_numba_numpy_loops.py`` measures it). Other arrays take the path of ``exp``.

A row times a matrix (``x @ W`` with one row in ``x``, the forward pass of a batch of one)
runs ``row_times_matrix`` in float64, a loop that reads two rows of the matrix at a time: the
memory system serves two streams faster than one (784x256: 23 us where numba's call of BLAS
takes 25). In float32 BLAS's own matrix-vector product is faster (10 us against 11.5-12.8).

    numpy_tanh(h)            h's tanh, a new array
    numpy_tanh_into(h, out)  np.tanh(h, out): written into ``out`` (which may be ``h``)
    numpy_matmul(a, b)       a @ b (NumPy's BLAS for float32 matrices of ``MIN_PRODUCT``;
                             float32 and float64 arrays as NumPy: in float64)
    numpy_dot_into(a, b, out)

Imported only by numba variants: importing it imports numba.
"""

from __future__ import annotations

import decimal
import math
import struct
from collections.abc import Callable

import numba
import numpy as np
from numba import types
from numba.extending import overload

MIN_SIZE = 4096
DELEGATED = ("tanh", "exp", "log", "sin", "cos")
# Sizes above which NumPy's loop beats tanh_loop, by dtype (float32 32768 numbers: 84 us
# against 133; float64: 440 against 126, so no limit)
LOOP_LARGEST = {"float32": MIN_SIZE}


# --- tanh, vectorised ---------------------------------------------------------------------
def _ln2_parts() -> tuple[float, float]:
    """ln 2 as a sum hi + lo of floats, hi's last 8 bits zero: k * hi is exact for k < 256."""
    context = decimal.Context(prec=50)
    ln2 = context.ln(decimal.Decimal(2))
    bits = struct.unpack("<Q", struct.pack("<d", float(ln2)))[0] & ~0xFF
    hi = struct.unpack("<d", struct.pack("<Q", bits))[0]
    return hi, float(context.subtract(ln2, decimal.Decimal(hi)))


LN2_HI, LN2_LO = _ln2_parts()
INVERSE_LN2 = 1.0 / math.log(2.0)
TANH_BLOCK = 256  # numbers computed into a buffer at a time
TANH_ONE = 22.0  # from here on tanh rounds to 1 in float64
POWERS_OF_TWO = np.array([2.0**k for k in range(66)])  # 2 ** k for k <= 2 * 22 / ln 2
# expm1(r) = r + r**2 * (1/2! + r/3! + ... + r**12/14!): below 1e-17 relative for |r| <= ln2/2
EXPM1_TAIL = np.array([1.0 / math.factorial(n) for n in range(2, 15)])


@numba.njit(error_model="numpy", fastmath={"contract"})
def tanh_loop(x, out):
    """out[i] = tanh(x[i]) for vectors (``out`` may be ``x``), a block at a time: each block is
    computed into a buffer, which LLVM knows ``x`` does not overlap (reading and writing one
    array, its vectorised loop would fall back to scalar code: 2x slower), then copied out."""
    block = np.empty(TANH_BLOCK, np.float64)
    for start in range(0, x.size, TANH_BLOCK):
        stop = min(start + TANH_BLOCK, x.size)
        _tanh_block(x, start, stop, block)
        for i in range(start, stop):
            out[i] = block[i - start]


@numba.njit(error_model="numpy", fastmath={"contract"})
def _tanh_block(x, start, stop, block):
    """block[i - start] = tanh(x[i]): expm1(2|x|) / (expm1(2|x|) + 2) with x's sign, where
    2|x| = k ln 2 + r (|r| <= ln 2 / 2) and expm1(2|x|) = 2**k * expm1(r) + 2**k - 1."""
    for i in range(start, stop):
        value = float(x[i])
        size = abs(value)
        size = size if size < TANH_ONE else TANH_ONE  # nan too: its sign and nan come back below
        twice = size + size
        k = np.floor(twice * INVERSE_LN2 + 0.5)
        r = (twice - k * LN2_HI) - k * LN2_LO
        tail = EXPM1_TAIL[12]
        for n in range(11, -1, -1):
            tail = tail * r + EXPM1_TAIL[n]
        power = POWERS_OF_TWO[np.int32(k)]
        expm1 = power * (r + r * r * tail) + (power - 1.0)
        result = expm1 / (expm1 + 2.0)
        block[i - start] = math.copysign(result, value) if value == value else value


def _numpy_loop(code: int, x: np.ndarray, out: np.ndarray) -> None:
    """Run in object mode: NumPy's ``DELEGATED[code]`` of ``x`` into ``out``."""
    getattr(np, DELEGATED[code])(x, out=out)


def _delegating(code: int, loop: Callable | None = None) -> tuple[Callable, Callable]:
    """The two functions (a new array, into an array) for ``DELEGATED[code]``, each a plain
    Python function that numba compiles through its overload; ``loop(x, out)`` computes it
    for contiguous vectors of one float dtype, where given."""
    ufunc = getattr(np, DELEGATED[code])

    def into(x, out):
        ufunc(x, out=out)

    def of(x):
        return ufunc(x)

    @overload(into)
    def _into(x, out):
        if not _is_float_array(x):
            return lambda x, out: ufunc(x, out)  # numba's function
        if loop is not None and _contiguous_alike(x, out):
            largest = LOOP_LARGEST.get(str(x.dtype), 2**62)

            def looped_into(x, out):
                if x.shape != out.shape:
                    ufunc(x, out)  # broadcast, or numba's error
                elif x.size > largest:
                    with numba.objmode():
                        _numpy_loop(code, x, out)
                else:
                    loop(x.reshape(x.size), out.reshape(out.size))

            return looped_into

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


def _contiguous_alike(*arrays: types.Type) -> bool:
    """C-contiguous float arrays of one dtype (the type numba compiles for says so)."""
    contiguous = [a for a in arrays if isinstance(a, types.Array) and a.layout == "C"]
    dtypes = {a.dtype for a in contiguous}
    return len(contiguous) == len(arrays) and len(dtypes) == 1 and _is_float_array(arrays[0])


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


@numba.njit(error_model="numpy", fastmath={"reassoc", "contract"})
def row_times_matrix(row, matrix, out):
    """out[:] = row @ matrix, two rows of the matrix at a time (rows k and k + half)."""
    out[:] = 0
    half = matrix.shape[0] // 2
    for k in range(half):
        first, second = row[k], row[k + half]
        for j in range(matrix.shape[1]):
            out[j] += first * matrix[k, j] + second * matrix[k + half, j]
    for k in range(2 * half, matrix.shape[0]):
        last = row[k]
        for j in range(matrix.shape[1]):
            out[j] += last * matrix[k, j]


@numba.njit
def _numba_matmul(a, b):
    return a @ b


@numba.njit
def _numpy_blas_matmul(a, b):
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    numpy_dot_into(a, b, out)
    return out


@overload(numpy_matmul)
def _matmul(a, b):
    if _is_float_array(a) and _is_float_array(b) and a.dtype != b.dtype:
        common = np.promote_types(str(a.dtype), str(b.dtype)).type  # numba's @ takes one

        def promoted(a, b):
            return numpy_matmul(a.astype(common), b.astype(common))

        return promoted
    other = _numpy_blas_matmul if _is_float32_matrices(a, b) else _numba_matmul
    by_rows = _is_float_array(a) and a.ndim in (1, 2) and _contiguous_alike(b) and b.ndim == 2
    if not (by_rows and a.dtype == b.dtype):
        return lambda a, b: other(a, b)

    vector_times = _blas_vector_times if a.dtype == types.float32 else _looped_vector_times
    if a.ndim == 1:  # no other product to compile (a second of numba's time)

        def vector_matmul(a, b):
            if a.size != b.shape[0]:
                raise ValueError("matmul: the vector's length is not the matrix's rows")
            return vector_times(a, b)

        return vector_matmul

    def row_matmul(a, b):
        if a.size != b.shape[0] or a.shape[0] != 1:
            return other(a, b)  # several rows, or numba's error for mismatched shapes
        return vector_times(np.ravel(a), b).reshape((1, b.shape[1]))

    return row_matmul


@numba.njit
def _looped_vector_times(vector, matrix):
    out = np.empty(matrix.shape[1], matrix.dtype)
    row_times_matrix(vector, matrix, out)
    return out


@numba.njit
def _blas_vector_times(vector, matrix):
    return np.dot(vector, matrix)


numpy_tanh, numpy_tanh_into = _delegating(0, tanh_loop)
numpy_exp, numpy_exp_into = _delegating(1)
numpy_log, numpy_log_into = _delegating(2)
numpy_sin, numpy_sin_into = _delegating(3)
numpy_cos, numpy_cos_into = _delegating(4)
