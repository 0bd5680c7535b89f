"""The equations of masks in the backward sweep (what ``srcad.reverse.masks`` found).

A branch equation's contributions to values outside its masks are kept where the masks
hold: computed at the result's full shape, masked, then summed back to the input's shape::

    dw = np.where(const_1, dt1 * X, 0.0).sum(axis=0)     # t1 = X * w, read through valid

A masked product's data operands are zeroed where only masked-out results read them,
before the rule runs, so that ``0 * nan`` does not reach the other operand's cotangent::

    dw = dXw @ np.where(valid.reshape((3, 1)), X, 0.0)    # Xw = X @ w, inside valid
"""

from __future__ import annotations

import numpy as np

from srcad.ir import Const, Eqn
from srcad.ir.builder import GraphBuilder, Tracer
from srcad.reverse.masks import ALONG, Mask, MaskedBranches, Product
from srcad.rules.registry import unbroadcast


def rule_inputs(builder: GraphBuilder, eqn: Eqn, inputs: list, masks: MaskedBranches) -> list:
    """The inputs ``eqn``'s rule runs on: those whose contributions take a mask broadcast
    to the result's shape, a masked product's data operands zeroed where they meet only
    masked-out results."""
    product = masks.product_of(eqn)
    if product is not None:
        return _product_operands(builder, product, inputs)
    branch = masks.branch_of(eqn)
    positions = masks.masked_inputs(eqn, branch) if branch is not None else set()
    if eqn.prim not in ALONG:  # a reduction's input keeps its own shape
        positions |= masks.zero_kept_inputs(eqn)
    shape = eqn.outputs[0].aval.shape
    return [
        (
            _apply(builder, "broadcast_to", (t,), {"shape": shape})
            if k in positions and t.aval.shape != shape
            else t
        )
        for k, t in enumerate(inputs)
    ]


def masked_results(
    builder: GraphBuilder,
    eqn: Eqn,
    results: tuple,
    inputs: list,
    masks: MaskedBranches,
    cotangent: object,
) -> tuple:
    """The contributions of a branch equation to values outside its masks kept only where
    they hold, each summed back to its input's shape; those of an equation read in part,
    where its ``cotangent`` is not zero."""
    zero_kept = masks.zero_kept_inputs(eqn)
    if zero_kept and isinstance(cotangent, Tracer):
        if eqn.prim in ALONG:  # the slice's cotangent beside each of its elements
            cotangent = _apply(builder, "reshape", (cotangent,), {"shape": _kept_shape(eqn)})
        return _kept_where_cotangent(builder, cotangent, results, inputs, zero_kept)
    branch = masks.branch_of(eqn)
    positions = masks.masked_inputs(eqn, branch) if branch is not None else set()
    if branch is None or not positions:
        return results
    kept = []
    for k, result in enumerate(results):
        if k in positions and isinstance(result, Tracer):
            result = unbroadcast(_kept_where(builder, branch.masks, result), inputs[k])
        kept.append(result)
    return tuple(kept)


def _kept_shape(eqn: Eqn) -> tuple[int, ...]:
    """The shape of a reduction's result with its reduced axes kept, of length 1."""
    shape = eqn.inputs[0].aval.shape
    axis = eqn.param_dict.get("axis")
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if k in axes else n for k, n in enumerate(shape))


def _kept_where_cotangent(
    builder: GraphBuilder, cotangent: Tracer, results: tuple, inputs: list, positions: set[int]
) -> tuple:
    """Each contribution at ``positions`` (at the result's full shape) kept where the
    cotangent is not zero or the contribution is finite (there it is 0 * a finite slope),
    summed back to its input's shape::

        t = ds / (2.0 * s)                                 # s = np.sqrt(x), read as s[1:]
        dx = np.where(np.logical_or(ds != 0, np.isfinite(t)), t, 0.0)

    The first derivative is that of ``ds != 0`` alone; a second one, which differentiates
    this line with the mask as a constant, keeps ``dds * slope`` where ``ds`` is exactly 0
    (the Hessian at a fit's optimum, where the residuals' cotangent is 0)."""
    read = _apply(builder, "not_equal", (cotangent, 0.0))
    kept = []
    for k, result in enumerate(results):
        if k in positions and isinstance(result, Tracer):
            finite = _apply(builder, "isfinite", (result,))
            condition = _apply(builder, "logical_or", (read, finite))
            result = unbroadcast(_apply(builder, "where", (condition, result, 0.0)), inputs[k])
        kept.append(result)
    return tuple(kept)


def _kept_where(builder: GraphBuilder, masks: tuple[Mask, ...], value: Tracer) -> Tracer:
    """``value`` where ``masks`` hold, 0 elsewhere: ``np.where(x > 0, value, 0.0)``."""
    condition, taken = _condition(builder, masks)
    branches = (value, 0.0) if taken else (0.0, value)
    return _apply(builder, "where", (condition, *branches))


