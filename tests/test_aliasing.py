"""Two names for one array: srcad refuses a write that NumPy would make visible through a
name read afterwards, accepts the writes where no such name is read, and the liveness that
decides "read afterwards" follows loops and rebinding."""

from __future__ import annotations

import ast
import functools
import inspect

import numpy as np
import pytest

import srcad
from srcad.lower.liveness import live_after


def second_name(x):
    y = x * 1.0
    z = y
    z[0] = 0.0
    return np.sum(y)


def second_name_in_a_loop(x):
    y = x * 1.0
    z = y
    for i in range(2):
        z[i] = 0.0
    return np.sum(y)


def slice_then_write_base(x):
    y = x * 2.0
    v = y[0:2]
    y[0] = 5.0
    return np.sum(v * x[0:2])


def write_through_reshape(x):
    y = x * 2.0
    column = y.reshape(3, 1)
    column[0, 0] = 1.0
    return np.sum(y * x)


def augmented_alias_of_argument(x):
    y = x
    y += 1.0
    return np.sum(y * x)


def second_names_follow_writes(x):
    y = x * SCALE["value"]
    z = y
    y[0] = np.sin(y[1])
    y += 1.0
    w = z
    z[1:] *= 3.0
    return np.sum(y**2) + np.sum(z * w) + np.sum(w)


SCALE = {"value": 2.0}


def test_a_second_name_for_an_array_sees_writes_as_numpy_does():
    x = np.array([0.3, -0.7, 1.1])
    for scale in (2.0, -0.5):  # a second call after the world changed
        SCALE["value"] = scale
        value, gradient = srcad.value_and_grad(second_names_follow_writes)(x)
        assert value == pytest.approx(second_names_follow_writes(x))
        expected = srcad.numerical_grad(second_names_follow_writes, x)
        np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-8)
        forward = srcad.grad(second_names_follow_writes, mode="forward")(x)
        np.testing.assert_allclose(forward, expected, rtol=1e-6, atol=1e-8)
    SCALE["value"] = 2.0


def _set_first(v):
    v[0] = 5.0
    return v


def helper_writes_caller_array(x):
    y = x * 1.0
    z = _set_first(y)
    return np.sum(z * y)


@pytest.mark.parametrize(
    "fun",
    [
        second_name_in_a_loop,
        slice_then_write_base,
        write_through_reshape,
        augmented_alias_of_argument,
    ],
)
def test_writes_numpy_would_show_through_another_name_are_refused(fun):
    with pytest.raises(srcad.errors.UnsupportedSyntax) as error:
        srcad.grad(fun)(np.array([1.0, 2.0, 3.0]))
    message = str(error.value)
    assert "test_aliasing.py:" in message and "used afterwards" in message
    assert ".copy()" in message


def rows_rescaled(M):
    B = M.copy()
    for i in range(2):
        row = B[i]
        B[i] = row / np.sum(row**2)
    return np.sum(B)


def rebinding_through_helper(x):
    y = x * 1.0
    y = _set_first(y)
    return np.sum(y**2)


def explicit_copy(x):
    y = x * 1.0
    z = y.copy()
    z[0] = 0.0
    return np.sum(z * y)


def same_expression_twice(x):
    a = x * 2.0
    b = x * 2.0
    b[0] = 0.0
    return np.sum(a * b)


@pytest.mark.parametrize(
    "fun", [rows_rescaled, rebinding_through_helper, explicit_copy, same_expression_twice]
)
def test_writes_no_other_live_name_sees_are_differentiated(fun):
    x = np.array([[1.0, 2.0], [3.0, 4.0]]) if fun is rows_rescaled else np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(srcad.grad(fun)(x), srcad.numerical_grad(fun, x), rtol=1e-6)


def _liveness_of(fun) -> dict[str, set[str]]:
    body = ast.parse(inspect.getsource(fun)).body[0].body
    after = live_after(body)
    return {
        ast.unparse(s).splitlines()[0]: set(after[id(s)])
        for s in ast.walk(ast.Module(body, []))
        if isinstance(s, ast.stmt) and id(s) in after
    }


def test_liveness_follows_loops_and_rebinding():
    live = _liveness_of(rows_rescaled)
    assert "row" not in live["B[i] = row / np.sum(row ** 2)"]  # rebound before the next read
    assert {"B", "i"} <= live["row = B[i]"]
    assert "B" in live["for i in range(2):"]
    live = _liveness_of(second_name)
    assert "y" in live["z[0] = 0.0"] and "z" not in live["z[0] = 0.0"]


def _zero_first(a):
    a[0] = 0.0


def calls_in_place_helper(x):
    y = x * 1.0
    _zero_first(y)
    return np.sum(y)


STIFFNESS = 0.7  # read on every call


def _rhs(y, dydt):  # writes its result into an array the caller passes, C style
    dydt[0] = y[1]
    dydt[1] = -STIFFNESS * np.sin(y[0])


def euler_with_an_out_parameter(y0):
    y = y0.copy()
    derivative = np.zeros(2)
    for _ in range(5):
        _rhs(y, derivative)
        y = y + 0.1 * derivative
    return np.sum(y**2)


def while_with_an_out_parameter(p):
    y = p[:2] * 1.0
    derivative = np.zeros(2)
    t = 0.0
    while t < p[2] + 0.55:  # the data decide the count: a while loop in the generated code
        _rhs(y, derivative)
        y = y + 0.1 * derivative
        t += 0.1
    return np.sum(y**2)


class _System:
    def rhs(self, y, dydt):
        _rhs(y, dydt)
        return 0.0


def while_with_the_helper_spelled_otherwise(p):
    """The helper as a method, its result assigned, its arguments by keyword: the loop
    carries the array it writes all the same (was a false "changes the shape" refusal)."""
    y = p[:2] * 1.0
    derivative = np.zeros(2)
    system = _System()
    t = 0.0
    while t < p[2] + 0.55:
        zero = system.rhs(y, derivative)
        y = y + 0.1 * derivative + zero
        _rhs(y=y, dydt=derivative)
        y = y + 0.05 * derivative
        t += 0.1
    return np.sum(y**2)


