"""Rules of ``scipy.signal``'s rows (``srcad.ir.table.scipy_signal``), registered once the
user's code has imported ``scipy.signal``.

``y = lfilter(b, a, x)`` solves ``a * y = b * x`` (``*``: convolution, from rest), so
``y = A⁻¹ B x`` with ``A`` and ``B`` lower triangular Toeplitz matrices. Reversing time
transposes such a matrix, so ``dx`` is the cotangent filtered backwards:
``flip(lfilter(b, a, flip(g)))``. With ``w = flip(lfilter([1], a, flip(g)))`` (``A⁻ᵀ g``),
``db[k] = Σ w[n] x[n - k]`` and ``da[k] = -Σ w[n] y[n - k]``; the tangent is
``lfilter(b, a, x_dot) + lfilter(b_dot, a, x) - lfilter(a_dot, a, y)``.

A convolution in another ``mode`` is a centred part of the full one: the cotangent goes back
to its place in the full output, and each input's cotangent is that correlated with the
other input (``valid``). ``correlate(u, v)`` is the convolution of ``u`` with ``v``
reversed along every axis. All are linear in each input (``defbilinear``).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from srcad.ir.table.registry import call_primitive, when_imported
from srcad.rules.registry import defbilinear, defjvp, defvjp

CONVOLUTIONS = ("convolve", "fftconvolve", "oaconvolve")


def register_rules(signal: ModuleType) -> None:
    """The rules, once ``scipy.signal`` is imported (after its rows)."""

    def lfilter(b, a, x, axis):
        return call_primitive(signal.lfilter, b, a, x, axis)

    def lagged_products(w, x, count, axis):
        """``Σ w[n] x[n - k]`` along ``axis`` (summed over the other axes), k < count."""
        n = np.shape(x)[axis]
        if axis % np.ndim(x) != np.ndim(x) - 1:
            w, x = np.moveaxis(w, axis, -1), np.moveaxis(x, axis, -1)
        w_rows, x_rows = np.reshape(w, (-1, n)), np.reshape(x, (-1, n))
        rows = np.shape(x_rows)[0]
        products = call_primitive(signal.correlate, w_rows, x_rows, "full")[rows - 1, n - 1 :]
        kept = products[:count]
        return np.pad(kept, (0, count - np.shape(kept)[0])) if count > n else kept

    @defvjp(signal.lfilter)
    def lfilter_vjp(g, out, b, a, x, axis=-1):
        reversed_g = np.flip(g, axis)
        dx = np.flip(lfilter(b, a, reversed_g, axis), axis)
        one = np.ones_like(np.reshape(a, (-1,))[:1])  # (b and a may be numbers: lfilter(b, 1.0, x))
        w = np.flip(lfilter(one, a, reversed_g, axis), axis)  # A⁻ᵀ g
        db = lagged_products(w, x, np.size(b), axis)
        da = -lagged_products(w, out, np.size(a), axis)
        return np.reshape(db, np.shape(b)), np.reshape(da, np.shape(a)), dx

    @defjvp(signal.lfilter)
    def lfilter_jvp(tangents, out, b, a, x, axis=-1):
        b_dot, a_dot, x_dot = tangents
        terms = []
        if x_dot is not None:
            terms.append(lfilter(b, a, x_dot, axis))
        if b_dot is not None:
            terms.append(lfilter(b_dot, a, x, axis))
        if a_dot is not None:
            terms.append(-lfilter(a_dot, a, out, axis))
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    def correlate_valid(u, v):
        return call_primitive(signal.correlate, u, v, "valid")

    for name in CONVOLUTIONS:
        convolution = getattr(signal, name)

        @defvjp(convolution)
        def convolution_vjp(g, out, in1, in2, mode="full", **_):
            g_full = _in_full_output(g, np.shape(in1), np.shape(in2), mode)
            return correlate_valid(g_full, in2), correlate_valid(g_full, in1)

        defbilinear(convolution, defaults={"mode": "full"})

    @defvjp(signal.correlate)
    def correlate_vjp(g, out, in1, in2, mode="full", **_):
        reversed_in2 = np.flip(in2)
        g_full = _in_full_output(g, np.shape(in1), np.shape(in2), mode)
        return correlate_valid(g_full, reversed_in2), np.flip(correlate_valid(g_full, in1))

    defbilinear(signal.correlate, defaults={"mode": "full"})


def _in_full_output(g, shape1: tuple, shape2: tuple, mode: str):
    """The cotangent of a convolution in ``mode`` placed where ``mode`` cut it from the full
    output (``shape1 + shape2 - 1`` along each axis, centred as SciPy centres it)."""
    if mode == "full":
        return g
    full = [n1 + n2 - 1 for n1, n2 in zip(shape1, shape2, strict=True)]
    kept = np.shape(g)
    starts = [(f - k) // 2 for f, k in zip(full, kept, strict=True)]
    return np.pad(g, [(s, f - s - k) for s, f, k in zip(starts, full, kept, strict=True)])


when_imported("scipy.signal", register_rules)
