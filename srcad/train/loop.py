"""The training loop: shuffled minibatches, validation, early stopping, restarts.

``fit(model, x, y, ...)`` trains in place on the parameter arrays and returns a ``FitResult``
with the best parameters and the ``History`` of the run they came from. Each step calls the
gradient srcad generated for the model's loss, records the per-layer gradient norms and hands
the gradient to the optimizer.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np

import srcad
from srcad.train.history import History
from srcad.train.mlp import layers_of
from srcad.train.model import MLP
from srcad.train.optim import Adam, Optimizer, is_real_number, paired_leaves

PROGRESS_DELAY_S = 1.0  # show a progress bar only once the work has lasted this long
TRAIN_ACCURACY_SAMPLE = 1024  # training examples whose accuracy is measured after each epoch


@dataclass
class FitResult:
    """The chosen parameters, their run's history, and the histories of all restarts."""

    params: list | dict
    history: History
    histories: list[History] = field(default_factory=list)


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None


# Per-layer gradient norms are averaged over every NORM_EVERY-th step of an epoch.
NORM_EVERY = 8


def fit(
    model: MLP,
    x: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: Optimizer | None = None,
    params: list | dict | None = None,
    epochs: int = 20,
    batch_size: int = 32,
    validation_split: float = 0.1,
    validation_data: tuple | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    restarts: int = 1,
    seed: int = 0,
    init: str = "auto",
    dtype=np.float64,
    progress: bool | None = None,
    log_every: int = 0,
    client: object | None = None,
    backend: str = "numpy",
) -> FitResult:
    """Train ``model`` on ``(x, y)``; the best of ``restarts`` runs by validation loss.

    ``params`` starts a single run from given parameters (updated in place); otherwise each
    run draws fresh ones with seed ``seed + run``. ``patience`` stops a run after that many
    epochs without a better validation loss (by at least ``min_delta``); with a validation set
    the run ends on the weights of its best epoch. ``progress`` is a rich progress bar: None
    shows it on a terminal once the work lasts a second. ``log_every`` prints a line every so
    many epochs. ``client``, a ``dask.distributed.Client``: each step's batch is split across
    its workers, which hold the training rows (sent once) and return their parts' gradients;
    they are added up and the optimizer steps once (``srcad.train.parallel``), as in one
    process up to the order of summation. ``backend``: what runs the generated gradient of
    the loss, as for ``srcad.value_and_grad`` (``"numba"`` compiles it with numba; what numba
    cannot compile runs on NumPy with a warning), and Adam's step (one compiled loop per
    parameter with ``"numba"``); in this process only.
    """
    _check_settings(optimizer, epochs, batch_size, restarts, patience, validation_split)
    _check_more_settings(min_delta, log_every)
    if params is not None and restarts > 1:
        raise ValueError("restarts draw fresh parameters for each run; do not pass params too")
    if params is not None:
        _check_layers(model, params)
        dtype = layers_of(params)[0][0].dtype
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            f"fit trains in float32 or float64, not {np.dtype(dtype).name}: the optimizers' "
            "small constants (Adam's eps, 1e-8) round to 0 in float16, and its steps become "
            "0 / 0; train in float32 and convert the trained parameters"
        )
    split = _split(model, x, y, validation_split, validation_data, seed, dtype)
    optimizer = optimizer if optimizer is not None else Adam()
    optimizer.backend = backend if client is None else "numpy"
    batch_size = max(1, min(batch_size, len(split.x_train)))
    total_steps = restarts * epochs * (len(split.x_train) // batch_size)
    gradient = _batch_gradient(model, split, client, backend)
    histories, candidates = [], []
    with ProgressBar(total_steps, progress) as bar:
        for run in range(restarts):
            run_params = params if params is not None else model.init(seed + run, init, dtype)
            optimizer.reset()
            settings = (epochs, batch_size, patience, min_delta, log_every)
            history = _train_run(
                model, gradient, run_params, optimizer, split, settings, seed + run, bar
            )
            histories.append(history)
            candidates.append(run_params)
    best = min(range(restarts), key=lambda run: histories[run].best_val_loss)
    return FitResult(candidates[best], histories[best], histories)


def _check_settings(
    optimizer: object,
    epochs: object,
    batch_size: object,
    restarts: object,
    patience: object,
    validation_split: object,
) -> None:
    """Refuse settings ``fit`` cannot train with, saying what it takes."""
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"fit's optimizer is an optimizer object (srcad.train.Adam(lr=1e-3), SGD, "
            f"Momentum, RMSProp, AdaGrad), not {optimizer!r}"
        )
    counts = {"epochs": (epochs, 1), "batch_size": (batch_size, 1), "restarts": (restarts, 1)}
    if patience is not None:
        counts["patience"] = (patience, 1)
    for name, (value, least) in counts.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"fit's {name} must be an int of at least {least}, not {value!r}")
    if not (is_real_number(validation_split) and 0.0 <= validation_split < 1.0):  # type: ignore[operator]
        raise ValueError(
            f"fit's validation_split is the share of rows kept for validation, from 0.0 up to "
            f"(not including) 1.0, not {validation_split!r}"
        )


