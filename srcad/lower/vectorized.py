"""Lowering: ``np.vectorize`` of a Python function whose body is elementwise arithmetic, as
the function called on the arrays themselves.

NumPy calls the function once per element (and once more to find the output's type).
Where everything the function computes is elementwise (``+``, ``*``, ``np.exp``,
``np.where``; no reduction, no loop, no effect), calling it once on the broadcast arrays
gives every element the value the calls one by one give::

    Before:                                     After (one call, on the arrays):
        bump = np.vectorize(lambda v: v**2 + 1.0)     t = x ** 2 + 1.0
        y = bump(x)

An ``if`` (or ``a if c else b``) on the element computes both branches and chooses element
by element (``np.where``, ``srcad.lower.branches``), as the calls one by one choose. The
result is broadcast to the shape the arguments broadcast to (a function that ignores its
argument gives one value per element too). A body that does anything else (``np.sum(v)``,
a loop, ``print``, a branch that raises), a ``signature``, ``excluded`` arguments or
``otypes`` are refused with what to write instead.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.ir import Var
from srcad.ir.builder import TraceError, Tracer
from srcad.ir.primitive import COMPARISON, ELEMENTWISE, PARAMETRIC
from srcad.ir.prims import PRIMS
from srcad.ir.walk import walk_eqns
from srcad.lower.callees import as_array

if TYPE_CHECKING:
    from srcad.lower.context import Lowering

REFUSED = (
    "is np.vectorize of a Python function, which NumPy calls on each element in turn; srcad "
    "calls it once on the arrays where its body is elementwise arithmetic (np.sin, +, *, "
    "np.where), without a signature, excluded arguments or otypes{why}. Call the function "
    "on the arrays themselves, with np.where for its branches, or loop over the elements"
)


def vectorized_call(
    lowering: Lowering,
    vectorized: np.vectorize,
    args: list,
    kwargs: dict,
    node: ast.Call,
    call: Callable[..., object],
) -> object:
    """``vectorized(*args, **kwargs)``, as ``vectorized.pyfunc`` called on the arrays."""
    if vectorized.signature is not None or vectorized.excluded or vectorized.otypes:
        raise _refused(lowering, node, "")
    arrays: list[Any] = [as_array(a) for a in args]
    named: dict[str, Any] = {k: as_array(v) for k, v in kwargs.items()}
    since = len(lowering.builder.eqns)
    function = getattr(vectorized.pyfunc, "srcad_local", vectorized.pyfunc)  # a lambda's
    enclosing, lowering.inlining.elementwise = lowering.inlining.elementwise, True
    try:  # an 'if' on the element: np.where (srcad.lower.branches)
        result = call(lowering, function, arrays, named, node)
    except (SrcadError, TraceError) as error:
        raise _refused(lowering, node, f" (here: {getattr(error, 'detail', error)})") from None
    finally:
        lowering.inlining.elementwise = enclosing
    refuse_int_or_float(lowering, result, node, "element", since)
    computed = lowering.builder.eqns[since:]
    others = [e.prim for e in computed if not _is_elementwise(e.prim) or e.graphs]
    if others:
        raise _refused(lowering, node, f" (here the body computes {PRIMS[others[0]].spelling})")
    shape = np.broadcast_shapes(*(np.shape(a) for a in (*arrays, *named.values())))
    if isinstance(result, tuple):
        return tuple(_spread(item, shape) for item in result)
    return _spread(result, shape)


def refuse_int_or_float(
    lowering: Lowering, result: object, node: ast.Call, part: str, since: int
) -> None:
    """Refuse a result computed from a value that is an int or a float as the data decide
    (``0 if a < 0 else a * a``, ``max(a, 0) ** 2``; equations from ``since``): NumPy makes
    the whole output in the dtype of the first result."""
    leaves = result if isinstance(result, tuple) else (result,)
    marked = {
        value.atom.id
        for value in lowering.world.int_or_float.values()
        if isinstance(value, Tracer) and isinstance(value.atom, Var)
    }
    computed = walk_eqns(lowering.builder.eqns[since:])
    if any(lowering.world.int_or_float.get(id(leaf)) is leaf for leaf in leaves) or any(
        isinstance(atom, Var) and atom.id in marked for eqn in computed for atom in eqn.inputs
    ):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node.func)}' calls a function that returns an int or a float "
            f"depending on the data (an 'if' with an int in one branch, max(v, 0)); NumPy makes the "
            f"whole result in the dtype of the first {part}'s result (ints from 0, which "
            "cut off every value). Return floats in every branch (0.0 for 0)",
            node,
        )


def _is_elementwise(prim: str) -> bool:
    """Whether ``prim`` computes each element from the same elements of its inputs."""
    return PRIMS[prim].kind in ELEMENTWISE_KINDS or prim in ELEMENTWISE_CASTS


# elementwise arithmetic, comparisons, and those with static params (np.clip, np.round)
ELEMENTWISE_KINDS = (ELEMENTWISE, COMPARISON, PARAMETRIC)
ELEMENTWISE_CASTS = ("copy", "astype")


def _spread(value: Any, shape: tuple[int, ...]) -> Any:
    """``value`` with one element for each of the arguments' broadcast elements."""
    if isinstance(value, Tracer):
        spread: Any = np.broadcast_to  # on a tracer: its rule records the equation
        return value if value.aval.shape == shape else spread(value, shape)
    return np.broadcast_to(np.asarray(value), shape)


def _refused(lowering: Lowering, node: ast.Call, why: str) -> UnsupportedSyntax:
    text = f"'{ast.unparse(node.func)}' " + REFUSED.format(why=why)
    return lowering.located(UnsupportedSyntax, text, node)
