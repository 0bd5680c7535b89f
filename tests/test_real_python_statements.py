"""Statements that real code uses around the computation (issue 11): ``print`` with
f-strings, ``assert``, ``raise`` in a validating branch, ``with np.errstate(...)``,
``for ... else`` / ``while ... else``, imports inside the function, set displays.

Each runs in the generated forward code, in the user's order, with the values the forward
code computes. Every test compares the gradient with central differences of the plain
function, in reverse and forward mode, and, after the world outside the function changed
(a global), again at that moment.
"""

# ruff: noqa: UP031, UP032 - old-style formatting, as people write it, is tested here

from __future__ import annotations

import itertools
import logging
import math
import operator
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest
from source_files import module_from_source
from transformations import each_value

import srcad

X = np.array([0.3, 1.6, -0.4, 2.1])
# The user's own exceptions, which the generated code raises where the user's code does.
USERS_EXCEPTIONS = ("AssertionError:", "OutOfRange:", "OverflowError:", "NotImplementedError:")


@pytest.fixture(autouse=True)
def no_unexpected_exception_leaves_srcad():
    """The suite's check (``conftest``), except that the exceptions these tests make the
    user's code raise leave srcad as they are."""
    escaped = sys.modules["conftest"]._escaped
    escaped.clear()
    yield
    unexpected = [error for error in escaped if not error.startswith(USERS_EXCEPTIONS)]
    escaped.clear()
    assert not unexpected, f"an exception other than SrcadError left srcad: {unexpected[0]}"


def _module(tmp_path, source: str):
    return module_from_source(textwrap.dedent(source), tmp_path, "statements")


def _assert_gradients(fun, *args, argnums=0):
    """Reverse mode, forward mode and value_and_grad agree with central differences."""
    expected = srcad.numerical_grad(fun, *args, argnums=argnums)
    for mode in ("reverse", "forward"):
        got = srcad.grad(fun, argnums, mode=mode)(*args)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8, err_msg=mode)
    value, got = srcad.value_and_grad(fun, argnums)(*args)
    assert value == pytest.approx(fun(*args))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def _printed(capsys, call):
    capsys.readouterr()
    call()
    return capsys.readouterr().out


def _source(transformed, *args) -> str:
    """The generated source, with one kind of quotes."""
    transformed(*args)
    return srcad.source(transformed).replace("'", '"')


def _statements(source: str) -> list[str]:
    """The lines of ``source`` that are code, stripped (not comments)."""
    lines = [line.split("  # ")[0].strip() for line in source.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _numerical_hessian(fun, x, eps=1e-5):
    gradient = srcad.grad(fun)
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = eps
        columns.append((gradient(x + step) - gradient(x - step)) / (2 * eps))
    return np.stack(columns, axis=1)


# --- print and f-strings ----------------------------------------------------------------
def reports(x, w):
    y = np.tanh(x) * w
    print("y is", y.shape, f"{np.sum(y):.2f}")
    label = f"{y.ndim}-d, w={w!r}, max {np.max(y):>8.3f}"
    for i in range(2):
        print(f"step {i}: {np.sum(y * i):.3f}", label)
    return np.sum(y**2)


def test_print_and_f_strings_print_the_forward_values_in_order(capsys):
    expected = _printed(capsys, lambda: reports(X, 1.5))
    assert expected.startswith("y is (4,) ")
    for transform in (srcad.grad, srcad.value_and_grad):
        for _ in range(2):  # the first call compiles, the second reuses
            assert _printed(capsys, lambda t=transform: t(reports)(X, 1.5)) == expected
    forward = srcad.grad(reports, argnums=1, mode="forward")  # one tangent: one pass
    assert _printed(capsys, lambda: forward(X, 1.5)) == expected
    assert _printed(capsys, lambda: srcad.jvp(reports, (X, 1.5), (X, 0.0))) == expected
    _assert_gradients(reports, X, 1.5)


LOGGER = logging.getLogger("srcad.tests")


def reports_containers(x):
    y = 2.0 * x
    print([np.sum(x), y[0]], (y[1],), {"max": np.max(y), "pair": [y[0], 1]}, [x > 0.5])
    LOGGER.warning("%s", (np.sum(y), "done"))
    return np.sum(y**2)


def test_containers_of_computed_values_print_this_calls_values(capsys, caplog):
    """``print([x, y])`` printed the compile-time tracers, the same text on every call."""
    for x in (X, X * 0.5):
        caplog.clear()
        expected = _printed(capsys, lambda x=x: reports_containers(x))
        plain_log = caplog.messages[:]
        caplog.clear()
        assert _printed(capsys, lambda x=x: srcad.grad(reports_containers)(x)) == expected
        assert caplog.messages == plain_log and "Tracer" not in expected


def test_transformations_running_the_code_several_times_print_once_per_call(capsys, caplog):
    """jacfwd runs the code once per input element, a vjp pullback once more: print,
    logging and warnings happen once per call all the same (they happened once per run)."""

    def noisy(x):
        print("at", np.sum(x))
        LOGGER.warning("step")
        warnings.warn("careful", stacklevel=1)
        return np.sum(np.sin(x) * x)

    plain = _printed(capsys, lambda: noisy(X))
    transformations = [
        lambda: srcad.grad(noisy, mode="forward")(X),
        lambda: srcad.jacfwd(noisy)(X),
        lambda: srcad.hessian(noisy)(X),
        lambda: srcad.vjp(noisy, X)[1](1.0),
    ]
    for transformation in transformations:
        caplog.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert _printed(capsys, transformation) == plain
        assert caplog.messages == ["step"]
        assert [str(w.message) for w in caught] == ["careful"]


def test_f_strings_of_data_stay_f_strings_in_the_generated_code():
    source = _source(srcad.grad(reports), X, 1.5)
    assert 'print("y is", (4,), f"{' in source
    assert ":.2f}" in source and ":>8.3f}" in source and "!r}" in source
    assert "1-d, w=" in source  # the dimension is known when compiling: formatted then


SCALE = 2.0


def scaled_report(x):
    y = x * SCALE
    print(f"scale {SCALE}: {np.sum(y):.1f}")
    return np.sum(y**2)


def test_print_reads_a_changed_global_on_the_next_call(capsys, monkeypatch):
    g = srcad.grad(scaled_report)
    assert _printed(capsys, lambda: g(X)) == "scale 2.0: 7.2\n"
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 3.0)
    assert _printed(capsys, lambda: g(X)) == _printed(capsys, lambda: scaled_report(X))
    _assert_gradients(scaled_report, X)


def old_style_reports(x, w):
    y = np.tanh(x) * w
    print("loss %.3f, max %+9.2e, %-6s|%8s|%%" % (np.sum(y), np.max(y), "ok", np.min(y)))
    print("mean {0:.4f} of {n} ({1}) {0:>10.2f}".format(np.mean(y), "y", n=x.shape[0]))
    print("{} and {:.1f}".format("auto", np.max(y)))
    print("scale %s" % SCALE, "first %.2f" % y[0])
    return np.sum(y**2)


def test_percent_and_format_method_print_as_the_plain_function(capsys, monkeypatch):
    expected = _printed(capsys, lambda: old_style_reports(X, 1.5))
    for transform in (srcad.grad, srcad.value_and_grad):
        assert _printed(capsys, lambda t=transform: t(old_style_reports)(X, 1.5)) == expected
    forward = srcad.grad(old_style_reports, argnums=1, mode="forward")
    assert _printed(capsys, lambda: forward(X, 1.5)) == expected
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 3.0)
    again = _printed(capsys, lambda: srcad.grad(old_style_reports)(X, 1.5))
    assert again == _printed(capsys, lambda: old_style_reports(X, 1.5))
    _assert_gradients(old_style_reports, X, 1.5)


def counted_reports(x):
    loss = np.sum(x**2)
    for i in range(3):
        loss = loss + np.sum(np.sin(x * i))
        print("iter %d loss %.4f (%3i/%-4u)" % (i, loss, i, 3))
    return loss


def named_percent_reports(x):
    loss = np.sum(x**2)
    print("%(loss).3f after %(n)d steps (%(loss)s)" % {"loss": loss, "n": x.shape[0]})
    return loss


def test_named_percent_fields_print_as_the_plain_function(capsys):
    """``"%(loss).3f" % {"loss": loss}`` raised "must be real number, not Tracer", saying
    that the plain function raises too."""
    expected = _printed(capsys, lambda: named_percent_reports(X))
    assert _printed(capsys, lambda: srcad.grad(named_percent_reports)(X)) == expected
    _assert_gradients(named_percent_reports, X)


def test_percent_d_of_a_counter_prints_as_the_plain_function(capsys):
    """%d of a loop's counter (an int) was refused as if it could truncate a float."""
    expected = _printed(capsys, lambda: counted_reports(X))
    assert _printed(capsys, lambda: srcad.grad(counted_reports)(X)) == expected
    _assert_gradients(counted_reports, X)


def truncating_percent(x):
    print("%d" % np.sum(x))
    return np.sum(x)


def named_field(x):
    print("{total.real:.2f}".format(total=np.sum(x)))
    return np.sum(x)


@pytest.mark.parametrize("fun", [truncating_percent, named_field], ids=lambda f: f.__name__)
def test_formats_without_an_exact_f_string_are_refused_at_the_line(fun):
    with pytest.raises(
        srcad.UnsupportedSyntax, match=r"test_real_python_statements.py:\d+: .*f-string"
    ):
        srcad.grad(fun)(X)


# --- assert -------------------------------------------------------------------------------
def asserts(x):
    assert x.ndim == 1, f"x must be 1-d, got {x.ndim}-d"
    s = np.sum(x**2)
    assert s < 100.0, f"too large: {s:.1f}"
    return s * np.sum(x)


def test_assert_passes_and_fails_with_the_users_message():
    _assert_gradients(asserts, X)
    for transform in (srcad.grad, srcad.value_and_grad, srcad.jacfwd):
        with pytest.raises(AssertionError, match="x must be 1-d, got 2-d"):
            transform(asserts)(np.ones((2, 2)))  # decided when compiling: shapes are fixed
        with pytest.raises(AssertionError, match="too large: 400.0"):
            transform(asserts)(np.full(4, 10.0))  # decided by the data: the code raises
    _assert_gradients(asserts, X)  # the same compile, good data again


def test_an_assert_on_data_reads_as_a_check_in_the_generated_code():
    source = _source(srcad.grad(asserts), X)
    assert "if not s < 100.0:" in source
    assert 'raise AssertionError(f"too large: {s:.1f}")' in source
    assert "x must be 1-d" not in source  # passed when compiling for 1-d x


