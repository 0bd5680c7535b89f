"""Bugs found by the differential tester (``srcad.testing``), each as its minimized program."""

from __future__ import annotations

import numpy as np
import pytest
from source_files import module_from_source

import srcad

HEADER = "import numpy as np\n\n\n"


def _fresh(args: tuple) -> tuple:
    """Copies of the arguments: many of these programs write into theirs."""
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _gradient_matches(tmp_path, body: str, *args) -> None:
    f = module_from_source(HEADER + body, tmp_path, "regression").f
    argnums = tuple(range(len(args)))
    value, grads = srcad.value_and_grad(f, argnums=argnums)(*_fresh(args))
    assert np.isclose(value, f(*_fresh(args)))
    expected = srcad.numerical_grad(lambda *a: f(*_fresh(a)), *args, argnums=argnums)
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_a_def_inside_a_loop_does_not_make_the_loop_return(tmp_path):
    # functions family: the 'return' of a nested def counted as a return from the loop,
    # which was rewritten again and again (RecursionError in lower/jumps.py)
    body = "def f(x):\n    for e in x:\n        def inner(u):\n            return u\n    return np.sum(x)\n"
    _gradient_matches(tmp_path, body, np.array([1.0, -2.0, 0.5]))


def test_a_def_inside_a_loop_reads_the_loop_variable(tmp_path):
    body = (
        "def f(x):\n"
        "    s = 0.0\n"
        "    for e in x:\n"
        "        def inner(u):\n"
        "            return u * e\n"
        "        s = s + inner(np.sin(e))\n"
        "    return s\n"
    )
    _gradient_matches(tmp_path, body, np.array([1.0, -2.0, 0.5]))


def test_a_while_condition_with_and_stops_the_loop_when_false(tmp_path):
    # mutation family: 'while np.power(s, s) and k:' was generated as 'while True:
    # t = ...; if not t ** t and k: break', which does not stop when the test is false
    body = (
        "def f(x):\n"
        "    k = 0\n"
        "    s = 0.0\n"
        "    while np.sum(x) * np.sum(x) > 0.25 and k < 2:\n"
        "        k += 1\n"
        "        s = s + x[k] ** 2\n"
        "    return s\n"
    )
    _gradient_matches(tmp_path, body, np.array([1.0, 2.0, 3.0]))


def test_a_loop_with_a_return_inside_an_if_keeps_its_tape(tmp_path):
    # control family: the taped forward loop under an 'if' was never emitted, so the
    # backward loop read a tape that did not exist (KeyError in codegen/names.py)
    body = (
        "def f(x0, x1):\n"
        "    if np.sum(x0) > 0.0:\n"
        "        for i0, e0 in enumerate(x1):\n"
        "            return np.sum(x1) * e0\n"
        "    return 1.42\n"
    )
    _gradient_matches(tmp_path, body, np.array([0.861, -0.622]), np.array([0.446, -0.014]))


def test_a_loop_under_an_if_inside_a_loop_whose_branch_skips_the_tape(tmp_path):
    # control family: the placeholder of a tape the branch did not fill was np.object(0)
    body = (
        "def f(x0, x1):\n"
        "    for i0 in range(2):\n"
        "        if np.sum(x0) <= -5.0:\n"
        "            break\n"
        "        k0 = 0\n"
        "        while np.sum(x1) > -3.0 and k0 < 2:\n"
        "            k0 += 1\n"
        "            x1 = np.tanh(x1 + x0)\n"
        "    return np.sum(x1) + np.mean(x0)\n"
    )
    _gradient_matches(tmp_path, body, np.array([0.3, -0.2]), np.array([0.5, 0.1]))


def test_iterating_over_an_array_the_loop_writes_into_sees_the_writes(tmp_path):
    # mutation family: srcad iterated over the rows the array had when the loop started;
    # NumPy's iterator reads each row when it gets there
    body = (
        "def f(x0):\n"
        "    for i0, e0 in enumerate(x0):\n"
        "        x0[0] += e0 * e0\n"
        "    for e in x0:\n"
        "        x0 += 0.1 * e\n"
        "    return np.sum(x0 ** 2)\n"
    )
    f = module_from_source(HEADER + body, tmp_path, "regression").f
    x = np.array([0.3, -0.2, 0.5])
    np.testing.assert_allclose(srcad.grad(f)(x.copy()), srcad.numerical_grad(f, x.copy()))
    assert srcad.value_and_grad(f)(x.copy())[0] == f(x.copy())


