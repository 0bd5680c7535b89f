"""Every construct srcad still rejects fails when compiling, at the right line, with
``UnsupportedSyntax`` (an ``SrcadError``) that says what to do instead: never an internal
traceback and never a wrong gradient. Lines are found from ``# <- here`` markers."""

from __future__ import annotations

import contextlib
import inspect
import os
import re

import numpy as np
import pytest

import srcad

THIS_FILE = os.path.basename(__file__)


def walrus(x):
    if x[0] > 0 and (y := np.sum(x)) > 0:  # <- here (bound only where 'and' goes on)
        return y
    return -np.sum(x)


def match_statement(x):
    match x.shape:
        case (3,):  # <- here (a sequence pattern)
            return np.sum(x)
    return 0.0


def overlapping_view(x):
    y = np.outer(x, x)
    y[:, -1] = y[1]  # <- here (NumPy copies element by element: order-dependent)
    return np.sum(y)


def set_of_data(x):
    values = {np.sum(x), np.max(x)}  # <- here
    return np.sum(x) * len(values)


def bare_raise(x):
    if np.sum(x) > 0:
        raise  # <- here
    return np.sum(x)


def raise_from_error(x):
    error = KeyError("x")
    raise ValueError("no") from error  # <- here


def with_suppress(x):
    with contextlib.suppress(FloatingPointError):  # <- here
        y = np.exp(x)
    return np.sum(y)


def with_as(x):
    with np.errstate(all="ignore") as state:  # <- here  # noqa: F841
        y = np.log(x)
    return np.sum(y)


def with_early_return(x):
    with np.errstate(all="ignore"):  # <- here
        if np.sum(x) > 0:
            return np.sum(x)
        y = x * 2.0
    return np.sum(y)


def data_mask(x):
    return np.sum(np.sort(x[x > 0.0]))  # <- here: sorting needs the selection's length


def float_index(x):
    return x[1.0]  # <- here


def nonlocal_statement(x):
    total = 0.0

    def add(v):
        nonlocal total  # <- here
        total = total + v

    add(x)
    return total


CASES = [
    walrus,
    match_statement,
    data_mask,
    float_index,
    nonlocal_statement,
    overlapping_view,
    set_of_data,
    bare_raise,
    raise_from_error,
    with_suppress,
    with_as,
    with_early_return,
]


def _marker_line(fun):
    lines, start = inspect.getsourcelines(fun)
    hits = [start + i for i, line in enumerate(lines) if "# <- here" in line]
    assert len(hits) == 1
    return hits[0]


@pytest.mark.parametrize("fun", CASES, ids=lambda f: f.__name__)
def test_rejected_construct_points_at_its_line_and_says_what_to_do(fun):
    df = srcad.grad(fun)
    with pytest.raises(srcad.SrcadError) as info:
        df(np.array([0.5, -1.0, 2.0]))
    message = str(info.value)
    assert THIS_FILE in message, message
    line = _marker_line(fun)
    assert re.search(rf":{line}:", message), f"line {line} not in: {message}"
    advice = message.split(": ", 2)[-1]
    assert len(advice.split()) >= 5, f"no advice in: {message}"
    assert "Traceback" not in message
