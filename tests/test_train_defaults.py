"""``srcad train`` with its defaults: a sensible score on every bundled dataset, inputs
standardized unless asked otherwise (with a hint then), one colour per series in the curves."""

from __future__ import annotations

import re

import numpy as np
import pytest

from srcad.cli import main
from srcad.train import History
from srcad.train.data import load_dataset, scale_hint

# each runs a training with the command's defaults: the full suite runs them, the fast loop not
pytestmark = pytest.mark.slow

# (dataset, what the summary reports, the least it must reach)
SCORES = [
    ("diabetes", "R^2", 0.40),
    ("breast_cancer", "accuracy", 0.95),
    ("iris", "accuracy", 0.90),
    ("wine", "accuracy", 0.95),
    # about 3 s, and tests/test_train.py checks it too: in the full suite only
    pytest.param("digits", "accuracy", 0.97, marks=pytest.mark.slow),
]


def train(arguments: list[str], capsys) -> str:
    assert main(["train", "--no-plot", "--log-every", "0", *arguments]) == 0
    return capsys.readouterr().out


def score(out: str, metric: str) -> float:
    if metric == "R^2":
        return float(re.search(r"R\^2 (-?[0-9.]+)", out)[1])
    return float(re.search(r"test accuracy ([0-9.]+)%", out)[1]) / 100


@pytest.mark.parametrize(("dataset", "metric", "least"), SCORES)
def test_defaults_reach_a_sensible_score(dataset, metric, least, capsys):
    out = train(["--dataset", dataset], capsys)
    assert "inputs standardized" in out
    assert score(out, metric) >= least, out


def test_diabetes_defaults_are_its_own_and_options_still_win(capsys):
    out = train(["--dataset", "diabetes", "--epochs", "3", "--hidden", "4"], capsys)
    assert "10-4-1" in out and "3 epochs of batch 16" in out and "patience 30" in out
    assert "trained 3 epochs" in out


def test_small_data_trains_for_enough_steps(capsys):
    out = train(["--dataset", "iris"], capsys)
    # 120 rows less 12 for validation: 4 batches of 32 an epoch, 250 epochs for 1000 steps
    assert "250 epochs of batch 32" in out
    assert "trained 40 epochs" in train(["--dataset", "iris", "--epochs", "40"], capsys)


def iris_npz(tmp_path) -> str:
    data = load_dataset("iris", standardized=False)
    path = tmp_path / "iris.npz"
    labels = [np.argmax(y, axis=1) for y in (data.y_train, data.y_test)]
    np.savez(path, x_train=data.x_train, y_train=labels[0], x_test=data.x_test, y_test=labels[1])
    return str(path)


def test_an_unscaled_npz_is_standardized_by_default(tmp_path, capsys):
    path = iris_npz(tmp_path)
    standardized = train(["--data", path, "--seed", "1"], capsys)
    assert "hint" not in standardized
    assert score(standardized, "accuracy") >= 0.9
    unscaled = train(["--data", path, "--seed", "1", "--no-standardize"], capsys)
    assert "hint: the input features are not standardized" in unscaled
    assert "drop --no-standardize" in unscaled


def test_scale_hint_only_for_unscaled_features():
    rng = np.random.default_rng(0)
    scaled = rng.normal(size=(200, 3))
    assert scale_hint(scaled) == ""
    assert "differ up to" in scale_hint(scaled * [1.0, 1.0, 100.0])
    assert "standard deviations from 0" in scale_hint(scaled + [0.0, 50.0, 0.0])


def test_bundled_data_can_be_loaded_unstandardized():
    raw = load_dataset("wine", standardized=False)
    scaled = load_dataset("wine")
    assert np.allclose(scaled.x_train.mean(axis=0), 0) and scale_hint(scaled.x_train) == ""
    assert scale_hint(raw.x_train) != ""
    assert np.array_equal(raw.y_test, scaled.y_test)  # the same split either way


def test_each_series_keeps_its_colour_in_every_panel():
    history = History(
        objective=[1.0, 0.5],
        train_loss=[0.9, 0.4],
        train_accuracy=[0.5, 0.8],
        val_loss=[1.0, 0.6],
        val_accuracy=[0.4, 0.7],
        grad_norms=[[1.0, 2.0], [0.5, 1.0]],
        best_epoch=1,
    )
    colours: dict[str, set] = {}
    for axes in history.figure().axes:
        for line in axes.get_lines():
            colours.setdefault(line.get_label(), set()).add(str(line.get_color()))
    assert len(colours["train"]) == 1 and len(colours["validation"]) == 1
    used = colours["train"] | colours["validation"] | colours["objective (with L2)"]
    assert len(used) == 3
    assert not (colours["layer 1"] | colours["layer 2"]) & used
