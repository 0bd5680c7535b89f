"""``np.apply_along_axis`` (``srcad.lower.along_axis``): the function called on each 1-d
slice, as NumPy calls it, the results stacked where the slice was.

Checked: every transformation agrees with central differences of the plain function; the
value is the plain function's; a global the called function reads, changed, is read on the
next call; results of another shape than the slice, several axes, extra arguments, and the
numba backend; an axis out of range, an empty array and results whose shape the data
chooses are refused at the user's line.
"""

from __future__ import annotations

import numpy as np
import pytest
from transformations import TRANSFORMATIONS, assert_gradient, assert_transformed

import srcad

GRID = np.array([[0.3, -0.4, 1.2], [1.1, 0.2, -0.6], [-0.8, 1.5, 0.4], [0.9, -1.3, 0.5]])
SCALE = 2.0


def peak(row, offset=1.0):
    if row[0] > 0:  # a branch on the slice's data: each call follows its own
        return np.sum(row**2) * SCALE + offset
    return np.max(row) * row[1]


def rows_to_scalars(x):
    return np.sum(np.apply_along_axis(peak, 1, x) ** 2)


def columns_with_an_argument(x):
    return np.sum(np.apply_along_axis(peak, 0, x, 0.5) ** 2)


def running_sums_along_columns(x):
    return np.sum(np.apply_along_axis(lambda c: np.cumsum(c) * SCALE, 0, x) ** 3)


def outer_products_of_rows(x):
    return np.sum(np.sin(np.apply_along_axis(lambda r: np.outer(r, r), 1, x)))


def norms_of_a_3d_array(x):
    return np.sum(np.apply_along_axis(np.linalg.norm, 2, x.reshape(2, 2, 3)) * SCALE)


def keyword_argument(x):
    return np.sum(np.apply_along_axis(peak, -1, x, offset=-0.25))


def axis_and_array_by_keyword(x):
    return np.sum(np.apply_along_axis(lambda c: np.cumsum(c) * SCALE, axis=0, arr=x) ** 2)


FUNCTIONS = [
    rows_to_scalars,
    columns_with_an_argument,
    running_sums_along_columns,
    outer_products_of_rows,
    norms_of_a_3d_array,
    keyword_argument,
    axis_and_array_by_keyword,
]


@pytest.mark.sampled(4)
@pytest.mark.parametrize("name", sorted(TRANSFORMATIONS))
@pytest.mark.parametrize("fun", FUNCTIONS, ids=lambda f: f.__name__)
def test_every_transformation_agrees_with_numpys_slice_by_slice_calls(name, fun):
    assert_transformed(name, fun, GRID, TRANSFORMATIONS[name](fun, GRID))


@pytest.mark.parametrize("fun", FUNCTIONS, ids=lambda f: f.__name__)
def test_the_value_and_a_changed_global_read_on_every_call(fun, monkeypatch):
    gradient = srcad.value_and_grad(fun)
    for scale in (2.0, -0.5):
        monkeypatch.setattr(__import__(__name__), "SCALE", scale, raising=True)
        value, got = gradient(GRID)
        assert value == pytest.approx(fun(GRID), rel=1e-12)
        assert_gradient(fun, GRID, got)


@pytest.mark.slow
@pytest.mark.parametrize("fun", FUNCTIONS, ids=lambda f: f.__name__)
def test_the_numba_backend_agrees(fun):
    pytest.importorskip("numba")
    expected = srcad.grad(fun)(GRID)
    np.testing.assert_allclose(srcad.grad(fun, backend="numba")(GRID), expected, rtol=1e-12)


def axis_out_of_range(x):
    return np.sum(np.apply_along_axis(peak, 2, x))


def empty_axis(x):
    return np.sum(np.apply_along_axis(peak, 1, x[:0]))


def shape_chosen_by_the_data(x):
    return np.sum(np.apply_along_axis(lambda r: r if r[0] > 0 else r[:1], 1, x))


def int_for_some_slices(x):  # NumPy: an int array, from the first slice's 0
    return np.sum(np.apply_along_axis(lambda r: 0 if r[0] < 0 else np.sum(r**2), 1, x))


@pytest.mark.parametrize(
    ("fun", "message"),
    [
        (axis_out_of_range, "got axis 2 for an array of 2 dimensions"),
        (empty_axis, "no slice to call func1d on"),
        (shape_chosen_by_the_data, "in one branch and"),
        (int_for_some_slices, "returns an int or a float"),
    ],
)
def test_what_numpy_raises_on_is_refused_at_the_line(fun, message):
    with pytest.raises(srcad.SrcadError, match=message) as error:
        srcad.grad(fun)(GRID)
    assert error.value.line == fun.__code__.co_firstlineno + 1