def _product_into(d, y):
    d[0] = y[0] * y[1] * STIFFNESS


def helper_called_in_a_comprehension_statement(x):
    d = np.zeros(3)
    [_product_into(d, x * k) for k in range(1, 3)]  # for its effect (was "has no effect")
    first = d[0] * 1.0
    _product_into(d, x[1:]) or None
    return first + d[0] * x[2]


def _fill(out, x):
    for i in range(len(x)):
        out[i] = x[i] ** 2 * STIFFNESS
    out += 1.0


def _fill_twice(out, x):  # through another helper: given back twice
    _fill(out, x * 2.0)


def filled_through_two_helpers(x):
    buffer = np.zeros(3)
    same = buffer  # another name for the array: it sees the writes too
    _fill_twice(buffer, x)
    return np.sum(buffer * same) + np.sum(np.sin(buffer))


def nested_helper(x):
    y = np.zeros_like(x)

    def step(src, dst):
        dst[:] = 0.5 * src * STIFFNESS

    step(x, y)
    return np.sum(y**2)


def _set_first_in_a_branch(v, x):
    if x[0] > 0:
        v[0] = x[0] * 3.0
    else:
        v[1] = x[1] * STIFFNESS


def branch_in_the_helper(x):
    v = np.ones(3)
    _set_first_in_a_branch(v, x)
    return np.sum(v * x)


def _normalized(v):
    v /= np.sqrt(np.sum(v**2)) * STIFFNESS
    return v  # returned too, and the result left unused


def normalized_by_a_helper_returning_it(x):
    y = x * 1.0
    _normalized(y)
    return np.sum(y * x)


class _State:
    def __init__(self, x):
        self.x = x


def _kick(state, h):  # sets an attribute of an object the caller made
    state.x = state.x + h * STIFFNESS * np.sin(state.x)


def kicked_state(x):
    state = _State(x * 1.0)
    for _ in range(3):
        _kick(state, 0.1)
    return np.sum(state.x**2)


def _second_entry(y, d):
    d[1] = y[0] * y[1] * STIFFNESS


def _first_entry_then_a_helper(y, d):  # its last statement: the helper that writes d too
    d[0] = np.exp(y[0])
    _second_entry(y, d)


def written_then_passed_on_last(x):
    d = np.zeros(2)
    _first_entry_then_a_helper(x, d)
    return d[0] * d[1]


def _add_squares(y, d):
    d += y**2 * STIFFNESS


def _add_squares_twice(y, d):  # the second call is the last statement
    _add_squares(y, d)
    _add_squares(y, d)


def helper_calling_a_writer_twice(x):
    d = np.ones(3)
    _add_squares_twice(x, d)
    return np.sum(d * x)


class _Stepper:
    def step(self, y, d):  # a method, its write-then-pass-on ending in a branch
        d[0] = y[0]
        if y[1] > -5.0:
            _second_entry(y, d)


def method_passing_the_array_on_in_a_branch(x):
    d = np.zeros(2)
    _Stepper().step(x, d)
    return d[0] * d[1] + d[0]


@pytest.mark.parametrize(
    "fun",
    [
        written_then_passed_on_last,
        helper_calling_a_writer_twice,
        method_passing_the_array_on_in_a_branch,
        normalized_by_a_helper_returning_it,
        kicked_state,
        calls_in_place_helper,
        helper_writes_caller_array,
        euler_with_an_out_parameter,
        while_with_an_out_parameter,
        while_with_the_helper_spelled_otherwise,
        helper_called_in_a_comprehension_statement,
        filled_through_two_helpers,
        nested_helper,
        branch_in_the_helper,
    ],
)
def test_a_helpers_writes_into_the_callers_array_are_given_back(fun, monkeypatch):
    """A helper writing into an array the caller reads afterwards was refused ("must
    return it"): the caller's names for the array now take its new value when the call
    returns, as NumPy's write into the one array shows through them."""
    gradient = srcad.value_and_grad(fun)
    for scale, x in ((0.7, np.array([0.4, -0.2, 0.9])), (-1.3, np.array([-0.5, 0.3, 0.2]))):
        monkeypatch.setattr(__import__(__name__), "STIFFNESS", scale, raising=True)
        x = x[:2] if fun is euler_with_an_out_parameter else x  # (p: y0 and a duration)
        value, got = gradient(x)
        assert value == pytest.approx(fun(x.copy()), rel=1e-12)
        np.testing.assert_allclose(got, srcad.numerical_grad(fun, x), rtol=1e-6, atol=1e-9)


def _rebinds_after_writing(o, x):
    o[0] = x[0]
    o = o * 2.0
    o[1] = x[1]


def _returns_early(o, x):
    o[0] = x[0]
    if x.shape[0] > 5:
        return
    o[1] = x[1]


def helper_rebinding_its_parameter(x):
    buffer = np.zeros(3)
    _rebinds_after_writing(buffer, x)
    return np.sum(buffer * x)


def helper_returning_early(x):
    buffer = np.zeros(3)
    _returns_early(buffer, x)
    return np.sum(buffer * x)


def view_held_by_the_caller(x):
    buffer = np.zeros(3)
    tail = buffer[1:]
    _fill(buffer, x)
    return np.sum(buffer) + np.sum(tail)


def list_held_by_the_caller(x):
    buffer = np.zeros(3)
    held = [buffer]
    _fill(buffer, x)
    return np.sum(buffer) + np.sum(held[0])


def _two(a, b):
    a[0] = 2.0 * b[1]
    b[1] = 3.0 * a[0]


def same_array_passed_twice(x):
    d = x * 1.0
    _two(d, d)  # NumPy: both writes into the one array
    return np.sum(d * x)