def test_a_row_write_in_a_loop_keeps_its_value_for_the_tape(tmp_path):
    # mutation family: 'x1[0] += v' filled the loop-carried array in place, and the next
    # line's 'x1 *= ...' took the same name before the tape recorded the filled value
    body = (
        "def f(x1):\n"
        "    for i in range(3):\n"
        "        x1[0] += np.array([0.0, 0.19])\n"
        "        x1 *= np.tanh(x1)\n"
        "    return np.sum(x1)\n"
    )
    _gradient_matches(tmp_path, body, np.array([[-0.41, 0.245], [0.964, 0.486], [-0.2, -0.6]]))


def test_hypot_at_the_origin_has_the_subgradient_zero(tmp_path):
    # functions family: hypot(u, u) with u = 0 * x everywhere gave 0 / 0 = nan
    body = (
        "def f(x):\n"
        "    u = x * np.linspace(-0.18, 0.24, 8).reshape(2, 4)\n"
        "    return np.sum(np.hypot(u, u))\n"
    )
    _gradient_matches(tmp_path, body, np.array([-0.292, 0.017, -0.541, -0.974]))


def test_zip_over_an_array_the_loop_writes_into_sees_the_writes(tmp_path):
    body = (
        "def f(x0, x1):\n"
        "    for e0, w0 in zip(x0, x0 + x1):\n"
        "        x0[0] += e0 * w0\n"
        "    for e in x0:\n"
        "        x0[1] -= 0.2 * e\n"
        "    return np.sum(x0 ** 2)\n"
    )
    _gradient_matches(tmp_path, body, np.array([0.3, -0.2, 0.5]), np.array([0.1, 0.7, -0.4]))


def test_a_return_inside_nested_loops_stops_every_loop(tmp_path):
    # control family: the 'return' became a 'break' of the inner loop only, so the outer
    # loop ran on and its last iteration's value was returned (0.796 instead of 1.11)
    body = (
        "def f(x1):\n"
        "    for e0, w0 in zip(x1, x1):\n"
        "        for e1 in x1:\n"
        "            return e0\n"
        "    return 0.0\n"
    )
    _gradient_matches(tmp_path, body, np.array([1.11, -0.729, -1.419, 0.796]))


def test_a_return_over_a_list_loop_inside_a_row_loop_returns_the_first_row(tmp_path):
    body = (
        "def f(x0):\n"
        "    for row in x0:\n"
        "        for c in [0.67]:\n"
        "            return np.mean(row) * c\n"
        "    return 0.0\n"
    )
    _gradient_matches(tmp_path, body, np.array([[1.11, -0.729], [-1.419, 0.796]]))


def test_a_return_under_an_if_three_loops_deep_with_continue_around(tmp_path):
    # breaks the middle loop once, then returns from i = 2, j = 1 (as Python does)
    body = (
        "def f(x):\n"
        "    s = 0.0\n"
        "    i = 0\n"
        "    while i < 3:\n"
        "        i += 1\n"
        "        for j in range(3):\n"
        "            for e in x:\n"
        "                if e > 0.2:\n"
        "                    continue\n"
        "                s = s + np.cos(e) * j\n"
        "                if s > 4.0:\n"
        "                    return s * x[1]\n"
        "            if s > 2.0 * i:\n"
        "                break\n"
        "        s = s + 0.1\n"
        "    return s + 1.0\n"
    )
    _gradient_matches(tmp_path, body, np.array([0.3, -0.8, 0.1, -1.2]))


def test_an_adjoint_filled_in_a_nested_loop_is_copied_from_a_read_only_broadcast(tmp_path):
    # control family: dx1 started as np.broadcast_to(...) (read-only) and the backward
    # loops filled it in place: 'assignment destination is read-only'
    body = (
        "def f(x1, x2):\n"
        "    for e0 in x1:\n"
        "        k0 = 0\n"
        "        while e0 and k0 < 3:\n"
        "            k0 += 1\n"
        "            x2 += x1[2]\n"
        "    return np.mean(x1) + x2\n"
    )
    _gradient_matches(tmp_path, body, np.array([1.168, 1.386, 1.292]), 1.035)