# --- raise ----------------------------------------------------------------------------------
class OutOfRange(Exception):
    """A user's own exception class."""


LIMIT = 5.0


def validated(x, w):
    if x.ndim != 1:
        raise ValueError(f"x must be 1-d, got shape {x.shape}")
    s = np.sum(x * w)
    if s > LIMIT:
        raise OutOfRange(f"sum {s:.2f} exceeds {LIMIT}")
    elif s < -LIMIT:
        raise ValueError("sum too small") from None
    else:
        y = np.sin(x) * s
    return np.sum(y * y)


def test_raise_in_a_validating_branch():
    _assert_gradients(validated, X, 0.5)
    with pytest.raises(ValueError, match=r"x must be 1-d, got shape \(2, 2\)"):
        srcad.grad(validated)(np.ones((2, 2)), 0.5)
    with pytest.raises(OutOfRange, match="sum 7.20 exceeds 5.0"):
        srcad.grad(validated)(X, 2.0)
    with pytest.raises(ValueError, match="sum too small") as info:
        srcad.value_and_grad(validated, mode="forward")(X, -2.0)
    assert info.value.__suppress_context__
    with pytest.raises(OutOfRange):
        srcad.jvp(validated, (X, 2.0), (X, 1.0))


def test_a_raise_reads_a_changed_global_on_the_next_call(monkeypatch):
    g = srcad.grad(validated)
    np.testing.assert_allclose(g(X, 2.0 / 3), srcad.numerical_grad(validated, X, 2.0 / 3))
    monkeypatch.setattr(sys.modules[__name__], "LIMIT", 1.0)
    with pytest.raises(OutOfRange, match="sum 2.40 exceeds 1.0"):
        g(X, 2.0 / 3)
    monkeypatch.setattr(sys.modules[__name__], "LIMIT", 50.0)
    _assert_gradients(validated, X, 2.0)


def test_the_generated_code_raises_the_users_exception_where_the_user_does():
    source = _source(srcad.grad(validated), X, 0.5)
    assert 'raise OutOfRange(f"sum {s:.2f} exceeds {LIMIT}")' in source
    assert 'raise ValueError("sum too small") from None' in source
    assert "x must be 1-d" not in source  # the shape check passed when compiling
    backward = _statements(source[source.index("# backward") :])
    assert not any(line.startswith("if ") for line in backward)  # the forward code raised
    assert "zeros" not in "\n".join(backward)


def check_positive(x):
    """A helper that only validates, called as a statement."""
    if np.any(x <= 0):
        raise ValueError(f"needs positive values, got min {np.min(x)}")


def logs(x):
    check_positive(x)
    total = 0.0
    for v in x:
        if v > 10.0:
            raise OverflowError("a value above 10")
        total = total + np.log(v)
    return total


def test_a_validating_helper_and_a_raise_in_a_loop():
    _assert_gradients(logs, np.abs(X))
    with pytest.raises(ValueError, match="needs positive values, got min -0.4"):
        srcad.grad(logs)(X)
    with pytest.raises(OverflowError, match="a value above 10"):
        srcad.grad(logs)(np.array([1.0, 11.0, 2.0]))


def returns_or_raises(x):
    s = np.sum(x)
    if s > 0:
        return s * np.sum(x**2)
    else:
        raise ValueError("negative sum")


def test_a_branch_that_returns_and_one_that_raises():
    _assert_gradients(returns_or_raises, X)
    with pytest.raises(ValueError, match="negative sum"):
        srcad.grad(returns_or_raises, mode="forward")(-X)


def always_raises(x):
    print("checking")
    if x.shape[0] > 2:
        raise NotImplementedError(f"only {x.shape[0]} <= 2 values")
    return np.sum(x)


def test_a_function_that_always_raises_for_a_signature_raises_on_every_call(capsys):
    g = srcad.grad(always_raises)
    for _ in range(2):
        with pytest.raises(NotImplementedError, match="only 4 <= 2 values"):
            g(X)
        assert capsys.readouterr().out == "checking\n"  # what runs before the raise, runs
    np.testing.assert_allclose(g(X[:2]), [1.0, 1.0])


# --- with -----------------------------------------------------------------------------------
def quiet_log(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(x) * np.sqrt(x)
    return np.sum(np.where(x > 0, y, 0.0))


def test_with_errstate_silences_the_forward_and_the_backward_code():
    positive, zero = np.abs(X) + 0.1, np.array([0.5, 0.0, 2.0, 1.0])
    _assert_gradients(quiet_log, positive)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning fails the test
        value, _ = srcad.value_and_grad(quiet_log)(zero)  # -inf * 0 and 0 / 0 inside
        srcad.jvp(quiet_log, (zero,), (np.ones(4),))
    assert value == pytest.approx(quiet_log(zero))
    source = _source(srcad.grad(quiet_log), positive)
    errstate = 'with np.errstate(divide="ignore", invalid="ignore"):'
    assert _statements(source).count(errstate) == 2  # forward, and backward


def settings_inside(x):
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("ignore")
        warnings.warn("not shown", stacklevel=1)
        return np.sum(x**2) * np.sum(np.exp(x * 800.0) > 1.0)


def test_with_several_contexts_and_a_return_inside():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_gradients(settings_inside, X)
    source = _source(srcad.grad(settings_inside), X)
    assert _statements(source).count("with warnings.catch_warnings():") == 2
    assert 'warnings.simplefilter("ignore")' in _statements(source)


OFFSET = 1.0


def with_global(x):
    with np.errstate(all="ignore"):
        y = np.log(x + OFFSET)
    return np.sum(y * y)


def test_with_reads_a_changed_global_on_the_next_call(monkeypatch):
    g = srcad.grad(with_global)
    np.testing.assert_allclose(g(np.abs(X)), srcad.numerical_grad(with_global, np.abs(X)))
    monkeypatch.setattr(sys.modules[__name__], "OFFSET", 3.0)
    np.testing.assert_allclose(g(np.abs(X)), srcad.numerical_grad(with_global, np.abs(X)))
    _assert_gradients(with_global, np.abs(X))


# --- for ... else, while ... else ---------------------------------------------------------
def search(x, threshold):
    total = 0.0
    for v in x:
        if v > threshold:
            total = total + 10.0 * v
            break
        total = total + v * v
    else:
        print("nothing above", threshold)
        total = total * 3.0
    return total


def test_for_else_runs_when_the_loop_did_not_break(capsys):
    for threshold in (1.0, 5.0):  # breaks, then runs to the end
        expected = _printed(capsys, lambda t=threshold: search(X, t))
        assert _printed(capsys, lambda t=threshold: srcad.grad(search)(X, t)) == expected
        _assert_gradients(search, X, threshold)
    assert expected == "nothing above 5.0\n"


def countdown(x):
    s = x
    n = 0
    while n < 3:
        s = np.sin(s)
        n += 1
    else:
        s = s * 2.0
    k = 0.0
    while k < 5.0:
        if np.sum(s) > 10.0:
            break
        s = s + 1.0
        k = k + 1.0
    else:
        s = s * s
    return np.sum(s)


def test_while_else_with_and_without_a_break():
    _assert_gradients(countdown, X)
    _assert_gradients(countdown, X * 10.0)


def first_big(x):
    for v in x:
        if v > 1.5:
            return v * v
    else:
        scale = 0.5
    return scale * np.sum(x)


def test_for_else_with_a_return_in_the_loop():
    _assert_gradients(first_big, X)
    _assert_gradients(first_big, X * 0.1)


def nested_else(x):
    total = 0.0
    for i in range(2):
        for v in x:
            if v > 1.0 + i:
                break
        else:
            break  # the inner loop found nothing: stop the outer loop
        total = total + np.sum(x) * i
    return total + np.sum(x * x)


def test_a_break_in_an_inner_loops_else_leaves_the_outer_loop():
    _assert_gradients(nested_else, X)
    _assert_gradients(nested_else, X * 0.1)


BOUND = 1.0


def else_with_global(x):
    for v in x:
        if v > BOUND:
            break
    else:
        return np.sum(x) * BOUND
    return np.sum(x**2)


def test_for_else_reads_a_changed_global_on_the_next_call(monkeypatch):
    g = srcad.grad(else_with_global)
    np.testing.assert_allclose(g(X), 2 * X)
    monkeypatch.setattr(sys.modules[__name__], "BOUND", 3.0)
    np.testing.assert_allclose(g(X), np.full(4, 3.0))
    _assert_gradients(else_with_global, X)


# --- imports inside the function, set displays --------------------------------------------
def imports_inside(x):
    import math

    import numpy as numpy_again
    from numpy import tanh
    from scipy.special import expit

    return np.sum(expit(x) * tanh(x)) * math.exp(0.5) + numpy_again.sum(x) * len({1, 2, 2 * 1})


def test_imports_inside_the_function_bind_their_names():
    pytest.importorskip("scipy")
    _assert_gradients(imports_inside, X)


def test_a_name_imported_inside_the_function_is_read_on_every_call(monkeypatch):
    settings = types.ModuleType("srcad_test_settings")
    settings.WEIGHTS = np.array([1.0, 2.0, 3.0, 4.0])
    monkeypatch.setitem(sys.modules, "srcad_test_settings", settings)

    def weighted(x):
        from srcad_test_settings import WEIGHTS

        return np.sum(WEIGHTS * x**2)

    g = srcad.grad(weighted)
    np.testing.assert_allclose(g(X), 2 * settings.WEIGHTS * X)
    settings.WEIGHTS = np.array([0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(g(X), X)
    _assert_gradients(weighted, X)


def test_an_imported_module_of_the_users_is_read_through(tmp_path, monkeypatch):
    module = _module(tmp_path, "SLOPE = 2.0\n")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    m = _module(
        tmp_path,
        f"""
        import numpy as np

        def loss(x):
            import {module.__name__} as settings

            return np.sum(settings.SLOPE * x**2)
        """,
    )
    g = srcad.grad(m.loss)
    np.testing.assert_allclose(g(X), 4.0 * X)
    module.SLOPE = 0.5
    np.testing.assert_allclose(g(X), 1.0 * X)


SIZES = 2


def set_display(x):
    return np.sum(x) * len({1, SIZES, 2})


def test_a_set_display_of_compile_time_values(monkeypatch):
    g = srcad.grad(set_display)
    np.testing.assert_allclose(g(X), np.full(4, 2.0))
    monkeypatch.setattr(sys.modules[__name__], "SIZES", 3)
    np.testing.assert_allclose(g(X), np.full(4, 3.0))
    _assert_gradients(set_display, X)


# --- together, and differentiated again ---------------------------------------------------
def everything(x, w):
    assert x.ndim == 1
    from numpy import tanh

    print(f"start: {np.sum(x):.3f}")
    with np.errstate(invalid="ignore"):
        h = tanh(x * w)
    for v in h:
        if v < -10.0:
            raise ValueError("saturated")
    else:
        h = h * 2.0
    return np.sum(h**2)


def everything_at(x):
    return everything(x, 0.7)


def test_the_statements_together_in_second_derivatives():
    _assert_gradients(everything, X, 0.7)
    hessian = srcad.hessian(everything_at)(X)
    np.testing.assert_allclose(hessian, _numerical_hessian(everything_at, X), atol=1e-6)


# --- loops over the rows of an argument, of any length ----------------------------------------
def recurrent(W, h, xs):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h**2) + np.sum(h)


@pytest.mark.sampled(2)
@pytest.mark.parametrize("steps", [0, 1, 2, 5])
def test_a_loop_over_rows_of_any_length_including_one(steps):
    rng = np.random.default_rng(steps)
    W, h = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3)
    xs = rng.normal(size=(steps, 3))
    for argnums in (0, 1, 2):
        gradient = srcad.grad(recurrent, argnums=argnums)(W, h, xs)
        expected = srcad.numerical_grad(recurrent, W, h, xs, argnums=argnums)
        np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-9)


