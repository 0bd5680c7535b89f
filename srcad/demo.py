"""``srcad demo``: show a generated gradient, then train an MLP on the digits dataset."""

from __future__ import annotations

import time

from srcad.train import MLP, fit, load_dataset, make_optimizer
from srcad.train.command import summary_lines


def run_demo(epochs: int | None = None, seed: int = 0) -> int:
    data = load_dataset("digits")
    model = MLP([data.n_features, 64, data.n_outputs], "tanh", data.loss, lam=1e-4)
    params = model.init(seed)
    model.value_and_grad(params, data.x_train[:32], data.y_train[:32])
    print(
        "srcad wrote this MLP's loss as Python (one line per layer) and generated its gradient."
        f"\nThe gradient of a {'-'.join(map(str, model.sizes))} tanh MLP with softmax "
        "cross-entropy and an L2 penalty:\n"
    )
    _print_source(model.gradient_source())
    print(f"Training {model!r} on {len(data.x_train)} handwritten digits with Adam:")
    started = time.perf_counter()
    result = fit(
        model,
        data.x_train,
        data.y_train,
        optimizer=make_optimizer("adam", 3e-3, "cosine"),
        epochs=epochs or 40,
        seed=seed,
        log_every=10,
    )
    for line in summary_lines(model, result, data, time.perf_counter() - started):
        print(line)
    return 0


def _print_source(source: str) -> None:
    try:
        from rich.console import Console
        from rich.syntax import Syntax

        Console(soft_wrap=True).print(Syntax(source, "python", theme="ansi_dark"))
    except ImportError:
        print(source)