def test_std_and_norm_where_they_are_zero_have_the_subgradient_zero(tmp_path):
    # arrays family: np.std of equal values and the norm of a zero vector gave 0 / 0 = nan
    body = (
        "def f(x0):\n"
        "    same = np.concatenate([x0[1:2], x0[1:2]])\n"
        "    return np.std(same) + np.linalg.norm(x0 - x0) + np.sum(x0)\n"
    )
    _gradient_matches(tmp_path, body, np.array([0.3, -1.2, 0.7]))


def test_a_p_norm_of_rows_where_one_row_is_zero_has_the_subgradient_zero(tmp_path):
    # the p-norm's slope sign(x) (|x| / norm)^(p - 1) was 0 / 0 = nan on a zero row
    body = (
        "def f(x0):\n"
        "    rows = x0[:, None, :] - x0[None, :, :]\n"
        "    return np.sum(np.linalg.norm(rows, ord=3, axis=-1)) + np.linalg.norm(x0[0] - x0[0], ord=1.5)\n"
    )
    _gradient_matches(tmp_path, body, np.array([[0.3, -1.2], [0.7, 0.4], [-0.5, 0.9]]))


def test_a_variable_carried_through_an_inner_loop_keeps_each_value_it_needs(tmp_path):
    # control family: one name for s before and after 's = s * x[i]' made the tape record
    # the product, and the backward sweep read the updated adjoint (ds = ds * t2; dt2 = ds...)
    body = (
        "def f(x):\n"
        "    s = 0.0\n"
        "    for i in range(3):\n"
        "        for e in x:\n"
        "            s = s + e\n"
        "        s = s * x[i]\n"
        "    return s\n"
    )
    _gradient_matches(tmp_path, body, np.array([0.5, -0.3, 0.8]))


def _same_as_numpy_or_refused(tmp_path, body: str, *args) -> None:
    """The function writes into its arguments: srcad and NumPy each get fresh copies. An
    alias srcad cannot follow must be refused, never differentiated as something else."""
    f = module_from_source(HEADER + body, tmp_path, "regression").f
    argnums = tuple(range(len(args)))
    try:
        value, grads = srcad.value_and_grad(f, argnums=argnums)(*(a.copy() for a in args))
    except srcad.errors.UnsupportedSyntax as error:
        assert "also refers to" in str(error)
        return
    assert np.isclose(value, f(*(a.copy() for a in args)))
    expected = srcad.numerical_grad(lambda *a: f(*(v.copy() for v in a)), *args, argnums=argnums)
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_a_name_bound_before_a_loop_sees_the_writes_in_the_loop(tmp_path):
    # mutation family: buf0 = x0 and x0, carried by the loop, were two arrays for srcad
    body = (
        "def f(x0):\n"
        "    buf0 = x0\n"
        "    for row0, w0 in zip(x0, x0):\n"
        "        x0[0] *= 4.0\n"
        "    return np.sum(buf0)\n"
    )
    _same_as_numpy_or_refused(tmp_path, body, np.array([1.0, 2.0, 3.0]))


def test_a_name_a_loop_may_leave_unchanged_after_a_break_still_shares_its_array(tmp_path):
    # mutation family: when the loop breaks before 'v0 = 0.9', v0 is still x2
    body = (
        "def f(x0, x1, x2):\n"
        "    v0 = x2\n"
        "    for i0 in range(1, 3):\n"
        "        if np.sum(x0) > 0.0:\n"
        "            break\n"
        "        v0 = 0.9\n"
        "    x2 /= 1.0 + np.hypot(x1, x1)\n"
        "    return np.mean(v0)\n"
    )
    args = np.array([0.5, 0.2]), np.array([0.3, -0.4]), np.array([1.0, 2.0])
    _same_as_numpy_or_refused(tmp_path, body, *args)


def test_a_list_sees_writes_into_the_array_it_holds_in_a_loop_with_break(tmp_path):
    # mutation family: statements of a loop with 'break' (rewritten with a flag) had no
    # liveness, so no write in them was checked
    body = (
        "def f(x0):\n"
        "    parts0 = []\n"
        "    k = 0.0\n"
        "    while True:\n"
        "        parts0.append(x0)\n"
        "        x0 *= np.tanh(1.0)\n"
        "        k = k + 1.0\n"
        "        if k > 1.5:\n"
        "            break\n"
        "    return np.sum(np.stack(parts0))\n"
    )
    _same_as_numpy_or_refused(tmp_path, body, np.array([0.5, -0.2]))


