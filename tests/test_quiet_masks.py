"""Backward and tangent lines that compute values a mask drops run with NumPy's warnings off
(``srcad.codegen.quiet``, ``Eqn.quiet``).

Checked: where the plain function warns of nothing (``np.where(x > 0, np.sqrt(x), 0.0)`` at
0, ``np.arcsin`` at 1 under ``|x| < 1``, a square root read in part), its gradient in either
mode raises nothing under ``-W error`` and ``np.errstate(all="raise")``, agrees with central
differences away from the kinks and is 0 where the mask drops the branch, also on a second
call after the global threshold changed; the numba and array-API variants agree; a further
derivative gives the masked zeros too; an unmasked infinite slope still warns; a branch whose
slopes are constants (leaky ReLU) gets no block. The grouping keeps comments outside a block
unless quiet lines follow them, and the variants' stripping keeps the lines in place.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import srcad
from srcad.codegen.quiet import QUIET_BLOCK, grouped, without_ignoring_blocks, without_quiet_blocks

LIMIT = {"at": 0.0}


def masked_root(x):
    return np.sum(np.where(x > LIMIT["at"], np.sqrt(x - LIMIT["at"]), 0.0) ** 3)


def masked_chain(x):
    shifted = x - LIMIT["at"]
    return np.sum(np.where(shifted > 0, np.sqrt(np.sqrt(shifted)) * 3.0, 0.0))


def masked_arcsin(x):
    return np.sum(np.where(np.abs(x - LIMIT["at"]) < 1.0, np.arcsin(x - LIMIT["at"]), 0.0))


def read_in_part(x):
    return np.sum(np.sqrt(x - LIMIT["at"])[1:] * 2.0)


def leaky(x):
    return np.sum(np.where(x > LIMIT["at"], x, 0.01 * x) ** 2)


def unmasked_root(x):
    return np.sum(np.sqrt(x))


# each function, and points at which a mask drops a branch whose slope is not finite there
# (above the threshold), with the positions of those points
CASES = {
    masked_root: np.array([0.0, 1.0, 4.0, 0.25]),
    masked_chain: np.array([0.0, 1.0, 4.0, 0.25]),
    masked_arcsin: np.array([0.0, 1.0, -1.0, 0.25]),
    read_in_part: np.array([0.0, 1.0, 4.0, 0.25]),
}
DROPPED = {masked_root: [0], masked_chain: [0], masked_arcsin: [1, 2], read_in_part: [0]}


def _strictly(call):
    """``call()`` with every warning an error and every floating-point error raised."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        return call()


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("function", list(CASES), ids=lambda f: f.__name__)
def test_values_a_mask_drops_raise_no_warning_and_the_gradient_is_right(function, mode):
    grad = srcad.grad(function, mode=mode)
    try:
        for at in (0.0, 0.25):  # the second call reads the moved threshold
            LIMIT["at"] = at
            x = CASES[function] + at
            _strictly(lambda x=x: function(x))  # the plain function raises nothing
            got = _strictly(lambda x=x: grad(x))
            dropped = DROPPED[function]
            smooth = np.ones(len(x), bool)
            smooth[dropped] = False  # the kinks: no central difference there
            central = srcad.numerical_grad(function, x)
            np.testing.assert_allclose(got[smooth], central[smooth], rtol=1e-6)
            np.testing.assert_array_equal(got[dropped], 0.0)
    finally:
        LIMIT["at"] = 0.0
    if mode == "reverse":
        assert QUIET_BLOCK in srcad.source(grad)


@pytest.mark.slow
@pytest.mark.parametrize("function", list(CASES), ids=lambda f: f.__name__)
def test_the_numba_and_array_api_variants_agree_without_warnings(function):
    pytest.importorskip("numba")
    xp = pytest.importorskip("array_api_strict")
    from srcad.backends import NumbaFallbackWarning

    x = CASES[function]
    want = srcad.grad(function)(x)
    on_numba = srcad.grad(function, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to the NumPy code warns too
        np.testing.assert_allclose(on_numba(x), want, rtol=1e-12)
        on_array_api = _strictly(lambda: srcad.grad(function)(xp.asarray(x)))
    np.testing.assert_allclose(np.asarray(on_array_api), want, rtol=1e-12)
    assert "errstate" not in srcad.source(on_numba, backend="numba")
    del NumbaFallbackWarning


def test_a_further_derivative_finds_the_masks_again():
    """The hessian lowers the generated gradient: inside its quiet block, the masked lines
    were read by a block, which no mask reaches (jacrev of grad gave NaN at 0)."""
    x = CASES[masked_root]
    expected = np.where(x > 0, 0.75 / np.sqrt(np.where(x > 0, x, 1.0)), 0.0)
    for second in (srcad.hessian, lambda f: srcad.jacrev(srcad.grad(f))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the forward lines: see the note
            hessian = second(masked_root)(x)
        np.testing.assert_allclose(np.diag(hessian), expected, rtol=1e-12)


def test_an_infinite_slope_no_mask_drops_still_warns():
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        got = srcad.grad(unmasked_root)(np.array([0.0, 4.0]))
    assert got[0] == np.inf and got[1] == 0.25


def test_a_branch_with_constant_slopes_gets_no_block():
    grad = srcad.grad(leaky)
    x = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_allclose(grad(x), srcad.numerical_grad(leaky, x), rtol=1e-6)
    assert "errstate" not in srcad.source(grad)


def test_runs_of_quiet_lines_share_a_block_and_comments_stay_outside_one():
    items = [
        (None, "# backward  (line 3: ...)"),
        (False, "dt = g * 2.0"),
        (None, "# line 4: ..."),
        (True, "da = np.where(t, dt / s, 0.0)"),
        (None, "# line 5: ..."),
        (True, "db = np.where(t, da / r, 0.0)"),
        (None, "# line 6: ..."),
        (False, "dx = da + db"),
        (True, "# above\ndy = np.where(t, 1.0 / y, 0.0)"),
    ]
    assert grouped(items) == [
        "# backward  (line 3: ...)",
        "dt = g * 2.0",
        "# line 4: ...",
        QUIET_BLOCK,
        "    da = np.where(t, dt / s, 0.0)",
        "    # line 5: ...",
        "    db = np.where(t, da / r, 0.0)",
        "# line 6: ...",
        "dx = da + db",
        QUIET_BLOCK,
        "    # above\n    dy = np.where(t, 1.0 / y, 0.0)",
    ]


MODULE = f'''import numpy as np


def f_grad_unchecked(x, dout=1.0):
    """docstring"""
    {QUIET_BLOCK}
        dx = np.where(t1, dt / s, 0.0)
        with np.errstate(divide="ignore", over="ignore"):
            dy = 1.0 / x
    with np.errstate(divide="raise"):
        dz = 1.0 / x
    return dx + dy + dz
'''


def test_the_variants_take_the_lines_out_of_blocks_line_for_line():
    numba = without_ignoring_blocks(MODULE, "f_grad_unchecked").splitlines()
    assert len(numba) == len(MODULE.splitlines())
    assert numba[5:11] == [
        "",
        "    dx = np.where(t1, dt / s, 0.0)",
        "",
        "    dy = 1.0 / x",
        '    with np.errstate(divide="raise"):',  # raises: a setting, not silence
        "        dz = 1.0 / x",
    ]
    further = without_quiet_blocks(MODULE).splitlines()  # ours only
    assert further[5:9] == [
        "",
        "    dx = np.where(t1, dt / s, 0.0)",
        '    with np.errstate(divide="ignore", over="ignore"):',
        "        dy = 1.0 / x",
    ]
