"""``srcad.graph`` draws a valid DOT picture (forward and backward) of every corpus function."""

from __future__ import annotations

import numpy as np
import pytest
from test_viz import check_dot

import srcad
from corpus.test_corpus import ALL_CASES

# Hundreds of cases (the whole corpus as pictures): the full suite runs them; the fast
# loop (-m "not slow") leaves them out.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("fun", "make_args", "argnums"),
    [pytest.param(*case, id=case_id) for _, case_id, case in ALL_CASES],
)
def test_graph_writes_valid_dot(fun, make_args, argnums):
    args = make_args(np.random.default_rng(0))
    picture = srcad.graph(fun, *args, argnums=argnums, backward=True)
    check_dot(picture.to_dot())
