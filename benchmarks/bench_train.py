"""Benchmark: a training epoch with srcad.train against a hand-written NumPy loop; checkpointing.

1. Throughput: one epoch over 60,000 MNIST-shaped synthetic samples (784 features, 10 classes),
   batch 128, float32, Adam, 784-256-256-10 tanh MLP with softmax cross-entropy and L2.
   ``srcad.train.fit`` (generated gradient, per-layer gradient norms, metrics) against a
   hand-written loop with the same shuffling, the hand-written backprop of bench_mlp.py and
   an in-place Adam. autograd, JAX (jit) and PyTorch (eager) loops run too when installed,
   each in a fresh process pinned to one CPU next to the hand-written loop timed again there
   (see ``isolated.py``).
2. Memory: one training step (gradient and Adam update) of a 20-layer, width-1024 tanh MLP,
   with and without gradient checkpointing: peak bytes (tracemalloc) and whether the
   gradients are identical.

    python benchmarks/bench_train.py --epochs 3
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from srcad.train import MLP, Adam, fit, peak_memory

try:  # run as a script from the repository root or from benchmarks/
    import bench_mlp
    import isolated
except ImportError:
    from benchmarks import bench_mlp, isolated

SIZES = (784, 256, 256, 10)
LAM = 1e-4
BATCH = 128


def synthetic_mnist(n=60_000, seed=0, dtype=np.float32):
    """Inputs in [0, 1] with 784 features and one-hot labels that depend on them."""
    rng = np.random.default_rng(seed)
    centers = rng.random((10, 784))
    labels = rng.integers(0, 10, n)
    x = np.clip(centers[labels] + 0.3 * rng.standard_normal((n, 784)), 0, 1).astype(dtype)
    return x, np.eye(10, dtype=dtype)[labels]


def hand_epoch(params, x, y, rng, state, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """One epoch written by hand: shuffled minibatches, backprop, in-place Adam."""
    order = rng.permutation(len(x))
    flat = [p for layer in params for p in layer]
    if not state:
        state["t"] = 0
        state["buffers"] = [(np.zeros_like(p), np.zeros_like(p), np.empty_like(p)) for p in flat]
    total = 0.0
    steps = len(x) // BATCH
    for step in range(steps):
        rows = order[step * BATCH : (step + 1) * BATCH]
        value, grads = bench_mlp.hand_value_and_grad(params, x[rows], y[rows], LAM)
        total += value
        state["t"] += 1
        t = state["t"]
        rate = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        epsilon = eps * math.sqrt(1 - b2**t)
        flat_grads = [g for layer in grads for g in layer]
        for p, g, (m, v, scratch) in zip(flat, flat_grads, state["buffers"], strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            np.multiply(g, g, out=scratch)
            scratch *= 1 - b2
            v += scratch
            np.sqrt(v, out=scratch)
            scratch += epsilon
            np.divide(m, scratch, out=scratch)
            scratch *= rate
            p -= scratch
    return total / steps


class HandGradientMLP(MLP):
    """The same model with the hand-written gradient instead of srcad's: isolates the loop."""

    def value_and_grad(self, params, x, y):
        return bench_mlp.hand_value_and_grad(params, x, y, self.lam)


def throughput(options) -> None:
    clock = bench_mlp.CLOCKS[options.clock]
    x, y = synthetic_mnist()
    models = {
        "srcad.train fit": MLP(SIZES, "tanh", "softmax_cross_entropy", lam=LAM),
        "fit, hand gradient": HandGradientMLP(SIZES, "tanh", "softmax_cross_entropy", lam=LAM),
    }
    params = models["srcad.train fit"].init(seed=0, dtype=np.float32)
    settings = {"batch_size": BATCH, "validation_split": 0.0, "progress": False}
    for model in models.values():
        fit(model, x[:512], y[:512], epochs=1, dtype=np.float32, **settings)  # compile first
    hand_params = [(W.copy(), b.copy()) for W, b in params]
    fit_params = {name: [(W.copy(), b.copy()) for W, b in params] for name in models}
    rng = np.random.default_rng(0)
    hand_state: dict = {}
    seconds: dict = {"hand-written loop": [], **{name: [] for name in models}}
    for _ in range(options.rounds):  # take turns, so that all see the same machine load
        started = clock()
        for _ in range(options.epochs):
            hand_loss = hand_epoch(hand_params, x, y, rng, hand_state)
        seconds["hand-written loop"].append((clock() - started) / options.epochs)
        for name, model in models.items():
            run = {"optimizer": Adam(1e-3), "params": fit_params[name], "epochs": options.epochs}
            started = clock()
            result = fit(model, x, y, **run, **settings)
            seconds[name].append((clock() - started) / options.epochs)
    best = {name: min(times) for name, times in seconds.items()}
    hand = best["hand-written loop"]
    ratios = {name: hand / time_s for name, time_s in best.items()}
    for name, (time_s, ratio) in other_loops(options):
        best[name], ratios[name] = time_s, ratio
    print(f"\n1. one epoch: {len(x)} samples, batch {BATCH}, float32, Adam")
    print(
        f"   {options.clock} time per epoch, the best of {options.rounds} rounds of "
        f"{options.epochs} epochs; fit's includes its data checks and per-epoch metrics"
    )
    fit_loss = result.history.objective[-1]
    print(f"   last mean minibatch loss: hand loop {hand_loss:.4f}, fit {fit_loss:.4f}")
    for name, time_s in best.items():
        rate = len(x) / time_s
        print(f"   {name:<20} {time_s:6.2f} s  {rate:9.0f} samples/s  {ratios[name]:5.2f}x hand")
    print("   (other systems: each in its own process on one CPU, vs the hand loop timed there)")


