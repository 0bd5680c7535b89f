"""Errors the lowering raises on paths the acceptance tests do not reach: each names the
user's file and line."""

from __future__ import annotations

import collections
import dataclasses
import functools
import inspect
import os

import numpy as np
import pytest

import srcad


def _grows_too_often(x):
    y = x
    for _ in range(10_001):  # <- here
        y = np.concatenate([y, x])
    return np.sum(y)


def _refusal_at_marked_line(function, argument, error=srcad.SrcadError) -> str:
    """The message of ``error``, raised differentiating ``function`` at ``argument``, with
    this file and the line marked ``# <- here`` taken off its start (checked there)."""
    lines, start = inspect.getsourcelines(function)
    line = start + next(k for k, text in enumerate(lines) if "# <- here" in text)
    with pytest.raises(error) as caught:
        srcad.grad(function)(argument)
    message = str(caught.value)
    assert message.startswith(f"{__file__}:{line}: ")
    assert os.path.basename(caught.value.file) == "test_lower_errors.py"
    return message.removeprefix(f"{__file__}:{line}: ")


def test_a_loop_too_long_to_unroll_is_reported_at_its_line():
    message = _refusal_at_marked_line(_grows_too_often, np.ones(1))
    assert message.startswith("this loop changes the shape")


@np.vectorize
def _summed_square(v):
    return np.sum(v * v) if v < 1.0 else 1.0  # a reduction: not elementwise on the arrays


def _through_vectorize(x):
    return np.sum(_summed_square(x))  # <- here


def test_np_vectorize_of_a_reducing_body_is_refused_at_its_line_with_what_to_write():
    message = _refusal_at_marked_line(
        _through_vectorize, np.array([0.5, 2.0]), srcad.errors.UnsupportedSyntax
    )
    assert message.startswith("'_summed_square' is np.vectorize")
    assert "here the body computes np.sum" in message
    assert "np.where for its branches" in message


def _power_spectrum(x):
    return np.sum(np.abs(np.fft.rfft(x)) ** 2)


def _complex_literal(x):
    return np.sum(np.abs(x * (1.0 + 2.0j)))


def test_complex_values_are_refused_with_what_to_write():
    with pytest.raises(srcad.errors.UnsupportedSyntax, match=r"'np.fft.rfft' computes complex"):
        srcad.grad(_power_spectrum)(np.ones(4))
    with pytest.raises(srcad.SrcadError, match="complex numbers are not supported") as caught:
        srcad.grad(_complex_literal)(np.ones(4))
    assert os.path.basename(caught.value.file) == "test_lower_errors.py"


def _positions(x):
    return np.sum(x[np.nonzero(x > 0.5)]) + np.sum(x[np.argwhere(x > 1.0)[:, 0]])  # <- here


def test_positions_of_a_condition_from_data_are_refused_with_what_to_write():
    """np.argwhere (np.nonzero and np.where as an index are followed): the message said to
    give a derivative rule."""
    message = _refusal_at_marked_line(
        _positions, np.array([0.5, 2.0]), srcad.errors.UnsupportedSyntax
    )
    assert message.startswith("'np.argwhere(x > 1.0)' gives the positions")
    assert "np.where(condition, a, b)" in message and "defvjp" not in message


def _sorts_items(x):
    items = [x[0], x[1] * 2.0]
    items.sort()  # <- here
    return items[0]


def test_a_truth_value_asked_for_while_compiling_says_what_to_write():
    message = _refusal_at_marked_line(_sorts_items, np.array([0.5, 2.0]))
    assert message.startswith("the truth value of a value computed")
    assert "np.sort" in message and "'if' statement" in message


@dataclasses.dataclass
class _State:
    pos: np.ndarray
    t: float = 0.0


_STEP = {"dt": 0.1}


def _steps_a_record_until_a_time(x):
    s = _State(x)
    while s.t < 0.45:  # <- here
        s = _State(s.pos * (1.0 - _STEP["dt"]), s.t + _STEP["dt"])
    return np.sum(s.pos**2)


def test_a_while_loop_decided_by_data_that_carries_a_record_names_it():
    """It said the loop "changes the shape of a value it carries, counts with a Python int
    or grows a Python list": none of which it does (found by a probe)."""
    message = _refusal_at_marked_line(_steps_a_record_until_a_time, np.array([1.0, -0.5]))
    assert "carries 's', a _State" in message and "pos, t = s.pos, s.t" in message


def _structured(x):
    table = np.zeros(2, dtype=[("a", float), ("b", float)])  # <- here
    table["a"] = x
    return np.sum(table["a"] ** 2)


def _objects_with_data(x):
    row = np.array([x[0], "label"], dtype=object)  # <- here
    return x[0] * 2.0 + len(row)


def _calls_a_float(x):
    scale = 2.0
    return np.sum(scale(x))  # <- here


SETTINGS = {"gain": 2.0}


