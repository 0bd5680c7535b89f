"""Subscripts passed to functions (``np.add.at(dx, (slice(2, None), [0, 2]), g)``) keep
their meaning: ``x[2:]`` is ``slice(2, None)``, never ``slice(2)`` (which means ``x[:2]``
and once gave a silently wrong gradient for ``x[2:, [0, 2]]``)."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

X = np.random.default_rng(0).normal(size=(5, 3))
W = np.random.default_rng(1).normal(size=(5, 2))

READS = {
    "from_2": lambda x: x[2:, [0, 2]],
    "to_2": lambda x: x[:2, [0, 2]],
    "from_1_to_3": lambda x: x[1:3, [0]],
    "every_other": lambda x: x[::2, [1, 2]],
    "from_1_every_other": lambda x: x[1::2, [0, 2]],
    "all_rows": lambda x: x[:, [0, 2]],
    "int_then_slice": lambda x: x[3, 1:, None],
}


@pytest.mark.sampled(2)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("name", READS)
def test_a_mixed_subscript_against_central_differences(name, mode):
    read = READS[name]

    def loss(x):
        part = read(x)
        return np.sum(W[: part.shape[0], : part.shape[-1]].reshape(part.shape[0], -1)[:, :1] * part)

    gradient = srcad.grad(loss, mode=mode)
    np.testing.assert_allclose(gradient(X), srcad.numerical_grad(loss, X), rtol=1e-6, atol=1e-9)
    W[:] = -2.0 * W  # the weights (a global) change in place: read again on the next call
    try:
        np.testing.assert_allclose(gradient(X), srcad.numerical_grad(loss, X), rtol=1e-6, atol=1e-9)
    finally:
        W[:] = -0.5 * W