def last_items(x, scale):
    total = 0.0
    for k, v in enumerate(x):  # noqa: B007 - kept a loop; k and v are read after it
        total = total + np.sin(v) * scale
    for i in range(3):  # noqa: B007 - i is read after the loop
        pass
    for row in np.outer(x, x):
        total = total + row[0]
    return total * v + k * x[i] + np.sum(row**2)


def test_the_loop_target_holds_the_last_item_after_the_loop():
    for x, scale in ((np.array([0.3, -0.7, 1.2, 0.9]), 2.0), (np.array([1.5, 0.2, -0.4]), 0.5)):
        value, grad = srcad.value_and_grad(last_items)(x, scale)
        assert value == pytest.approx(last_items(x, scale))
        np.testing.assert_allclose(grad, srcad.numerical_grad(last_items, x, scale), rtol=1e-6)

    def broke(x):
        for v in x:
            if v > 1.0:
                break
        return v * 2.0  # the item it broke at (the last where it did not): followed

    for x in (np.array([0.3, 1.4, 0.2]), np.array([0.3, 0.4, 0.2])):  # breaks, runs through
        value, grad = srcad.value_and_grad(broke)(x)
        assert value == broke(x)
        np.testing.assert_allclose(grad, srcad.numerical_grad(broke, x), rtol=1e-6)

    def kept(x):  # what the message says to write
        found = x[0]
        for v in x:
            if v > 1.0:
                found = v
                break
        return found * 2.0

    for x in (np.array([0.3, 1.4, 0.2]), np.array([0.3, 0.4, 1.7])):  # breaks at 1, then 2
        np.testing.assert_allclose(srcad.grad(kept)(x), srcad.numerical_grad(kept, x), rtol=1e-6)


DECAY = {"rate": 0.9}


def discounted_backwards(x):
    total = 0.0
    for t in reversed(range(300)):
        total = total * DECAY["rate"] + np.sin(x[t % 3] * t * 0.01)
    return total


def test_a_loop_over_a_reversed_range_stays_a_loop():
    """reversed(range(n)) counts down as range(n - 1, -1, -1): the loop stays a loop (it was
    unrolled, 300 copies of the body), as the backward loops of srcad's own code do when they
    are differentiated again. Also after the rate it reads changed."""
    x = np.array([0.3, -1.2, 0.8])
    try:
        for rate in (0.9, 0.5):
            DECAY["rate"] = rate
            _assert_gradients(discounted_backwards, x)
        gradient = srcad.grad(discounted_backwards)
        gradient(x)
        code = srcad.source(gradient)
        assert "for t in range(299, -1, -1):" in code and len(code.splitlines()) < 80
    finally:
        DECAY["rate"] = 0.9

    def reversed_list(x):
        total = 0.0
        for v in reversed([x[0], x[1] * 2.0]):  # a list: unrolled, as before
            total = total * 0.5 + v
        return total

    _assert_gradients(reversed_list, x)


LOOPS = {"depth": 4, "width": 2}


def worklist(x):
    todo = [x[0]]
    total = 0.0
    for v in todo:  # grows while the loop goes through it
        total = total + v
        if len(todo) < LOOPS["depth"]:
            todo.append(v * x[1])
    return total


def item_replaced_before_it_is_reached(x):
    items = [x[0], x[1], x[2]]
    total = 0.0
    for i, v in enumerate(items):
        if i == 0:
            items[2] = 5.0 * x[0]  # the loop reaches the new item
        if i == 1:
            items.pop()  # and then none: the loop ends here
        total = total + v * (i + 1)
    return total


