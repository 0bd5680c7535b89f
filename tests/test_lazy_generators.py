"""Generators run when they are consumed, as Python runs them (``srcad.lower.generators``):
a generator expression bound to a name reads the names it uses when it is consumed; a
generator function's body runs when its items are asked for. Each case's value and gradient
against the plain function and central differences, in reverse and forward mode; the uses
srcad cannot follow (a second pass over a generator, a loop that changes what its generator
reads) are refused at their line.
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


@pytest.mark.parametrize(
    "function",
    [rebound_before_use, container_changed_before_use, consumed_by_a_helper, zipped_and_unpacked],
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


@pytest.mark.parametrize(
    "function, refused",
    [
        (consumed_twice, "consumed a second time"),
        (loop_changes_what_it_reads, "rebinds 'scale', which the generator reads"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_what_srcad_cannot_follow_is_refused(function, refused):
    with pytest.raises(srcad.SrcadError, match=refused) as error:
        srcad.grad(function)(X)
    assert error.value.file == __file__
