"""The worked examples of the backpropagation textbooks, differentiated by srcad.

Run ``python examples/basics.py`` to print each gradient, or ``srcad show
examples/basics.py:neuron`` to read the generated code. The generated gradients are
committed under ``generated/basics/``.
"""

from __future__ import annotations

import math

import numpy as np

import srcad


def circuit(w1, w2, w3):
    """L = w3 (w1 + w2): at (-2, 5, -4), L = -12 and the gradient is (-4, -4, 3)."""
    q = w1 + w2
    return w3 * q


def neuron(w0, w1, w2, x0, x1):
    """A sigmoid neuron: 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))."""
    z = w0 * x0 + w1 * x1 + w2
    return 1 / (1 + math.exp(-z))


def product(a, b):
    """e = (a + b)(b + 1): de/da = 2 and de/db = 5 at a = 2, b = 1."""
    c = a + b
    d = b + 1
    return c * d


def chain(x):
    """g(x) = sin(5 exp(x)), with g'(x) = 5 cos(5 exp(x)) exp(x)."""
    return np.sin(5 * np.exp(x))


def tanh_layer(x, W):
    """A tanh layer summed to a scalar."""
    return np.sum(np.tanh(W @ x))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def one_hidden_layer(W, v, x, y, lam):
    """J = (v . sigmoid(W x) - y)^2 + lam (||W||^2 + ||v||^2)."""
    h = sigmoid(W @ x)
    y_hat = v @ h
    penalty = lam * (np.sum(W**2) + np.sum(v**2))
    return (y_hat - y) ** 2 + penalty


def softmax_cross_entropy(a, y):
    """L = -sum_k y_k log softmax(a)_k, whose gradient is softmax(a) - y."""
    shifted = a - np.max(a)
    log_p = shifted - np.log(np.sum(np.exp(shifted)))
    return -np.sum(y * log_p)


_rng = np.random.default_rng(0)
EXAMPLE_ARGS = {
    "circuit": (-2.0, 5.0, -4.0),
    "neuron": (2.0, -3.0, -3.0, -1.0, -2.0),
    "product": (2.0, 1.0),
    "chain": (0.3,),
    "tanh_layer": (_rng.normal(size=3), _rng.normal(size=(4, 3))),
    "one_hidden_layer": (
        _rng.normal(size=(4, 3)),
        _rng.normal(size=4),
        _rng.normal(size=3),
        0.5,
        0.1,
    ),
    "softmax_cross_entropy": (_rng.normal(size=5), np.eye(5)[2]),
}
EXAMPLE_ARGNUMS = {
    "circuit": (0, 1, 2),
    "neuron": (0, 1, 2, 3, 4),
    "product": (0, 1),
    "tanh_layer": (0, 1),
    "one_hidden_layer": (0, 1),
}


if __name__ == "__main__":
    for name, args in EXAMPLE_ARGS.items():
        function = globals()[name]
        value, gradient = srcad.value_and_grad(function, EXAMPLE_ARGNUMS.get(name, 0))(*args)
        parts = gradient if isinstance(gradient, tuple) else (gradient,)
        shown = ", ".join(np.array2string(np.asarray(g), precision=4) for g in parts)
        print(f"{name}: value {value:.4f}, gradient ({shown})")
