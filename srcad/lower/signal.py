"""``scipy.signal``'s convolutions lowered as the shifted copies they sum: ``convolve``,
``correlate``, ``convolve2d`` and ``correlate2d`` of real arrays, in the modes ``full``,
``valid`` and ``same``, with zero padding (``boundary="fill"``, ``fillvalue=0``).

Before:  scipy.signal.convolve2d(image, kernel, mode="valid")
After:   full = kernel[0, 0] * np.pad(image, ((0, 2), (0, 2)))
                + kernel[0, 1] * np.pad(image, ((0, 2), (1, 1))) + ...   (one term per tap)
         full[2:-2, 2:-2]

The full convolution is the sum, over the positions ``p`` of the smaller array, of its
value there times the larger one shifted by ``p`` (zero-padded to the full shape); ``valid``
and ``same`` are the parts of it SciPy gives. Both arrays get their derivatives through the
products. The sums run in another order than SciPy's loops: the values agree to rounding.
Where the smaller array has more than ``MAX_TAPS`` elements, the convolution is one call of
``scipy.signal.convolve`` instead (a primitive, ``srcad.ir.table.scipy_signal``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from srcad.ir.table.registry import call_primitive
from srcad.lower.callees import array_of

MAX_TAPS = 1024  # terms of the sum: beyond, a convolution is better written as matrix products


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """``scipy.signal.convolve(in1, in2, mode, method)``: the method only changes rounding."""
    return _convolved(_array(in1), _array(in2), mode, "convolve")


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """``scipy.signal.correlate``: convolution with ``in2`` reversed along every axis."""
    second = _array(in2)
    return _convolved(_array(in1), _reversed(second), mode, "correlate")


def convolve2d(
    in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0
) -> Any:
    """``scipy.signal.convolve2d`` with zero padding."""
    _zero_fill(boundary, fillvalue, "convolve2d")
    return _convolved(_matrix(in1), _matrix(in2), mode, "convolve2d")


def correlate2d(
    in1: Any, in2: Any, mode: str = "full", boundary: str = "fill", fillvalue: Any = 0
) -> Any:
    """``scipy.signal.correlate2d`` with zero padding."""
    _zero_fill(boundary, fillvalue, "correlate2d")
    same_at_half = True  # SciPy centres correlate2d's 'same' at k // 2, the others at (k - 1) // 2
    return _convolved(_matrix(in1), _reversed(_matrix(in2)), mode, "correlate2d", same_at_half)


SCIPY_SIGNAL: dict[str, Callable] = {
    "convolve": convolve,
    "correlate": correlate,
    "convolve2d": convolve2d,
    "correlate2d": correlate2d,
}


def _convolved(a: Any, b: Any, mode: str, name: str, same_at_half: bool = False) -> Any:
    if np.ndim(a) != np.ndim(b):
        raise ValueError(f"scipy.signal.{name}: in1 and in2 must have the same dimensions")
    if mode not in ("full", "valid", "same"):
        raise ValueError(f"scipy.signal.{name}: mode must be 'full', 'valid' or 'same'")
    larger, smaller = (a, b) if np.size(a) >= np.size(b) else (b, a)
    if np.size(smaller) > MAX_TAPS:
        return _by_scipy(a, b, mode, name, same_at_half)
    full = _full(larger, smaller)
    if mode == "full":
        return full
    if mode == "same":
        starts = [k // 2 if same_at_half else (k - 1) // 2 for k in np.shape(b)]
        return full[tuple(slice(s, s + n) for s, n in zip(starts, np.shape(a), strict=True))]
    return _valid(full, a, b, name)


def _by_scipy(a: Any, b: Any, mode: str, name: str, same_at_half: bool) -> Any:
    """A convolution of more taps than ``MAX_TAPS``: one call of ``scipy.signal.convolve``,
    which chooses direct sums or FFTs (its rules: ``srcad.rules.scipy_signal``)."""
    if same_at_half and mode == "same":
        raise ValueError(
            f"scipy.signal.{name} of two arrays of {np.size(a)} and {np.size(b)} elements in "
            f"'same' mode: srcad sums one shifted copy per element of the smaller (at most "
            f"{MAX_TAPS}); use scipy.signal.correlate, or mode 'full' and a slice"
        )
    from scipy import signal  # noqa: PLC0415 - the user's code has imported it

    return call_primitive(signal.convolve, a, b, mode)


def _full(larger: Any, smaller: Any) -> Any:
    """The full convolution: each tap of ``smaller`` times ``larger`` shifted by its
    position, zero-padded to the full shape."""
    taps = np.shape(smaller)
    total: Any = None
    for position in itertools.product(*(range(n) for n in taps)):
        widths = [(p, n - 1 - p) for p, n in zip(position, taps, strict=True)]
        term = smaller[position] * np.pad(larger, widths)
        total = term if total is None else total + term
    return total


def _valid(full: Any, a: Any, b: Any, name: str) -> Any:
    """The part of the full convolution where the arrays overlap completely (one of them
    must be at least as large as the other along every axis, as SciPy asks)."""
    shape_a, shape_b = np.shape(a), np.shape(b)
    if all(m >= n for m, n in zip(shape_a, shape_b, strict=True)):
        small = shape_b
    elif all(n >= m for m, n in zip(shape_a, shape_b, strict=True)):
        small = shape_a
    else:
        raise ValueError(
            f"scipy.signal.{name} in 'valid' mode: one array must be at least as large as the "
            "other in every dimension"
        )
    large = np.maximum(shape_a, shape_b)
    return full[tuple(slice(k - 1, n) for k, n in zip(small, large, strict=True))]


def _reversed(array: Any) -> Any:
    return array[(slice(None, None, -1),) * np.ndim(array)]


def _array(value: Any) -> Any:
    return array_of(value) if isinstance(value, (list, tuple)) else value


def _matrix(value: Any) -> Any:
    array = _array(value)
    if np.ndim(array) != 2:
        raise ValueError("scipy.signal.convolve2d and correlate2d take 2-d arrays")
    return array


def _zero_fill(boundary: str, fillvalue: Any, name: str) -> None:
    if boundary != "fill" or fillvalue != 0:
        raise ValueError(
            f"scipy.signal.{name} with boundary={boundary!r} and fillvalue={fillvalue!r}: "
            "only zero padding is supported (pad with np.pad first, mode 'wrap' or "
            "'symmetric', and use mode='valid')"
        )
