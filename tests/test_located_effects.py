"""Warnings and log records of a differentiated function name the user's line, as the plain
function's do (they named the generated file's line), in every transformation, once per call.
"""

from __future__ import annotations

import inspect
import logging
import warnings

import numpy as np
import pytest

import srcad
from srcad.api.grad import Transformed

LOG = logging.getLogger("located_effects")
SCALE = {"value": 2.0}


def line_of(fun, marker: str) -> int:
    """The line of ``fun``'s source that holds ``marker``."""
    lines, first = inspect.getsourcelines(fun)
    return first + next(k for k, text in enumerate(lines) if marker in text)


def warns(x):
    warnings.warn("large step")  # noqa: B028 <- warn (at this line, as users write it)
    return np.sum(x**2) * SCALE["value"]


def warns_the_caller(x):
    warnings.warn("deprecated argument", DeprecationWarning, stacklevel=2)
    return np.sum(np.sin(x))


def logs(x):
    total = np.sum(x**3) * SCALE["value"]
    LOG.info("total %s of %d values", 1.5, 3)  # <- info
    logging.warning("from the root logger")  # <- root
    LOG.log(logging.ERROR, "at a level given")  # <- log
    LOG.debug("below the level: not recorded")
    return total


TRANSFORMATIONS = {
    "grad": lambda f, x: srcad.grad(f)(x),
    "value_and_grad forward": lambda f, x: srcad.value_and_grad(f, mode="forward")(x),
    "jacrev": lambda f, x: srcad.jacrev(f)(x),
    "hessian": lambda f, x: srcad.hessian(f)(x),
}


@pytest.mark.parametrize("transformation", TRANSFORMATIONS)
def test_a_warning_names_the_users_line_once_per_call(transformation):
    x = np.array([0.5, -1.0, 2.0])
    for scale in (2.0, 3.0):  # a second call, after the world changed
        SCALE["value"] = scale
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            TRANSFORMATIONS[transformation](warns, x)
        assert [(w.filename, w.lineno) for w in caught] == [(__file__, line_of(warns, "<- warn"))]
        assert str(caught[0].message) == "large step" and caught[0].category is UserWarning
    SCALE["value"] = 2.0
    np.testing.assert_allclose(srcad.grad(warns)(x), srcad.numerical_grad(warns, x), rtol=1e-6)


def test_a_warnings_stacklevel_names_the_line_that_called_the_transformed_function(monkeypatch):
    watched = Transformed.__call__  # the suite's watch (conftest.py) is a caller of its own
    monkeypatch.setattr(Transformed, "__call__", getattr(watched, "__wrapped__", watched))
    gradient = srcad.grad(warns_the_caller)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        here = inspect.currentframe().f_lineno + 1
        gradient(np.ones(3))
    assert [(w.filename, w.lineno, w.category) for w in caught] == [
        (__file__, here, DeprecationWarning)
    ]


def test_the_default_filter_shows_a_warning_once_per_place_as_for_the_plain_function():
    gradient = srcad.grad(warns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        globals().pop("__warningregistry__", None)
        for _ in range(3):
            gradient(np.ones(2))
    assert len(caught) == 1


def test_log_records_name_the_users_file_line_and_function(caplog):
    caplog.set_level(logging.INFO)
    x = np.array([0.5, -1.0, 2.0])
    for transformation in ("grad", "jacrev"):
        caplog.clear()
        TRANSFORMATIONS[transformation](logs, x)
        found = [(r.pathname, r.lineno, r.funcName, r.getMessage()) for r in caplog.records]
        assert found == [
            (__file__, line_of(logs, "<- info"), "logs", "total 1.5 of 3 values"),
            (__file__, line_of(logs, "<- root"), "logs", "from the root logger"),
            (__file__, line_of(logs, "<- log"), "logs", "at a level given"),
        ]
        assert [r.name for r in caplog.records] == ["located_effects", "root", "located_effects"]
    np.testing.assert_allclose(srcad.grad(logs)(x), srcad.numerical_grad(logs, x), rtol=1e-6)


def sets_its_level(x):
    LOG.setLevel(logging.INFO)  # a call on the logger that makes no record: run as it is
    LOG.info("after the level")  # <- after
    return np.sum(x**2)


def test_a_logger_call_that_makes_no_record_runs_as_it_is(caplog, monkeypatch):
    monkeypatch.setattr(LOG, "level", logging.NOTSET)
    srcad.grad(sets_its_level)(np.ones(2))
    assert LOG.level == logging.INFO
    found = [(r.lineno, r.getMessage()) for r in caplog.records]
    assert found == [(line_of(sets_its_level, "<- after"), "after the level")]