def chosen_by_a_branch(x):
    a, b = np.zeros(3), np.ones(3)
    out = a if x[2] > 0 else b  # NumPy: out is a, or b
    _fill(out, x)
    return np.sum(a) + 10.0 * np.sum(b)


def read_by_a_generator_made_before(x):
    buffer = np.zeros(3)
    doubled = (v * 2.0 for v in buffer)  # reads the array when it runs, after the write
    _fill(buffer, x)
    return sum(doubled)


@pytest.mark.parametrize(
    "fun",
    [
        chosen_by_a_branch,
        read_by_a_generator_made_before,
        same_array_passed_twice,
        helper_rebinding_its_parameter,
        helper_returning_early,
        view_held_by_the_caller,
        list_held_by_the_caller,
    ],
)
def test_a_helpers_write_that_cannot_be_given_back_is_refused(fun):
    with pytest.raises(srcad.errors.UnsupportedSyntax, match="gives a helper's writes back"):
        srcad.grad(fun)(np.array([1.0, 2.0, 3.0]))


def view_before_loop_written_inside(x):
    y = x.copy()
    a = y[0:2]
    for _ in range(2):
        y[1] = y[1] * 2.0
    return np.sum(a)


def view_kept_in_a_tuple(x):
    y = x.copy()
    kept = (y[1:3],)
    y[2] = 10.0 * y[0]
    return np.sum(kept[0])


def flipped_view(x):
    y = x.copy()
    backwards = np.flip(y)
    y[0] = 2.0 * y[2]
    return np.sum(backwards * x)


@pytest.mark.parametrize(
    "fun",
    [
        view_before_loop_written_inside,
        view_kept_in_a_tuple,
        flipped_view,
    ],
)
def test_views_through_loops_containers_and_flips_are_seen(fun):
    with pytest.raises(srcad.errors.UnsupportedSyntax, match="used afterwards"):
        srcad.grad(fun)(np.array([1.0, 2.0, 3.0]))


def element_then_overwrite(x):
    y = x.copy()
    first = y[0]  # an element is a copy
    y[0] = 3.0 * y[1]
    return first * y[0]


def swap_first_two(x):
    y = x.copy()
    t = y[0]
    y[0] = y[1]
    y[1] = t
    return np.sum(y * np.arange(3.0))


def copies_that_look_like_views(x):
    y = x.copy()
    scaled = y * 1.0  # the IR reuses y, NumPy makes a new array
    flat = y.flatten()  # flatten always copies
    y[0] = 5.0
    return np.sum(scaled * flat * y)


@pytest.mark.parametrize(
    "fun", [element_then_overwrite, swap_first_two, copies_that_look_like_views]
)
def test_copies_are_not_mistaken_for_views(fun):
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(srcad.grad(fun)(x), srcad.numerical_grad(fun, x), rtol=1e-6)


def second_name_for_a_constant_array(x):
    a = np.zeros(3)
    b = a
    b[1] = x[0] ** 2
    return np.sum(a) + x[1]


def test_constant_arrays_the_function_makes_are_checked_too():
    for fun in (second_name_for_a_constant_array,):
        with pytest.raises(srcad.errors.UnsupportedSyntax, match="used afterwards"):
            srcad.grad(fun)(np.array([1.0, 2.0, 3.0]))


def copy_of_a_view_written(x):
    y = x.reshape(2, 3)
    z = y.flatten()
    z[0] = 1.0
    return np.sum(z * 2.0) + np.sum(y**2)


def filled_constant_array(x):
    out = np.zeros(3)
    for i in range(3):
        out[i] = x[i] ** 2
    return np.sum(out)


@pytest.mark.parametrize("fun", [copy_of_a_view_written, filled_constant_array])
def test_writes_into_copies_and_fresh_constants_are_fine(fun):
    x = np.arange(1.0, 7.0) if fun is copy_of_a_view_written else np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(srcad.grad(fun)(x), srcad.numerical_grad(fun, x), rtol=1e-6)


def writes_its_argument(x, y):
    x[0] = 5.0  # NumPy would change y too when the caller passes one array twice
    return np.sum(x * y)


def adds_into_a_view_of_its_argument(x, params):
    tail = x[1:]
    tail += params["shift"]
    return np.sum(tail * params["w"][1:])


