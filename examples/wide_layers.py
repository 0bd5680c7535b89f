"""Layers as wide as MNIST's (784 inputs), where the generated gradient writes each weight
gradient once, into an array of an earlier call that no one holds any more
(``srcad/codegen/reuse.py``), and computes a large hidden layer in place
(``srcad/codegen/chains.py``): ``generated/wide_layers/`` shows the code.

    python examples/wide_layers.py
"""

import numpy as np

import srcad


def softmax_regression(W, b, x, y, lam):
    """One example (a row x): cross-entropy of softmax(x W + b) plus lam ||W||^2."""
    logits = x @ W + b
    shifted = logits - np.max(logits)
    log_p = shifted - np.log(np.sum(np.exp(shifted)))
    return -np.vdot(y, log_p) + lam * np.sum(W * W)


def two_layers(W1, W2, x, y, lam):
    """A batch: squared error of tanh(x W1) W2 plus lam (||W1||^2 + ||W2||^2)."""
    h = np.tanh(x @ W1)
    error = h @ W2 - y
    return np.mean(error**2) + lam * (np.sum(W1**2) + np.sum(W2**2))


_rng = np.random.default_rng(0)
EXAMPLE_ARGS = {
    "softmax_regression": (
        0.01 * _rng.normal(size=(784, 128)),
        np.zeros(128),
        _rng.normal(size=(1, 784)),
        np.eye(128)[[3]],
        1e-4,
    ),
    "two_layers": (
        (0.05 * _rng.normal(size=(784, 256))).astype(np.float32),
        (0.1 * _rng.normal(size=(256, 10))).astype(np.float32),
        _rng.normal(size=(64, 784)).astype(np.float32),
        _rng.normal(size=(64, 10)).astype(np.float32),
        1e-4,
    ),
}
EXAMPLE_ARGNUMS = {"softmax_regression": (0, 1), "two_layers": (0, 1)}


if __name__ == "__main__":
    for name, args in EXAMPLE_ARGS.items():
        gradient = srcad.grad(globals()[name], EXAMPLE_ARGNUMS[name])
        first = gradient(*args)
        second = gradient(*args)  # the first call's arrays are still held: fresh ones
        print(f"{name}: |dW| = {np.linalg.norm(first[0]):.4f}, same again: ", end="")
        print(all(np.array_equal(a, b) for a, b in zip(first, second, strict=True)))
