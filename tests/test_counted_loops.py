"""``for i in range(n)`` with a count the arguments decide (``srcad.lower.counted_loops``):
an ``np.int64`` argument, ``int(np.sum(mask))`` of an argument's mask, a start and a step,
counting down, ``else`` and ``break``, and ``enumerate`` of such a range.

Checked: every transformation agrees with central differences of the plain function, and
the value with the plain function's, for one count and then another (the same compiled
code runs both: the count is a value of the run); numba agrees with NumPy; a count from an
a body a while loop cannot carry keeps the range's refusal; a count from a static loop's
counter unrolls that loop.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from transformations import TRANSFORMATIONS, assert_gradient

import srcad

X = np.array([0.3, 1.6, -0.4, 2.1, 0.8, -1.2])
SCALE = 0.5


def weighted_squares(x, n):
    s = 0.0
    for i in range(n):
        s = s + SCALE * x[i] ** 2 * (i + 1)
    return s


def every_other_of_the_mask(x, mask):
    s = 0.0
    for i in range(1, int(np.sum(mask)), 2):
        s = s + np.sin(x[i]) * i
    else:
        s = s * 2.0
    return s


def counting_down_until_large(x, n):
    s = 0.0
    for i in range(n - 1, -1, -1):
        s = s * 0.5 + np.tanh(x[i])
        if s > 1.5:
            break
    return s


def argmax_many_terms(x, unused):
    s = 0.0
    for k in range(int(np.argmax(x))):
        s = s + x[k] * x[k + 1]
    return s


def triangle_of_products(x, n):
    s = 0.0
    for j in range(n):
        for i in range(j):  # counted by the counter of a loop counted by data
            s = s + x[i] * x[j]
    return s


def counted_by_a_loops_result(x, n):
    s = 0.0
    for j in range(n):
        s = s + x[j]
    for k in range(j + 1):  # j: the first loop's last counter
        s = s * 0.9 + np.sin(x[k])
    return s


def enumerated_from_one(x, n):
    s = 0.0
    for k, i in enumerate(range(n - 1, -1, -1), start=1):  # k counts beside i
        s = s + x[i] * k + np.cos(x[k - 1]) * i
    return s


def enumerated_reversed(x, n):
    s = 0.0
    for k, i in enumerate(reversed(range(n))):
        s = s * 0.8 + x[i] ** 2 * (k + 0.5)
    return s


def enumerated_from_the_count(x, n):
    s = 0.0
    for k, i in enumerate(range(n), start=n):  # a start from data too
        s = s + x[i] * k
    return s


CASES = [
    (weighted_squares, np.int64(3)),
    (weighted_squares, np.int64(6)),
    (weighted_squares, np.int64(0)),
    (every_other_of_the_mask, np.array([1, 1, 1, 1, 1, 0])),
    (every_other_of_the_mask, np.array([1, 0, 0, 0, 0, 0])),
    (counting_down_until_large, np.int64(6)),
    (counting_down_until_large, np.int64(2)),
    (argmax_many_terms, 0),
    (triangle_of_products, np.int64(5)),
    (counted_by_a_loops_result, np.int64(4)),
    (enumerated_from_one, np.int64(5)),
    (enumerated_reversed, np.array([2, 3])[1]),
    (enumerated_from_the_count, np.int64(4)),
]


@pytest.mark.sampled(4)
@pytest.mark.parametrize("name", sorted(TRANSFORMATIONS))
@pytest.mark.parametrize("fun, count", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_a_count_from_the_arguments_in_every_transformation(name, fun, count):
    def at_count(x):
        return fun(x, count)

    got = TRANSFORMATIONS[name](at_count, X)
    if name == "hessian":
        rows = [
            srcad.numerical_grad(lambda v, k=k: srcad.grad(at_count)(v)[k], X) for k in range(6)
        ]
        np.testing.assert_allclose(got, np.array(rows), rtol=1e-5, atol=1e-7)
    else:
        assert_gradient(at_count, X, got)


@pytest.mark.sampled(2)
@pytest.mark.parametrize("fun, count", CASES, ids=lambda c: getattr(c, "__name__", str(c)))
def test_one_compile_runs_every_count(fun, count):
    gradient = srcad.value_and_grad(fun)
    other = count[::-1] if np.ndim(count) else count - 1 if count > 0 else count + 1
    compiled = []
    for x, n in ((X, count), (2.0 * X, other)):
        value, got = gradient(x, n)
        compiled.append(gradient.last)
        assert value == pytest.approx(fun(x, n), rel=1e-12)
        assert_gradient(lambda v, n=n: fun(v, n), x, got)
    is_traced = isinstance(count, (np.ndarray, np.integer))  # a Python int is fixed
    assert (compiled[0] is compiled[1]) == is_traced


def test_the_generated_code_counts_with_a_while_loop():
    gradient = srcad.grad(weighted_squares)
    gradient(X, np.int64(4))
    source = srcad.source(gradient)
    assert "while i_next < n:" in source
    code = source.split("def weighted_squares_grad_unchecked")[1]
    assert not [line for line in code.splitlines() if line.strip().startswith("for ")]


@pytest.mark.slow
def test_numba_agrees_with_numpy():
    pytest.importorskip("numba")
    for fun, count in CASES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a fallback runs the NumPy code: same numbers
            got = srcad.value_and_grad(fun, backend="numba")(X, count)
        expected = srcad.value_and_grad(fun)(X, count)
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-12, atol=1e-15)


def growing_a_list(x, n):
    values = []
    for i in range(n):
        values.append(x[i] ** 2)
    return sum(values)


@pytest.mark.parametrize("fun", [growing_a_list])
def test_what_a_while_loop_cannot_carry_keeps_the_ranges_refusal(fun):
    with pytest.raises(srcad.UnsupportedSyntax, match="the bounds of a range must be ints"):
        srcad.grad(fun)(X, np.int64(3))
    assert_gradient(lambda v: fun(v, 3), X, srcad.grad(fun)(X, 3))  # a Python int: unrolled


def last_counter_times_sum(x, n):
    s = 0.0
    for i in range(n):
        s = s + x[i]
    return s * i


def test_the_counter_after_a_loop_that_did_not_run_is_unbound_as_in_python():
    gradient = srcad.value_and_grad(last_counter_times_sum)
    value, got = gradient(X, np.int64(4))
    assert value == pytest.approx(last_counter_times_sum(X, 4), rel=1e-12)
    assert_gradient(lambda v: last_counter_times_sum(v, 4), X, got)
    with pytest.raises(UnboundLocalError, match="'i'"):
        last_counter_times_sum(X, 0)
    with pytest.raises(UnboundLocalError, match="'i'"):
        gradient(X, np.int64(0))


@pytest.mark.slow
def test_a_loop_known_to_run_binds_its_counter_without_a_check():
    gradient = srcad.grad(last_counter_times_sum)
    assert_gradient(lambda v: last_counter_times_sum(v, 3), X, gradient(X, 3))
    assert "is_bound" not in srcad.source(gradient)


def backwards_with_else(x, n):
    s = 0.0
    for i in reversed(range(1, n)):
        s = s * 0.5 + x[i] * x[i - 1]
    else:
        s = s + x[i] ** 2  # the counter in the else: its last value
    return s + x[i]  # and after the loop, an int that indexes


def test_reversed_counts_down_and_the_counter_is_an_int_in_the_else_and_after():
    for count in (np.int64(5), np.int64(2), 4):
        gradient = srcad.value_and_grad(backwards_with_else)
        value, got = gradient(X, count)
        assert value == pytest.approx(backwards_with_else(X, count), rel=1e-12)
        assert_gradient(lambda v, n=count: backwards_with_else(v, n), X, got)


def counted_by_a_static_counter(x, n):
    s = 0.0
    for j in range(n):
        for i in range(j):
            s = s + x[i] * x[j]
    return s


def test_a_count_from_a_static_loops_counter_unrolls_that_loop():
    gradient = srcad.grad(counted_by_a_static_counter)
    assert_gradient(lambda v: counted_by_a_static_counter(v, 4), X, gradient(X, 4))
    assert "while" not in srcad.source(gradient)