def test_one_array_passed_twice_to_a_function_that_writes_into_it_is_refused_when_called():
    a = np.array([1.0, 2.0, 3.0])
    gradient = srcad.value_and_grad(writes_its_argument, argnums=(0, 1))
    for _ in range(2):  # separate arrays: the function's own copy is written, as documented
        value, (dx, dy) = gradient(a.copy(), a.copy())
        assert value == writes_its_argument(a.copy(), a.copy())
        expected = srcad.numerical_grad(writes_its_argument, a.copy(), a.copy(), argnums=(0, 1))
        np.testing.assert_allclose(dx, expected[0], rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(dy, expected[1], rtol=1e-6, atol=1e-8)
    shared = a.copy()
    M = np.arange(9.0).reshape(3, 3)
    for x, y in ((shared, shared), (M[0], M[:, 1])):  # one array, or overlapping views
        with pytest.raises(ValueError, match="also passed in as another argument") as error:
            gradient(x, y)
        assert "test_aliasing.py" in str(error.value) and "x = x.copy()" in str(error.value)
    assert np.array_equal(shared, a)  # the generated code changed nothing of the caller's
    params = {"shift": 0.5, "w": a.copy()}
    with pytest.raises(ValueError, match="also passed in as another argument"):
        srcad.grad(adds_into_a_view_of_its_argument)(params["w"], params)
    x = a.copy()
    np.testing.assert_allclose(
        srcad.grad(adds_into_a_view_of_its_argument)(x, params),
        srcad.numerical_grad(adds_into_a_view_of_its_argument, x, params),
        rtol=1e-6,
    )


@pytest.mark.slow
def test_the_numba_variant_checks_an_array_passed_twice_too():
    pytest.importorskip("numba")
    import warnings

    from srcad.backends import NumbaFallbackWarning

    a = np.array([1.0, 2.0, 3.0])
    compiled = srcad.value_and_grad(writes_its_argument, argnums=(0, 1), backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        value, _ = compiled(a.copy(), a.copy())
        assert value == writes_its_argument(a.copy(), a.copy())
        shared = a.copy()
        with pytest.raises(ValueError, match="also passed in as another argument"):
            compiled(shared, shared)


SCALES = np.array([1.0, 2.0, 3.0])


class Weighted:
    def __init__(self, weights):
        self.weights = weights

    def loss(self, x):
        x[0] = 5.0 * x[1]  # NumPy writes into the caller's array
        return np.sum(self.weights * x * x)


def writes_and_reads_a_global(x):
    before = np.sum(SCALES**2)  # read before the write, as after
    x[0] = 5.0 * x[1]
    return before + np.sum(SCALES * x * x)


@pytest.mark.parametrize("transform", ["grad", "forward mode", "hessian"])
def test_an_argument_that_is_a_view_of_an_array_the_function_reads_from_outside_is_refused(
    transform,
):
    """``f(G[:])`` where ``f`` writes into its argument and reads ``G``: NumPy's write shows
    through ``G``; srcad's code writes its own copy and read ``G`` when the call began
    (it gave another value and gradient)."""
    global SCALES
    transformed = {
        "grad": srcad.grad,
        "forward mode": functools.partial(srcad.grad, mode="forward"),
        "hessian": srcad.hessian,
    }[transform]
    model = Weighted(np.array([0.5, 1.5, 2.5]))
    for function, outside in ((writes_and_reads_a_global, "SCALES"), (model.loss, "self.weights")):
        gradient = transformed(function)
        for scales in (np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 4.0])):
            SCALES = scales  # a second call after the world changed
            model.weights = scales * 2.0
            read = SCALES if function is writes_and_reads_a_global else model.weights
            x = np.array([0.3, -0.7, 1.1])
            if transform != "hessian":
                expected = srcad.numerical_grad(function, x.copy())
                np.testing.assert_allclose(gradient(x.copy()), expected, rtol=1e-6, atol=1e-8)
            for shared in (read, read[:], read[::-1]):
                with pytest.raises(ValueError, match="is \\(a view of\\) the array") as error:
                    gradient(shared)
                assert f"reads as '{outside}'" in str(error.value)
                assert "test_aliasing.py" in str(error.value)
            np.testing.assert_array_equal(SCALES, scales)  # nothing of the caller's written
    SCALES = np.array([1.0, 2.0, 3.0])


ORDER = np.array([2, 0, 1])


def writes_an_index_argument(w, order):
    order[0] = 1  # NumPy changes ORDER too, where order is ORDER
    return np.sum(w[ORDER] * w[order] ** 2)


def test_an_int_argument_that_is_an_int_array_read_from_outside_and_written_is_refused():
    """ORDER is compared by the guard, not read: the write showed through it in NumPy only
    (14.0 where NumPy gives 22.0; probe AU F1b)."""
    w = np.array([1.0, -2.0, 3.0])
    gradient = srcad.value_and_grad(writes_an_index_argument)
    value, grad = gradient(w, ORDER.copy())
    assert value == writes_an_index_argument(w, ORDER.copy())
    copied = lambda v: writes_an_index_argument(v, ORDER.copy())  # noqa: E731
    np.testing.assert_allclose(grad, srcad.numerical_grad(copied, w), rtol=1e-6, atol=1e-8)
    for shared in (ORDER, ORDER[:]):
        with pytest.raises(ValueError, match="the array the function also reads as 'ORDER'"):
            gradient(w, shared)
    np.testing.assert_array_equal(ORDER, [2, 0, 1])


ZERO_D = np.array(2.0)


def adds_into_a_zero_d_argument(x, y):
    x += 1.0  # NumPy changes a 0-d array in place (a number: a new one)
    return x * y * ZERO_D


def test_a_zero_d_array_passed_twice_or_read_from_outside_and_written_is_refused():
    """``x += 1.0`` of a 0-d array also passed as ``y``, or also read as a global: NumPy's
    write shows through the other name (9.0 where srcad gave 6.0; probe AU)."""
    global ZERO_D
    gradient = srcad.value_and_grad(adds_into_a_zero_d_argument, argnums=(0, 1))
    for scale in (2.0, -0.5):  # a second call after the global changed
        ZERO_D = np.array(scale)
        for x, y in ((np.array(2.0), np.array(3.0)), (np.float64(2.0), 3.0), (2.0, 3.0)):
            value, grads = gradient(x, y)
            assert value == adds_into_a_zero_d_argument(np.copy(x), np.copy(y))
            copied = lambda a, b: adds_into_a_zero_d_argument(np.copy(a), np.copy(b))  # noqa: E731
            expected = srcad.numerical_grad(copied, x, y, argnums=(0, 1))
            np.testing.assert_allclose(grads, expected, rtol=1e-6)
        shared = np.array(2.0)
        with pytest.raises(ValueError, match="also passed in as another argument"):
            gradient(shared, shared)
        with pytest.raises(ValueError, match="the array the function also reads as 'ZERO_D'"):
            gradient(ZERO_D, np.array(3.0))
    ZERO_D = np.array(2.0)


def test_a_copy_written_as_arithmetic_keeps_its_views_apart_from_the_original():
    """``y = x * 1.0`` is a new array whose views a write into ``y`` changes: it was taken
    to be ``x`` itself, and the view's old values were used (a wrong value)."""

    def times_one(x):
        y = x * 1.0
        tail = y[1:]
        y[1] = 5.0
        return np.sum(tail)

    with pytest.raises(srcad.UnsupportedSyntax, match="'tail' also refers to"):
        srcad.grad(times_one)(np.array([0.1, 0.2, 0.3, 0.4]))


