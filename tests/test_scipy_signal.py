"""``scipy.signal``'s convolutions (``convolve``, ``correlate``, ``convolve2d``,
``correlate2d``) in the modes full, valid and same: SciPy's values (to rounding) and
gradients in both arrays against central differences, in reverse and forward mode, also
after the image the function reads changed; what is not supported is refused at the line."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

signal = pytest.importorskip("scipy.signal")

RNG = np.random.default_rng(8)
IMAGE = {"pixels": RNG.normal(size=(6, 5))}
SIGNAL = {"samples": np.sin(np.arange(9.0))}
MODES = ("full", "valid", "same")


def filtered_image(kernel):
    image = IMAGE["pixels"]
    total = 0.0
    for mode in MODES:
        total = total + np.sum(signal.convolve2d(image, kernel, mode=mode) ** 2)
        total = total + np.sum(np.tanh(signal.correlate2d(image, kernel, mode=mode)))
        total = total + np.sum(signal.convolve2d(kernel, image, mode=mode) * 0.5)
    return total


def filtered_signal(taps):
    x = SIGNAL["samples"]
    total = 0.0
    for mode in MODES:
        total = total + np.sum(signal.convolve(x, taps, mode=mode) ** 2)
        total = total + np.sum(np.sin(signal.correlate(x, taps, mode=mode)))
        total = total + np.sum(signal.convolve(taps, x, mode=mode) ** 3)
    return total


def image_gradient(image):
    """The gradient in the image (the larger array) too: a learned image, a fixed filter."""
    sobel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    return np.sum(signal.convolve2d(image, sobel, mode="same") ** 2)


CASES = [
    (filtered_image, RNG.normal(size=(3, 2))),
    (filtered_image, RNG.normal(size=(2, 4))),
    (filtered_signal, RNG.normal(size=4)),
    (image_gradient, RNG.normal(size=(5, 5))),
]


@pytest.mark.sampled(2)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    ("function", "point"), CASES, ids=[f"{c[0].__name__}{c[1].shape}" for c in CASES]
)
def test_convolutions_match_scipy_and_central_differences(function, point, mode):
    gradient = srcad.grad(function, mode=mode)
    saved = IMAGE["pixels"], SIGNAL["samples"]
    try:
        for _world in range(2):  # then the image and the signal change
            value, _ = srcad.value_and_grad(function)(point)
            assert value == pytest.approx(function(point), rel=1e-12)
            expected = srcad.numerical_grad(function, point)
            np.testing.assert_allclose(gradient(point), expected, rtol=1e-6, atol=1e-8)
            IMAGE["pixels"], SIGNAL["samples"] = saved[0] * -1.5 + 0.2, np.cos(saved[1])
    finally:
        IMAGE["pixels"], SIGNAL["samples"] = saved


def test_a_boundary_other_than_zero_fill_is_refused_with_what_to_write():
    def wrapped(kernel):
        return np.sum(signal.convolve2d(IMAGE["pixels"], kernel, boundary="wrap"))

    with pytest.raises(srcad.SrcadError, match="np.pad") as error:
        srcad.grad(wrapped)(np.ones((2, 2)))
    assert error.value.file == __file__