def grouped(x):
    import itertools

    total = 0.0
    for k, group in itertools.groupby(range(5), key=lambda i: i // LOOPS["width"]):
        total = total + (k + 1) * sum(x[i] for i in group)  # valid until the next group
    return total


@pytest.mark.parametrize("function", [worklist, item_replaced_before_it_is_reached, grouped])
def test_a_loop_goes_through_a_list_the_body_changes_as_python_does(function):
    """The loop took a copy of the list (and groupby's groups came out empty): each item is
    now taken once the iteration before it has run. Again after the ints it reads changed."""
    x = np.array([0.3, -1.2, 0.8, 1.5, -0.4])
    try:
        for depth, width in ((4, 2), (6, 3)):
            LOOPS.update(depth=depth, width=width)
            _assert_gradients(function, x)
    finally:
        LOOPS.update(depth=4, width=2)


@pytest.mark.slow
def test_a_write_into_an_array_a_loop_still_goes_through_is_refused():
    def through_a_view(x):
        y = x.copy()
        total = 0.0
        for v in y[1:]:  # a view: NumPy's iterator sees the write below
            total = total + v
            y[-1] = 2.0 * y[-1]
        return total

    with pytest.raises(srcad.UnsupportedSyntax, match=r"loop over 'y\[1:\]' still reads") as e:
        srcad.grad(through_a_view)(X)
    assert e.value.line == through_a_view.__code__.co_firstlineno + 5

    def into_the_current_row(x):  # no later row shares it: followed
        total = 0.0
        for row in np.outer(x, x):
            row[0] = 3.0 * row[1]
            row[2] = row[0] * 2.0
            total = total + row[0] * row[2]
        return total

    _assert_gradients(into_the_current_row, X)

    def rebound_while_written(x):
        y = x.copy()
        total = 0.0
        for v in y:  # NumPy's iterator goes on over the first y
            y[0] += v
            y = y * 2.0
            total = total + v
        return total + np.sum(y)

    with pytest.raises(srcad.UnsupportedSyntax, match="binds the name to another array"):
        srcad.grad(rebound_while_written)(X)

    def changes_a_dict(x):
        weights = {"a": x[0]}
        total = 0.0
        for key in weights:
            weights[key + "b"] = x[1]  # Python raises RuntimeError on the next step
            total = total + weights[key]
        return total

    with pytest.raises(srcad.SrcadError, match="dictionary changed size during iteration"):
        srcad.grad(changes_a_dict)(X)

    def endless(x):
        todo = [x[0]]
        for v in todo:
            todo.append(v * 0.5)
        return todo[-1]

    with pytest.raises(srcad.SrcadError, match="ran more than 10000 times"):
        srcad.grad(endless)(X)


def test_the_target_after_a_loop_whose_else_returns_is_the_item_it_broke_at():
    """The loop is rewritten with its 'else' as an 'if' after it; the target once held
    the last item, not the one it broke at (a wrong value, silently), then was refused."""

    def first_negative(xs):
        for v in xs:
            if v < 0.0:
                break
        else:
            return 0.0
        return v * 10.0

    for xs in ([0.5, -1.0, 2.0], [0.5, 1.0, 2.0]):  # breaks at -1.0; returns from 'else'
        value, grad = srcad.value_and_grad(first_negative)(xs)
        assert value == first_negative(xs)
        np.testing.assert_allclose(grad, srcad.numerical_grad(first_negative, xs), atol=1e-6)


def frees_a_temporary(x):
    big = np.outer(x, x)
    total = np.sum(np.tanh(big))
    del big  # a name no later statement reads: nothing to follow
    return total * x[0]


def test_del_of_a_name_not_read_again_is_accepted_and_others_refused():
    for x in (np.array([0.3, 0.7, -1.2]), np.array([1.0, 0.5, 2.0])):
        np.testing.assert_allclose(
            srcad.grad(frees_a_temporary)(x), srcad.numerical_grad(frees_a_temporary, x), rtol=1e-6
        )

    def reads_it_again(x):
        big = np.outer(x, x)
        del big
        return np.sum(big)  # noqa: F821 - the refused pattern

    def in_a_branch(x):
        tmp = x * 2.0
        if x[0] > 0:
            del tmp
        return np.sum(x)

    for fun in (reads_it_again, in_a_branch):
        with pytest.raises(srcad.UnsupportedSyntax, match="'del' is supported for names"):
            srcad.grad(fun)(np.ones(3))


def filled_in_place(x, jitter):
    kernel = np.exp(-np.subtract.outer(x, x) ** 2)
    np.fill_diagonal(kernel, 1.0 + jitter)
    ones = np.empty(x.shape[0])
    ones.fill(jitter * 2.0)
    row = np.zeros(x.shape[0])
    np.copyto(row, np.sin(x))
    wide = np.outer(x, x[:2])
    np.fill_diagonal(wide, x[0])  # the shorter side: two entries
    return np.sum(np.linalg.solve(kernel, ones + row)) + np.sum(wide**2)


def test_numpys_fills_in_place_are_followed_as_subscript_assignments():
    for x, jitter in ((np.array([0.3, -0.7, 1.2]), 0.5), (np.array([1.0, 0.1, -0.4]), 0.1)):
        value, grad = srcad.value_and_grad(filled_in_place)(x, jitter)
        assert value == pytest.approx(filled_in_place(x, jitter))
        expected = srcad.numerical_grad(filled_in_place, x, jitter)
        np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


GAIN = {"value": 1.5}


def ufuncs_into_buffers(x):
    out = np.empty_like(x)
    np.add(x, GAIN["value"], out=out)
    np.multiply(out, x, out=out)  # reads the buffer it writes, as NumPy allows
    np.tanh(out, out=out)
    return np.sum(out * x)


def _matches_while_the_gain_changes(fun, x, mode="reverse"):
    """Value and gradient of ``fun`` against the plain function and central differences,
    on two calls with the global gain changed between them."""
    gradient = srcad.value_and_grad(fun, mode=mode)
    for gain in (1.5, -0.5):
        GAIN["value"] = gain
        try:
            value, grad = gradient(x)
            assert value == pytest.approx(fun(x))
            expected = srcad.numerical_grad(fun, x)
        finally:
            GAIN["value"] = 1.5
        np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


def test_a_ufunc_writing_into_a_buffer_of_the_function_with_out():
    x = np.array([0.3, -0.7, 1.2])
    _matches_while_the_gain_changes(ufuncs_into_buffers, x)

    def into_its_argument(x):
        np.exp(x, out=x)  # srcad's code writes into its own copy (README: writes)
        return np.sum(x)

    np.testing.assert_allclose(srcad.grad(into_its_argument)(x), np.exp(x), rtol=1e-12)


def reductions_into_buffers(x):
    M = np.outer(x, x) * GAIN["value"]
    column_sums = np.empty(3)
    np.sum(M, axis=0, out=column_sums)
    running = np.empty(3)
    np.cumsum(column_sums, out=running)
    np.cumprod(np.sin(running), out=running)  # writes over the array it reads from
    top = np.zeros((1, 1))
    np.max(M, axis=None, keepdims=True, out=top)
    means = np.ones((2, 3))
    np.mean(M, axis=1, out=means[1])
    return np.sum(running * x) + np.sum(means * x) + top[0, 0]


def test_numpy_functions_beside_ufuncs_writing_into_a_buffer_with_out():
    """``np.cumsum(y, out=y)`` was refused with a plain SrcadError ('out= is not
    supported'); as statements, the reductions and scans with ``out=`` fill the buffer."""
    x = np.array([0.3, -0.7, 1.2])
    _matches_while_the_gain_changes(reductions_into_buffers, x)
    _matches_while_the_gain_changes(reductions_into_buffers, x, mode="forward")


def test_out_inside_an_expression_is_refused_with_what_to_write():
    def cumsum_used(x):
        return np.sum(np.cumsum(x, out=np.empty(3)))

    with pytest.raises(srcad.SrcadError, match=r"cumsum.*statement of its own") as caught:
        srcad.grad(cumsum_used)(np.ones(3))
    assert f":{cumsum_used.__code__.co_firstlineno + 1}:" in str(caught.value)


def ufuncs_into_views(x):
    y = np.outer(x, x) * GAIN["value"]
    np.exp(y[:2], out=y[:2])  # a view: NumPy writes through it into y
    np.tanh(y[1:, ::2], out=y[1:, ::2])
    row = y[0]
    return np.sum(y * x[:, None]) + row[1]


def test_a_ufunc_writing_into_a_view_with_out_writes_through_it():
    """``out=y[:2]`` was refused as 'np.exp does not support the argument out'."""
    _matches_while_the_gain_changes(ufuncs_into_views, np.array([0.3, -0.7, 1.2]))


def sorted_in_place(x):
    s = x.copy()
    s.sort()
    M = np.outer(x, x) * GAIN["value"]
    M.sort(axis=0)
    same = s  # another name for the array sorted in place sees it sorted, as NumPy's
    return s[len(s) // 2] * 2.0 + np.sum(M[0]) + same[0] * s[-1]


def test_an_array_sorted_in_place_is_followed_as_its_sorted_values():
    _matches_while_the_gain_changes(sorted_in_place, np.array([0.3, -1.2, 2.5, 0.7, -0.1]))


def test_fill_diagonal_in_a_module_that_imports_numpy_under_its_own_name(tmp_path):
    source = (
        "import numpy\n\n\n"
        "def f(x):\n"
        "    K = numpy.outer(x, x)\n"
        "    numpy.fill_diagonal(K, 1.0)\n"
        "    return numpy.sum(K * K)\n"
    )
    f = module_from_source(source, tmp_path, "numpy_named").f
    for x in (np.array([0.3, 0.5, 0.9]), np.array([-1.0, 0.2, 2.0])):
        np.testing.assert_allclose(srcad.grad(f)(x), srcad.numerical_grad(f, x), rtol=1e-6)


def counted_from_one(x, w):
    total = 0.0
    for k, (v, u) in enumerate(zip(x, w, strict=True), start=1):  # kept a loop
        total = total + np.sin(v) * u * k
    weighted = sum(v * k for k, v in enumerate(x, 2))
    columns = list(zip(*np.outer(x, w), strict=True))  # Python iterates it: tuples of rows
    return total + weighted + sum(c[0] * c[-1] for c in columns)


def test_enumerate_counts_from_its_start_and_zip_of_rows_iterates():
    for x, w in ((np.array([0.3, -0.7, 1.2]), np.array([1.0, 2.0, -1.0])),):
        for scale in (1.0, 2.5):  # another call, other numbers
            value, grad = srcad.value_and_grad(counted_from_one)(x * scale, w)
            assert value == pytest.approx(counted_from_one(x * scale, w))
            expected = srcad.numerical_grad(counted_from_one, x * scale, w)
            np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)
    with pytest.raises(srcad.errors.SrcadError, match=r"zip\(strict=True\) of lengths \[2, 3\]"):
        srcad.grad(lambda x: sum(a * b for a, b in zip(x, x[:2], strict=True)))(np.ones(3))


def prints_text_of_values(x):
    loss = np.sum(x**2)
    print("loss " + str(loss), repr(x[0]), format(loss, ".3f"), str(loss) + "!")
    return loss


def test_str_repr_and_format_of_values_print_as_the_plain_function(capsys):
    for x in (np.array([0.3, 0.5, 1.2]), np.array([1.0, -2.0, 0.25])):
        gradient = srcad.grad(prints_text_of_values)(x)
        printed = capsys.readouterr().out
        prints_text_of_values(x)
        assert printed == capsys.readouterr().out
        np.testing.assert_allclose(gradient, 2 * x)
    with pytest.raises(srcad.errors.SrcadError, match="text formatted from data"):
        srcad.grad(lambda x: np.sum(x) * float(str(x[0])))(np.ones(3))


def drops_items(x):
    hs = [x, 2.0 * x, np.sin(x)]
    hs.pop()  # the item it returns is not used
    hs.pop(0)
    d = {"a": x, "b": x * x}
    d.pop("a")
    hs.reverse()
    return np.sum(hs[0] * d["b"]) + len(d)


def test_a_containers_pop_as_a_statement_is_followed():
    """``xs.pop()`` on its own line was refused as a call whose result is not used."""
    _assert_gradients(drops_items, X)


def inserts_items(x):
    acc = [x[0], x[1] * STEP["scale"]]
    acc.insert(0, x[2] ** 3)  # a literal position, a value computed from data
    acc.insert(len(acc), np.sin(x[3]))
    return acc[0] + 2.0 * acc[1] + acc[-1] * acc[2]


def inserts_where_data_says(x):
    acc = [x[0], x[1]]
    acc.insert(int(x[2] > 0), x[2] ** 3)
    return acc[0]


def test_an_insert_at_a_known_position_of_a_value_from_data_is_followed():
    """It was refused as a change "at a position known only when the code runs": the value
    inserted was taken for the position (found by a probe)."""
    # a global read on every call
    _assert_gradients_as_the_step_changes(inserts_items, X, (2.0, -0.5))
    with pytest.raises(srcad.UnsupportedSyntax, match="at a position known only when"):
        srcad.grad(inserts_where_data_says)(X)


def reports_a_repr(x):
    y = math.sin(x) * 2.0
    print(repr(y), f"{y=}", f"{y!r:>24}", repr(np.float64(0.5)))
    return y


def test_repr_of_a_python_float_prints_as_python_prints_it(capsys):
    """The generated code may compute a Python float as np.float64: its repr printed
    'np.float64(0.95...)' where the plain function prints '0.95...'."""
    expected = _printed(capsys, lambda: reports_a_repr(0.5))
    assert "np.float64(0.5)" in expected and "np.float64(0.9" not in expected
    for mode in ("reverse", "forward"):
        assert _printed(capsys, lambda m=mode: srcad.grad(reports_a_repr, mode=m)(0.5)) == expected


def fills_nested_lists(x):
    table = [[0.0, 0.0], [0.0, 0.0]]
    for i in range(2):
        for j in range(2):
            table[i][j] += x[i] * x[j] * (i + 1)  # a list of lists, in place
    config = {"scale": {"value": x[0]}}
    config["scale"]["value"] = config["scale"]["value"] * 3.0
    return table[0][1] + table[1][1] ** 2 + config["scale"]["value"]


def test_items_of_nested_lists_and_dicts_of_the_function_are_assigned():
    """``m[i][j] += ...`` was refused: only subscripts of names were assigned."""
    _assert_gradients(fills_nested_lists, X[:2])


def one_hot_steps(weights, inputs=(1, 3, 0)):
    xs, hs = {}, {}
    hs[-1] = np.zeros(3)
    loss = 0.0
    for t in range(len(inputs)):
        xs[t] = np.zeros(4)
        xs[t][inputs[t]] = 1.0  # min-char-rnn's one-hot input: into an array a dict holds
        hs[t] = np.tanh(weights @ xs[t] + hs[t - 1])
        loss += np.sum(hs[t] ** 2)
    return loss


def test_an_element_of_an_array_a_dict_holds_is_written_into_that_array():
    """``xs[t][k] = 1.0`` was refused: only subscripts of names were assigned. Where a name
    holds the array too, NumPy would change it there as well: refused."""
    _assert_gradients(one_hot_steps, np.linspace(-1.0, 1.0, 12).reshape(3, 4))

    def shared(x):
        z = np.zeros(3)
        held = {0: z}
        held[0][1] = x
        return np.sum(z) * x

    with pytest.raises(srcad.UnsupportedSyntax, match="also holds"):
        srcad.grad(shared)(2.0)


def rows_in_a_list(x):
    M = np.stack([x, x**2])
    rows = [M[i] for i in range(2)]
    rows[0][2] = 0.0  # NumPy: M[0, 2] too
    return np.sum(M)


def pieces_of_a_split(x):
    a = x * 2.0
    parts = np.split(a, 2)
    parts[1][0] = 0.0  # NumPy: a[2] too
    return np.sum(a)


def a_row_in_a_dict(x):
    M = np.stack([x, x**2])
    d = {"a": M[1]}
    d["a"][0] = 3.0
    return np.sum(M * x)


def a_copied_row_in_a_list(x):
    M = np.stack([x, x**2])
    rows = [M[0].copy(), M[1]]
    rows[0][2] = 0.0  # its own array: M keeps its values
    return np.sum(M) + np.sum(rows[0] ** 2)


class Holder:
    pass


def a_row_in_an_attribute(x):
    M = np.stack([x, x**2])
    held = Holder()
    held.row = M[1]  # a view of M
    M[1][0] = 3.0
    return np.sum(held.row * x)


@pytest.mark.parametrize(
    "function", [rows_in_a_list, pieces_of_a_split, a_row_in_a_dict, a_row_in_an_attribute]
)
def test_a_write_into_a_view_a_list_or_dict_holds_is_refused(function):
    """The write changed the list's item only, where NumPy also changes the array it views:
    a wrong value and gradient, without an error."""
    with pytest.raises(srcad.UnsupportedSyntax, match="a view of one|'held' also refers"):
        srcad.grad(function)(X[:4])


def updates_an_attribute_in_place(x):
    M = x * 1.0
    held = Holder()
    held.m = M
    held.m += 1.0  # NumPy: M too
    return np.sum(M**2)


def updates_a_row_a_list_holds_in_place(x):
    M = np.stack([x, x**2])
    rows = [M[0], M[1]]
    rows[0] *= 3.0  # NumPy: M[0] too
    return np.sum(M**2)


def updates_its_own_arrays_in_place(x):
    held = Holder()
    held.m = x * 1.0
    held.m += 1.0
    totals = {"sum": np.zeros(4)}
    totals["sum"] += x**2
    return np.sum(held.m**2) + np.sum(totals["sum"] * x)


@pytest.mark.parametrize(
    "function", [updates_an_attribute_in_place, updates_a_row_a_list_holds_in_place]
)
def test_an_in_place_update_of_an_array_held_elsewhere_is_refused(function):
    """'o.m += 1.0' and 'rows[0] *= 3.0' gave the item a new array, where NumPy changes
    the one M holds too: a wrong value and gradient (found by a probe)."""
    with pytest.raises(srcad.UnsupportedSyntax, match="changes in place an array"):
        srcad.grad(function)(X)


class Particles:
    def __init__(self, x0):
        self.x = x0.copy()
        self.v = np.zeros_like(x0)

    def step(self, dt):
        self.v += -CHAINED["offset"] * self.x * dt  # the object's own arrays, in place
        self.x += self.v * dt


class SlicedState:
    def __init__(self, n):
        self.x = np.zeros(n)
        self.v = np.zeros(n)

    def reset(self, x0):
        self.x[:] = x0  # into the attribute's own array
        self.v[0] += 0.5 * CHAINED["offset"][0]

    def step(self, dt):
        self.v[:] = self.v - CHAINED["offset"] * self.x * dt
        self.x[1:] = self.x[1:] + self.v[1:] * dt


class PrivateState:
    def __init__(self, x0):
        self.__x = x0 * 1.0

    def step(self):
        self.__x += np.sin(self.__x) * CHAINED["offset"][0]  # a private (mangled) name

    def total(self):
        return np.sum(self.__x**2)


def simulated_privately(x0):
    state = PrivateState(x0)
    state.step()
    state.step()
    return state.total()


def simulated_in_slices(x0):
    state = SlicedState(4)
    state.reset(x0)
    for _ in range(3):
        state.step(0.1)
    return np.sum(state.x**2)


def sliced_while_named(x0):
    state = SlicedState(4)
    kept = state.x
    state.x[:] = x0  # NumPy: kept too
    return np.sum(kept * x0)


def simulated(x0):
    particles = Particles(x0)
    for _ in range(3):
        particles.step(0.1)
    return np.sum(particles.x**2)


def stepped_while_named(x0):
    particles = Particles(x0)
    velocity = particles.v  # NumPy: the step's self.v += ... changes it too
    particles.step(0.1)
    return np.sum(velocity * x0)


def stepped_while_another_object_holds(x0):
    particles = Particles(x0)
    other = Holder()
    other.m = particles.v
    particles.step(0.1)
    return np.sum(other.m * x0)


def stepped_reading_its_arrays(x0):
    particles = Particles(x0)
    particles.step(0.1)
    return np.sum(particles.v * x0) + np.sum(particles.x**2)


def made_by_the_constructor_then_stepped(x0):
    velocity = x0 * 1.0
    particles = Particles(x0)
    particles.v = velocity  # the object holds the array the name holds
    particles.step(0.1)
    return np.sum(velocity**2)


class ListedParameters:
    def __init__(self, w, listed_too):
        if listed_too:
            self.w = w
        self.params = [w]

    def loss(self):
        return np.sum(self.params[0] ** 2)


def doubles_a_listed_parameter_named_too(x):
    model = ListedParameters(x * 1.0, True)
    model.params[0] *= 2.0  # NumPy: model.w doubles too
    return model.loss() + np.sum(model.w * x)


def doubles_an_item_of_a_nested_list(x):
    y = x * 1.0
    nested = {"all": [y]}
    nested["all"][0] += 1.0  # NumPy: y too
    return np.sum(y**2)


def doubles_a_parameter_only_its_list_holds(x):
    model = ListedParameters(x * 1.0, False)
    model.params[0] *= CHAINED["offset"][0]
    nested = {"all": [x * 2.0]}
    nested["all"][0] += CHAINED["offset"]
    return model.loss() + np.sum(nested["all"][0] * x)


@pytest.mark.parametrize(
    "function",
    [
        stepped_while_named,
        stepped_while_another_object_holds,
        made_by_the_constructor_then_stepped,
        doubles_a_listed_parameter_named_too,
        doubles_an_item_of_a_nested_list,
    ],
)
def test_a_helpers_in_place_update_of_an_array_the_caller_names_is_refused(function):
    """'velocity = particles.v' then a method's 'self.v += ...', or 'model.params[0] *= 2.0'
    where model.w holds the same array: NumPy changes the array everywhere it is held; srcad
    gave the slot a new array and the other holders kept the old one (wrong values and
    gradients, found by probes: 15.0 where NumPy gives 5.0)."""
    with pytest.raises(srcad.UnsupportedSyntax, match="changes in place an array"):
        srcad.grad(function)(X)


def test_in_place_updates_of_arrays_only_an_item_holds():
    _assert_gradients(updates_its_own_arrays_in_place, X)


@pytest.mark.slow
def test_a_method_updates_its_objects_arrays_in_place():
    """A physics step (self.v += ..., called on an object the function made) was refused
    by this session's check of shared arrays: the caller reaches the array through the
    object itself (found by a probe); slices of its arrays (self.x[:] = x0) were refused
    as "not supported". Also after the global the step reads changed; and with the
    caller reading the updated arrays through the object, or 'model.params[0] *= s' where
    only the list holds the array (this session's HeldArray slots)."""
    kept = CHAINED["offset"]
    updated_in_their_holders = (stepped_reading_its_arrays, doubles_a_parameter_only_its_list_holds)
    for function in (
        simulated,
        simulated_in_slices,
        simulated_privately,
        *updated_in_their_holders,
    ):
        compiled = srcad.grad(function)
        try:
            for offset in (kept, 3.0 * kept):
                CHAINED["offset"] = offset
                expected = srcad.numerical_grad(function, X)
                np.testing.assert_allclose(compiled(X), expected, rtol=1e-6, atol=1e-9)
        finally:
            CHAINED["offset"] = kept
    with pytest.raises(srcad.UnsupportedSyntax, match="another attribute also holds"):
        srcad.grad(sliced_while_named)(X)


def test_a_write_into_a_copy_a_list_holds_is_lowered():
    _assert_gradients(a_copied_row_in_a_list, X[:4])


def iterates_quietly(x):
    with np.errstate(divide="ignore"):
        s = x
        for _ in range(3):
            s = np.sin(s) * x  # a loop in a with block: its tape is made inside the block
    return np.sum(s)


def test_second_derivatives_of_a_loop_inside_a_with_block():
    """The gradient's code keeps the loop's tape in a list made inside its 'with' block;
    differentiating that code again refused the list as one that differs between the
    branches of a condition (a 'with' block has one branch, always entered)."""
    x = np.array([0.3, 0.7])
    np.testing.assert_allclose(
        srcad.hessian(iterates_quietly)(x), _numerical_hessian(iterates_quietly, x), atol=1e-6
    )


def grows_until_it_returns(p):
    x = p[0]
    while True:  # left only by a return
        x = x * p[1]
        if x > 10.0:
            return x * 2.0
        if x < -10.0:
            return -x


def test_a_while_true_loop_left_only_by_return():
    """Refused as 'one branch returns and the other does not reach a return': nothing
    follows a 'while True' without a 'break', so its rewrite returns unconditionally."""
    for p in (np.array([0.7, 1.9]), np.array([-0.6, 2.3])):
        _assert_gradients(grows_until_it_returns, p)


WHILE_LIMIT = {"total": 5.0}


def accumulated_until(w):
    """A sum started as the float 0.0 that the loop makes an array, tested in the loop's
    condition: the generated loop called acc.sum() on the float."""
    acc = 0.0
    i = 0
    while np.sum(acc) < WHILE_LIMIT["total"] and i < 10:
        acc = acc + w
        i += 1
    return np.sum(acc**2)


def test_a_while_loop_value_started_as_a_float_and_made_an_array():
    w = np.array([1.0, 0.5, 0.8])
    for total in (5.0, 9.0):
        WHILE_LIMIT["total"] = total
        for mode in ("reverse", "forward"):
            value, gradient = srcad.value_and_grad(accumulated_until, mode=mode)(w)
            assert value == pytest.approx(accumulated_until(w))
            expected = srcad.numerical_grad(accumulated_until, w)
            np.testing.assert_allclose(gradient, expected, rtol=1e-6)
    WHILE_LIMIT["total"] = 5.0


def test_a_while_loop_that_changes_a_values_shape_is_refused_at_its_line():
    def growing(w):
        s = w[:1]
        while np.sum(s) < 2.0:
            s = np.concatenate([s, w[:1]])
        return np.sum(s)

    with pytest.raises(srcad.SrcadError, match="changes the shape of a value it carries"):
        srcad.grad(growing)(np.array([0.3, 0.4]))


CHAINED = {"offset": np.array([0.5, -1.0, 2.0, 0.25])}


def chained_writes(x):
    M = np.outer(x, x)
    M[1][2] = x[0] * 3.0 + CHAINED["offset"][1]  # through the view M[1]
    M[0][1] += x[2] ** 2
    M[:, 1][M[:, 1] > 0.1] = 0.0  # a mask into the column's view
    for i in range(3):
        M[i][i] = np.sin(x[i]) * CHAINED["offset"][i]
    return np.sum(M * M)


def chained_write_at_a_count(x, n):
    M = np.outer(x, x)
    M[n][0] = CHAINED["offset"][n]
    return np.sum(np.tanh(M))


def three_subscripts(x):
    A = np.einsum("i,j,k->ijk", x[:3], x[:3], x[:3])
    A[0][1][::-1] = x[:3] * CHAINED["offset"][0]
    A[1][2][0] += x[1] ** 2
    pieces = {"b": np.outer(x, x)}
    pieces["b"][0][3] = x[2] ** 3  # an array a dict holds, through its row
    return np.sum(A**2) + np.sum(pieces["b"] ** 2)


def made_by(x):
    print("made")  # an effect: once per call
    return np.outer(x, x)


def chained_write_into_a_call(x):
    made_by(x)[0][1] = 5.0  # writes into an array no name holds: refused, not made twice
    return np.sum(x)


def chained_write_into_a_copy(x):
    M = np.outer(x, x)
    M[[0, 1]][0] = 5.0  # NumPy: into a copy; M keeps its values
    return np.sum(M)


def test_chained_subscripts_write_into_the_array_through_its_view():
    """``M[i][j] = v`` was refused ("assignment to 'M[1][2]' is not supported"); NumPy writes
    into ``M`` through the view ``M[i]``. Also after the global the writes read changed,
    and at an index from an int argument."""
    _assert_gradients(chained_writes, X)
    _assert_gradients(three_subscripts, X)
    compiled = srcad.grad(chained_writes)
    kept = CHAINED["offset"]
    try:
        CHAINED["offset"] = -3.0 * kept
        np.testing.assert_allclose(
            compiled(X), srcad.numerical_grad(chained_writes, X), rtol=1e-6, atol=1e-9
        )
    finally:
        CHAINED["offset"] = kept
    at_count = srcad.grad(chained_write_at_a_count)
    for n in (1, 3):
        expected = srcad.numerical_grad(chained_write_at_a_count, X, n)
        np.testing.assert_allclose(at_count(X, n), expected, rtol=1e-6, atol=1e-9)
    with pytest.raises(srcad.UnsupportedSyntax, match="is a copy"):
        srcad.grad(chained_write_into_a_copy)(X)
    with pytest.raises(srcad.UnsupportedSyntax, match=r"assignment to 'made_by\(x\)\[0\]\[1\]'"):
        srcad.grad(chained_write_into_a_call)(X)


def puts_by_mask(x):
    y = x * 1.0
    np.putmask(y, y > 0, 0.0)
    return np.sum(y)


def writes_into_picked(x):
    b = x[x > 0]
    b[0] = 100.0
    return np.sum(b)


def puts_by_position(x):
    y = np.zeros((2, 3))
    np.put(y, [0, 4], x[:2])
    return np.sum(y**2 * np.arange(1.0, 7.0).reshape(2, 3))


def puts_as_advised(x):
    y = np.zeros((2, 3))
    y[np.unravel_index([0, 4], y.shape)] = x[:2]
    return np.sum(y**2 * np.arange(1.0, 7.0).reshape(2, 3))


def test_in_place_numpy_functions_and_writes_into_picked_elements_say_what_to_write():
    """They said "has no derivative rule ... srcad.defvjp(np.putmask, rule)", which cannot
    work for a function that returns None, and "cannot assign into a Selection"; np.put's
    advice, followed, works (it said to write ``a.flat[ind] = v``, which srcad refuses)."""
    with pytest.raises(srcad.UnsupportedSyntax, match=r"in place.*np\.where\(mask, values, a\)"):
        srcad.grad(puts_by_mask)(X)
    advice = r"write a\[np\.unravel_index\(ind, a\.shape\)\] = v"
    with pytest.raises(srcad.UnsupportedSyntax, match=advice):
        srcad.grad(puts_by_position)(X)
    _assert_gradients(puts_as_advised, X)
    with pytest.raises(srcad.UnsupportedSyntax, match=r"'b', the elements a mask picked"):
        srcad.grad(writes_into_picked)(X)


ALLOWED = {"values": np.array([1.6, 2.1])}


def scores_outside_a_set(x):
    """np.isin of data, a mask (no derivative): it said "has no derivative rule"."""
    kept = ~np.isin(x, ALLOWED["values"])
    return np.sum(np.where(kept, x**2, 3.0 * x))


def test_a_test_of_membership_masks_and_is_read_on_every_call():
    kept = ALLOWED["values"]
    grad = srcad.grad(scores_outside_a_set)
    try:
        for values in (kept, np.array([0.3, -0.4])):  # the second call reads the new set
            ALLOWED["values"] = values
            members = np.isin(X, values)  # where x moves, it leaves the set: no difference
            got = grad(X)
            np.testing.assert_allclose(got, np.where(members, 3.0, 2.0 * X), rtol=1e-12)
            central = srcad.numerical_grad(scores_outside_a_set, X)
            np.testing.assert_allclose(got[~members], central[~members], rtol=1e-6)
    finally:
        ALLOWED["values"] = kept


SEARCH = {"limit": 1.0}


def first_above(x):
    """A search loop: what it finds, or a default from its else block."""
    for k in range(len(x)):
        if x[k] > SEARCH["limit"]:
            return x[k] ** 2 * np.sum(x)
    else:
        return np.sum(np.sin(x))


def settles(x):
    steps = 0
    y = x * 1.0
    while steps < 3:
        for v in range(2):  # an inner loop's break is not the outer loop's
            if v == 1:
                break
            y = np.tanh(y) + x * SEARCH["limit"]
        steps += 1
    else:
        y = y * 2.0
    return np.sum(y**2)


def stops_early(x):
    total = 0.0
    for k in range(len(x)):
        if x[k] < 0.0:
            break
        total = total + x[k] ** 3
    else:
        total = total * 10.0  # no break: the else block runs
    return total * SEARCH["limit"]


def breaks_from_an_inner_else(x):
    total = 0.0
    for _ in range(2):
        for j in range(2):
            if x[j] > 10.0 * SEARCH["limit"]:
                break
            total = total + x[j] ** 2
        else:
            break  # the inner loop ran out: this break leaves the outer loop
    else:
        total = total * 1000.0  # runs only where the outer loop did not break
    return total


@pytest.mark.parametrize("function", [first_above, settles, stops_early, breaks_from_an_inner_else])
def test_else_blocks_of_loops_with_and_without_break(function):
    """A loop's else block that returns, of a loop without break, was refused: "one branch
    of this 'if' returns and the other does not reach a return". Both ways through each
    loop, also after the global they read changed."""
    compiled = srcad.grad(function)
    for limit in (1.0, 10.0):  # found and not found; no break and a break (at -0.4)
        SEARCH["limit"] = limit
        for x in (X, np.abs(X)):
            expected = srcad.numerical_grad(function, x)
            np.testing.assert_allclose(compiled(x), expected, rtol=1e-6, atol=1e-9)
    SEARCH["limit"] = 1.0


# --- None as "not found yet" ------------------------------------------------------------------
NOT_FOUND_LIMIT = {"high": 1.0}


def first_above(x):
    ret = None
    if x > NOT_FOUND_LIMIT["high"]:
        ret = x * 3.0
    if ret is not None:
        return ret
    return x * 2.0


def nearest_kept(x):
    best = None
    if x > NOT_FOUND_LIMIT["high"]:
        best = x
    if x < -NOT_FOUND_LIMIT["high"]:
        best = -x
    return x * x if best is None else best**2 * 5.0


@pytest.mark.parametrize("fun", [first_above, nearest_kept])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_name_none_in_one_branch_answers_is_none_as_python_does(fun, mode):
    """``ret = None; if x > 1: ret = ...; if ret is not None: return ret``: srcad gave
    ``ret`` zeros in the branch that left it None and took ``ret is not None`` for always
    true: (0.0, 0.0) where the plain function gives 2x (found by a probe)."""
    gradient = srcad.value_and_grad(fun, mode=mode)
    for high in (1.0, 5.0):  # a global read on every call
        NOT_FOUND_LIMIT["high"] = high
        try:
            for x in (0.5, 2.0, -3.0):
                value, slope = gradient(x)
                assert value == pytest.approx(fun(x))
                assert slope == pytest.approx(srcad.numerical_grad(fun, x), rel=1e-6)
        finally:
            NOT_FOUND_LIMIT["high"] = 1.0


def factor_or_fallback(A):
    K = 0.5 * (A + A.T) + NOT_FOUND_LIMIT["high"] * np.eye(3)
    L = None
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        pass
    if L is None:
        return np.sum(K**2)
    return np.sum(np.log(np.diag(L)))


def test_a_name_none_unless_a_try_block_ran_answers_is_none_as_python_does():
    """``L = None; try: L = cholesky(K) except LinAlgError: pass; if L is None: ...``: the
    handler's run gave log(0) of the zeros srcad put for None (wrong value and gradient)."""
    definite = np.eye(3) * 2.0 + 0.1
    indefinite = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    gradient = srcad.value_and_grad(factor_or_fallback)
    for high in (0.0, 0.5):  # a global read on every call
        NOT_FOUND_LIMIT["high"] = high
        try:
            for A in (definite, indefinite):
                value, slope = gradient(A)
                assert value == pytest.approx(factor_or_fallback(A))
                expected = srcad.numerical_grad(factor_or_fallback, A)
                np.testing.assert_allclose(slope, expected, rtol=1e-6, atol=1e-8)
        finally:
            NOT_FOUND_LIMIT["high"] = 1.0


NOISE = {"scale": 0.5}


def gp_with_index_helpers(x):
    """A kernel's diagonal raised through np.diag_indices_from, its triangles picked through
    np.tril_indices_from and np.triu_indices_from, and np.ascontiguousarray,
    np.asfortranarray and np.asanyarray of values: each said "has no derivative rule"
    (found by a probe)."""
    K = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2)
    K[np.diag_indices_from(K)] += NOISE["scale"] ** 2
    L = np.linalg.cholesky(K)
    lower = K[np.tril_indices_from(K, k=-1)]
    upper = np.ascontiguousarray(K[np.triu_indices_from(K)])
    spread = np.sum(np.asfortranarray(upper) * np.asanyarray(upper))
    return np.sum(np.log(np.diag(L))) + np.sum(lower**2) + spread


