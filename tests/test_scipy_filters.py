"""``scipy.signal`` in differentiated code: ``lfilter`` (gradients with respect to the
signal and both coefficient arrays, along any axis, to second order), ``fftconvolve`` and
``oaconvolve`` in each mode, and convolutions with more taps than srcad writes as shifted
copies (one call of ``scipy.signal.convolve``, before refused). Each against central
differences of the plain function, also after a global it reads changed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad

signal = pytest.importorskip("scipy.signal")

RNG = np.random.default_rng(0)
SETTINGS = {"pole": 0.3, "taps": np.array([0.5, 0.3, 0.2])}


def smoothed_energy(x):
    y = signal.lfilter(SETTINGS["taps"], [1.0, -SETTINGS["pole"]], x)
    return np.sum(y**2)


def learned_filter(b, a, x):
    return np.sum(np.tanh(signal.lfilter(b, a, x, axis=0)) * x)


def fft_smoothed(x, kernel):
    full = signal.fftconvolve(x, kernel)
    same = signal.oaconvolve(x, kernel, mode="same")
    valid = signal.fftconvolve(x, kernel, mode="valid")
    return np.sum(full**2) + np.sum(same * x) + np.sum(np.sin(valid))


def long_correlation(x, kernel):
    return np.sum(signal.correlate(x, kernel, mode="same") ** 2) + np.sum(
        signal.convolve(x, kernel, mode="valid")
    )


def _close(got, expected):
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_lfilter_of_a_signal_with_coefficients_from_a_global_also_after_they_changed():
    x = RNG.normal(size=20)
    gradient = srcad.grad(smoothed_energy)
    _close(gradient(x), srcad.numerical_grad(smoothed_energy, x))
    SETTINGS["pole"], SETTINGS["taps"] = -0.6, np.array([1.0, -0.4])
    try:
        _close(gradient(x), srcad.numerical_grad(smoothed_energy, x))
    finally:
        SETTINGS["pole"], SETTINGS["taps"] = 0.3, np.array([0.5, 0.3, 0.2])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_lfilter_gradients_of_both_coefficient_arrays_and_the_signal_along_axis_0(mode):
    b, a = np.array([0.4, 0.2, -0.1]), np.array([1.2, -0.3])
    x = RNG.normal(size=(9, 2))
    got = srcad.grad(learned_filter, argnums=(0, 1, 2), mode=mode)(b, a, x)
    expected = srcad.numerical_grad(learned_filter, b, a, x, argnums=(0, 1, 2))
    for g, e in zip(got, expected, strict=True):
        _close(g, e)


def test_the_second_derivative_through_lfilter():
    b, a = np.array([0.4, 0.2]), np.array([1.0, -0.5, 0.1])
    x = RNG.normal(size=(9, 2))
    direction = RNG.normal(size=a.shape)

    def of_a(coefficients):
        return learned_filter(b, coefficients, x)

    product = srcad.hvp(of_a, (a,), (direction,))
    gradient = srcad.grad(of_a)
    step = 1e-6
    expected = (gradient(a + step * direction) - gradient(a - step * direction)) / (2 * step)
    _close(product, expected)


def test_fft_and_overlap_add_convolutions_in_each_mode():
    x, kernel = RNG.normal(size=(7, 6)), RNG.normal(size=(3, 2))
    gradient = srcad.grad(fft_smoothed, argnums=(0, 1))
    got = gradient(x, kernel)
    expected = srcad.numerical_grad(fft_smoothed, x, kernel, argnums=(0, 1))
    for g, e in zip(got, expected, strict=True):
        _close(g, e)
    assert "scipy.signal.fftconvolve(" in srcad.source(gradient)


def test_a_convolution_of_more_taps_than_shifted_copies_is_one_call_of_scipy():
    """Both arrays longer than ``srcad.lower.signal.MAX_TAPS``: refused before."""
    x, kernel = RNG.normal(size=1300), RNG.normal(size=1100)
    gradient = srcad.grad(long_correlation, argnums=(0, 1))
    got = gradient(x, kernel)
    for position, g in enumerate(got):  # along random directions: 2400 inputs
        for _ in range(2):
            direction = RNG.normal(size=g.shape)
            step = 1e-6
            moved = [list((x, kernel)) for _ in range(2)]
            moved[0][position] = moved[0][position] + step * direction
            moved[1][position] = moved[1][position] - step * direction
            difference = (long_correlation(*moved[0]) - long_correlation(*moved[1])) / (2 * step)
            np.testing.assert_allclose(np.vdot(g, direction), difference, rtol=1e-5)
    source = srcad.source(gradient)
    assert "scipy.signal.convolve(" in source and "np.pad(" in source


def test_lfilter_with_initial_conditions_is_refused_saying_what_is_supported():
    def with_state(x):
        y, _ = signal.lfilter([0.5, 0.5], [1.0], x, zi=np.zeros(1))
        return np.sum(y)

    with pytest.raises(srcad.SrcadError, match="zi"):
        srcad.grad(with_state)(np.ones(4))


@pytest.mark.slow
def test_the_numba_backend_runs_the_numpy_code_of_a_filter():
    pytest.importorskip("numba")
    x = RNG.normal(size=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba cannot compile SciPy's filter: it says so
        got = srcad.grad(smoothed_energy, backend="numba")(x)
    _close(got, srcad.numerical_grad(smoothed_energy, x))


def blurred(image, kernel):
    return np.sum(signal.fftconvolve(image, kernel, mode="same") ** 2) + np.sum(
        np.tanh(signal.oaconvolve(image, kernel, mode="valid"))
    )


@pytest.mark.parametrize("mode", ["forward", "jvp", "hvp"])
def test_forward_mode_through_fft_convolutions(mode):
    """The forward rule called SciPy's function on srcad's traced values (it failed)."""
    image, kernel = RNG.normal(size=(5, 6)), np.array([[0.25, 0.5], [0.5, 0.25]])
    if mode == "forward":
        got = srcad.grad(blurred, argnums=1, mode="forward")(image, kernel)
        _close(got, srcad.numerical_grad(blurred, image, kernel, argnums=1))
        return
    direction = RNG.normal(size=kernel.shape)
    if mode == "jvp":
        _, got = srcad.jvp(lambda k: blurred(image, k), (kernel,), (direction,))
        expected = np.vdot(srcad.grad(blurred, argnums=1)(image, kernel), direction)
    else:
        got = srcad.hvp(lambda k: blurred(image, k), (kernel,), (direction,))
        gradient = srcad.grad(lambda k: blurred(image, k))
        step = 1e-6
        expected = (gradient(kernel + step * direction) - gradient(kernel - step * direction)) / (
            2 * step
        )
    _close(got, expected)


def fir_response(taps, x):
    return np.sum(np.tanh(signal.convolve(x, taps, mode="same")))


@pytest.mark.slow
def test_forward_mode_through_a_convolution_of_hundreds_of_taps():
    """256 shifted copies summed: one expression nested 256 deep overflowed Python's stack
    while srcad wrote it (now named every 40 levels)."""
    taps, x = RNG.normal(size=256) / 10.0, RNG.normal(size=512)
    forward = srcad.grad(fir_response, mode="forward")(taps, x)
    np.testing.assert_allclose(forward, srcad.grad(fir_response)(taps, x), rtol=1e-10)
    direction = RNG.normal(size=taps.shape)
    step = 1e-6
    difference = (
        fir_response(taps + step * direction, x) - fir_response(taps - step * direction, x)
    ) / (2 * step)
    np.testing.assert_allclose(np.vdot(forward, direction), difference, rtol=1e-6)


def moving_average(x):
    return np.sum(signal.lfilter(np.ones(5) / 5.0, SETTINGS["pole"] + 0.7, x) ** 2)


def one_pole(x, pole):
    return np.sum(signal.lfilter(1.0 - pole, np.array([1.0, -0.7]), x) ** 2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_lfilter_with_a_number_for_either_coefficient_array(mode):
    x = np.linspace(-1.0, 1.0, 9)
    average = srcad.grad(moving_average, mode=mode)
    _close(average(x), srcad.numerical_grad(moving_average, x))
    SETTINGS["pole"] = 1.3  # a denominator read on every call
    try:
        _close(average(x), srcad.numerical_grad(moving_average, x))
    finally:
        SETTINGS["pole"] = 0.3
    got = srcad.grad(one_pole, argnums=(0, 1), mode=mode)(x, 0.3)
    for g, e in zip(got, srcad.numerical_grad(one_pole, x, 0.3, argnums=(0, 1)), strict=True):
        _close(g, e)


def by_keyword(b, x):
    pole = SETTINGS["pole"]
    return np.sum(signal.lfilter(b, [1.0, -pole], x=x) ** 2) + np.sum(np.convolve(a=x, v=b))


def test_operands_given_by_keyword_also_after_the_pole_changed():
    b, x = np.array([0.3, 0.2]), np.linspace(0.0, 1.0, 10)
    gradient = srcad.grad(by_keyword, argnums=(0, 1))
    try:
        for pole in (0.5, -0.8):  # the second call reads the changed global
            SETTINGS["pole"] = pole
            expected = srcad.numerical_grad(by_keyword, b, x, argnums=(0, 1))
            for g, e in zip(gradient(b, x), expected, strict=True):
                _close(g, e)
    finally:
        SETTINGS["pole"] = 0.3


def test_initial_conditions_by_position_are_refused_by_name():
    def with_state(x):
        y, _ = signal.lfilter([0.5, 0.5], [1.0, -0.2], x, -1, np.zeros(1))
        return np.sum(y)

    with pytest.raises(srcad.SrcadError, match="does not support its argument 'zi'"):
        srcad.grad(with_state)(np.ones(4))
