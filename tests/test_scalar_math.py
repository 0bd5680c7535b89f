"""Scalar code on Python floats: the generated math body, and NumPy's answers where math raises.

Each function of floats is compared with central differences in reverse and forward mode and
again after a global changed; its gradients are Python floats. Where NumPy gives nan or inf
(log(0), sqrt(-1), exp(1000), a negative base to a fractional power) the generated function
gives NumPy's values (not a complex number, not an exception). Graphs with effects or float32
values get no math body.
"""

from __future__ import annotations

import ast
import math
import sys
import warnings

import numpy as np
import pytest
from transformations import assert_gradient

import srcad
from srcad.codegen import scalar_math

SETTINGS = {"scale": 1.5}


def smooth(x, y):
    a = np.sin(x) * y + np.exp(-x * y) + np.arctan2(y, x) + np.hypot(x, y)
    b = np.tanh(a) * np.log1p(y * y) + np.abs(x) ** 1.5 + np.sqrt(x * x + 1.0)
    return a * b * SETTINGS["scale"] + np.arcsinh(a) - np.expm1(-b) + a**-2


def branching(x, y):
    total = 0.0
    for k in range(3):
        if x * k > y:
            total = total + np.cos(x * k) * y
        else:
            total = total + np.exp(y / (k + 1.0)) ** 0.5
    while total < 10.0:
        total = total * 1.5 + x * x
    return total


@pytest.mark.slow
@pytest.mark.parametrize("fun", [smooth, branching], ids=lambda f: f.__name__)
def test_scalar_code_runs_the_math_body_with_exact_gradients(fun):
    x, y = 0.7, 0.4
    transformed = srcad.value_and_grad(fun, argnums=(0, 1))
    value, grads = transformed(x, y)
    assert "_math(" in srcad.source(transformed)
    assert value == pytest.approx(fun(x, y), rel=1e-13)
    assert all(type(g) is float for g in grads)
    expected = srcad.numerical_grad(fun, x, y, argnums=(0, 1))
    np.testing.assert_allclose(grads, expected, rtol=1e-6)
    forward = srcad.grad(fun, argnums=(0, 1), mode="forward")(x, y)
    np.testing.assert_allclose(forward, expected, rtol=1e-6)


def test_the_math_body_reads_globals_on_every_call():
    gradient = srcad.grad(smooth)
    first = gradient(0.7, 0.4)
    SETTINGS["scale"] = -2.0
    try:
        second = gradient(0.7, 0.4)
        assert second == pytest.approx(srcad.numerical_grad(smooth, 0.7, 0.4), rel=1e-6)
        assert second != pytest.approx(first)
    finally:
        SETTINGS["scale"] = 1.5


def log_at(x):
    return np.log(x) * 2.0


def sqrt_at(x):
    return np.sqrt(x) + x


def exp_at(x):
    return np.exp(x) - x


def fractional_power(x):
    return np.power(x, 0.5) + x


@pytest.mark.parametrize(
    ("fun", "x"),
    [(log_at, 0.0), (sqrt_at, -1.0), (exp_at, 1000.0), (fractional_power, -4.0)],
    ids=["log0", "sqrt-1", "exp1000", "negative**0.5"],
)
def test_where_math_raises_numpy_answers(fun, x):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        expected_value = fun(x)
        value, gradient = srcad.value_and_grad(fun)(x)
        again = srcad.value_and_grad(fun)(x)  # the fast path falls back too
    assert not isinstance(value, complex) and not isinstance(gradient, complex)
    np.testing.assert_equal(value, expected_value)
    np.testing.assert_equal(again[0], expected_value)
    assert math.isnan(gradient) or math.isinf(gradient)


def test_a_function_with_an_effect_or_float32_gets_no_math_body():
    def noisy(x):
        print("x", x)
        return np.sin(x)

    gradient = srcad.grad(noisy)
    gradient(0.5)
    assert "_math(" not in srcad.source(gradient)
    single = srcad.grad(lambda x: np.sin(x) * 2.0)
    single(np.float32(0.5))
    assert "_math(" not in srcad.source(single)


def _example_pairs():
    """The before/after lines of the module's docstring."""
    lines = scalar_math.__doc__.split("NumPy body (the readable artifact)")[1].split("\n\n")[0]
    pairs = []
    for line in lines.strip().splitlines()[1:]:
        before, after = line.strip().split("  ", 1) if "#" not in line else _split_pair(line)
        pairs.append((before.strip(), after.strip()))
    return pairs


