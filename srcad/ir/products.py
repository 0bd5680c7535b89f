"""Products as einsum subscripts: which axes of each operand meet which axes of the result.

``X @ w`` with ``X`` of shape (3, 2) and ``w`` of shape (2,) is ``ab,b->a``: row ``a`` of
the result reads row ``a`` of ``X`` and all of ``w``. The derivative rules of ``tensordot``
and ``einsum`` are einsums over these terms, and the backward sweep reads them to find the
rows of a data operand that only masked-out results read (``srcad.reverse.mask_code``).
Letters stand for axes; a letter in no other term is summed.
"""

from __future__ import annotations

import string
from collections import Counter

Terms = tuple[list[str], str]  # the operands' terms, the result's term


def product_terms(prim: str, ndims: list[int], params: dict) -> Terms | None:
    """The einsum terms of the product ``prim`` of operands of ranks ``ndims``, or None for
    a product whose result is not an einsum of its operands' axes (``outer`` of matrices,
    ``vdot``, ``kron``)."""
    if prim == "einsum":
        return einsum_terms(params["subscripts"], ndims)
    if prim == "tensordot":
        return tensordot_terms(ndims[0], ndims[1], params.get("axes", 2))
    if prim == "matmul" or prim == "dot" and max(ndims) <= 2 and min(ndims) >= 1:
        return _matmul_terms(*ndims)
    if prim in ("dot", "inner") and min(ndims) == 0:
        return _scaled_terms(*ndims)
    if prim == "dot":  # the last axis of x with the second-to-last (or only) axis of y
        return tensordot_terms(ndims[0], ndims[1], ((ndims[0] - 1,), (max(ndims[1] - 2, 0),)))
    if prim == "inner":
        return tensordot_terms(ndims[0], ndims[1], ((ndims[0] - 1,), (ndims[1] - 1,)))
    if prim == "outer" and ndims == [1, 1]:
        return ["a", "b"], "ab"
    return None


def _matmul_terms(x_ndim: int, y_ndim: int) -> Terms:
    """``x @ y``: the batch axes broadcast from the right, a vector operand has no row (or
    column) axis, ``...nk,...km->...nm``."""
    batch = max(x_ndim, y_ndim, 2) - 2
    letters = iter(string.ascii_letters)
    batch_letters = "".join(next(letters) for _ in range(batch))
    row, inner, column = next(letters), next(letters), next(letters)
    x_term = batch_letters[batch - max(x_ndim - 2, 0) :] + (row if x_ndim >= 2 else "") + inner
    y_term = batch_letters[batch - max(y_ndim - 2, 0) :] + inner + (column if y_ndim >= 2 else "")
    out_term = batch_letters + (row if x_ndim >= 2 else "") + (column if y_ndim >= 2 else "")
    return [x_term, y_term], out_term


def _scaled_terms(x_ndim: int, y_ndim: int) -> Terms:
    """A product with a scalar operand: the other's axes, elementwise."""
    letters = string.ascii_letters[: max(x_ndim, y_ndim)]
    return [letters[:x_ndim], letters[:y_ndim]], letters


def tensordot_terms(x_ndim: int, y_ndim: int, axes) -> Terms:
    """``tensordot(x, y, axes)`` as einsum terms and output: ``abc,bcd`` -> ``ad``."""
    if isinstance(axes, int):
        x_axes, y_axes = tuple(range(x_ndim - axes, x_ndim)), tuple(range(axes))
    else:
        x_axes, y_axes = (a if isinstance(a, tuple) else (a,) for a in axes)
    x_axes = tuple(a % x_ndim for a in x_axes)
    y_axes = tuple(a % y_ndim for a in y_axes)
    x_letters = list(string.ascii_letters[:x_ndim])
    fresh = iter(string.ascii_letters[x_ndim:])
    y_letters = [next(fresh) for _ in range(y_ndim)]
    for x_axis, y_axis in zip(x_axes, y_axes, strict=True):
        y_letters[y_axis] = x_letters[x_axis]
    out_term = [c for i, c in enumerate(x_letters) if i not in x_axes]
    out_term += [c for i, c in enumerate(y_letters) if i not in y_axes]
    return ["".join(x_letters), "".join(y_letters)], "".join(out_term)


def einsum_terms(subscripts: str, ndims: list[int]) -> Terms:
    """Explicit einsum terms, with ``...`` replaced by letters and the output spelled out."""
    subscripts = subscripts.replace(" ", "")
    inputs, _, output = subscripts.partition("->")
    terms = inputs.split(",")
    unused = [c for c in string.ascii_letters if c not in subscripts]
    n_ellipsis = max(
        (n - len(t) + 3 for t, n in zip(terms, ndims, strict=True) if "..." in t), default=0
    )
    ellipsis = "".join(unused[:n_ellipsis])
    expanded = []
    for term, ndim in zip(terms, ndims, strict=True):
        covered = ndim - len(term) + 3
        expanded.append(term.replace("...", ellipsis[n_ellipsis - covered :] if covered else ""))
    if "->" not in subscripts:  # implicit output: letters used once, in alphabetical order
        counts = Counter("".join(terms).replace(".", ""))
        output = "..." + "".join(sorted(c for c, n in counts.items() if n == 1))
    return expanded, output.replace("...", ellipsis)
