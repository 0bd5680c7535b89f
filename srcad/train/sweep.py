"""Independent trainings (seeds, restarts, learning rates, widths) as Dask tasks: ``sweep``.

Each run is ``fit`` with some options changed (and, optionally, the model): one task per run
on the workers of a ``dask.distributed.Client`` (the training data sent to the cluster once),
or one after another in this process without a client. The result keeps every run's history
and picks the best run by validation loss (``History.best_val_loss``).

    runs = [{"seed": s, "optimizer": make_optimizer("adam", lr)} for s in (0, 1) for lr in (1e-3, 3e-3)]
    result = sweep(MLP([64, 32, 10]), x, y, runs, client=client, epochs=10)
    result.best, result.model, result.params, result.histories
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from srcad.train.history import History
from srcad.train.loop import FitResult, fit
from srcad.train.model import MLP


@dataclass
class SweepResult:
    """Every run's options and ``FitResult``, and which run is best by validation loss."""

    runs: list[dict]
    results: list[FitResult]
    specs: list[dict]
    best: int

    @property
    def histories(self) -> list[History]:
        return [result.history for result in self.results]

    @property
    def params(self) -> list | dict:
        """The best run's parameters."""
        return self.results[self.best].params

    @property
    def model(self) -> MLP:
        """The best run's model (its architecture; its weights are ``params``)."""
        return MLP(**self.specs[self.best])


def sweep(
    model: MLP,
    x: np.ndarray,
    y: np.ndarray,
    runs: Sequence[dict],
    *,
    client: object | None = None,
    **fit_options: object,
) -> SweepResult:
    """Train once per entry of ``runs`` and pick the best by validation loss.

    Each entry holds ``fit`` options for that run (``seed``, ``optimizer``, ``epochs``, ...)
    over ``fit_options``, and may hold ``"model"``: an ``MLP`` or a dict of ``MLP`` arguments
    changing ``model``'s (``{"sizes": [64, 128, 10]}``). With ``client`` each run is a task
    on its cluster; without, the runs go one after another here.
    """
    if not runs:
        raise ValueError("runs is empty: give one dict of fit options per training")
    specs, options = [], []
    for run in runs:
        settings = {**fit_options, **run, "progress": False}
        changed = settings.pop("model", None)
        if isinstance(changed, MLP):
            specs.append(changed.spec())
        else:
            specs.append({**model.spec(), **(changed or {})})
        options.append(settings)
    if client is None:
        results = [
            _fit_run(spec, x, y, settings) for spec, settings in zip(specs, options, strict=True)
        ]
    else:
        data = client.scatter([x, y])  # type: ignore[attr-defined]
        futures = [
            client.submit(_fit_run, spec, *data, settings, pure=False)  # type: ignore[attr-defined]
            for spec, settings in zip(specs, options, strict=True)
        ]
        results = client.gather(futures)  # type: ignore[attr-defined]
    best = min(range(len(results)), key=lambda k: results[k].history.best_val_loss)
    return SweepResult([dict(run) for run in runs], list(results), specs, best)


def _fit_run(spec: dict, x: np.ndarray, y: np.ndarray, options: dict) -> FitResult:
    """One training, as a task: the model rebuilt from its spec where the task runs."""
    return fit(MLP(**spec), x, y, **options)
