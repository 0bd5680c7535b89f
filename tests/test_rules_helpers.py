"""The rule helpers of ``srcad/rules/registry.py``: ``deflinear``, ``defbilinear`` and bare
cotangents give the rules that were written out by hand before them, and the checks used
here tell a wrong rule apart.

A helper's forward rule is compared with the hand-written one it replaced twice: on arrays
(the same tangent values) and on tracers (the same recorded equations, hence the same
generated code), for each of the table's example cases and each input's tangent alone,
then all together. A VJP rule of a one-input primitive may return its cotangent bare; the
registry packs it, so it gives what the tuple-returning rule gave.
"""

from __future__ import annotations

import numpy as np
import pytest
from rules.cases import case_id, cases_of, is_float, make_inputs, outputs

from srcad.ir import Const
from srcad.ir.builder import GraphBuilder, Tracer
from srcad.ir.graph import AVal
from srcad.ir.indexing import add_at, getitem
from srcad.ir.prims import PRIMS
from srcad.ir.printer import format_atom, format_eqn
from srcad.rules.registry import (
    JVP_RULES,
    VJP_RULES,
    add_tangents,
    cotangents_as_tuple,
    defbilinear,
    deflinear,
    defvjp,
    expand_reduced,
    product_rule,
    zeros_for_none,
)

EPS = 1e-6


# --- the forward rules as they were written by hand -------------------------------------------
def transpose_jvp(tangents, out, x, axes=None):
    (x_dot,) = tangents
    return np.transpose(x_dot) if axes is None else np.transpose(x_dot, axes)


def reshape_jvp(tangents, out, x, shape, order=None):
    (x_dot,) = tangents
    return np.reshape(x_dot, shape, order=order)


def sum_jvp(tangents, out, x, axis=None, dtype=None, keepdims=False):
    (x_dot,) = tangents
    return np.sum(x_dot, axis=axis, dtype=dtype, keepdims=keepdims)


def diff_jvp(tangents, out, x, n=1, axis=-1):
    (x_dot,) = tangents
    return np.diff(x_dot, n=n, axis=axis)


def rot90_jvp(tangents, out, x, k=1, axes=(0, 1)):
    return np.rot90(tangents[0], k, axes=axes)


def diagonal_jvp(tangents, out, x, offset=0, axis1=0, axis2=1):
    return np.diagonal(tangents[0], offset, axis1, axis2)


def trace_jvp(tangents, out, x, offset=0, axis1=0, axis2=1, dtype=None):
    (x_dot,) = tangents
    return np.trace(x_dot, offset=offset, axis1=axis1, axis2=axis2, dtype=dtype)


def concatenate_jvp(tangents, out, *xs, axis=0):
    return np.concatenate(zeros_for_none(tangents, xs), axis=axis)


def stack_jvp(tangents, out, *xs, axis=0):
    return np.stack(zeros_for_none(tangents, xs), axis=axis)


def append_jvp(tangents, out, x, values, axis=None):
    x_dot, values_dot = zeros_for_none(tangents, (x, values))
    return np.append(x_dot, values_dot, axis=axis)


def split_jvp(tangents, out, x, indices_or_sections, axis=0):
    return tuple(np.split(tangents[0], indices_or_sections, axis=axis))


def hsplit_jvp(tangents, out, x, indices_or_sections):
    return tuple(np.hsplit(tangents[0], indices_or_sections))


def take_jvp(tangents, out, x, indices, axis=None):
    x_dot, _ = tangents
    return np.take(x_dot, indices, axis=axis)


def take_along_axis_jvp(tangents, out, x, indices, axis=-1):
    x_dot, _ = tangents
    return np.take_along_axis(x_dot, indices, axis=axis)


def getitem_jvp(tangents, out, x, *arrays, index):
    return getitem(tangents[0], *arrays, index=index)


def add_at_jvp(tangents, out, values, *arrays, index, shape):
    return add_at(tangents[0], *arrays, index=index, shape=shape)


