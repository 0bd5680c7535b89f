"""Saving and loading parameters as ``.npz`` files, optionally with the model that uses them.

The arrays are stored as ``W1, b1, W2, b2, ...``. A ``__kind__`` entry remembers whether the
parameters were a list of ``(W, b)`` pairs or a dict, and ``__model__`` (JSON) the model's
spec when one is saved along, so that ``load_model`` can rebuild it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from srcad.train.mlp import kind_of, layers_of, params_like


def save_params(path: str | Path, params: list | dict, model: object = None) -> Path:
    """Write ``params`` (and ``model.spec()``, if a model is given) to ``path``."""
    arrays = {}
    for i, (W, b) in enumerate(layers_of(params), start=1):
        arrays[f"W{i}"], arrays[f"b{i}"] = np.asarray(W), np.asarray(b)
    arrays["__kind__"] = np.array(kind_of(params))
    if model is not None:
        arrays["__model__"] = np.array(json.dumps(model.spec()))
    path = Path(path)
    with path.open("wb") as file:  # an open file keeps numpy from appending ".npz"
        np.savez(file, **arrays)
    return path


def load_params(path: str | Path) -> list | dict:
    """The parameters saved in ``path``, in the form they were saved (list or dict)."""
    with np.load(path, allow_pickle=False) as archive:
        count = sum(1 for name in archive.files if name.startswith("W"))
        missing = [k for i in range(1, count + 1) for k in (f"W{i}", f"b{i}") if k not in archive]
        if count == 0 or missing:
            raise ValueError(
                f"{path} does not hold MLP parameters (expected arrays W1, b1, W2, b2, ...; "
                f"found {archive.files}); write it with srcad.train.save_params"
            )
        layers = [(archive[f"W{i}"], archive[f"b{i}"]) for i in range(1, count + 1)]
        kind = str(archive["__kind__"]) if "__kind__" in archive.files else "list"
    return params_like(kind, layers)


def load_model(path: str | Path) -> tuple[object, list | dict]:
    """The model saved along with the parameters in ``path``, and the parameters."""
    from srcad.train.model import MLP

    with np.load(path, allow_pickle=False) as archive:
        if "__model__" not in archive.files:
            raise ValueError(
                f"{path} holds parameters but no model; save with save_params(path, params, "
                "model), or rebuild the MLP yourself and use load_params"
            )
        spec = json.loads(str(archive["__model__"]))
    return MLP(**spec), load_params(path)
