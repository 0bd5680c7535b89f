"""Branches of ``np.where`` whose derivative is not finite where the other branch is taken,
NaNs that ``np.nansum`` and its kin skip, data masked out (NaN rows, zero divisors) under
gathers, wheres and products, and log-space sums of -inf terms.

``np.where(x > 0, np.sqrt(x), 0.0)`` at ``x <= 0``, ``np.where(x != 0, np.sin(x) / x, 1.0)``
at 0, ``p * np.log(p)`` guarded by ``p > 0``: the derivative is that of the branch taken,
finite, and reverse mode must give it as forward mode does (it gave NaN: the masked
cotangent, 0, times the other branch's slope, inf or NaN). Every case is compared with
forward mode and with central differences where the function is smooth, with a global the
branch reads changed between calls, in loops and under an ``if`` too. Data used unmasked
somewhere keeps its NaN, and plain code keeps its plain gradient (no extra ``where``).
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest
import scipy.special

import srcad

WEIGHTS = {"a": 1.5}
X = np.array([0.0, 0.5, -1.0, 2.0, 1.3])  # 0: both branches meet; -1: sqrt/log undefined
SMOOTH = np.array([0.2, 0.7, -1.0, 2.1, -0.3])  # away from the kinks, for differences


def safe_sqrt(x):
    return np.sum(np.where(x > 0, np.sqrt(x), x))


def sinc(x):
    return np.sum(np.where(x == 0, 1.0, np.sin(x) / x) * np.arange(5.0))


def entropy_terms(p):
    return np.sum(np.where(p > 0, p * np.log(p), 0.0))


def scaled_root(x):
    return np.sum(np.where(x > 0, np.sqrt(WEIGHTS["a"] * x), -x))  # a broadcast into it


def guarded_sum(x):
    shifted = x + WEIGHTS["a"]  # used by the condition too: the mask goes on its adjoint
    return np.sum(np.where(shifted > 1.0, np.sqrt(shifted - 1.0), 0.0 * x))


def in_a_loop(x):
    total = 0.0
    for k in range(3):
        y = x - 0.5 * k
        total = total + np.sum(np.where(y > 0, np.sqrt(y) * WEIGHTS["a"], y**2))
    return total


def under_an_if(x):
    if np.sum(x) > 0:
        return np.sum(np.where(x != 0, np.sin(x) / x, 1.0))
    return 0.0


def nested_wheres(x):  # sqrt(x) is read only where both conditions hold
    return np.sum(np.where(x > 0, np.where(x < 2, np.sqrt(x) * WEIGHTS["a"], 2 * x), 0.0))


def nested_in_the_other_branch(x):
    inner = np.where(x < 2, np.sqrt(x), np.log(x) * WEIGHTS["a"])
    return np.sum(np.where(x <= 0, x**2, inner))


def nested_through_a_function(x):
    return np.sum(np.where(x > 0, np.exp(np.where(x < 2, np.sqrt(x), WEIGHTS["a"])), -x))


def three_deep(x):
    deepest = np.where(x > 1, np.log(x - 1.0), np.sqrt(x) * WEIGHTS["a"])
    return np.sum(np.where(x != 0, np.where(x > 0.1, deepest, 0.5 * x), 1.0))


def scalar_branch_broadcast(x):  # sqrt of a scalar, broadcast into the where's shape
    m = np.mean(x) - WEIGHTS["a"]
    return np.sum(np.where(m > 0, np.sqrt(m), x) ** 2)


def computed_before_the_loop(x):  # the where reads it in every step, its mask varies
    root = np.sqrt(x)
    total = 0.0
    for t in range(3):
        total = total + np.sum(np.where(x > 0.5 * t, root * WEIGHTS["a"], x))
    return total


def computed_before_an_if(x):
    logs = np.log(x)
    if WEIGHTS["a"] > 0:
        return np.sum(np.where(x > 0, logs, 0.0))
    return np.sum(x)


def nested_in_a_loop(x):
    root = np.sqrt(x) * WEIGHTS["a"]
    total = 0.0
    for _ in range(2):
        total = total + np.sum(np.where(x > 0, np.where(x < 2, root, 1.0), 0.0))
    return total


def select_pieces(x):  # the pieces np.select does not choose add nothing
    pieces = [np.sqrt(x) * WEIGHTS["a"], np.log(-x)]
    return np.sum(np.select([x > 0, x < -0.5], pieces, default=x))


def masked_and_read_at_an_index(x):
    root = np.sqrt(x) * WEIGHTS["a"]
    return np.sum(np.where(x > 0, root, 0.0)) + 2.0 * root[3]


def before_an_if_on_the_data(x):
    root = np.sqrt(x)
    if np.sum(x) > 0:
        return np.sum(np.where(x > 0, root * WEIGHTS["a"], 0.0))
    return np.sum(x)


def row_sums_of_logs(x):  # a per-row log-likelihood, rows with a non-positive value masked
    rows = np.sum(np.log(x[1:]).reshape(2, 2), axis=1)
    valid = np.all(x[1:].reshape(2, 2) > 0, axis=1)
    return np.sum(np.where(valid, rows * WEIGHTS["a"], 0.0)) + np.sum(x)


def one_value_in_two_pieces(x):
    root = np.sqrt(x)
    pieces = np.stack([root * WEIGHTS["a"], 2.0 * root])
    return np.sum(np.select([x > 1, x > 0], [root, 2.0 * root], x)) + np.sum(
        np.where(np.stack([x > 0, x > 1]), pieces, 0.0)
    )


def clipped_log(x):  # log(0) = -inf clipped: its slope there takes no part
    return np.sum(np.clip(np.log(np.abs(x) * WEIGHTS["a"]), -5.0, 5.0))


def root_above_a_floor(x):
    return np.sum(np.maximum(np.sqrt(np.abs(x)) * WEIGHTS["a"], 0.1))


def scaled_by_a_masked_root(x):
    t = np.mean(x) - WEIGHTS["a"]
    return np.sum(np.where(t > 0, x / np.sqrt(t), x))


CASES = [
    safe_sqrt,
    sinc,
    entropy_terms,
    scaled_root,
    guarded_sum,
    in_a_loop,
    under_an_if,
    nested_wheres,
    nested_in_the_other_branch,
    nested_through_a_function,
    three_deep,
    scalar_branch_broadcast,
    computed_before_the_loop,
    computed_before_an_if,
    nested_in_a_loop,
    select_pieces,
    masked_and_read_at_an_index,
    before_an_if_on_the_data,
    row_sums_of_logs,
    scaled_by_a_masked_root,
    one_value_in_two_pieces,
    clipped_log,
    root_above_a_floor,
]


@pytest.mark.sampled(2)
@pytest.mark.parametrize("function", CASES, ids=lambda f: f.__name__)
def test_reverse_mode_gives_the_taken_branchs_derivative(function):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sqrt(-1) in the plain function too
        for a in (1.5, 0.25):  # the branch reads a global that changes
            WEIGHTS["a"] = a
            gradient = srcad.grad(function)(X)
            assert np.all(np.isfinite(gradient)), gradient
            np.testing.assert_allclose(gradient, srcad.grad(function, mode="forward")(X))
            np.testing.assert_allclose(
                srcad.grad(function)(SMOOTH),
                srcad.numerical_grad(function, SMOOTH),
                rtol=1e-6,
                atol=1e-8,
            )
    WEIGHTS["a"] = 1.5


def relu_log_softmax(W):
    hidden = np.maximum(DATA["X"][[0, 2, 3]] @ W, 0.0) * WEIGHTS["a"]
    return -np.sum(scipy.special.log_softmax(hidden, axis=1)[np.arange(3), LABELS[:3]])


def test_a_label_picked_after_a_softmax_masks_no_hidden_layer():
    """The cotangent of a log-softmax picked at the labels is zero elsewhere, but the
    softmax spreads it over every score: the hidden layer gets no mask (it got
    ``np.where(dh != 0.0, ...)``, 6 % of a large ReLU network's gradient)."""
    W = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]])
    gradient = srcad.grad(relu_log_softmax)
    try:
        for a in (1.5, 0.25):  # the scale the function reads changes
            WEIGHTS["a"] = a
            expected = srcad.numerical_grad(relu_log_softmax, W)
            np.testing.assert_allclose(gradient(W), expected, rtol=1e-6)
    finally:
        WEIGHTS["a"] = 1.5
    assert "!= 0" not in srcad.source(gradient)


