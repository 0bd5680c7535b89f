"""The common-subexpression pass (``srcad.passes.cse``): the docstring's example, scopes of
branches and loop bodies, and what is never merged (effects, values written in place)."""

from __future__ import annotations

import textwrap

from srcad.ir import AVal, Const, Eqn, Graph, Var
from srcad.ir.printer import format_graph
from srcad.ir.verify import verify_graph
from srcad.passes import cse as cse_module
from srcad.passes import eliminate_common_subexpressions

F3 = AVal((3,), "float64")
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


def merged(graph: Graph) -> Graph:
    verify_graph(graph)
    result = eliminate_common_subexpressions(graph)
    verify_graph(result)
    return result


def test_docstring_example():
    x, a, b, out = Var(0, "x", F3), Var(1, "a", F3), Var(2, "b", F3), Var(3, "out", F3)
    graph = Graph(
        "f",
        (x,),
        (Eqn("exp", (x,), (a,)), Eqn("exp", (x,), (b,)), Eqn("add", (a, b), (out,))),
        (out,),
    )
    doc = cse_module.__doc__ or ""
    assert format_graph(graph) == docstring_example(doc, "Before:")
    assert format_graph(merged(graph)) == docstring_example(doc, "After:")


def test_scopes_of_branches_and_loop_bodies():
    """A branch and a loop body reuse ``exp x`` from before them; ``sin x`` of the first
    branch is neither the second branch's nor the one after the ``cond``."""
    x, pred = Var(0, "x", F3), Var(1, "p", BOOL)
    exp_x, exp_again, sin_first, joined = (Var(i, "", F3) for i in range(2, 6))
    sin_second, chosen, sin_after = Var(6, "", F3), Var(7, "z", F3), Var(8, "", F3)
    first = Graph(
        "f_branch",
        (),
        (
            Eqn("exp", (x,), (exp_again,)),
            Eqn("sin", (x,), (sin_first,)),
            Eqn("add", (exp_again, sin_first), (joined,)),
        ),
        (joined,),
    )
    second = Graph("f_branch", (), (Eqn("sin", (x,), (sin_second,)),), (sin_second,))
    counter, h, h_exp, h_next, result = (
        Var(9, "i", INT),
        Var(10, "h", F3),
        Var(11, "", F3),
        Var(12, "", F3),
        Var(13, "out", F3),
    )
    body = Graph(
        "f_loop",
        (counter, h),
        (Eqn("exp", (x,), (h_exp,)), Eqn("multiply", (h, h_exp), (h_next,))),
        (h_next,),
    )
    graph = Graph(
        "f",
        (x, pred),
        (
            Eqn("exp", (x,), (exp_x,)),
            Eqn("cond", (pred,), (chosen,), (("branches", (first, second)),)),
            Eqn("sin", (x,), (sin_after,)),
            Eqn(
                "for", (exp_x,), (result,), (("body", body), ("start", 0), ("step", 1), ("stop", 2))
            ),
        ),
        (result, chosen, sin_after),
    )
    after = format_graph(merged(graph))
    assert after == textwrap.dedent("""\
        graph f(%0(x):f64[3], %1(p):bool[]) {
          %2(exp_x):f64[3] = exp %0
          %7(z):f64[3] = cond %1
            branches:
            graph f_branch() {
              %4(sin_x):f64[3] = sin %0
              %5(t1):f64[3] = add %2 %4
              return %5
            }
            branches:
            graph f_branch() {
              %6(sin_x_1):f64[3] = sin %0
              return %6
            }
          %8(sin_x_2):f64[3] = sin %0
          %13(out):f64[3] = for %2 start=0 step=1 stop=2
            body:
            graph f_loop(%9(i):~i64[], %10(out):f64[3]) {
              %12(t2):f64[3] = multiply %10 %2
              return %12
            }
          return %13, %7, %8
        }""")


def test_effects_and_values_written_in_place_are_not_merged():
    """Two random draws are two values; two copies of ``x`` of which one is written into
    are two arrays."""
    x = Var(0, "x", F3)
    draws = [Var(1, "", F3), Var(2, "", F3)]
    copies = [Var(3, "", F3), Var(4, "", F3)]
    written = Var(5, "", F3)
    call = (("arguments", (3,)), ("callee", "rand"), ("keywords", ()))
    graph = Graph(
        "f",
        (x,),
        (
            Eqn("outside_call", (), (draws[0],), call),
            Eqn("outside_call", (), (draws[1],), call),
            Eqn("copy", (x,), (copies[0],)),
            Eqn("copy", (x,), (copies[1],)),
            Eqn("setitem", (copies[0], Const(5.0)), (written,), (("index", (0,)),)),
        ),
        (*draws, copies[1], written),
    )
    assert format_graph(merged(graph)) == format_graph(graph)
