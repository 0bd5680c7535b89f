"""Gradient checkpointing: recompute hidden activations in the backward pass.

A generated gradient keeps every forward intermediate (and every adjoint) alive until it
returns, so its memory grows with depth times batch size. ``SegmentedGradient`` splits the
network into segments of a few layers. Each segment is its own generated function:

    def segment(params, h, upstream, lam):
        (W1, b1), (W2, b2) = params
        h1 = np.tanh(h @ W1 + b1)
        out = np.tanh(h1 @ W2 + b2)
        return np.sum(out * upstream) + lam * (np.sum(W1 ** 2) + np.sum(W2 ** 2))

whose gradient with respect to ``(params, h)`` is exactly the vector-Jacobian product of the
segment with ``upstream`` (plus the segment's share of the L2 penalty). The forward pass
keeps only the segment boundaries; the backward pass walks the segments from the last,
re-running each one's forward inside its gradient and passing ``dh`` on as the next
``upstream``. Extra cost: one more forward pass. Memory: the boundaries plus one segment.
"""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import srcad
from srcad.train.mlp import (
    layer_lines,
    layers_of,
    load_source_module,
    loss_source,
    module_source,
    params_like,
    penalty_expression,
    unpack_lines,
)


@dataclass(frozen=True)
class Segment:
    """Layers ``start:stop`` with their forward function and generated gradient."""

    start: int
    stop: int
    forward: Callable
    gradient: Callable


def segment_source(activations: Sequence[str], l2: bool = True) -> str:
    """A module with ``segment(params, h, upstream, lam)`` and ``forward(params, h)``."""
    n_layers = len(activations)
    network = unpack_lines(n_layers) + layer_lines(activations, source="h", output="out")
    product = "np.sum(out * upstream)"
    value = f"{product} + {penalty_expression(n_layers)}" if l2 else product
    doc = (
        f"sum(out * upstream) for a {n_layers}-layer segment ({', '.join(activations)}): its "
        "gradient is the segment's vector-Jacobian product."
    )
    return module_source(
        [
            ("segment(params, h, upstream, lam)", doc, [*network, f"return {value}"]),
            ("forward(params, h)", "The segment's output.", [*network, "return out"]),
        ]
    )


class SegmentedGradient:
    """``value_and_grad`` of an MLP loss that stores only segment boundaries."""

    def __init__(self, activations: Sequence[str], loss: str, per_segment: int | None = None):
        n_layers = len(activations)
        per_segment = per_segment or max(1, round(math.sqrt(n_layers)))
        starts = list(range(0, n_layers, per_segment))
        self.activations = tuple(activations)
        self.loss_name = loss
        self.per_segment = per_segment
        self._modules: dict[str, object] = {}
        self._bounds = list(zip(starts, starts[1:] + [n_layers], strict=True))
        self._built: dict[bool, list[Segment]] = {}

    def segments(self, l2: bool) -> list[Segment]:
        """The segments, in order; the last one ends in the loss."""
        if l2 not in self._built:
            self._built[l2] = [self._segment(start, stop, l2) for start, stop in self._bounds]
        return self._built[l2]

    def _segment(self, start: int, stop: int, l2: bool) -> Segment:
        activations = self.activations[start:stop]
        if stop == len(self.activations):
            module = self._module(
                loss_source(stop - start, activations, self.loss_name, "list", l2)
            )
            function = module.loss
        else:
            module = self._module(segment_source(activations, l2))
            function = module.segment
        argnums = 0 if start == 0 else (0, 1)  # no gradient for the network's input
        return Segment(start, stop, module.forward, srcad.value_and_grad(function, argnums=argnums))

    def _module(self, source: str) -> object:
        # Equal segments share one module, hence one compiled gradient.
        if source not in self._modules:
            self._modules[source] = load_source_module(source, "mlp_segment")
        return self._modules[source]

    def __call__(self, params: list | dict, x: np.ndarray, y: np.ndarray, lam: float) -> tuple:
        layers = layers_of(params)
        segments = self.segments(lam != 0.0)
        boundaries = [x]  # the input of every segment; nothing else is kept
        for segment in segments[:-1]:
            boundaries.append(segment.forward(layers[segment.start : segment.stop], boundaries[-1]))
        tail = segments[-1]
        value, grads, upstream = self._backward(tail, layers, boundaries.pop(), y, lam)
        for segment in reversed(segments[:-1]):
            _, segment_grads, upstream = self._backward(
                segment, layers, boundaries.pop(), upstream, lam
            )
            grads = segment_grads + grads
        value += lam * sum(float(np.sum(W**2)) for W, _ in layers[: tail.start])
        return value, params_like("dict" if isinstance(params, dict) else "list", grads)

    @staticmethod
    def _backward(segment: Segment, layers: list, h: np.ndarray, upstream, lam: float) -> tuple:
        """Recompute the segment from its input ``h``; its value, parameter grads and dh."""
        value, gradient = segment.gradient(layers[segment.start : segment.stop], h, upstream, lam)
        if segment.start == 0:
            return value, list(gradient), None
        return value, list(gradient[0]), gradient[1]


def peak_memory(function: Callable, *args: object) -> tuple[object, int]:
    """``function(*args)`` and the most bytes it held at once beyond what it started with.

    Measured with tracemalloc, which sees NumPy's array buffers as well as Python objects.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    result = function(*args)
    _, peak = tracemalloc.get_traced_memory()
    if not was_tracing:
        tracemalloc.stop()
    return result, peak - start
