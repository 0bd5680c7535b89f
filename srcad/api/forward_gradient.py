"""Gradients assembled from forward-mode passes, one pass per element of the differentiated
arguments (the API stage, beside ``grad``).

Comes in: a transformation's function, the signature it is compiled for and the arguments it
differentiates. Goes out: ``forward_gradient``, the value and gradient computed by running
the forward-mode code once per element (``grad(f, mode="forward")``); ``forward_columns``,
the statements of a plain Python function that does the same (a gradient differentiated
again whose reverse-mode code keeps a tape in a while loop, which is not reversed again).
A function that draws random numbers draws once per call: every pass replays the first
pass's draws, and a plain function that would draw on every pass is refused
(``refuse_repeated_draws``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from srcad.arguments import ArgSignature, Wrt, constant_gradient, is_constant_leaf
from srcad.errors import NoDerivativeRule
from srcad.frontend.parse import function_name
from srcad.ir import AVal
from srcad.ir.graph import source_position
from srcad.ir.world import has_effects
from srcad.pipeline import Compiled, Outputs, compile_forward
from srcad.pytree import flatten, unflatten
from srcad.runtime.draws import DrawState
from srcad.runtime.passes import silenced_after_first

FORWARD_PASSES = 64  # a gradient of code that is not reversed again: one pass per element


def _unit(aval: AVal, position: int | None) -> str:
    """A tangent for ``aval``: 1 at the flat ``position``, or zero everywhere (None)."""
    if aval.is_weak:
        return "0.0" if position is None else "1.0"
    if position is None:
        return f"np.zeros({aval.shape}, np.{aval.dtype})"
    return f"np.eye({aval.size}, dtype=np.{aval.dtype})[{position}].reshape({aval.shape})"


def _scalar(value: object) -> object:
    """A size-1 array value as a 0-d one, as reverse mode gives it (``x ** 2`` of an ``x``
    of shape (1,): the loss 9.0, not ``array([9.])``)."""
    if isinstance(value, np.ndarray) and value.ndim and value.size == 1:
        return value.reshape(())
    return value


def forward_gradient(
    compiled: Compiled,
    arguments: dict[str, object],
    wrt: Wrt,
    has_aux: bool,
    run: Callable[[Compiled, tuple], tuple],
) -> tuple:
    """The value, and the gradient with respect to ``wrt``, at ``arguments`` (by parameter
    name) of the function whose forward-mode code is ``compiled``: one tangent pass per
    element of the differentiated arguments, each run by ``run`` (on the transformation's
    backend)."""
    values = list(arguments.values())
    leaves = [  # a setting among the parameters (an int, a string) takes no tangent
        leaf for n in wrt.numbers for leaf in flatten(values[n])[0] if not is_constant_leaf(leaf)
    ]
    start = DrawState.of(compiled.random_draws, arguments)  # each pass draws the same
    columns = []
    value = None
    for k, basis in enumerate(unit_tangents(leaves)):
        start.restore()
        with silenced_after_first(k):  # print runs once per call
            value, tangent = run(compiled, (*values, *basis))
        scalar = tangent[0] if has_aux else tangent
        columns.append(float(np.sum(scalar)))
    if value is None:
        value = compiled.fn(*values, *[np.zeros_like(x) for x in leaves])[0]
    value = (_scalar(value[0]), *value[1:]) if has_aux else _scalar(value)
    flat = iter(split_columns(columns, leaves))
    grads = []
    for n in wrt.numbers:  # each argument's leaves, in order, back into its structure
        arg_leaves, treedef = flatten(values[n])
        grads.append(
            unflatten(
                treedef,
                [constant_gradient(a) if is_constant_leaf(a) else next(flat) for a in arg_leaves],
            )
        )
    return value, wrt.pick(grads)


def forward_columns(
    fun: Callable, signature: ArgSignature, wrt: Wrt, has_aux: bool
) -> tuple[str, tuple[Callable, ...]] | None:
    """Statements computing ``value, grads`` of ``fun`` with its forward-mode code, one pass
    per element of the differentiated arguments, and that code; None unless each of them is
    one array or float of at most ``FORWARD_PASSES`` elements in all."""
    leaves = [signature.leaves[n] for n in wrt.numbers]
    avals = [tree[0] for tree in leaves if len(tree) == 1 and isinstance(tree[0], AVal)]
    if len(avals) != len(leaves) or sum(a.size for a in avals) > FORWARD_PASSES:
        return None
    forward = compile_forward(fun, signature, wrt, outputs=Outputs(has_aux, is_scalar=True))
    refuse_repeated_draws(forward, sum(a.size for a in avals), "this second derivative", fun)
    target = later = forward.body
    if has_effects(forward.graph.eqns):  # print, appends, writes: in the first pass only
        later = compile_forward(fun, signature, wrt, quiet=True).body
    args = ", ".join(signature.params)
    lines, grads = [], []
    for j, aval in enumerate(avals):
        columns = []
        for k in range(aval.size):
            tangents = ", ".join(_unit(a, k if i == j else None) for i, a in enumerate(avals))
            called = target if not lines else later
            lines.append(f"value, tangent = {called.__name__}({args}, {tangents})")
            columns.append(f"d{j}_{k}")
            lines.append(f"{columns[-1]} = tangent{'[0]' if has_aux else ''}")
        if aval.is_weak:
            grads.append(columns[0])
        else:
            grads.append(f"np.reshape(np.array([{', '.join(columns)}]), {aval.shape})")
    together = grads[0] if wrt.is_single else f"({', '.join(grads)},)"
    return "\n    ".join([*lines, f"grads = {together}"]), (target, later)


def unit_tangents(leaves: list) -> list[list]:
    """For every element of every leaf, tangents that are 1 there and 0 elsewhere (of a
    float leaf, a number of its type: an np.float64's is an np.float64, as the code takes)."""
    zeros = [np.zeros_like(np.asarray(x, dtype=float)) for x in leaves]
    bases = []
    for i, leaf in enumerate(leaves):
        for position in np.ndindex(np.shape(leaf)):
            basis = [z.copy() for z in zeros]
            basis[i][position] = 1.0
            bases.append(
                [
                    type(leaves[j])(b) if np.ndim(b) == 0 and isinstance(leaves[j], float) else b
                    for j, b in enumerate(basis)
                ]
            )
    return bases


def split_columns(columns: list, leaves: list) -> list:
    """Directional derivatives, one per element, reshaped into arrays like ``leaves``."""
    result, start = [], 0
    for leaf in leaves:
        size = int(np.size(leaf))
        result.append(np.reshape(np.array(columns[start : start + size]), np.shape(leaf)))
        start += size
    return result


def refuse_repeated_draws(compiled: Compiled, passes: int, what: str, fun: Callable) -> None:
    """``what`` runs ``compiled`` ``passes`` times for one call: a function that draws random
    numbers would draw again on each pass and mix the draws into one derivative."""
    if passes <= 1 or not compiled.random_draws:
        return
    draw = compiled.random_draws[0]
    callee = draw.param_dict.get("callee")
    file, line = source_position(draw.loc)
    raise NoDerivativeRule(
        f"{function_name(fun)} draws random numbers ('{getattr(callee, 'text', callee)}'), and "
        f"{what} runs it once per element ({passes} passes), each drawing again; use "
        "srcad.grad or srcad.vjp (one pass per call), or draw outside the function and pass "
        "the draws as an argument",
        file,
        line,
    )