OTHER_LOOPS = {"autograd": "autograd", "jax jit": "jax", "torch": "torch"}


def other_loops(options):
    """(name, (best epoch seconds, throughput relative to the hand-written loop)) for the
    same loop in autograd, JAX and PyTorch, each timed in a child process, if installed."""
    for name, module in OTHER_LOOPS.items():
        if not isolated.installed(module):
            print(f"({name} is not installed: skipped)")
            continue
        arguments = ["--loop", name, "--rounds", str(options.rounds)]
        if not options.malloc_tuning:
            arguments.append("--no-malloc-tuning")
        times = isolated.run_child(__file__, arguments, name)
        if times is not None:
            yield f"{name} loop", (times[name], times["hand"] / times[name])


def loop_child(options) -> None:
    """In the child: one CPU, the hand-written loop and ``options.loop`` in turns, best epoch
    seconds of each as one JSON line."""
    print(isolated.pin_to_one_cpu())
    if options.malloc_tuning:
        bench_mlp.keep_freed_memory()
    x, y = synthetic_mnist()
    build = {"autograd": _autograd_loop, "jax jit": _jax_loop, "torch": _torch_loop}
    epoch = build[options.loop](x, y)
    epoch(1)  # warm up (and compile, for JAX)
    params = MLP(SIZES, "tanh").init(seed=0, dtype=np.float32)
    rng, state = np.random.default_rng(0), {}
    best = {"hand": float("inf"), options.loop: float("inf")}
    for _ in range(options.rounds):
        started = time.process_time()
        hand_epoch(params, x, y, rng, state)
        best["hand"] = min(best["hand"], time.process_time() - started)
        best[options.loop] = min(best[options.loop], _timed(epoch, time.process_time))
    print(json.dumps(best))


def _timed(epoch, clock) -> float:
    started = clock()
    epoch(None)
    return clock() - started


def _batches(n, steps):
    order = np.random.default_rng(0).permutation(n)
    count = n // BATCH if steps is None else steps
    return (order[i * BATCH : (i + 1) * BATCH] for i in range(count))


