"""``scipy.interpolate.interp1d`` in differentiated code (``srcad.lower.interp1d``): made in
the function (each kind, each way of treating points outside the samples, values along an
axis, sample points from data and out of order) or read from outside, called at points.
SciPy's values to rounding, SciPy's error for points outside, gradients against central
differences of the plain function, also after the samples, the fill value or the
interpolant changed."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from library_values import agrees_with_the_library

import srcad

interpolate = pytest.importorskip("scipy.interpolate")

RNG = np.random.default_rng(5)

SAMPLES = {"t": np.array([0.0, 0.4, 0.9, 1.3, 2.0, 2.6, 3.1])}
INSIDE = np.array([0.13, 0.71, 1.05, 1.77, 2.21, 2.93])  # away from samples and midpoints
OUTSIDE = np.array([-0.37, 0.13, 1.77, 3.52])
SETTINGS = {"kind": "linear", "fill_value": np.nan, "bounds_error": None}
TABLE = {"lookup": interpolate.interp1d(SAMPLES["t"], np.sin(SAMPLES["t"]))}

KINDS = ["linear", "slinear", "nearest", "nearest-up", "previous", "next", "zero", "cubic", 1]


def interpolated(y, points):
    """The kind and the treatment of points outside come from a global (fixed when
    compiling: a string or a number that is read)."""
    f = interpolate.interp1d(
        SAMPLES["t"],
        y,
        kind=SETTINGS["kind"],
        fill_value=SETTINGS["fill_value"],
        bounds_error=SETTINGS["bounds_error"],
    )
    return np.sum(np.tanh(f(points)) * (points + 1.0))


def sampled_at_data(t, y, points):
    f = interpolate.interp1d(t, y, kind=SETTINGS["kind"], fill_value="extrapolate")
    return np.sum(f(points) ** 2)


def along_an_axis(values, points):
    f = interpolate.interp1d(SAMPLES["t"], values, axis=SETTINGS["axis"], kind=SETTINGS["kind"])
    return np.sum(np.sin(f(points)) * np.arange(f(points).size).reshape(f(points).shape))


def looked_up(points):
    return np.sum(TABLE["lookup"](points) ** 3)


@pytest.fixture
def settings():
    kept = dict(SETTINGS)
    yield SETTINGS
    SETTINGS.clear()
    SETTINGS.update(kept)


@pytest.mark.sampled(2)
@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_inside_the_samples(kind, settings):
    settings["kind"] = kind
    y = np.cos(SAMPLES["t"]) * 2.0
    agrees_with_the_library(interpolated, y, INSIDE, argnums=(0, 1))


@pytest.mark.sampled(4)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fill_value", [0.25, (-1.5, 2.0), "extrapolate"])
def test_each_kind_outside_the_samples(kind, fill_value, settings):
    if fill_value == "extrapolate" and kind in ("previous", "next"):
        pytest.skip("NaN on one side (SciPy's): see the test of previous and next")
    settings.update(kind=kind, fill_value=fill_value, bounds_error=False)
    agrees_with_the_library(interpolated, np.cos(SAMPLES["t"]), OUTSIDE, argnums=(0, 1))


@pytest.mark.parametrize("kind", ["previous", "next"])
def test_previous_and_next_extrapolate_one_side_as_scipy(kind, settings):
    settings.update(kind=kind, fill_value="extrapolate", bounds_error=None)
    y = np.cos(SAMPLES["t"])
    points = OUTSIDE[1:] if kind == "previous" else OUTSIDE[:-1]  # the side it extrapolates
    agrees_with_the_library(interpolated, y, points)
    values = srcad.jvp(
        lambda y: interpolate.interp1d(SAMPLES["t"], y, kind=kind, fill_value="extrapolate")(
            OUTSIDE
        ),
        (y,),
        (np.ones_like(y),),
    )[0]
    expected = interpolate.interp1d(SAMPLES["t"], y, kind=kind, fill_value="extrapolate")(OUTSIDE)
    np.testing.assert_array_equal(values, expected)  # NaN on the side it does not


def test_a_fill_value_read_from_a_global_is_read_on_every_call(settings):
    settings.update(fill_value=0.25, bounds_error=False)
    compiled = srcad.value_and_grad(interpolated, argnums=(0, 1))
    y = np.cos(SAMPLES["t"])
    for fill in (0.25, -3.0):
        settings["fill_value"] = fill
        value, _ = compiled(y, OUTSIDE)
        assert value == pytest.approx(interpolated(y, OUTSIDE), rel=1e-12)
    settings["kind"] = "nearest"  # a string: fixed when compiling, checked on every call
    value, (dy, _) = compiled(y, OUTSIDE)
    assert value == pytest.approx(interpolated(y, OUTSIDE), rel=1e-12)
    np.testing.assert_allclose(dy, srcad.numerical_grad(interpolated, y, OUTSIDE), rtol=1e-6)


@pytest.mark.parametrize("side", ["below", "above"])
def test_points_outside_raise_scipys_error_on_a_later_call(side):
    compiled = srcad.grad(interpolated, argnums=(0, 1))
    y = np.cos(SAMPLES["t"])
    compiled(y, INSIDE)
    points = INSIDE.copy()
    points[3] = -0.5 if side == "below" else 3.5
    with pytest.raises(ValueError) as expected:
        interpolated(y, points)
    with pytest.raises(ValueError) as got:
        compiled(y, points)
    assert str(got.value) == str(expected.value)
    assert f"is {side} the interpolation range" in str(got.value)


@pytest.mark.parametrize("kind", ["linear", "cubic", "nearest", "zero"])
def test_sample_points_from_data_out_of_order(kind, settings):
    settings["kind"] = kind
    order = np.array([3, 0, 6, 1, 5, 2, 4])
    t = SAMPLES["t"][order] + 0.01 * np.sin(np.arange(7.0))
    y = np.exp(-t)
    points = np.array([-0.2, 0.5, 1.15, 2.4, 3.3])
    agrees_with_the_library(sampled_at_data, t, y, points, argnums=(0, 1, 2))


@pytest.mark.sampled(2)
@pytest.mark.parametrize("kind", ["linear", "cubic", "nearest"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_values_along_an_axis_and_points_of_two_dimensions(kind, axis, settings):
    settings.update(kind=kind, axis=axis)
    shape = [3, 2]
    shape.insert(axis % 3, len(SAMPLES["t"]))
    values = RNG.normal(size=shape)
    points = INSIDE[:4].reshape(2, 2)
    f = interpolate.interp1d(SAMPLES["t"], values, axis=axis, kind=kind)
    got = srcad.jvp(
        lambda v: interpolate.interp1d(SAMPLES["t"], v, axis=axis, kind=kind)(points),
        (values,),
        (values,),
    )
    np.testing.assert_allclose(got[0], f(points), rtol=1e-12)  # SciPy's shape and values
    agrees_with_the_library(along_an_axis, values, points)


def test_a_table_from_outside_is_read_on_every_call_and_its_kind_checked():
    compiled = srcad.grad(looked_up)
    points = INSIDE.copy()
    kept = TABLE["lookup"]
    try:
        for y, kind in ((np.sin(SAMPLES["t"]), "linear"), (np.cos(SAMPLES["t"]), "linear")):
            TABLE["lookup"] = interpolate.interp1d(SAMPLES["t"], y, kind=kind)
            np.testing.assert_allclose(
                compiled(points), srcad.numerical_grad(looked_up, points), rtol=1e-6
            )
        TABLE["lookup"].y[2] = 5.0  # its samples changed in place
        np.testing.assert_allclose(
            compiled(points), srcad.numerical_grad(looked_up, points), rtol=1e-6
        )
        TABLE["lookup"] = interpolate.interp1d(
            SAMPLES["t"], np.cos(SAMPLES["t"]), kind="nearest", bounds_error=False
        )
        np.testing.assert_array_equal(compiled(points), 0.0 * points)  # nearest: steps
        points[0] = -1.0  # NaN outside, as SciPy's
        assert np.isnan(srcad.value_and_grad(looked_up)(points)[0])
    finally:
        TABLE["lookup"] = kept


def test_forward_mode_agrees_with_reverse(settings):
    settings.update(kind="linear", fill_value=(0.0, 1.0), bounds_error=False)
    y = np.cos(SAMPLES["t"])
    reverse = srcad.grad(interpolated, argnums=(0, 1))(y, OUTSIDE)
    forward = srcad.grad(interpolated, argnums=(0, 1), mode="forward")(y, OUTSIDE)
    for r, f in zip(reverse, forward, strict=True):
        np.testing.assert_allclose(f, r, rtol=1e-12)


@pytest.mark.slow
def test_numba_agrees_with_numpy(settings):
    settings.update(kind="linear", fill_value=(0.0, 1.0), bounds_error=False)
    y = np.cos(SAMPLES["t"])
    reverse = srcad.grad(interpolated, argnums=(0, 1))(y, OUTSIDE)
    pytest.importorskip("numba")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fallback to the NumPy code is allowed
        compiled = srcad.grad(interpolated, argnums=(0, 1), backend="numba")(y, OUTSIDE)
    for r, c in zip(reverse, compiled, strict=True):
        np.testing.assert_allclose(c, r, rtol=1e-12)


def quadratic(y):
    return np.sum(interpolate.interp1d(SAMPLES["t"], y, kind="quadratic")(INSIDE))


def too_few_for_a_cubic(y):
    return np.sum(interpolate.interp1d(SAMPLES["t"][:3], y, kind="cubic")(INSIDE[:1]))


def repeated_samples(y):
    t = np.array([0.0, 0.5, 0.5, 1.0, 1.5])
    return np.sum(interpolate.interp1d(t, y, kind="slinear")(np.array([0.2, 1.2])))


def a_global_quadratic(points):
    return np.sum(QUADRATIC(points))


QUADRATIC = interpolate.interp1d(SAMPLES["t"], np.sin(SAMPLES["t"]), kind="quadratic")
CUBIC = interpolate.interp1d(SAMPLES["t"], np.sin(SAMPLES["t"]), kind="cubic")


def a_global_cubic(points):
    return np.sum(CUBIC(points))


def test_what_srcad_does_not_lower_is_refused_at_the_line():
    with pytest.raises(srcad.UnsupportedSyntax, match="kind='quadratic'.*linear"):
        srcad.grad(quadratic)(np.ones(7))
    with pytest.raises(srcad.SrcadError, match="at least 4 entries"):
        srcad.grad(too_few_for_a_cubic)(np.ones(3))
    with pytest.raises(srcad.SrcadError, match="Expect x to not have duplicates"):
        srcad.grad(repeated_samples)(np.ones(5))  # SciPy's spline kinds raise too
    with pytest.raises(srcad.UnsupportedSyntax, match="spline order 2 made outside"):
        srcad.grad(a_global_quadratic)(INSIDE)
    with pytest.raises(srcad.UnsupportedSyntax, match="spline order 3 made outside"):
        srcad.grad(a_global_cubic)(INSIDE)


@pytest.mark.parametrize("rows", [1, 2])
def test_values_at_the_samples_are_scipys_exactly(rows):
    """One row of samples goes through ``np.interp`` in SciPy, more through its own
    formula: each rounds as SciPy's."""
    values = RNG.normal(size=(rows, 7))[0 if rows == 1 else slice(None)]
    points = SAMPLES["t"]
    made = srcad.jvp(lambda v: interpolate.interp1d(SAMPLES["t"], v)(points), (values,), (values,))[
        0
    ]
    np.testing.assert_array_equal(made, interpolate.interp1d(SAMPLES["t"], values)(points))