def _condition(builder: GraphBuilder, masks: tuple[Mask, ...]) -> tuple[Tracer, bool]:
    """The test of ``masks`` and whether the elements kept are those where it holds: one
    mask as it is (``np.isnan(r)``, not kept), several as ``|`` of where each is kept."""
    if len(masks) == 1 and masks[0].within is None:
        return _test(builder, masks[0]), masks[0].taken
    union = _kept(builder, masks[0])
    for other in masks[1:]:
        union = _apply(builder, "logical_or", (union, _kept(builder, other)))
    return union, True


def _kept(builder: GraphBuilder, mask: Mask) -> Tracer:
    """Where ``mask`` keeps the elements: ``&`` of the masks of nested branches."""
    both = None
    for alone in mask.chain():
        test = _test(builder, alone)
        kept = test if alone.taken else _apply(builder, "logical_not", (test,))
        both = kept if both is None else _apply(builder, "logical_and", (both, kept))
    assert both is not None
    return both


def _test(builder: GraphBuilder, mask: Mask) -> Tracer:
    condition = builder.tracer(mask.condition)
    if mask.test:  # np.isnan(r), for the NaNs np.nansum(r) skips
        condition = _apply(builder, mask.test, (condition,))
    return condition


def _product_operands(builder: GraphBuilder, product: Product, inputs: list) -> list:
    """The operands of a masked product, its data operands zeroed where they meet only
    masked-out results (``np.where(valid.reshape((3, 1)), X, 0.0)`` for ``X @ w``)."""
    condition, taken = _condition(builder, product.masks)
    terms, out_term = product.terms
    operands = list(inputs)
    for k in product.operands:
        seen = _seen_by_operand(builder, condition, taken, out_term, terms[k], inputs[k])
        if seen is not None and not _holds_everywhere(*seen):
            condition_k, taken_k = seen
            branches = (inputs[k], 0.0) if taken_k else (0.0, inputs[k])
            operands[k] = _apply(builder, "where", (condition_k, *branches))
    return operands


def _seen_by_operand(
    builder: GraphBuilder, condition: Tracer, taken: bool, out_term: str, term: str, operand
) -> tuple[Tracer, bool] | None:
    """The result's mask seen by one operand (``term``): ``any`` over the result's axes the
    operand does not have, laid out along the operand's axes; None when it does not vary
    along them (every element of the operand meets the same results)."""
    if len(set(term)) != len(term) or condition.ndim > len(out_term):
        return None  # a diagonal ('ii'): not masked
    sizes = (1,) * (len(out_term) - condition.ndim) + tuple(condition.shape)
    operand_sizes = dict(zip(term, operand.shape, strict=True))
    along = [n > 1 and operand_sizes.get(c, 1) == n for c, n in zip(out_term, sizes, strict=True)]
    if not any(along):
        return None
    reduced = tuple(i for i, n in enumerate(sizes) if n > 1 and not along[i])
    if reduced:  # the operand meets a kept result where any of these is kept
        if not taken:
            condition, taken = _apply(builder, "logical_not", (condition,)), True
        condition = _apply(builder, "reshape", (condition,), {"shape": sizes})
        axis = reduced[0] if len(reduced) == 1 else reduced
        condition = _apply(builder, "any", (condition,), {"axis": axis, "keepdims": True})
    letters = [c for c, is_along in zip(out_term, along, strict=True) if is_along]
    return (
        _laid_out(builder, condition, [sizes[out_term.index(c)] for c in letters], letters, term),
        taken,
    )


def _laid_out(builder: GraphBuilder, condition: Tracer, sizes: list, letters: list, term: str):
    """``condition``, varying along the result's axes ``letters`` (of ``sizes``), as an array
    over the operand's axes ``term``: those in its order, length one along the others."""
    size_of = dict(zip(letters, sizes, strict=True))
    shape = tuple(size_of.get(c, 1) for c in term)
    order = sorted(letters, key=term.index)
    if order != letters:  # only the varying axes, then swapped into the operand's order
        condition = _apply(builder, "reshape", (condition,), {"shape": tuple(sizes)})
        axes = tuple(letters.index(c) for c in order)
        condition = _apply(builder, "transpose", (condition,), {"axes": axes})
    return _apply(builder, "reshape", (condition,), {"shape": shape})


def _holds_everywhere(condition: Tracer, taken: bool) -> bool:
    """A constant mask that keeps every element (``p[np.arange(n), labels]`` reads a score
    in every row): no ``where`` for it."""
    atom = condition.atom
    return isinstance(atom, Const) and bool(np.all(np.asarray(atom.value) == taken))


def _apply(builder: GraphBuilder, prim: str, inputs: tuple, params: dict | None = None) -> Tracer:
    """``builder.apply`` of a primitive with one result."""
    return builder.tracer(builder.apply_atom(prim, inputs, params))
