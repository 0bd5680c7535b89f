"""Acceptance tests: errors about user code, through the public API only.

Compilation happens on the first call with concrete arguments, so `srcad.grad(f)` must succeed and
the call must raise. Every error names this file and the line of the offending construct; line
numbers are found from the marker comment `# <- here`, never hard-coded.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re

import numpy as np
import pytest

import srcad

THIS_FILE = os.path.basename(__file__)

_scale = 2.0


def line_of_marker(fun):
    """Absolute line number of the single line in `fun`'s source marked `# <- here`."""
    lines, start = inspect.getsourcelines(fun)
    hits = [start + offset for offset, line in enumerate(lines) if "# <- here" in line]
    assert len(hits) == 1, f"{fun.__name__} needs exactly one marker"
    return hits[0]


def advice_of(message):
    """The advice clause: errors read `file:line: what is wrong; what to do instead`."""
    _, _, advice = message.partition("; ")
    return advice


def assert_points_at(error, fun):
    message = str(error)
    line = line_of_marker(fun)
    assert THIS_FILE in message, message
    assert re.search(rf"(?<!\d){line}(?!\d)", message), f"line {line} not in: {message}"


# --- unsupported syntax ----------------------------------------------------------------------


def uses_try(x):
    try:
        y = np.exp(x)
    except FloatingPointError:  # <- here
        y = x
    return np.sum(y)


def uses_with(x):
    with contextlib.suppress(FloatingPointError):  # <- here
        y = np.exp(x)
    return np.sum(y)


def uses_global(x):
    global _scale  # <- here
    _scale = 2.0
    return np.sum(x * _scale)


def uses_yield(x):
    yield np.sum(x)  # <- here


def uses_class(x):
    class Scale:  # <- here
        factor = 2.0

    return np.sum(x * Scale.factor)


def uses_del(x):
    y = x * 2.0
    z = y + 1.0
    if x[0] > 0:  # del in a block (at the top of the body, of a name not read again, is fine)
        del y  # <- here
    return np.sum(z)


def uses_async(x):
    async def helper():  # <- here
        return 1.0

    return np.sum(x)


UNSUPPORTED = [
    (uses_try, "try"),
    (uses_with, "with"),
    (uses_global, "global"),
    (uses_yield, "yield"),
    (uses_class, "class"),
    (uses_del, "del"),
    (uses_async, "async"),
]


@pytest.mark.parametrize(("fun", "keyword"), UNSUPPORTED, ids=[k for _, k in UNSUPPORTED])
def test_unsupported_syntax_is_reported_on_first_call(fun, keyword):
    df = srcad.grad(fun)  # compiling waits for concrete arguments

    with pytest.raises(srcad.UnsupportedSyntax) as info:
        df(0.5)

    assert isinstance(info.value, srcad.SrcadError)
    assert_points_at(info.value, fun)
    message = str(info.value).lower()
    assert keyword in message, f"construct {keyword!r} not quoted in: {message}"
    assert len(advice_of(message).split()) >= 3, f"no advice in: {message}"


def test_error_classes_form_a_hierarchy():
    assert issubclass(srcad.UnsupportedSyntax, srcad.SrcadError)
    assert issubclass(srcad.NoDerivativeRule, srcad.SrcadError)
    assert issubclass(srcad.SrcadError, Exception)


# --- operations without a derivative rule ----------------------------------------------------


def uses_bessel(x):
    y = x * 2.0
    return np.sum(np.i0(y))  # <- here


def test_missing_derivative_rule_names_file_and_line():
    df = srcad.grad(uses_bessel)

    with pytest.raises(srcad.NoDerivativeRule) as info:
        df(np.array([0.5, 1.0, 1.5]))

    assert isinstance(info.value, srcad.SrcadError)
    assert_points_at(info.value, uses_bessel)
    assert "i0" in str(info.value)


# --- misuse of grad ----------------------------------------------------------------------------


def vector_valued(x):
    return x * 2.0


def test_grad_of_non_scalar_output_is_a_type_error():
    with pytest.raises(TypeError) as info:
        srcad.grad(vector_valued)(np.ones((3, 2)))

    message = str(info.value)
    assert "(3, 2)" in message or "(3,2)" in message, message


def a_label(x):
    return "loss"


def nothing(x):
    return None


