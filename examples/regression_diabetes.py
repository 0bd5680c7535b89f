"""Regression with an MLP: scikit-learn's bundled diabetes data, mean squared error.

Ten standardised features predict disease progression one year on. A small softplus network
trained with Adam and early stopping (which restores the best epoch's weights) is compared
with ordinary least squares: on so little data the two end up close. Writes the curves to ``regression_diabetes.png``.
"""

from __future__ import annotations

import os

import numpy as np

from srcad.train import MLP, fit, load_dataset, make_optimizer

QUICK = os.environ.get("SRCAD_EXAMPLE_QUICK") == "1"


def rmse_and_r2(predicted: np.ndarray, data) -> tuple[float, float]:
    """Root mean squared error in the original units, and the coefficient of determination."""
    error = (predicted - data.y_test) * data.target_scale
    spread = (data.y_test - data.y_test.mean()) * data.target_scale
    return float(np.sqrt(np.mean(error**2))), float(1 - np.sum(error**2) / np.sum(spread**2))


def main() -> None:
    data = load_dataset("diabetes")
    model = MLP([data.n_features, 16, 1], "softplus", "mse", lam=1e-2)
    result = fit(
        model,
        data.x_train,
        data.y_train,
        optimizer=make_optimizer("adam", 1e-3),
        epochs=5 if QUICK else 300,
        batch_size=16,
        validation_split=0.2,
        patience=30,
        seed=0,
    )
    history = result.history
    stopped = "stopped early" if history.stopped_early else "ran every epoch"
    print(f"{model!r}: {history.epochs} epochs ({stopped}); best epoch {history.best_epoch + 1}")

    design = np.column_stack([data.x_train, np.ones(len(data.x_train))])
    coefficients = np.linalg.lstsq(design, data.y_train, rcond=None)[0]
    linear = np.column_stack([data.x_test, np.ones(len(data.x_test))]) @ coefficients
    for name, predicted in [
        ("least squares", linear),
        ("MLP", model.predict(result.params, data.x_test)),
    ]:
        rmse, r2 = rmse_and_r2(predicted, data)
        print(f"{name:<14} test RMSE {rmse:6.2f}   R^2 {r2:.3f}")
    history.plot("regression_diabetes.png", title=repr(model))
    print("wrote regression_diabetes.png")


if __name__ == "__main__":
    main()
