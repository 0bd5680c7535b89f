"""Benchmark: every workload of issue 4/6 in one table of ratios to hand-written code.

Rows: the value and gradient of a 38-operation scalar function (hand: ``math``), of a
100-step RNN (hand: NumPy BPTT), of a 784-256-256-10 MLP at batch 1, 32, 128 and 1024 in
float64 and float32 (hand: NumPy backprop; glibc's default malloc settings), a training epoch
(throughput: higher is better) and the compile times. Columns: srcad's NumPy and numba
backends, then JAX (jit), PyTorch (eager) and autograd, each in a fresh process of its own
pinned to one CPU next to the hand-written code timed again there (``isolated.py``). Every
gradient is checked against the hand-written one before it is timed. It reuses the other
scripts' workloads (``bench_numba``, ``bench_mlp``, ``bench_train``, ``bench_compile``); run
those for more detail.

    OPENBLAS_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_all.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from collections.abc import Callable

import numpy as np

try:  # run as a script from the repository root or from benchmarks/
    import bench_compile
    import bench_mlp
    import bench_numba
    import bench_train
    import isolated
except ImportError:
    from benchmarks import bench_compile, bench_mlp, bench_numba, bench_train, isolated

SYSTEMS = {"jax jit": "jax", "torch eager": "torch", "autograd": "autograd"}
COLUMNS = ["srcad numpy", "srcad numba", *SYSTEMS]


# --- the other systems' scalar function and RNN (run in their own process) -----------------
def _scalar(m, x, y, z):
    """``bench_numba.scalar_f`` on the elementary functions of ``m``."""
    a = m.sin(x) * y + m.exp(-z * x)
    b = m.tanh(a * z) + m.log(1.0 + y * y)
    c = a * b / (1.0 + m.cos(y) ** 2)
    d = m.sqrt(x * x + y * y + z * z) + c * m.sin(b)
    return d * a - b / (2.0 + m.exp(c * 0.1)) + 1.0 - x


def _rnn(m, matmul, W, h, x):
    for t in range(x.shape[0]):
        h = m.tanh(matmul(W, h) + x[t])
    return m.sum(h**2)


def _jax(workload: str) -> Callable:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    if workload == "scalar":
        compiled = jax.jit(jax.value_and_grad(lambda *v: _scalar(jnp, *v), argnums=(0, 1, 2)))
        return lambda *args: jax.block_until_ready(compiled(*args))

    def scanned(W, h, x):
        h, _ = jax.lax.scan(lambda h, xt: (jnp.tanh(W @ h + xt), None), h, x)
        return jnp.sum(h**2)

    compiled = jax.jit(jax.value_and_grad(scanned))
    return lambda *args: jax.block_until_ready(compiled(*(jnp.asarray(a) for a in args)))


def _torch(workload: str) -> Callable:
    import torch

    torch.set_num_threads(1)

    def run(*args):
        leaves = [torch.tensor(a, dtype=torch.float64) for a in args]
        wrt = leaves if workload == "scalar" else leaves[:1]
        for leaf in wrt:
            leaf.requires_grad_()
        if workload == "scalar":
            value = _scalar(torch, *leaves)
        else:
            value = _rnn(torch, torch.mv, *leaves)
        value.backward()
        grads = tuple(leaf.grad.item() for leaf in wrt) if workload == "scalar" else wrt[0].grad
        return value.item(), grads

    return run


def _autograd(workload: str) -> Callable:
    import autograd
    import autograd.numpy as anp

    if workload == "scalar":
        return autograd.value_and_grad(lambda *v: _scalar(anp, *v), (0, 1, 2))
    return autograd.value_and_grad(lambda W, h, x: _rnn(anp, anp.dot, W, h, x))


BUILDERS = {"jax jit": _jax, "torch eager": _torch, "autograd": _autograd}


def _workload(name: str) -> tuple[Callable, tuple, int]:
    """The hand-written reference, its arguments and calls per timing sample."""
    if name == "scalar":
        return bench_numba.hand_math, bench_numba.POINT, 2000
    return bench_numba.hand_rnn, bench_numba.rnn_arguments(), 20


def contender_child(system: str, workload: str, repeat: int) -> None:
    """In the child: the hand-written code and ``system`` on ``workload``, checked, then
    timed in turns; seconds per call of each as one JSON line."""
    isolated.pin_to_one_cpu()
    hand, args, number = _workload(workload)
    run = BUILDERS[system](workload)
    value, grads = run(*args)
    bench_numba.check(float(value), np.asarray(grads, float), *hand(*args))
    times = bench_numba.interleaved(
        {"hand": lambda: hand(*args), system: lambda: run(*args)}, repeat, number
    )
    print(json.dumps(times))


# --- rows ------------------------------------------------------------------------------------
def small_rows(options) -> dict[str, dict]:
    """The scalar and RNN rows: ratios to hand-written code per column."""
    rows = {}
    for workload, table in (
        ("scalar", bench_numba.scalar_table),
        ("rnn", bench_numba.rnn_table),
    ):
        times = table(options.repeat, 2000)  # calls per sample (the RNN's: 20)
        hand = times["hand math" if workload == "scalar" else "hand NumPy"]
        row = {name: times[name] / hand for name in ("srcad numpy", "srcad numba")}
        row.update(_systems(workload, options))
        rows["scalar 38 ops" if workload == "scalar" else "RNN T=100, D=32"] = row
    return rows


def _systems(workload: str, options) -> dict[str, float]:
    ratios = {}
    for system, module in SYSTEMS.items() if options.others else ():
        if not isolated.installed(module):
            continue
        arguments = ["--child", system, "--workload", workload, "--repeat", str(options.repeat)]
        times = isolated.run_child(__file__, arguments, system)
        if times is not None:
            ratios[system] = times[system] / times["hand"]
    return ratios


def mlp_rows(options) -> dict[str, dict]:
    """The MLP rows from ``bench_mlp`` (its contenders in their own processes too)."""
    mlp_options = argparse.Namespace(
        repeat=options.repeat,
        batch=[1] if options.quick else list(bench_mlp.BATCHES),
        dtype=["float64", "float32"],
        clock="cpu",
        profile=False,
        numba=True,
        others=options.others,
        malloc_tuning=False,
    )
    model = bench_mlp.MLP(bench_mlp.SIZES, "tanh", "softmax_cross_entropy", lam=bench_mlp.LAM)
    rows = {}
    for dtype_name in mlp_options.dtype:
        for batch in mlp_options.batch:
            dtype = np.dtype(dtype_name).type
            case = bench_mlp.run_case(model, batch, dtype, mlp_options)
            rows[dtype_name, batch] = {
                "srcad numpy": case["srcad"][1],
                "srcad numba": case.get("srcad numba", (math.nan, math.nan))[1],
            }
    for system in SYSTEMS if options.others else ():
        for child_row in bench_mlp.run_contender(system, mlp_options) or []:
            key = (child_row["dtype"], child_row["batch"])
            rows[key][system] = child_row[system] / child_row["hand"]
    return {f"MLP batch {batch} {dtype}": row for (dtype, batch), row in rows.items()}


def training_row(options) -> dict[str, dict]:
    """One epoch's throughput relative to the hand-written loop (higher is better)."""
    x, y = bench_train.synthetic_mnist()
    model = bench_train.MLP(bench_train.SIZES, "tanh", "softmax_cross_entropy", lam=bench_train.LAM)
    settings = {"batch_size": bench_train.BATCH, "validation_split": 0.0, "progress": False}
    for backend in ("numpy", "numba"):
        bench_train.fit(model, x[:512], y[:512], epochs=1, backend=backend, **settings)
    params = model.init(seed=0, dtype=np.float32)
    copies = {name: [(W.copy(), b.copy()) for W, b in params] for name in ("hand", *COLUMNS[:2])}
    rng, state, best = np.random.default_rng(0), {}, dict.fromkeys(copies, math.inf)
    for _ in range(1 if options.quick else 2):
        started = time.process_time()
        bench_train.hand_epoch(copies["hand"], x, y, rng, state)
        best["hand"] = min(best["hand"], time.process_time() - started)
        for name, backend in (("srcad numpy", "numpy"), ("srcad numba", "numba")):
            started = time.process_time()
            run = {"optimizer": bench_train.Adam(1e-3), "params": copies[name], "epochs": 1}
            bench_train.fit(model, x, y, backend=backend, **run, **settings)
            best[name] = min(best[name], time.process_time() - started)
    row = {name: best["hand"] / best[name] for name in COLUMNS[:2]}
    loops = argparse.Namespace(rounds=1, malloc_tuning=False)
    for name, (_, ratio) in bench_train.other_loops(loops) if options.others else ():
        row[name.replace(" loop", "").replace("torch", "torch eager")] = ratio
    return {"training epoch f32 b128 (throughput)": row}


