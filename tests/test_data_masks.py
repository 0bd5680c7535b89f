"""Reading through boolean masks computed from data: ``x[x > 0]``, ``np.mean(x[x < 0])``.

The number of selected elements is known only when the function runs. Each function here is
compared with central differences in reverse and forward mode, then again at other data
(another mask: a new count, other positions) and after a global it reads changed. Warnings
are errors: the generated code must not evaluate ``log``/``sqrt`` where the plain function
does not. What needs the selection's length when compiling is refused at the user's line.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad

RNG = np.random.default_rng(5)
X = RNG.normal(size=7)
ROWS = RNG.normal(size=(6, 3))
W = RNG.normal(size=(3, 2))
C = RNG.normal(size=7)
SETTINGS = {"threshold": 0.0}


def mean_of_negatives(x):
    return np.mean(x[x < 0])


def log_of_positives(x):
    return np.sum(np.log(x[x > 0]))


def sqrt_affine(x):
    return np.sum(np.sqrt(x[x >= 0]) * 2.0 + 1.0)


def max_of_squares(x):
    return np.max(x[np.abs(x) < 1.5] ** 2)


def method_reductions(x):
    return (x[x > 0] ** 2).sum() + x[x < 0].mean() + x[x > -1].min()


def divided_by_len(x):
    positive = x[x > 0]
    return np.sum(positive) / len(positive) + np.sum(positive) / positive.shape[0]


def spread(x):
    return np.std(x[x > -0.5]) + np.var(x[x > -0.5], ddof=1)


def dot_products(x):
    positive = x[x > 0]
    return positive @ positive + np.dot(positive, positive) + np.linalg.norm(positive)


def one_mask_two_arrays(x):
    mask = x > SETTINGS["threshold"]
    return np.sum(x[mask] * C[mask]) + np.sum(C[x > 0] * np.sum(x))


def selected_rows(rows):
    kept = rows[rows[:, 0] > 0]
    return np.sum(np.tanh(kept @ W)) + np.sum(np.mean(kept, axis=0) ** 2)


def row_sums(rows):
    kept = rows[rows[:, 1] > -0.5]
    return np.sum(np.sum(kept, axis=1) ** 2)


def scaled_in_place(x):
    y = x * 1.0
    y[y < 0] *= 0.1
    return np.sum(y**3)


def written_back(x):
    y = x * 2.0
    positive = y > 0
    y[positive] = np.sqrt(y[positive])
    return np.sum(y * x)


def through_a_helper(x):
    def mean_square(v):
        return np.sum(v**2) / v.size

    return mean_square(x[x > 0])


def mask_written_twice(x):
    y = x * 2.0
    y[x > SETTINGS["threshold"]] = x[x > SETTINGS["threshold"]] ** 2
    return np.sum(y * np.arange(len(x)))


def with_other_operands(x):
    inside = x[x < 1]
    return np.sum(np.maximum(x[x > -1], np.sum(x) * 0.1)) + np.sum(np.clip(inside, -0.5, 0.5) ** 2)


FUNCTIONS = [
    mean_of_negatives,
    log_of_positives,
    sqrt_affine,
    max_of_squares,
    method_reductions,
    divided_by_len,
    spread,
    dot_products,
    one_mask_two_arrays,
    scaled_in_place,
    written_back,
    through_a_helper,
    with_other_operands,
    mask_written_twice,
]


def columns_of_selected_rows(rows):
    kept = rows[rows[:, 0] > SETTINGS["threshold"]]
    features = kept[:, 1:]  # the selected rows stay whole, the columns are picked
    last = rows[rows[:, 2] < 0.5][..., -1]
    flipped = kept[:, ::-1][:, 0]
    return np.sum(features**2) + np.max(np.exp(last)) + np.mean(flipped * rows[0, 1])


def through_positions(x):
    (kept,) = np.nonzero(x > SETTINGS["threshold"])
    y = x.copy()
    y[kept] = 0.5 * y[kept]  # a write through the positions is a write through the mask
    rows = np.outer(x, C)[np.where(x < 1.0)]  # rows of a matrix, by a 1-d mask's positions
    flat = x[np.flatnonzero(x > 0.2)]
    return np.sum(y**3) + np.mean(np.exp(x[(x > -1.0).nonzero()])) + np.sum(rows**2) + flat @ flat


def positions_of_a_matrix_mask(rows):
    mask = rows > SETTINGS["threshold"]
    return np.sum(np.log1p(rows[np.where(mask)] ** 2)) + np.max(rows[mask.nonzero()])


def _check(fun, *args):
    expected = srcad.numerical_grad(fun, *args)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, gradient = srcad.value_and_grad(fun)(*args)
        forward = srcad.grad(fun, mode="forward")(*args)
    assert value == pytest.approx(fun(*args))
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(forward, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.sampled(2)
@pytest.mark.parametrize("fun", FUNCTIONS, ids=lambda f: f.__name__)
def test_a_mask_from_data_in_both_modes_and_at_other_data(fun):
    _check(fun, X)
    _check(fun, 0.2 - 1.3 * X)  # other signs: another count, other positions


@pytest.mark.parametrize(
    "fun", [selected_rows, row_sums, columns_of_selected_rows], ids=lambda f: f.__name__
)
def test_rows_selected_by_a_mask_from_data(fun):
    _check(fun, ROWS)
    _check(fun, -ROWS)


@pytest.mark.parametrize(
    ("fun", "x"),
    [
        (one_mask_two_arrays, X),
        (mask_written_twice, X),
        (columns_of_selected_rows, ROWS),
        (through_positions, X),
        (positions_of_a_matrix_mask, ROWS),
    ],
)
def test_the_mask_follows_a_global_changed_between_calls(fun, x):
    gradient = srcad.grad(fun)
    np.testing.assert_allclose(gradient(x), srcad.numerical_grad(fun, x), rtol=1e-6)
    SETTINGS["threshold"] = 0.5
    try:
        np.testing.assert_allclose(gradient(x), srcad.numerical_grad(fun, x), rtol=1e-6)
    finally:
        SETTINGS["threshold"] = 0.0


def written_through_other_masks(x):
    y = x * 2.0
    y[x > 0] = x[x > 0.5] ** 2
    return np.sum(y)


def written_through_masks_of_other_signs(x):
    y = x * 2.0
    y[1.0 / (x * 0.0) > 0] = x[1.0 / (x * -0.0) > 0]
    return np.sum(y)


@pytest.mark.parametrize("fun", [written_through_other_masks, written_through_masks_of_other_signs])
def test_values_selected_through_another_mask_are_refused(fun):
    with pytest.raises(srcad.errors.UnsupportedSyntax, match="selected through another mask"):
        srcad.grad(fun)(X)


def test_the_generated_code_names_the_mask_after_the_selection():
    gradient = srcad.grad(divided_by_len)
    gradient(X)
    assert "positive_mask = x > 0" in srcad.source(gradient)


def first_selected(x):
    return x[x > 0][0]


def returned_selection(x):
    return x[x > 0]


def sorted_selection(x):
    return np.sum(np.sort(x[x > 0]))


def two_masks_combined(x):
    return np.sum(x[x > 0] * x[x < 1])


def row_of_selected_rows(x):
    return np.sum(np.outer(x, x)[x > 0][:2, 1])  # [:2] cuts along the selected axis


REFUSED_FOR_LENGTH = [first_selected, sorted_selection, two_masks_combined, row_of_selected_rows]


@pytest.mark.parametrize("fun", REFUSED_FOR_LENGTH, ids=lambda f: f.__name__)
def test_what_needs_the_length_is_refused_at_the_line(fun):
    with pytest.raises(srcad.SrcadError, match=r"test_data_masks.py:\d+: .*x\[x > 0\]"):
        srcad.grad(fun)(X)


def test_returning_a_selection_is_refused():
    with pytest.raises(srcad.SrcadError, match=r"test_data_masks.py:\d+"):
        srcad.vjp(returned_selection, X)


def selection_used_in_a_loop(x):
    positive = x[x > 0]
    total = 0.0
    for step in range(3):
        total = total + np.sum(np.log(positive) * (step + 1.0))
    return total


def selection_made_in_a_loop(x):
    total = 0.0
    for step in range(3):
        kept = x[x > step * 0.4 - 0.3]
        total = total + np.sum(kept**2)
    return total


@pytest.mark.parametrize(
    "fun", [selection_used_in_a_loop, selection_made_in_a_loop], ids=lambda f: f.__name__
)
def test_selections_and_loops(fun):
    _check(fun, X)
    _check(fun, 0.2 - 1.3 * X)


CONSTANT_MASK = np.array([True, False, True, True, False, True, False])


def combined_masks(x):
    inside = (x > -1.0) & (x < 1.0)
    outside = (x < -1.5) | ~(x < 1.5)
    either = (x > 0) ^ (x > 1.0)
    kept = x[CONSTANT_MASK & ~np.isnan(x)]
    return (
        np.sum(np.where(inside, x**2, 0.0))
        + np.sum(x[outside] ** 3)
        + np.sum(np.where(either, x, 0.0))
        + np.sum(kept)
    )


def test_masks_combine_with_and_or_xor_not():
    _check(combined_masks, X)
    _check(combined_masks, 0.2 - 1.3 * X)


def bitwise_on_data_ints(x):
    return np.sum(x) * (np.argmax(x) & 1)


def test_bitwise_operators_on_integers_from_data_are_refused_at_the_line():
    with pytest.raises(srcad.SrcadError, match=r"test_data_masks.py:\d+: .*booleans"):
        srcad.grad(bitwise_on_data_ints)(X)


def attention_with_padding(q, keep):
    scores = np.outer(q, q) / np.sqrt(3.0)
    scores[:, ~keep] = -1e9  # the padded columns: a mask of a later axis, from data
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    grid = np.stack([q, q * 2.0]).T[None]  # (1, 3, 2)
    grid[:, keep, :] = 0.5  # full slices after the mask too
    return np.sum(weights / weights.sum(axis=1, keepdims=True) * np.arange(3.0)) + np.sum(grid**2)


def test_a_number_written_through_a_mask_of_a_later_axis():
    """``s[:, ~pad] = -np.inf``, the mask an argument: refused as a selection whose length
    matters, though writing a number through it keeps every shape."""
    q = np.array([0.3, -0.5, 0.8])
    for keep in (np.array([True, False, True]), np.array([True, True, False])):
        expected = srcad.numerical_grad(attention_with_padding, q, keep)
        for mode in ("reverse", "forward"):
            got = srcad.grad(attention_with_padding, mode=mode)(q, keep)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
        assert srcad.value_and_grad(attention_with_padding)(q, keep)[0] == pytest.approx(
            attention_with_padding(q, keep)
        )


OBSERVED = np.array([[True, False, True], [False, True, True], [True, True, False]])
RATINGS = RNG.normal(size=(3, 3))


def factorized_by_positions(U):
    """Matrix factorization over the observed entries, by their positions (a global mask:
    its positions are fixed when compiling and the mask checked on every call)."""
    rows, cols = np.nonzero(OBSERVED)
    i, j = np.where(OBSERVED)
    total = np.sum((np.sum(U[rows] * U[cols], axis=1) - RATINGS[rows, cols]) ** 2)
    for r, c in zip(i, j, strict=True):
        total = total + U[r, 0] * U[c, 1]
    return total + np.sum(U.ravel()[np.flatnonzero(OBSERVED)[:2]]) + np.sum(np.argwhere(OBSERVED))


def test_positions_of_a_global_mask_are_constants_checked_on_every_call():
    U = RNG.normal(size=(3, 2))
    for mode in ("reverse", "forward"):
        gradient = srcad.grad(factorized_by_positions, mode=mode)
        np.testing.assert_allclose(
            gradient(U), srcad.numerical_grad(factorized_by_positions, U), rtol=1e-6
        )
        OBSERVED[0, 1], OBSERVED[2, 0] = True, False  # other positions, one more
        try:
            expected = srcad.numerical_grad(factorized_by_positions, U)
            np.testing.assert_allclose(gradient(U), expected, rtol=1e-6)
        finally:
            OBSERVED[0, 1], OBSERVED[2, 0] = False, True


def test_positions_where_a_condition_on_data_holds_select_as_the_condition():
    def positive_positions(x):
        return np.sum(x[np.nonzero(x > 0)] ** 2)

    _check(positive_positions, X)
    _check(positive_positions, -X)


YOBS = RNG.uniform(size=7)
LIMITS = {"low": 0.5}


def observed_positions(x):
    """Positions of a mask computed from a global float array (fixed when compiling,
    compared on every call) and a float setting."""
    idx = np.where(YOBS > LIMITS["low"])[0]
    others = np.nonzero(np.abs(YOBS - 0.5) > 0.3)[0]
    return np.sum((x[idx] - YOBS[idx]) ** 2) + np.sum(np.sin(x[others])) + np.sum(x * YOBS)


def test_positions_of_a_mask_of_global_float_arrays_follow_their_values():
    original = YOBS.copy()
    try:
        for mode in ("reverse", "forward"):
            gradient = srcad.grad(observed_positions, mode=mode)
            for change in range(3):  # the same values, then changed in place, then the setting
                if change == 1:
                    YOBS[:] = RNG.uniform(size=7)
                if change == 2:
                    LIMITS["low"] = 0.2
                expected = srcad.numerical_grad(observed_positions, X)
                np.testing.assert_allclose(gradient(X), expected, rtol=1e-6, atol=1e-8)
            YOBS[:], LIMITS["low"] = original, 0.5
    finally:
        YOBS[:], LIMITS["low"] = original, 0.5


def test_positions_of_a_mask_of_another_argument_follow_it_on_every_call():
    def selected(x, y):
        return np.sum(np.sin(x[np.nonzero(y > 0.5)[0]]))

    gradient = srcad.grad(selected)
    for y in (YOBS, 1.0 - YOBS):
        np.testing.assert_allclose(gradient(X, y), srcad.numerical_grad(selected, X, y), rtol=1e-6)


SIGNED = np.array([0.0, 1.0, -2.0])


def negative_positions(x):
    return np.sum(x[np.where(np.signbit(SIGNED))[0]] ** 3)


def test_a_fixed_array_changed_from_zero_to_minus_zero_recompiles():
    """0.0 == -0.0, but np.signbit (and 1 / y < 0) tells them apart."""
    gradient = srcad.grad(negative_positions)
    x = np.array([1.0, 2.0, 3.0])
    try:
        for value in (0.0, -0.0):
            SIGNED[0] = value
            np.testing.assert_allclose(gradient(x), srcad.numerical_grad(negative_positions, x))
    finally:
        SIGNED[0] = 0.0


def test_positions_of_a_mask_from_data_index_as_the_mask():
    """``x[np.where(x > 0)]`` and ``np.nonzero`` were refused ('np.where takes 3
    arguments'); as the whole index of an array over the mask they select as the mask."""
    _check(through_positions, X)
    _check(positions_of_a_matrix_mask, ROWS)  # (their thresholds changed: the test above)


def counted_positions(x):
    return len(np.where(x > 0)[0]) * np.sum(x)


def shifted_positions(x):
    return np.sum(x[np.where(x > 0)[0] - 1])


def rows_of_a_matrix_mask(rows):
    return np.sum(rows[np.nonzero(rows > 0)[0]])  # row numbers, repeated: not rows[mask]


@pytest.mark.parametrize(
    ("fun", "x", "what"),
    [
        (counted_positions, X, "len"),
        (shifted_positions, X, "arithmetic"),
        (rows_of_a_matrix_mask, ROWS, "some of their arrays"),
    ],
)
def test_positions_used_otherwise_are_refused_at_the_line(fun, x, what):
    with pytest.raises(srcad.SrcadError, match=rf"test_data_masks.py:\d+: .*{what}") as caught:
        srcad.grad(fun)(x)
    assert f":{fun.__code__.co_firstlineno + 1}:" in str(caught.value)
