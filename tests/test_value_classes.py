"""Python that asks what class a value is (``isinstance``, ``type``, ``hasattr``,
``getattr``, ``np.isscalar``) and converts numbers (``int``, ``round``, ``math.floor``) gets
the answer and the number Python gives, on every call the guard lets through, or a refusal
at the user's line: a traced value is no float, and answering as if it were chose the other
branch and gave the gradient of another function.

Arguments that are subclasses of ndarray computing otherwise than ndarray (np.matrix, masked
arrays) are refused, also on a call after an ndarray one.
"""

import math
import numbers
import tempfile
from pathlib import Path

import numpy as np
import pytest

import srcad
from srcad.errors import ArgumentTypeError, UnsupportedSyntax

RNG = np.random.default_rng(41)
KINDS = (float,)  # read by classified(): a global the branch depends on
SETTINGS = {"factor": 2.0}  # read by the conversions' function: changed between calls


def assert_matches_central_differences(fun, *args):
    got = srcad.grad(fun)(*args)
    expected = srcad.numerical_grad(fun, *args)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    return got


def scaled(x, lam):
    if isinstance(lam, float):
        return np.sum(x**2) * lam
    return np.sum(x)


def classified(x, lam):
    if isinstance(lam, KINDS):
        return np.sum(np.sin(x)) * lam
    return np.sum(x**3)


def test_isinstance_of_a_float_parameter_takes_pythons_branch_on_every_call():
    global KINDS
    x = RNG.normal(size=4)
    gradient = srcad.grad(scaled)
    np.testing.assert_allclose(gradient(x, 3.0), 6.0 * x)
    np.testing.assert_allclose(gradient(x, 0.5), 1.0 * x)
    with pytest.raises(UnsupportedSyntax, match=r"float\(v\)"):  # a np.float64 or a 0-d array
        gradient(x, np.float64(2.0))
    assert_matches_central_differences(classified, x, 1.5)
    try:
        KINDS = (int,)  # the world changed: the other branch
        assert_matches_central_differences(classified, x, 1.5)
        np.testing.assert_allclose(srcad.grad(classified)(x, 1.5), 3 * x**2)
    finally:
        KINDS = (float,)


def test_isinstance_of_arrays_and_numbers():
    x = RNG.normal(size=3)

    def f(x, lam):
        total = np.sum(x**2) if isinstance(x, np.ndarray) else np.sum(x)
        if isinstance(lam, numbers.Number) and not isinstance(lam, (list, tuple)):
            total = total * lam
        if isinstance(total, np.ndarray | list):  # a 0-d value: which class depends on NumPy
            raise AssertionError("unreachable")
        return total

    with pytest.raises(
        UnsupportedSyntax,
        match=r"test_value_classes.py:\d+: 'isinstance\(total, np.ndarray \| list\)' asks",
    ):
        srcad.grad(f)(x, 2.0)

    def g(x, lam):
        if isinstance(x, np.ndarray) and isinstance(lam, (int, float)):
            return np.sum(np.tanh(x)) * lam
        return np.sum(x)

    for lam in (2.0, -0.5):
        assert_matches_central_differences(g, x, lam)


def test_type_hasattr_getattr_and_isscalar_of_a_float_parameter():
    x = RNG.normal(size=3)

    def f(x, lam):
        total = np.sum(x**2)
        if type(lam) is float:
            total = total * lam
        if not hasattr(lam, "shape"):
            total = total + lam * np.sum(x)
        if getattr(lam, "dtype", None) is None and np.isscalar(lam):
            total = total * 2.0
        return total

    for lam in (1.5, 0.25):
        got = assert_matches_central_differences(f, x, lam)
        np.testing.assert_allclose(got, 2.0 * (2 * x * lam + lam))


def test_questions_a_0d_array_or_a_subclass_could_answer_either_way_are_refused():
    x = RNG.normal(size=3)

    def of_a_0d_value(x):
        s = np.sum(x)
        return s * 2.0 if isinstance(s, float) else s

    def of_an_array(x):
        return np.sum(x) if type(x) is np.ndarray else np.sum(x**2)

    def of_an_attribute(x):
        return np.sum(x) * getattr(x, "unit_scale", 1.0)

    for fun in (of_a_0d_value, of_an_array, of_an_attribute):
        with pytest.raises(UnsupportedSyntax, match="asks about the class"):
            srcad.grad(fun)(x)


