"""Training helper: MLP losses written as Python source, differentiated by srcad.

    from srcad.train import MLP, fit, load_dataset, make_optimizer

    data = load_dataset("digits")
    model = MLP([64, 64, 10], activation="tanh", loss="softmax_cross_entropy", lam=1e-4)
    result = fit(model, data.x_train, data.y_train, optimizer=make_optimizer("adam", 3e-3))
    print(model.accuracy(result.params, data.x_test, data.y_test))

Uses only the public API of srcad (``srcad.value_and_grad``, ``srcad.source``).
"""

from __future__ import annotations

from srcad.train.checkpoint import SegmentedGradient, peak_memory
from srcad.train.data import Dataset, load_dataset, load_npz
from srcad.train.history import History
from srcad.train.loop import FitResult, fit, layer_norms
from srcad.train.mlp import init_params, loss_source, make_loss, predict
from srcad.train.model import MLP
from srcad.train.optim import (
    SGD,
    Adadelta,
    AdaGrad,
    Adam,
    Constant,
    Cosine,
    Momentum,
    Optimizer,
    RMSProp,
    StepDecay,
    make_optimizer,
)
from srcad.train.store import load_model, load_params, save_params
from srcad.train.sweep import SweepResult, sweep

__all__ = [
    "MLP",
    "SGD",
    "AdaGrad",
    "Adadelta",
    "Adam",
    "Constant",
    "Cosine",
    "Dataset",
    "FitResult",
    "History",
    "Momentum",
    "Optimizer",
    "RMSProp",
    "SegmentedGradient",
    "StepDecay",
    "SweepResult",
    "fit",
    "init_params",
    "layer_norms",
    "load_dataset",
    "load_model",
    "load_npz",
    "load_params",
    "loss_source",
    "make_loss",
    "make_optimizer",
    "peak_memory",
    "predict",
    "save_params",
    "sweep",
]
