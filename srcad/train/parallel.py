"""Synchronous data-parallel minibatch gradients on a Dask cluster, for ``fit(..., client=)``.

The training rows are split once into one shard per worker and sent there (``ShardTrainer``,
a Dask actor: it keeps its shard and its compiled gradient between steps). Each step, the
batch's rows go to the workers that hold them; each returns the loss and gradient of its part,
weighted by its share of the batch, and the client adds them up:

    loss(batch) = sum over workers k of (n_k / n) * loss(part k)

which is exact for the losses ``MLP`` builds (a mean over rows plus a penalty of the weights
alone: the weights n_k / n add up to 1). One optimizer step follows, on the client, so the
run is the one-process run up to the order of summation.
"""

from __future__ import annotations

import numpy as np

from srcad.pytree import flatten, unflatten
from srcad.train.model import MLP


class ShardTrainer:
    """One worker's shard of the training rows and the model's gradient (a Dask actor)."""

    def __init__(self, spec: dict, x: np.ndarray, y: np.ndarray):
        self.model = MLP(**spec)
        self.x = x
        self.y = y

    def value_and_grad(self, params: list | dict, rows: np.ndarray, weight: float) -> tuple:
        """``weight`` times the loss and gradient on the shard's ``rows``."""
        value, grads = self.model.value_and_grad(params, self.x[rows], self.y[rows])
        return value * weight, _scaled(grads, weight)


class ShardedGradient:
    """``(params, rows) -> (loss, gradient)`` of a minibatch, computed by the workers of
    ``client`` on the shards of ``(x, y)`` they hold."""

    def __init__(self, client: object, model: MLP, x: np.ndarray, y: np.ndarray):
        workers = sorted(client.scheduler_info()["workers"])  # type: ignore[attr-defined]
        self.bounds = np.linspace(0, len(x), len(workers) + 1).astype(int)
        self.shards = []
        for k, worker in enumerate(workers):
            start, stop = self.bounds[k], self.bounds[k + 1]
            x_part, y_part = client.scatter([x[start:stop], y[start:stop]], workers=[worker])  # type: ignore[attr-defined]
            future = client.submit(  # type: ignore[attr-defined]
                ShardTrainer, model.spec(), x_part, y_part, workers=[worker], actor=True
            )
            self.shards.append(future.result())

    def __call__(self, params: list | dict, rows: np.ndarray) -> tuple:
        pending = []
        for k, shard in enumerate(self.shards):
            start, stop = self.bounds[k], self.bounds[k + 1]
            local = rows[(rows >= start) & (rows < stop)] - start
            if len(local):
                pending.append(shard.value_and_grad(params, local, len(local) / len(rows)))
        results = [call.result() for call in pending]
        value = sum(v for v, _ in results)
        grads = results[0][1]
        for _, other in results[1:]:
            grads = _added(grads, other)
        return value, grads


def _scaled(grads: object, weight: float) -> object:
    leaves, treedef = flatten(grads)
    return unflatten(treedef, [leaf * weight for leaf in leaves])


def _added(a: object, b: object) -> object:
    leaves, treedef = flatten(a)
    return unflatten(treedef, [x + y for x, y in zip(leaves, flatten(b)[0], strict=True)])