def at_constant_points(y):
    f = interpolate.interp1d(SAMPLES["t"], y)
    return np.sum(f(np.linspace(0.1, 3.0, 9)) ** 2) + f(2.0)


def test_constant_points_and_sample_values_from_data():
    """The check for points outside indexed the constant points with a traced position:
    an internal error."""
    agrees_with_the_library(at_constant_points, np.cos(SAMPLES["t"]))


TABLES = {
    kind: interpolate.interp1d(
        SAMPLES["t"], np.sin(SAMPLES["t"]), kind=kind, bounds_error=False, fill_value=-2.0
    )
    for kind in ("slinear", "zero", 1, 0)
}
CHOSEN = {"kind": "slinear", "rows": interpolate.interp1d(SAMPLES["t"], RNG.normal(size=(2, 7)))}


def looked_up_by_kind(points):
    return np.sum(TABLES[CHOSEN["kind"]](points) ** 2) + np.sum(CHOSEN["rows"](points[:2]))


def test_tables_from_outside_of_each_spline_kind_and_of_rows():
    """A global interp1d of the spline kinds zero and slinear was refused; one of rows of
    samples with a fill value of one number failed."""
    points = np.append(INSIDE[:3], 3.3)  # one outside: the fill value
    compiled = srcad.value_and_grad(looked_up_by_kind)
    for kind in TABLES:
        CHOSEN["kind"] = kind  # another table: recompiled
        value, got = compiled(points)
        assert value == pytest.approx(looked_up_by_kind(points), rel=1e-12)
        expected = srcad.numerical_grad(looked_up_by_kind, points)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    kept = TABLES["slinear"].y.copy()
    CHOSEN["kind"] = "slinear"
    try:  # SciPy evaluates the spline it made: its y changed in place changes nothing
        TABLES["slinear"].y[2] = 7.0
        assert compiled(points)[0] == pytest.approx(looked_up_by_kind(points), rel=1e-12)
    finally:
        TABLES["slinear"].y[:] = kept