TRANSFORMATIONS_OF = {
    "grad": lambda f, x: srcad.grad(f)(x),
    "grad forward": lambda f, x: srcad.grad(f, mode="forward")(x),
    "jacrev": lambda f, x: srcad.jacrev(f)(x),
    "jacfwd": lambda f, x: srcad.jacfwd(f)(x),
    "jvp": lambda f, x: srcad.jvp(f, (x,), (x,)),
    "vjp": lambda f, x: srcad.vjp(f, x),
}


@pytest.mark.parametrize("transformation", TRANSFORMATIONS_OF)
@pytest.mark.parametrize(("function", "described"), [(a_label, "text"), (nothing, "None")])
def test_a_function_returning_no_number_is_refused_saying_what_it_returned(
    function, described, transformation
):
    """Forward mode returned ``array([None, None, None])`` from jacfwd, ``('loss', None)``
    from jvp, and grad(mode="forward") failed inside float()."""
    with pytest.raises(TypeError, match=f"to return floats, but it returned {described}") as error:
        TRANSFORMATIONS_OF[transformation](function, np.ones(3))
    assert error.value.line == function.__code__.co_firstlineno + 1


def scaled_sum(x, n):
    return np.sum(x * n)


@pytest.mark.parametrize("n", [3, np.array([1, 2, 3])], ids=["python-int", "int-array"])
def test_differentiating_an_int_argument_is_a_type_error(n):
    with pytest.raises(TypeError, match="int"):
        srcad.grad(scaled_sum, argnums=1)(np.ones(3), n)


def test_int_argument_not_in_argnums_is_a_constant():
    dx = srcad.grad(scaled_sum)(np.array([1.0, 2.0]), 3)
    np.testing.assert_allclose(dx, [3.0, 3.0])


def padded_with_maxima(A):
    return np.sum(np.pad(A, 1, mode="maximum") ** 2)


def test_a_rule_that_does_not_cover_a_case_names_the_line():
    with pytest.raises(srcad.errors.NoDerivativeRule, match=r"test_errors.py:\d+: .*'maximum'"):
        srcad.grad(padded_with_maxima)(np.eye(3))


def test_a_sparse_matrix_from_outside_is_refused_with_what_to_write():
    sparse = pytest.importorskip("scipy.sparse")
    laplacian = sparse.diags([np.ones(3), -2 * np.ones(4), np.ones(3)], [-1, 0, 1], format="csr")

    def energy(u):
        return -0.5 * u @ (laplacian @ u)

    def scaled(u):
        return np.sum((0.1 * laplacian) @ u)

    def made_inside(u):  # its own __matmul__ ran on srcad's values: an InternalError
        operator = sparse.diags([np.ones(3), -2 * np.ones(4), np.ones(3)], [-1, 0, 1])
        return -0.5 * u @ (operator @ u)

    def made_dense_inside(u):  # the advice, followed
        operator = sparse.diags([np.ones(3), -2 * np.ones(4), np.ones(3)], [-1, 0, 1])
        return -0.5 * u @ (operator.toarray() @ u)

    u = np.linspace(0.0, 1.0, 4)
    for function in (energy, scaled, made_inside):
        kind = r"dia_matrix" if function is made_inside else r"csr_matrix \(laplacian\)"
        with pytest.raises(srcad.SrcadError, match=kind + ".*toarray") as error:
            srcad.grad(function)(u)
        assert "plain function raises" not in str(error.value)
        assert os.path.basename(error.value.file) == "test_errors.py"
    np.testing.assert_allclose(
        srcad.grad(made_dense_inside)(u),
        srcad.numerical_grad(made_dense_inside, u),
        rtol=1e-6,
        atol=1e-9,
    )


def test_an_int_array_inside_a_differentiated_tree_is_named_by_its_path():
    def powered(params):
        return np.sum(params["w"] ** params["k"])

    with pytest.raises(TypeError, match=r"dtype int64 at params\['k'\]"):
        srcad.grad(powered)({"w": np.ones(2), "k": np.array([3, 2])})


@pytest.mark.parametrize(
    ("fun", "message"),
    [
        (len, "not the builtin len"),
        (max, "not the builtin max"),  # no signature: inspect raised its own ValueError
        (functools.reduce, "not the builtin reduce"),
        (3, "pass the function itself"),  # inspect's '3 is not a callable object'
    ],
    ids=["len", "max", "reduce", "an int"],
)
def test_what_is_no_python_function_is_refused_saying_what_to_pass(fun, message):
    with pytest.raises(TypeError, match=message):
        srcad.grad(fun)(np.ones(3))


async def awaited_loss(x):
    return np.sum(x**2)