def compile_rows() -> dict[str, dict]:
    """Compile times in milliseconds (the median of five fresh compiles)."""
    found = bench_compile.cases()
    rows = {}
    for label, name in (("compile MLP loss (ms)", "mlp_loss"), ("compile 212 lines (ms)", None)):
        key = name or next(k for k in found if k.startswith("long_loop"))
        fun, args = found[key]
        seconds = [bench_compile.compile_seconds(fun, args, False) for _ in range(5)]
        rows[label] = {"srcad numpy": 1e3 * statistics.median(seconds)}
    return rows


def print_table(rows: dict[str, dict]) -> None:
    print("\nratio to hand-written code in the same process (lower is faster; throughput:")
    print("higher is better); compile rows in ms; other systems in their own processes\n")
    print(f"{'workload':38s}" + "".join(f"{name:>14s}" for name in COLUMNS))
    for workload, row in rows.items():
        cells = [row.get(name) for name in COLUMNS]
        text = "".join(f"{'—' if v is None or math.isnan(v) else f'{v:.2f}':>14s}" for v in cells)
        print(f"{workload:38s}{text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timing rounds; the min is kept")
    parser.add_argument("--quick", action="store_true", help="MLP at batch 1, one epoch")
    parser.add_argument("--others", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a child process's one system
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        return contender_child(options.child, options.workload, options.repeat)
    print(f"numpy {np.__version__}; {bench_mlp.describe_threads()}; malloc: glibc defaults")
    rows = {**small_rows(options), **mlp_rows(options), **training_row(options)}
    rows.update(compile_rows())
    print_table(rows)


if __name__ == "__main__":
    main()
