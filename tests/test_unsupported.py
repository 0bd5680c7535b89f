"""Every construct srcad still rejects fails when compiling, at the right line, with
``UnsupportedSyntax`` (an ``SrcadError``) that says what to do instead: never an internal
traceback and never a wrong gradient. Lines are found from ``# <- here`` markers."""

from __future__ import annotations

import inspect
import os
import re

import numpy as np
import pytest

import srcad

THIS_FILE = os.path.basename(__file__)


def starred(x):
    return np.sum(np.stack([*x]))  # <- here


def walrus(x):
    if (y := np.sum(x)) > 0:  # <- here
        return y
    return -y


def comprehension(x):
    return np.sum([v * 2.0 for v in x])  # <- here


def generator(x):
    return sum(v * 2.0 for v in x)  # <- here


def match_statement(x):
    match x.shape:  # <- here
        case (3,):
            return np.sum(x)
    return 0.0


def f_string(x):
    label = f"{x}"  # <- here  # noqa: F841
    return np.sum(x)


def set_display(x):
    values = {1, 2}  # <- here
    return np.sum(x) * len(values)


def raises(x):
    if x.shape[0] != 3:
        raise ValueError("three please")  # <- here
    return np.sum(x)


def asserts(x):
    assert x.shape == (3,)  # <- here
    return np.sum(x)


def data_mask(x):
    return np.sum(x[x > 0.0])  # <- here


def for_else(x):
    s = 0.0
    for v in x:  # <- here
        s = s + v
    else:
        s = s * 2.0
    return s


def star_args(*xs):  # <- here
    return np.sum(xs[0])


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
    starred,
    walrus,
    comprehension,
    generator,
    match_statement,
    f_string,
    set_display,
    raises,
    asserts,
    data_mask,
    for_else,
    star_args,
    float_index,
    nonlocal_statement,
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
