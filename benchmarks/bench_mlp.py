"""Benchmark: srcad's generated value-and-gradient against hand-written NumPy backprop.

A 784-256-256-10 tanh MLP with softmax cross-entropy (mean over the batch), in float64 and
float32. Both gradients are checked against each other before anything is timed.

    python benchmarks/bench_mlp.py --repeat 7 --batch 128
"""

from __future__ import annotations

import argparse
import os
import time
import timeit

import numpy as np

import srcad

SIZES = (784, 256, 256, 10)
TOLERANCES = {np.float64: (1e-9, 1e-12), np.float32: (1e-3, 1e-5)}


def loss(params, x, y):
    (W1, b1), (W2, b2), (W3, b3) = params
    h1 = np.tanh(x @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    logits = h2 @ W3 + b3
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return np.mean(-np.sum(y * log_p, axis=1))


def hand_value_and_grad(params, x, y):
    """Loss and gradient by hand: reuse every forward intermediate, no wasted work."""
    (W1, b1), (W2, b2), (W3, b3) = params
    batch = x.shape[0]
    h1 = np.tanh(x @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    logits = h2 @ W3 + b3
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    log_p = shifted - np.log(total)
    value = -np.sum(y * log_p) / batch
    # Rows of y are one-hot, so they sum to 1: d/dlogits = (softmax - y) / batch.
    dlogits = (e / total - y) / batch
    dW3, db3 = h2.T @ dlogits, dlogits.sum(axis=0)
    dz2 = (dlogits @ W3.T) * (1 - h2 * h2)  # tanh' = 1 - tanh^2
    dW2, db2 = h1.T @ dz2, dz2.sum(axis=0)
    dz1 = (dz2 @ W2.T) * (1 - h1 * h1)
    dW1, db1 = x.T @ dz1, dz1.sum(axis=0)
    return value, [(dW1, db1), (dW2, db2), (dW3, db3)]


def make_problem(batch, dtype, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        W = rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
        b = 0.1 * rng.standard_normal(fan_out)
        params.append((W.astype(dtype), b.astype(dtype)))
    x = rng.standard_normal((batch, SIZES[0])).astype(dtype)
    y = np.eye(SIZES[-1], dtype=dtype)[rng.integers(0, SIZES[-1], size=batch)]
    return params, x, y


def check_same_gradient(srcad_fn, params, x, y, dtype):
    rtol, atol = TOLERANCES[dtype]
    value, grads = srcad_fn(params, x, y)
    hand_value, hand_grads = hand_value_and_grad(params, x, y)
    assert np.allclose(value, hand_value, rtol=rtol, atol=atol), (value, hand_value)
    for layer, (got, want) in enumerate(zip(grads, hand_grads, strict=True), start=1):
        for name, g, h in zip(("W", "b"), got, want, strict=True):
            assert g.dtype == dtype, f"d{name}{layer} has dtype {g.dtype}, expected {dtype}"
            worst = np.max(np.abs(g - h))
            assert np.allclose(g, h, rtol=rtol, atol=atol), f"d{name}{layer} off by {worst:.3g}"


def best_ms_per_call(fn, args, repeat):
    """Minimum over `repeat` runs, each of enough calls to last about 0.2 s."""
    timer = timeit.Timer(lambda: fn(*args))
    number, _ = timer.autorange()
    return 1e3 * min(timer.repeat(repeat=repeat, number=number)) / number


def describe_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')}"]
    return [
        f"{pool['internal_api']} ({pool['user_api']}): {pool['num_threads']} threads"
        for pool in threadpool_info()
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="timing repeats; the min is kept")
    parser.add_argument("--batch", type=int, default=128, help="examples per batch")
    args = parser.parse_args()

    print(f"MLP {'-'.join(map(str, SIZES))}, tanh, softmax cross-entropy, batch {args.batch}")
    print(f"numpy {np.__version__}; " + "; ".join(describe_threads()))

    srcad_fn = srcad.value_and_grad(loss, argnums=0)
    rows = []
    for dtype in (np.float64, np.float32):
        params, x, y = make_problem(args.batch, dtype)
        start = time.perf_counter()
        srcad_fn(params, x, y)  # first call compiles for these shapes and dtypes
        compile_ms = 1e3 * (time.perf_counter() - start)
        check_same_gradient(srcad_fn, params, x, y, dtype)
        hand_ms = best_ms_per_call(hand_value_and_grad, (params, x, y), args.repeat)
        srcad_ms = best_ms_per_call(srcad_fn, (params, x, y), args.repeat)
        rows.append((np.dtype(dtype).name, compile_ms, hand_ms, srcad_ms))

    print("gradients agree (allclose) in every dtype\n")
    print(f"{'dtype':<8} {'first call ms':>13} {'hand ms':>9} {'srcad ms':>9} {'srcad/hand':>10}")
    for name, compile_ms, hand_ms, srcad_ms in rows:
        ratio = srcad_ms / hand_ms
        print(f"{name:<8} {compile_ms:>13.1f} {hand_ms:>9.3f} {srcad_ms:>9.3f} {ratio:>10.2f}")


if __name__ == "__main__":
    main()