def test_index_helpers_of_an_arrays_shape_and_conversions_of_values_are_followed():
    x = np.array([0.3, -0.5, 0.8, 1.2])
    try:
        for scale in (0.5, 1.5):  # a global read on every call
            NOISE["scale"] = scale
            _assert_gradients(gp_with_index_helpers, x)
    finally:
        NOISE["scale"] = 0.5


STEP = {"scale": 2.0}


def _assert_gradients_as_the_step_changes(fun, x, scales) -> None:
    """``_assert_gradients`` after each change of the global ``STEP["scale"]``."""
    for _ in each_value(STEP, "scale", scales):
        _assert_gradients(fun, x)


def _scaled_max(a, b):
    return np.maximum(a, b * STEP["scale"])


def running_totals(x):
    """itertools.accumulate of numbers, with operator.mul and an initial value, and of rows
    with a function of the user's that reads a global: it said "has no derivative rule"
    (found by a probe)."""
    parts = [x[0], x[1] ** 2, np.sin(x[2])]
    sums = list(itertools.accumulate(parts))
    products = list(itertools.accumulate(parts, operator.mul, initial=1.5))
    rows = list(itertools.accumulate(np.tanh(x.reshape(2, 2)), _scaled_max))
    return sums[-1] * sums[1] + products[-1] + np.sum(rows[-1] ** 2)