def swaps(x):
    rows = np.sin(x).reshape(2, 2)
    rows[[0, 1]] = rows[[1, 0]]  # fancy indexing copies: a true swap
    a = x * 2.0
    a[0], a[1] = a[1], a[0]  # numbers: a true swap too
    return np.sum(rows * np.array([[1.0, 2.0], [3.0, 4.0]])) + a @ np.arange(4.0)


def test_swaps_of_numbers_and_by_fancy_indexing_and_a_swap_of_rows_by_views():
    """``A[0], A[1] = A[1], A[0]`` gives NumPy two equal rows (the view on the right sees
    the first write): refused with the fancy-indexing swap to write instead."""
    x = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(srcad.grad(swaps)(x), srcad.numerical_grad(swaps, x), rtol=1e-6)

    def swaps_rows(x):
        rows = np.sin(x).reshape(2, 2)
        rows[0], rows[1] = rows[1], rows[0]
        return np.sum(rows * np.array([[1.0, 2.0], [3.0, 4.0]]))

    with pytest.raises(srcad.UnsupportedSyntax, match=r"rows\[\[i, j\]\] = rows\[\[j, i\]\]"):
        srcad.grad(swaps_rows)(x)


# --- arrays from outside the function: NumPy's write lasts beyond the call ---------------------
RUNNING = np.zeros(3)
COUNTS = np.zeros(3, dtype=np.int64)


def _closure_writing_into_its_buffer():
    buffer = np.zeros(3)

    def with_buffer(x):
        buffer[:] = x * 2.0
        return np.sum(buffer * x)

    return with_buffer


def accumulates_into_a_global(x):
    RUNNING[:] = RUNNING + x
    return np.sum(RUNNING * x)


def through_a_view_of_a_global(x):
    tail = RUNNING[1:]
    tail += x[1:]
    return np.sum(RUNNING * x)


def counts_its_calls(x):
    COUNTS[0] += 1
    return np.sum(x * COUNTS)


def out_into_a_global(x):
    np.tanh(x, out=RUNNING)
    return np.sum(RUNNING)


def fills_a_global(x):
    RUNNING.fill(2.0)
    return np.sum(RUNNING * x)


def adds_at_into_a_global(x):
    np.add.at(RUNNING, [0], 1.0)
    return np.sum(RUNNING * x)


def accumulates_into_its_default(x, acc=np.zeros(3)):  # noqa: B008 - the gotcha itself
    acc += x
    return np.sum(acc * x)


@pytest.mark.parametrize(
    "fun",
    [
        accumulates_into_a_global,
        through_a_view_of_a_global,
        counts_its_calls,
        out_into_a_global,
        fills_a_global,
        adds_at_into_a_global,
        accumulates_into_its_default,
        _closure_writing_into_its_buffer(),
    ],
    ids=lambda f: f.__name__,
)
def test_a_write_into_an_array_from_outside_is_refused_at_its_line(fun):
    """The plain function's next call computes with the values this call wrote; srcad's
    code, which reads the array on every call, would compute with the old ones (the plain
    running sum gives 14 then 28 for x = [1, 2, 3], srcad 14 twice)."""
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(
        srcad.UnsupportedSyntax, match="outside the function|default is an array"
    ) as error:
        srcad.grad(fun)(x)
    assert error.value.file == __file__
    assert error.value.line is not None
    RUNNING[:] = 0.0
    COUNTS[:] = 0


def copies_a_global_first(x):
    state = RUNNING.copy()
    state[0] = 5.0
    state += x
    return np.sum(state * x)


def test_writes_into_a_copy_of_a_global_differentiate_and_read_the_global_again():
    x = np.array([1.0, 2.0, 3.0])
    gradient = srcad.grad(copies_a_global_first)
    try:
        for values in ([0.0, 0.0, 0.0], [1.0, -2.0, 0.5]):
            RUNNING[:] = values
            np.testing.assert_allclose(
                gradient(x), srcad.numerical_grad(copies_a_global_first, x), rtol=1e-7
            )
            np.testing.assert_array_equal(RUNNING, values)  # both left it as it was
    finally:
        RUNNING[:] = 0.0


# --- results NumPy gives as views though srcad's IR has no equation for them (found by a probe)
VIEWED = np.array([0.5, -1.0, 2.0, 0.3])


def reshaped_to_its_own_shape(x):
    y = x * 1.0
    z = y.reshape(-1)  # a vector: NumPy's view of y
    z[1] = 10.0
    return np.sum(y * x)


def broadcast_to_its_own_shape(x):
    y = x * 1.0
    z = np.broadcast_to(y, (4,))
    y[0] = 10.0
    return np.sum(z * x)


def diagonal_by_einsum(x):
    M = np.outer(x, x)
    d = np.einsum("ii->i", M)
    M[1, 1] = 10.0
    return np.sum(d * x)


def element_view_with_ellipsis(x):
    y = x * 1.0
    a = y[..., 0]  # a 0-d view, not a number
    y[0] = 10.0
    return a * x[0]


def aliased_zero_d_array(x):
    total = np.array(0.0)
    history = []
    for k in range(3):
        total += np.sum(x**2) * (k + 1.0)
        history.append(total)  # the same 0-d array three times
    return history[0] + history[1]


def aliased_zero_d_array_in_a_loop(x):
    total = np.array(0.0)
    kept = total  # NumPy: the same array, which the loop changes
    for _ in range(50):  # a loop srcad keeps a loop
        total += np.sum(x**2) * 0.01
    return kept * 3.0


@pytest.mark.parametrize(
    "function",
    [
        aliased_zero_d_array_in_a_loop,
        reshaped_to_its_own_shape,
        broadcast_to_its_own_shape,
        diagonal_by_einsum,
        element_view_with_ellipsis,
        aliased_zero_d_array,
    ],
)
def test_a_write_seen_through_a_view_numpy_makes_without_a_copy_is_refused(function):
    """y.reshape(-1) of a vector, np.broadcast_to to its own shape, np.einsum('ii->i'),
    y[..., 0] and a 0-d array += were taken for new arrays: wrong values and gradients."""
    with pytest.raises(srcad.UnsupportedSyntax, match="writes into an array"):
        srcad.grad(function)(VIEWED)


