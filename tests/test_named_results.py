"""NumPy's named results keep their field names inside differentiated code."""

from __future__ import annotations

import numpy as np
import pytest

import srcad


def log_volume(a):
    result = np.linalg.slogdet(a)
    return result.logabsdet * result.sign


def unpacked(a):
    sign, logdet = np.linalg.slogdet(a)
    return logdet * sign


A = np.array([[2.0, 0.3], [0.1, 1.5]])


@pytest.mark.parametrize("function", [log_volume, unpacked])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_slogdet_fields_by_name_and_by_position(function, mode):
    got = srcad.grad(function, mode=mode)(A)
    np.testing.assert_allclose(got, srcad.numerical_grad(function, A), rtol=1e-7)


SCALE = np.eye(2)


def scaled_log_volume(a):
    return np.linalg.slogdet(a + SCALE).logabsdet  # the gradient depends on SCALE


def test_a_global_changed_between_calls_is_read_again():
    global SCALE
    gradient = srcad.grad(scaled_log_volume)
    for scale in (np.eye(2), np.array([[1.0, 0.5], [0.0, 2.0]])):
        SCALE = scale
        expected = srcad.numerical_grad(scaled_log_volume, A)
        np.testing.assert_allclose(gradient(A), expected, rtol=1e-7)
    SCALE = np.eye(2)