def loss_from_a_file(x):
    with open(__file__) as handle:
        scale = float(len(handle.readline()))
    return scale * np.sum(x)


def reshaped_in_place(x):
    y = x.copy()
    y.shape = (3, 1)
    return np.sum(y**2)


@pytest.mark.parametrize(
    ("fun", "message"),
    [
        (awaited_loss, "is a coroutine function .async def."),  # 'cannot find the definition'
        (reshaped_in_place, "changes the array in place"),  # 'an object passed in'
        (loss_from_a_file, "it reads a file"),  # the advice was 'write with open(...): without as'
    ],
    ids=["async def", "with open as", "shape set"],
)
def test_refusals_say_what_the_construct_is_and_what_to_do(fun, message):
    with pytest.raises(srcad.UnsupportedSyntax, match=message) as error:
        srcad.grad(fun)(np.ones(3))
    assert error.value.file == __file__


def scaled_by_digits(x):
    text = str(np.sum(x))
    return np.sum(x) * len(text)  # <- here


def test_the_length_of_text_formatted_from_data_is_refused_saying_why():
    """It said 'len() of a 0-d value', of a str."""
    with pytest.raises(srcad.SrcadError, match="text formatted from data") as error:
        srcad.grad(scaled_by_digits)(np.ones(3))
    assert error.value.line == scaled_by_digits.__code__.co_firstlineno + 2


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_of_a_vector_is_refused_in_either_mode(mode):
    """Forward mode gave the gradient of the sum of the vector, silently."""
    with pytest.raises(TypeError, match=r"scalar float .* shape \(3, 2\)"):
        srcad.grad(vector_valued, mode=mode)(np.ones((3, 2)))


def test_grad_of_a_numpy_function_of_a_vector_names_no_file_of_srcads():
    """The message was located in srcad's generated wrapper of np.sqrt, a cache file."""
    with pytest.raises(TypeError, match="^grad requires sqrt to return a scalar") as error:
        srcad.grad(np.sqrt)(np.ones(3))
    assert error.value.file is None


TEMPERATURE = 0.5


def branch_on_formatted_text(x):
    if f"{TEMPERATURE:.1f}" == "0.5":
        return np.sum(x**2)
    return np.sum(x)


def test_text_formatted_from_a_value_read_on_every_call_says_to_compare_numbers():
    """It said 'cannot use a builtins.str as an array here'."""
    with pytest.raises(srcad.SrcadError, match="cannot compute with the text '0.5'") as error:
        srcad.grad(branch_on_formatted_text)(np.ones(2))
    assert "compare or compute with the number itself" in str(error.value)
    assert error.value.line == branch_on_formatted_text.__code__.co_firstlineno + 1


def _index_past_the_end(x):
    return np.sum(x[5])  # <- here


def _reshaped_wrongly(x):
    return np.sum(x.reshape(4, 4))  # <- here