def _missing_key(x):
    return np.sum(x) * SETTINGS["gian"]  # <- here


def test_arrays_of_records_or_objects_say_what_to_write():
    """They said "cannot compute with the text 'a'" and "np.stack cannot combine shapes"."""
    for function in (_structured, _objects_with_data):
        message = _refusal_at_marked_line(function, np.ones(2), srcad.UnsupportedSyntax)
        assert "makes an array of" in message and "in its own array" in message
    names = np.array(["u", "v"], dtype=object)  # of constants: made when compiling, as before
    assert (
        srcad.grad(lambda x: np.sum(x) * len(np.array(["u", "v"], dtype=object)))(
            np.ones(2)
        ).tolist()
        == [len(names)] * 2
    )


def test_what_the_plain_function_raises_while_compiling_is_said_as_it_raises_it():
    """A float called ('c' "has no derivative rule ... srcad.defvjp(c, rule)") and a
    missing key (the message was "'SETTINGS['gian']': 'gian'")."""
    message = _refusal_at_marked_line(_calls_a_float, np.ones(2))
    assert message == (
        "'scale' is a float, not a function: calling it raises TypeError (the plain function "
        "raises here too)"
    )
    message = _refusal_at_marked_line(_missing_key, np.ones(2))
    assert (
        message == "'SETTINGS['gian']' raises KeyError: 'gian' (the plain function raises here too)"
    )


def _largest_by_size(x):
    items = [x[0] * 2.0, x[1], x[2] ** 2]
    return max(items, key=abs)  # <- here


def _largest_as_advised(x):
    items = [x[0] * 2.0, x[1], x[2] ** 2]
    keys = np.array([abs(v) for v in items])
    return np.array(items)[np.argmax(keys)]


def test_an_order_by_a_key_from_data_gives_advice_that_works_when_followed():
    """The advice was ``xs[np.argmax(keys)]``, which a list refuses."""
    x = np.array([0.3, -1.0, 0.7])
    message = _refusal_at_marked_line(_largest_by_size, x, srcad.UnsupportedSyntax)
    assert message.endswith("np.array(xs)[np.argmax(keys)]")
    np.testing.assert_allclose(
        srcad.grad(_largest_as_advised)(x), srcad.numerical_grad(_largest_as_advised, x)
    )


@functools.singledispatch
def _doubled(v):
    return v * 2.0


def _calls_a_single_dispatch_function(x):
    return np.sum(_doubled(x))  # <- here


def test_a_single_dispatch_function_is_refused_at_the_users_line():
    """It was lowered line by line inside functools: the message named functools.py and
    "the array attribute '.__class__'" (found by a probe)."""
    message = _refusal_at_marked_line(
        _calls_a_single_dispatch_function, np.ones(2), srcad.UnsupportedSyntax
    )
    assert message.startswith("'_doubled' is a functools.singledispatch function")


def _trajectory_in_a_list(k, dt):
    y, t, out = 1.0, 0.0, []
    while t < 1.0:  # <- here
        y = y - dt * k * y
        t += dt
        out.append(y)
    return sum(out)


def _trajectory_summed(k, dt):
    y, t, total = 1.0, 0.0, 0.0
    while t < 1.0:
        y = y - dt * k * y
        t += dt
        total = total + y
    return total


def test_a_while_loop_growing_a_list_says_what_to_carry_instead():
    """An Euler loop collecting its trajectory (found by a probe): the advice, followed,
    differentiates."""
    lines, start = inspect.getsourcelines(_trajectory_in_a_list)
    line = start + next(k for k, text in enumerate(lines) if "# <- here" in text)
    with pytest.raises(srcad.SrcadError) as caught:
        srcad.grad(_trajectory_in_a_list)(0.5, 0.125)
    message = str(caught.value)
    assert message.startswith(f"{__file__}:{line}: ") and "total = total + y" in message
    expected = srcad.numerical_grad(_trajectory_summed, 0.5, 0.125)
    assert srcad.grad(_trajectory_summed)(0.5, 0.125) == pytest.approx(expected, rel=1e-6)


def _pieces(x):
    return np.sum(np.piecewise(x, [x < 0, x >= 0], [lambda v: v**2, np.sin]))  # <- here


def _pieces_as_advised(x):
    return np.sum(np.select([x < 0, x >= 0], [x**2, np.sin(x)]))


def test_np_piecewise_is_refused_with_advice_that_works_when_followed():
    """It said "'np.piecewise' has no derivative rule ... srcad.defvjp" (found by a probe)."""
    x = np.array([-0.7, 0.4, 1.3])
    message = _refusal_at_marked_line(_pieces, x, srcad.UnsupportedSyntax)
    assert "np.select([c1, c2], [f1(x), f2(x)])" in message and "defvjp" not in message
    np.testing.assert_allclose(
        srcad.grad(_pieces_as_advised)(x), srcad.numerical_grad(_pieces_as_advised, x), rtol=1e-6
    )