def test_a_second_name_written_in_a_loop_that_breaks_on_data(tmp_path):
    body = (
        "def f(x0, x1):\n"
        "    k = 0.0\n"
        "    while True:\n"
        "        z0 = x0\n"
        "        z0[1] -= np.min(x1)\n"
        "        k = k + 1.0\n"
        "        if np.sum(x0) < k:\n"
        "            break\n"
        "    return np.sum(x0 * x0)\n"
    )
    _same_as_numpy_or_refused(tmp_path, body, np.array([0.5, -0.2, 0.3]), np.array([0.1, 0.7]))


def test_names_that_share_an_array_from_the_second_iteration_on(tmp_path):
    # b = a at the end of the body: the next iteration's write into a changes b
    body = (
        "def f(x):\n"
        "    a = np.tanh(x)\n"
        "    b = np.cos(x)\n"
        "    s = 0.0\n"
        "    for i in range(3):\n"
        "        a[0] += 1.0\n"
        "        s = s + np.sum(b * b)\n"
        "        b = a\n"
        "    return s\n"
    )
    _same_as_numpy_or_refused(tmp_path, body, np.array([0.1, 0.2, 0.3]))


def test_the_result_of_an_if_may_be_the_array_written_afterwards(tmp_path):
    body = (
        "def f(x, y):\n"
        "    if np.sum(x) > 0.0:\n"
        "        a = x\n"
        "    else:\n"
        "        a = y * 2.0\n"
        "    x[0] = 5.0\n"
        "    return np.sum(a * a)\n"
    )
    _same_as_numpy_or_refused(tmp_path, body, np.array([0.5, 0.2]), np.array([1.0, 2.0]))


def test_loops_that_share_no_array_are_still_differentiated(tmp_path):
    body = (
        "def f(x):\n"
        "    y = x.copy()\n"
        "    b = y\n"
        "    for i in range(3):\n"
        "        if np.sum(x) > 10.0:\n"
        "            break\n"
        "        b = b * 2.0\n"
        "        y[0] += x[1]\n"
        "        y = y * 1.5\n"
        "    return np.sum(y * y) + np.sum(b * b)\n"
    )
    _gradient_matches(tmp_path, body, np.array([0.1, 0.2, 0.3]))


def test_a_return_in_a_loop_with_an_else(tmp_path):
    # control family: nested rewrites of the loop's statements removed each other's
    # liveness (KeyError in lower/aliasing.py); 'for ... else' was refused, it is supported
    body = (
        "def f(x):\n"
        "    for i0 in range(0, 3, 2):\n"
        "        return x * 0.87\n"
        "    else:\n"
        "        x /= 1.0\n"
        "    return x\n"
    )
    _gradient_matches(tmp_path, body, 1.0)


def test_a_closed_over_array_named_like_a_parameter_is_not_the_parameter(tmp_path):
    # functions family: the constant took the name 'x' of the rebound parameter, so the
    # generated code read the argument instead
    body = (
        "def f(x):\n"
        "    x = np.linspace(1.09, 1.04, 4)\n"
        "    def inner0(u):\n"
        "        return x\n"
        "    return np.sum(inner0(0.0))\n"
    )
    f = module_from_source(HEADER + body, tmp_path, "regression").f
    a = np.array([-1.025, -0.951, -0.383, -0.356])
    assert srcad.value_and_grad(f)(a)[0] == pytest.approx(f(a))


def test_a_row_write_does_not_change_the_array_an_earlier_iteration_recorded(tmp_path):
    # mutation family: 'x1[0] = ...' filled the carried x1 in place, the same array that
    # the previous iteration had put on the tape
    body = (
        "def f(x0, x1, x2):\n"
        "    k0 = 0\n"
        "    while x2 and k0 < 3:\n"
        "        k0 += 1\n"
        "        x1[0] = np.mean(x0)\n"
        "        x0 += np.einsum('ik,kj->ij', x2 * np.linspace(1.3, 1.1, 9).reshape(3, 3), x1)\n"
        "    return np.mean(x1)\n"
    )
    rng = np.random.default_rng(3)
    _gradient_matches(tmp_path, body, rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), -0.403)


