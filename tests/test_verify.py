"""The IR verifier (``srcad.ir.verify``) catches each broken invariant, with the graph's text."""

from __future__ import annotations

import pytest

from srcad.ir import AVal, Eqn, Graph, Var
from srcad.ir.verify import VerifyError, verify_graph

F3 = AVal((3,), "float64")
x = Var(1, "x", F3)
y = Var(2, "y", F3)
z = Var(3, "z", F3)


def _graph(eqns, inputs=(x,), outputs=(z,)):
    return Graph("f", tuple(inputs), tuple(eqns), tuple(outputs))


def test_a_well_formed_graph_passes():
    verify_graph(_graph([Eqn("exp", (x,), (y,)), Eqn("sin", (y,), (z,))]))


@pytest.mark.parametrize(
    ("eqns", "outputs", "message"),
    [
        ([Eqn("sin", (y,), (z,)), Eqn("exp", (x,), (y,))], (z,), "%2 used before definition"),
        ([Eqn("exp", (x,), (y,)), Eqn("sin", (x,), (y,))], (y,), "%2 defined twice"),
        ([Eqn("exp", (x,), (x,))], (x,), "%1 defined twice"),
        ([Eqn("no_such_prim", (x,), (z,))], (z,), "unknown primitive"),
        ([Eqn("exp", (x,), (Var(3, "z", AVal((2,), "float64")),))], (z,), "aval mismatch"),
        ([Eqn("exp", (x,), (y,))], (z,), "%3 used before definition in: the graph outputs"),
    ],
    ids=["use-before-def", "defined-twice", "redefines-input", "unknown-prim", "aval", "output"],
)
def test_each_broken_invariant_is_reported(eqns, outputs, message):
    with pytest.raises(VerifyError, match=message) as info:
        verify_graph(_graph(eqns, outputs=outputs))
    assert "f(" in str(info.value) or "%1" in str(info.value)  # the graph's text follows


def test_a_sub_graph_reading_a_value_defined_after_it_is_reported():
    body = Graph("body", (Var(10, "i", AVal((), "int64", True)), Var(11, "c", F3)), (), (y,))
    loop = Eqn(
        "for",
        (x,),
        (z,),
        params=(("body", body), ("start", 0), ("stop", 2), ("step", 1)),
    )
    with pytest.raises(VerifyError, match="used before definition"):
        verify_graph(_graph([loop, Eqn("exp", (x,), (y,))], outputs=(z,)))
