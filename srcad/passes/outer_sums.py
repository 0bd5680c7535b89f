"""Sums of outer products over a loop become one matrix product after the loop.

Backpropagation through a recurrence adds one outer product per step to a weight's
gradient. NumPy writes each into a fresh matrix and adds it, two passes over the matrix
per step; stacking the factors and multiplying once does the same sum as one GEMM:

    before                                  after
    dW = np.zeros_like(W)                   left_factors = []
    for t in reversed(range(T)):            right_factors = []
        ...                                 for t in reversed(range(T)):
        dW = dW + np.outer(dt3, h_2)            ...
                                                left_factors.append(dt3)
                                                right_factors.append(h_2)
                                            left_stack = np.array(left_factors)
                                            right_stack = np.array(right_factors)
                                            dW = left_stack.T @ right_stack

A sum that starts at ``np.zeros_like`` is no longer carried at all (the product is the
sum); one that starts elsewhere passes through the loop unchanged and is added after it.

The pass applies to a ``for`` loop of at least two steps (known when compiling) that carries
a value whose next value is ``carried + np.outer(a, b)`` (either order), where that sum is
the only use of the carried value and of the outer product in the body. Two tapes collect
``a`` and ``b`` (``tape_push``), and ``tape_stack`` makes them matrices after the loop. The
loop's result keeps its var: code after the loop reads the sum as before.
"""

from __future__ import annotations

from dataclasses import replace

from srcad.ir import AVal, Eqn, Graph, Var
from srcad.ir.control import TAPE, body_of, known_steps
from srcad.ir.walk import max_var_id, sub_graphs, walk_eqns, with_sub_graphs

MIN_STEPS = 2


def sum_outer_products(graph: Graph) -> Graph:
    """``graph`` with every loop-carried sum of outer products moved after its loop."""
    ids = [max_var_id(graph) + 1]
    return replace(graph, eqns=_block(graph.eqns, ids))


def _block(eqns: tuple[Eqn, ...], ids: list[int]) -> tuple[Eqn, ...]:
    result: list[Eqn] = []
    zeros: set[int] = set()  # vars of this block made by np.zeros_like
    for eqn in eqns:
        eqn = with_sub_graphs(eqn, lambda block: _block(block, ids))
        rewritten = _rewritten_loop(eqn, ids, zeros) if eqn.prim == "for" else None
        result.extend(rewritten or [eqn])
        if eqn.prim == "zeros_like":
            zeros.update(v.id for v in eqn.outputs)
    return tuple(result)


def _rewritten_loop(loop: Eqn, ids: list[int], zeros: set[int]) -> list[Eqn] | None:
    """The equations that replace ``loop``, or None when no carried sum fits."""
    if known_steps(loop) < MIN_STEPS:
        return None
    body = body_of(loop)
    producers = {v.id: e for e in body.eqns for v in e.outputs}
    found = [_outer_sum(body, producers, k) for k in range(len(loop.outputs))]
    sums = [(k, factors) for k, factors in enumerate(found) if factors is not None]
    if not sums:
        return None
    before: list[Eqn] = []
    after: list[Eqn] = []
    for k, (a, b, outer) in reversed(sums):  # a sum dropped from the carries shifts later ones
        start = loop.inputs[k]
        starts_at_zero = isinstance(start, Var) and start.id in zeros
        loop = _collect(loop, k, (a, b), outer, ids, (before, after), starts_at_zero)
    return [*before, loop, *after]


def _outer_sum(body: Graph, producers: dict[int, Eqn], k: int) -> tuple[Var, Var, Eqn] | None:
    """The factors ``(a, b)`` and the outer product's equation when the body's k-th carried
    result is ``carried + np.outer(a, b)`` and nothing else reads the carried value or the
    product (``producers``: the body's equations by output id)."""
    carried, result = body.inputs[k + 1], body.outputs[k]
    total = producers.get(result.id) if isinstance(result, Var) else None
    if total is None or total.prim != "add" or carried not in total.inputs:
        return None
    product = next((a for a in total.inputs if a is not carried and a != carried), None)
    outer = producers.get(product.id) if isinstance(product, Var) else None
    if outer is None or outer.prim != "outer" or len(outer.inputs) != 2:
        return None
    a, b = outer.inputs
    if not (isinstance(a, Var) and isinstance(b, Var) and a.aval.ndim == b.aval.ndim == 1):
        return None
    if product.aval != carried.aval or not _read_once(body, (carried, product, result)):  # type: ignore[union-attr]
        return None
    return a, b, outer