class Marked(np.ndarray):
    """An array subclass that computes as ndarray does."""


def test_isinstance_of_an_ndarray_subclass_is_refused():
    def f(x):
        return np.sum(x**2) if isinstance(x, Marked) else np.sum(x)

    with pytest.raises(UnsupportedSyntax, match="subclass of numpy.ndarray"):
        srcad.grad(f)(RNG.normal(size=3).view(Marked))


@pytest.mark.parametrize(
    "convert",
    [
        int,
        round,
        math.floor,
        math.ceil,
        math.trunc,
        lambda v: round(v, 1),
        lambda v: round(v, ndigits=2),
        lambda v: float(v),
    ],
)
def test_number_conversions_compute_pythons_number(convert):
    def f(x):
        k = convert(x[0] * SETTINGS["factor"])
        return np.sum(x**2) * k + x[1] * convert(-x[2])

    x = np.array([1.37, -0.4, 2.61])
    gradient = srcad.value_and_grad(f)
    try:
        for values, factor in ((x, 2.0), (x + 0.8, 2.0), (x, 3.3)):  # other numbers, a global
            SETTINGS["factor"] = factor
            value, _ = gradient(values)
            assert value == pytest.approx(f(values), rel=1e-12)
            assert_matches_central_differences(f, values)
    finally:
        SETTINGS["factor"] = 2.0


def test_round_of_a_python_float_rounds_its_decimal_value_as_python_does():
    """round(2.675, 2) is 2.67 in Python (the float's decimal value is 2.67499...); srcad
    used np.round, which gives 2.68 (probes AF, AG)."""

    def f(x):
        return round(float(x[0]) * SETTINGS["factor"], 2) * x[1] + x[0]

    x = np.array([2.675, 1.5])
    gradient = srcad.value_and_grad(f)
    try:
        for factor in (1.0, 0.5):  # a global: 2.675, then 1.3375
            SETTINGS["factor"] = factor
            value, got = gradient(x)
            assert value == f(x)
            np.testing.assert_allclose(got, [1.0, round(2.675 * factor, 2)])  # a step: 0
            assert_matches_central_differences(f, x + 0.0012)  # away from the step
    finally:
        SETTINGS["factor"] = 2.0


# (math.trunc of a np.float32 raises in Python too: NumPy's float32 has no __trunc__)
@pytest.mark.parametrize("convert", [int, round, math.floor, math.ceil])
def test_a_converted_number_is_a_python_int_that_keeps_float32_arrays_float32(convert):
    def f(x):
        k = convert(x[0] * SETTINGS["factor"])
        return np.sum(x * k) + k  # float32 * a Python int is float32, as NumPy promotes it

    x = np.array([1.37, -0.4, 2.61], np.float32)
    for factor in (2.0, 3.3):  # another global, another int
        SETTINGS["factor"] = factor
        try:
            value, grad = srcad.value_and_grad(f)(x)
            expected = f(x)
        finally:
            SETTINGS["factor"] = 2.0
        assert value == float(expected) and np.asarray(expected).dtype == np.float32
        assert grad.dtype == np.float32
        np.testing.assert_array_equal(grad, np.full(3, convert(x[0] * factor), np.float32))
    transformed = srcad.value_and_grad(f)
    transformed(x)
    spelled = {int: "int(", round: "round("}.get(convert, f"math.{convert.__name__}(")
    assert f"k = {spelled}x[0] * factor)" in srcad.source(transformed)  # as the user wrote it
    with pytest.raises(ValueError, match="cannot convert float NaN to integer"):
        srcad.grad(f)(np.array([np.nan, 1.0, 2.0], np.float32))  # as Python's int(nan)