def multiply_jvp(tangents, out, x, y):
    x_dot, y_dot = tangents
    return add_tangents(
        None if x_dot is None else x_dot * y,
        None if y_dot is None else x * y_dot,
    )


def matmul_jvp(tangents, out, x, y):
    return product_rule(np.matmul, tangents, x, y)


def tensordot_jvp(tangents, out, x, y, axes=2):
    return product_rule(np.tensordot, tangents, x, y, axes=axes)


def cross_jvp(tangents, out, x, y, axis=None):
    x_dot, y_dot = tangents
    keywords = {} if axis is None else {"axis": axis}
    return add_tangents(
        None if x_dot is None else np.cross(x_dot, y, **keywords),
        None if y_dot is None else np.cross(x, y_dot, **keywords),
    )


def einsum_jvp(tangents, out, *operands, subscripts):
    terms = []
    for i, tangent in enumerate(tangents):
        if tangent is not None:
            replaced = operands[:i] + (tangent,) + operands[i + 1 :]
            terms.append(np.einsum(subscripts, *replaced))
    return add_tangents(*terms)


HAND_WRITTEN_JVPS = {
    "transpose": transpose_jvp,
    "reshape": reshape_jvp,
    "sum": sum_jvp,
    "diff": diff_jvp,
    "rot90": rot90_jvp,
    "diagonal": diagonal_jvp,
    "trace": trace_jvp,
    "concatenate": concatenate_jvp,
    "stack": stack_jvp,
    "append": append_jvp,
    "split": split_jvp,
    "hsplit": hsplit_jvp,
    "take": take_jvp,
    "take_along_axis": take_along_axis_jvp,
    "getitem": getitem_jvp,
    "add_at": add_at_jvp,
    "multiply": multiply_jvp,
    "matmul": matmul_jvp,
    "tensordot": tensordot_jvp,
    "cross": cross_jvp,
    "einsum": einsum_jvp,
}

# Index arrays as inputs (the table's examples of these index with ints and slices only).
MORE_CASES = {
    "getitem": [(((4, 3), np.array([2, 0, 2])), {"index": (("array", 0),)})],
    "add_at": [(((3, 3), np.array([2, 0, 2])), {"index": (("array", 0),), "shape": (4, 3)})],
    "einsum": [(((2, 3), (3, 4), (4,)), {"subscripts": "ij,jk,k->i"})],
}

HELPER_CASES = [
    (name, case)
    for name in HAND_WRITTEN_JVPS
    for case in [*cases_of(name), *MORE_CASES.get(name, [])]
]


def _tangent_patterns(inputs):
    """Which inputs get a tangent: each float input alone, then all of them."""
    floats = [i for i, x in enumerate(inputs) if is_float(x)]
    patterns = [(i,) for i in floats]
    return patterns + [tuple(floats)] if len(floats) > 1 else patterns


# --- comparing two forward rules --------------------------------------------------------------
def _values_differ(rule, reference, name, case, pattern) -> bool:
    """Whether the two rules give different tangents on arrays."""
    specs, params = case
    rng = np.random.default_rng(3)
    inputs = make_inputs(name, specs, rng)
    tangents = tuple(
        rng.normal(size=np.shape(x)) if i in pattern else None for i, x in enumerate(inputs)
    )
    results = outputs(PRIMS[name].evaluate(inputs, params))
    out = results[0] if len(results) == 1 else results
    got, want = rule(tangents, out, *inputs, **params), reference(tangents, out, *inputs, **params)
    got, want = (outputs(got), outputs(want)) if len(results) > 1 else ((got,), (want,))
    return len(got) != len(want) or any(
        (a is None) != (b is None) or (a is not None and not np.array_equal(a, b))
        for a, b in zip(got, want, strict=True)
    )


