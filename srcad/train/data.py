"""Datasets for training, all offline, and the checks that guard a model against bad data.

``load_dataset("digits" | "diabetes" | "breast_cancer" | "iris" | "wine")`` uses the copies
that scikit-learn ships; ``load_npz(path)`` reads ``x_train, y_train, x_test, y_test`` arrays
from a file. The test split of the bundled sets is fixed (seed 0, stratified: by class, or
for regression by target quintile, so both sides see the same range of targets), so results
with different training seeds are measured on the same examples. ``standardize`` z-scores
features with training statistics; ``scale_hint`` says when unscaled features need it.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LOSS_OF = {
    "digits": "softmax_cross_entropy",
    "diabetes": "mse",
    "breast_cancer": "logistic",
    "iris": "softmax_cross_entropy",
    "wine": "softmax_cross_entropy",
}
DATASETS = tuple(LOSS_OF)
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
SAVE_NPZ = (
    "Save the data with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...), "
    "each an array of numbers"
)


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays, the loss that suits them, and how targets were scaled."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    loss: str
    # Regression targets are standardised; original units are y * target_scale + target_offset.
    target_offset: float = 0.0
    target_scale: float = 1.0

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.y_train.shape[1]


def load_dataset(name: str = "digits", standardized: bool = True) -> Dataset:
    """One of scikit-learn's bundled datasets, split 80/20, features standardised unless
    ``standardized=False``."""
    if name not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}, "
            "or pass your own arrays with --data FILE.npz"
        )
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    bunch = getattr(datasets, f"load_{name}")()
    x_train, x_test, t_train, t_test = train_test_split(
        bunch.data, bunch.target, test_size=0.2, random_state=0, stratify=_strata(bunch.target)
    )
    if standardized:
        x_train, x_test = standardize(x_train, x_test)
    loss = LOSS_OF[name]
    if loss == "softmax_cross_entropy":  # class labels 0 .. k-1 become one-hot rows
        n_classes = int(bunch.target.max()) + 1
        y_train, y_test = one_hot(t_train, n_classes), one_hot(t_test, n_classes)
        return Dataset(name, x_train, y_train, x_test, y_test, loss)
    if loss == "logistic":  # 0/1 labels as a column
        y_train, y_test = t_train[:, None] * 1.0, t_test[:, None] * 1.0
        return Dataset(name, x_train, y_train, x_test, y_test, loss)
    offset, scale = float(np.mean(t_train)), float(np.std(t_train))
    y_train, y_test = (t_train[:, None] - offset) / scale, (t_test[:, None] - offset) / scale
    return Dataset(name, x_train, y_train, x_test, y_test, loss, offset, scale)


def _strata(target: np.ndarray) -> np.ndarray:
    """What the split keeps in proportion: the class, or for float targets the quintile."""
    if np.issubdtype(target.dtype, np.integer):
        return target
    return np.digitize(target, np.quantile(target, [0.2, 0.4, 0.6, 0.8]))


def standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero mean and unit variance per feature, with statistics from the training set only
    (a NaN among the inputs is reported where it is, before the mean spreads it)."""
    _check_finite(x_train, "x_train")
    _check_finite(x_test, "x_test")
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    return (x_train - mean) / std, (x_test - mean) / std


def scale_hint(x_train: np.ndarray) -> str:
    """A hint to standardise when the features' scales differ by more than 10x or a mean lies
    more than 3 standard deviations from 0; empty otherwise."""
    std = x_train.std(axis=0)
    varying = std[std > 0]
    if varying.size == 0:
        return ""
    spread = float(varying.max() / varying.min())
    offset = float(np.max(np.abs(x_train.mean(axis=0)[std > 0]) / varying))
    if spread <= 10 and offset <= 3:
        return ""
    return (
        f"hint: the input features are not standardized (their standard deviations differ "
        f"up to {spread:.3g}x, a mean lies {offset:.3g} standard deviations from 0); "
        "gradient descent on such inputs is slow or stalls: drop --no-standardize"
    )