def test_float_and_item_of_a_float64_number_are_python_floats_that_keep_float32_arrays():
    def f(x, y):
        scale = float(x[0]) * SETTINGS["factor"] + x[1].item()  # Python floats: weak
        return np.sum(y * scale) + float(np.sum(x**2))

    x, y = np.array([0.1, 0.2]), np.array([1.0, 2.0], np.float32)
    for factor in (2.0, 3.3):  # another global between calls
        SETTINGS["factor"] = factor
        try:
            value, (dx, dy) = srcad.value_and_grad(f, argnums=(0, 1))(x, y)
            expected = f(x, y)
        finally:
            SETTINGS["factor"] = 2.0
        assert value == float(expected) and type(expected) is np.float32  # float32 sums
        assert dx.dtype == np.float64 and dy.dtype == np.float32
        # (central differences of a float32 value are too coarse: the derivative by hand)
        np.testing.assert_allclose(dx, [3.0 * factor + 2 * x[0], 3.0 + 2 * x[1]], rtol=1e-6)
        np.testing.assert_allclose(dy, np.full(2, x[0] * factor + x[1], np.float32), rtol=1e-6)
    tangent = srcad.jvp(lambda v: float(v[0]) * v[1], (x,), (np.ones(2),))[1]
    assert tangent == pytest.approx(x[0] + x[1])


def test_an_int_of_an_index_stays_an_index_and_float_makes_it_a_float():
    def f(x):
        best = int(np.argmax(x))
        return x[best] * float(np.argmin(x)) / 4.0 + x[best - 1]

    for x in (np.array([0.2, 1.5, -0.3]), np.array([2.0, 0.1, -1.0])):
        value, _ = srcad.value_and_grad(f)(x)
        assert value == pytest.approx(f(x))
        assert_matches_central_differences(f, x)


def test_int_of_an_array_is_refused_at_the_users_line():
    with pytest.raises(srcad.errors.SrcadError, match=r"int\(\) of an array of shape \(3,\)"):
        srcad.grad(lambda x: np.sum(x) * int(x))(np.ones(3))


def test_ndarray_subclasses_that_compute_otherwise_are_refused_also_after_an_ndarray_call():
    a = RNG.normal(size=(2, 2))
    gradient = srcad.grad(lambda m: np.sum(m * m))
    np.testing.assert_allclose(gradient(a), 2 * a)
    with pytest.raises(ArgumentTypeError, match=r"numpy.matrix.*np.asarray\(v\)"):
        gradient(np.asmatrix(a))  # its * is a matrix product: the ndarray code would lie
    with pytest.raises(ArgumentTypeError, match="MaskedArray"):
        gradient(np.ma.masked_array(a, mask=[[0, 1], [0, 0]]))
    np.testing.assert_allclose(gradient(a.view(Marked)), 2 * a)  # computes as ndarray does


def test_a_memory_mapped_array_is_an_array():
    a = RNG.normal(size=(3, 2))
    with tempfile.TemporaryDirectory() as folder:
        mapped = np.memmap(Path(folder) / "a.dat", dtype=np.float64, mode="w+", shape=a.shape)
        mapped[:] = a
        gradient = srcad.grad(lambda w: np.sum(np.tanh(w)))
        for _ in range(2):  # the second call: the guard takes no memmap, the slow path does
            np.testing.assert_allclose(gradient(mapped), 1 - np.tanh(a) ** 2)
        del mapped


def test_an_np_float64_argument_promotes_as_numpy_does():
    w = np.array([0.37, -1.21, 2.53], dtype=np.float32)

    def f(w, lam):
        return np.sum(lam * w)

    for lam in (np.float64(0.1), 0.1):
        value, grads = srcad.value_and_grad(f, argnums=(0, 1))(w, lam)
        assert type(grads[1]) is type(lam)
        assert grads[1] == pytest.approx(float(np.sum(w.astype(np.float64))), abs=1e-6)
    # NumPy computes a np.float64 times float32 numbers in float64 (a Python float: float32)
    value = srcad.value_and_grad(f)(w, np.float64(0.1))[0]
    assert value == f(w, np.float64(0.1)) != f(w, 0.1)


def test_text_formatted_from_data_is_refused_as_a_number_at_the_users_line():
    def converted(x):
        text = f"{np.sum(x):.2f}"
        return np.sum(x**2) * float(text)

    def multiplied(x):
        return np.sum(x) * f"{x[0]}"

    with pytest.raises(srcad.errors.SrcadError, match=r":\d+: 'float\(text\)': text is text"):
        srcad.grad(converted)(np.ones(3))
    with pytest.raises(srcad.errors.SrcadError, match="string formatted from data"):
        srcad.grad(multiplied)(np.ones(3))


