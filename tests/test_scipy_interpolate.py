"""``scipy.interpolate``'s piecewise polynomials in differentiated code
(``srcad.lower.interpolate``): ``CubicSpline`` made in the function (each boundary condition,
2, 3 and more knots, values along an axis, knots from data), called for values and
derivatives, its ``derivative``, ``antiderivative`` and ``integrate``, extrapolating or not;
and a spline read from outside (``PchipInterpolator``, ``Akima1DInterpolator``, a
``CubicSpline``) called at points. SciPy's values to rounding, gradients against central
differences of the plain function, also after the knots, the spline or its class changed."""

from __future__ import annotations

import numpy as np
import pytest

import srcad

interpolate = pytest.importorskip("scipy.interpolate")

KNOTS = {"t": np.array([0.0, 0.3, 0.5, 1.1, 1.6, 2.0])}
POINTS = np.array([-0.2, 0.1, 0.5, 0.77, 1.9, 2.3])  # two outside the knots
LOOKUP = {"table": interpolate.PchipInterpolator(KNOTS["t"], np.sin(KNOTS["t"]))}


def spline_score(y, bc_type):
    s = interpolate.CubicSpline(KNOTS["t"], y, bc_type=bc_type)
    values, slopes, curvatures = s(POINTS), s(POINTS, 1), s(POINTS, nu=2)
    return np.sum(values**2) + np.sum(np.sin(slopes)) + np.sum(curvatures * POINTS)


def few_knots(y):
    t = KNOTS["t"][: len(y)]
    return np.sum(interpolate.CubicSpline(t, y)(POINTS) ** 2)


def knots_from_data(t, y, points):
    return np.sum(np.tanh(interpolate.CubicSpline(t, y)(points)))


def along_an_axis(values):
    return np.sum(interpolate.CubicSpline(KNOTS["t"], values, axis=1)(POINTS) ** 2)


def calculus(y, a):
    s = interpolate.CubicSpline(KNOTS["t"], y)
    derived = np.sum(s.derivative()(POINTS) ** 2) + np.sum(s.derivative(2)(POINTS))
    integrated = np.sum(s.antiderivative()(POINTS)) + s.integrate(a, 1.7) ** 2
    return derived + integrated


def masked(y):
    inside = interpolate.CubicSpline(KNOTS["t"], y, extrapolate=False)(POINTS)
    wrapped = interpolate.CubicSpline(KNOTS["t"], y)(POINTS, extrapolate="periodic")
    return np.sum(np.nan_to_num(inside) ** 2) + np.sum(wrapped**3)


def read_from_a_table(x):
    table = LOOKUP["table"]
    return np.sum(table(x) ** 2 + table(x, 1))


def _agrees(f, *args, argnums=0):
    value, got = srcad.value_and_grad(f, argnums=argnums)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)  # SciPy's own, to rounding
    expected = srcad.numerical_grad(f, *args, argnums=argnums)
    pairs = zip(got, expected, strict=True) if isinstance(argnums, tuple) else [(got, expected)]
    for g, e in pairs:
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("bc_type", ["not-a-knot", "natural", "clamped"])
def test_a_spline_made_in_the_function_for_each_boundary_condition(bc_type):
    _agrees(spline_score, np.cos(KNOTS["t"]) + KNOTS["t"], bc_type)


@pytest.mark.parametrize("count", [2, 3, 4])
def test_a_line_a_parabola_and_the_fewest_knots_of_a_cubic(count):
    _agrees(few_knots, np.cos(KNOTS["t"][:count]) * 2.0)


def test_gradients_reach_the_knots_and_the_points_also_after_the_knots_changed():
    y = np.sin(3.0 * KNOTS["t"])
    gradient = srcad.grad(knots_from_data, argnums=(0, 1, 2))
    for t in (KNOTS["t"], np.array([0.0, 0.2, 0.9, 1.0, 1.4, 2.2])):
        got = gradient(t, y, POINTS)
        expected = srcad.numerical_grad(knots_from_data, t, y, POINTS, argnums=(0, 1, 2))
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def test_values_along_an_axis_and_the_global_knots_read_on_every_call():
    values = np.stack([np.sin(KNOTS["t"]), np.cos(KNOTS["t"]), KNOTS["t"] ** 2])
    gradient = srcad.grad(along_an_axis)
    np.testing.assert_allclose(
        gradient(values), srcad.numerical_grad(along_an_axis, values), rtol=1e-6, atol=1e-8
    )
    kept = KNOTS["t"]
    KNOTS["t"] = np.array([0.0, 0.5, 0.6, 1.0, 1.2, 2.5])  # the world changed
    try:
        np.testing.assert_allclose(
            gradient(values), srcad.numerical_grad(along_an_axis, values), rtol=1e-6, atol=1e-8
        )
    finally:
        KNOTS["t"] = kept


def test_derivative_antiderivative_and_integrate_of_a_spline_made_in_the_function():
    _agrees(calculus, np.sin(2.0 * KNOTS["t"]) + 1.0, np.array(0.35), argnums=(0, 1))


def test_a_spline_that_does_not_extrapolate_and_one_evaluated_periodically():
    _agrees(masked, np.cos(KNOTS["t"]) + 0.5 * KNOTS["t"])


def test_a_spline_from_outside_is_read_on_every_call_also_when_replaced():
    x = np.array([0.2, 0.9, 1.7])
    gradient = srcad.grad(read_from_a_table)
    kept = LOOKUP["table"]
    tables = [
        kept,
        interpolate.CubicSpline(KNOTS["t"], np.cos(KNOTS["t"]) * 3.0),  # another class
        interpolate.Akima1DInterpolator(KNOTS["t"], KNOTS["t"] ** 3),  # NaN outside: x is in
    ]
    try:
        for table in tables:
            LOOKUP["table"] = table
            np.testing.assert_allclose(
                gradient(x), srcad.numerical_grad(read_from_a_table, x), rtol=1e-6, atol=1e-8
            )
    finally:
        LOOKUP["table"] = kept


def test_a_periodic_boundary_condition_is_refused_at_the_line():
    def periodic(y):
        return np.sum(interpolate.CubicSpline(KNOTS["t"], y, bc_type="periodic")(POINTS))

    with pytest.raises(srcad.SrcadError, match="bc_type='periodic'") as error:
        srcad.grad(periodic)(np.sin(KNOTS["t"]))
    assert error.value.line == periodic.__code__.co_firstlineno + 1
