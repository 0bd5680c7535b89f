"""Errors the lowering raises on paths the acceptance tests do not reach: each names the
user's file and line."""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

import srcad


def _grows_too_often(x):
    y = x
    for _ in range(10_001):  # <- here
        y = np.concatenate([y, x])
    return np.sum(y)


def test_a_loop_too_long_to_unroll_is_reported_at_its_line():
    lines, start = inspect.getsourcelines(_grows_too_often)
    line = start + next(k for k, text in enumerate(lines) if "# <- here" in text)
    with pytest.raises(srcad.SrcadError) as caught:
        srcad.grad(_grows_too_often)(np.ones(1))
    assert str(caught.value).startswith(f"{__file__}:{line}: this loop changes the shape")
    assert os.path.basename(caught.value.file) == "test_lower_errors.py"
