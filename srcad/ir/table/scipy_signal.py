"""The rows of ``scipy.signal``: a linear filter (``lfilter``) and convolutions
(``convolve``, ``correlate``, ``fftconvolve``, ``oaconvolve``). Like ``special``, they are
registered once the user's code has imported ``scipy.signal``; their names in the
table start with ``signal_`` (NumPy has a ``convolve`` of its own).

``lfilter(b, a, x, axis)`` filters ``x`` along ``axis`` with numerator ``b`` and
denominator ``a`` (1-d, from rest: no ``zi``). The convolutions take two arrays of the same
number of dimensions and ``mode`` ("full", "same", "valid"); ``method`` (direct or by FFT)
gives the same values.
"""

from __future__ import annotations

from types import ModuleType

from srcad.ir.primitive import LINALG, Example, Prim
from srcad.ir.table.registry import register, when_imported

MODULE = "scipy.signal"

CONVOLUTION_EXAMPLES: tuple[Example, ...] = (
    (((5,), (3,)), {}),
    (((3,), (5,)), {"mode": "same"}),
    (((6,), (3,)), {"mode": "same"}),
    (((6,), (3,)), {"mode": "valid"}),
    (((3,), (6,)), {"mode": "valid"}),
    (((4, 3), (2, 2)), {}),
    (((4, 5), (3, 2)), {"mode": "same"}),
    (((4, 5), (3, 2)), {"mode": "valid"}),
)


def register_rows(signal: ModuleType) -> None:
    register(
        Prim(
            "signal_lfilter",
            signal.lfilter,
            LINALG,
            3,
            ("axis",),
            module=MODULE,
            domain=(0.2, 0.6),  # a stable filter: its poles inside the unit circle
            examples=(
                (((2,), (2,), (6,)), {}),
                (((3,), (1,), (5,)), {}),
                (((2,), (3,), (4, 5)), {}),
                (((2,), (2,), (4, 3)), {"axis": 0}),
            ),
        )
    )
    for name in ("convolve", "correlate"):
        register(
            Prim(
                f"signal_{name}",
                getattr(signal, name),
                LINALG,
                2,
                ("mode", "method"),
                module=MODULE,
                examples=(*CONVOLUTION_EXAMPLES, (((4,), (3,)), {"method": "fft"})),
            )
        )
    for name in ("fftconvolve", "oaconvolve"):
        register(
            Prim(
                f"signal_{name}",
                getattr(signal, name),
                LINALG,
                2,
                ("mode",),
                module=MODULE,
                examples=CONVOLUTION_EXAMPLES,
            )
        )


when_imported(MODULE, register_rows)
