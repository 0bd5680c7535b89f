"""``srcad train``: train an MLP on a bundled dataset or an ``.npz`` file from the shell.

    srcad train --dataset digits --hidden 128 --act relu --opt adam --epochs 40 --seed 0

prints the final metrics and writes the loss/accuracy curve as a PNG.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from srcad.train.data import DATASETS, Dataset, load_dataset, load_npz, scale_hint, standardize
from srcad.train.loop import FitResult, fit
from srcad.train.mlp import ACTIVATIONS, LOSSES
from srcad.train.model import MLP
from srcad.train.optim import OPTIMIZERS, SCHEDULES, make_optimizer
from srcad.train.store import save_params

DEFAULTS = {
    "hidden": (128,),
    "act": "relu",
    "opt": "adam",
    "schedule": "cosine",
    "epochs": 40,
    "batch": 32,
    "l2": 3e-3,
    "val": 0.1,
    "patience": None,
}
# Where a bundled dataset needs other defaults. diabetes: 353 noisy rows of 10 features, on
# which a wide network overfits within a few epochs: a small smooth one, a slower rate,
# more validation data and early stopping (R^2 0.41-0.46 over training seeds 0-4).
DATASET_DEFAULTS: dict[str, dict[str, object]] = {
    "diabetes": {
        "hidden": (16,),
        "act": "softplus",
        "l2": 1e-2,
        "lr": 1e-3,
        "epochs": 300,
        "batch": 16,
        "val": 0.2,
        "patience": 30,
    },
}
TUNED = ("hidden", "act", "l2", "lr", "epochs", "batch", "val", "patience")
# Without --epochs, a small dataset trains for more epochs than DEFAULTS["epochs"], so that
# it takes at least this many steps (iris: 4 steps an epoch, 250 epochs)
MIN_STEPS = 1000


def positive(kind: type) -> Callable[[str], object]:
    """An argparse type: a number of ``kind`` above zero."""
    return bounded(kind, lambda value: value > 0, "above 0")


def at_least_zero(kind: type) -> Callable[[str], object]:
    """An argparse type: a number of ``kind`` that is 0 or more."""
    return bounded(kind, lambda value: value >= 0, "0 or more")


def bounded(kind: type, accepts: Callable, what: str) -> Callable[[str], object]:
    """An argparse type: a number of ``kind`` that ``accepts``; else an error saying it must
    be ``what``."""

    def parse(text: str) -> object:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not accepts(value):
            raise argparse.ArgumentTypeError(f"{text} must be {what}")
        return value

    parse.__name__ = kind.__name__
    return parse


def hidden_widths(text: str) -> tuple[int, ...]:
    """An argparse type: ``--hidden 64,64``, one or more widths above 0."""
    try:
        widths = tuple(int(width) for width in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes widths like 64,64, not {text!r}") from None
    if min(widths) < 1:
        raise argparse.ArgumentTypeError(f"each width must be an int above 0, not {text!r}")
    return widths


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``srcad train``."""
    parser.description = (
        "Train an MLP whose loss srcad differentiates; print the final metrics and write the "
        "training curves as a PNG. Without options: digits, 64-128-10 relu, Adam, about 97.5% test accuracy."
    )
    data = parser.add_argument_group("data")
    source = data.add_mutually_exclusive_group()  # one or the other, not both
    source.add_argument("--dataset", default="digits", choices=DATASETS, help="(default digits)")
    source.add_argument("--data", metavar="FILE.npz", help="x_train, y_train, x_test, y_test")
    data.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="z-score the input features with training statistics (default on)",
    )
    net = parser.add_argument_group("model")
    net.add_argument(
        "--hidden",
        type=hidden_widths,
        default=None,
        help="hidden widths, e.g. 64,64 (default 128; diabetes 16)",
    )
    net.add_argument(
        "--act",
        default=None,
        help=f"{'|'.join(ACTIVATIONS)}, or one per layer (default relu; diabetes softplus)",
    )
    net.add_argument("--loss", choices=sorted(LOSSES), help="(default the dataset's)")
    net.add_argument(
        "--l2",
        type=at_least_zero(float),
        default=None,
        help="L2 penalty lambda (default 3e-3; diabetes 1e-2)",
    )
    net.add_argument(
        "--init",
        default="auto",
        choices=("auto", "xavier", "he"),
        help="auto: he for relu, else xavier",
    )
    net.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    net.add_argument(
        "--checkpoint", type=at_least_zero(int), default=0, help="layers per recomputed segment"
    )
    run = parser.add_argument_group("optimisation")
    run.add_argument(
        "--opt", default=DEFAULTS["opt"], choices=sorted(OPTIMIZERS), help="(default adam)"
    )
    run.add_argument(
        "--lr",
        type=positive(float),
        default=None,
        help="(default 3e-3 for adam, diabetes 1e-3; else the optimizer's own)",
    )
    run.add_argument(
        "--schedule",
        default=DEFAULTS["schedule"],
        choices=sorted(SCHEDULES),
        help="(default cosine)",
    )
    run.add_argument(
        "--epochs",
        type=positive(int),
        default=None,
        help=f"(default 40, more to take {MIN_STEPS} steps on small data; diabetes 300)",
    )
    run.add_argument("--batch", type=positive(int), default=None, help="(default 32; diabetes 16)")
    run.add_argument(
        "--val",
        type=float,
        default=None,
        help="validation fraction (default 0.1; diabetes 0.2)",
    )
    run.add_argument(
        "--patience", type=int, default=None, help="early-stopping patience (diabetes 30)"
    )
    run.add_argument(
        "--restarts", type=positive(int), default=1, help="runs from fresh seeds; best kept"
    )
    run.add_argument(
        "--seed", type=at_least_zero(int), default=0, help="same seed, same run (default 0)"
    )
    out = parser.add_argument_group("output")
    out.add_argument("--plot", default=None, help="curve PNG (default srcad_train_NAME.png)")
    out.add_argument("--no-plot", action="store_true")
    out.add_argument("--save", metavar="FILE.npz", help="save the trained parameters")
    out.add_argument("--log-every", type=int, default=10, help="epochs between lines; 0: none")
    out.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)


