"""``srcad demo``: show a generated gradient, then train an MLP on the digits dataset."""

from __future__ import annotations

import time

import numpy as np

import srcad
from srcad.train.mlp import init_params, make_loss, predict


def run_demo(epochs: int | None = None, seed: int = 0) -> int:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data / 16.0
    y = np.eye(10)[digits.target]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.2, random_state=seed, stratify=digits.target
    )
    loss = make_loss(2, "tanh")
    value_and_grad = srcad.value_and_grad(loss)
    params = init_params([64, 64, 10], seed=seed)
    value_and_grad(params, x_train[:32], y_train[:32], 1e-4)
    _print_source(srcad.source(value_and_grad))
    params = _train_adam(value_and_grad, params, x_train, y_train, epochs or 40, seed)
    accuracy = np.mean(np.argmax(predict(params, x_test), 1) == np.argmax(y_test, 1))
    print(f"test accuracy on {len(x_test)} held-out digits: {accuracy:.1%}")
    return 0


def _print_source(source: str) -> None:
    print("The gradient srcad generated for a 64-64-10 tanh MLP with softmax cross-entropy:\n")
    try:
        from rich.console import Console
        from rich.syntax import Syntax

        Console(soft_wrap=True).print(Syntax(source, "python", theme="ansi_dark"))
    except ImportError:
        print(source)


def _train_adam(value_and_grad, params, x, y, epochs, seed, batch=32, rate=3e-3):
    rng = np.random.default_rng(seed)
    moments = [[np.zeros_like(p) for p in layer] for layer in params]
    squares = [[np.zeros_like(p) for p in layer] for layer in params]
    params = [list(layer) for layer in params]
    step = 0
    start = time.perf_counter()
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        for begin in range(0, len(x) - batch + 1, batch):
            rows = order[begin : begin + batch]
            value, grads = value_and_grad(params, x[rows], y[rows], 1e-4)
            step += 1
            for i, layer in enumerate(grads):
                for j, g in enumerate(layer):
                    moments[i][j] = 0.9 * moments[i][j] + 0.1 * g
                    squares[i][j] = 0.999 * squares[i][j] + 0.001 * g * g
                    m_hat = moments[i][j] / (1 - 0.9**step)
                    v_hat = squares[i][j] / (1 - 0.999**step)
                    params[i][j] -= rate * m_hat / (np.sqrt(v_hat) + 1e-8)
        if epoch % 10 == 9 or epoch == epochs - 1:
            print(f"epoch {epoch + 1:3d}  minibatch loss {value:.4f}")
    print(f"trained {epochs} epochs in {time.perf_counter() - start:.1f} s")
    return params
