"""Binary classification: scikit-learn's bundled breast-cancer data, logistic loss.

Logistic regression is the one-layer MLP ``[30, 1]``; a hidden layer makes it a small
network. Both are trained with Nesterov momentum on the numerically stable binary
cross-entropy log(1 + e^z) - y z, and the better of three random restarts is kept.
Writes the curves of the network to ``logistic_cancer.png``.
"""

from __future__ import annotations

import os

from srcad.train import MLP, fit, load_dataset, make_optimizer

QUICK = os.environ.get("SRCAD_EXAMPLE_QUICK") == "1"


def main() -> None:
    data = load_dataset("breast_cancer")
    epochs = 3 if QUICK else 60
    for hidden in ([], [16]):
        model = MLP([data.n_features, *hidden, 1], "tanh", "logistic", lam=1e-3)
        result = fit(
            model,
            data.x_train,
            data.y_train,
            optimizer=make_optimizer("nesterov", 0.02, "step"),
            epochs=epochs,
            batch_size=16,
            restarts=1 if QUICK else 3,
            seed=0,
        )
        accuracy = model.accuracy(result.params, data.x_test, data.y_test)
        loss = model.data_loss(result.params, data.x_test, data.y_test)
        seeds = [h.seed for h in result.histories]
        chosen = f"best of seeds {seeds}: {result.history.seed}"
        print(f"{model!r}: test accuracy {accuracy:.1%}, test loss {loss:.3f} ({chosen})")
    result.history.plot("logistic_cancer.png", title=repr(model))
    print("wrote logistic_cancer.png")


if __name__ == "__main__":
    main()
