"""Every registered rule, checked from the registry.

Elementwise rules are compared with sympy's derivative of the primitive's sympy counterpart
(exactly where sympy can simplify the difference to zero, otherwise at sample points to
1e-12). Every rule is also checked numerically by the dot-product test
<u, J v> = <J^T u, v> against central differences in float64, on broadcasting shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy

from rules.symbolic import Sym, sympy_function
from srcad.ir.prims import ELEMENTWISE, PRIMS
from srcad.rules import VJP_RULES

ELEMENTWISE_RULES = sorted(n for n in VJP_RULES if PRIMS[n].kind == ELEMENTWISE)
ELEMENTWISE_SHAPES = {
    1: [((3, 4),), ((),)],
    2: [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3)), ((2, 3), ())],
    3: [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), ())],
}


def test_every_rule_has_a_check():
    """A rule is checked if it is elementwise (sympy + defaults) or lists examples."""
    for name in VJP_RULES:
        prim = PRIMS[name]
        if prim.kind == ELEMENTWISE:
            if name != "where":
                assert prim.sympy, f"{name}: elementwise rule without a sympy counterpart"
        else:
            assert prim.examples, f"{name}: add examples to its entry in srcad/ir/prims.py"


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE_RULES if n != "where"])
def test_elementwise_rule_matches_sympy(name):
    prim = PRIMS[name]
    symbols = sympy.symbols(f"x0:{prim.n_inputs}", real=True)
    g = sympy.Symbol("g", real=True)
    function = sympy_function(name)(*symbols)
    results = VJP_RULES[name](Sym(g), Sym(function), *[Sym(s) for s in symbols])
    rng = np.random.default_rng(0)
    for symbol, result in zip(symbols, results, strict=True):
        expected = g * sympy.diff(function, symbol)
        difference = sympy.simplify(result.expr - expected)
        if difference == 0:
            continue
        low, high = prim.domain
        for _ in range(5):
            point = {s: sympy.Float(rng.uniform(low, high), 30) for s in symbols}
            point[g] = sympy.Float(rng.uniform(-1, 1), 30)
            value = complex(difference.evalf(30, subs=point))
            assert abs(value) < 1e-12, f"{name}: d/d{symbol} differs from sympy at {point}"


def _cases(name):
    prim = PRIMS[name]
    if prim.kind == ELEMENTWISE:
        return [(shapes, {}) for shapes in ELEMENTWISE_SHAPES[prim.n_inputs]]
    return list(prim.examples)


ALL_CASES = [(name, case) for name in sorted(VJP_RULES) for case in _cases(name)]


def _inputs(name, shapes, rng):
    prim = PRIMS[name]
    low, high = prim.domain
    values = [rng.uniform(low, high, size=shape) for shape in shapes]
    if name == "where":
        values[0] = rng.uniform(size=shapes[0]) > 0.5
    return [np.float64(v) if np.ndim(v) == 0 and name != "where" else v for v in values]


@pytest.mark.parametrize(("name", "case"), ALL_CASES, ids=lambda c: str(c))
def test_rule_dot_product(name, case):
    """<u, (f(x + eps v) - f(x - eps v)) / 2 eps> == <vjp(u), v> for each input."""
    shapes, params = case
    prim = PRIMS[name]
    rng = np.random.default_rng(1)
    inputs = _inputs(name, shapes, rng)
    out = prim.fn(*inputs, **params)
    u = rng.normal(size=np.shape(out))
    cotangents = VJP_RULES[name](u, out, *inputs, **params)
    assert len(cotangents) == len(inputs)
    eps = 1e-6
    for index, cotangent in enumerate(cotangents):
        if cotangent is None:
            assert name == "where" and index == 0
            continue
        assert np.shape(cotangent) == np.shape(inputs[index]), f"{name} input {index}"
        v = rng.normal(size=np.shape(inputs[index]))
        upper, lower = list(inputs), list(inputs)
        upper[index] = inputs[index] + eps * v
        lower[index] = inputs[index] - eps * v
        directional = (prim.fn(*upper, **params) - prim.fn(*lower, **params)) / (2 * eps)
        expected = np.sum(u * directional)
        assert np.isclose(np.sum(cotangent * v), expected, rtol=1e-6, atol=1e-8), name