def kept_without_a_copy(x):
    y = x * 1.0
    z = y.astype(np.float64, copy=False)  # y itself
    w = np.array(y, copy=None)  # y itself
    y[0] = 10.0
    return np.sum(z * x) + np.sum(w * x**2)


def accumulated_in_a_zero_d_array(x):
    total = np.array(0.0)
    for k in range(3):
        total += np.sum(x**2) * (k + 1.0)
    steps = np.zeros(())
    for _ in range(50):
        steps += np.sum(np.sin(x)) * 0.01
    return total * 2.0 + steps


@pytest.mark.parametrize("function", [kept_without_a_copy, accumulated_in_a_zero_d_array])
def test_the_same_array_without_a_copy_follows_the_write(function):
    """astype(copy=False) and np.array(copy=None) of the same dtype are the array itself:
    they see the write (were new arrays: wrong); a 0-d accumulator nothing else holds is
    lowered."""
    np.testing.assert_allclose(srcad.value_and_grad(function)(VIEWED)[0], function(VIEWED))
    np.testing.assert_allclose(
        srcad.grad(function)(VIEWED), srcad.numerical_grad(function, VIEWED), rtol=1e-6
    )


def zero_d_array_written_whole(x):
    y = np.zeros(())
    y[()] = 3.0 * x * SCALE["k"]
    return float(y) + y * 1.0


def zero_d_array_written_after_arithmetic(x):
    y = np.array(x * 1.0)
    y += 1.0  # NumPy gives a scalar back here...
    y[...] = y * 2.0 * SCALE["k"]  # ...yet y, the 0-d array, takes the write
    return float(y) ** 2


def zero_d_array_computed_into(x):
    y = np.array(x * 0.5)
    np.exp(y, out=y)
    return y * 2.0 * SCALE["k"]


def zero_d_int_array_written(x):
    k = np.zeros((), dtype=np.int64)
    k[()] = 2.7 * SCALE["k"] + 0.0 * x  # NumPy truncates: 2, no derivative
    return k * x


@pytest.mark.parametrize(
    "fun",
    [
        zero_d_array_written_whole,
        zero_d_array_written_after_arithmetic,
        zero_d_array_computed_into,
        zero_d_int_array_written,
    ],
)
def test_a_zero_d_array_written_whole_takes_the_value_in_its_dtype(fun):
    """``y[()] = v`` of a 0-d array: the generated code indexed a Python float (raw
    TypeError, probe AF)."""
    for x in (0.5, -1.25):
        _agrees_as_the_scale_changes(fun, srcad.value_and_grad(fun), x)


SCALE = {"k": 1.0}


def _agrees_as_the_scale_changes(fun, transformed, *args):
    """``transformed(*args)`` against central differences of ``fun``, again after the global
    its helpers read changed (and the value, where ``transformed`` gives one)."""
    try:
        for k in (1.0, 0.5):
            SCALE["k"] = k
            got = transformed(*args)
            if isinstance(got, tuple):
                value, got = got
                assert value == pytest.approx(fun(*(np.copy(a) for a in args)), rel=1e-14)
            expected = srcad.numerical_grad(fun, *args)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    finally:
        SCALE["k"] = 1.0


def pair_forces(x):
    F = np.zeros_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[0]):
            F[i] += x[j] * SCALE["k"]
    return F


def euler_steps(x):
    """x's and F's adjoints are one array after a step (x = x + F): the next step's
    dx[j] += ... must not change dF's rows, read through a view."""
    F = pair_forces(x)
    for _ in range(3):
        x = x + F
        F = pair_forces(x)
    return np.sum(x**2)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
