"""Benchmark: the gradient of a 100-step recurrent loop, srcad against hand-written BPTT.

    h = tanh(W @ h + x[t])  for t in range(100), 32-dimensional state, loss = sum(h**2)

srcad keeps the loop a loop: the forward loop records on a tape what the backward loop
needs. The hand-written backpropagation through time stores the hidden states in a
preallocated array. Both gradients are checked against each other before timing; the
ratio printed is srcad / hand (min over repeats, measured in the same run).

    python benchmarks/bench_rnn.py --repeat 20
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np

import srcad

STEPS, STATE = 100, 32


def rnn_loss(W, h, x):
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + x[t])
    return np.sum(h**2)


def hand_value_and_grad(W, h0, x):
    steps = x.shape[0]
    hs = np.empty((steps + 1, h0.shape[0]))
    hs[0] = h0
    for t in range(steps):
        hs[t + 1] = np.tanh(W @ hs[t] + x[t])
    value = np.sum(hs[-1] ** 2)
    dW = np.zeros_like(W)
    dx = np.empty_like(x)
    dh = 2 * hs[-1]
    for t in reversed(range(steps)):
        da = dh * (1 - hs[t + 1] ** 2)
        dx[t] = da
        dW += np.outer(da, hs[t])
        dh = da @ W
    return value, (dW, dh, dx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--number", type=int, default=20)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    W = rng.normal(size=(STATE, STATE)) / np.sqrt(STATE)
    h0 = rng.normal(size=STATE)
    x = rng.normal(size=(STEPS, STATE))
    generated = srcad.value_and_grad(rnn_loss, argnums=(0, 1, 2))
    value, grads = generated(W, h0, x)
    hand_value, hand_grads = hand_value_and_grad(W, h0, x)
    assert np.isclose(value, hand_value)
    for mine, theirs in zip(grads, hand_grads, strict=True):
        assert np.allclose(mine, theirs, rtol=1e-10, atol=1e-12)
    timings = {}
    for name, fn in [("hand BPTT", hand_value_and_grad), ("srcad", generated)]:
        runs = timeit.repeat(
            lambda fn=fn: fn(W, h0, x), number=options.number, repeat=options.repeat
        )
        timings[name] = min(runs) / options.number * 1e3
    print(f"RNN {STEPS} steps, state {STATE}: value and gradient wrt (W, h0, x)")
    for name, ms in timings.items():
        print(f"{name:10s} {ms:8.3f} ms")
    print(f"srcad / hand = {timings['srcad'] / timings['hand BPTT']:.2f}")


if __name__ == "__main__":
    main()
