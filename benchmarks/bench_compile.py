"""Compile time of srcad, and what formatting the result with black would add to it.

Compiles each function afresh (in-memory cache cleared, disk reuse off) five times and prints
the median, next to the same compile followed by black formatting of the generated module
(what every compile paid before black moved off the compile path; ``srcad.source`` and
``srcad show`` still pay it, once per function). Run pinned to one core:

    taskset -c 0 python benchmarks/bench_compile.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ["SRCAD_CACHE_REUSE"] = "0"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import loops  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import long_loop_function  # noqa: E402
import numpy as np  # noqa: E402

import srcad  # noqa: E402
from srcad.codegen.formatting import formatted  # noqa: E402
from srcad.runtime import cache  # noqa: E402
from srcad.train.mlp import make_loss  # noqa: E402


def cases() -> dict:
    rng = np.random.default_rng(0)
    params = [(rng.normal(size=(64, 32)), np.zeros(32)), (rng.normal(size=(32, 10)), np.zeros(10))]
    x = rng.normal(size=(16, 64))
    y = np.eye(10)[rng.integers(0, 10, 16)]
    found = {"mlp_loss": (make_loss(2), (params, x, y, 1e-3))}
    for name, args in loops.EXAMPLE_ARGS.items():
        found[name] = (getattr(loops, name), args)
    long_args = (np.array([0.3, -0.2, 0.1]), np.linspace(-1.0, 1.0, 4))
    found["long_loop (212 lines)"] = (long_loop_function.long_loop, long_args)
    return found


def compile_seconds(fun, args, with_black: bool) -> float:
    cache.clear()
    start = time.perf_counter()
    gradient = srcad.value_and_grad(fun)
    gradient(*args)
    if with_black:
        formatted.cache_clear()
        formatted(gradient.last.source)
    return time.perf_counter() - start


def main() -> None:
    print(f"{'function':22s} {'compile':>10s} {'+ black':>10s} {'ratio':>7s}")
    for name, (fun, args) in cases().items():
        plain = statistics.median(compile_seconds(fun, args, False) for _ in range(5))
        black = statistics.median(compile_seconds(fun, args, True) for _ in range(5))
        print(f"{name:22s} {plain * 1e3:8.1f}ms {black * 1e3:8.1f}ms {black / plain:6.2f}x")


if __name__ == "__main__":
    main()