def test_itertools_accumulate_lowers_each_step():
    x = np.array([0.3, -0.5, 0.8, 1.2])
    # the global the user's function reads, changed
    _assert_gradients_as_the_step_changes(running_totals, x, (2.0, 0.5))


def keeps_rows(A):
    """filter over an array's rows, by a test of their shapes (known when compiling): it
    said "'filter' has no derivative rule" (found by a probe)."""
    kept = filter(lambda row: row.shape[0] == 2, A * STEP["scale"])
    return sum(np.sum(np.sin(row)) for row in kept) + sum(filter(lambda v: True, A[0]))


def keeps_positive(x):
    return sum(filter(lambda v: v > 0, x))


def test_filter_goes_through_an_arrays_rows():
    A = np.array([[0.3, -0.5], [0.8, 1.2], [-0.1, 0.4]])
    # a global read on every call
    _assert_gradients_as_the_step_changes(keeps_rows, A, (2.0, -1.0))
    with pytest.raises(srcad.SrcadError, match="reads values computed from data"):
        srcad.grad(keeps_positive)(A[0])


TIES = {"keys": np.array([3.0, 1.0, 1.0, 0.0])}


def ranked_by_two_keys(x):
    """np.lexsort of a tuple of keys, one a global, one computed from data (it said 'np.lexsort
    has no derivative rule': the keys in a tuple had no stand-in; found by a probe)."""
    rounded = np.round(x)
    order = np.lexsort((x, TIES["keys"] * rounded))
    return np.sum(x[order] * np.arange(1.0, 5.0))