LIMITS = {"total": 10.0}


def read_in_a_branch_not_taken(x):
    root = np.sqrt(x)  # its slope is infinite at 0
    if np.sum(x) > LIMITS["total"]:
        return np.sum(root)
    return np.sum(x**2)


def read_in_a_loop_of_no_step(x):
    root = np.sqrt(x)
    total, k = 0.0, 0
    while k < int(np.sum(x) - LIMITS["total"]):
        total = total + np.sum(root)
        k += 1
    return total + np.sum(x)


def masked_in_one_branch_only(x):
    root = np.sqrt(x)
    if np.sum(x) > LIMITS["total"]:
        return np.sum(root * 2.0)
    return np.sum(np.where(x > 0, root, 0.0))


@pytest.mark.parametrize(
    "function", [read_in_a_branch_not_taken, read_in_a_loop_of_no_step, masked_in_one_branch_only]
)
def test_a_value_read_only_where_the_code_does_not_run_adds_nothing(function):
    """``dr`` is zeros when the branch or the loop reading ``r`` does not run: times the
    infinite slope of ``np.sqrt`` at 0 it was NaN."""
    x = np.array([0.0, 1.0, 2.0])
    try:
        for limit in (10.0, 20.0):  # the other branch, or no step, on both calls
            LIMITS["total"] = limit
            gradient = srcad.grad(function)(x)
            assert np.all(np.isfinite(gradient)), gradient
            np.testing.assert_allclose(gradient, srcad.grad(function, mode="forward")(x))
        LIMITS["total"] = 0.5  # the branch runs: the smooth elements' derivative
        smooth = np.array([0.3, 1.0, 2.0])
        np.testing.assert_allclose(
            srcad.grad(function)(smooth), srcad.numerical_grad(function, smooth), rtol=1e-6
        )
    finally:
        LIMITS["total"] = 10.0