def _read_once(body: Graph, values: tuple) -> bool:
    """Whether each of ``values`` is read by exactly one equation of the body (the sum and
    the product) or, for the sum, only returned. A read counts at any depth, a nested
    graph's output too (``snap = total if c else W`` reads ``total``)."""
    counts = {v.id: 0 for v in values}
    for eqn in walk_eqns(body.eqns):
        read = [*eqn.inputs, *(atom for graph in sub_graphs(eqn) for atom in graph.outputs)]
        for atom in read:
            if isinstance(atom, Var) and atom.id in counts:
                counts[atom.id] += 1
    carried, product, result = values
    returned = sum(1 for atom in body.outputs if atom == result)
    return (
        counts[carried.id] == 1
        and counts[product.id] == 1
        and counts[result.id] == 0
        and returned == 1
    )


def _collect(
    loop: Eqn,
    k: int,
    factors: tuple[Var, Var],
    outer: Eqn,
    ids: list[int],
    around: tuple[list[Eqn], list[Eqn]],
    starts_at_zero: bool = False,
) -> Eqn:
    """``loop`` with its k-th carried sum passed through and the factors collected on two
    tapes; ``around``'s first list gets the new tapes, its second the product added to the
    sum (located and commented as the outer product was), or the product alone where the
    sum starts at zeros (no ``dW_1 += dW`` of a matrix of zeros)."""
    body = body_of(loop)
    a, b = factors
    before, after = around
    role, loc = loop.role, outer.loc
    starts = [_var(ids, f"{side}_factors", TAPE) for side in ("left", "right")]
    before.extend(Eqn("tape_new", (), (tape,), (), loc, role) for tape in starts)
    inner = [_var(ids, tape.hint, TAPE) for tape in starts]
    pushed = [_var(ids, tape.hint, TAPE) for tape in starts]
    pushes = [
        Eqn("tape_push", (tape_in, factor), (tape_out,), (), loc, role)
        for tape_in, factor, tape_out in zip(inner, (a, b), pushed, strict=True)
    ]
    outputs = list(body.outputs)
    outputs[k] = body.inputs[k + 1]  # the sum passes through unchanged
    body_inputs, loop_inputs = list(body.inputs), list(loop.inputs)
    final = [_var(ids, tape.hint, TAPE) for tape in starts]
    partial = _var(ids, loop.outputs[k].hint, loop.outputs[k].aval)
    loop_outputs = list(loop.outputs)
    loop_outputs[k] = partial
    eqns = list(body.eqns)
    if starts_at_zero:  # zeros passed through: no longer carried at all, nor their sum
        carried = body_inputs[k + 1]
        eqns = [eqn for eqn in eqns if carried not in eqn.inputs]  # the sum: its only use
        del outputs[k], body_inputs[k + 1], loop_inputs[k], loop_outputs[k]
    new_body = replace(
        body,
        inputs=(*body_inputs, *inner),
        eqns=(*eqns, *pushes),
        outputs=(*outputs, *pushed),
    )
    params = tuple((key, new_body if key == "body" else value) for key, value in loop.params)
    new_loop = replace(
        loop,
        inputs=(*loop_inputs, *starts),
        outputs=(*loop_outputs, *final),
        params=params,
    )
    after.extend(_product_added(loop, k, final, None if starts_at_zero else partial, outer, ids))
    return new_loop


def _product_added(
    loop: Eqn, k: int, tapes: list[Var], partial: Var | None, outer: Eqn, ids: list[int]
) -> list[Eqn]:
    """``loop.outputs[k] = partial + np.array(left).T @ np.array(right)``, or the product
    alone where there is no ``partial`` (a sum that starts at zeros)."""
    steps, (a, b) = known_steps(loop), outer.inputs
    left, right = (
        _var(ids, f"{side}_stack", AVal((steps, *f.aval.shape), f.aval.dtype))
        for side, f in zip(("left", "right"), (a, b), strict=True)
    )
    transposed = _var(ids, "", AVal((a.aval.shape[0], steps), a.aval.dtype))
    product = _var(ids, "", loop.outputs[k].aval) if partial is not None else loop.outputs[k]
    loc, role = outer.loc, loop.role
    stacked = [
        Eqn("tape_stack", (tapes[0],), (left,), (), loc, role),
        Eqn("tape_stack", (tapes[1],), (right,), (), loc, role),
        Eqn("transpose", (left,), (transposed,), (), loc, role),
        Eqn("matmul", (transposed, right), (product,), (), loc, role, outer.origin),
    ]
    if partial is None:
        return stacked
    return [
        *stacked,
        Eqn("add", (partial, product), (loop.outputs[k],), (), loc, role, outer.origin),
    ]


def _var(ids: list[int], hint: str, aval: AVal) -> Var:
    ids[0] += 1
    return Var(ids[0], hint, aval)
