"""Every rule run on tracers: a small user function per primitive goes through ``srcad.grad``
and its gradient is compared with central differences.

The function calls the primitive the way a user spells it (``np.stack([x0, x1], axis=0)``,
``np.linalg.inv(x0)``, ``scipy.special.expit(x0)`` after importing the primitive's module),
with index arrays as module constants, and reduces the outputs with ``sum(sin(...))`` so
that the cotangent reaching the rule is not all ones. The generated code imports the
primitive's module too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from source_files import module_from_source

import srcad
from rules.cases import (
    BUILTIN_RULES,
    case_id,
    cases_of,
    is_float,
    make_inputs,
    outputs,
    without_derivative,
)
from srcad.ir.prims import PRIMS
from srcad.lower.compositions import composition_of

# Hundreds of cases, every rule traced end to end: the full suite runs them; the fast loop
# (-m "not slow") leaves them out.
pytestmark = pytest.mark.slow


def _imports(prim):
    """The import lines of a user's module that calls ``prim``: NumPy's and its module's."""
    return list(dict.fromkeys(["import numpy as np", prim.import_line]))


def _is_user_callable(prim):
    """Whether users reach the primitive by its spelling (not subscripts, say)."""
    namespace = {}
    exec("\n".join(_imports(prim)), namespace)
    try:
        return eval(prim.spelling, namespace) == prim.fn  # a bound method: norm.logpdf
    except AttributeError:
        return False


def _traced_cases():
    """Two cases of each primitive users call by its spelling, but those of functions srcad
    lowers as others where the arrays are small (``scipy.signal.convolve``: shifted copies,
    ``srcad.lower.signal``; tested in ``test_scipy_signal.py``)."""
    cases = []
    for name in BUILTIN_RULES:
        if _is_user_callable(PRIMS[name]) and composition_of(PRIMS[name].fn) is None:
            cases += [(name, case) for case in cases_of(name)[:2]]
    return cases


def _literal(value):
    if isinstance(value, np.dtype):
        return f"np.dtype({value.name!r})"
    if isinstance(value, float) and math.isinf(value):
        return "float('inf')" if value > 0 else "-float('inf')"
    return repr(value)


def _module_source(name, case, inputs):
    """A module defining ``f`` over the float inputs; other inputs are constants (those
    without a derivative, a cdf's shape parameters, made in ``f``: a module's array would
    be read on every call, and might be differentiated)."""
    prim = PRIMS[name]
    names, lines, made = [], [*_imports(prim), ""], []
    for index, value in enumerate(inputs):
        if index in without_derivative(name):
            names.append(f"c{index}")
            made.append(f"    c{index} = np.array({np.asarray(value).tolist()!r})")
        elif is_float(value):
            names.append(f"x{index}")
        else:
            names.append(f"C{index}")
            lines.append(f"C{index} = np.array({value.tolist()!r}, dtype=np.{value.dtype.name})")
    params = {key: _literal(value) for key, value in case[1].items()}
    positional, keywords = prim.arrange(names, params)
    arguments = [f"[{', '.join(a)}]" if isinstance(a, list) else a for a in positional]
    arguments += [f"{key}={value}" for key, value in keywords.items()]
    call = f"{prim.spelling}({', '.join(arguments)})"
    n_outputs = len(outputs(prim.evaluate(inputs, case[1])))
    targets = [f"out{k}" for k in range(n_outputs)]
    parameters = ", ".join(n for n in names if n.startswith("x"))
    lines += [
        "",
        f"def f({parameters}):",
        *made,
        f"    {', '.join(targets)} = {call}",
        "    return " + " + ".join(f"np.sum(np.sin({t}))" for t in targets),
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("name", "case"), _traced_cases(), ids=case_id)
def test_rule_compiles_and_matches_differences(name, case, tmp_path):
    inputs = make_inputs(name, case[0], np.random.default_rng(2))
    f = module_from_source(_module_source(name, case, inputs), tmp_path, "traced").f
    refused = without_derivative(name)
    arguments = [x for i, x in enumerate(inputs) if is_float(x) and i not in refused]
    argnums = tuple(range(len(arguments)))
    srcad.check_grad(f, *arguments, argnums=argnums)
    gradient = srcad.grad(f, argnums=argnums)
    gradient(*arguments)
    assert PRIMS[name].import_line in srcad.source(gradient).splitlines()


STABLE = """
import numpy as np


def softplus(x):
    return np.sum(np.logaddexp(0.0, x))


def logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def log1p_small(x):
    return np.sum(np.log1p(x))
"""


def test_stable_rules_do_not_overflow(tmp_path):
    """softplus and logsumexp written the stable way keep stable gradients."""
    module = module_from_source(STABLE, tmp_path, "stable")
    x = np.array([1000.0, -1000.0, 0.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(srcad.grad(module.softplus)(x), [1.0, 0.0, 0.5])
        np.testing.assert_allclose(srcad.grad(module.logsumexp)(x), [1.0, 0.0, 0.0])
        small = np.array([1e-12, -1e-12])
        np.testing.assert_allclose(srcad.grad(module.log1p_small)(small), 1 / (1 + small))
