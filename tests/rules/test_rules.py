"""Every registered rule, checked from the registry.

Elementwise rules are compared with sympy's derivative of the primitive's sympy counterpart
(exactly where sympy can simplify the difference to zero, otherwise at sample points to
1e-12; the distributions of ``scipy.stats`` at the sample points only): the VJP for every
input, and the JVP with a tangent in one input at a time.

Every rule is also checked numerically on the cases the table lists (broadcasting shapes
for elementwise primitives): the VJP by the dot-product test <u, J v> = <J^T u, v> against
central differences, the JVP against central differences, and the two against each other
by the transpose identity <u, jvp(v)> = <vjp(u), v>, which holds to rounding.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

from rules.cases import (
    ALL_CASES,
    BUILTIN_RULES,
    case_id,
    is_float,
    make_inputs,
    outputs,
    without_derivative,
)
from rules.symbolic import Sym, sympy_function
from srcad.ir.prims import CALLABLES, ELEMENTWISE, PRIMS
from srcad.rules import JVP_RULES, VJP_RULES

# Hundreds of cases (every rule's exactness tests: sympy, dot products): the full suite runs
# them; the fast loop (-m "not slow") leaves them out.
pytestmark = pytest.mark.slow

ELEMENTWISE_RULES = [n for n in BUILTIN_RULES if PRIMS[n].kind == ELEMENTWISE]
SYMPY_RULES = [n for n in ELEMENTWISE_RULES if n != "where"]
EPS = 1e-6


# --- the table and the registries -----------------------------------------------------------
def test_every_rule_has_a_check():
    """A rule is checked if it is elementwise (sympy + defaults) or lists examples."""
    for name in BUILTIN_RULES:
        prim = PRIMS[name]
        if prim.kind == ELEMENTWISE:
            if name != "where":
                assert prim.sympy, f"{name}: elementwise rule without a sympy counterpart"
        else:
            assert prim.examples, f"{name}: add examples to its row in srcad/ir/table/"


def test_vjp_and_jvp_rules_come_in_pairs():
    builtin_jvps = sorted(name for name in JVP_RULES if PRIMS[name].kind != "custom")
    assert sorted(set(BUILTIN_RULES) - set(builtin_jvps)) == [], "VJP rules without a JVP"
    assert sorted(set(builtin_jvps) - set(BUILTIN_RULES)) == [], "JVP rules without a VJP"


def test_differentiable_primitives_have_rules():
    """A primitive that passes gradients needs a rule (control flow has its own pass)."""
    missing = [
        name
        for name, prim in PRIMS.items()
        if prim.is_differentiable
        and prim.kind not in ("control", "custom")
        and name not in VJP_RULES
    ]
    assert missing == []
    assert not [n for n in BUILTIN_RULES if not PRIMS[n].is_differentiable]


def test_at_least_120_differentiable_callables():
    differentiable = {c for c, name in CALLABLES.items() if name in BUILTIN_RULES}
    assert len(differentiable) >= 120, len(differentiable)


# --- exact checks of the elementwise rules --------------------------------------------------
def _assert_same(name, result, expected, symbols, what):
    """``result`` (a sympy expression, or None for zero) equals ``expected``."""
    result = sympy.Integer(0) if result is None else result.expr
    difference = result - expected
    is_distribution = PRIMS[name].module == "scipy.stats"
    if not is_distribution:  # piecewise and hypergeometric: simplify would take minutes
        difference = sympy.simplify(difference)
    if difference == 0:
        return
    evaluate = _at_point_mpmath(difference) if is_distribution else _at_point(difference)
    low, high = PRIMS[name].domain
    rng = np.random.default_rng(0)
    for _ in range(5):
        point = {s: sympy.Float(rng.uniform(low, high), 30) for s in symbols}
        point.update({s: sympy.Float(rng.uniform(-1, 1), 30) for s in difference.free_symbols})
        point.update({s: sympy.Float(rng.uniform(low, high), 30) for s in symbols})
        value = evaluate(point)
        assert abs(value) < 1e-12, f"{name}: {what} differs from sympy at {point}"


def _at_point(expression):
    return lambda point: complex(expression.evalf(30, subs=point))


def _at_point_mpmath(expression):
    """``_at_point``, compiled for mpmath (evalf of a large piecewise expression takes
    seconds a point)."""
    variables = sorted(expression.free_symbols, key=str)
    function = sympy.lambdify(variables, expression, "mpmath")

    def evaluate(point):
        with mpmath.workdps(30):
            return complex(function(*[mpmath.mpf(str(point[v])) for v in variables]))

    return evaluate


@pytest.mark.parametrize("name", SYMPY_RULES)
def test_elementwise_vjp_matches_sympy(name):
    prim = PRIMS[name]
    symbols = sympy.symbols(f"x0:{prim.n_inputs}", real=True)
    g = sympy.Symbol("g", real=True)
    function = sympy_function(name)(*symbols)
    results = VJP_RULES[name](Sym(g), Sym(function), *[Sym(s) for s in symbols])
    refused = without_derivative(name)
    for index, (symbol, result) in enumerate(zip(symbols, results, strict=True)):
        if index in refused:
            assert result is None, f"{name}: input {index} has no elementary derivative"
            continue
        expected = g * sympy.diff(function, symbol)
        _assert_same(name, result, expected, symbols, f"the VJP for {symbol}")


@pytest.mark.parametrize("name", SYMPY_RULES)
def test_elementwise_jvp_matches_sympy(name):
    prim = PRIMS[name]
    symbols = sympy.symbols(f"x0:{prim.n_inputs}", real=True)
    t = sympy.Symbol("t", real=True)
    function = sympy_function(name)(*symbols)
    for index, symbol in enumerate(symbols):
        if index in without_derivative(name):
            continue
        tangents = tuple(Sym(t) if i == index else None for i in range(prim.n_inputs))
        result = JVP_RULES[name](tangents, Sym(function), *[Sym(s) for s in symbols])
        expected = t * sympy.diff(function, symbol)
        _assert_same(name, result, expected, symbols, f"the JVP in {symbol}")


# --- numeric checks of every rule -----------------------------------------------------------
def _call(prim, inputs, params):
    with np.errstate(all="ignore"):
        return outputs(prim.evaluate(inputs, params))


def _directional(prim, inputs, params, tangents):
    """Central differences of every output along ``tangents`` (None: not moved)."""
    upper = [x if t is None else x + EPS * t for x, t in zip(inputs, tangents, strict=True)]
    lower = [x if t is None else x - EPS * t for x, t in zip(inputs, tangents, strict=True)]
    pairs = zip(_call(prim, upper, params), _call(prim, lower, params), strict=True)
    return tuple((np.asarray(hi) - np.asarray(lo)) / (2 * EPS) for hi, lo in pairs)


def _inner(a, b):
    return sum(float(np.sum(x * y)) for x, y in zip(a, b, strict=True))


def _run_vjp(name, prim, u, outs, inputs, params):
    g = u[0] if len(outs) == 1 else u
    out = outs[0] if len(outs) == 1 else outs
    with np.errstate(all="ignore"):
        return VJP_RULES[name](g, out, *inputs, **params)


def _run_jvp(name, prim, tangents, outs, inputs, params):
    """The JVP's output tangents, as full arrays (zeros for None)."""
    out = outs[0] if len(outs) == 1 else outs
    with np.errstate(all="ignore"):
        result = JVP_RULES[name](tuple(tangents), out, *inputs, **params)
    results = outputs(result) if len(outs) > 1 else (result,)
    assert len(results) == len(outs), f"{name}: one tangent per output"
    return tuple(
        np.zeros_like(o) if r is None else np.broadcast_to(r, np.shape(o))
        for r, o in zip(results, outs, strict=True)
    )