def _numpy_adam(params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    """An Adam step for autograd's NumPy gradients (the formulas of hand_epoch)."""
    state = [(np.zeros_like(p), np.zeros_like(p)) for layer in params for p in layer]
    counter = [0]

    def step(grads):
        counter[0] += 1
        t = counter[0]
        rate = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        flat = [p for layer in params for p in layer]
        flat_grads = [g for layer in grads for g in layer]
        for p, g, (m, v) in zip(flat, flat_grads, state, strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= rate * m / (np.sqrt(v) + eps * math.sqrt(1 - b2**t))

    return step


def _autograd_loop(x, y):
    value_and_grad, _ = bench_mlp._autograd(np.float32)
    params = MLP(SIZES, "tanh").init(seed=0, dtype=np.float32)
    step = _numpy_adam(params)

    def epoch(steps):
        for rows in _batches(len(x), steps):
            _, grads = value_and_grad(params, x[rows], y[rows], LAM)
            step(grads)

    return epoch


def _jax_loop(x, y):
    import jax
    import jax.numpy as jnp

    params = [
        tuple(map(jnp.asarray, layer)) for layer in MLP(SIZES, "tanh").init(0, "auto", np.float32)
    ]
    moments = jax.tree_util.tree_map(jnp.zeros_like, (params, params))

    @jax.jit
    def update(params, moments, t, x, y):
        value, grads = jax.value_and_grad(bench_mlp._jax_loss)(params, x, y, LAM)
        m, v = moments
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
        rate = 1e-3 * jnp.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        params = jax.tree_util.tree_map(
            lambda p, m, v: p - rate * m / (jnp.sqrt(v) + 1e-8), params, m, v
        )
        return params, (m, v), value

    state = {"params": params, "moments": moments, "t": 0}

    def epoch(steps):
        for rows in _batches(len(x), steps):
            state["t"] += 1
            state["params"], state["moments"], value = update(
                state["params"], state["moments"], state["t"], x[rows], y[rows]
            )
        jax.block_until_ready(state["params"])

    return epoch


def _torch_loop(x, y):
    import torch

    layers = MLP(SIZES, "tanh").init(seed=0, dtype=np.float32)
    params = [torch.from_numpy(a.copy()).requires_grad_() for layer in layers for a in layer]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch(steps):
        for rows in _batches(len(x), steps):
            index = torch.from_numpy(rows)
            value = bench_mlp.torch_loss(params, xt[index], yt[index], LAM)
            optimizer.zero_grad()
            value.backward()
            optimizer.step()

    return epoch


def memory(options) -> None:
    depth, width, batch = options.depth, options.width, options.memory_batch
    sizes = [784] + [width] * (depth - 1) + [10]
    x, y = synthetic_mnist(batch, seed=1)
    grads_by_mode, peaks, seconds = [], [], []
    print(f"\n2. one Adam step of a {depth}-layer width-{width} tanh MLP, batch {batch}, float32")
    for checkpoint in (None, options.segment or True):
        model = MLP(sizes, "tanh", lam=LAM, checkpoint=checkpoint)
        params = model.init(seed=0, dtype=np.float32)
        optimizer = Adam(1e-4)
        keep = [(W.copy(), b.copy()) for W, b in params]
        model.value_and_grad(params, x, y)  # compile, so that compiling is not measured
        optimizer.step(params, model.value_and_grad(params, x, y)[1])  # Adam's state exists

        def step(model=model, params=params, optimizer=optimizer):
            value, grads = model.value_and_grad(params, x, y)
            optimizer.step(params, grads)

        started = time.perf_counter()
        _, peak = peak_memory(step)
        seconds.append(time.perf_counter() - started)
        peaks.append(peak)
        grads_by_mode.append(model.value_and_grad(keep, x, y)[1])
        label = "stored activations" if checkpoint is None else "checkpointing"
        segments = "" if checkpoint is None else f" ({model.segmented.per_segment} layers/segment)"
        print(f"   {label + segments:<36} peak {peak / 2**20:8.1f} MiB  step {seconds[-1]:.2f} s")
    same = all(
        np.array_equal(a, b)
        for layer_a, layer_b in zip(*grads_by_mode, strict=True)
        for a, b in zip(layer_a, layer_b, strict=True)
    )
    params_mib = sum(4 * (m + 1) * n for m, n in zip(sizes[:-1], sizes[1:], strict=True)) / 2**20
    ratio = peaks[1] / peaks[0]
    print(f"   peak ratio {ratio:.2f} (checkpointed / stored); gradients identical: {same}")
    print(
        f"   (the parameters themselves, {params_mib:.0f} MiB, existed before and are not counted)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best kept")
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (threadpoolctl)")
    parser.add_argument("--clock", choices=("cpu", "wall"), help="default: cpu with --threads 1")
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--memory-batch", type=int, default=2048)
    parser.add_argument("--segment", type=int, default=None, help="layers per segment")
    parser.add_argument("--skip", choices=("throughput", "memory"), default=None)
    parser.add_argument("--malloc-tuning", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--loop", help=argparse.SUPPRESS)  # a child process's one system
    options = parser.parse_args()
    if options.loop:
        return loop_child(options)
    limits = bench_mlp.limit_threads(options.threads)  # noqa: F841 - held for the whole run
    print(f"numpy {np.__version__}; {bench_mlp.describe_threads()}")
    print(bench_mlp.keep_freed_memory() if options.malloc_tuning else "malloc: glibc defaults")
    options.clock = bench_mlp.choose_clock(options.clock, options.threads)
    print(f"clock: {options.clock} time")
    if options.skip != "throughput":
        throughput(options)
    if options.skip != "memory":
        memory(options)


if __name__ == "__main__":
    main()
