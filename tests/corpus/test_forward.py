"""Forward mode against reverse mode on the whole corpus: the same gradient to 1e-10.

Forward mode runs one tangent pass per input element, through the same graph; it shares no
derivative rule with reverse mode (JVP rules against VJP rules), so agreement checks both.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad
from corpus.test_corpus import ALL_CASES, KNOWN_FAILURES

# Hundreds of cases (the whole corpus in forward mode): the full suite runs them; the fast
# loop (-m "not slow") leaves them out.
pytestmark = pytest.mark.slow


def _params() -> list:
    return [
        pytest.param(*case, id=case_id)
        for _, case_id, case in ALL_CASES
        if case_id not in KNOWN_FAILURES
    ]


@pytest.mark.parametrize(("fun", "make_args", "argnums"), _params())
def test_forward_mode_agrees_with_reverse_mode(fun, make_args, argnums):
    args = make_args(np.random.default_rng(0))
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    reverse = srcad.grad(fun, argnums=numbers)(*args)
    forward = srcad.grad(fun, argnums=numbers, mode="forward")(*args)
    reverse_leaves = [np.asarray(leaf) for g in reverse for leaf in _leaves(g)]
    forward_leaves = [np.asarray(leaf) for g in forward for leaf in _leaves(g)]
    assert len(reverse_leaves) == len(forward_leaves)
    for r, f in zip(reverse_leaves, forward_leaves, strict=True):
        scale = max(1.0, float(np.max(np.abs(r), initial=0.0)))
        np.testing.assert_allclose(f, r, rtol=1e-10, atol=1e-10 * scale)


def _leaves(tree: object) -> list:
    if isinstance(tree, dict):
        return [leaf for value in tree.values() for leaf in _leaves(value)]
    if isinstance(tree, (tuple, list)):
        return [leaf for value in tree for leaf in _leaves(value)]
    return [tree]