def _setup(name, case):
    specs, params = case
    prim = PRIMS[name]
    rng = np.random.default_rng(1)
    inputs = make_inputs(name, specs, rng)
    outs = _call(prim, inputs, params)
    u = tuple(rng.normal(size=np.shape(o)) for o in outs)
    return prim, params, rng, inputs, outs, u


@pytest.mark.parametrize(("name", "case"), ALL_CASES, ids=case_id)
def test_vjp_dot_product(name, case):
    """<u, (f(x + eps v) - f(x - eps v)) / 2 eps> == <vjp(u), v> for each input."""
    prim, params, rng, inputs, outs, u = _setup(name, case)
    cotangents = _run_vjp(name, prim, u, outs, inputs, params)
    assert len(cotangents) == len(inputs)
    for index, cotangent in enumerate(cotangents):
        if not is_float(inputs[index]) or index in without_derivative(name):
            assert cotangent is None, f"{name}: input {index} is not differentiable"
            continue
        v = rng.normal(size=np.shape(inputs[index]))
        tangents = [v if i == index else None for i in range(len(inputs))]
        expected = _inner(u, _directional(prim, inputs, params, tangents))
        if cotangent is None:  # the rule says the output does not depend on this input
            assert abs(expected) < 1e-6, f"{name}: input {index} does have a gradient"
            continue
        assert np.shape(cotangent) == np.shape(inputs[index]), f"{name} input {index}"
        assert np.isclose(np.sum(cotangent * v), expected, rtol=1e-6, atol=1e-8), name


