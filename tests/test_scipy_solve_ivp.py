"""``scipy.integrate.solve_ivp`` in differentiated code (``srcad.api.ivp``): SciPy's own
solve forward, the adjoint system solved backwards as its reverse rule. Gradients in the
initial state, the parameters passed with ``args``, the times of ``t_eval`` and the start
time, against central differences of the plain function (to the solver's tolerances), for
several methods, also after the parameters and times read from globals changed; what
srcad cannot lower is refused at the line."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

integrate = pytest.importorskip("scipy.integrate")

MODEL = {"rates": np.array([0.7, 1.3]), "times": np.array([0.1, 0.4, 0.9, 1.5])}
TIGHT = {"rtol": 1e-10, "atol": 1e-12}


def coupled(t, y, rates, coupling):
    return -rates * y + coupling * np.sin(t) * y[::-1]


def fitted(y0, rates, coupling, method):
    times = MODEL["times"]
    sol = integrate.solve_ivp(
        coupled,
        (times[0], times[-1] + 0.5),
        y0,
        method,
        t_eval=times,
        args=(rates, coupling),
        **TIGHT,
    )
    return np.sum(np.sin(sol.y) * sol.t) + np.sum(sol.y[:, -1] ** 2)


def over_times(times, y0, start=None):
    first = times[0] if start is None else start
    sol = integrate.solve_ivp(
        coupled, (first, times[-1]), y0, t_eval=times, args=(MODEL["rates"], 0.4), **TIGHT
    )
    return np.sum(sol.y**2 * np.cos(sol.t))


def _close(got, expected):
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)


@pytest.mark.sampled(2)
@pytest.mark.parametrize("method", ["RK45", "DOP853", "LSODA", "Radau"])
def test_gradients_in_the_start_and_the_parameters(method):
    y0, coupling = np.array([1.0, 0.5]), 0.4
    value, grads = srcad.value_and_grad(fitted, argnums=(0, 1, 2))(
        y0, MODEL["rates"], coupling, method
    )
    assert value == fitted(y0, MODEL["rates"], coupling, method)  # SciPy's own solve
    args = (y0, MODEL["rates"], coupling, method)
    _close(grads, srcad.numerical_grad(fitted, *args, argnums=(0, 1, 2)))


@pytest.mark.slow
def test_gradients_in_the_times_and_the_start_time():
    times = np.array([0.0, 0.3, 0.8, 1.1])  # the first at the start: y0 itself
    y0 = np.array([0.9, -0.4])
    for first in (0.0, 0.2):
        times[0] = first  # the start time moves with it
        got = srcad.grad(over_times, argnums=(0, 1))(times, y0)
        _close(got, srcad.numerical_grad(over_times, times, y0, argnums=(0, 1)))
    got = srcad.grad(over_times, argnums=(0, 1, 2))(times, y0, -0.3)  # an earlier start
    _close(got, srcad.numerical_grad(over_times, times, y0, -0.3, argnums=(0, 1, 2)))


@pytest.mark.slow
def test_parameters_and_times_from_globals_are_read_on_every_call():
    compiled = srcad.grad(fitted, argnums=(0, 2))
    kept = dict(MODEL)
    y0 = np.array([1.0, 0.5])
    try:
        for rates, times in ((kept["rates"], kept["times"]), (-kept["rates"], kept["times"] * 1.5)):
            MODEL.update(rates=rates, times=times)
            got = compiled(y0, MODEL["rates"], 0.4, "RK45")
            expected = srcad.numerical_grad(fitted, y0, rates, 0.4, "RK45", argnums=(0, 2))
            _close(got, expected)
    finally:
        MODEL.update(kept)


def without_times(y0):
    return np.sum(integrate.solve_ivp(coupled, (0.0, 1.0), y0, args=(MODEL["rates"], 0.4)).y)


def with_events(y0):
    sol = integrate.solve_ivp(
        coupled, (0.0, 1.0), y0, t_eval=[1.0], args=(MODEL["rates"], 0.4), events=[]
    )
    return np.sum(sol.y)


def closed_over(y0, rate):
    """The dynamics defined inside, reading a parameter and a global."""

    def rhs(t, y):
        return -rate * y * MODEL["rates"] + np.cos(t)

    sol = integrate.solve_ivp(rhs, (0.0, 1.0), y0, t_eval=[0.5, 1.0], **TIGHT)
    return np.sum(sol.y**2)


def with_a_default(y0, rate):
    def rhs(t, y, scale=2.0):
        return -rate * y * scale

    return np.sum(integrate.solve_ivp(rhs, (0.0, 1.0), y0, t_eval=[1.0]).y)


def test_dynamics_defined_inside_get_what_they_read_as_parameters():
    compiled = srcad.grad(closed_over, argnums=(0, 1))
    kept = MODEL["rates"]
    y0 = np.array([1.0, 0.5])
    try:
        for rates in (kept, 2.0 * kept):  # the global the dynamics read changed
            MODEL["rates"] = rates
            expected = srcad.numerical_grad(closed_over, y0, 0.8, argnums=(0, 1))
            _close(compiled(y0, 0.8), expected)
    finally:
        MODEL["rates"] = kept


def test_what_srcad_does_not_lower_is_refused_at_the_line():
    y0 = np.array([1.0, 0.5])
    with pytest.raises(srcad.UnsupportedSyntax, match="t_eval is needed"):
        srcad.grad(without_times)(y0)
    with pytest.raises(srcad.UnsupportedSyntax, match="not events"):
        srcad.grad(with_events)(y0)
    with pytest.raises(srcad.UnsupportedSyntax, match="plain parameters"):
        srcad.grad(with_a_default)(y0, 0.5)
    with pytest.raises(srcad.NoDerivativeRule, match="solve_ivp_coupled.* forward-mode"):
        srcad.grad(fitted, mode="forward")(y0, MODEL["rates"], 0.4, "RK45")


RATE = {"value": 0.5}


def decaying(t, y):
    return -RATE["value"] * y


def decaying_odeint(y, t):
    return -RATE["value"] * y


def integrand(x):
    return RATE["value"] * x


def pure_integrand(x):
    return x**2


def solved_on_constants(k):
    sol = integrate.solve_ivp(decaying, (0.0, 1.0), np.array([1.0]), t_eval=[1.0], **TIGHT)
    ys = integrate.odeint(decaying_odeint, np.array([1.0]), np.array([0.0, 1.0]))
    return k * sol.y[0, -1] + k**2 * ys[-1, 0]


def integrated_with_a_global(k):
    return k * integrate.quad(integrand, 0.0, 1.0)[0]


def integrated_purely(k):
    return k * integrate.quad(pure_integrand, 0.0, 1.0)[0]


def test_solves_on_constants_whose_dynamics_read_a_global_are_run_on_every_call():
    """Every argument known when compiling: the solve ran then, once, and the global its
    dynamics read was never read again (a stale value and gradient, found by a probe).
    A library's integral of such a function is refused; of a pure one, it runs once."""
    compiled = srcad.value_and_grad(solved_on_constants)
    try:
        for rate in (0.5, 2.0):
            RATE["value"] = rate
            value, slope = compiled(2.0)
            assert value == pytest.approx(solved_on_constants(2.0), rel=1e-6)
            expected = srcad.numerical_grad(solved_on_constants, 2.0)
            assert slope == pytest.approx(expected, rel=1e-5)
    finally:
        RATE["value"] = 0.5
    with pytest.raises(srcad.UnsupportedSyntax, match="read on every call"):
        srcad.grad(integrated_with_a_global)(2.0)
    assert srcad.grad(integrated_purely)(2.0) == pytest.approx(1.0 / 3.0, rel=1e-12)


def oscillator(t, y, k):
    x, v = y
    return [v, -k * x]  # a list, as SciPy's examples write the dynamics


def pendulum(y, t, b):
    angle, speed = y
    return (speed, -b * speed - np.sin(angle))


def swings(k):
    sol = integrate.solve_ivp(
        oscillator, (0.0, 1.5), np.array([1.0, 0.0]), t_eval=[0.5, 1.5], args=(k,), **TIGHT
    )
    ys = integrate.odeint(pendulum, np.array([1.0, 0.0]), np.linspace(0.0, 2.0, 5), args=(k,))
    return np.sum(sol.y[0] ** 2) + ys[-1, 0]


def test_dynamics_that_return_a_list_or_a_tuple():
    """The adjoint gave the cotangent as an array where the dynamics return a list: an
    error from inside SciPy's solve (found by a probe)."""
    got = srcad.grad(swings)(0.7)
    assert got == pytest.approx(srcad.numerical_grad(swings, 0.7), rel=1e-5)
