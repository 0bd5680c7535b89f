"""A local variable read before any path bound it raises UnboundLocalError, as in Python: the
stand-in that lets srcad write the code after a loop or branch is never read as the value."""

import sys

import numpy as np
import pytest

import srcad

PENALTY = {"shift": -1.0}  # a global the second call changes
MESSAGE = "UnboundLocalError: cannot access local variable"


@pytest.fixture(autouse=True)
def no_unexpected_exception_leaves_srcad():
    """The suite's check (``conftest``), except for the UnboundLocalError these tests make
    the user's code raise."""
    escaped = sys.modules["conftest"]._escaped
    escaped.clear()
    yield
    unexpected = [error for error in escaped if not error.startswith(MESSAGE)]
    escaped.clear()
    assert not unexpected, f"an exception other than SrcadError left srcad: {unexpected[0]}"


def retry_cholesky(w):
    """The jitter-retry loop: with every attempt failing, ``L`` was never bound."""
    K = np.outer(w[:2], w[:2]) + PENALTY["shift"] * np.eye(2)
    jitter = 0.0
    for _attempt in range(3):
        try:
            L = np.linalg.cholesky(K + jitter * np.eye(2))
            break
        except np.linalg.LinAlgError:
            jitter = 1e-6 if jitter == 0.0 else 10.0 * jitter
    return np.sum(np.log(np.diag(L)))


def bound_in_one_branch(x):
    if x[0] + PENALTY["shift"] > 0:
        y = x * 2.0
    return np.sum(y**2)


def search_without_else(x):
    for i in range(x.shape[0]):
        if x[i] + PENALTY["shift"] > 0:
            found = x[i] ** 2
            break
    return found * x[0]


def last_of_a_loop(x):
    for v in x[2:]:
        last = np.sin(v)
    return last * x[0]


CASES = [retry_cholesky, bound_in_one_branch, search_without_else, last_of_a_loop]


def _outcome(function, x):
    """The plain function's value, or the type of what it raises."""
    try:
        return function(x)
    except UnboundLocalError:
        return UnboundLocalError


@pytest.mark.parametrize("function", CASES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["grad", "jacfwd"])
def test_unbound_reads_raise_as_in_python_and_bound_ones_differentiate(function, mode):
    """The same compiled function, called where the variable is bound and where it is not
    (the global changed in between, or the data)."""
    x = np.array([0.4, 0.3, 2.0]) if function is not last_of_a_loop else np.array([0.4, 0.3, 0.7])
    transform = getattr(srcad, mode)(function)
    outcomes = []
    try:
        for shift in (0.5, -5.0):
            PENALTY["shift"] = shift if function is not retry_cholesky else -shift / 10
            expected = _outcome(function, x)
            if expected is UnboundLocalError:
                with pytest.raises(UnboundLocalError, match="cannot access local variable"):
                    transform(x)
            else:
                np.testing.assert_allclose(
                    transform(x), srcad.numerical_grad(function, x), rtol=1e-6, atol=1e-8
                )
            outcomes.append(expected is UnboundLocalError)
    finally:
        PENALTY["shift"] = -1.0
    if function is not last_of_a_loop:
        assert sorted(outcomes) == [False, True]  # both ways were seen


def test_a_loop_over_no_rows_leaves_its_variable_unbound():
    gradient = srcad.grad(last_of_a_loop)
    with pytest.raises(UnboundLocalError):
        last_of_a_loop(np.array([0.4, 0.3]))
    with pytest.raises(UnboundLocalError, match="'last'"):
        gradient(np.array([0.4, 0.3]))
    x = np.array([0.4, 0.3, 0.7])
    np.testing.assert_allclose(gradient(x), srcad.numerical_grad(last_of_a_loop, x), rtol=1e-6)


def if_else_both_bind(x):
    if x[0] > 0:
        y = x * 2.0
    else:
        y = -x
    for v in x:
        y = y + v
    return np.sum(y**2)