def test_two_carried_adjoints_sharing_one_array_get_their_own(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    positions = np.array([[0.5, 0.1], [1.3, -0.4], [0.2, 0.9]]) * 0.1
    gradient = srcad.grad(euler_steps, backend=backend)
    _agrees_as_the_scale_changes(euler_steps, gradient, positions)


def velocity_steps(x):
    """v = np.zeros_like(x) and the helper's F = np.zeros_like(x): one value in the IR, two
    arrays for NumPy; the helper's writes into its F were refused as writes into v."""
    v = np.zeros_like(x)
    F = pair_forces(x)
    for _ in range(2):
        v = v + F
        x = x + v
        F = pair_forces(x)
    return np.sum(x**2)


def test_arrays_made_alike_are_two_arrays():
    positions = np.array([0.3, 1.3]) * 0.1
    _agrees_as_the_scale_changes(velocity_steps, srcad.grad(velocity_steps), positions)


def copied_in_a_branch(x):
    """C's tangent is B's very array (a copy's tangent is its input's): written into after
    the if, it changed C's too in forward mode."""
    B = np.sin(x) * SCALE["k"]
    if x[0] > 0:
        C = B.copy()
    else:
        C = B * 2.0
    B[1] = B[0] * 2.0
    return np.sum(C * x) + np.sum(B)


def copied_in_a_loop(x):
    B = np.sin(x) * SCALE["k"]
    for _ in range(2):
        C = B.copy()
    B[0] = 3 * x[1]
    return np.sum(C * x) + np.sum(B**2)


def copied_in_a_while_loop(x):
    B = np.sin(x) * SCALE["k"]
    A = B
    k = 0
    while k < 2:
        A = B * 1.0 if x[k] > 0 else B + 1.0
        B[0] += x[k] ** 2
        k += 1
    return np.sum(A * x) + np.sum(B)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("fun", [copied_in_a_branch, copied_in_a_loop, copied_in_a_while_loop])
def test_a_value_a_block_gives_back_as_it_is_is_not_written_into(fun, mode):
    _agrees_as_the_scale_changes(fun, srcad.grad(fun, mode=mode), np.array([0.3, -0.2, 0.5]))


def unary_plus_then_write(x):
    """NumPy's +B is a new array: the write into B after it does not change C (srcad took
    +B for B itself: a wrong value and gradient)."""
    B = np.sin(x) * SCALE["k"]
    C = +B
    B[1] = 5.0 * x[0]
    return np.sum(C * x) + np.sum(B)


def unary_plus_in_a_branch(x):
    B = np.sin(x) * SCALE["k"]
    C = +B if x[0] > 0 else B * 2.0  # was refused: 'C' may be B
    B[1] = B[0] * 2.0
    return np.sum(C * x) + np.sum(B)


@pytest.mark.parametrize("fun", [unary_plus_then_write, unary_plus_in_a_branch])
def test_unary_plus_makes_a_new_array(fun):
    _agrees_as_the_scale_changes(fun, srcad.value_and_grad(fun), np.array([0.3, -0.2, 0.5]))


def copied_back_each_step(x):
    """v1's tangent at the end of each step is v0's (a copy's tangent is its input's), which
    the next step wrote into in place: a wrong derivative, and jvp changed the caller's
    tangent."""
    v0 = x * SCALE["k"]
    v1 = np.sin(x)
    v3 = np.cos(x)
    k = 0
    while k < 2 and x[k] > -5.0:  # the data decide the count: it stays a loop
        v1[k] = v3[2] + v1[k + 1]
        v3 = v1.copy()
        v1 = v0.copy()
        k += 1
    return np.sum(v1 * x) + np.sum(v3)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_a_loop_writing_into_a_value_from_before_it_writes_into_its_own(mode):
    x = np.array([0.3, -0.5, 0.9, 1.2])
    _agrees_as_the_scale_changes(
        copied_back_each_step, srcad.grad(copied_back_each_step, mode=mode), x
    )
    tangent = np.ones(4)
    _, derivative = srcad.jvp(copied_back_each_step, (x,), (tangent,))
    assert derivative == pytest.approx(np.sum(srcad.numerical_grad(copied_back_each_step, x)))
    np.testing.assert_array_equal(tangent, np.ones(4))  # the caller's tangent untouched


def slices_of_swapped_buffers(b):
    """The forward pass records x[1:-1] (a view); the next sweep writes that array as y:
    its values must be the sweep's own."""
    x = b.copy()
    y = np.zeros_like(b)
    for _ in range(4):
        y[1:-1] = x[1:-1] + 0.1 * SCALE["k"] * (x[2:] - 2 * x[1:-1] + x[:-2]) * x[1:-1]
        y[0] = x[0]
        y[-1] = x[-1]
        x, y = y, x
    return np.sum(x**3)


def whole_buffer_swapped(b):
    """y[:] = ... writes the array the forward pass recorded as x a sweep earlier."""
    x = b.copy()
    y = np.zeros_like(b)
    for _ in range(2):
        y[:] = x * x * SCALE["k"]
        x, y = y, x
    return np.sum(x)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("fun", [slices_of_swapped_buffers, whole_buffer_swapped])
def test_buffers_that_trade_names_in_a_loop_stay_two_arrays(fun, mode):
    b = np.array([0.7, 1.3, 0.4, 1.1, 0.9, 1.4])
    _agrees_as_the_scale_changes(fun, srcad.value_and_grad(fun, mode=mode), b)
    gradient = srcad.grad(fun)
    expected = np.array([srcad.numerical_grad(lambda v, k=k: gradient(v)[k], b) for k in range(6)])
    np.testing.assert_allclose(srcad.hessian(fun)(b), expected, rtol=1e-5, atol=1e-6)


def jacobi_ping_pong(b):
    x = np.zeros_like(b)
    y = np.zeros_like(b)
    for _ in range(3):
        for i in range(1, b.shape[0] - 1):
            y[i] = 0.5 * (x[i - 1] + x[i + 1]) + b[i]
        y[0] = x[0]
        y[-1] = x[-1]
        x, y = y, x
    return np.sum(x**2)


def swapped_for_one_array(b):
    x = np.zeros_like(b)
    y = np.zeros_like(b)
    for _ in range(3):
        for i in range(1, b.shape[0] - 1):
            y[i] = 0.5 * (x[i - 1] + x[i + 1]) + b[i]
        x = y  # no swap: from the second sweep on, x and y are one array
    return np.sum(x**2)


@pytest.mark.parametrize("fun", [jacobi_ping_pong, swapped_for_one_array])
def test_element_writes_into_buffers_that_may_trade_arrays_are_refused(fun):
    """x and y hold each other's arrays in the next sweep: srcad cannot yet prove them two
    arrays within one (accepting them gave wrong adjoints in the generated loops)."""
    with pytest.raises(srcad.UnsupportedSyntax, match="writes into an array that"):
        srcad.grad(fun)(np.array([0.7, 1.3, 0.4, 1.1]))


def swapped_sums(x2):
    """The backward loop swaps two adjoints: one from np.broadcast_to (read-only), written
    into a step later under the other's name (was: "assignment destination is read-only")."""
    x1 = 1.0
    buf = np.zeros_like(x2)
    for _ in range(0, 4, 2):
        buf, x2 = x2, buf
        x1 = x1 + 0.25 * np.sin(buf[1]) * SCALE["k"]
    return 0.63 * np.sum(buf) + 0.8 * x1 + 0.97 * np.mean(x2)


def test_adjoints_that_trade_names_are_the_generated_codes_own():
    x = np.array([-0.66, 1.357, -0.256, 0.011])
    _agrees_as_the_scale_changes(swapped_sums, srcad.value_and_grad(swapped_sums), x)


def shifted_by_one(x):
    y = np.sin(x) * SCALE["k"]
    y[1:] = y[:-1]  # NumPy copies the overlapping elements first (was refused)
    return np.sum(y * x)


def every_other_from_the_end(x):
    y = np.sin(x) * SCALE["k"]
    y[::2] = y[::-2]  # opposite directions: NumPy copies the view first
    y[2:] = y[:-2] * x[0]
    return np.sum(y * x)


def transposed_into_itself(x):
    y = np.outer(x, np.cos(x))
    y[:] = y.T
    y[::-1] += y[1]
    return np.sum(y * np.sin(y)) * SCALE["k"]


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("fun", [shifted_by_one, every_other_from_the_end, transposed_into_itself])
def test_a_write_reading_a_view_of_the_elements_it_writes_as_numpy_does(fun, mode, backend):
    if backend == "numba":
        pytest.importorskip("numba")
    x = np.array([0.3, -0.2, 0.5])
    _agrees_as_the_scale_changes(fun, srcad.value_and_grad(fun, mode=mode, backend=backend), x)


def read_by_a_lambda_default(x):
    o = np.zeros(3)
    get = lambda o=o: o[0]  # noqa: E731 - the default holds the array
    o[0] = x[0] * 3.0
    return get()


def read_by_a_partial(x):
    o = np.zeros(3)
    total = functools.partial(np.sum, o)
    o[0] = x[0] * 3.0
    return total()


def read_by_a_list_iterator(x):
    o = np.zeros(3)
    items = iter([o])
    o[0] = x[0] * 3.0
    return np.sum(next(items))


def _iterated_before_the_write(make_iterator):
    def fun(x):
        o = np.zeros(3)  # an array the function makes as a constant
        items = make_iterator(o)
        o[0] = x[0] * 3.0
        return float(np.ravel(next(items))[-1]) * x[1]

    return fun


def read_by_a_reversed_copy_of_a_computed_array(x):
    o = x * 1.0
    items = reversed(o)
    o[2] = x[0] * 5.0
    return next(items) * x[1]


ITERATORS_OF_A_CONSTANT = [
    _iterated_before_the_write(iter),
    _iterated_before_the_write(enumerate),
    _iterated_before_the_write(lambda o: zip(o, o, strict=True)),
    _iterated_before_the_write(reversed),
    _iterated_before_the_write(lambda o: o.flat),
    _iterated_before_the_write(np.nditer),
    _iterated_before_the_write(lambda o: iter(o.ravel())),
]


@pytest.mark.parametrize(
    "fun",
    [
        read_by_a_lambda_default,
        read_by_a_partial,
        read_by_a_list_iterator,
        read_by_a_reversed_copy_of_a_computed_array,
        *ITERATORS_OF_A_CONSTANT,
    ],
)
def test_a_write_into_an_array_a_function_or_an_iterator_holds_is_refused(fun):
    """A lambda's default, a partial's argument, a list's iterator held the array and read
    it after the write: srcad's read the old values silently (probe AC); so did iterators
    over an array made as a constant (np.zeros), and ``reversed`` of any (probe AE)."""
    with pytest.raises(srcad.errors.UnsupportedSyntax, match="also refers to"):
        srcad.grad(fun)(np.array([0.7, 0.3, 0.2]))


def _add_to_first(d, v):
    d[0] += v
    return v


def written_on_one_path_of_an_and(x):
    d = np.zeros(2)
    x[0] > 0 and _add_to_first(d, x[1])
    return d[0] ** 2


def written_on_one_path_of_an_or(x):
    d = np.zeros(2)
    _add_to_first(d, x[0]) or _add_to_first(d, x[1])
    return d[0] ** 2


def written_in_a_conditional_expression(x):
    d = np.zeros(2)
    _add_to_first(d, x[0]) if x[1] > 0 else _add_to_first(d, x[2])
    return d[0] ** 2


def written_by_a_generator_any_stops(x):
    d = np.zeros(2)
    found = any(_add_to_first(d, v) is not None for v in x)
    return d[0] ** 2 + found


def written_by_a_generator_a_loop_breaks_out_of(x):
    d = np.zeros(2)
    for _ in (_add_to_first(d, v) for v in x):
        break
    return d[0] ** 2


def written_by_a_while_condition(x):
    d = np.zeros(2)
    while _add_to_first(d, x[1]) < -100.0:
        pass
    return d[0] ** 2


@pytest.mark.parametrize(
    "fun",
    [
        written_on_one_path_of_an_and,
        written_on_one_path_of_an_or,
        written_in_a_conditional_expression,
        written_by_a_generator_any_stops,
        written_by_a_generator_a_loop_breaks_out_of,
        written_by_a_while_condition,
    ],
)
def test_a_helpers_write_made_on_a_path_the_data_decide_in_an_expression_is_refused(fun):
    """The write of a helper called in an 'and', an 'or', a conditional expression, a
    generator that any() or a loop stops early, or a while condition was lost (zero
    gradients), or the generated code raised UnboundLocalError (probe AK)."""
    with pytest.raises(
        srcad.errors.UnsupportedSyntax, match="changes 'd'|change a value|still reads"
    ) as e:
        srcad.grad(fun)(np.array([0.3, -0.5, 0.9]))
    assert e.value.file == __file__


def appended_on_one_path_of_an_and(x):
    items = []
    x[1] < 0 and items.append(x[0])  # the append's gradient was lost (probe AO)
    return sum(items) + x[2]


def test_a_container_changed_on_one_path_of_an_and_is_refused():
    with pytest.raises(srcad.errors.UnsupportedSyntax, match="changes a list or dict") as e:
        srcad.grad(appended_on_one_path_of_an_and)(np.array([0.3, -0.7, 1.2]))
    assert e.value.file == __file__


def writes_through_a_view_of_its_argument(x):
    tail = x[1:]
    tail[0] = 5.0
    return np.sum(SCALES * x)


def test_a_refused_write_through_a_view_names_the_argument_it_views():
    """It said "writes into the argument 'tail'" (probe AU F14)."""
    with pytest.raises(ValueError, match="'tail', a view of the argument 'x', which is"):
        srcad.grad(writes_through_a_view_of_its_argument)(SCALES)