def _split_pair(line):
    first_comment = line.index("#")
    second = line.index("  ", line.index("#") + 1)
    before = line[: line.index("  ", first_comment)].strip()
    return before, line[second:].strip()


def test_the_docstring_examples_are_what_math_lines_writes():
    pairs = _example_pairs()
    assert len(pairs) == 4
    for before, after in pairs:
        written = scalar_math.math_lines([before])[0]
        assert ast.dump(ast.parse(written)) == ast.dump(ast.parse(after)), (written, after)
        assert written.partition("#")[2].strip() == after.partition("#")[2].strip()


def cast_to_numpy_scalars(x):
    return np.float64(x) ** 2 * SETTINGS["scale"] + np.float32(x) * np.float32(3.0)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_numpy_scalar_types_of_a_float_argument_are_casts(mode):
    """``np.float64(x)`` of a Python float argument was an internal error (np.astype takes
    no Python float; found by a probe), in both modes; also after a global changed."""
    compiled = srcad.grad(cast_to_numpy_scalars, mode=mode)
    try:
        for scale in (1.5, -2.0):
            SETTINGS["scale"] = scale
            expected = 2.0 * 0.7 * scale + 3.0
            assert compiled(0.7) == pytest.approx(expected, rel=1e-6)
    finally:
        SETTINGS["scale"] = 1.5


@pytest.mark.parametrize("point", [(3.0, 4.0), (3.0, 4.0, 12.0), (0.5,)], ids=len)
def test_a_math_function_of_any_number_of_arguments_is_differentiated_itself(point):
    """``srcad.grad(math.hypot)(3.0, 4.0)`` said 'hypot(): too many positional arguments':
    the function made to call it took one argument, hypot having no signature to read."""
    numbers = tuple(range(len(point)))
    value, grads = srcad.value_and_grad(math.hypot, argnums=numbers)(*point)
    assert value == math.hypot(*point)
    expected = srcad.numerical_grad(math.hypot, *point, argnums=numbers)
    np.testing.assert_allclose(grads, expected, rtol=1e-7)


COEFFICIENTS = np.array([1.0, 2.0, 3.0, 4.0])
DEGREE = 0


def polynomial_by_a_loop(x):
    total = 0.0
    for k in range(4):  # kept as a loop: k is a number of the generated code
        total += COEFFICIENTS[k] * x**k
    return total


def polynomial_features(x):
    return np.sum(COEFFICIENTS * x ** np.arange(4))


def moments(x):
    return sum(COEFFICIENTS[k] * np.mean(x**k) for k in range(4))


def power_of_a_global(x):
    return np.sum(x**DEGREE + x)


def powers_of_math_and_float_power(x):
    return math.pow(x[0], 0) + x[0] ** 0.0 + np.sum(np.float_power(x, np.arange(3)))