@pytest.mark.parametrize(("name", "case"), ALL_CASES, ids=case_id)
def test_jvp_matches_vjp_and_differences(name, case):
    """The transpose identity for each input alone, and central differences for all."""
    prim, params, rng, inputs, outs, u = _setup(name, case)
    cotangents = _run_vjp(name, prim, u, outs, inputs, params)
    all_tangents = [None] * len(inputs)
    for index, x in enumerate(inputs):
        if not is_float(x) or index in without_derivative(name):
            continue
        v = rng.normal(size=np.shape(x))
        all_tangents[index] = v
        tangents = [v if i == index else None for i in range(len(inputs))]
        forward = _inner(u, _run_jvp(name, prim, tangents, outs, inputs, params))
        reverse = 0.0 if cotangents[index] is None else float(np.sum(cotangents[index] * v))
        assert np.isclose(forward, reverse, rtol=1e-10, atol=1e-12), f"{name} input {index}"
    if any(t is not None for t in all_tangents):
        tangents_out = _run_jvp(name, prim, all_tangents, outs, inputs, params)
        expected = _directional(prim, inputs, params, all_tangents)
        for got, want in zip(tangents_out, expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize(("name", "case"), ALL_CASES, ids=case_id)
def test_rules_keep_float32(name, case):
    """A float32 function gets float32 cotangents and tangents (no silent float64)."""
    specs, params = case
    prim = PRIMS[name]
    inputs = make_inputs(name, specs, np.random.default_rng(1))
    inputs = [np.float32(x) if is_float(x) else x for x in inputs]
    outs = _call(prim, inputs, params)
    if any(np.asarray(o).dtype != np.float32 for o in outs):
        return  # float64 by definition (float_power)
    u = tuple(np.ones(np.shape(o), dtype=np.float32) for o in outs)
    for index, cotangent in enumerate(_run_vjp(name, prim, u, outs, inputs, params)):
        if cotangent is not None:
            assert np.asarray(cotangent).dtype == np.float32, f"{name}: cotangent {index}"
    refused = without_derivative(name)
    tangents = [
        np.ones_like(x) if is_float(x) and i not in refused else None for i, x in enumerate(inputs)
    ]
    for tangent in _run_jvp(name, prim, tangents, outs, inputs, params):
        assert np.asarray(tangent).dtype == np.float32, f"{name}: tangent"