def test_lexsort_of_keys_from_data_orders_and_is_read_on_every_call():
    x = np.array([0.6, -1.2, 2.1, 0.3])
    kept = TIES["keys"]
    try:
        for keys in (kept, np.array([0.0, 1.0, 2.0, 3.0])):  # the second call reads new keys
            TIES["keys"] = keys
            order = np.lexsort((x, keys * np.round(x)))
            expected = np.zeros(4)
            expected[order] = np.arange(1.0, 5.0)
            np.testing.assert_array_equal(srcad.grad(ranked_by_two_keys)(x), expected)
            _assert_gradients(ranked_by_two_keys, x)
    finally:
        TIES["keys"] = kept


def written_in_place_in_loops(x):
    """Calls that write into an array inside a loop: the array is one the loop carries
    (np.sin(y, out=y) in a loop was dropped: the value was the array before the loop)."""
    y = x.copy()
    scratch = np.zeros_like(x)
    for _ in range(2):
        np.sin(y, out=y)
        np.multiply(y, GAIN["value"], out=scratch)
        np.copyto(y, y + 0.25 * scratch)
        y.sort()
    k = 0
    while np.sum(y**2) > 0.2 and k < 20:
        np.multiply(y, 0.8, out=y)
        k += 1
    filled = np.empty_like(x)
    for _ in range(2):
        filled.fill(np.sum(y) * 0.3)
        np.add.at(y, [0, 0, 1], filled[:3])
    return np.sum(y * x) + np.sum(filled)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_calls_writing_into_an_array_in_a_loop_carry_it(mode):
    x = np.array([0.3, -0.7, 1.2])
    _matches_while_the_gain_changes(written_in_place_in_loops, x, mode)


def scattered_both_ways(x):
    y = np.ones(3) * x[0] * GAIN["value"]
    np.subtract.at(y, [0, 1, 1], x)  # repeated indices subtract twice
    numpy_module.add.at(y, [2, 2, 0], x * x)  # another name for NumPy
    for _ in range(2):
        np.subtract.at(y, 2, 0.5 * y[0])
    return np.sum(y**3)


numpy_module = np


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_subtract_at_scatters_the_values_taken_away(mode):
    """``np.subtract.at`` had no derivative rule; ``numpy.add.at`` under another module name
    than ``np`` was not recognised."""
    _matches_while_the_gain_changes(scattered_both_ways, np.array([0.5, -1.0, 2.0]), mode)


def test_scatter_with_named_arguments_is_refused_at_the_line():
    def named(x):
        y = np.zeros(3)
        np.subtract.at(y, indices=[0, 1], b=x[:2])
        return np.sum(y)

    with pytest.raises(srcad.UnsupportedSyntax, match="in that order without names") as caught:
        srcad.grad(named)(np.ones(3))
    assert f":{named.__code__.co_firstlineno + 2}:" in str(caught.value)


BREAK_AT = {"total": 5.0}  # read on every call


def relaxed_until_large(x):
    total = np.zeros(3)
    for i in range(20):
        total = total + np.tanh(x * i)
        if np.sum(total) > BREAK_AT["total"]:
            break
    return np.sum(total**2) * (1.0 + 0.01 * i) + x[i % 3]  # i: where it stopped


def first_large_row(X):
    for row in X:
        if np.sum(row) > BREAK_AT["total"] / 5.0:
            break
    return np.sum(row**2)


@pytest.mark.parametrize("fun", [relaxed_until_large, first_large_row])
def test_the_target_after_a_loop_that_breaks_on_data_is_the_item_it_broke_at(fun):
    """'for i in range(maxit): ... break' and then i read after the loop was refused ('i
    holds the item the loop stopped at'; probe Y): it is the counter (or the row) of the
    iteration that broke, or the last where none did."""
    arguments = {
        relaxed_until_large: np.array([0.3, 0.2, 0.1]),
        first_large_row: np.array([[0.2, 0.3], [0.9, 0.5], [0.1, 0.1]]),
    }[fun]
    try:
        for limit in (5.0, 2.0, 100.0):  # breaks late, early, never
            BREAK_AT["total"] = limit
            value, grad = srcad.value_and_grad(fun)(arguments)
            assert value == pytest.approx(fun(arguments), rel=1e-12)
            expected = srcad.numerical_grad(fun, arguments)
            np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)
            forward = srcad.grad(fun, mode="forward")(arguments)
            np.testing.assert_allclose(forward, expected, rtol=1e-6, atol=1e-9)
    finally:
        BREAK_AT["total"] = 5.0


def rebinds_its_counter(x):
    for i in range(4):
        i = i * 2  # Python's i after the loop: the last value bound, 6
    return x[0] * i * BREAK_AT["total"]


def rebinds_its_row(x):
    for v in x:
        v = v * 3.0
    return v * BREAK_AT["total"]


@pytest.mark.parametrize("fun", [rebinds_its_counter, rebinds_its_row])
def test_a_loop_target_the_body_rebinds_holds_its_last_binding_after_the_loop(fun):
    """After a loop whose body rebinds its target, srcad gave the last item (x[0] * 3 for
    x[0] * 6; probe AA), not the value the body bound last."""
    x = np.array([0.3, 0.5, 0.9, 0.1])
    try:
        for total in (5.0, -2.0):  # a second call after the global changed
            BREAK_AT["total"] = total
            value, grad = srcad.value_and_grad(fun)(x)
            assert value == pytest.approx(fun(x), rel=1e-12)
            np.testing.assert_allclose(grad, srcad.numerical_grad(fun, x), rtol=1e-6, atol=1e-9)
    finally:
        BREAK_AT["total"] = 5.0


def rebinds_and_breaks(x):
    for i in range(4):
        if x[i] > 0.8:
            i = i + 2
            break
    return x[0] * i


def breaks_out_of_an_iterator(x):
    it = iter(x)
    total = 0.0
    for v in it:
        total = total + v
        if total > 0.25:
            break
    return total + next(it, 0.0)  # Python: the item after the one it broke at


@pytest.mark.parametrize("fun", [rebinds_and_breaks, breaks_out_of_an_iterator])
def test_where_a_loop_that_breaks_leaves_a_name_srcad_cannot_follow_it_refuses(fun):
    """Both gave wrong values silently (probe AA): the counter before the body rebound it,
    and an iterator the loop had gone through whole."""
    with pytest.raises(srcad.UnsupportedSyntax):
        srcad.grad(fun)(np.array([0.2, 0.3, 0.9, 0.1]))


def skips_a_row(x):
    it = iter(x * BREAK_AT["total"])
    next(it)  # skip the first
    return next(it) * 2.0


def test_next_as_a_statement_skips_an_item():
    """It was refused as the unused result of a function that changes its argument."""
    x = np.array([0.2, 0.3, 0.5])
    value, grad = srcad.value_and_grad(skips_a_row)(x)
    assert value == pytest.approx(skips_a_row(x))
    np.testing.assert_allclose(grad, srcad.numerical_grad(skips_a_row, x), rtol=1e-6)


STEPS = {"count": 0}


def kept_when_the_loop_runs_no_iteration(x):
    i = 5
    for i in range(STEPS["count"]):  # noqa: B007 - i is read after the loop
        if x[0] > 0.0:
            break
    return x[0] * i


def test_a_loop_that_may_break_but_runs_no_iteration_leaves_its_target_as_it_was():
    x = np.array([0.7, 0.2])
    try:
        for count in (0, 3):  # none, then one that breaks at once
            STEPS["count"] = count
            value, grad = srcad.value_and_grad(kept_when_the_loop_runs_no_iteration)(x)
            assert value == kept_when_the_loop_runs_no_iteration(x)
            expected = srcad.numerical_grad(kept_when_the_loop_runs_no_iteration, x)
            np.testing.assert_allclose(grad, expected, atol=1e-8)
    finally:
        STEPS["count"] = 0