def _recorded(rule, name, case, pattern) -> list[str]:
    """The equations ``rule`` records on tracers, and the tangents it returns, as text."""
    specs, params = case
    builder = GraphBuilder()
    inputs = []
    for spec in specs:
        if isinstance(spec, np.ndarray):  # an index array: a constant
            inputs.append(builder.tracer(Const(spec)))
        else:
            inputs.append(builder.tracer(builder.new_var("x", AVal(tuple(spec), "float64"))))
    results = outputs(PRIMS[name].evaluate(inputs, params))
    tangents = tuple(
        builder.tracer(builder.new_var("t", x.aval)) if i in pattern else None
        for i, x in enumerate(inputs)
    )
    start = len(builder.eqns)
    result = rule(tangents, results[0] if len(results) == 1 else tuple(results), *inputs, **params)
    returned = outputs(result) if len(results) > 1 else (result,)
    atoms = [format_atom(t.atom) if isinstance(t, Tracer) else repr(t) for t in returned]
    return [format_eqn(eqn) for eqn in builder.eqns[start:]] + atoms


def _patterns(name, case):
    inputs = make_inputs(name, case[0], np.random.default_rng(3))
    return _tangent_patterns(inputs)


@pytest.mark.parametrize(("name", "case"), HELPER_CASES, ids=case_id)
def test_helper_jvp_gives_the_hand_written_values(name, case):
    for pattern in _patterns(name, case):
        assert not _values_differ(JVP_RULES[name], HAND_WRITTEN_JVPS[name], name, case, pattern)


@pytest.mark.parametrize(("name", "case"), HELPER_CASES, ids=case_id)
def test_helper_jvp_records_the_hand_written_equations(name, case):
    """The same equations, so forward-mode generated code stays byte for byte the same."""
    for pattern in _patterns(name, case):
        helper = _recorded(JVP_RULES[name], name, case, pattern)
        assert helper == _recorded(HAND_WRITTEN_JVPS[name], name, case, pattern), pattern


def test_the_comparisons_tell_a_wrong_rule_apart():
    """A rule that forgets a param, or a term of the product rule, is caught by both."""

    def transpose_ignoring_axes(tangents, out, x, axes=None):
        return np.transpose(tangents[0])

    def matmul_first_term_only(tangents, out, x, y):
        return None if tangents[0] is None else tangents[0] @ y

    transpose_case = (((2, 3, 4),), {"axes": (2, 0, 1)})
    assert _values_differ(
        JVP_RULES["transpose"], transpose_ignoring_axes, "transpose", transpose_case, (0,)
    )
    assert _recorded(JVP_RULES["transpose"], "transpose", transpose_case, (0,)) != _recorded(
        transpose_ignoring_axes, "transpose", transpose_case, (0,)
    )
    matmul_case = (((3, 4), (4, 2)), {})
    assert _values_differ(
        JVP_RULES["matmul"], matmul_first_term_only, "matmul", matmul_case, (0, 1)
    )
    assert _recorded(JVP_RULES["matmul"], "matmul", matmul_case, (0, 1)) != _recorded(
        matmul_first_term_only, "matmul", matmul_case, (0, 1)
    )


# --- helpers against central differences ------------------------------------------------------
def _jvp_error(name, inputs, params):
    """The largest difference between the JVP (all float inputs moved) and central
    differences."""
    prim = PRIMS[name]
    rng = np.random.default_rng(4)
    tangents = [rng.normal(size=np.shape(x)) if is_float(x) else None for x in inputs]
    moved = [
        [x if t is None else x + sign * EPS * t for x, t in zip(inputs, tangents, strict=True)]
        for sign in (1, -1)
    ]
    expected = (prim.evaluate(moved[0], params) - prim.evaluate(moved[1], params)) / (2 * EPS)
    got = JVP_RULES[name](tuple(tangents), prim.evaluate(inputs, params), *inputs, **params)
    return float(np.max(np.abs(np.broadcast_to(got, np.shape(expected)) - expected)))


def _vjp_error(name, inputs, params):
    """|<u, J v> - <J^T u, v>| for the first input, J v by central differences."""
    prim = PRIMS[name]
    rng = np.random.default_rng(5)
    out = prim.evaluate(inputs, params)
    u, v = rng.normal(size=np.shape(out)), rng.normal(size=np.shape(inputs[0]))
    upper = prim.evaluate([inputs[0] + EPS * v, *inputs[1:]], params)
    lower = prim.evaluate([inputs[0] - EPS * v, *inputs[1:]], params)
    cotangent, *_ = VJP_RULES[name](u, out, *inputs, **params)
    return abs(float(np.sum(u * (upper - lower) / (2 * EPS)) - np.sum(cotangent * v)))