def test_two_row_writes_in_a_loop_keep_the_adjoint_the_second_reads(tmp_path):
    # mutation family: the adjoint of 'x0[0] = 3' was zeroed under the loop's name, and
    # the next statement read the row it needed for 'x0[1] = x1' after it was zeroed
    body = (
        "def f(x0, x1):\n"
        "    for row0 in x0:\n"
        "        x0[1] = x1\n"
        "        x0[0] = 3\n"
        "    return np.mean(x0)\n"
    )
    a = np.array([[-0.808, 1.412, 1.24], [0.187, -0.972, 1.16], [1.13, -1.04, 1.196]])
    _gradient_matches(tmp_path, body, a, 1.483)


def test_a_loop_writing_into_an_array_copies_it_while_a_view_of_it_is_still_read(tmp_path):
    # mutation family: the backward pass read the row view x1[0] after the loop had
    # written into the same array in place
    body = (
        "def f(x0, x1):\n"
        "    buf0 = x1 * 1.0\n"
        "    x1[1] -= x0\n"
        "    x0 /= 1.0 + x0 * x1[0]\n"
        "    for row0 in buf0:\n"
        "        x1[-2] += np.sum(buf0)\n"
        "    return np.mean(x0) + np.sum(x1)\n"
    )
    a, b = np.array([0.23, -0.43]), np.array([[1.138, 0.265], [-0.747, 0.98]])
    _gradient_matches(tmp_path, body, a, b)


def test_a_loop_counter_and_a_value_named_like_the_loop_item_get_two_names(tmp_path):
    # mutation family: 'e0 *= 0.5' took the name of the counter that indexes x0[e0]
    body = (
        "def f(x0, x1):\n"
        "    for e0, w0 in zip(x0, np.concatenate([np.arange(1), x1 * np.arange(2)])):\n"
        "        e0 *= 0.5\n"
        "        x1 *= w0 - e0\n"
        "    return x1\n"
    )
    _gradient_matches(tmp_path, body, np.array([-0.875, -0.212, 0.702]), -0.483)


def test_zip_with_a_view_of_the_array_the_loop_writes_into_is_refused(tmp_path):
    body = (
        "def f(x0, x1):\n"
        "    for row0, w0 in zip(x1, x1.T.T):\n"
        "        x0 += w0\n"
        "        x1 -= 0.25\n"
        "    return np.mean(x0)\n"
    )
    f = module_from_source(HEADER + body, tmp_path, "regression").f
    with pytest.raises(srcad.UnsupportedSyntax, match="shares memory"):
        srcad.grad(f)(np.ones(4), np.ones((2, 4)))


def test_a_write_after_a_masked_update_in_a_loop_reads_the_adjoint_before_zeroing(tmp_path):
    # mutation family: 'x1[[False, False]] *= 1.0' filled the loop's adjoint in place, then
    # 'x1[1] = x2' zeroed row 1 under the loop's name before its gradient was read
    body = (
        "def f(x1, x2):\n"
        "    for i0 in range(1, len(x1)):\n"
        "        x1[1] = x2\n"
        "        x1[[False, False]] *= 1.0\n"
        "    return np.mean(x1)\n"
    )
    _gradient_matches(tmp_path, body, np.array([-1.477, -0.448]), 0.405)


def test_a_row_write_after_an_inner_loop_reads_the_adjoint_before_zeroing_it(tmp_path):
    # mutation family: the backward of 'x1[1] = x2' zeroed row 1 of the adjoint under the
    # outer loop's name, then read row 1 for dx2 (codegen.liveness now checks every name)
    body = (
        "def f(x0, x1, x2):\n"
        "    v0 = np.concatenate([np.linspace(1.48, 0.39, 1), x0 * np.linspace(0.68, 0.97, 1)])\n"
        "    for i0 in range(1, len(x1)):\n"
        "        x1[1] = x2\n"
        "        for e0 in v0:\n"
        "            x2 = np.min(np.einsum('ij,j->i', np.linspace(1.09, 0.67, 4).reshape(2, 2), x1))\n"
        "        x1[[False, False]] *= 1.0\n"
        "    return x2\n"
    )
    _gradient_matches(tmp_path, body, 0.734, np.array([-1.477, -0.448]), 0.405)


