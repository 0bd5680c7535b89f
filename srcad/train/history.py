"""``History``: what happened in a training run, epoch by epoch, and its curve as a PNG."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# One colour per series, the same in every panel: "train" is blue in the loss panel and in the
# accuracy panel. Layers' gradient norms take shades of a colour map no other series uses.
SERIES_COLORS = {"objective": "tab:purple", "train": "tab:blue", "validation": "tab:orange"}
BEST_EPOCH_COLOR = "0.6"
LAYER_COLORMAP = "viridis"


@dataclass
class History:
    """Per-epoch metrics of one run. Accuracies are None for a regression loss.

    ``objective`` is the mean over the epoch's minibatches of what was minimised (the L2
    penalty included). ``train_loss`` and ``train_accuracy`` are measured after the epoch on
    a sample of up to 1024 training examples, ``val_loss`` and ``val_accuracy`` on the
    validation set; these losses are data losses, without the penalty, so they compare.

    ``grad_norms[e][k]`` is the mean over epoch ``e``'s steps of the gradient norm of layer
    ``k + 1`` (its W and b together). ``best_epoch`` counts from 0; ``stopped_early`` says
    whether early stopping ended the run.
    """

    objective: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float | None] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    grad_norms: list[list[float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    seed: int = 0

    @property
    def epochs(self) -> int:
        return len(self.objective)

    @property
    def best_val_loss(self) -> float:
        """The validation loss of the best epoch (the objective when there is no validation)."""
        losses = self.val_loss or self.objective
        return losses[self.best_epoch] if losses else float("inf")

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def plot(self, path: str | Path, title: str = "") -> Path:
        """Write loss and accuracy curves (and layer gradient norms) to a PNG at ``path``."""
        path = Path(path)
        self.figure(title).savefig(path, dpi=110)
        return path

    def figure(self, title: str = "") -> Figure:
        """The loss and accuracy curves (and layer gradient norms) as a matplotlib Figure."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        panels = [self._plot_loss, self._plot_accuracy, self._plot_grad_norms]
        if self.train_accuracy and self.train_accuracy[0] is None:
            panels.remove(self._plot_accuracy)
        figure = Figure(figsize=(4.2 * len(panels), 3.6), layout="constrained")
        FigureCanvasAgg(figure)
        for index, draw in enumerate(panels, start=1):
            draw(figure.add_subplot(1, len(panels), index))
        if title:
            figure.suptitle(title)
        return figure

    def _epochs_axis(self) -> np.ndarray:
        return np.arange(1, self.epochs + 1)

    def _mark_best(self, axes) -> None:
        if self.best_epoch >= 0:
            axes.axvline(
                self.best_epoch + 1, color=BEST_EPOCH_COLOR, linestyle=":", label="best epoch"
            )

    def _plot_loss(self, axes) -> None:
        epochs = self._epochs_axis()
        objective = SERIES_COLORS["objective"]
        axes.plot(epochs, self.objective, ":", color=objective, label="objective (with L2)")
        axes.plot(epochs, self.train_loss, color=SERIES_COLORS["train"], label="train")
        if self.val_loss:
            axes.plot(epochs, self.val_loss, color=SERIES_COLORS["validation"], label="validation")
        self._mark_best(axes)
        axes.set(xlabel="epoch", ylabel="loss", yscale="log", title="loss")
        axes.legend()

    def _plot_accuracy(self, axes) -> None:
        epochs = self._epochs_axis()
        axes.plot(epochs, self.train_accuracy, color=SERIES_COLORS["train"], label="train")
        if self.val_accuracy:
            validation = SERIES_COLORS["validation"]
            axes.plot(epochs, self.val_accuracy, color=validation, label="validation")
        self._mark_best(axes)
        axes.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
        axes.legend()

    def _plot_grad_norms(self, axes) -> None:
        from matplotlib import colormaps

        norms = np.array(self.grad_norms)
        n_layers = norms.shape[1] if norms.ndim == 2 else 0
        shades = colormaps[LAYER_COLORMAP](np.linspace(0.0, 0.85, max(n_layers, 1)))
        for layer in range(n_layers):
            axes.plot(
                self._epochs_axis(),
                norms[:, layer],
                color=shades[layer],
                label=f"layer {layer + 1}",
            )
        axes.set(xlabel="epoch", ylabel="mean |gradient|", yscale="log", title="gradient norms")
        axes.legend()