def test_helpers_pass_central_differences():
    x, y = np.random.default_rng(6).normal(size=(2, 3, 4))
    assert _jvp_error("transpose", [x], {"axes": (1, 0)}) < 1e-8
    assert _jvp_error("multiply", [x, y], {}) < 1e-8
    assert _vjp_error("sum", [x], {"axis": 0}) < 1e-8


def test_a_helper_given_the_wrong_primitive_fails_central_differences(monkeypatch):
    """exp is not linear and add not bilinear: the rules the helpers make for them are
    wrong, and the numeric check says so."""
    monkeypatch.setitem(JVP_RULES, "exp", JVP_RULES["exp"])  # restored afterwards
    monkeypatch.setitem(JVP_RULES, "add", JVP_RULES["add"])
    x, y = np.random.default_rng(7).normal(size=(2, 3, 4))
    assert _jvp_error("exp", [x], {}) < 1e-6
    deflinear(np.exp)
    assert _jvp_error("exp", [x], {}) > 1e-2
    assert _jvp_error("add", [x, y], {}) < 1e-8
    defbilinear(np.add)
    assert _jvp_error("add", [x, y], {}) > 1e-2


# --- bare cotangents ------------------------------------------------------------------------------
def test_a_bare_cotangent_is_packed_in_a_tuple():
    assert cotangents_as_tuple(lambda g, out, x: g * 2)(3.0, None, 1.0) == (6.0,)
    assert cotangents_as_tuple(lambda g, out, x: None)(3.0, None, 1.0) == (None,)
    assert cotangents_as_tuple(lambda g, out, x, y: (g, None))(3.0, None, 1.0, 2.0) == (3.0, None)


def test_bare_and_tuple_vjps_agree_and_a_wrong_one_is_caught(monkeypatch):
    monkeypatch.setitem(VJP_RULES, "sum", VJP_RULES["sum"])  # restored afterwards
    x = np.random.default_rng(8).normal(size=(3, 4))

    def sum_vjp_tuple(g, out, x, axis=None, dtype=None, keepdims=False):
        return (np.broadcast_to(expand_reduced(g, axis, keepdims), np.shape(x)),)

    u = np.arange(4.0)
    (registered,) = VJP_RULES["sum"](u, np.sum(x, axis=0), x, axis=0)
    (by_hand,) = sum_vjp_tuple(u, np.sum(x, axis=0), x, axis=0)
    np.testing.assert_array_equal(registered, by_hand)

    defvjp(np.sum)(lambda g, out, x, axis=None, keepdims=False: np.broadcast_to(g, np.shape(x)))
    assert _vjp_error("sum", [x], {"axis": 0}) < 1e-8  # bare, and right
    defvjp(np.sum)(lambda g, out, x, axis=None, keepdims=False: 2 * np.broadcast_to(g, x.shape))
    assert _vjp_error("sum", [x], {"axis": 0}) > 1e-2  # bare, and wrong


def test_every_one_input_vjp_returns_one_cotangent():
    """The registry packs the bare cotangents of the built-in one-input rules."""
    for name, rule in VJP_RULES.items():
        prim = PRIMS[name]
        if prim.kind == "custom" or prim.n_inputs != 1 or prim.variadic or not prim.examples:
            continue
        specs, params = prim.examples[0]
        inputs = make_inputs(name, specs, np.random.default_rng(9))
        results = outputs(prim.evaluate(inputs, params))
        g = tuple(np.ones_like(r) for r in results)
        out = results[0] if len(results) == 1 else results
        cotangents = rule(g[0] if len(g) == 1 else g, out, *inputs, **params)
        assert isinstance(cotangents, tuple) and len(cotangents) == len(inputs), name