def second_search_from_the_first(x):
    for i in range(5):
        if x[i] < 0.0:
            break
    for j in range(i, 5):  # counted by the data: where it stops is not followed
        if x[j] > 0.5:
            break
    return x[i] * x[j]


def test_the_target_of_a_loop_counted_by_the_data_that_breaks_is_refused_after_it():
    """It failed with 'cannot index with a float64 value' (probe AA)."""
    with pytest.raises(srcad.UnsupportedSyntax, match="'j' after the loop"):
        srcad.grad(second_search_from_the_first)(np.array([0.3, 0.5, -0.9, 0.1, 0.7]))


def inner_counter_after_two_breaks(x):
    t = 0.0
    for i in range(3):
        for k in range(4):
            t += x[k] * (i + 1) * BREAK_AT["total"] / 5.0
            if t > 1.5:
                break
        if t > 3.0:
            break
    return x[k] * 2.0 + x[0] * i  # the inner counter where it broke: an int index


def test_the_inner_counter_after_nested_loops_that_both_break_stays_an_int():
    """It came out a float64 (the outer loop carried a float stand-in): 'cannot index with
    a float64 value', and isinstance(k, int) answered False (probe AC)."""
    x = np.array([0.7, 0.35, 0.2, 0.9])
    try:
        for total in (5.0, 2.0):
            BREAK_AT["total"] = total
            value, grad = srcad.value_and_grad(inner_counter_after_two_breaks)(x)
            assert value == pytest.approx(inner_counter_after_two_breaks(x), rel=1e-12)
            expected = srcad.numerical_grad(inner_counter_after_two_breaks, x)
            np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)
    finally:
        BREAK_AT["total"] = 5.0


def shadowed_in_a_comprehension(x):
    for i in range(3):
        s = sum(x[i] for i in range(2))  # the comprehension's own i
    return x[0] * i + s * BREAK_AT["total"]


def test_a_comprehension_naming_its_variable_like_the_loop_target_does_not_rebind_it():
    """The loop's body was taken to rebind i (a comprehension's i): 'name i is not
    defined' after the loop."""
    x = np.array([0.3, 0.5, 0.7])
    value, grad = srcad.value_and_grad(shadowed_in_a_comprehension)(x)
    assert value == pytest.approx(shadowed_in_a_comprehension(x), rel=1e-12)
    expected = srcad.numerical_grad(shadowed_in_a_comprehension, x)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


def _through_a_dict_iterator(x):
    d = {"a": x, "b": 2.0 * x}
    values = iter(d.values())
    d["b"] = np.sin(x)  # the iterator reads the dict as it is when it hands out an item
    first = next(values)
    return np.sum(first * next(values)) * STEP["scale"]


def _through_reversed_items(x):
    d = {"a": x, "b": 2.0 * x}
    items = reversed(d.items())
    d["a"] = x**3
    total = 0.0
    for _, v in items:
        total = total + np.sum(v) * STEP["scale"]
    return total


def _enumerated_values_then_written(x):
    d = {"a": x, "b": 2.0 * x}
    pairs = enumerate(d.values())  # lazy: reads d["b"] when the loop gets there
    d["b"] = np.sin(x)
    return np.sum(sum(v * (i + STEP["scale"]) for i, v in pairs))


def _zipped_values_then_written(x):
    d = {"a": x, "b": 2.0 * x}
    pairs = zip(d.values(), [1.0, STEP["scale"]], strict=True)
    d["a"] = x**2
    return np.sum(sum(v * w for v, w in pairs))


def _loop_writing_a_later_item(x):
    d = {"a": x, "b": 2.0 * x}
    total = 0.0
    for _, v in d.items():  # Python's loop reads d["b"] after the first step wrote it
        d["b"] = v * 5.0 * STEP["scale"]
        total = total + np.sum(v)
    return total


def _enumerated_loop_writing_a_later_item(x):
    d = {"a": x, "b": 2.0 * x}
    total = 0.0
    for i, v in enumerate(d.values()):
        d["b"] = np.cos(v) * STEP["scale"]
        total = total + np.sum(v) * (i + 1)
    return total


def _mapped_values_in_a_loop_writing_a_later_item(x):
    d = {"a": x, "b": 2.0 * x}
    total = 0.0
    for v in map(lambda t: t * 2.0, d.values()):  # each call made when the loop gets there
        d["b"] = v * 1.5 * STEP["scale"]
        total = total + np.sum(v)
    return total + np.sum(sum(map(np.sin, d.values())))


@pytest.mark.parametrize(
    "f",
    [
        _through_a_dict_iterator,
        _through_reversed_items,
        _enumerated_values_then_written,
        _zipped_values_then_written,
        _loop_writing_a_later_item,
        _enumerated_loop_writing_a_later_item,
        _mapped_values_in_a_loop_writing_a_later_item,
    ],
)
def test_an_iterator_over_a_dict_sees_a_later_write_into_it(f):
    """``iter(d.values())``, ``enumerate``, ``zip`` of a dict's values and a loop over them
    went through a list of the values made when they were called: an item written
    afterwards gave its old value (and gradient), silently (probe AU F0)."""
    _assert_gradients_as_the_step_changes(f, np.array([0.3, -1.2, 0.7]), (1.0, -2.5))


def _next_with_defaults_from_data(x):
    values = iter({"a": x}.values())
    first = next(values, 2.0 * x)
    return np.sum(first * next(values, np.sin(x))) * STEP["scale"]


def test_next_with_a_default_computed_from_data_gives_an_item_or_the_default():
    """It said "'next' has no derivative rule" (probe AU)."""
    _assert_gradients_as_the_step_changes(
        _next_with_defaults_from_data, np.array([0.3, -1.2, 0.7]), (1.0, -2.5)
    )


def test_a_dict_iterator_past_its_end_or_after_the_dict_grew_raises_as_python_does():
    def grown(x):
        d = {"a": x}
        values = iter(d.values())
        d["b"] = x * 2.0
        return np.sum(next(values))

    def past_the_end(x):
        values = iter({"a": x}.values())
        next(values)
        return np.sum(next(values))

    for f, raised in (
        (grown, "RuntimeError: dictionary changed size"),
        (past_the_end, "StopIteration"),
    ):
        with pytest.raises(RuntimeError if f is grown else StopIteration):
            f(np.ones(2))
        with pytest.raises(srcad.SrcadError, match=raised) as error:
            srcad.grad(f)(np.ones(2))
        assert "test_real_python_statements.py" in str(error.value)
        assert "InternalError" not in type(error.value).__name__


def _shifted_counts(x):
    n = 1 << 2  # ints known when compiling: Python's shifts and bit operations
    n >>= 1
    m = (5 ^ 3) | (6 & 3)
    total = 0.0
    for k in range(3):
        total = total + np.sum(x[: (k << 1) + 1]) * STEP["scale"]
    return np.sum(x[:n]) * m + total


def test_bit_shifts_of_ints_known_when_compiling():
    """'1 << 2' was refused as an unsupported operator (probe AT F12)."""
    _assert_gradients_as_the_step_changes(_shifted_counts, np.arange(1.0, 6.0), (1.0, -2.5))


def rows_of_lists(x):
    ys = np.zeros((3, 2))
    for i in range(3):
        ys[i] = [x[0] * i * STEP["scale"], x[1] ** 2]  # a row of computed numbers
    return np.sum(ys**2)


def a_tuple_into_a_slice(x):
    y = x.copy()
    y[:2] = (x[1] * 2.0 * STEP["scale"], 3.0)
    return np.sum(y**2)


def nested_lists_into_a_matrix(x):
    m = np.zeros((2, 2))
    m[:] = [[x[0], STEP["scale"]], [x[1], x[0] * x[1]]]
    return np.sum(m**3)


@pytest.mark.parametrize("fun", [rows_of_lists, a_tuple_into_a_slice, nested_lists_into_a_matrix])
def test_a_list_or_tuple_of_computed_numbers_assigned_into_an_array(fun):
    """'cannot use a builtins.list as an array here', where np.asarray([...]) worked
    (found by a probe): NumPy reads the list as an array."""
    _assert_gradients_as_the_step_changes(fun, np.array([0.4, -0.7, 1.2]), (1.0, 2.0))


def rows_of_zeros_added_to(x):
    m = np.zeros((2, 3))
    for row in m:
        row += x * STEP["scale"]
    return np.sum(m**2)


def first_elements_of_ones_set(x):
    m = np.ones((2, 3))
    for row in m:
        row[0] = x[1] * STEP["scale"]
    return np.sum(m**2 * x)


def rows_of_a_range_copied_into(x):
    m = np.arange(6.0).reshape(2, 3)
    for row in m:
        np.copyto(row, row * x * STEP["scale"])
    return np.sum(m**2)


def rows_filled_by_out(x):
    m = np.zeros((2, 3))
    for k, row in enumerate(m):
        np.multiply(x, STEP["scale"] + k, out=row)
    return np.sum(m**2)


@pytest.mark.parametrize(
    "fun",
    [
        rows_of_zeros_added_to,
        first_elements_of_ones_set,
        rows_of_a_range_copied_into,
        rows_filled_by_out,
    ],
)
def test_writes_through_the_rows_of_an_array_made_of_constants(fun):
    """'writes into an array that M also refers to' for np.zeros, np.ones, np.arange,
    where the same loop over an array computed from the input worked (found by a probe)."""
    _assert_gradients_as_the_step_changes(fun, np.array([0.5, 1.5, 2.0]), (1.0, 2.0))


THRESHOLD = {"t": 0.5}


def shape_chosen_by_a_global_float(x):
    if THRESHOLD["t"] > 1.0:
        y = x
    else:
        y = x[:3]
    return np.sum(y**3) * STEP["scale"]


def shape_chosen_by_an_if_expression(x):
    y = x if THRESHOLD["t"] < 1.0 else x[:3]
    return np.sum(y**3) * STEP["scale"]


@pytest.mark.parametrize("fun", [shape_chosen_by_a_global_float, shape_chosen_by_an_if_expression])
def test_a_branch_on_a_global_float_may_choose_a_shape(fun):
    """Refused ('y has shape (5,) in one branch and (3,) in the other') where the same
    choice written as a count worked: the float is fixed, as for a count (found by a
    probe)."""
    x = np.array([0.4, -0.7, 1.2, 0.3, 0.9])
    for threshold in (0.5, 2.0):
        THRESHOLD["t"] = threshold
        try:
            _assert_gradients_as_the_step_changes(fun, x, (1.0, 2.0))
        finally:
            THRESHOLD["t"] = 0.5
