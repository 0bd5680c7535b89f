"""MLP losses as generated Python source.

An MLP is described by its layer sizes, one activation per layer and a loss. ``loss_source``
writes its loss as a plain, straight-line Python function (one line per layer); ``make_loss``
saves it as a module file (in the temporary directory, named after its content) and imports
it, so that srcad reads it like any user function. The same module holds
``forward(params, x)``, the network's output, and ``evaluate(params, x, y)``, the data loss
and the output from one forward pass, so that predictions and metrics use exactly the
expressions that were differentiated.

Parameters are a list of ``(W, b)`` pairs, or a dict ``{"W1": ..., "b1": ..., ...}``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np

ACTIVATIONS = {
    "tanh": "np.tanh({z})",
    # The tanh form of the logistic function never overflows, unlike 1 / (1 + exp(-z)).
    "sigmoid": "0.5 + 0.5 * np.tanh(0.5 * ({z}))",
    "relu": "np.maximum({z}, 0.0)",
    "softplus": "np.logaddexp(0.0, {z})",
    "linear": "{z}",
}
LOSSES = {
    # log-softmax shifted by the row maximum, so that exp never overflows; the shift does not
    # change the loss, so no gradient needs to flow through it (stop_gradient, as JAX does).
    "softmax_cross_entropy": [
        "shifted = logits - stop_gradient(np.max(logits, axis=1, keepdims=True))",
        "log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))",
        # the mean over rows of -sum(y * log_p), as one dot product
        "data_loss = -np.vdot(y, log_p) / y.shape[0]",
    ],
    "mse": ["data_loss = np.mean(np.sum((logits - y) ** 2, axis=1))"],
    # binary cross-entropy on logits: log(1 + e^z) - y z, stable for large |z|.
    "logistic": [
        "data_loss = np.mean(np.sum(np.logaddexp(0.0, logits) - y * logits, axis=1))",
    ],
}
INITS = ("auto", "xavier", "he")


def layer_activations(n_layers: int, activation: str | Sequence[str]) -> tuple[str, ...]:
    """One activation per layer: a name for every hidden layer (output linear), or a list."""
    if isinstance(activation, str):
        names = (activation,) * (n_layers - 1) + ("linear",)
    else:
        names = tuple(activation)
        if len(names) == n_layers - 1:
            names += ("linear",)
    if len(names) != n_layers:
        raise ValueError(
            f"got {len(names)} activations for {n_layers} layers; give one per hidden layer "
            f"({n_layers - 1}) or one per layer including the output ({n_layers})"
        )
    for name in names:
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}")
    return names


def unpack_lines(n_layers: int, kind: str = "list") -> list[str]:
    """Source lines that bind ``W1, b1, ...`` from ``params``."""
    if kind == "dict":
        return [f'{name}{i} = params["{name}{i}"]' for i in range(1, n_layers + 1) for name in "Wb"]
    if kind != "list":
        raise ValueError(f"params kind must be 'list' or 'dict', not {kind!r}")
    pairs = ", ".join(f"(W{i}, b{i})" for i in range(1, n_layers + 1))
    return [f"{pairs}, = params" if n_layers == 1 else f"{pairs} = params"]


def layer_lines(activations: Sequence[str], source: str = "x", output: str = "logits") -> list:
    """One line per layer, from the input variable ``source`` to ``output``."""
    lines = []
    previous = source
    for i, activation in enumerate(activations, start=1):
        name = output if i == len(activations) else f"h{i}"
        z = f"{previous} @ W{i} + b{i}"
        lines.append(f"{name} = " + ACTIVATIONS[activation].format(z=z))
        previous = name
    return lines


def penalty_expression(n_layers: int) -> str:
    """``lam * (np.vdot(W1, W1) + ...)``: the L2 penalty on the weights (not the biases);
    ``vdot`` reads each weight once, where ``np.sum(W ** 2)`` first builds ``W ** 2``."""
    return "lam * (" + " + ".join(f"np.vdot(W{i}, W{i})" for i in range(1, n_layers + 1)) + ")"


def loss_source(
    n_layers: int,
    activation: str | Sequence[str] = "tanh",
    loss: str = "softmax_cross_entropy",
    kind: str = "list",
    l2: bool = True,
) -> str:
    """A module with ``loss(params, x, y, lam)``, ``forward(params, x)`` and ``evaluate``."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose from {sorted(LOSSES)}")
    activations = layer_activations(n_layers, activation)
    network = unpack_lines(n_layers, kind) + layer_lines(activations)
    tail = f"data_loss + {penalty_expression(n_layers)}" if l2 else "data_loss"
    described = ", ".join(activations)
    penalty = " plus lam * L2" if l2 else ""
    loss_doc = f"{loss} of a {n_layers}-layer MLP ({described}){penalty}."
    forward_doc = "The network's output (logits) for inputs x."
    evaluate_doc = "The data loss (no penalty) and the output, from one forward pass."
    return module_source(
        [
            ("loss(params, x, y, lam)", loss_doc, [*network, *LOSSES[loss], f"return {tail}"]),
            ("forward(params, x)", forward_doc, [*network, "return logits"]),
            (
                "evaluate(params, x, y)",
                evaluate_doc,
                [*network, *LOSSES[loss], "return data_loss, logits"],
            ),
        ]
    )