def run_train(options: argparse.Namespace) -> int:
    """Load the data, build the model, train, print the final metrics, write the curve."""
    epochs_given = options.epochs is not None
    options = with_defaults(options)
    data = _load(options)
    if not epochs_given:
        options.epochs = default_epochs(options, len(data.x_train))
    model = _model(options, data)
    _check_writable(options, data.name)  # before a long run, not after it
    lr = options.lr if options.lr is not None else (3e-3 if options.opt == "adam" else None)
    optimizer = make_optimizer(options.opt, lr, options.schedule)
    print(_header(data, model, optimizer, options))
    started = time.perf_counter()
    result = fit(model, data.x_train, data.y_train, optimizer=optimizer, **_fit_options(options))
    seconds = time.perf_counter() - started
    for line in summary_lines(model, result, data, seconds):
        print(line)
    if not options.no_plot:
        path = options.plot or f"srcad_train_{data.name}.png"
        result.history.plot(path, title=f"{data.name}: {model!r}")
        print(f"wrote the training curves to {path}")
    if options.save:
        save_params(options.save, result.params, model)
        print(f"saved the parameters (and the model) to {options.save}")
    return 0


def _check_writable(options: argparse.Namespace, name: str) -> None:
    """Refuse an output file (--save, --plot) in a folder that does not exist or is not
    writable, before training: the trained parameters would be lost at the end."""
    given = [("--save", options.save)]
    if not options.no_plot:
        given.append(("--plot", options.plot or f"srcad_train_{name}.png"))
    for option, path in given:
        if path is None:
            continue
        if os.path.isdir(path):
            raise ValueError(f"{option} {path} is a folder; name a file in it")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise ValueError(
                f"{option} {path}: the folder {folder} does not exist or cannot be written; "
                "create it first, or name another file"
            )


