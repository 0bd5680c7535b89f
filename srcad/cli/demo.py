"""``srcad demo``: show a generated gradient, then train an MLP on the digits dataset."""

from __future__ import annotations

import time

from srcad.train import MLP, fit, load_dataset, make_optimizer
from srcad.train.command import DEFAULTS, summary_lines


def run_demo(epochs: int | None = None, seed: int = 0) -> int:
    """The same model and training as ``srcad train --dataset digits``, with its gradient shown."""
    data = load_dataset("digits")
    sizes = [data.n_features, *DEFAULTS["hidden"], data.n_outputs]
    model = MLP(sizes, DEFAULTS["act"], data.loss, lam=DEFAULTS["l2"])
    params = model.init(seed)
    model.value_and_grad(params, data.x_train[:32], data.y_train[:32])
    print(
        "srcad.train wrote this MLP's loss as plain Python, one line per layer:\n"
        f"{model.loss_fn.__code__.co_filename}\nand srcad generated its gradient "
        f"({'-'.join(map(str, model.sizes))} {DEFAULTS['act']} MLP, softmax cross-entropy, "
        "L2 penalty):\n"
    )
    _print_source(model.gradient_source())
    print(f"Training {model!r} on {len(data.x_train)} handwritten digits with Adam:")
    started = time.perf_counter()
    result = fit(
        model,
        data.x_train,
        data.y_train,
        optimizer=make_optimizer("adam", 3e-3, DEFAULTS["schedule"]),
        epochs=epochs or DEFAULTS["epochs"],
        batch_size=DEFAULTS["batch"],
        validation_split=DEFAULTS["val"],
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