def _check_more_settings(min_delta: object, log_every: object) -> None:
    """Refuse a negative or NaN ``min_delta`` and a negative ``log_every``."""
    if not (is_real_number(min_delta) and 0.0 <= min_delta < math.inf):  # type: ignore[operator]
        raise ValueError(
            f"fit's min_delta is how much better a validation loss must be to count, a "
            f"number of at least 0, not {min_delta!r}"
        )
    if isinstance(log_every, bool) or not isinstance(log_every, (int, np.integer)) or log_every < 0:
        raise ValueError(
            f"fit's log_every is a number of epochs (0: no lines), an int of at least 0, not "
            f"{log_every!r}"
        )


def _check_layers(model: MLP, params: list | dict) -> None:
    """Refuse parameters not laid out for ``model`` (a 4-9-3 network's for a 4-8-3 one, a
    dict for a model built with ``kind="list"``)."""
    given_kind = "dict" if isinstance(params, dict) else "list"
    if given_kind != model.kind:
        raise ValueError(
            f"fit's params are a {given_kind}, but the model was built with kind="
            f"{model.kind!r}: pass model.init(seed), or build the model with "
            f"kind={given_kind!r}"
        )
    expected = [((m, n), (n,)) for m, n in zip(model.sizes[:-1], model.sizes[1:], strict=True)]
    given = [(np.shape(W), np.shape(b)) for W, b in layers_of(params)]
    if given != expected:
        raise ValueError(
            f"fit's params have layers shaped {given}, but the model's sizes "
            f"{list(model.sizes)} take {expected}: pass model.init(seed) or params of that shape"
        )


def _batch_gradient(model: MLP, split: Split, client: object | None, backend: str):
    """``(params, rows) -> (loss, gradient)`` on those training rows: in this process (the
    model's gradient, or the loss's compiled for ``backend``), or split across the workers
    of a Dask ``client``."""
    x, y = split.x_train, split.y_train
    if backend != "numpy":
        gradient = srcad.value_and_grad(model.loss_fn, backend=backend)  # checks the name
        if client is not None or model.segmented is not None:
            raise ValueError(
                f"backend={backend!r} runs the whole loss's gradient in this process; with "
                "client= or a checkpointed model, train with backend='numpy' (the default)"
            )
        return lambda params, rows: gradient(params, x[rows], y[rows], model.lam)
    if client is not None:
        from srcad.train.parallel import ShardedGradient

        return ShardedGradient(client, model, x, y)
    return lambda params, rows: model.value_and_grad(params, x[rows], y[rows])


def _split(model, x, y, fraction, validation_data, seed, dtype) -> Split:
    """Checked float arrays of ``dtype``; a seeded validation split unless data is given."""
    x, y = (a.astype(dtype, copy=False) for a in model.check_data(x, y, "train"))
    if validation_data is not None:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError(
                "fit's validation_data is a pair (x_val, y_val) of arrays, not "
                f"{type(validation_data).__name__}"
            )
        x_val, y_val = model.check_data(*validation_data, name="val")
        x_val, y_val = (a.astype(dtype, copy=False) for a in (x_val, y_val))
        return _checked_split(Split(x, y, x_val, y_val), fraction)
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {fraction}")
    n_val = round(fraction * len(x))
    if n_val == 0:
        return _checked_split(Split(x, y, None, None), fraction)
    order = np.random.default_rng((seed, 2)).permutation(len(x))
    val, train = order[:n_val], order[n_val:]
    return _checked_split(Split(x[train], y[train], x[val], y[val]), fraction)


def _checked_split(split: Split, fraction: float) -> Split:
    """``split``, refused where it leaves no row to train on."""
    if len(split.x_train) == 0:
        kept = ""
        if split.x_val is not None and fraction:
            kept = f" after validation_split={fraction} kept {len(split.x_val)} for validation"
        raise ValueError(
            f"fit has no training rows{kept}: give more rows, or a smaller validation_split"
        )
    return split