def one_hot(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Rows of the identity for class labels ``0 .. n_classes - 1``."""
    labels = np.asarray(labels, dtype=int)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"class labels must be 0 .. {n_classes - 1}, got values from {labels.min()} to "
            f"{labels.max()}; renumber them (np.unique(y, return_inverse=True) does)"
        )
    return np.eye(n_classes)[labels]


def load_npz(path: str | Path) -> Dataset:
    """A dataset from a ``.npz`` file holding ``x_train, y_train, x_test, y_test``.

    Inputs are flattened to one row per example (28x28 images become 784 columns). Integer
    labels in a 1-D ``y`` become one-hot rows for softmax cross-entropy; float targets are
    regressed with the mean squared error.
    """
    with _open_npz(path) as archive:
        missing = [key for key in NPZ_KEYS if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path} lacks {', '.join(missing)}; it holds {archive.files or 'no arrays'}. "
                f"{SAVE_NPZ}"
            )
        x_train, y_train, x_test, y_test = (_numbers(archive, key, path) for key in NPZ_KEYS)
    if len(x_train) == 0 or len(x_test) == 0:
        raise ValueError(f"{path}: x_train and x_test need at least one example each")
    x_train, x_test = (np.reshape(x, (len(x), -1)) for x in (x_train, x_test))
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(
            f"{path}: x_train has {x_train.shape[1]} features per example but x_test has "
            f"{x_test.shape[1]}; both must describe examples the same way"
        )
    if y_train.ndim == 1 and np.issubdtype(y_train.dtype, np.integer):
        n_classes = int(max(y_train.max(), y_test.max())) + 1
        y_train, y_test = one_hot(y_train, n_classes), one_hot(y_test, n_classes)
        loss = "softmax_cross_entropy"
    else:
        y_train, y_test = (np.reshape(y, (len(y), -1)) for y in (y_train, y_test))
        loss = "mse"
    return Dataset(Path(path).stem, x_train, y_train, x_test, y_test, loss)


def _open_npz(path: str | Path) -> np.lib.npyio.NpzFile:
    """The arrays of an ``.npz`` file; a ValueError for any other file (never loaded as a
    pickle)."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile):  # not NumPy's: NumPy guessed a pickle
        archive = None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not an .npz file of arrays (np.savez writes one). {SAVE_NPZ}")
    return archive


def _numbers(archive: np.lib.npyio.NpzFile, key: str, path: str | Path) -> np.ndarray:
    """The array ``key`` of ``archive``, if it holds numbers."""
    try:
        array = archive[key]
    except ValueError:  # an array of Python objects: loading it would unpickle them
        array = np.array([], dtype=object)
    if array.dtype.kind not in "fiub":
        raise ValueError(
            f"{path}: {key} has dtype {array.dtype}; {', '.join(NPZ_KEYS)} must be arrays of "
            f"numbers (floats, or integer class labels for y): convert it with "
            f"np.asarray({key}, dtype=float) before np.savez"
        )
    return array


def check_pair(x: object, y: object, model: object, name: str = "train") -> tuple:
    """``(x, y)`` as float arrays fit for ``model``; a ValueError that says how to fix them."""
    x = _float_array(x, f"x_{name}")
    y = _float_array(y, f"y_{name}")
    n_in, n_out = model.sizes[0], model.sizes[-1]
    if x.ndim != 2 or x.shape[1] != n_in:
        raise ValueError(
            f"x_{name} has shape {x.shape}, but the model takes rows of {n_in} features "
            f"(its first layer size), i.e. shape (n_samples, {n_in}). Reshape the inputs with "
            f"x.reshape(len(x), -1), or build the model with {n_in} replaced by "
            f"{x.shape[-1] if x.ndim else 'the feature count'}"
        )
    if y.ndim != 2 or y.shape[1] != n_out:
        raise ValueError(_target_message(y, name, n_out, model.loss_name, len(x)))
    if len(x) != len(y):
        raise ValueError(
            f"x_{name} has {len(x)} rows but y_{name} has {len(y)}; they must pair up row "
            "by row (one target per example)"
        )
    _check_finite(x, f"x_{name}")
    _check_finite(y, f"y_{name}")
    return x, y


def _float_array(values: object, label: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "fiub":
        raise ValueError(
            f"{label} has dtype {array.dtype}; pass numbers, e.g. "
            f"np.asarray({label}, dtype=float)"
        )
    return array if array.dtype.kind == "f" else array.astype(float)


def _target_message(y: np.ndarray, name: str, n_out: int, loss: str, n_rows: int) -> str:
    message = (
        f"y_{name} has shape {y.shape}, but the model has {n_out} output(s), so the "
        f"{loss} loss needs targets of shape ({n_rows}, {n_out})"
    )
    if y.ndim == 1 and loss == "softmax_cross_entropy":
        return message + f"; turn class labels into one-hot rows with np.eye({n_out})[y_{name}]"
    if y.ndim == 1:
        return message + f"; make it a column with y_{name}.reshape(-1, 1)"
    return message + f"; or build the model with an output layer of {y.shape[-1]}"


def _check_finite(array: np.ndarray, label: str) -> None:
    if np.isfinite(np.vdot(array, array)):
        return  # a sum of squares is finite when every value is (one pass, no mask array)
    bad = ~np.isfinite(array)
    if not bad.any():
        return  # the squares overflowed: large values, all finite
    count = int(bad.sum())
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    what = "NaN" if np.isnan(array[first]) else "infinite"
    raise ValueError(
        f"{label} contains {count} non-finite value(s) (the first, {what}, at index {first}); "
        "one is enough to turn every weight into NaN. Drop those rows or fill them in "
        "(e.g. np.nan_to_num, or the column mean) before training"
    )
