"""Timing another AD system in a process of its own, on one CPU.

Importing PyTorch or JAX changes how NumPy runs in the importing process (their thread pools
and allocators share it): with both imported, the hand-written NumPy reference ran up to 30%
slower here. So the benchmarks never import them where srcad is timed. Each one runs in a fresh
child process pinned to a single CPU, with every thread pool told to use one thread, next to
the hand-written reference timed again in that same child; the child prints its results as a
JSON line and the parent reports ratios against the child's own reference.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

# Environment for children: one thread for OpenMP, BLAS and XLA.
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def run_child(script: str, arguments: list[str], label: str) -> object | None:
    """Run ``script`` with ``arguments`` in a fresh process; its last stdout line, as JSON.
    None (after saying why) when it fails."""
    command = [sys.executable, script, *arguments]
    result = subprocess.run(
        command, env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"({label} failed: {reason})")
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def pin_to_one_cpu() -> str:
    """Keep this process, and every thread it starts, on one CPU."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"
