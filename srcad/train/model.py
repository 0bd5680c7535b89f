"""``MLP``: an architecture (sizes, activations, loss, L2) with its generated loss and gradient.

The model holds no weights: parameters are plain ``(W, b)`` pairs (or a dict) that the caller
owns, as in JAX. ``value_and_grad`` runs the gradient srcad generated from the loss source, or,
with ``checkpoint=``, the segment-by-segment version that recomputes hidden activations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import srcad
from srcad.train.mlp import (
    LOSSES,
    init_params,
    layer_activations,
    load_source_module,
    loss_source,
)
from srcad.train.optim import is_real_number

CLASSIFIER_LOSSES = ("softmax_cross_entropy", "logistic")


class MLP:
    """A multilayer perceptron whose loss and gradient are generated Python source.

    ``sizes`` are the layer widths from input to output, e.g. ``[64, 64, 10]``;
    ``activation`` is one name for every hidden layer (the output stays linear) or a list with
    one name per layer; ``lam`` weighs the L2 penalty ``lam * sum(W ** 2)``; ``kind`` is the
    form of the parameters (``"list"`` of ``(W, b)`` pairs, or ``"dict"``); ``checkpoint``, a
    number of layers per segment (or ``True`` for about sqrt(depth)), recomputes hidden
    activations in the backward pass instead of storing them.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Sequence[str] = "tanh",
        loss: str = "softmax_cross_entropy",
        lam: float = 0.0,
        kind: str = "list",
        checkpoint: int | bool | None = None,
    ):
        if not all(
            isinstance(size, (int, np.integer)) and not isinstance(size, bool) for size in sizes
        ):
            raise ValueError(f"every width in sizes must be an int above 0, got {list(sizes)}")
        self.sizes = tuple(int(size) for size in sizes)
        if len(self.sizes) < 2:
            raise ValueError(f"sizes needs an input and an output width, got {list(sizes)}")
        if min(self.sizes) < 1:
            raise ValueError(f"every width in sizes must be an int above 0, got {list(sizes)}")
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {sorted(LOSSES)}")
        if not (is_real_number(lam) and 0.0 <= lam < float("inf")):  # type: ignore[operator]
            raise ValueError(f"lam, the L2 penalty's weight, must be a number >= 0, not {lam!r}")
        if loss == "softmax_cross_entropy" and self.sizes[-1] < 2:
            raise ValueError(
                "softmax cross-entropy needs 2 or more outputs (one per class); for a single "
                "output use loss='logistic' (two classes) or 'mse' (regression)"
            )
        self.n_layers = len(self.sizes) - 1
        self.activations = layer_activations(self.n_layers, activation)
        self.loss_name = loss
        self.kind = kind
        self._lam = float(lam)
        self._build_loss()
        self.segmented = None
        if not (checkpoint is None or isinstance(checkpoint, bool) or _is_count(checkpoint)):
            raise ValueError(
                "checkpoint is True (segments of about sqrt(layers) layers) or the layers per "
                f"segment, an int of at least 1, not {checkpoint!r}"
            )
        if checkpoint:
            from srcad.train.checkpoint import SegmentedGradient

            per_segment = None if checkpoint is True else int(checkpoint)
            self.segmented = SegmentedGradient(self.activations, loss, per_segment)

    @property
    def lam(self) -> float:
        """The weight of the L2 penalty; set to or from 0, the loss is written again (a
        loss without the penalty term has none to weigh)."""
        return self._lam

    @lam.setter
    def lam(self, value: float) -> None:
        had_penalty = self._lam != 0.0
        self._lam = float(value)
        if (self._lam != 0.0) != had_penalty:
            self._build_loss()

    def _build_loss(self) -> None:
        """The loss, forward and evaluate functions for the penalty there is (or none)."""
        l2 = self._lam != 0.0
        source = loss_source(self.n_layers, self.activations, self.loss_name, self.kind, l2=l2)
        module = load_source_module(source)
        self.loss_fn = module.loss
        self.forward_fn = module.forward
        self.evaluate_fn = module.evaluate
        self.gradient = srcad.value_and_grad(self.loss_fn)

    def __repr__(self) -> str:
        sizes = "-".join(map(str, self.sizes))
        return f"MLP({sizes}, {'/'.join(self.activations)}, {self.loss_name}, lam={self.lam:g})"

    @property
    def is_classifier(self) -> bool:
        return self.loss_name in CLASSIFIER_LOSSES

    def spec(self) -> dict:
        """What it takes to rebuild this model: ``MLP(**model.spec())``."""
        return {
            "sizes": list(self.sizes),
            "activation": list(self.activations),
            "loss": self.loss_name,
            "lam": self.lam,
            "kind": self.kind,
            "checkpoint": self.segmented.per_segment if self.segmented is not None else None,
        }

    def init(self, seed: int = 0, scheme: str = "auto", dtype=np.float64) -> list | dict:
        """Fresh parameters: ``he`` for relu networks and ``xavier`` otherwise under ``auto``."""
        if scheme == "auto":
            scheme = "he" if "relu" in self.activations else "xavier"
        return init_params(self.sizes, seed=seed, dtype=dtype, scheme=scheme, kind=self.kind)

    def value_and_grad(self, params: list | dict, x: np.ndarray, y: np.ndarray) -> tuple:
        """The loss on ``(x, y)`` and its gradient with respect to ``params``."""
        if self.segmented is not None:
            return self.segmented(params, x, y, self.lam)
        return self.gradient(params, x, y, self.lam)

    def loss(self, params: list | dict, x: np.ndarray, y: np.ndarray) -> float:
        """The loss (data term plus penalty) without its gradient."""
        return float(self.loss_fn(params, x, y, self.lam))

    def data_loss(self, params: list | dict, x: np.ndarray, y: np.ndarray) -> float:
        """The loss without the L2 penalty: what validation and test sets report."""
        return self.evaluate(params, x, y)[0]

    def evaluate(self, params: list | dict, x: np.ndarray, y: np.ndarray) -> tuple:
        """``(data loss, accuracy)`` from one forward pass; accuracy is None for ``mse``."""
        data_loss, outputs = self.evaluate_fn(params, x, y)
        accuracy = accuracy_of(self.loss_name, outputs, y) if self.is_classifier else None
        return float(data_loss), accuracy

    def predict(self, params: list | dict, x: np.ndarray) -> np.ndarray:
        """The network's output: logits for the classifier losses, values for ``mse``."""
        if np.ndim(x) != 2 or np.shape(x)[1] != self.sizes[0]:
            raise ValueError(
                f"x has shape {np.shape(x)}, but {self!r} takes rows of {self.sizes[0]} "
                "features: pass an array of shape (examples, features)"
            )
        return self.forward_fn(params, x)

    def accuracy(self, params: list | dict, x: np.ndarray, y: np.ndarray) -> float | None:
        """The fraction classified correctly (None for a regression loss)."""
        if not self.is_classifier:
            return None
        return accuracy_of(self.loss_name, self.predict(params, x), y)

    def gradient_source(self) -> str:
        """The generated value-and-gradient source (after a first call has compiled it)."""
        return srcad.source(self.gradient)

    def check_data(self, x: object, y: object, name: str = "train") -> tuple:
        """``(x, y)`` as float arrays, or a ValueError saying what is wrong and how to fix it."""
        from srcad.train.data import check_pair

        return check_pair(x, y, self, name)


def accuracy_of(loss_name: str, outputs: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of logits ``outputs`` against one-hot or 0/1 targets ``y``."""
    if loss_name == "logistic":
        return float(np.mean((outputs > 0) == (y > 0.5)))
    labels = y if np.ndim(y) == 1 else np.argmax(y, axis=1)  # class numbers, or one-hot rows
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def _is_count(value: object) -> bool:
    """An int of at least 1 (not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1