def _integer_division_by_zero(x):
    return np.sum(x) * (10 // 0)  # <- here


def _inverse_of_a_singular_matrix(x):
    return np.sum(np.linalg.inv(np.zeros((2, 2))) @ x[:2])  # <- here


class _Settings:
    scale = 2.0


_SETTINGS = _Settings()


def _missing_attribute(x):
    return np.sum(x) * _SETTINGS.missing  # <- here


def _too_many_arguments(x):
    return (lambda a, b: a)(*x)  # <- here


def _unpacked_into_too_few(x):
    a, b = x, x, x  # <- here
    return np.sum(a * b)


def _missing_array_attribute(x):
    return np.sum(x.nonexistent)  # <- here


def _text_added(x):
    return np.sum(x) + "a"  # <- here


def _popped_from_an_empty_dict(x):
    return np.sum(x) * {}.pop("z")  # <- here


def _index_of_a_missing_item(x):
    return np.sum(x) * [1.0, 2.0].index(3.0)  # <- here


@pytest.mark.parametrize(
    ("fun", "raised"),
    [
        (_popped_from_an_empty_dict, KeyError),
        (_index_of_a_missing_item, ValueError),
        (_text_added, TypeError),
        (_unpacked_into_too_few, ValueError),
        (_missing_array_attribute, AttributeError),
        (_missing_attribute, AttributeError),
        (_too_many_arguments, TypeError),
        (_index_past_the_end, IndexError),
        (_reshaped_wrongly, ValueError),
        (_integer_division_by_zero, ZeroDivisionError),
        (_inverse_of_a_singular_matrix, np.linalg.LinAlgError),
    ],
)
def test_what_the_plain_function_raises_found_when_compiling_is_also_of_its_class(fun, raised):
    """They came as SrcadError only: the user's ``except IndexError`` around the call no
    longer caught them (probe AT F2)."""
    with pytest.raises(raised):
        fun(np.ones(3))
    with pytest.raises(raised) as error:
        srcad.grad(fun)(np.ones(3))
    assert isinstance(error.value, srcad.SrcadError)
    assert f"{THIS_FILE}:{line_of_marker(fun)}:" in str(error.value)


def test_the_errors_of_the_plain_functions_classes_pickle_with_their_place():
    """SrcadIndexError and the others could not be pickled (a worker's error sent back to
    its caller; probe AV F7); SrcadError lost its file and line."""
    import pickle

    with pytest.raises(IndexError) as error:
        srcad.grad(_index_past_the_end)(np.ones(3))
    again = pickle.loads(pickle.dumps(error.value))
    assert type(again) is type(error.value) and isinstance(again, IndexError)
    assert (again.file, again.line, str(again)) == (
        error.value.file,
        error.value.line,
        str(error.value),
    )
    with pytest.raises(KeyError) as missing:  # a KeyError's text, not quoted
        raise srcad.errors.raised_as(KeyError)("no key 'b'", "f.py", 3)
    assert str(missing.value) == "f.py:3: no key 'b'"
    # a class made on its first use (NumPy's AxisError takes an axis: made as a ValueError)
    axis_error = srcad.errors.raised_as(np.exceptions.AxisError)("axis 2", "f.py", 4)
    again = pickle.loads(pickle.dumps(axis_error))
    assert type(again) is type(axis_error) and str(again) == "f.py:4: axis 2"
    assert isinstance(again, ValueError)


def shapes_by_an_if_expression(x):
    y = x if x[0] < 1.0 else x[:3]
    return np.sum(y**2)


def test_an_if_expression_of_two_shapes_is_named_by_its_text():
    """The message named 't', a name of srcad's (found by a probe)."""
    with pytest.raises(srcad.SrcadError, match=r"the value of 'x if x\[0\] < 1.0 else x\[:3\]'"):
        srcad.grad(shapes_by_an_if_expression)(np.array([0.4, -0.7, 1.2, 0.3, 0.9]))


def summed_along(x, k):
    return np.sum(x.reshape(2, 3).sum(axis=k) ** 2)


def differenced(x, k):
    return np.sum(np.diff(x, n=k) ** 2)


def largest_along(x, k):
    return np.sum(np.max(x.reshape(2, 3), axis=k) ** 2)


@pytest.mark.parametrize("fun", [summed_along, differenced, largest_along])
def test_an_axis_or_count_from_a_numpy_int_argument_must_be_known_when_compiling(fun):
    """An internal RecursionError (np.sum, np.diff: their composed forms, for where=, called
    themselves), or 'np.max with where= needs initial=' for a call without where= (found
    by a probe)."""
    x = np.array([0.5, -1.5, 2.0, 0.7, 1.1, -0.3])
    with pytest.raises(
        srcad.UnsupportedSyntax, match="must be known when the function is compiled"
    ):
        srcad.grad(fun)(x, np.int64(1))


class Timed(contextlib.ContextDecorator):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@Timed()
def timed_helper(x):
    return np.sum(x**2)


def through_a_context_decorator(x):
    return timed_helper(x) * 2.0


def test_a_refusal_in_library_code_srcad_follows_names_the_users_call():
    """It named contextlib.py:80 as the place (found by a probe)."""
    with pytest.raises(srcad.UnsupportedSyntax, match=r"in contextlib.py:\d+, library code") as err:
        srcad.grad(through_a_context_decorator)(np.array([1.0, 2.0]))
    assert err.value.file == __file__
    assert err.value.line == through_a_context_decorator.__code__.co_firstlineno + 1


PIECE_SCALE = 2.0


def pieces_of_constants(x):
    grid = np.arange(3.0)
    w = np.piecewise(grid, [grid > 0.5], [lambda t: t * PIECE_SCALE, 0.0])
    return np.sum(w * x)


def test_a_piecewise_of_constants_with_a_lambda_piece_says_what_to_write():
    """It said the plain function raises TypeError here too, which it does not (found by a
    probe)."""
    assert pieces_of_constants(np.ones(3)) == 6.0  # the plain function runs
    with pytest.raises(srcad.UnsupportedSyntax, match="np.select"):
        srcad.grad(pieces_of_constants)(np.ones(3))