def module_source(functions: list[tuple[str, str, list[str]]]) -> str:
    """A module of functions, each given as ``(signature, docstring, body lines)``."""
    parts = ["import numpy as np\n\nfrom srcad import stop_gradient\n"]
    for signature, doc, lines in functions:
        body = "\n".join(f"    {line}" for line in [f'"""{doc}"""', *lines])
        parts.append(f"\ndef {signature}:\n{body}\n")
    return "\n".join(parts)


def load_source_module(source: str, stem: str = "mlp_loss") -> ModuleType:
    """Write ``source`` to a file named after its content (the same file in every process,
    so srcad's disk cache finds its compiles again) and import it."""
    import black

    source = black.format_str(source, mode=black.Mode(line_length=100))
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / "srcad-mlp" / f"{stem}_{digest}.py"
    if not path.exists() or path.read_text() != source:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(source)
        partial.replace(path)  # atomic: another process never reads half a file
    spec = importlib.util.spec_from_file_location(f"srcad_mlp.{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_loss(
    n_layers: int,
    activation: str | Sequence[str] = "tanh",
    loss: str = "softmax_cross_entropy",
    kind: str = "list",
    l2: bool = True,
) -> Callable:
    """Write the loss source to a module file, import it and return ``loss``."""
    return load_source_module(loss_source(n_layers, activation, loss, kind, l2)).loss


def init_params(
    sizes: Sequence[int],
    seed: int = 0,
    dtype=np.float64,
    scheme: str = "xavier",
    kind: str = "list",
) -> list | dict:
    """Random weights and zero biases for layer sizes ``[n_in, ..., n_out]``.

    ``xavier`` (Glorot) draws W with variance 2 / (fan_in + fan_out), which keeps tanh and
    sigmoid layers in their linear range; ``he`` uses 2 / fan_in, which suits relu.
    """
    if scheme not in ("xavier", "he"):
        raise ValueError(f"unknown init scheme {scheme!r}; choose 'xavier' or 'he'")
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        variance = 2.0 / (n_in + n_out) if scheme == "xavier" else 2.0 / n_in
        W = (rng.standard_normal((n_in, n_out)) * np.sqrt(variance)).astype(dtype)
        layers.append((W, np.zeros(n_out, dtype)))
    return params_like(kind, layers)


def params_like(kind: str, layers: Sequence[tuple]) -> list | dict:
    """``(W, b)`` pairs as a list of pairs (``kind="list"``) or a ``{"W1": ...}`` dict."""
    if kind == "dict":
        named = {}
        for i, (W, b) in enumerate(layers, start=1):
            named[f"W{i}"], named[f"b{i}"] = W, b
        return named
    return [(W, b) for W, b in layers]


def layers_of(params: list | tuple | dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``(W, b)`` pairs of ``params``, whichever form it has."""
    if isinstance(params, dict):
        count = len(params) // 2
        missing = [k for i in range(1, count + 1) for k in (f"W{i}", f"b{i}") if k not in params]
        if missing or len(params) % 2:
            raise ValueError(f"a params dict needs keys W1, b1, ..., Wn, bn; got {sorted(params)}")
        return [(params[f"W{i}"], params[f"b{i}"]) for i in range(1, count + 1)]
    return [(W, b) for W, b in params]


def kind_of(params: list | tuple | dict) -> str:
    return "dict" if isinstance(params, dict) else "list"


def predict(
    params: list | dict, x: np.ndarray, activation: str | Sequence[str] = "tanh"
) -> np.ndarray:
    """The network's output (logits) for inputs ``x``."""
    layers = layers_of(params)
    h = x
    for (W, b), name in zip(layers, layer_activations(len(layers), activation), strict=True):
        h = ACTIVATION_FUNCTIONS[name](h @ W + b)
    return h


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * z)


ACTIVATION_FUNCTIONS = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda z: np.maximum(z, 0.0),
    "softplus": lambda z: np.logaddexp(0.0, z),
    "linear": lambda z: z,
}