def test_a_view_on_the_tape_is_not_overwritten_by_the_next_iteration(tmp_path):
    # mutation family: 'np.flip(x1)' (a view of x1) was recorded, then the next iteration
    # wrote 'x1[:] = ...' into the same array, changing the recorded value
    body = (
        "def f(x1, x2):\n"
        "    for i0, row0 in enumerate(x1):\n"
        "        x1[:] = np.sum(row0)\n"
        "        x2 = x2 - np.einsum('ij,ij->', np.tanh(x1), np.flip(x1))\n"
        "    return x2\n"
    )
    x1 = np.array([[0.04, 0.444], [-0.015, 1.311], [-1.05, -1.088], [-1.016, -0.073]])
    _gradient_matches(tmp_path, body, x1, -1.249)


def test_a_buffer_written_in_a_zip_loop_keeps_the_rows_the_tape_recorded(tmp_path):
    body = (
        "def f(x0):\n"
        "    buf0 = x0 * 1.0\n"
        "    for row0, w0 in zip(x0, np.linspace(1.19, 0.3, 12).reshape(4, 3)):\n"
        "        buf0[0] = w0\n"
        "        w0 = np.matmul(np.mean(x0) * np.linspace(1.32, 1.34, 9).reshape(3, 3), buf0.T).mean()\n"
        "        x0 += (w0 * np.linspace(1.33, 1.28, 4))[:, None]\n"
        "    return np.sum(x0)\n"
    )
    x0 = np.array([[0.352, -0.429, 0.551], [-0.352, -0.933, -0.36], [-0.69, 1.229, -0.691]])
    _gradient_matches(tmp_path, body, np.vstack([x0, [[-1.456, -0.593, 0.559]]]))


def test_rows_of_an_array_doubled_in_place_inside_nested_loops(tmp_path):
    body = (
        "def f(x0, x1):\n"
        "    for i1 in range(3):\n"
        "        x0[0:3] += x0\n"
        "        for row0, w0 in zip(x0, x1):\n"
        "            x1[1] -= row0 @ row0\n"
        "    return np.sum(x1)\n"
    )
    x0 = np.array([[-0.189, 0.653, 0.817], [-1.212, -0.662, 0.886], [1.061, 0.215, -1.016]])
    x1 = np.array([[0.64, 1.218, -0.671], [0.212, -1.063, -1.177], [-1.271, -0.324, -1.237]])
    _gradient_matches(tmp_path, body, x0, x1)


def test_std_of_values_equal_up_to_rounding_has_the_subgradient_zero(tmp_path):
    # mutation family: std of a diff of a linspace is rounding noise (1e-17); its gradient
    # was noise / noise = 0.0178 where central differences give 0
    body = (
        "def f(x0, x1):\n"
        "    x0[0] *= np.std(np.diff(x1 * np.linspace(0.15, 0.43, 4)))\n"
        "    return np.mean(x0)\n"
    )
    _gradient_matches(tmp_path, body, np.array([-1.095, 0.651, -0.688]), -0.52)


def test_a_loop_result_that_is_also_the_branch_result_is_one_value(tmp_path):
    # control family: the liveness check took 'x1_1 = <while result>' at the end of a
    # branch for an overwrite of that same value (an AssertionError, then InternalError)
    body = (
        "def f(x0, x1):\n"
        "    v0 = np.linspace(1.03, 1.19, 4).reshape(2, 2)\n"
        "    for i0 in range(2):\n"
        "        while x0 <= -1.96:\n"
        "            x1 += 0.5\n"
        "        v0 = v0 - np.arctan2(x1, 2.0)\n"
        "        break\n"
        "    return np.mean(x1) + np.sum(v0)\n"
    )
    _gradient_matches(tmp_path, body, -0.003, np.array([1.369, 0.157]))