def _moving_average_in_a_deque(xs):
    window = collections.deque(maxlen=3)
    total = 0.0
    for v in xs:
        window.append(v)  # <- here
        total = total + sum(window) / len(window)
    return total


def _moving_average_in_a_list(xs):
    window: list = []
    total = 0.0
    for v in xs:
        window = (window + [v])[-3:]
        total = total + sum(window) / len(window)
    return total


def test_a_deque_is_refused_with_advice_that_works_when_followed():
    """'q.append' said "has no derivative rule ... srcad.defvjp(q.append, rule)" (found by a
    probe); following its methods as a list's gave wrong gradients (tried: maxlen drops)."""
    x = np.array([0.3, -0.5, 0.8, 1.2])
    message = _refusal_at_marked_line(_moving_average_in_a_deque, x, srcad.UnsupportedSyntax)
    assert "window = (window + [v])[-n:]" in message
    expected = srcad.numerical_grad(_moving_average_in_a_list, x)
    np.testing.assert_allclose(srcad.grad(_moving_average_in_a_list)(x), expected, rtol=1e-6)


SPACING = 0.5


def _method_of_a_global_float(x):
    if SPACING.is_integer():  # <- here
        return np.sum(x**2)
    return np.sum(x**3)


def test_a_method_of_a_float_read_on_every_call_says_what_to_write():
    """It was refused as an unsupported array attribute, listing ndarray methods (probe Z)."""
    message = _refusal_at_marked_line(_method_of_a_global_float, np.ones(2), srcad.NoDerivativeRule)
    assert "calls a method of a Python float" in message and "K % 1.0 == 0.0" in message


def _unique_of_an_argument(x, labels):
    groups, inverse = np.unique(labels, return_inverse=True)  # <- here
    return np.sum(x * inverse)


def test_unique_of_values_known_only_when_the_code_runs_says_what_to_do():
    """It said np.unique has no derivative rule (the labels are ints; probe AD)."""
    lines, start = inspect.getsourcelines(_unique_of_an_argument)
    with pytest.raises(srcad.NoDerivativeRule, match="how many unique values there are") as e:
        srcad.grad(_unique_of_an_argument)(np.ones(3), np.array([2, 0, 2]))
    assert e.value.line == start + 1


def _windows_by_strides(x):
    s = x.strides[0]  # <- here
    return np.sum(np.lib.stride_tricks.as_strided(x, (2, 2), (s, s)))


def test_asking_for_strides_points_to_sliding_window_view():
    message = _refusal_at_marked_line(_windows_by_strides, np.ones(3), srcad.UnsupportedSyntax)
    assert "sliding_window_view" in message


def _indexes_its_argument(params):
    return np.sum(params["a"] * params["b"])  # <- here


def _reads_an_attribute_of_its_argument(model):
    return np.sum(model.w**2)  # <- here


@pytest.mark.parametrize(
    ("function", "said", "raised"),
    [
        (_indexes_its_argument, "indexes a Python number, which is not subscriptable", TypeError),
        (_reads_an_attribute_of_its_argument, "reads the attribute 'w' of a float", AttributeError),
    ],
)
def test_a_float_passed_where_a_container_is_indexed_says_what_python_says(function, said, raised):
    """It said "cannot compute with the text 'a'" (text formatted from a float) and "calls a
    method of a Python float" (probe AS F6); the plain function raises TypeError or
    AttributeError."""
    with pytest.raises(raised):
        function(1.0)
    message = _refusal_at_marked_line(function, 1.0)
    assert said in message and f"raises {raised.__name__} here too" in message


@pytest.mark.parametrize("function", [lambda: 1.0, lambda *xs: 1.0])
def test_compare_without_an_argument_to_differentiate_says_so(function):
    """A raw IndexError out of srcad/tools/compare.py (probe AS F6)."""
    with pytest.raises(TypeError, match="argnums=0 names an argument to differentiate, but 0"):
        srcad.compare(function)


def _root_by_brentq(a):
    from scipy.optimize import brentq

    return brentq(lambda x: x**3 + a * x - 1.0, 0.0, 2.0)  # <- here


def _integral_by_quad(a):
    from scipy.integrate import quad

    return quad(lambda t: np.exp(-a * t**2), 0.0, 1.0)[0]  # <- here


@pytest.mark.parametrize(
    ("function", "advice"),
    [(_root_by_brentq, "Newton steps"), (_integral_by_quad, "simpson(f(t), x=t)")],
)
def test_a_solver_or_integrator_calling_back_into_the_code_says_what_to_write(function, advice):
    """The advice was for sort keys (np.argsort, np.argmax; probe AR F2)."""
    pytest.importorskip("scipy")
    message = _refusal_at_marked_line(function, 0.7, srcad.UnsupportedSyntax)
    assert advice in message and "np.argsort" not in message