def read_in_both_branches(x):
    grown = np.exp(x)
    if np.sum(x) > LIMITS["total"]:
        return np.sum(np.sin(grown))
    return np.sum(grown * 0.9)


def test_a_value_read_in_both_branches_of_an_if_gets_no_mask():
    """One of the branches always runs and reads all of it: no ``np.where(d != 0, ...)``."""
    x = np.array([0.3, 1.0, 2.0])
    gradient = srcad.grad(read_in_both_branches)
    for limit in (10.0, 1.0):
        LIMITS["total"] = limit
        np.testing.assert_allclose(
            gradient(x), srcad.numerical_grad(read_in_both_branches, x), rtol=1e-6
        )
    LIMITS["total"] = 10.0
    assert "!= 0" not in srcad.source(gradient)


ROWS = {"valid": np.array([True, False, True])}


def row_statistics(X):
    """Per-row std, product and norm of logs and roots, the rows with a zero masked out:
    each reduction's own backward computed 0 * inf there."""
    spread = np.std(np.sqrt(X), axis=1) + np.prod(np.log(X), axis=1)
    return np.sum(np.where(ROWS["valid"], spread + np.linalg.norm(np.log(X), axis=1), 0.0))


def test_row_reductions_before_a_row_mask():
    X = np.array([[1.0, 2.0], [0.0, 1.5], [0.5, 3.0]])
    try:
        for valid in ([True, False, True], [False, False, True]):  # the mask changes
            ROWS["valid"] = np.array(valid)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # log(0) in the plain function
                expected = srcad.numerical_grad(row_statistics, X)
                got = srcad.grad(row_statistics)(X)
                forward = srcad.grad(row_statistics, mode="forward")(X)
            assert np.all(np.isfinite(got)), got
            np.testing.assert_allclose(got, forward, rtol=1e-10, atol=1e-12)
            kept = np.array(valid)
            np.testing.assert_allclose(got[kept], expected[kept], rtol=1e-6)
            assert not got[~kept].any()
    finally:
        ROWS["valid"] = np.array([True, False, True])


def test_a_python_float_at_a_masked_log_in_forward_mode():
    """``s_dot / s`` of ``np.log(s)`` at ``s == 0.0`` divides as NumPy does (inf, dropped by
    the mask); Python floats raised ZeroDivisionError where the plain function warns."""

    def log_unless_zero(x, s):
        return np.sum(x * WEIGHTS["a"]) + np.where(s > 0, np.log(s), 0.0)

    x = np.array([1.0, -2.0])
    for s, a in ((0.0, 1.5), (2.0, 0.25)):  # the global the function reads changes too
        WEIGHTS["a"] = a
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # np.log(0.0) in the plain function
            expected_x = srcad.numerical_grad(log_unless_zero, x, s)
        np.testing.assert_allclose(srcad.grad(log_unless_zero)(x, s), expected_x, rtol=1e-8)
        expected = 0.0 if s == 0.0 else 1.0 / s
        for mode in ("forward", "reverse"):
            assert srcad.grad(log_unless_zero, argnums=1, mode=mode)(x, s) == expected
        assert srcad.jvp(log_unless_zero, (x, s), (np.zeros(2), 1.0))[1] == expected
        assert srcad.vjp(log_unless_zero, x, s)[1](1.0)[1] == expected
    WEIGHTS["a"] = 1.5