def test_a_value_read_in_an_inner_loop_is_dead_when_the_enclosing_branch_ends(tmp_path):
    # control family: a read by the inner loop's later iterations was placed after the
    # enclosing branch's results were assigned (both end at the same statement)
    body = (
        "def f(x0, x1, x2):\n"
        "    while True:\n"
        "        if x1:\n"
        "            break\n"
        "        if x1:\n"
        "            x0 /= 1.0\n"
        "        while True:\n"
        "            if np.mean(x0):\n"
        "                break\n"
        "            x2 = 0.5\n"
        "    return np.mean(x0) * x2\n"
    )
    _gradient_matches(tmp_path, body, np.array([[-0.178, 1.085], [0.448, 0.702]]), 0.625, 1.33)


def test_an_if_result_that_is_a_nested_if_result_is_one_value(tmp_path):
    # control family: x0 from an inner 'if' is recorded after the outer 'if', whose result
    # is that same x0 (through the middle 'if'); taken for an overwrite (InternalError)
    body = (
        "def f(x0, x1):\n"
        "    v0 = x0 * 1.0\n"
        "    k1 = 0\n"
        "    while True:\n"
        "        if k1 > 4 or np.sum(x0) < 0.5:\n"
        "            break\n"
        "        k2 = 0\n"
        "        while k2 < 3:\n"
        "            k2 += 1\n"
        "            if x0[0] <= -0.14:\n"
        "                v0 = np.tanh(v0 + np.arange(3) * 1.08)\n"
        "                continue\n"
        "            x0 += 0.5 * np.tanh(np.dot(x1, np.linspace(-1.49, -0.97, 3)) @ np.cos(x1))\n"
        "        v0 = 0.9 * v0 - 0.1 * np.arctan2(np.hypot(v0, x0), 2.0 + np.tanh(x0))\n"
        "        k1 += 1\n"
        "    return 0.89 * np.sum(x1) + 1.19 * np.mean(v0) + 0.61 * np.mean(x0)\n"
    )
    x1 = np.array([[-0.999, -0.981, -0.412], [0.455, 0.073, 0.127], [-0.629, -0.636, 0.617]])
    _gradient_matches(tmp_path, body, np.array([-0.274, 0.486, 0.618]), x1)


def test_a_carried_value_reversed_in_a_loop_keeps_its_adjoint(tmp_path):
    # control family (seed 36001417): the adjoint of v = v[::-1] is a scatter into zeros,
    # written "dv = np.zeros(...); dv[::-1] = dv" under the carried adjoint's own name, so
    # the zeros overwrote the adjoint before it was read (a zero gradient, silently)
    body = (
        "def f(x):\n"
        "    v = x * 1.0\n"
        "    for t in range(2):\n"
        "        v = v[::-1]\n"
        "    return np.sum(v * np.arange(2.0))\n"
    )
    _gradient_matches(tmp_path, body, np.array([0.3, -1.2]))
    body = "def f(x):\n    v = x[1]\n    for e in v:\n        v = v[::-1]\n    return np.sum(v)\n"
    _gradient_matches(tmp_path, body, np.array([[-0.757, 1.46], [0.989, 1.478]]))


def test_an_empty_block_of_generated_code_stays_a_block(tmp_path):
    # functions family (seed 36001139): reading generated code in plain NumPy for a further
    # derivative blanked its 'pass' statements, leaving a block without a statement
    from srcad.codegen.reuse import plain_source

    source = "def g(x, h):\n    if x > 0:\n        pass\n    np.tanh(h, out=h)\n    return x, h\n"
    plain = "def g(x, h):\n    if x > 0:\n        pass\n    h = np.tanh(h)\n    return x, h\n"
    assert plain_source(source) == plain
    body = "def f(x):\n    if np.sum(x) > 0:\n        pass\n    return np.sum(x**2)\n"
    _gradient_matches(tmp_path, body, np.array([0.5, -0.25]))
    f = module_from_source(HEADER + body, tmp_path, "second").f
    hessian = srcad.hessian(f)(np.array([0.5, -0.25]))
    np.testing.assert_allclose(hessian, 2 * np.eye(2), atol=1e-12)


def test_a_name_read_in_the_index_of_a_loop_write_is_not_carried(tmp_path):
    # mutation family (seed 38000038): 'x[np.array([0, 2])] *= 2.0' in a loop counted 'np'
    # among the names the loop assigns, carried it as a value and refused 'np.array'
    body = (
        "def f(x, rows):\n"
        "    for row in rows:\n"
        "        x[np.array([0, 2])] *= 1.0 + np.sum(row)\n"
        "    return np.sum(x**2)\n"
    )
    _gradient_matches(tmp_path, body, np.array([0.5, -1.0, 2.0]), np.full((2, 3), 0.1))


