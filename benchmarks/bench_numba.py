"""Benchmark: srcad's numba backend against its NumPy backend and hand-written code.

Two workloads where the interpreter, not the arithmetic, is what costs:

- scalar: value and gradient of a function of three floats (about 38 operations); the
  reference is a hand-written reverse sweep with ``math``, and the same sweep with NumPy
  ufuncs on floats;
- RNN: ``h = tanh(W @ h + x[t])`` for 100 steps, 32-dimensional state, loss ``sum(h**2)``,
  value and gradient with respect to ``W``; the reference is hand-written NumPy BPTT.

Every gradient is checked against the hand one before timing; timings interleave the
contenders and keep the minimum; ratios are to the hand reference measured in the same run.
numba's compile time is measured in two fresh processes sharing an empty generated-code
directory: the first compiles, the second should load numba's disk cache. Pin one core and
one BLAS thread for stable numbers:

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 taskset -c 0 \\
        python benchmarks/bench_numba.py
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable

import numpy as np

import srcad

try:  # run as a script from the repository root or from benchmarks/
    from bench_rnn import rnn_loss
except ImportError:
    from benchmarks.bench_rnn import rnn_loss

STEPS, STATE = 100, 32
POINT = (0.3, 0.5, 0.7)


# --- scalar: 38 operations on three floats -------------------------------------------------
def scalar_f(x, y, z):
    a = np.sin(x) * y + np.exp(-z * x)
    b = np.tanh(a * z) + np.log(1.0 + y * y)
    c = a * b / (1.0 + np.cos(y) ** 2)
    d = np.sqrt(x * x + y * y + z * z) + c * np.sin(b)
    return d * a - b / (2.0 + np.exp(c * 0.1)) + 1.0 - x


def _scalar_sweep(x, y, z, m):
    """The reverse sweep of ``scalar_f`` by hand, with the elementary functions of ``m``."""
    sin_x, e = m.sin(x), m.exp(-z * x)
    a = sin_x * y + e
    th = m.tanh(a * z)
    b = th + m.log(1.0 + y * y)
    cos_y = m.cos(y)
    den = 1.0 + cos_y * cos_y
    c = a * b / den
    r = m.sqrt(x * x + y * y + z * z)
    sin_b = m.sin(b)
    d = r + c * sin_b
    ec = m.exp(c * 0.1)
    q = 2.0 + ec
    value = d * a - b / q + 1.0 - x
    gd, ga, gb = a, d, -1.0 / q
    gc = b / (q * q) * ec * 0.1 + gd * sin_b
    gb = gb + gd * c * m.cos(b)
    gx, gy, gz = gd * x / r - 1.0, gd * y / r, gd * z / r
    ga = ga + gc * b / den
    gb = gb + gc * a / den
    gy = gy + gc * c / den * 2.0 * cos_y * m.sin(y) + gb * 2.0 * y / (1.0 + y * y)
    g_az = gb * (1.0 - th * th)
    ga = ga + g_az * z
    gz = gz + g_az * a - ga * e * x
    gx = gx + ga * (y * m.cos(x) - e * z)
    gy = gy + ga * sin_x
    return value, (gx, gy, gz)


def hand_math(x, y, z):
    return _scalar_sweep(x, y, z, math)


def hand_numpy_scalar(x, y, z):
    return _scalar_sweep(x, y, z, np)


# --- RNN -----------------------------------------------------------------------------------
def hand_rnn(W, h0, x):
    """Backpropagation through time by hand: hidden states in one preallocated array."""
    steps = x.shape[0]
    hs = np.empty((steps + 1, h0.shape[0]))
    hs[0] = h0
    for t in range(steps):
        hs[t + 1] = np.tanh(W @ hs[t] + x[t])
    value = np.sum(hs[-1] ** 2)
    dW = np.zeros_like(W)
    dh = 2.0 * hs[-1]
    for t in reversed(range(steps)):
        da = dh * (1.0 - hs[t + 1] ** 2)
        dW += np.outer(da, hs[t])
        dh = da @ W
    return value, dW


def rnn_arguments() -> tuple:
    rng = np.random.default_rng(0)
    W = rng.normal(size=(STATE, STATE)) / np.sqrt(STATE)
    return W, rng.normal(size=STATE), rng.normal(size=(STEPS, STATE))


# --- measuring -----------------------------------------------------------------------------
def interleaved(contenders: dict[str, Callable], repeat: int, number: int) -> dict[str, float]:
    """Seconds per call of each contender: the minimum over ``repeat`` interleaved rounds."""
    best = dict.fromkeys(contenders, math.inf)
    for _ in range(repeat):
        for name, call in contenders.items():
            best[name] = min(best[name], timeit.timeit(call, number=number) / number)
    return best


def check(value, grads, expected_value, expected_grads) -> None:
    assert math.isclose(value, expected_value, rel_tol=1e-12), (value, expected_value)
    for got, expected in zip(np.atleast_1d(grads), np.atleast_1d(expected_grads), strict=True):
        assert np.allclose(got, expected, rtol=1e-10, atol=1e-12), (got, expected)


def scalar_table(repeat: int, number: int) -> dict[str, float]:
    numpy_backend = srcad.value_and_grad(scalar_f, argnums=(0, 1, 2))
    numba_backend = srcad.value_and_grad(scalar_f, argnums=(0, 1, 2), backend="numba")
    expected = hand_math(*POINT)
    for fn in (hand_numpy_scalar, numpy_backend, numba_backend):
        check(*fn(*POINT), *expected)
    contenders = {
        "hand math": lambda: hand_math(*POINT),
        "hand NumPy": lambda: hand_numpy_scalar(*POINT),
        "srcad numpy": lambda: numpy_backend(*POINT),
        "srcad numba": lambda: numba_backend(*POINT),
    }
    return interleaved(contenders, repeat, number)


def rnn_table(repeat: int, number: int) -> dict[str, float]:
    args = rnn_arguments()
    numpy_backend = srcad.value_and_grad(rnn_loss)
    numba_backend = srcad.value_and_grad(rnn_loss, backend="numba")
    expected = hand_rnn(*args)
    for fn in (numpy_backend, numba_backend):
        check(*fn(*args), *expected)
    contenders = {
        "hand NumPy": lambda: hand_rnn(*args),
        "srcad numpy": lambda: numpy_backend(*args),
        "srcad numba": lambda: numba_backend(*args),
    }
    return interleaved(contenders, repeat, max(1, number // 100))


def compile_probe() -> None:
    """In this process: time the first calls (srcad's compile, then numba's), and say
    whether numba loaded its disk cache. Prints one JSON line."""
    report = {}
    for name, fun, args, argnums in [
        ("scalar", scalar_f, POINT, (0, 1, 2)),
        ("rnn", rnn_loss, rnn_arguments(), 0),
    ]:
        transformed = srcad.value_and_grad(fun, argnums=argnums, backend="numba")
        start = time.perf_counter()
        compiled = transformed.compile(srcad_signature(transformed, args))
        compiled_at = time.perf_counter()
        transformed(*args)
        done = time.perf_counter()
        stats = getattr(transformed.numba.function(compiled), "stats", None)
        hits = sum(stats.cache_hits.values()) if stats is not None else None
        report[name] = {
            "srcad_s": compiled_at - start,
            "numba_s": done - compiled_at,
            "cache_hits": hits,
        }
    print(json.dumps(report))


def srcad_signature(transformed, args: tuple):
    """The signature srcad compiles ``transformed`` for, given ``args``."""
    from srcad.api.signature import bind_call, signature_of

    arguments = bind_call(transformed.fun, args, {})
    return signature_of(arguments, transformed.fun)


def compile_times() -> list[dict]:
    """Two fresh processes on one empty generated-code directory: cold, then warm."""
    with tempfile.TemporaryDirectory() as directory:
        environment = {**os.environ, "SRCAD_GENERATED_DIR": directory}
        command = [sys.executable, os.path.abspath(__file__), "--compile-probe"]
        return [
            json.loads(
                subprocess.run(
                    command, env=environment, capture_output=True, text=True, check=True
                ).stdout
            )
            for _ in range(2)
        ]


def show(title: str, timings: dict[str, float], reference: str) -> None:
    print(title)
    for name, seconds in timings.items():
        ratio = seconds / timings[reference]
        print(f"  {name:12s} {seconds * 1e6:10.2f} us   {ratio:5.2f}x {reference}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--compile-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-compile", action="store_true", help="skip the compile-time runs")
    options = parser.parse_args()
    if options.compile_probe:
        compile_probe()
        return
    show(
        "scalar f(x, y, z), 38 ops, value and gradient",
        scalar_table(options.repeat, options.number),
        "hand math",
    )
    show(
        f"RNN T={STEPS}, D={STATE}, value and gradient wrt W",
        rnn_table(options.repeat, options.number),
        "hand NumPy",
    )
    if not options.no_compile:
        for run, report in zip(("cold", "warm"), compile_times(), strict=True):
            for name, times in report.items():
                print(
                    f"  compile {name:6s} {run}: srcad {times['srcad_s'] * 1e3:7.1f} ms, "
                    f"numba {times['numba_s'] * 1e3:7.1f} ms, numba cache hits "
                    f"{times['cache_hits']}"
                )


if __name__ == "__main__":
    main()