@pytest.mark.sampled(2)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize(
    ("fun", "point"),
    [
        (polynomial_by_a_loop, 0.0),
        (polynomial_features, 0.0),
        (moments, np.array([0.0, 0.5, 1.5])),
        (power_of_a_global, np.array([0.0, 0.5, 1.5])),
        (powers_of_math_and_float_power, np.array([0.0, 0.5, 1.5])),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_a_power_of_zero_has_slope_zero_where_the_base_is_zero(fun, point, mode, monkeypatch):
    """d x**0 / dx was 0 * x**-1: NaN at x = 0 (every element NaN in forward mode), and on a
    Python float ZeroDivisionError from the generated code; the polynomial's slope at 0 is
    its coefficient of x."""
    gradient = srcad.grad(fun, mode=mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 * inf on the way
        np.testing.assert_allclose(gradient(point), srcad.numerical_grad(fun, point), atol=1e-7)
    monkeypatch.setattr(sys.modules[__name__], "DEGREE", 2)  # the world changed: x ** 2 now
    np.testing.assert_allclose(gradient(point), srcad.numerical_grad(fun, point), atol=1e-7)


BOUND = {"low": 0.5}


def clipped_by_python(a, b):
    return max(a, b) * 2.0 + min(a, b, BOUND["low"]) + max([a * a, b, -1.0])


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize(
    "point",
    [(1.0, float("nan")), (float("nan"), 1.0), (1.0, 2.0), (3.0, -1.0), (2.0, 2.0)],
    ids=["nan second", "nan first", "b larger", "a larger", "tie"],
)
def test_python_max_and_min_take_items_as_python_does(point, backend):
    """An item replaces the result only where it is greater (less): max(1.0, nan) is 1.0.
    srcad took NumPy's maximum, nan for both orders: a NaN from data gave nan where the plain
    function went on with a number."""
    pytest.importorskip("numba") if backend == "numba" else None
    transformed = srcad.value_and_grad(clipped_by_python, argnums=(0, 1), backend=backend)
    for low in (0.5, -5.0):  # a global read on every call
        BOUND["low"] = low
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numba's fallback, where it cannot compile
                value, gradients = transformed(*point)
            expected = clipped_by_python(*point)
            assert value == pytest.approx(expected, nan_ok=True)
            if not any(map(math.isnan, point)) and point[0] != point[1]:
                numerical = srcad.numerical_grad(clipped_by_python, *point, argnums=(0, 1))
                assert gradients == pytest.approx(numerical, rel=1e-6)
            else:  # the item Python keeps takes the gradient: the first of equal ones
                a, b = point
                keeps_a = (not b > a, not b < a and not BOUND["low"] < a, not b > a * a)
                da = 2.0 * keeps_a[0] + keeps_a[1] + 2 * a * keeps_a[2]
                assert gradients[0] == pytest.approx(da) or math.isnan(a)
        finally:
            BOUND["low"] = 0.5


def rounded_extreme(x):
    m = min(np.mean(x), np.sum(x)) * BOUND["low"]
    return round(m) * m + max(x[0], x[1]) ** 2


def test_python_max_and_min_of_numpy_numbers_give_numbers():
    """Taken as np.where (Python's order of items), the result was a 0-d array, which
    round() refuses (TypeError: type numpy.ndarray doesn't define __round__; found by the
    fuzzer); NumPy's maximum had given a number."""
    x = np.array([0.3, 1.7, 2.2])
    for low in (0.5, 2.0):  # a global read on every call
        BOUND["low"] = low
        try:
            value, gradient = srcad.value_and_grad(rounded_extreme)(x)
            assert value == pytest.approx(rounded_extreme(x))
            np.testing.assert_allclose(
                gradient, srcad.numerical_grad(rounded_extreme, x), rtol=1e-6
            )
        finally:
            BOUND["low"] = 0.5


def ignoring_nans(x):
    return np.fmax(x[0], x[1]) * BOUND["low"] + np.fmin(x[1], x[0])


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_fmax_and_fmin_give_the_derivative_to_the_operand_that_is_no_nan(mode):
    """np.fmax(1.0, nan) is 1.0: its derivative went to the NaN (x >= nan is False; found by a
    probe against JAX)."""
    gradient = srcad.grad(ignoring_nans, mode=mode)
    for low in (0.5, 2.0):  # a global read on every call
        BOUND["low"] = low
        try:
            for point in ([1.0, np.nan], [np.nan, 1.0], [2.0, 1.0], [1.0, 3.0]):
                x = np.array(point)
                with np.errstate(invalid="ignore"):
                    expected = srcad.numerical_grad(ignoring_nans, x)
                np.testing.assert_allclose(gradient(x), expected, rtol=1e-6)
        finally:
            BOUND["low"] = 0.5


def mean_of_kept(x, mask):
    kept = int(mask.sum())
    return np.sum((x * mask) ** 2) / kept


def spread_over(x, count):
    return np.sum(x**2) / count + np.sum(x) * SETTINGS["scale"]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_array_code_divided_by_a_python_number_divides_its_derivative_as_numpy(backend):
    """``np.sum(...) / n`` of an int n = 0 is nan for NumPy; the backward line ``dout / n``
    divided a Python float by it and raised ZeroDivisionError (found by a probe). The seed
    is NumPy's np.float64(1.0) where a derivative line divides numbers so."""
    if backend == "numba":
        pytest.importorskip("numba")
    x = np.array([0.3, -0.5, 0.8])
    options = {"backend": backend}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's, as the plain function's
        value, grad = srcad.value_and_grad(mean_of_kept, **options)(x, np.zeros(3, bool))
        assert np.isnan(value) and np.isnan(mean_of_kept(x, np.zeros(3, bool)))
        assert np.all(np.isnan(grad))
        value, grad = srcad.value_and_grad(spread_over, **options)(x, 0.0)
        assert value == spread_over(x, 0.0) == np.inf
        np.testing.assert_array_equal(grad, np.sign(x) * np.inf)  # 2x / 0 + 1.5
    for scale in (1.5, -2.0):  # a global read on every call; an ordinary count
        SETTINGS["scale"] = scale
        try:
            for fun, other in ((mean_of_kept, np.array([True, False, True])), (spread_over, 3.0)):
                got = srcad.grad(fun, **options)(x, other)
                expected = srcad.numerical_grad(fun, x, other)
                np.testing.assert_allclose(got, expected, rtol=1e-6)
        finally:
            SETTINGS["scale"] = 1.5
    called = srcad.grad(spread_over)
    called(x, 3.0)
    assert "dout=np.float64(1.0)" in srcad.source(called)


def scaled_by_a_count(x):
    k = int(np.sum(x > 0)) - 3
    return np.sum(x) * abs(k) ** -1 * SETTINGS["scale"]


def test_abs_of_a_python_int_stays_a_python_int():
    """np.abs made it np.int64, whose power of -1 raised ValueError ('Integers to negative
    integer powers') where Python gives 0.5 (found by a probe)."""
    x = np.array([0.5, -1.0, -2.0, -0.2])  # k = -2: Python's abs(k) ** -1 is 0.5
    for scale in (1.5, -2.0):  # a global read on every call
        SETTINGS["scale"] = scale
        try:
            for mode in ("reverse", "forward"):
                value, grad = srcad.value_and_grad(scaled_by_a_count, mode=mode)(x)
                assert value == pytest.approx(scaled_by_a_count(x), rel=1e-15)
                np.testing.assert_allclose(grad, np.full(4, 0.5 * scale), rtol=1e-15)
        finally:
            SETTINGS["scale"] = 1.5


def cancelling_in_double(x):
    """math computes in double precision, also on a float32 element."""
    near = math.exp(x[0]) - math.exp(0.3)
    total = 1e7 * near * SETTINGS["scale"] + x[1] + math.sqrt(x[1]) * math.sin(x[0])
    others = 1e7 * (math.log(x[1], 3.0) - math.log(2.5, 3.0)) + math.hypot(x[0], x[1])
    others += 1e7 * (math.dist([x[0], 1.0], [x[1], 0.0]) - math.dist([0.3, 1.0], [2.5, 0.0]))
    return total + others


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_math_of_a_float32_number_computes_in_double_precision_as_python_does(mode):
    """math.exp(x[0]) of a float32 array was np.exp of the float32 element: the value of a
    cancelling difference came out -1.167 where the plain function gives -0.539 (probe AR);
    math.log(v, base), math.hypot and math.dist too (probe AU F11)."""
    x = np.array([0.30000001, 2.0], dtype=np.float32)
    transformed = srcad.value_and_grad(cancelling_in_double, mode=mode)
    for scale in (1.5, -0.25):  # a second call after a global changed
        SETTINGS["scale"] = scale
        value, gradient = transformed(x)
        expected = cancelling_in_double(x)
        assert type(value) is type(expected) and value == expected
        assert gradient.dtype == np.float32
        x0, x1 = float(x[0]), float(x[1])  # the derivatives, in double precision
        hypot, dist = math.hypot(x0, x1), math.hypot(x0 - x1, 1.0)
        wide = [1e7 * scale * math.exp(x0) + math.sqrt(2.0) * math.cos(x0)]
        wide[0] += x0 / hypot + 1e7 * (x0 - x1) / dist
        wide += [1.0 + math.sin(x0) / (2.0 * math.sqrt(2.0))]
        wide[1] += 1e7 / (x1 * math.log(3.0)) + x1 / hypot - 1e7 * (x0 - x1) / dist
        np.testing.assert_allclose(gradient, wide, rtol=1e-6)
    SETTINGS["scale"] = 1.5


def log_in_a_base_from_data(x):
    return math.log(x[2], x[1]) * SETTINGS["scale"]


def test_math_log_in_a_base_computed_from_data():
    """An internal error: 'must be real number, not Tracer' (probe AV F16)."""
    x = np.array([0.3, 0.45, 0.7])
    for scale in (1.5, -0.25):
        SETTINGS["scale"] = scale
        assert_gradient(log_in_a_base_from_data, x, srcad.grad(log_in_a_base_from_data)(x))
    SETTINGS["scale"] = 1.5


def test_math_prod_of_float32_numbers_multiplies_them_as_they_are():
    """math.prod multiplies the np.float32 numbers themselves: widened to double, srcad's
    value differed from the plain function's (probe AV F15)."""
    x = np.array([0.1, 0.3, 0.7, 1.3, 2.9, 0.11], np.float32)

    def product(v):
        return math.prod([v[0], v[1], v[2], v[3], v[4], v[5]])

    value = srcad.value_and_grad(product)(x)[0]
    assert type(value) is type(product(x)) and value == product(x)