def _train_run(model, gradient, params, optimizer, split, settings, seed, bar) -> History:
    epochs, batch_size, patience, min_delta, log_every = settings
    history = History(seed=seed)
    rng = np.random.default_rng((seed, 1))
    leaves = [p for p, _ in paired_leaves(params, params)]
    best_loss, best_values, waited = math.inf, None, 0
    for epoch in range(epochs):
        optimizer.set_epoch(epoch, epochs)
        started = time.perf_counter()
        loss, norms = _run_epoch(
            model, gradient, params, optimizer, len(split.x_train), batch_size, rng, bar, epoch
        )
        _record(history, model, params, split, loss, norms, optimizer.lr, rng)
        history.seconds.append(time.perf_counter() - started)
        monitored = history.val_loss[-1] if history.val_loss else history.objective[-1]
        if monitored < best_loss - min_delta:
            best_loss, waited, history.best_epoch = monitored, 0, epoch
            if split.x_val is not None:
                best_values = [leaf.copy() for leaf in leaves]
        else:
            waited += 1
        if log_every and (epoch + 1) % log_every == 0:
            print(_epoch_line(history), flush=True)
        bar.describe(f"epoch {epoch + 1}/{epochs}  loss {monitored:.4f}")
        if patience is not None and waited >= patience:
            history.stopped_early = True
            break
    if best_values is not None:  # end on the best epoch's weights, in place
        for leaf, value in zip(leaves, best_values, strict=True):
            leaf[...] = value
    return history


def _run_epoch(model, gradient, params, optimizer, n_rows, batch_size, rng, bar, epoch) -> tuple:
    """Mean minibatch loss and mean per-layer gradient norms over one shuffled epoch."""
    order = rng.permutation(n_rows)
    steps = n_rows // batch_size  # the remainder is left for a later epoch's shuffle
    total = 0.0
    norms = np.zeros(model.n_layers)
    sampled = 0
    for step in range(steps):
        rows = order[step * batch_size : (step + 1) * batch_size]
        value, grads = gradient(params, rows)
        if not math.isfinite(value):
            raise FloatingPointError(
                f"the training loss became {value} at epoch {epoch + 1}, step {step + 1}, with "
                f"learning rate {optimizer.lr:g}: the weights diverged. Lower the learning "
                "rate, or check the inputs' scale (standardise features to unit variance)"
            )
        if step % NORM_EVERY == 0:  # a sample of steps: norms cost a pass over every gradient
            norms += layer_norms(grads)
            sampled += 1
        optimizer.step(params, grads)
        total += float(value)
        bar.advance()
    return total / steps, norms / max(sampled, 1)


def layer_norms(grads: list | dict) -> list[float]:
    """The Euclidean norm of each layer's gradient, W and b together."""
    return [
        math.sqrt(float(np.vdot(dW, dW)) + float(np.vdot(db, db))) for dW, db in layers_of(grads)
    ]


def _record(history, model, params, split, objective, norms, lr, rng) -> None:
    history.objective.append(objective)
    history.grad_norms.append([float(n) for n in norms])
    history.learning_rate.append(lr)
    # Training accuracy on a sample: the whole set would cost another forward pass per epoch.
    count = min(len(split.x_train), TRAIN_ACCURACY_SAMPLE)
    sample = rng.choice(len(split.x_train), count, replace=False)
    loss, accuracy = model.evaluate(params, split.x_train[sample], split.y_train[sample])
    history.train_loss.append(loss)
    history.train_accuracy.append(accuracy)
    if split.x_val is not None:
        val_loss, val_accuracy = model.evaluate(params, split.x_val, split.y_val)
        history.val_loss.append(val_loss)
        history.val_accuracy.append(val_accuracy)


def _epoch_line(history: History) -> str:
    line = f"epoch {history.epochs:4d}  objective {history.objective[-1]:.4f}"
    line += f"  train loss {history.train_loss[-1]:.4f}"
    if history.val_loss:
        line += f"  val loss {history.val_loss[-1]:.4f}"
    if history.val_accuracy and history.val_accuracy[-1] is not None:
        line += f"  val accuracy {history.val_accuracy[-1]:.1%}"
    return line


class ProgressBar:
    """A rich progress bar on a terminal, shown once the work has lasted a second."""

    def __init__(self, total: int, enabled: bool | None = None):
        self.enabled = sys.stdout.isatty() if enabled is None else enabled
        self.total = total
        self.done = 0
        self.started = time.perf_counter()
        self.description = "training"
        self.progress = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.progress is not None:
            self.progress.stop()

    def describe(self, text: str) -> None:
        self.description = text
        if self.progress is not None:
            self.progress.update(self.task, description=text)

    def advance(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.progress is None:
            if time.perf_counter() - self.started < PROGRESS_DELAY_S:
                return
            self._start()
            if self.progress is None:
                return
        self.progress.update(self.task, completed=self.done)

    def _start(self) -> None:
        try:
            from rich.progress import Progress
        except ImportError:
            self.enabled = False
            return
        self.progress = Progress(transient=True)
        self.task = self.progress.add_task(self.description, total=self.total)
        self.progress.start()
