"""Newer syntax and small idioms of real code: ``:=`` (bound where Python evaluates it),
``match`` on values (``srcad.frontend.desugar.desugar_matches``), a global set tested with
``in``, ``sorted(params)`` of a dict whose values come from data, and a function of the
standard library run when compiling (``collections.namedtuple`` in the function).

Each gradient is compared with central differences in reverse and forward mode, again after
the global the code tests changed.
"""

from __future__ import annotations

import enum
import textwrap

import numpy as np
import pytest

import srcad

X = np.array([0.7, -0.4, 1.1])


class Mode(enum.Enum):
    SMOOTH = 1
    SHARP = 2
    LINEAR = 3


SETTINGS = {"limit": 1.0, "mode": Mode.SMOOTH, "kind": "relu", "skipped": {1}}


def _agrees_in_every_setting(function, settings):
    kept = dict(SETTINGS)
    try:
        for changed in settings:
            SETTINGS.update(changed)
            expected = srcad.numerical_grad(function, X)
            np.testing.assert_allclose(srcad.grad(function)(X), expected, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(srcad.jacfwd(function)(X), expected, rtol=1e-6, atol=1e-9)
    finally:
        SETTINGS.update(kept)


def assignment_expressions(x):
    if (total := np.sum(x**2)) > SETTINGS["limit"]:
        return total * (top := np.max(x)) + top
    return -total if (first := x[0]) > 0 else first * total


def test_assignment_expressions_bind_where_python_evaluates_them():
    _agrees_in_every_setting(assignment_expressions, [{"limit": 1.0}, {"limit": 10.0}])
    gradient = srcad.grad(assignment_expressions)
    gradient(X)
    assert "total = (x**2).sum()" in srcad.source(gradient)  # the user's names


def grows_until(x):
    y = np.sum(x)
    steps = 0.0
    while (y := y * 1.5 + 0.1) < SETTINGS["limit"] * 4.0:  # assigned before every test
        steps = steps + 1.0
    return y * steps + np.sum(x**2)


def grows_skipping_and_stopping(x):
    y, steps = np.sum(x**2), 0.0
    while (y := y * 2.0) < SETTINGS["limit"] * 40.0 and steps < 20.0:
        steps = steps + 1.0
        if y > SETTINGS["limit"] * 8.0:
            continue  # tests again: y is assigned again
        steps = steps + 0.5
        if y > SETTINGS["limit"] * 30.0:
            break  # no further test: y keeps its value
    return y * steps


def test_an_assignment_in_a_while_condition_happens_before_every_test():
    """The condition is lowered apart from the body: its ':=' was lost (a wrong value, or
    a loop that never ended)."""
    for function in (grows_until, grows_skipping_and_stopping):
        for limit in (1.0, 2.5):
            SETTINGS["limit"] = limit
            assert srcad.value_and_grad(function)(X)[0] == pytest.approx(function(X))
        _agrees_in_every_setting(function, [{"limit": 1.0}, {"limit": 2.5}, {"limit": 0.3}])


def test_an_assignment_a_while_condition_makes_only_sometimes_is_refused():
    def sometimes(x):
        y = x
        while x > 0 and (y := y + x) < 3.0:
            x = x - 1.0
        return y

    with pytest.raises(srcad.UnsupportedSyntax, match=":=") as error:
        srcad.grad(sometimes)(0.5)
    assert error.value.line == sometimes.__code__.co_firstlineno + 2


def matched(x):
    match SETTINGS["mode"]:
        case Mode.SMOOTH | Mode.LINEAR if x.ndim == 1:
            y = np.tanh(x)
        case Mode.SHARP:
            y = np.maximum(x, 0.0) ** 2
        case _:
            y = x
    match SETTINGS["kind"]:
        case "relu":
            match SETTINGS["mode"]:
                case Mode.LINEAR:
                    y = y * 3.0
                case other:
                    y = y + float(other.value)
        case None:
            y = -y
        case name:
            y = y * len(name)
    return np.sum(y**2)


def test_match_on_values_runs_the_case_python_runs():
    settings = [
        {"mode": mode, "kind": kind}
        for mode in Mode
        for kind in ("relu", None, "tanh")  # a capture binds "tanh"
    ]
    _agrees_in_every_setting(matched, settings)


def test_a_pattern_srcad_does_not_take_is_refused_at_its_line(tmp_path):
    from source_files import module_from_source

    source = textwrap.dedent("""
        import numpy as np


        def shaped(x):
            match x.shape:
                case (3,):
                    return np.sum(x)
            return 0.0
        """)
    module = module_from_source(source, tmp_path, "patterns")
    with pytest.raises(srcad.SrcadError, match="pattern .* is not supported") as error:
        srcad.grad(module.shaped)(X)
    assert error.value.line == 7  # the case line


def with_a_set_and_sorted_keys(x):
    parts = {"a": x[0] ** 2, "c": np.sin(x[1]), "b": x[2] * x[0]}
    total = 0.0
    for k, key in enumerate(sorted(parts)):
        if k in SETTINGS["skipped"]:
            continue
        total = total + parts[key] * (k + 1)
    return total


def test_a_set_tested_with_in_is_checked_on_every_call_and_sorted_takes_keys():
    _agrees_in_every_setting(with_a_set_and_sorted_keys, [{}, {"skipped": {0, 2}}])


def with_a_record_made_inside(x):
    import statistics

    weights = [0.5, 2.0, 1.5]
    scale = statistics.fmean(weights) + statistics.median(weights)  # run when compiling
    return np.sum(x**2 * scale)


def ordered_by_known_keys(x):
    terms = [(len(SETTINGS["kind"]), np.sin(x)), (2, x**2), (3, np.cos(x))]
    terms.sort(key=lambda pair: pair[0])  # keys known when compiling: Python orders them
    parts = {"b": np.tanh(x), "a": x * 0.5, "ccc": np.exp(-x)}
    ordered = sorted(parts.items(), key=lambda item: len(item[0]), reverse=True)
    first = max(terms, key=lambda pair: -pair[0])[1]
    return np.sum(terms[0][1] * 2.0 + terms[-1][1]) + np.sum(ordered[0][1] + first)


def test_sort_max_and_min_take_a_key_known_when_compiling():
    """A ``key`` lambda (a local function) crashed ``sorted`` and ``list.sort``."""
    _agrees_in_every_setting(ordered_by_known_keys, [{"kind": "relu"}, {"kind": "x"}])


def test_an_order_by_a_key_computed_from_data_is_refused_with_argsort():
    def by_data(x):
        outs = [x * 1.0, x * 2.0, -x]
        return np.sum(sorted(outs, key=lambda a: a.sum())[0])

    def largest(x):
        return max(range(3), key=lambda k: x[k])

    for function, pick, line in ((by_data, "np.argsort", 2), (largest, "np.argmax", 1)):
        with pytest.raises(srcad.UnsupportedSyntax, match=pick) as error:
            srcad.grad(function)(X)
        assert error.value.line == function.__code__.co_firstlineno + line


def test_a_standard_library_call_of_constants_runs_when_compiling():
    _agrees_in_every_setting(with_a_record_made_inside, [{}])


def folded(x):
    import functools

    running = functools.reduce(lambda acc, v: acc * SETTINGS["limit"] + np.sin(v), x, 0.0)
    return running + functools.reduce(lambda a, b: a * b, [x[0], x[1], 2.0])


def test_functools_reduce_calls_the_function_in_turn():
    _agrees_in_every_setting(folded, [{"limit": 1.0}, {"limit": 0.5}])


def test_a_standard_library_function_srcad_cannot_lower_names_the_users_call():
    import statistics

    def averaged(x):
        return statistics.mean([x[0], x[1]]) * x[2]

    with pytest.raises(
        srcad.NoDerivativeRule, match="calls statistics.mean, which srcad lowers line by line"
    ) as error:
        srcad.grad(averaged)(X)
    assert error.value.file == __file__ and "np.mean" in str(error.value)


def views_written_back(x):
    y = np.outer(x, x) * SETTINGS["limit"]
    y[:, 0] = y[:, 1]  # a view of other elements: no overlap
    y[1] = y[1]  # the same elements, in the same order
    y[:, -1] = y[1].copy()  # a copy
    for j in range(2):
        y[0, j] = y[0, j + 1]  # numbers, not views
    return np.sum(y * np.arange(9.0).reshape(3, 3))


def test_views_written_back_where_numpy_does_not_depend_on_the_order():
    _agrees_in_every_setting(views_written_back, [{"limit": 1.0}, {"limit": 2.0}])


WEIGHT = 2.0


def declared_global(w):
    global WEIGHT  # only read: harmless, as in Python

    def inner(v):
        t = WEIGHT

        def deeper(u):
            nonlocal t  # only read too
            return u * t

        return deeper(v)

    return np.sum(np.sin(inner(w)))


def test_global_and_nonlocal_of_names_only_read_are_accepted_and_read_every_call():
    global WEIGHT
    w = np.array([0.3, -0.9])
    gradient = srcad.grad(declared_global)
    for value in (2.0, -0.5):
        WEIGHT = value
        np.testing.assert_allclose(gradient(w), srcad.numerical_grad(declared_global, w))
    WEIGHT = 2.0


def test_a_global_the_function_assigns_and_reads_is_refused_at_its_line():
    """One it only assigns is written on every call (``test_outside_writes.py``)."""

    def counting(w):
        global CALLS  # assigned and read below
        CALLS = max(CALLS, 1)
        return np.sum(w)

    with pytest.raises(srcad.UnsupportedSyntax, match=r"'global' statement of a name the") as e:
        srcad.grad(counting)(np.ones(2))
    assert e.value.line == counting.__code__.co_firstlineno + 1


def and_or_values(x, lam):
    total = np.sum(np.sin(x))
    first = (lam and total) * 2.0  # lam if lam is 0.0, else total
    second = lam or total * SETTINGS["limit"]  # lam unless it is 0.0
    return first + second


def short_circuits(x, opt=None):
    i = np.argmax(x) + 1
    scale = opt is not None and opt.get("scale", 0.0) > 0.0 and opt["scale"]
    inside = i < x.shape[0] and x[i] > 0.0  # x[i] past the end is never read
    return np.sum(x**2) * (scale or 1.0) if inside else np.sum(x) * (scale or 1.0)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_and_or_give_the_operand_that_decides_and_skip_the_rest(mode):
    transform = srcad.grad if mode == "rev" else srcad.jacfwd
    gradient, kept = transform(and_or_values), dict(SETTINGS)
    try:
        for lam, limit in ((2.5, 1.0), (0.0, 1.0), (-1.0, 1.0), (0.0, 3.0)):  # a global too
            SETTINGS["limit"] = limit
            expected = srcad.numerical_grad(and_or_values, X, lam)
            np.testing.assert_allclose(gradient(X, lam), expected, atol=1e-9)
            value = srcad.value_and_grad(and_or_values)(X, lam)[0]
            assert value == pytest.approx(and_or_values(X, lam))
    finally:
        SETTINGS.update(kept)
    for x in (X, np.array([2.0, 0.5, -1.0]), np.array([0.1, 0.3, 0.2])):
        for opt in (None, {"scale": 2.0}, {"scale": -1.0}, {}):
            expected = srcad.numerical_grad(lambda v, opt=opt: short_circuits(v, opt), x)
            got = transform(short_circuits)(x, opt)
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


# --- data known when compiling, sliced with a loop's counter ------------------------------
CORPUS = [0, 3, 1, 4, 2]  # token ids: a global list the test changes between calls
TAGS = ("ab", "cde", "f")


def cbow_context_windows(E):
    total = 0.0
    for c in range(1, len(CORPUS) - 1):
        context = CORPUS[c - 1 : c + 2]  # the window around token c
        total += np.sum(E[context] ** 2) * E[CORPUS[c], 0]
    return total


def window_over_inline_image(kernel):
    image = np.arange(25.0).reshape(5, 5) ** 0.5  # made in the function: a constant
    out = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            out[i, j] = np.sum(image[i : i + 3, j : j + 3] * kernel)
    return np.sum(out**2)


def pairs_of_an_inline_array(w):
    weights = np.array([1.0, -2.0, 3.0, 0.5, 1.5])
    total = 0.0
    for s in range(3):
        total += np.sum(w * weights[[s, s + 1]]) * np.sum(weights[s::2])
        total += len(TAGS[s][: s + 1]) * np.sum(w * weights[s : s + 2])
    return total


@pytest.mark.slow
@pytest.mark.parametrize(
    "fun, shape",
    [
        (cbow_context_windows, (5, 2)),
        (window_over_inline_image, (3, 3)),
        (pairs_of_an_inline_array, (2,)),
    ],
)
def test_data_known_when_compiling_sliced_with_a_loop_counter(fun, shape):
    """These crashed: the slice's bounds were the loop's counter, which Python's slicing of
    a list or of a constant array cannot take; the loop unrolls instead."""
    x = np.random.default_rng(3).normal(size=shape)
    kept = list(CORPUS)
    try:
        for corpus in (kept, [1, 0, 4, 4, 2], [2, 1, 0, 3, 4, 1, 0]):  # mutated, then longer
            CORPUS[:] = corpus
            expected = srcad.numerical_grad(fun, x)
            np.testing.assert_allclose(srcad.grad(fun)(x), expected, rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(srcad.jacfwd(fun)(x), expected, rtol=1e-6, atol=1e-8)
            assert srcad.value_and_grad(fun)(x)[0] == pytest.approx(fun(x))
    finally:
        CORPUS[:] = kept


def test_slicing_known_data_at_a_position_computed_from_data_is_refused():
    def picks_by_data(x):
        weights = np.array([1.0, 2.0, 3.0, 4.0])
        i = np.argmax(x)
        return np.sum(weights[[i, i + 1]] * x[:2])

    def slices_by_data(x):
        i = np.argmax(x)
        return np.sum(x[CORPUS[i : i + 2]])

    cases = ((picks_by_data, r"np.array\(\[i, j\]\)", 3), (slices_by_data, "np.take", 2))
    for function, message, line in cases:
        with pytest.raises(srcad.UnsupportedSyntax, match=message) as error:
            srcad.grad(function)(X)
        assert error.value.line == function.__code__.co_firstlineno + line
