"""Loops and branches, differentiated without unrolling.

The generated gradients (committed under ``generated/loops/``) keep each loop as a loop:
the forward loop records on a tape what the backward loop needs, and the backward loop
runs in reverse right beneath it.
"""

from __future__ import annotations

import numpy as np

import srcad


def sum_of_squares(x):
    """A loop with an accumulator."""
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i] * x[i]
    return total


def rnn(W, h, xs):
    """A recurrent network: h = tanh(W h + x_t), summed at the end."""
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h)


def clipped_steps(x):
    """Branches inside a loop: a step that depends on the data."""
    y = x
    for _ in range(5):
        if np.sum(y * y) > 4.0:
            y = 0.5 * y
        else:
            y = y + np.sin(y)
    return np.sum(y)


def newton_sqrt(a):
    """A while loop with a data-dependent trip count: Newton's iteration for sqrt(a)."""
    x = a
    while np.abs(x * x - a) > 1e-10:
        x = 0.5 * (x + a / x)
    return x


_rng = np.random.default_rng(1)
EXAMPLE_ARGS = {
    "sum_of_squares": (_rng.normal(size=4),),
    "rnn": (0.5 * _rng.normal(size=(3, 3)), _rng.normal(size=3), _rng.normal(size=(5, 3))),
    "clipped_steps": (_rng.normal(size=3),),
    "newton_sqrt": (2.0,),
}
EXAMPLE_ARGNUMS = {"rnn": (0, 1, 2)}


if __name__ == "__main__":
    for name, args in EXAMPLE_ARGS.items():
        function = globals()[name]
        argnums = EXAMPLE_ARGNUMS.get(name, 0)
        srcad.check_grad(function, *args, argnums=argnums)
        print(f"{name}: gradient matches central differences")
    value, gradient = srcad.value_and_grad(newton_sqrt)(2.0)
    print(f"sqrt(2) = {value:.12f}, d sqrt(a)/da at 2 = {gradient:.12f} (exact {0.5 / value:.12f})")
