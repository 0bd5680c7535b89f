"""Gradient of logistic regression over data chunked by rows: a Dask LocalCluster vs NumPy.

    python benchmarks/bench_dask.py [--rows 20000000] [--features 20] [--chunk 1000000]

The data (float64) is drawn on the workers (dask.array.random, seeded) and never reaches this
process: only the parameters and the per-chunk gradients travel. For 1 and 2 workers (one
thread each, separate processes) it prints the time of ``srcad.value_and_grad(loss)(w, X, y)``
(best of 3, after a first call that compiles), and the peak resident memory of this (client)
process. The NumPy baseline runs in a subprocess, on the same number of rows in memory. Not part
of the test suite.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np

import srcad


def logistic_loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def _best_of(repeats: int, call) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_cluster(workers: int, rows: int, features: int, chunk: int) -> dict:
    import dask.array as da
    from dask.distributed import Client, LocalCluster, wait

    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with Client(cluster) as client:
        state = da.random.RandomState(0)
        X = state.normal(size=(rows, features), chunks=(chunk, features))
        y = (state.random_sample(size=rows, chunks=chunk) > 0.5).astype(np.float64)
        started = time.perf_counter()
        X, y = client.persist([X, y])
        wait([X, y])
        made = time.perf_counter() - started
        w = np.full(features, 0.01)
        gradient = srcad.value_and_grad(logistic_loss)
        started = time.perf_counter()
        gradient(w, X, y)
        first = time.perf_counter() - started
        seconds = _best_of(3, lambda: gradient(w, X, y))
    cluster.close()
    return {"workers": workers, "data_s": made, "first_s": first, "grad_s": seconds}


def run_numpy(rows: int, features: int) -> dict:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, features))
    y = (rng.random(rows) > 0.5).astype(np.float64)
    w = np.full(features, 0.01)
    gradient = srcad.value_and_grad(logistic_loss)
    gradient(w, X, y)
    return {"grad_s": _best_of(3, lambda: gradient(w, X, y)), "peak_mb": _peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--numpy-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.numpy_only:
        print(json.dumps(run_numpy(args.rows, args.features)))
        return
    size_gb = args.rows * args.features * 8 / 1e9
    print(
        f"logistic regression, {args.rows:.2e} rows x {args.features} features float64 "
        f"({size_gb:.1f} GB), chunks of {args.chunk} rows"
    )
    results = [run_cluster(n, args.rows, args.features, args.chunk) for n in (1, 2)]
    client_peak = _peak_rss_mb()
    command = [
        sys.executable,
        __file__,
        "--numpy-only",
        "--rows",
        str(args.rows),
        "--features",
        str(args.features),
    ]
    numpy = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    for r in results:
        print(
            f"dask, {r['workers']} worker(s): gradient {r['grad_s']:.2f} s (first call "
            f"{r['first_s']:.2f} s with compiling; data drawn on the workers in {r['data_s']:.1f} s)"
        )
    print(f"scaling 1 -> 2 workers: {results[0]['grad_s'] / results[1]['grad_s']:.2f}x")
    print(
        f"numpy, one process, in memory: gradient {numpy['grad_s']:.2f} s, "
        f"peak memory {numpy['peak_mb']:.0f} MB"
    )
    print(f"client process peak memory (both clusters): {client_peak:.0f} MB")


if __name__ == "__main__":
    main()
