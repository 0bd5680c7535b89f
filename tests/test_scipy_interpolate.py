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
from library_values import agrees_with_the_library

import srcad

interpolate = pytest.importorskip("scipy.interpolate")

RNG = np.random.default_rng(3)

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


@pytest.mark.parametrize("bc_type", ["not-a-knot", "natural", "clamped"])
def test_a_spline_made_in_the_function_for_each_boundary_condition(bc_type):
    agrees_with_the_library(spline_score, np.cos(KNOTS["t"]) + KNOTS["t"], bc_type)


@pytest.mark.parametrize("count", [2, 3, 4])
def test_a_line_a_parabola_and_the_fewest_knots_of_a_cubic(count):
    agrees_with_the_library(few_knots, np.cos(KNOTS["t"][:count]) * 2.0)


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
    agrees_with_the_library(
        calculus, np.sin(2.0 * KNOTS["t"]) + 1.0, np.array(0.35), argnums=(0, 1)
    )


def test_a_spline_that_does_not_extrapolate_and_one_evaluated_periodically():
    agrees_with_the_library(masked, np.cos(KNOTS["t"]) + 0.5 * KNOTS["t"])


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


# --- found by a probe round ----------------------------------------------------------------
WEIGHTS = np.arange(1.0, 10.0).reshape(3, 3)
TABLES = {
    "columns": interpolate.CubicSpline(KNOTS["t"], np.stack([np.sin(KNOTS["t"])] * 3), axis=1),
    "descending": interpolate.PPoly(np.array([[1.0, 2.0, -1.0], [0.5, 0.1, 0.2]]), [3, 2, 1, 0]),
    "plain": interpolate.CubicSpline(KNOTS["t"], np.cos(KNOTS["t"]) + 2.0),
}
LIST_KNOTS = [0.0, 0.4, 1.0, 1.5, 2.2]


def weighted_along(y, points, axis):
    return np.sum(WEIGHTS * interpolate.CubicSpline(KNOTS["t"][:3], y, axis=axis)(points))


@pytest.mark.slow
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_the_points_axes_go_where_scipy_puts_them(axis):
    """Values along axis 1 came back transposed: wrong numbers where the shapes agree."""
    y, points = RNG.normal(size=(3, 3)), np.array([0.1, 0.4, 0.45])
    agrees_with_the_library(weighted_along, y, points, axis, argnums=(0, 1))
    cube = RNG.normal(size=(2, 6, 3))
    grid = np.array([[0.2, 1.2], [1.7, 0.05], [0.6, 1.95]])
    expected = interpolate.CubicSpline(KNOTS["t"], cube, axis=1)(grid)
    values = srcad.value_and_grad(
        lambda c: np.sum(np.sin(interpolate.CubicSpline(KNOTS["t"], c, axis=1)(grid)))
    )(cube)[0]
    np.testing.assert_allclose(values, np.sum(np.sin(expected)), rtol=1e-12)


def columns_table(x):
    return np.sum(np.arange(1.0, 4.0)[:, None] * TABLES["columns"](x) ** 2)


def descending_table(x):
    return np.sum(TABLES["descending"](x) ** 2)


def outside_calculus(x, a):
    table = TABLES["plain"]
    return (
        np.sum(table.derivative()(x) ** 2)
        + np.sum(table.antiderivative(2)(x))
        + (table.integrate(a, 1.9) ** 2)
    )


def test_splines_from_outside_along_an_axis_with_descending_knots_and_their_methods():
    x = np.array([0.2, 0.9, 1.3, 1.7])
    agrees_with_the_library(columns_table, x)
    agrees_with_the_library(descending_table, np.array([0.4, 1.3, 2.7]))
    agrees_with_the_library(outside_calculus, x, np.array(0.35), argnums=(0, 1))


def constant_knots(y, points):
    s = interpolate.CubicSpline(np.linspace(0.0, 1.0, len(y)), y)
    counted = interpolate.CubicSpline(np.arange(len(y)), y, bc_type="natural")
    listed = interpolate.CubicSpline([0.0, 0.3, 0.5, 0.8, 0.9, 1.0], y).derivative()
    return np.sum(s(points) ** 2) + np.sum(counted(3.0 * points)) + np.sum(listed(points))


def test_knots_known_when_compiling_with_points_from_data():
    """``np.take`` of a constant array at traced positions was computed by NumPy (it
    failed): the common pattern of fixed knots and learned values."""
    agrees_with_the_library(
        constant_knots, np.sin(np.arange(6.0)), np.array([0.05, 0.33, 0.71, 0.95]), argnums=(0, 1)
    )


def test_knots_from_a_global_list_and_float32_values_computed_as_scipy_computes():
    def from_list(y, points):
        return np.sum(interpolate.CubicSpline(LIST_KNOTS, y)(points) ** 2)

    y = np.array([1.0, 3.0, 2.0, 0.5, 4.0], np.float32)
    points = np.array([-0.7, 0.33, 1.7, 2.9], np.float32)
    value, _ = srcad.value_and_grad(from_list)(y, points)
    np.testing.assert_allclose(value, from_list(y, points), rtol=1e-12)  # float64, as SciPy
    agrees_with_the_library(from_list, y.astype(float), points.astype(float), argnums=(0, 1))


def test_knots_that_do_not_increase_are_refused_or_give_nan_as_scipy_raises():
    def unsorted(y):
        return np.sum(interpolate.CubicSpline([0.0, 2.5, 1.0, 3.0], y)(POINTS))

    with pytest.raises(srcad.SrcadError, match="strictly increasing"):
        srcad.grad(unsorted)(np.ones(4))

    def from_data(t, y):
        return np.sum(interpolate.CubicSpline(t, y)(POINTS))

    value, _ = srcad.value_and_grad(from_data)(np.array([0.0, 2.5, 1.0, 3.0]), np.ones(4))
    assert np.isnan(value)  # SciPy raises; srcad's generated code cannot: NaN, not a number


def test_a_negative_order_of_derivative_is_refused_as_scipy_refuses_it():
    def negative(y):
        return np.sum(interpolate.CubicSpline(KNOTS["t"], y)(POINTS, -1))

    with pytest.raises(srcad.SrcadError, match="cannot be negative"):
        srcad.grad(negative)(np.ones(6))


def test_methods_a_spline_made_here_does_not_have_are_named():
    def roots(y):
        return np.sum(interpolate.CubicSpline(KNOTS["t"], y).roots())

    with pytest.raises(srcad.SrcadError, match=r"not s\.roots"):
        srcad.grad(roots)(np.ones(6))
