"""One empty list per loop tape in the numba variant (``srcad.backends.numba_tapes``).

Checked: on text, a ``tape = []`` made again while the list made before it is still empty
and untouched becomes a ``pass`` (in a branch, in a nested branch), and one is kept where
the list may no longer be empty or is held elsewhere (a loop that fills it, an append, an
alias, a read in a condition); compiled, a loop inside a branch inside a ``while`` loop
(which numba could not type before) runs on numba without falling back and agrees with the
NumPy backend and with central differences, also on a second call after a global it reads
changed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad
from srcad.backends.numba_tapes import one_list_per_tape

BODY = '''
def f_grad_unchecked(x, dout=1.0):
    """Docstring."""
    tape = []
    while k < 3:
        tape_1 = []
        if t1:
            {between}
            if t2:
                tape_1 = []
                for i in range(3):
                    tape_1.append(t4)
        tape.append((t1, tape_1))
    return out
'''


def _lines(between: str = "pass") -> list[str]:
    source = one_list_per_tape(BODY.format(between=between), "f_grad_unchecked")
    assert len(source.splitlines()) == len(BODY.splitlines())
    return [line.strip() for line in source.splitlines()]


def test_a_tape_made_again_while_still_empty_is_the_same_list():
    lines = _lines("tape_1 = []")
    assert lines.count("pass  # tape_1: still the empty list made above") == 2
    assert lines.count("tape_1 = []") == 1 and lines.count("tape = []") == 1


@pytest.mark.parametrize(
    "between",
    [
        "tape_1.append(t3)",  # no longer empty
        "other = tape_1",  # held under another name
        "t2 = len(tape_1) == 0",  # read
    ],
)
def test_a_tape_touched_in_between_is_made_again(between):
    lines = _lines(between)
    assert lines.count("tape_1 = []") == 2
    assert not any(line.startswith("pass  #") for line in lines)


def test_a_loop_that_fills_the_list_starts_each_trip_with_a_new_one():
    source = BODY.format(between="pass").replace(
        "    tape = []\n", "    tape_1 = []\n    tape = []\n"
    )
    lines = [line.strip() for line in one_list_per_tape(source, "f_grad_unchecked").splitlines()]
    assert lines.count("tape_1 = []") == 2  # before the while loop, and at each trip's start


SETTINGS = {"scale": 1.0}


def branch_in_while(x):
    """A loop inside a branch inside a while loop whose trips depend on the data."""
    k = 0
    total = 0.0
    while k < 4 and total < 2.0:
        k += 1
        if np.sum(x) * SETTINGS["scale"] > -5.0:
            for e in x:
                total = total + np.sin(e * k) * SETTINGS["scale"]
    return total


@pytest.mark.slow
def test_a_loop_in_a_branch_in_a_while_loop_compiles_and_agrees():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    x = np.array([0.3, -0.2, 0.5])
    compiled = srcad.grad(branch_in_while, backend="numba")
    for scale in (1.0, 0.4):  # the second call reads the changed global: more trips
        SETTINGS["scale"] = scale
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", NumbaFallbackWarning)
                got = compiled(x)
            want = srcad.grad(branch_in_while)(x)
            numeric = srcad.numerical_grad(branch_in_while, x)
        finally:
            SETTINGS["scale"] = 1.0
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)
    assert "still the empty list made above" in srcad.source(compiled, backend="numba")
