"""``try`` statements (``srcad/lower/exceptions.py``): ``finally``, and ``except
np.linalg.LinAlgError`` with ``else``.

Checked: a Cholesky factorisation with a fallback takes the branch the plain function takes
on every call (a positive definite matrix, then one that is not, then the first again), and
the value and gradient agree with the plain function and central differences, also after
the global jitter changed; ``else`` runs only where the ``try`` block completed; a call kept
for its check is not removed as unused; a ``try`` inside a loop; forward mode; ``finally``;
the generated code spells the statement as written; the numba backend falls back to NumPy
or agrees; a retry loop that breaks or continues out of the ``try`` (``while True:``, over a
range, over a tuple), and a loop inside the ``try`` that breaks; what is refused says why,
at the user's line.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad

RNG = np.random.default_rng(17)
SETTINGS = {"jitter": 0.5}
M = RNG.normal(size=(4, 4))
DEFINITE = M @ M.T + 4.0 * np.eye(4)  # positive definite: cholesky succeeds
INDEFINITE = np.diag([2.0, -1.5, 1.0, 3.0]) + 0.1 * (M + M.T)  # cholesky raises


def robust_logdet(A):
    K = 0.5 * (A + A.T)
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        L = np.linalg.cholesky(K @ K + SETTINGS["jitter"] * np.eye(K.shape[0]))
    return 2.0 * np.sum(np.log(np.diag(L)))


def handler_reads_its_own_factor(A):  # the README's pattern, the value in each block
    K = 0.5 * (A + A.T)
    try:
        L = np.linalg.cholesky(K)
        out = 2.0 * np.sum(np.log(np.diag(L)))
    except np.linalg.LinAlgError:
        L = np.linalg.cholesky(K @ K + SETTINGS["jitter"] * np.eye(K.shape[0]))
        out = 1.0 + np.sum(np.log(np.diag(L)))  # its own L (was refused as the try's)
    return out


def with_else_and_finally(A):
    K = 0.5 * (A + A.T)
    scale = 1.0
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        L = np.eye(K.shape[0]) * np.sqrt(np.sum(K**2))
    else:
        scale = np.sum(L)  # only where the factorisation worked
    finally:
        total = np.sum(np.diag(L) ** 2)
    return total * scale


def checked_first(A):
    K = 0.5 * (A + A.T)
    try:
        np.linalg.cholesky(K)  # only the check: its result is not used
        value = np.sum(np.log(np.abs(np.diag(K))))
    except np.linalg.LinAlgError:
        value = np.sum(K**2)
    return value


def in_a_loop(A):
    total = 0.0
    for shift in (-4.0, 0.5, 6.0):  # the middle shifts decide per step
        K = 0.5 * (A + A.T) + shift * np.eye(A.shape[0])
        try:
            L = np.linalg.cholesky(K)
            step = np.sum(np.log(np.diag(L)))
        except np.linalg.LinAlgError:
            step = 0.1 * np.sum(K**2)
        total = total + step
    return total


def nested_tries(A):
    K = 0.5 * (A + A.T)
    try:
        L = np.linalg.cholesky(K)
        try:  # a second factorisation that fails for some of the matrices the first takes
            M = np.linalg.cholesky(K - 2.5 * np.eye(3))
        except np.linalg.LinAlgError:
            M = np.eye(3) * np.sum(K) * SETTINGS["jitter"]
        scale = np.sum(np.diag(M))
    except np.linalg.LinAlgError:
        L = np.eye(3) * np.sum(K**2)
        scale = 1.0
    return np.sum(np.log(np.diag(L))) * scale


def test_a_try_inside_a_try_follows_both_branches_that_ran():
    transformed = srcad.value_and_grad(nested_tries)
    cases = [np.diag([2.0, 1.0, 3.0]), np.diag([4.0, 3.0, 5.0]), np.diag([2.0, -1.0, 3.0])]
    for A, jitter in zip(cases, (0.5, 2.0, 0.5), strict=True):  # inner handler, inner try, outer
        _agrees_with_the_jitter(transformed, nested_tries, A, jitter)


def _agrees_with_the_jitter(transformed, fun, A, jitter):
    """The value and gradient at ``A`` with the handler's global jitter set to ``jitter``
    (changed between calls), against the plain function and its central differences."""
    SETTINGS["jitter"] = jitter
    try:
        value, grad = transformed(A)
        assert value == pytest.approx(fun(A), rel=1e-12)
        expected = srcad.numerical_grad(fun, A)
    finally:
        SETTINGS["jitter"] = 0.5
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


RETRY = {"first_jitter": 1e-10}
Q = np.linalg.qr(RNG.normal(size=(4, 4)))[0]
NEARLY_DEFINITE = Q @ np.diag([-3e-3, 1.0, 2.0, 3.0]) @ Q.T  # cholesky needs jitter 1e-2


def retry_with_more_jitter(A):
    K = 0.5 * (A + A.T)
    jitter = RETRY["first_jitter"]
    while True:  # the Gaussian-process retry loop: break out of the 'try' that worked
        try:
            L = np.linalg.cholesky(K + jitter * np.eye(4))
            break
        except np.linalg.LinAlgError:
            jitter *= 10
    return np.sum(np.log(np.diag(L)))


def retry_a_few_times(A):
    K = 0.5 * (A + A.T)
    jitter = RETRY["first_jitter"]
    for _attempt in range(12):
        try:
            L = np.linalg.cholesky(K + jitter * np.eye(4))
            break
        except np.linalg.LinAlgError:
            jitter *= 10
    return np.sum(np.log(np.diag(L))) * jitter**0.1


def retry_each_jitter(A):
    K = 0.5 * (A + A.T)
    for jitter in (0.0, 1e-4, 1e-2, 1.0):
        try:
            L = np.linalg.cholesky(K + (jitter + RETRY["first_jitter"]) * np.eye(4))
            total = np.sum(np.log(np.diag(L)))
        except np.linalg.LinAlgError:
            continue
        else:
            total = total + jitter  # only where the 'try' block neither raised nor jumped
        break
    return total


def continue_in_both_blocks(A):
    K = 0.5 * (A + A.T)
    total = 0.0
    for jitter in (0.0, 1e-4, 1e-2, 1e-1):
        try:
            L = np.linalg.cholesky(K + (jitter + RETRY["first_jitter"]) * np.eye(4))
            total = total + np.sum(np.log(np.diag(L)))
            continue
        except np.linalg.LinAlgError:
            if jitter > 1e-3:
                continue
            K = K * 1.001
    return total


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    "fun", [retry_with_more_jitter, retry_a_few_times, retry_each_jitter, continue_in_both_blocks]
)
def test_a_retry_loop_breaks_out_of_the_try_that_worked(fun):
    transformed = srcad.value_and_grad(fun)
    forward = srcad.grad(fun, mode="forward")
    direction = RNG.normal(size=(4, 4))
    cases = ((DEFINITE, 1e-10), (NEARLY_DEFINITE, 1e-10), (NEARLY_DEFINITE, 5e-2))
    for A, first_jitter in cases:  # no retry, retries, then none after the global changed
        RETRY["first_jitter"] = first_jitter
        try:
            value, grad = transformed(A)
            assert value == pytest.approx(fun(A), rel=1e-12)
            expected = srcad.numerical_grad(fun, A)
            np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(forward(A), expected, rtol=1e-5, atol=1e-7)
            _, tangent = srcad.jvp(fun, (A,), (direction,))
            assert tangent == pytest.approx(np.vdot(expected, direction), rel=1e-5)
        finally:
            RETRY["first_jitter"] = 1e-10


def factor_in_inner_loop(A):
    K = 0.5 * (A + A.T)
    try:
        total = 0.0
        for shift in (0.0, 1.0, 2.0):  # its 'break' stays inside the 'try' statement
            total = total + np.sum(np.log(np.diag(np.linalg.cholesky(K + shift * np.eye(4)))))
            if shift > 0.5:
                break
    except np.linalg.LinAlgError:
        total = np.sum(K**2)
    return total


def test_a_loop_inside_the_try_block_may_break():
    for A in (DEFINITE, INDEFINITE):
        value, grad = srcad.value_and_grad(factor_in_inner_loop)(A)
        assert value == pytest.approx(factor_in_inner_loop(A), rel=1e-12)
        expected = srcad.numerical_grad(factor_in_inner_loop, A)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(
            srcad.grad(factor_in_inner_loop, mode="forward")(A), expected, rtol=1e-5, atol=1e-7
        )


def tidy_up(x):
    try:
        y = np.tanh(x) * SETTINGS["jitter"]
    finally:
        z = np.sum(x**2)
    return np.sum(y) + z


def _plain_branch(fun, A) -> str:
    try:
        np.linalg.cholesky(0.5 * (A + A.T))
    except np.linalg.LinAlgError:
        return "handler"
    return "try"


@pytest.mark.parametrize(
    "fun", [robust_logdet, handler_reads_its_own_factor, with_else_and_finally, checked_first]
)
def test_each_call_takes_the_branch_the_plain_function_takes(fun):
    transformed = srcad.value_and_grad(fun)
    branches = []
    for A, jitter in ((DEFINITE, 0.5), (INDEFINITE, 0.5), (INDEFINITE, 2.0), (DEFINITE, 2.0)):
        _agrees_with_the_jitter(transformed, fun, A, jitter)
        branches.append(_plain_branch(fun, A))
    assert branches == ["try", "handler", "handler", "try"]


def test_the_generated_code_spells_the_try_statement():
    transformed = srcad.grad(robust_logdet)
    transformed(DEFINITE)
    code = srcad.source(transformed)
    assert "    try:\n" in code and "    except np.linalg.LinAlgError:\n" in code
    assert "_try1_completed = True" in code and "_try1_completed = False" in code
    assert "    if _try1_completed:\n" in code  # the backward code tests which branch ran


def test_a_call_kept_for_its_check_is_not_removed():
    transformed = srcad.grad(checked_first)
    transformed(INDEFINITE)
    assert "np.linalg.cholesky(K)\n" in srcad.source(transformed)


def test_a_try_inside_a_loop_decides_on_every_step():
    for A in (DEFINITE / 4.0, INDEFINITE):
        value, grad = srcad.value_and_grad(in_a_loop)(A)
        assert value == pytest.approx(in_a_loop(A), rel=1e-12)
        np.testing.assert_allclose(grad, srcad.numerical_grad(in_a_loop, A), rtol=1e-5, atol=1e-7)


def test_forward_mode_follows_the_same_branch():
    direction = RNG.normal(size=(4, 4))
    for A in (DEFINITE, INDEFINITE):
        value, tangent = srcad.jvp(robust_logdet, (A,), (direction,))
        grad = srcad.grad(robust_logdet)(A)
        assert value == pytest.approx(robust_logdet(A), rel=1e-12)
        assert tangent == pytest.approx(np.vdot(grad, direction), rel=1e-9)


def test_finally_runs_after_the_try_block():
    x = RNG.normal(size=5)
    gradient = srcad.grad(tidy_up)
    for jitter in (0.5, 3.0):
        SETTINGS["jitter"] = jitter
        try:
            np.testing.assert_allclose(
                gradient(x), srcad.numerical_grad(tidy_up, x), rtol=1e-6, atol=1e-9
            )
        finally:
            SETTINGS["jitter"] = 0.5


@pytest.mark.slow
def test_the_numba_backend_agrees_or_falls_back():
    pytest.importorskip("numba")
    compiled = srcad.value_and_grad(robust_logdet, backend="numba")
    for A in (DEFINITE, INDEFINITE):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba cannot compile 'except ...': NumPy runs it
            value, grad = compiled(A)
        want_value, want_grad = srcad.value_and_grad(robust_logdet)(A)
        assert value == pytest.approx(want_value, rel=1e-12)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-14)


def handler_raises(A):
    K = 0.5 * (A + A.T)
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        raise ValueError("K is not positive definite") from None
    else:
        scale = np.sum(L)
    return np.sum(np.diag(L)) * scale


def block_raises(x):
    try:
        if x[0] > 0:
            raise np.linalg.LinAlgError("a positive first entry")
        y = x * 2.0
    except np.linalg.LinAlgError:
        y = x * 3.0
    return np.sum(y * y)


def test_a_handler_or_a_block_that_raises_ends_its_branch():
    value, grad = srcad.value_and_grad(handler_raises)(DEFINITE)
    assert value == pytest.approx(handler_raises(DEFINITE), rel=1e-12)
    np.testing.assert_allclose(grad, srcad.numerical_grad(handler_raises, DEFINITE), rtol=1e-5)
    with pytest.raises(ValueError, match="K is not positive definite"):
        srcad.grad(handler_raises)(INDEFINITE)
    transformed = srcad.value_and_grad(block_raises)
    for x, factor in ((np.array([1.0, 2.0]), 3.0), (np.array([-1.0, 2.0]), 2.0)):
        value, grad = transformed(x)
        assert value == pytest.approx(np.sum((factor * x) ** 2))
        np.testing.assert_allclose(grad, 2.0 * factor**2 * x)


def catches_value_error(x):
    try:
        y = 1.0 / x[0]
    except ZeroDivisionError:
        y = 0.0
    return y * x[1]


def bare_except(x):
    try:
        y = np.log(x)
    except:  # noqa: E722 - the refused pattern
        y = x
    return np.sum(y)


def names_the_exception(x):
    try:
        y = np.linalg.inv(np.outer(x, x))
    except np.linalg.LinAlgError as error:  # noqa: F841 - the refused pattern
        y = np.eye(x.shape[0])
    return np.sum(y)


def reads_what_the_try_assigned(x):
    y = x * 2.0
    try:
        y = y + 1.0
        L = np.linalg.cholesky(np.outer(y, y))
    except np.linalg.LinAlgError:
        L = np.diag(y)  # which y? where the try block stopped decides
    return np.sum(L)


def returns_inside(x):
    try:
        if x[0] > 0.0:
            return np.sum(np.linalg.inv(np.outer(x, x)))  # not at the end of the block
        y = np.sum(x**2)
    except np.linalg.LinAlgError:
        y = 0.0
    return y


def breaks_in_finally(x):
    total = 0.0
    for shift in (1.0, 2.0):
        try:
            total = total + np.sum(np.linalg.inv(np.outer(x, x) + shift * np.eye(3)))
        finally:
            break  # noqa: B012 - the refused pattern
    return total


def returns_in_finally(x):
    for shift in (1.0, 2.0):
        try:
            total = np.sum(np.linalg.inv(np.outer(x, x) + shift * np.eye(3)))
        finally:
            return total  # noqa: B012 - the refused pattern
    return 0.0


@pytest.mark.parametrize(
    "fun, message, line",
    [
        (catches_value_error, "srcad catches np.linalg.LinAlgError only", 3),
        (bare_except, "a bare 'except:' catches every exception", 3),
        (names_the_exception, "the exception object is not followed", 3),
        (reads_what_the_try_assigned, "the 'except' block reads 'y'", 6),
        (returns_inside, "'return' inside a 'try' statement", 3),
        (breaks_in_finally, "'break' inside a 'finally' block", 6),
        (returns_in_finally, "'return' inside a 'finally' block", 5),
    ],
)
def test_what_is_refused_says_why_at_the_users_line(fun, message, line):
    with pytest.raises(srcad.UnsupportedSyntax, match=message) as caught:
        srcad.grad(fun)(np.array([0.5, 2.0, 1.5]))
    assert caught.value.line == fun.__code__.co_firstlineno + line


def gaussian_process_nll(theta):
    """Its usual form: a matrix that is not positive definite gives a large value."""
    X = np.linspace(0.0, 1.0, 5)
    K = np.exp(-((X[:, None] - X[None, :]) ** 2) / theta[0]) + theta[1] * np.eye(5)
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        return 1e10 * SETTINGS["jitter"]
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, np.sin(X)))
    return 0.5 * np.sin(X) @ alpha + np.sum(np.log(np.diag(L)))


def returns_from_the_try_and_its_else(x):
    try:
        L = np.linalg.cholesky(np.diag(x) - SETTINGS["jitter"] * np.eye(3))
    except np.linalg.LinAlgError:
        print("not positive definite")
    else:
        return np.sum(np.log(np.diag(L)))
    finally:
        print("checked")
    return np.sum(x**2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_return_ending_a_try_block_or_handler_returns_after_the_statement(mode, capsys):
    """``except LinAlgError: return 1e10`` was refused ("'return' inside a 'try'")."""
    try:
        for jitter in (0.5, 2.5):
            SETTINGS["jitter"] = jitter
            for theta in (np.array([0.3, 0.1]), np.array([0.3, -5.0])):
                value, slope = srcad.value_and_grad(gaussian_process_nll, mode=mode)(theta)
                assert value == pytest.approx(gaussian_process_nll(theta))
                np.testing.assert_allclose(
                    slope, srcad.numerical_grad(gaussian_process_nll, theta), rtol=1e-5
                )
            x = np.array([1.0, 2.0, 3.0])
            capsys.readouterr()
            got = srcad.value_and_grad(returns_from_the_try_and_its_else, mode=mode)(x)
            printed = capsys.readouterr().out
            assert got[0] == pytest.approx(returns_from_the_try_and_its_else(x))
            assert printed == capsys.readouterr().out
            expected = srcad.numerical_grad(returns_from_the_try_and_its_else, x)
            np.testing.assert_allclose(got[1], expected, rtol=1e-5, atol=1e-8)
    finally:
        SETTINGS["jitter"] = 0.5


def every_block_returns(x):
    try:
        L = np.linalg.cholesky(np.outer(x, x) + SETTINGS["jitter"] * np.eye(3))
        return np.sum(np.log(np.diag(L)))
    except np.linalg.LinAlgError:
        return 1e10


def returns_before_its_else(x):
    try:
        L = np.linalg.cholesky(np.outer(x, x) + SETTINGS["jitter"] * np.eye(3))
        return np.sum(np.diag(L))
    except np.linalg.LinAlgError:
        pass
    else:
        print("else ran")  # never: the try block returned
    return 0.0


@pytest.mark.parametrize("fun", [every_block_returns, returns_before_its_else])
def test_returns_from_every_block_and_an_else_skipped_by_a_return(fun, capsys):
    """Every block returning was refused with a message about an 'if' the user never wrote;
    the else block ran after the try block returned."""
    x = np.array([1.0, 2.0, 3.0])
    try:
        for jitter in (0.5, -50.0):
            SETTINGS["jitter"] = jitter
            capsys.readouterr()
            value, slope = srcad.value_and_grad(fun)(x)
            assert capsys.readouterr().out == ""
            assert value == pytest.approx(fun(x))
            np.testing.assert_allclose(slope, srcad.numerical_grad(fun, x), rtol=1e-5, atol=1e-7)
    finally:
        SETTINGS["jitter"] = 0.5


def test_the_array_api_variant_refuses_what_other_libraries_report_otherwise():
    pytest.importorskip("array_api_strict")
    import array_api_strict as xp

    gradient = srcad.grad(robust_logdet)
    with pytest.raises(srcad.SrcadError, match="a 'try' catching np.linalg.LinAlgError"):
        gradient(xp.asarray(DEFINITE))


def returns_other_structures(w):
    K = np.outer(w, w) + np.eye(3) * 1e-3
    try:
        L = np.linalg.cholesky(K)
        return np.sum(np.log(np.diag(L))), "ok"
    except np.linalg.LinAlgError:
        return 1e10, None


def test_a_return_of_another_structure_in_a_handler_is_refused_naming_the_return():
    with pytest.raises(srcad.SrcadError, match="^.*the value returned is a tuple") as caught:
        srcad.value_and_grad(returns_other_structures, has_aux=True)(np.ones(3))
    assert "return_value" not in str(caught.value)


def changed_before_the_call_that_raises(x):
    t = x[0]
    try:
        t = t * 3.0  # kept by Python where the next line raises
        s = np.sum(np.linalg.cholesky(np.diag(x)))
    except np.linalg.LinAlgError:
        s = 0.0
    return t + s


def written_through_a_view_before_the_call(x):
    M = np.outer(x, x) + 1.0
    try:
        row = M[0]
        row *= 3.0
        s = np.sum(np.linalg.cholesky(np.diag(x)))
    except np.linalg.LinAlgError:
        s = 0.0
    return np.sum(M) + s


@pytest.mark.parametrize(
    "fun", [changed_before_the_call_that_raises, written_through_a_view_before_the_call]
)
def test_a_change_before_the_call_that_raises_read_after_is_refused(fun):
    """The handler's path took the values from before the block, the plain function keeps
    the block's changes up to the raise (probe AL): refused."""
    with pytest.raises(srcad.UnsupportedSyntax, match="before a call that may raise") as error:
        srcad.grad(fun)(np.array([0.3, -0.7, 1.1]))
    assert error.value.file == __file__