def test_an_input_read_twice_by_one_operation_gets_its_contributions_summed_first(tmp_path):
    # functions family: s - s passed g and -g to s, added one after the other to the
    # 0.89 already there: (0.89 + g) - g with g ~ 1e14 came back 0.890625 (low bits lost)
    body = (
        "def f(x, s):\n"
        "    v = (s - s) * x\n"
        "    for _ in range(48):\n"
        "        v = np.tanh(v + v)\n"
        "    return 0.89 * s + np.sum(v)\n"
    )
    f = module_from_source(HEADER + body, tmp_path, "regression").f
    x = np.array([0.3, -0.2])
    _, ds = srcad.grad(f, argnums=(0, 1))(x, -0.054)
    assert ds == 0.89  # exactly: the two contributions cancel before they meet 0.89
    _gradient_matches(tmp_path, body, x, -0.054)


def test_a_value_an_if_in_a_nested_loop_reads_gets_its_gradient_across_the_outer_loop(tmp_path):
    # control family: x2, read only by a branch of an if inside the inner loop, was not among
    # the outer loop's values to carry an adjoint for (a branch's outputs were looked at one
    # level deep), so its gradient from every outer iteration was dropped: 0.0 for 1.0
    body = (
        "LIMIT = 0.75\n\n\n"
        "def f(x0, x1, x2):\n"
        "    for i in range(0, 3, 2):\n"
        "        for j in range(1, 2):\n"
        "            v0 = x1\n"
        "            x1 = v0 if np.all(x0 <= LIMIT) else x2\n"
        "    return v0 * 3.0\n"
    )
    x0 = np.array([[-1.1, -1.2], [0.98, 1.24]])
    _gradient_matches(tmp_path, body, x0, -0.262, 0.579)
    _gradient_matches(tmp_path, body, x0 - 2.0, -0.262, 0.579)  # the other branch
    module = module_from_source(HEADER + body, tmp_path, "regression")
    gradient = srcad.grad(module.f, argnums=(1, 2))
    for limit in (0.75, 2.0):  # the second call after the global changed: the other branch
        module.LIMIT = limit
        expected = srcad.numerical_grad(module.f, x0, -0.262, 0.579, argnums=(1, 2))
        np.testing.assert_allclose(gradient(x0, -0.262, 0.579), expected, atol=1e-8)


def test_one_array_entering_a_loop_as_two_carried_values_is_copied_before_a_write(tmp_path):
    # mutation family (seed 818100000001987): 'buf0 = x2 * 1.0' simplified to x2's own
    # array; both entered the loop under their names and 'x2[i0] += ...' wrote into the
    # array buf0 still held: the value came out 9.149 for 9.236
    body = (
        "def f(x2):\n"
        "    x2 = x2.copy()\n"
        "    buf0 = x2 * 1.0\n"
        "    for i0 in range(4):\n"
        "        x2[i0] += np.mean(buf0)\n"
        "        buf0[i0] = np.square(buf0).mean()\n"
        "    return np.sum(buf0) + 0.5 * np.sum(x2)\n"
    )
    x2 = np.array(
        [[0.29, 0.229, -0.05], [-1.27, -1.077, 0.3], [1.303, 0.578, 0.12], [0.4, -1.0, 0.8]]
    )
    _gradient_matches(tmp_path, body, x2)


def test_a_tangent_is_not_written_in_place_over_a_view_of_itself(tmp_path):
    # mutation family (seed 717100000000774, found while checking its refusal): the tangent of
    # 'y[:, -1] = y[1].copy()' was 'y_dot[:, -1] = y_dot[1]', in place over its own row
    body = (
        "def f(x):\n"
        "    y = np.outer(x, x)\n"
        "    y[:, -1] = y[1].copy()\n"
        "    return np.sum(y * np.arange(9.0).reshape(3, 3))\n"
    )
    x = np.array([0.7, -0.4, 1.1])
    f = module_from_source(HEADER + body, tmp_path, "regression").f
    np.testing.assert_allclose(srcad.jacfwd(f)(x), srcad.numerical_grad(f, x), rtol=1e-6)
    _gradient_matches(tmp_path, body, x)