def with_defaults(options: argparse.Namespace) -> argparse.Namespace:
    """``options`` with every option not given set to its default for the dataset (a bundled
    dataset's own defaults where it has them)."""
    tuned = DATASET_DEFAULTS.get(options.dataset, {}) if not options.data else {}
    filled = vars(options).copy()
    for name in TUNED:
        if name == "lr" and options.opt != DEFAULTS["opt"]:
            continue  # a rate tuned for Adam; another optimizer keeps its own
        if filled.get(name) is None:
            filled[name] = tuned.get(name, DEFAULTS.get(name))
    return argparse.Namespace(**filled)


def default_epochs(options: argparse.Namespace, n_rows: int) -> int:
    """``options.epochs``, or more when that many epochs of ``n_rows`` examples (less the
    validation part) take fewer than ``MIN_STEPS`` steps."""
    n_train = max(1, n_rows - int(round(n_rows * options.val)))
    steps_per_epoch = -(-n_train // options.batch)
    return max(options.epochs, -(-MIN_STEPS // steps_per_epoch))


def _fit_options(options: argparse.Namespace) -> dict:
    return {
        "epochs": options.epochs,
        "batch_size": options.batch,
        "validation_split": options.val,
        "patience": options.patience,
        "restarts": options.restarts,
        "seed": options.seed,
        "init": options.init,
        "dtype": np.dtype(options.dtype),
        "progress": options.progress,
        "log_every": options.log_every,
    }


def _load(options: argparse.Namespace) -> Dataset:
    if not options.data:
        return load_dataset(options.dataset, standardized=options.standardize)
    data = load_npz(options.data)
    if options.standardize:
        x_train, x_test = standardize(data.x_train, data.x_test)
        data = replace(data, x_train=x_train, x_test=x_test)
    return data


def _model(options: argparse.Namespace, data: Dataset) -> MLP:
    activation = options.act.split(",") if "," in options.act else options.act
    sizes = [data.n_features, *options.hidden, data.n_outputs]
    loss = options.loss or data.loss
    return MLP(sizes, activation, loss, lam=options.l2, checkpoint=options.checkpoint or None)


def _header(data: Dataset, model: MLP, optimizer: object, options: argparse.Namespace) -> str:
    if options.standardize:
        inputs = "inputs standardized with training statistics (--no-standardize: as given)"
    else:
        inputs = scale_hint(data.x_train) or "inputs as given (not standardized)"
    return (
        f"{data.name}: {len(data.x_train)} training and {len(data.x_test)} test examples of "
        f"{data.n_features} features\n{inputs}\n{model!r}, {optimizer!r}\n{options.epochs} "
        f"epochs of batch {options.batch}, validation split {options.val:g}, seed {options.seed}"
        + (f", patience {options.patience}" if options.patience is not None else "")
    )


def summary_lines(model: MLP, result: FitResult, data: Dataset, seconds: float) -> list[str]:
    """The final metrics of a run, one per line."""
    history = result.history
    lines = [f"trained {history.epochs} epochs in {seconds:.1f} s"]
    if history.val_loss:
        best = history.best_epoch
        text = f"best epoch {best + 1}: validation loss {history.val_loss[best]:.4f}"
        if history.val_accuracy[best] is not None:
            text += f", validation accuracy {history.val_accuracy[best]:.1%}"
        lines.append(text + (" (stopped early)" if history.stopped_early else ""))
    test_loss = model.data_loss(result.params, data.x_test, data.y_test)
    lines.append(f"test loss {test_loss:.4f}")
    accuracy = model.accuracy(result.params, data.x_test, data.y_test)
    if accuracy is not None:
        lines.append(f"test accuracy {accuracy:.2%} on {len(data.x_test)} examples")
    elif data.target_scale != 1.0 or data.target_offset != 0.0:
        error = (model.predict(result.params, data.x_test) - data.y_test) * data.target_scale
        spread = (data.y_test - data.y_test.mean()) * data.target_scale
        r2 = 1 - np.sum(error**2) / np.sum(spread**2)
        lines.append(f"test RMSE {np.sqrt(np.mean(error**2)):.2f} (original units), R^2 {r2:.3f}")
    return lines
