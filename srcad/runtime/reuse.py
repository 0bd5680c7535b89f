"""Arrays a generated function writes in place: results' memory reused across calls, and
matrix products or scaled arrays added into an array through BLAS.

Comes in: calls from generated code (``codegen.emit`` writes them for a weight gradient, a
sum of a matrix product and another term). Goes out: an array no one else holds, and the
product added into it without a temporary.

Why: at batch 1 an MLP's weight gradients are megabyte arrays made fresh on every call.
glibc gives freed blocks of that size back to the OS, so every call page-faults on every
page of them (measured on a 784-256-256-10 MLP in float64: 750 faults and 2.7 ms a call,
against 0.3 ms when nothing large is allocated). The generated function instead writes each
weight gradient into an array of an earlier call once the caller has dropped it::

    dW1 = reused.array("dW1", (784, 256), np.float64)  # an array no one else holds
    np.multiply(2.0 * dt11, W1, out=dW1)                  # the weight-decay term first
    add_outer(dW1, x, dt1)                                # dW1 += np.outer(x, dt1): BLAS ger

An array is handed out again only when the pool's own reference is the last one
(``sys.getrefcount``): a caller's name, a container, a view (which holds its base) or a
frame of another call all keep it theirs. Each thread has its own arrays.

A large array starts half a page (2 KiB) past a page boundary. NumPy's large arrays come
from ``mmap`` and start a few bytes past one, and a loop that reads ``W1`` and writes
``dW1`` stalls when the two addresses agree in their last 12 bits or the store runs a little
ahead ("4K aliasing": the processor cannot tell the store from a later load until it
compares whole addresses). Measured on this project's VM, ``np.multiply(c, W1, out=dW1)``
for a 784x256 float32 matrix took 32 µs with ``dW1`` 0-240 bytes past ``W1`` modulo 4096,
and 24 µs with it 500-2000 bytes past.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable

import numpy as np

KEPT_PER_NAME = 2  # arrays remembered per name (a training loop holds the last result)
# Above this inner dimension the product's arithmetic outweighs the temporary it saves, and
# NumPy's own BLAS (often a newer OpenBLAS than SciPy's) does it: measured on this project's
# VM, SciPy's sgemm was 1.1x slower at 784x1024 @ 1024x256, faster at inner dimension 32.
INNER_LIMIT = 128
PAGE_BYTES = 4096
SHIFTED_FROM_BYTES = 64 * 1024  # arrays this large start PAGE_SHIFT bytes into a page
PAGE_SHIFT = 2048


def _references_when_free() -> int:
    """What ``sys.getrefcount`` reports inside ``ReusedArrays.array``'s loop for an array
    only the pool holds (measured the same way, so any interpreter's counting agrees)."""
    arrays = [np.empty(0)]
    for array in arrays:
        return sys.getrefcount(array)
    raise AssertionError("unreachable")


REFERENCES_WHEN_FREE = _references_when_free()


def _owner_references_when_free() -> int:
    """What ``sys.getrefcount(array.base)`` reports in ``_views_held`` for the buffer of an
    array made by ``_page_shifted``, held by nothing but that array."""
    return _owner_references(_page_shifted((1,), np.dtype(np.float64), 8))


def _owner_references(array: np.ndarray) -> int:
    return sys.getrefcount(array.base)


def _page_shifted(shape: tuple[int, ...], dtype: np.dtype, nbytes: int) -> np.ndarray:
    """An uninitialised C-ordered array of ``nbytes`` whose data start ``PAGE_SHIFT`` bytes
    into a page: a view of a byte buffer that owns the memory. NumPy points every view of it
    at that buffer, so the pool checks the buffer's references too."""
    buffer = np.empty(nbytes + PAGE_BYTES, np.uint8)
    start = (PAGE_SHIFT - buffer.ctypes.data) % PAGE_BYTES
    return buffer[start : start + nbytes].view(dtype).reshape(shape)


OWNER_REFERENCES_WHEN_FREE = _owner_references_when_free()


def _fresh(shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A new array for the pool: page-shifted when it is large (see the module's docstring)."""
    described = np.dtype(dtype)
    nbytes = math.prod(shape) * described.itemsize
    if nbytes < SHIFTED_FROM_BYTES:
        return np.empty(shape, described)
    return _page_shifted(shape, described, nbytes)


class ReusedArrays:
    """One generated module's arrays by name, per thread: ``array(name, shape, dtype)``
    returns one that no one but this pool holds, or a new one (remembered)."""

    def __init__(self) -> None:
        self._threads = threading.local()

    def array(self, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
        arrays: list[np.ndarray] = self._threads.__dict__.setdefault(name, [])
        for array in arrays:
            if sys.getrefcount(array) <= REFERENCES_WHEN_FREE and array.shape == shape:
                if array.dtype == dtype and not _views_held(array):
                    return array  # one name, one layout: checked all the same
        fresh = _fresh(shape, dtype)
        if len(arrays) >= KEPT_PER_NAME:
            arrays.pop(0)  # forget the oldest: its holder keeps it alive as long as needed
        arrays.append(fresh)
        return fresh


def _views_held(array: np.ndarray) -> bool:
    """Whether a view of a page-shifted ``array`` is alive (it refers to the buffer)."""
    return array.base is not None and _owner_references(array) > OWNER_REFERENCES_WHEN_FREE


def add_outer(out: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
    """``out += np.outer(u, v)`` without a temporary (BLAS ger, with SciPy)."""
    ger = _GER[out.dtype] if _in_place(out, u, v) else None
    if ger is None:
        out += np.outer(u, v)
        return
    # out is C-ordered, so out.T is Fortran-ordered: out.T += outer(v, u) in place
    result = ger(1.0, v.ravel(), u.ravel(), a=out.T, overwrite_a=1)
    if result.base is not out:  # SciPy copied the array: copy back
        np.copyto(out, result.T)


def add_matmul(out: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """``out += a @ b`` for matrices, without a temporary (BLAS gemm, with SciPy)."""
    gemm = _GEMM[out.dtype] if _in_place(out, a, b) else None
    if gemm is None or a.ndim != 2 or b.ndim != 2 or a.shape[1] > INNER_LIMIT:
        out += a @ b
        return
    # out.T (Fortran-ordered) += b.T @ a.T, each factor passed without a copy where it can be
    first, transpose_first = _fortran_operand(b.T)
    second, transpose_second = _fortran_operand(a.T)
    result = gemm(
        1.0,
        first,
        second,
        beta=1.0,
        c=out.T,
        trans_a=transpose_first,
        trans_b=transpose_second,
        overwrite_c=1,
    )
    if result.base is not out:  # SciPy copied the array: copy back
        np.copyto(out, result.T)


def add_scaled(out: np.ndarray, scale: float, array: np.ndarray) -> None:
    """``out += scale * array`` without a temporary (BLAS axpy, with SciPy)."""
    axpy = _AXPY[out.dtype] if _in_place(out, array) else None
    if axpy is None or not array.flags.c_contiguous or array.shape != out.shape:
        out += scale * array
        return
    flat = out.reshape(-1)
    result = axpy(array.reshape(-1), flat, a=scale)
    if result is not flat:  # SciPy copied the array: copy back
        np.copyto(out, result.reshape(out.shape))


def _fortran_operand(matrix: np.ndarray) -> tuple[np.ndarray, int]:
    """``matrix`` as BLAS reads it: itself when Fortran-ordered, else its transpose (which
    then is) with the flag that says so, else a Fortran-ordered copy."""
    if matrix.flags.f_contiguous:
        return matrix, 0
    if matrix.flags.c_contiguous:
        return matrix.T, 1
    return np.asfortranarray(matrix), 0


def _in_place(out: np.ndarray, *factors: np.ndarray) -> bool:
    """Whether BLAS can write into ``out`` (a writeable C-ordered matrix) from ``factors``
    of its dtype. Few steps on purpose: Python code run between passes over megabyte arrays
    costs ~3x its bare time, as they have pushed the interpreter out of the cache. Measured
    on ``benchmarks/bench_mlp.py``'s MLP at batch 1: its gradient took 7 us more of its
    155 us when these checks went through a generator, ``np.ravel`` and
    ``np.may_share_memory``."""
    flags = out.flags
    if not (flags.c_contiguous and flags.writeable) or out.ndim != 2:
        return False
    dtype = out.dtype
    return factors[0].dtype == dtype and (len(factors) == 1 or factors[1].dtype == dtype)


class BlasRoutines(dict):
    """One SciPy BLAS routine by dtype (``sger`` for float32, ``dger`` for float64), looked
    up on first use (SciPy is an optional extra); None where SciPy or the routine is
    missing, and NumPy does the work instead."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def __missing__(self, dtype: np.dtype) -> Callable | None:
        found = blas_routine(self.name, dtype)
        self[dtype] = found
        return found


def blas_routine(name: str, dtype: np.dtype) -> Callable | None:
    """SciPy's BLAS ``name`` for ``dtype`` (float32 or float64), or None."""
    prefix = {"f": "s", "d": "d"}.get(np.dtype(dtype).char)
    try:
        from scipy.linalg import blas
    except ImportError:
        return None
    return None if prefix is None else getattr(blas, prefix + name)


_GER, _GEMM, _AXPY = BlasRoutines("ger"), BlasRoutines("gemm"), BlasRoutines("axpy")
