"""The liveness check of generated names (``srcad.codegen.liveness``): the net under the
naming rules. With the naming rules that keep a loop's or a branch's value from taking a
name too early switched off, the check alone must still give correct code."""

from __future__ import annotations

import numpy as np
import pytest
from source_files import module_from_source

import srcad
from srcad.codegen import grouping
from srcad.codegen import names as names_module

PROGRAMS = {
    "elif_in_loop": (
        "def f(x):\n"
        "    acc = 0.0\n"
        "    for v in x:\n"
        "        if v > 1.0:\n"
        "            acc = acc + np.log(v)\n"
        "        elif v > 0.0:\n"
        "            acc = acc + v**3\n"
        "        else:\n"
        "            acc = acc * 0.9 + v\n"
        "    return acc\n",
        (np.array([1.5, 0.4, -0.3, 2.2, 0.7, -1.1]),),
    ),
    "branch_in_while": (
        "def f(x):\n"
        "    y = x * 1.0\n"
        "    k = 0\n"
        "    while k < 4:\n"
        "        if np.sum(y * y) > 4.0:\n"
        "            y = 0.5 * y\n"
        "        else:\n"
        "            y = y + np.sin(y)\n"
        "        k += 1\n"
        "    return np.sum(y * y)\n",
        (np.array([0.9, -1.3, 2.1]),),
    ),
    "rows_written_in_loop": (
        "def f(x1, x2):\n"
        "    for i0 in range(1, len(x1)):\n"
        "        x1[1] = x2\n"
        "        x1[[False, False]] *= 1.0\n"
        "    return np.mean(x1) * x2\n",
        (np.array([-1.477, -0.448]), 0.405),
    ),
}


@pytest.fixture
def without_naming_rules(monkeypatch):
    """Switch off the rules that keep values of one name apart; only the check is left."""
    monkeypatch.setattr(grouping, "_overwrites_live", lambda names, var, member: False)
    monkeypatch.setattr(grouping, "_after_last_read", lambda program, variable, result: True)
    monkeypatch.setattr(
        names_module.NameAllocator, "_group_takes_name_while_read", lambda self, b, r, p: False
    )
    monkeypatch.setenv("SRCAD_CACHE_REUSE", "0")


def _fresh(args):
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_check_alone_keeps_gradients_right(tmp_path, without_naming_rules, name):
    body, args = PROGRAMS[name]
    f = module_from_source("import numpy as np\n\n\n" + body, tmp_path, name).f
    argnums = tuple(range(len(args)))
    value, grads = srcad.value_and_grad(f, argnums=argnums)(*_fresh(args))
    assert np.isclose(value, f(*_fresh(args)))
    expected = srcad.numerical_grad(lambda *a: f(*_fresh(a)), *args, argnums=argnums)
    for got, want in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
