"""Options of the transformations as API.md writes them."""

from __future__ import annotations

import numpy as np
import pytest

import srcad


def loss(w):
    return np.sum(np.tanh(w) ** 2)


W = np.array([0.5, -1.0])


def test_the_numpy_backend_is_the_default_and_can_be_named():
    expected = srcad.numerical_grad(loss, W)
    np.testing.assert_allclose(srcad.grad(loss, backend="numpy")(W), expected, rtol=1e-7)
    value, gradient = srcad.value_and_grad(backend="numpy")(loss)(W)
    assert value == pytest.approx(loss(W))
    np.testing.assert_allclose(gradient, expected, rtol=1e-7)


def test_an_unknown_backend_is_a_value_error_that_lists_the_known_ones():
    with pytest.raises(ValueError, match="backend='gpu' is not available.*'numpy'"):
        srcad.grad(loss, backend="gpu")


def test_help_of_grad_says_how_to_call_it():
    assert "argnums" in srcad.grad.__doc__ and "has_aux" in srcad.grad.__doc__