def test_reads_that_always_follow_a_binding_get_no_check():
    gradient = srcad.grad(if_else_both_bind)
    x = np.array([0.4, -0.3])
    np.testing.assert_allclose(gradient(x), srcad.numerical_grad(if_else_both_bind, x), rtol=1e-6)
    assert "is_bound" not in srcad.source(gradient)


def test_the_check_stands_before_the_read():
    gradient = srcad.grad(bound_in_one_branch)
    gradient(np.array([2.0, 1.0, 1.0]))
    source = srcad.source(gradient)
    assert "if not y_is_bound:" in source and "raise UnboundLocalError(" in source


@pytest.mark.slow
def test_numba_backend_raises_too():
    pytest.importorskip("numba")
    gradient = srcad.grad(bound_in_one_branch, backend="numba")
    np.testing.assert_allclose(
        gradient(np.array([2.0, 1.0, 1.0])),
        srcad.numerical_grad(bound_in_one_branch, np.array([2.0, 1.0, 1.0])),
        rtol=1e-6,
    )
    with pytest.raises(UnboundLocalError):
        gradient(np.array([-2.0, 1.0, 1.0]))


def total_variation(x):
    """The "previous value" idiom: prev is bound at the end of an iteration, read in the
    next (refused as "name 'prev' is not defined")."""
    out = 0.0
    for i, v in enumerate(x):
        if i > 0:
            out += (v - prev) ** 2 * PENALTY["shift"]  # noqa: F821 - bound one iteration before
        prev = v  # noqa: F841 - read in the next iteration
    return out


def previous_with_a_flag(x):
    out = 0.0
    first = True
    for v in x:
        if not first:
            out = out + np.sin(v) * prev  # noqa: F821
        prev = v * PENALTY["shift"]  # noqa: F841 - read in the next iteration
        first = False
    return out


def previous_read_too_early(x):
    out = 0.0
    for v in x:
        out = out + v * prev  # noqa: F821 - unbound in the first iteration: Python raises
        prev = v  # noqa: F841 - read in the next iteration
    return out


def helper_searching(x):
    def first_above(t):
        for a in x:
            if a > t + PENALTY["shift"]:
                hit = a
                break
        return hit

    return first_above(0.5) * 2.0


@pytest.mark.parametrize(
    "function", [total_variation, previous_with_a_flag, helper_searching], ids=lambda f: f.__name__
)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_values_bound_in_an_earlier_iteration_or_in_a_nested_def(function, mode):
    x = np.array([0.3, -1.2, 0.8, 2.0])
    gradient = srcad.grad(function, mode=mode)
    try:
        for shift in (1.0, 0.5, 5.0):
            PENALTY["shift"] = shift
            if _outcome(function, x) is UnboundLocalError:
                with pytest.raises(UnboundLocalError, match="'hit'"):
                    gradient(x)
                continue
            np.testing.assert_allclose(
                gradient(x), srcad.numerical_grad(function, x), rtol=1e-6, atol=1e-8
            )
    finally:
        PENALTY["shift"] = -1.0


def test_a_value_read_before_its_first_binding_in_a_loop_raises():
    with pytest.raises(UnboundLocalError):
        previous_read_too_early(np.ones(3))
    with pytest.raises(UnboundLocalError, match="'prev'"):
        srcad.grad(previous_read_too_early)(np.ones(3))


def guarded_by_and(x):
    s = 0.0
    for i in range(x.shape[0]):
        if i > 0 and x[i] > prev:  # noqa: F821 - read only once i > 0
            s = s + (x[i] - prev) ** 2  # noqa: F821
        prev = x[i]  # noqa: F841
    return s


def guarded_by_a_conditional_expression(x):
    s = 0.0
    for i in range(x.shape[0]):
        d = x[i] - prev if i > 0 else 0.0  # noqa: F821
        s = s + d**2
        prev = x[i]  # noqa: F841
    return s


def running_minimum(x):
    best = None
    for i in range(3):
        value = np.sum((x - i) ** 2)
        if best is None or value < best:
            best = value
    return best


def bound_by_a_walrus(x):
    for _attempt in range(3):
        if (s := np.sum(x**2)) < 100.0:
            break
        x = x * 0.5
    assert (n := x.shape[0]) > 0
    return s / n


