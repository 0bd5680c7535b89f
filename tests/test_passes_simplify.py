"""The simplification pass (``srcad.passes.simplify``): the docstring's example, structured
control flow, rules that rewrite into two equations, values written in place, and that a
graph the builder made (already simplified as it was recorded) comes back unchanged."""

from __future__ import annotations

import textwrap

import numpy as np

from srcad.ir import AVal, Const, Eqn, Graph, Var, aval_of
from srcad.ir.printer import format_graph
from srcad.ir.verify import verify_graph
from srcad.lower import lower_function
from srcad.passes import simplify as simplify_module
from srcad.passes import simplify_graph

F3 = AVal((3,), "float64")
SCALAR = AVal((), "float64", True)
BOOL = AVal((), "bool")
INT = AVal((), "int64", True)


def docstring_example(doc: str, label: str) -> str:
    """The indented graph text below the line of ``doc`` that starts with ``label``."""
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(label)) + 1
    block = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


def simplified(graph: Graph) -> Graph:
    verify_graph(graph)
    result = simplify_graph(graph)
    verify_graph(result)
    return result


def test_docstring_example():
    x, s = Var(0, "x", F3), Var(1, "s", SCALAR)
    spread, product, factor, y = Var(2, "", F3), Var(3, "", F3), Var(4, "", SCALAR), Var(5, "y", F3)
    graph = Graph(
        "f",
        (x, s),
        (
            Eqn("broadcast_to", (s,), (spread,), (("shape", (3,)),)),
            Eqn("multiply", (x, spread), (product,)),
            Eqn("subtract", (Const(2.0), Const(1)), (factor,)),
            Eqn("multiply", (product, factor), (y,)),
        ),
        (y,),
    )
    doc = simplify_module.__doc__ or ""
    assert format_graph(graph) == docstring_example(doc, "Before:")
    assert format_graph(simplified(graph)) == docstring_example(doc, "After")


def test_inside_branches_and_loop_bodies():
    """``x * 1.0`` in a branch is ``x``; ``-(-h) * (1.0 + 2.0)`` in a body is ``h * 3.0``."""
    x, pred = Var(0, "x", F3), Var(1, "p", BOOL)
    one_x, minus_x, chosen = Var(2, "", F3), Var(3, "", F3), Var(4, "z", F3)
    first = Graph("f_branch", (), (Eqn("multiply", (x, Const(1.0)), (one_x,)),), (one_x,))
    second = Graph("f_branch", (), (Eqn("negative", (x,), (minus_x,)),), (minus_x,))
    counter, h = Var(5, "i", INT), Var(6, "h", F3)
    minus_h, plus_h, three, h_next, result = (
        Var(7, "", F3),
        Var(8, "", F3),
        Var(9, "", SCALAR),
        Var(10, "", F3),
        Var(11, "out", F3),
    )
    body = Graph(
        "f_loop",
        (counter, h),
        (
            Eqn("negative", (h,), (minus_h,)),
            Eqn("negative", (minus_h,), (plus_h,)),
            Eqn("add", (Const(1.0), Const(2.0)), (three,)),
            Eqn("multiply", (plus_h, three), (h_next,)),
        ),
        (h_next,),
    )
    graph = Graph(
        "f",
        (x, pred),
        (
            Eqn("cond", (pred,), (chosen,), (("branches", (first, second)),)),
            Eqn(
                "for",
                (chosen,),
                (result,),
                (("body", body), ("start", 0), ("step", 1), ("stop", 2)),
            ),
        ),
        (result,),
    )
    after = format_graph(simplified(graph))
    assert after == textwrap.dedent("""\
        graph f(%0(x):f64[3], %1(p):bool[]) {
          %4(z):f64[3] = cond %1
            branches:
            graph f_branch() {
              return %0
            }
            branches:
            graph f_branch() {
              %3(t1):f64[3] = negative %0
              return %3
            }
          %11(out):f64[3] = for %4 start=0 step=1 stop=2
            body:
            graph f_loop(%5(i):~i64[], %6(out):f64[3]) {
              %7(t2):f64[3] = negative %6
              %10(t3):f64[3] = multiply %6 3.0
              return %10
            }
          return %11
        }""")


def test_a_rule_that_makes_two_equations_keeps_the_output_var():
    """``s * (2 * z)`` → ``(s * 2) * z``: the second equation defines the original ``y``."""
    s, z = Var(0, "s", SCALAR), Var(1, "z", F3)
    twice, y = Var(2, "", F3), Var(3, "y", F3)
    graph = Graph(
        "f",
        (s, z),
        (Eqn("multiply", (Const(2.0), z), (twice,)), Eqn("multiply", (s, twice), (y,))),
        (y,),
    )
    result = simplified(graph)
    assert [e.prim for e in result.eqns] == ["multiply", "multiply", "multiply"]
    last = result.eqns[-1]
    assert last.outputs == (y,) and last.inputs[1] == z
    assert result.eqns[1].outputs[0].id == 4  # the new product s * 2 has a new id


def test_a_value_written_in_place_is_not_replaced():
    """``y = x * 1.0`` is a new array that ``setitem`` writes into: it must stay one."""
    x, y, written = Var(0, "x", F3), Var(1, "y", F3), Var(2, "y", F3)
    index = (("index", (0,)),)
    graph = Graph(
        "f",
        (x,),
        (
            Eqn("multiply", (x, Const(1.0)), (y,)),
            Eqn("setitem", (y, Const(5.0)), (written,), index),
        ),
        (x, written),
    )
    assert format_graph(simplified(graph)) == format_graph(graph)


def test_a_graph_the_builder_made_is_unchanged():
    def f(x, s):
        h = np.tanh(x * s + 1.0)
        return np.sum(np.negative(-h) * 2.0 * s)

    graph = lower_function(f, {"x": aval_of(np.ones(3)), "s": aval_of(2.0)}).graph
    assert format_graph(simplified(graph)) == format_graph(graph)


def test_scalars_first_keeps_the_precision_of_a_float32_factor():
    """``x * np.float32(0.1) * 3`` became ``(3.0 * np.float32(0.1)) * x``: the factor rounded
    in float32 (value 0.18000000715 for the plain function's 0.18000000268, probe X)."""
    import srcad

    factor = {"value": 3}

    def scaled(x):
        return np.sum(x * np.float32(0.1) * factor["value"])

    x = np.array([0.1, 0.2, 0.3])
    transformed = srcad.value_and_grad(scaled)
    for value in (3, 7):  # a second call after the factor changed
        factor["value"] = value
        got, grad = transformed(x)
        assert got == scaled(x)
        np.testing.assert_array_equal(grad, np.full(3, np.float64(np.float32(0.1)) * value))
        np.testing.assert_allclose(grad, srcad.numerical_grad(scaled, x), rtol=1e-7)