def test_a_sum_divided_by_a_fixed_zero_gives_inf_as_numpy_does():
    def mean_of(s, n):
        return np.sum(np.ones(3) * s) / n

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isinf(mean_of(1.0, 0))  # the plain function: NumPy's number over 0
        for mode in ("reverse", "forward"):
            assert np.isposinf(srcad.grad(mean_of, mode=mode)(1.0, 0))
        assert srcad.grad(mean_of)(1.0, 2) == 1.5


def test_a_parameter_broadcast_into_a_branch_gets_the_masked_sum():
    def root(x, a):
        return np.sum(np.where(x > 0, np.sqrt(a * x), 0.0))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        dx, da = srcad.grad(root, argnums=(0, 1))(X, 2.0)
    assert np.isfinite(da) and da == pytest.approx(np.sum(np.sqrt(X[X > 0]) / (2 * np.sqrt(2.0))))
    np.testing.assert_allclose(dx, np.where(X > 0, np.sqrt(2.0) / (2 * np.sqrt(X + (X <= 0))), 0))


def test_second_derivatives_through_a_masked_branch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        hessian = srcad.hessian(entropy_terms)(X)
    expected = np.diag(np.where(X > 0, 1.0 / np.where(X > 0, X, 1.0), 0.0))  # d2 p log p = 1/p
    np.testing.assert_allclose(hessian, expected)


def test_second_derivatives_through_nested_branches():
    """sqrt(x) * a where 0 < x < 2: its second derivative, 0 elsewhere (-1 and 0 included)."""
    for a in (1.5, 0.25):
        WEIGHTS["a"] = a
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            hessian = srcad.hessian(nested_wheres)(X)
        inside = (X > 0) & (X < 2)
        curvature = -0.25 * a * np.where(inside, X, 1.0) ** -1.5
        np.testing.assert_allclose(hessian, np.diag(np.where(inside, curvature, 0.0)))
    WEIGHTS["a"] = 1.5


def test_a_branch_linear_in_the_input_costs_no_second_where():
    """Leaky ReLU's slope 0.01 is finite everywhere: no mask beyond the where's own two."""

    def leaky(x):
        return np.sum(np.where(x > 0, x, 0.01 * x) ** 2)

    gradient = srcad.grad(leaky)
    np.testing.assert_allclose(gradient(SMOOTH), srcad.numerical_grad(leaky, SMOOTH), rtol=1e-7)
    backward = srcad.source(gradient).split("# backward", 1)[1]
    code = [line.split("#")[0] for line in backward.splitlines()[1:]]
    assert sum(len(re.findall(r"np\.where\(", line)) for line in code) == 2


# --- NaNs skipped: missing data ---------------------------------------------------------------
OBSERVED = {"y": np.array([1.0, np.nan, 2.0, 0.5])}


def skips_nans(mu):
    y = OBSERVED["y"]
    squares = np.nansum((y - mu) ** 2) + np.nanmean((y - 2.0 * mu) ** 2)
    spread = np.nanstd(y * mu) + np.nanmax(y * mu) + np.sum(np.nan_to_num((y - mu) ** 3))
    residual = (y - mu) ** 2
    residual[np.isnan(residual)] = 0.0  # written through a mask from data
    kept = (y - mu) ** 2
    return squares + spread + np.sum(residual) + np.sum(kept[~np.isnan(kept)])


