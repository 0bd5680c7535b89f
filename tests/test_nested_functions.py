"""Functions defined inside the differentiated one see the enclosing names as Python binds
them: when they are called, not when the ``def`` ran (late binding), through every
enclosing function (``srcad.lower.context.EnclosingNames``).

Each case gives its value and gradient against the plain function and central differences,
in reverse and forward mode, again after the global it reads changed: a closure over a
variable rebound in a kept loop, in an unrolled loop, in a branch on data; a ``def`` two
levels down reading the outer function's local where a global has the same name.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad

X = np.array([0.7, -1.3, 0.4])
GROWTH = {"rate": 2.0}
scale = 100.0  # a global of the same name as the locals below: never the one read


def rebound_in_a_loop(x):
    scale = 1.0

    def step(v):
        return np.sin(v) * scale

    for _ in range(3):
        scale = scale * GROWTH["rate"]
        x = step(x)
    return np.sum(x)


def rebound_from_data_in_an_unrolled_loop(x):
    scale = x[0]
    apply = lambda v: v * scale  # noqa: E731 - a lambda bound to a name, as people write
    parts = []
    for k in range(2):
        scale = scale * GROWTH["rate"] + x[k]
        parts.append(apply(x))
    return np.sum(np.stack(parts) ** 2)


def rebound_in_a_branch_on_data(x):
    scale = x[0]

    def shifted(v):
        return v * scale + scale

    if x[1] > 0.0:
        scale = scale * GROWTH["rate"]
    else:
        scale = scale - GROWTH["rate"]
    return np.sum(shifted(x) ** 2)


def two_levels_down(x):
    scale = GROWTH["rate"]

    def outer(v):
        def inner(w):
            return np.tanh(w) * scale

        return inner(v) + v

    return np.sum(outer(x) ** 2)


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    "function",
    [
        rebound_in_a_loop,
        rebound_from_data_in_an_unrolled_loop,
        rebound_in_a_branch_on_data,
        two_levels_down,
    ],
    ids=lambda f: f.__name__,
)
def test_a_nested_function_reads_the_names_as_python_binds_them(function):
    kept = GROWTH["rate"]
    try:
        for rate in (kept, 0.5):
            GROWTH["rate"] = rate
            for x in (X, -X):  # both branches of the one on data
                value, gradient = srcad.value_and_grad(function)(x)
                assert np.isclose(value, function(x), rtol=1e-12)
                expected = srcad.numerical_grad(function, x)
                np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-9)
                np.testing.assert_allclose(srcad.jacfwd(function)(x), expected, rtol=1e-6)
    finally:
        GROWTH["rate"] = kept
