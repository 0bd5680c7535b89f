"""Bugs found by the differential tester (``srcad.testing``), each as its minimized program."""

from __future__ import annotations

import numpy as np
from source_files import module_from_source

import srcad

HEADER = "import numpy as np\n\n\n"


def _gradient_matches(tmp_path, body: str, *args) -> None:
    f = module_from_source(HEADER + body, tmp_path, "regression").f
    value, grads = srcad.value_and_grad(f, argnums=tuple(range(len(args))))(*args)
    assert np.isclose(value, f(*args))
    expected = srcad.numerical_grad(f, *args, argnums=tuple(range(len(args))))
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_a_def_inside_a_loop_does_not_make_the_loop_return(tmp_path):
    # functions family: the 'return' of a nested def counted as a return from the loop,
    # which was rewritten again and again (RecursionError in lower/jumps.py)
    body = "def f(x):\n    for e in x:\n        def inner(u):\n            return u\n    return np.sum(x)\n"
    _gradient_matches(tmp_path, body, np.array([1.0, -2.0, 0.5]))


def test_a_def_inside_a_loop_reads_the_loop_variable(tmp_path):
    body = (
        "def f(x):\n"
        "    s = 0.0\n"
        "    for e in x:\n"
        "        def inner(u):\n"
        "            return u * e\n"
        "        s = s + inner(np.sin(e))\n"
        "    return s\n"
    )
    _gradient_matches(tmp_path, body, np.array([1.0, -2.0, 0.5]))


def test_a_while_condition_with_and_stops_the_loop_when_false(tmp_path):
    # mutation family: 'while np.power(s, s) and k:' was generated as 'while True:
    # t = ...; if not t ** t and k: break', which does not stop when the test is false
    body = (
        "def f(x):\n"
        "    k = 0\n"
        "    s = 0.0\n"
        "    while np.sum(x) * np.sum(x) > 0.25 and k < 2:\n"
        "        k += 1\n"
        "        s = s + x[k] ** 2\n"
        "    return s\n"
    )
    _gradient_matches(tmp_path, body, np.array([1.0, 2.0, 3.0]))