@pytest.mark.parametrize(
    "function",
    [guarded_by_and, guarded_by_a_conditional_expression, running_minimum, bound_by_a_walrus],
    ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_reads_python_makes_only_once_bound_are_not_refused(function, mode):
    """A read under ``and`` or a conditional expression raised UnboundLocalError where
    Python never reads it unbound; a walrus in an if test did not count as a binding; the
    running minimum from ``best = None`` gave 0.0 (the None read as the loop's stand-in)."""
    x = np.array([0.3, 0.7, 1.1])
    value, slope = srcad.value_and_grad(function, mode=mode)(x)
    assert value == pytest.approx(function(x))
    np.testing.assert_allclose(slope, srcad.numerical_grad(function, x), rtol=1e-6, atol=1e-9)


def minimum_until_a_budget(x):
    best = None
    i = 0
    while np.sum(x[:i]) < 1.0 and i < x.shape[0]:
        if best is None or x[i] < best:
            best = x[i]
        i += 1
    return best


def test_a_while_loop_decided_by_data_carrying_a_none_says_what_to_write():
    with pytest.raises(srcad.UnsupportedSyntax, match="'best', which is None before it") as error:
        srcad.grad(minimum_until_a_budget)(np.array([0.3, -0.2, 0.5]))
    assert error.value.line == minimum_until_a_budget.__code__.co_firstlineno + 3


def differences_of_a_list(w):
    """The previous value read from the list the loop appends to: ``vals[-1]`` only from
    the second iteration on (lowered for every iteration at once, the list was empty)."""
    vals = []
    total = 0.0
    for i in range(6):
        v = np.sin(w * i) * PENALTY["shift"]
        if i > 0:
            total = total + np.sum((v - vals[-1]) ** 2)
        if i >= 2:
            total = total + np.sum(v * vals[i - 2])
        vals.append(v)
    return total


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_an_earlier_iterations_list_item_read_from_the_second_iteration_on(mode):
    w = np.array([0.3, -1.2, 0.8])
    gradient = srcad.grad(differences_of_a_list, mode=mode)
    try:
        for shift in (-1.0, 2.5):  # the second call after the global changed
            PENALTY["shift"] = shift
            np.testing.assert_allclose(
                gradient(w), srcad.numerical_grad(differences_of_a_list, w), rtol=1e-6
            )
    finally:
        PENALTY["shift"] = -1.0


def too_long_to_unroll(w):
    vals = [w]
    for i in range(200):
        if i > 0:
            vals.append(vals[-1] * vals[-2])  # vals[-2] in the first iteration: IndexError
    return np.sum(vals[-1])


def test_a_long_loop_failing_for_all_iterations_at_once_keeps_its_error():
    with pytest.raises(srcad.SrcadError, match="index out of range"):
        srcad.grad(too_long_to_unroll)(np.ones(2))


def test_a_long_loop_failing_for_all_iterations_says_how_to_write_it():
    with pytest.raises(srcad.SrcadError, match="unrolls loops of up to 100 iterations"):
        srcad.grad(too_long_to_unroll)(np.ones(2))


def test_a_failure_met_again_unrolled_is_not_retried_by_every_loop_around_it(monkeypatch):
    """A recursion on data inside nested loops fails at the inlining limit; each loop that
    met it unrolled would retry it, 4 times per level: lowering grew as 4 ** depth."""
    from test_internal_errors import nested_halves

    import srcad.lower.calls as calls
    import srcad.lower.loops as loops

    monkeypatch.setattr(calls, "MAX_INLINE_DEPTH", 10)  # reached before Python's own limit
    lowered = loops._lower_body_once
    count = [0]

    def counted(*args, **kwargs):
        count[0] += 1
        return lowered(*args, **kwargs)

    monkeypatch.setattr(loops, "_lower_body_once", counted)
    with pytest.raises(srcad.UnsupportedSyntax, match="nest deeper than 10|recurses deeper"):
        srcad.grad(nested_halves)(np.full(3, 5.0))
    assert count[0] < 200