def truths_and_orders(x, lam):
    total = np.sum(x**2)
    if any(v > 1.0 for v in x) and all(x > -2.0):
        total = total * lam
    if math.isnan(lam) or not math.isclose(lam, 2.0):
        total = total + x[0]
    low, middle, high = sorted(x)
    top = sorted([x[0] * 2.0, x[1], x[2] - 1.0], reverse=True)[0]  # NaN: NumPy puts it last
    return total + low * 3.0 - high + middle**2 + top


def test_any_all_sorted_isnan_and_isclose_of_numbers_from_data():
    for x in (np.array([0.3, 1.4, -0.5]), np.array([0.2, -0.1, 0.6]), np.array([1.5, -3.0, 2.0])):
        for lam in (2.0, 0.5, float("nan")):
            value, _ = srcad.value_and_grad(truths_and_orders)(x, lam)
            expected = truths_and_orders(x, lam)
            assert value == pytest.approx(expected, nan_ok=True)
            if not math.isnan(lam):
                assert_matches_central_differences(truths_and_orders, x, lam)
    with pytest.raises(srcad.errors.SrcadError, match=r"all\(\) of an array of shape \(2, 2\)"):
        srcad.grad(lambda m: np.sum(m) if all(m > 0) else 0.0)(np.ones((2, 2)))


def closeness_and_reversal(x, target):
    near = np.isclose(x, target, rtol=0.0, atol=0.3)
    total = np.sum(np.where(near, x**2, x))
    if np.allclose(x, target, atol=2.0):
        total = total * 2.0
    weights = [v * (k + 1) for k, v in enumerate(reversed(list(x)))]
    return total + sum(weights) + np.sum(np.array(list(reversed(x))) * np.arange(3.0))


def test_isclose_allclose_and_reversed_of_values_from_data():
    for x in (np.array([0.1, 0.45, -2.0]), np.array([0.5, 0.6, 0.4]), np.array([3.0, 0.0, 1.0])):
        for target in (0.5, 1.4):
            value, _ = srcad.value_and_grad(closeness_and_reversal)(x, target)
            assert value == pytest.approx(closeness_and_reversal(x, target))
            assert_matches_central_differences(closeness_and_reversal, x, target)
    with pytest.raises(srcad.errors.SrcadError, match=r"np.where\(condition, a, b\)"):
        srcad.grad(lambda x: np.sum(x[np.argwhere(x > 0)[:, 0]]))(np.ones(3))


def test_isinstance_of_containers_and_named_tuples_passed_in():
    import collections

    pair = collections.namedtuple("pair", "a b")
    w = np.array([1.0, -2.0, 0.5])

    def kind_scaled(x, p):
        if isinstance(p, (list, tuple)) and not isinstance(p, pair):
            return np.sum(x * p[0]) * 2.0
        if isinstance(p, pair):  # the tuple test above sees the NamedTuple too
            return np.sum(np.sin(x * p.a)) * 3.0
        return np.sum(x * p["w"])

    x = np.array([0.3, -0.7, 1.2])
    for p in (pair(w, w), [w], (w,), {"w": w}):
        got = srcad.grad(kind_scaled)(x, p)
        expected = srcad.numerical_grad(lambda v, p=p: kind_scaled(v, p), x)
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_whether_two_arrays_passed_in_are_one_is_refused_and_aliases_answer():
    a = np.array([0.3, 0.7, 1.2])

    def same(x, y):
        return np.sum(x**2) if x is y else np.sum(x * y) * 3.0

    with pytest.raises(UnsupportedSyntax, match="a call may pass one array twice"):
        srcad.grad(same)(a, a)  # Python: the same object; srcad cannot know it

    def defaulted(x, y=None):
        y = x if y is None else y
        return np.sum(np.sin(x)) * (2.0 if y is x else 1.0) + np.sum(y)

    for x in (a, a * 2.0):
        assert_matches_central_differences(defaulted, x)


