"""MLP losses as generated Python source.

``make_loss`` writes the loss of a multilayer perceptron as a plain, straight-line Python
function (one line per layer), saves it as a module file and imports it, so that srcad reads
it like any user function and its gradient lands in the generated-code directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Callable

import numpy as np

from srcad.runtime import generated_dir

ACTIVATIONS = {
    "tanh": "np.tanh({z})",
    "sigmoid": "1.0 / (1.0 + np.exp(-{z}))",
    "relu": "np.maximum({z}, 0.0)",
    "softplus": "np.logaddexp(0.0, {z})",
    "linear": "{z}",
}
LOSSES = {
    "softmax_cross_entropy": [
        "shifted = logits - np.max(logits, axis=1, keepdims=True)",
        "log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))",
        "data_loss = -np.mean(np.sum(y * log_p, axis=1))",
    ],
    "mse": ["data_loss = np.mean(np.sum((logits - y) ** 2, axis=1))"],
    "logistic": [
        "data_loss = np.mean(np.sum(np.logaddexp(0.0, logits) - y * logits, axis=1))",
    ],
}


def loss_source(
    n_layers: int, activation: str = "tanh", loss: str = "softmax_cross_entropy"
) -> str:
    """The source of ``loss(params, x, y, lam)`` for an MLP with ``n_layers`` layers."""
    names = [(f"W{i}", f"b{i}") for i in range(1, n_layers + 1)]
    unpack = ", ".join(f"({w}, {b})" for w, b in names)
    lines = [f"{unpack}, = params" if n_layers == 1 else f"{unpack} = params"]
    previous = "x"
    for index, (w, b) in enumerate(names[:-1], start=1):
        z = f"{previous} @ {w} + {b}"
        lines.append(f"h{index} = " + ACTIVATIONS[activation].format(z=f"({z})"))
        previous = f"h{index}"
    w, b = names[-1]
    lines.append(f"logits = {previous} @ {w} + {b}")
    lines += LOSSES[loss]
    penalty = " + ".join(f"np.sum({w} ** 2)" for w, _ in names)
    lines.append(f"return data_loss + lam * ({penalty})")
    body = "\n".join(f"    {line}" for line in lines)
    doc = f'    """{loss} of a {n_layers}-layer {activation} MLP plus lam * L2."""'
    return f"import numpy as np\n\n\ndef loss(params, x, y, lam):\n{doc}\n{body}\n"


def make_loss(
    n_layers: int, activation: str = "tanh", loss: str = "softmax_cross_entropy"
) -> Callable:
    """Write the loss source to a module file, import it and return ``loss``."""
    source = loss_source(n_layers, activation, loss)
    digest = hashlib.sha256(source.encode()).hexdigest()[:10]
    path = generated_dir() / f"mlp_loss_{digest}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != source:
        path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.loss


def init_params(sizes: list[int], seed: int = 0, dtype=np.float64) -> list:
    """Xavier-initialised ``(W, b)`` pairs for layer sizes ``[n_in, ..., n_out]``."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        scale = np.sqrt(2.0 / (n_in + n_out))
        params.append(
            ((rng.normal(size=(n_in, n_out)) * scale).astype(dtype), np.zeros(n_out, dtype))
        )
    return params


def predict(params: list, x: np.ndarray, activation: str = "tanh") -> np.ndarray:
    """The network's output (logits) for inputs ``x``."""
    functions = {
        "tanh": np.tanh,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "relu": lambda z: np.maximum(z, 0),
        "softplus": lambda z: np.logaddexp(0, z),
        "linear": lambda z: z,
    }
    h = x
    for W, b in params[:-1]:
        h = functions[activation](h @ W + b)
    W, b = params[-1]
    return h @ W + b