def _fill_then_factor(y, K):
    y[0] = 7.0  # kept by Python where the factorisation then raises
    return np.linalg.cholesky(K)


def helper_writes_before_it_raises(x):
    K = -x[0] * np.eye(2)
    y = x * 1.0
    try:
        L = _fill_then_factor(y, K)
        s = np.sum(L)
    except np.linalg.LinAlgError:
        s = 0.0
    return s + np.sum(y * x)


def test_a_helper_that_may_write_and_raise_in_the_try_block_is_refused():
    """Its write was lost where the handler ran (probe AO)."""
    with pytest.raises(srcad.UnsupportedSyntax, match="changes 'y' before a call"):
        srcad.grad(helper_writes_before_it_raises)(np.array([1.0, 2.0]))


from numpy.linalg import LinAlgError, cholesky  # noqa: E402 - the GP code's own spelling


def imported_factor_counted_and_named_in_a_tuple(x):
    K = np.outer(x, x) + np.eye(3) * SETTINGS["jitter"]
    count = 0
    try:
        count += 1  # a number: nothing the handler's path loses that is read after
        L = cholesky(K)
        alpha = np.sqrt(np.sum(np.diag(L) ** 2))
    except LinAlgError:
        L, alpha = np.eye(3), 1.0  # bound by the handler, by a tuple
    return np.sum(L) * alpha + np.sum(K)


def test_common_try_blocks_are_not_refused_for_changes_that_do_not_matter():
    """Refused with false messages by the first version of the check (probe AQ): a bare
    cholesky from numpy.linalg taken for a helper of the user's, `count += 1` counting as
    a write into every array, a tuple assignment in the handler, np.sqrt matched as qr."""
    x = np.array([0.3, -0.7, 1.1])
    for jitter in (0.5, -5.0):  # the factorisation works, then raises
        SETTINGS["jitter"] = jitter
        try:
            value, got = srcad.value_and_grad(imported_factor_counted_and_named_in_a_tuple)(x)
            assert value == pytest.approx(imported_factor_counted_and_named_in_a_tuple(x))
            expected = srcad.numerical_grad(imported_factor_counted_and_named_in_a_tuple, x)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
        finally:
            SETTINGS["jitter"] = 0.5