def test_max_and_min_take_a_default_and_refuse_a_key_of_values_from_data():
    def bounded(x):
        positives = [v for v in x[:2]]
        return max(positives, default=0.0) * min(x[2], 2.0, x[0]) + max([], default=1.5)

    for x in (np.array([0.3, -0.7, 1.2]), np.array([2.0, 0.5, 0.1])):
        assert_matches_central_differences(bounded, x)
    with pytest.raises(UnsupportedSyntax, match=r"np.argmin"):
        srcad.grad(lambda x: min(x, key=abs))(np.array([0.3, -0.7, 1.2]))


def test_maths_folds_of_numbers_from_data():
    def folds(x):
        product = math.prod([x[0], x[1], 2.0]) + math.prod(x[2:], start=0.5)
        return product + math.fsum([x[2], x[3], 1.0]) + math.dist([x[0], x[1]], [0.0, 1.0])

    for x in (np.array([0.3, 0.7, 1.2, -0.4]), np.array([1.5, -0.2, 0.1, 2.0])):
        value, _ = srcad.value_and_grad(folds)(x)
        assert value == pytest.approx(folds(x), rel=1e-15)
        assert_matches_central_differences(folds, x)


def test_min_max_and_math_functions_of_python_floats_give_python_floats():
    """round(min(float(a), 3.0), 2) and round(math.sqrt(a * a), 2) rounded as NumPy does
    (2.68 for Python's 2.67); x32 * max(float(a), 0.5) came out float64 (probes AN, AO)."""

    def rounded(x):
        a = float(x[0]) * SETTINGS["factor"]
        return round(min(a, 3.0), 2) * x[1] + round(math.sqrt(a * a), 2) * x[1]

    def scaled(x):
        return np.sum(x.astype(np.float32) * max(float(x[0]), 0.5))

    x = np.array([2.675, 1.5])
    try:
        for factor in (1.0, 0.5):  # a global: 2.675, then 1.3375
            SETTINGS["factor"] = factor
            value, got = srcad.value_and_grad(rounded)(x)
            assert value == rounded(x)
            np.testing.assert_allclose(got, [0.0, 2 * round(2.675 * factor, 2)])
    finally:
        SETTINGS["factor"] = 2.0
    value, _ = srcad.value_and_grad(scaled)(x)
    assert type(value) is np.float32 and value == scaled(x)


def test_fsum_is_the_exactly_rounded_sum_and_each_item_counts_once():
    """math.fsum([1e16, w, -1e16, w]) is 2w; srcad added as NumPy does and gave w, with
    the gradient 2 (probe AF)."""

    def cancelling(w):
        rows = iter(np.array([w, 2.0 * w]))  # math.fsum(iter(x)) was refused (probe AK)
        return math.fsum([1e16, w * SETTINGS["factor"], -1e16, w]) + math.fsum(rows) - 3.0 * w

    gradient = srcad.value_and_grad(cancelling)
    try:
        for factor, w in ((2.0, 1.0), (3.0, 0.75)):  # another global
            SETTINGS["factor"] = factor
            value, got = gradient(w)
            assert value == cancelling(w)
            assert got == pytest.approx(factor + 1.0, rel=1e-14)
            assert srcad.grad(cancelling, mode="forward")(w) == pytest.approx(got, rel=1e-14)
    finally:
        SETTINGS["factor"] = 2.0


def test_numpy_scalar_flags_and_indices_are_numpy_values_not_foreign_arrays():
    def flagged(x, flag, k):
        return np.sum(x) * (2.0 if flag else 1.0) + x[k] ** 2

    def scaled_if(x, flag):
        return np.sum(x) * (2.0 if flag else 1.0)

    x = np.array([0.3, 0.5, 1.2, 0.9])
    for flag, k in ((np.bool_(True), np.int64(2)), (np.bool_(False), np.int32(1)), (True, 3)):
        got = srcad.grad(flagged)(x, flag, k)
        expected = srcad.numerical_grad(lambda v, f=flag, i=k: flagged(v, f, i), x)
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    for flag in (True, np.bool_(False), np.bool_(True)):  # np.bool_: taken for another library's
        np.testing.assert_allclose(srcad.grad(scaled_if)(x, flag), np.full(4, 2.0 if flag else 1.0))