@pytest.mark.parametrize("kind", ["slinear", "zero", "cubic"])
def test_spline_kinds_compute_in_float64_as_scipy(kind):
    values = np.cos(SAMPLES["t"]).astype(np.float32)
    made = srcad.jvp(
        lambda q: interpolate.interp1d(SAMPLES["t"], values, kind=kind)(q), (INSIDE,), (INSIDE,)
    )[0]
    expected = interpolate.interp1d(SAMPLES["t"], values, kind=kind)(INSIDE)
    assert made.dtype == expected.dtype
    np.testing.assert_allclose(made, expected, rtol=1e-14)


MUTATED = {}


def looked_up_in_mutated(points):
    return np.sum(MUTATED["table"](points) ** 2)


@pytest.mark.parametrize(
    ("kind", "shape", "axis"),
    [
        ("linear", (7,), -1),
        ("linear", (2, 7), 1),
        ("nearest", (7,), -1),
        ("previous", (7,), -1),
        ("next", (7, 3), 0),
        ("slinear", (2, 7), 1),
        ("zero", (7,), 0),
    ],
)
def test_a_table_changed_in_place_gives_what_scipy_gives(kind, shape, axis):
    """SciPy's call reads what it made when the table was made (its rows, midpoints,
    shifted points, B-spline) besides its x and y: srcad reads the same, on every call."""
    MUTATED["table"] = interpolate.interp1d(
        SAMPLES["t"].copy(), RNG.normal(size=shape), kind=kind, axis=axis
    )
    compiled = srcad.value_and_grad(looked_up_in_mutated)
    compiled(INSIDE)
    MUTATED["table"].y[..., 2] = 9.0
    MUTATED["table"].x[3] = 1.4
    value, slopes = compiled(INSIDE)
    assert value == pytest.approx(looked_up_in_mutated(INSIDE), rel=1e-12)
    expected = srcad.numerical_grad(looked_up_in_mutated, INSIDE)
    np.testing.assert_allclose(slopes, expected, rtol=1e-6, atol=1e-8)