def test_nans_skipped_by_nansum_and_its_kin_pass_no_nan_back():
    """A likelihood with missing data: the NaN positions' cotangent is 0, and the slope
    there (2 (y - mu), NaN) made the reverse-mode gradient NaN; forward mode was right."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for y in (np.array([1.0, np.nan, 2.0, 0.5]), np.array([np.nan, 3.0, np.nan, -1.0])):
            OBSERVED["y"] = y  # other positions missing on the second call
            for mu in (0.3, -0.8):
                expected = srcad.numerical_grad(skips_nans, mu)
                for mode in ("reverse", "forward"):
                    got = srcad.grad(skips_nans, mode=mode)(mu)
                    assert got == pytest.approx(expected, rel=1e-6)


# --- log-space sums of -inf terms: a left-to-right HMM ----------------------------------------
TRANSITIONS = {"log": np.log(np.array([[0.7, 0.3, 0.0], [0.0, 0.8, 0.2], [0.0, 0.0, 1.0]]))}


def left_to_right(emissions):
    alpha = np.log(np.array([1.0, 0.0, 0.0])) + emissions  # -inf where a state cannot start
    for t in range(3):
        alpha = scipy.special.logsumexp(alpha[:, None] + TRANSITIONS["log"], axis=0)
        alpha = alpha + emissions * (t + 1)
    nowhere = np.logaddexp(emissions[1] - np.inf, emissions[2] - np.inf)  # -inf
    return scipy.special.logsumexp(alpha) + np.logaddexp(nowhere, emissions[0])


def test_log_sums_whose_terms_are_all_minus_infinity_have_finite_gradients():
    """exp(term - total) with term and total -inf is NaN: the share of such a term is 0."""
    emissions = np.array([0.3, 0.5, -0.2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # log(0) in the plain function
        for log_transitions in (TRANSITIONS["log"], TRANSITIONS["log"] * 1.5):
            TRANSITIONS["log"] = log_transitions
            expected = srcad.numerical_grad(left_to_right, emissions)
            for mode in ("reverse", "forward"):
                got = srcad.grad(left_to_right, mode=mode)(emissions)
                np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_xlogy_has_slope_zero_where_its_first_argument_is_zero():
    def entropy_like(p):
        weights = np.array([2.0, 0.0, 0.0])
        return np.sum(scipy.special.xlogy(weights, np.concatenate([p, [0.0]]) * weights))

    p = np.array([0.3, 0.7])
    for mode in ("reverse", "forward"):
        np.testing.assert_allclose(srcad.grad(entropy_like, mode=mode)(p), [2.0 / 0.3, 0.0])


# --- data masked out: NaN rows, zero divisors, through gathers and products -------------------
# 0 * nan where the cotangent of a masked-out element meets the NaN (or 1 / 0) of the data
# there: reverse mode gave NaN, forward mode the derivative of the plain function.
def _data(nan_row):
    features = np.array([[1.0, 2.0], [0.3, 3.0], [0.5, 1.0], [2.0, -1.5]])
    features[nan_row, nan_row % 2] = np.nan
    return {
        "X": features,
        "valid": ~np.isnan(features).any(axis=1),
        "y": np.array([1.0, 2.0, 0.5, -1.0]),
        "counts": np.where(np.arange(4) == nan_row, 0.0, np.arange(1.0, 5.0)),
        "Z": features.T.copy(),  # the NaN in a column
        "embeddings": np.arange(12.0).reshape(3, 2, 2) / 10.0 - 0.2 * nan_row,
    }


DATA = _data(1)


def gathered_product(w):
    X, valid = DATA["X"], DATA["valid"]
    return np.sum((X * w)[valid] ** 2)  # a boolean gather of a broadcast product


def masked_matmul(w):
    return np.sum(np.where(DATA["valid"], DATA["X"] @ w, 0.0) ** 2)


def nansum_of_matmul(w):
    return np.nansum((DATA["X"] @ w) ** 2)


def regression(w):
    X, y = DATA["X"], DATA["y"]
    valid = ~np.isnan(X).any(axis=1)  # computed from the data on every call
    return np.mean((X @ w - y)[valid] ** 2)


def products_with_row_masks(w):
    X, valid = DATA["X"], DATA["valid"]
    scores = np.dot(X, w) + np.einsum("ij,j->i", X, w * 2.0)
    wide = X @ np.outer(w, np.array([1.0, -0.5, 2.0]))  # (4, 3): a mask along rows
    return np.sum(np.where(valid, scores, 0.0) ** 2) + np.sum(np.where(valid[:, None], wide, 0.0))


def nans_skipped_in_products(w):
    X = DATA["X"]
    wide = np.tanh(X @ np.outer(w, np.array([1.0, -0.5, 2.0])))  # NaN along the whole row
    transposed = np.einsum("ij,j->ji", X, w)  # the result's axes in the other order
    return np.nansum(wide) + np.nansum(transposed**2)


def column_mask(w):
    Z = DATA["Z"]  # w @ Z: the NaN sits in a column, read by one result
    return np.nansum(np.sin(w @ Z))


def divided_by_counts(x):
    counts = DATA["counts"]
    return np.sum((x / counts)[counts > 0] ** 2) + np.sum(np.where(counts > 0, x / counts, 0.0))


def local_constants(x):
    n = np.array([2.0, 0.0, 3.0, 1.0])
    observed = np.array([1.0, np.nan, 2.0, -0.5])
    kept = np.array([True, False, True, True])
    return (
        np.sum(np.where(n > 0, x / n, 0.0))
        + np.nansum(x * observed)
        + np.sum((x * observed)[kept] ** 2)
    )


def two_masks_on_one_value(x):
    r = x * DATA["Z"][1]  # NaN where the feature is missing
    return np.nansum(r) + np.sum(np.where(np.isfinite(r), r, 0.0) ** 2)


def shared_by_two_wheres(x):
    s = np.sqrt(x)
    return np.sum(np.where(x > 0, s, 0.0) + np.where(x > 1, s, 0.0))


def mean_pooling(w):
    hidden = np.tanh(DATA["embeddings"] @ w)  # 3 sequences of 2 steps
    mask = np.array([[True, False], [False, False], [True, True]])  # the second one empty
    counts = mask.sum(axis=1)
    pooled = (hidden * mask).sum(axis=1) / counts  # 0 / 0 for the empty one
    return np.sum(np.where(counts > 0, pooled, 0.0) ** 2)


def masked_row_maxima(w):  # the NaN row's maximum is NaN: masked, it adds nothing
    return np.sum(np.where(DATA["valid"], np.max(DATA["X"] * w, axis=1), 0.0))


def nansum_in_a_loop(w):
    total = 0.0
    for k in range(2):
        total = total + np.nansum(np.tanh(DATA["X"] @ (w * (k + 1.0))))
    return total


MASKED_DATA = [
    gathered_product,
    masked_matmul,
    nansum_of_matmul,
    regression,
    products_with_row_masks,
    nans_skipped_in_products,
    column_mask,
    divided_by_counts,
    local_constants,
    two_masks_on_one_value,
    shared_by_two_wheres,
    mean_pooling,
    nansum_in_a_loop,
    masked_row_maxima,
]
POINTS = {"w": np.array([0.5, -1.0]), "x": np.array([0.3, -0.7, 1.5, 2.2])}


@pytest.mark.sampled(2)
@pytest.mark.parametrize("function", MASKED_DATA, ids=lambda f: f.__name__)
def test_data_masked_out_gives_the_gradient_of_the_rest(function):
    point = POINTS[next(iter(inspect.signature(function).parameters))]
    gradient = srcad.grad(function)
    try:
        for nan_row in (1, 2):  # another row missing on the second call
            DATA.update(_data(nan_row))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # the plain function's NaNs
                expected = srcad.numerical_grad(function, point)
                got = gradient(point)
                forward = srcad.grad(function, mode="forward")(point)
            assert np.all(np.isfinite(expected)), expected
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(forward, expected, rtol=1e-6, atol=1e-8)
    finally:
        DATA.update(_data(1))


def attention_rows(scores, values):
    """Rows of ``scores`` that ``valid`` drops hold NaN (padding): differentiated too, they
    spread 0 * NaN over the whole of dvalues through ``scores.T @ dout``."""
    return np.sum(np.where(DATA["valid"][:, None], scores @ values, 0.0) ** 2)


def test_a_masked_product_of_two_differentiated_factors():
    values = np.array([[1.0, 2.0, -1.0], [0.5, -0.3, 2.0]])
    for nan_row in (1, 2):  # another row padded on the second call
        DATA.update(_data(nan_row))
        scores = DATA["X"] * 0.7  # the padded row: NaN
        expected = srcad.numerical_grad(attention_rows, scores, values, argnums=(0, 1))
        for mode in ("reverse", "forward"):
            got = srcad.grad(attention_rows, argnums=(0, 1), mode=mode)(scores, values)
            for part, reference in zip(got, expected, strict=True):
                np.testing.assert_allclose(part, reference, rtol=1e-6, atol=1e-8)
    DATA.update(_data(1))


RATINGS = {"R": np.array([[4.0, np.nan, 1.0], [np.nan, 2.0, 5.0], [3.0, 3.5, np.nan]])}


def matrix_factorization(U, V):
    R = RATINGS["R"]
    return np.sum(((U @ V.T) - R)[~np.isnan(R)] ** 2) + np.nansum((U @ V.T - R) ** 2)


def test_matrix_factorization_with_unobserved_ratings():
    U = np.array([[0.3, -0.2], [0.5, 0.1], [-0.4, 0.7]])
    V = np.array([[0.2, 0.6], [-0.3, 0.4], [0.8, -0.1]])
    gradient = srcad.grad(matrix_factorization, argnums=(0, 1))
    for unobserved in ((0, 1), (2, 0)):  # another rating missing on the second call
        R = np.array([[4.0, 1.5, 1.0], [np.nan, 2.0, 5.0], [3.0, 3.5, 2.5]])
        R[unobserved] = np.nan
        RATINGS["R"] = R
        expected = srcad.numerical_grad(matrix_factorization, U, V, argnums=(0, 1))
        for got in (gradient(U, V), srcad.grad(matrix_factorization, (0, 1), mode="forward")(U, V)):
            for part, reference in zip(got, expected, strict=True):
                np.testing.assert_allclose(part, reference, rtol=1e-6, atol=1e-8)


def also_unmasked(w):
    X = DATA["X"]
    return np.sum((X * w)[DATA["valid"]] ** 2) + np.sum(X @ w)


def row_read_by_a_kept_result(w):
    kept = np.ones((4, 2), dtype=bool)
    kept[1, 1] = False  # the NaN row still has one result kept
    return np.sum(np.where(kept, DATA["X"] @ np.outer(w, [1.0, 2.0]), 0.0))


def gathered_with_the_nan_row(w):
    return np.sum((DATA["X"] * w)[[0, 1, 3]] ** 2)


def skipped_once_summed_once(w):
    r = DATA["X"] @ w
    return np.nansum(r) + np.sum(r)


@pytest.mark.parametrize(
    "function",
    [also_unmasked, row_read_by_a_kept_result, gathered_with_the_nan_row, skipped_once_summed_once],
    ids=lambda f: f.__name__,
)
def test_data_used_unmasked_somewhere_keeps_its_nan(function):
    """The value is NaN, and so are its differences: the masks must not hide that."""
    w = POINTS["w"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(function(w)) and np.all(np.isnan(srcad.numerical_grad(function, w)))
        assert np.isnan(srcad.grad(function)(w)[1])  # the NaN feature's weight


LABELS = np.array([0, 2, 1, 1])


def softmax_cross_entropy(W):
    z = DATA["X"][[0, 2, 3, 0]] @ W
    p = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
    return -np.sum(np.log(p[np.arange(4), LABELS])) - np.sum(z[np.arange(4), LABELS])


def relu_layer(W):
    z = DATA["X"][[0, 2, 3]] @ W
    return np.sum(np.where(z > 0, z, 0.0) ** 2)


@pytest.mark.parametrize(
    "function, wheres", [(softmax_cross_entropy, 2), (relu_layer, 1)], ids=["softmax", "relu"]
)
def test_plain_indexing_and_masks_of_the_parameters_add_no_where(function, wheres):
    """Picking scores by label reads data, but nothing it masks out; ReLU's mask depends on
    the weights: neither masks an operand of its product. (The softmax's division, read
    only at the labels, keeps its two contributions where its cotangent is not zero.)"""
    W = np.array([[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]])
    gradient = srcad.grad(function)
    np.testing.assert_allclose(gradient(W), srcad.numerical_grad(function, W), rtol=1e-6)
    backward = srcad.source(gradient).split("# backward", 1)[1]
    code = [line.split("#")[0] for line in backward.splitlines()[1:]]
    assert sum(len(re.findall(r"np\.where\(", line)) for line in code) == wheres
    products = [line for line in code if line.lstrip().startswith("dW = ")]
    assert products and not any("np.where" in line for line in products)


def test_a_masked_product_runs_on_array_api_arrays():
    """The operand's mask is ``np.reshape(valid, shape=(4, 1))`` for a constant ``valid``: the
    array-API variant dropped the keyword ``shape``."""
    xp = pytest.importorskip("array_api_strict")
    pytest.importorskip("array_api_compat")
    w = POINTS["w"]
    expected = srcad.grad(masked_matmul)(w)
    np.testing.assert_allclose(np.asarray(srcad.grad(masked_matmul)(xp.asarray(w))), expected)
