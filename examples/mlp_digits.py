"""Train an MLP on scikit-learn's bundled handwritten digits with ``srcad.train``.

The loss is written as Python source (one line per layer), srcad generates its gradient, and
Adam with a cosine schedule trains the network. The script prints the first lines of the
generated gradient, the test accuracy and a few mistakes, saves the parameters as ``.npz``,
loads them back, and writes the training curves to ``mlp_digits.png``.
"""

from __future__ import annotations

import os

import numpy as np

from srcad.train import MLP, fit, load_dataset, load_model, make_optimizer, save_params

QUICK = os.environ.get("SRCAD_EXAMPLE_QUICK") == "1"


def main() -> None:
    data = load_dataset("digits")
    model = MLP([data.n_features, 128, data.n_outputs], "relu", data.loss, lam=1e-3)
    print(f"{model!r}: its loss is plain Python, {model.loss_fn.__code__.co_filename}")
    result = fit(
        model,
        data.x_train,
        data.y_train,
        optimizer=make_optimizer("adam", 3e-3, "cosine"),
        epochs=3 if QUICK else 40,
        batch_size=32,
        seed=0,
        log_every=1 if QUICK else 10,
    )
    print("\nthe first lines of the generated gradient:")
    print("\n".join(model.gradient_source().splitlines()[:16]))

    accuracy = model.accuracy(result.params, data.x_test, data.y_test)
    print(f"\ntest accuracy {accuracy:.2%} on {len(data.x_test)} digits")
    predicted = np.argmax(model.predict(result.params, data.x_test), axis=1)
    actual = np.argmax(data.y_test, axis=1)
    wrong = np.flatnonzero(predicted != actual)[:8]
    mistakes = ", ".join(f"{actual[i]}->{predicted[i]}" for i in wrong)
    print(f"some mistakes (actual -> predicted): {mistakes}")

    path = save_params("mlp_digits.npz", result.params, model)
    again, params = load_model(path)
    assert np.array_equal(
        again.predict(params, data.x_test), model.predict(result.params, data.x_test)
    )
    print(f"saved and reloaded {path}")
    result.history.plot("mlp_digits.png", title=repr(model))
    print("wrote mlp_digits.png")


if __name__ == "__main__":
    main()
