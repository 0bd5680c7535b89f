"""Generators run when they are consumed, as Python runs them (``srcad.lower.generators``):
a generator expression bound to a name reads the names it uses when it is consumed; a
generator function's body (a nested one's too) and ``map``'s calls run when their items are
asked for. Each case's value and gradient against the plain function and central
differences, in reverse and forward mode; the uses srcad cannot follow (a second pass over
a generator, a map or a zip, a loop and its generator that see each other's changes, an
array written into before the generator holding it runs) are refused at their line.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad

X = np.array([0.5, -1.5, 2.0])


SETTINGS = {"factor": 3.0}


def rebound_before_use(x):
    scale = 1.0
    scaled = (v * scale for v in x)
    scale = x[0] * SETTINGS["factor"]
    return sum(scaled)


def batches(values, settings):
    for start in range(0, len(values), 2):
        yield values[start : start + 2] * settings["weight"]


def container_changed_before_use(x):
    settings = {"weight": 1.0}
    parts = batches(x, settings)
    settings["weight"] = x[1]
    return sum(np.sum(part**2) for part in parts)


def consumed_by_a_helper(x):
    squares = (v**2 for v in x)
    return total_of(squares) + np.sum(np.stack(list(v for v in x)) * x)


def total_of(items):
    total = 0.0
    for item in items:
        total = total + np.sin(item)
    return total


def zipped_and_unpacked(x):
    first, second, third = (np.tanh(v) for v in x)
    pairs = zip((v * 2.0 for v in x), x, strict=True)
    return first * second + third + sum(a * b for a, b in pairs)


def local_generator_run_when_consumed(x):
    k = [1.0]

    def scaled():
        for v in x:
            yield v * k[0]

    items = scaled()
    k[0] = x[1] * SETTINGS["factor"]  # before the first item: Python's items use it
    return sum(items)


def map_run_when_consumed(x):
    scale = 1.0
    terms = map(lambda v: v * scale, x)
    scale = SETTINGS["factor"]  # Python's map calls the lambda when consumed
    pair = [x[0], x[1]]
    doubled = map(lambda v: v * 2.0, pair)
    pair[0] = x[2] ** 2  # the map goes through the list when consumed
    return sum(terms) + sum(doubled)


def loop_over_a_generator_that_sees_no_change(x):
    scale = SETTINGS["factor"]
    total = 0.0
    for item in (v * scale for v in x):
        total = total + item * item
    scale = 0.0  # after the loop: nothing left to read it
    return total + scale


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    "function",
    [
        rebound_before_use,
        container_changed_before_use,
        consumed_by_a_helper,
        zipped_and_unpacked,
        local_generator_run_when_consumed,
        map_run_when_consumed,
        loop_over_a_generator_that_sees_no_change,
    ],
    ids=lambda f: f.__name__,
)
def test_a_generator_runs_when_it_is_consumed(function):
    transformed, forward = srcad.value_and_grad(function), srcad.jacfwd(function)
    try:
        for factor in (3.0, -0.5):  # the second call after the global changed
            SETTINGS["factor"] = factor
            value, gradient = transformed(X)
            assert np.isclose(value, function(X), rtol=1e-12)
            expected = srcad.numerical_grad(function, X)
            np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(forward(X), expected, rtol=1e-6, atol=1e-9)
    finally:
        SETTINGS["factor"] = 3.0


def consumed_twice(x):
    squares = (v**2 for v in x)
    return sum(squares) + sum(squares)  # the plain function adds 0 the second time


def loop_changes_what_it_reads(x):
    scale = 1.0
    total = 0.0
    for item in (v * scale for v in x):
        scale = scale * 2.0
        total = total + item
    return total


def loop_changes_a_list_its_generator_reads(x):
    k = [1.0]

    def scaled():
        for v in x:
            yield v * k[0]

    total = 0.0
    for item in scaled():
        total = total + item
        k[0] = 3.0  # Python's later items use 3
    return total


def generator_changes_a_list_the_loop_reads(x):
    log = []

    def logged():
        for v in x:
            log.append(v)
            yield v

    total = 0.0
    for item in logged():
        total = total + item * len(log)  # Python: 1, 2, 3
    return total


def both_print(x):
    def shown():
        for v in x:
            print("made", v)
            yield v

    total = 0.0
    for item in shown():
        print("used", item)
        total = total + item
    return total


def written_before_it_runs(x):
    y = x.copy()
    squares = (v**2 for v in y)
    y[0] = 3.0 * x[2]  # Python's generator sees the new y[0]
    return sum(squares)


def map_consumed_twice(x):
    m = map(np.sin, x)
    return sum(m) + sum(m)  # Python's second sum is 0


def zip_consumed_twice(x):
    pairs = zip(x, x[1:], strict=False)
    first = [a * b for a, b in pairs]
    return sum(first) + sum(a + b for a, b in pairs)  # Python's second pass is empty


@pytest.mark.parametrize(
    "function, refused",
    [
        (consumed_twice, "consumed a second time"),
        (loop_changes_what_it_reads, "reads 'scale' as it goes, which the loop changes"),
        (loop_changes_a_list_its_generator_reads, "reads 'k' as it goes, which the loop chang"),
        (generator_changes_a_list_the_loop_reads, "changes 'log', which the loop reads"),
        (both_print, "prints, logs or draws as it goes, and so does the loop"),
        (written_before_it_runs, "writes into an array that 'squares' also refers to"),
        (map_consumed_twice, r"'map\(np.sin, x\)' is consumed a second time"),
        (zip_consumed_twice, r"'zip\(x, x\[1:\], strict=False\)' is consumed a second"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_what_srcad_cannot_follow_is_refused(function, refused):
    with pytest.raises(srcad.SrcadError, match=refused) as error:
        srcad.grad(function)(X)
    assert error.value.file == __file__
