"""Rules of products and linear algebra: ``matmul dot vdot inner outer tensordot einsum kron
cross vecdot trace`` and ``np.linalg``'s ``inv det slogdet solve cholesky norm`` (the
decompositions ``eigh eigvalsh svd qr eig`` and ``pinv lstsq matrix_power`` are in
``decompositions``).

The layout of each cotangent depends on the ranks of the operands, which are static, so the
rule picks the product that avoids transposes and length-one axes: for ``W @ x`` with a
vector ``x`` the cotangent of ``W`` is ``np.outer(g, x)``. Products of any rank go through
``einsum``: the cotangent of one operand is the einsum of the output cotangent with the
other operands, ``ij,jk->ik`` giving ``ik,jk->ij`` for the first operand. The products are
linear in each operand, so their forward rules come from ``defbilinear``
(``x_dot @ y + x @ y_dot``).

``np.linalg`` works on stacks of matrices, so the rules do too: every product is ``@`` (or
an einsum with ``...``), every transpose swaps the last two axes (``matrix_transpose``), and
vectors of a stack (eigenvalues, singular values) become diagonals by multiplying with the
identity. The rules of the decompositions follow the perturbation theory of each: a
derivative through eigenvectors or singular vectors divides by the gaps between eigenvalues
or squared singular values, so it is defined where those are distinct (as NumPy's results
are continuous there).
"""

from __future__ import annotations

import string
from collections.abc import Iterator

import numpy as np

from srcad.ir.products import einsum_terms, tensordot_terms
from srcad.rules.registry import (
    defbilinear,
    defjvp,
    deflinear,
    defvjp,
    expand_reduced,
    matrix_transpose,
    product_rule,
    unbroadcast,
)


# --- matmul, dot, vdot, inner, outer ----------------------------------------------------------
@defvjp(np.matmul)
def matmul_vjp(g, out, x, y):
    x_ndim, y_ndim = np.ndim(x), np.ndim(y)
    if x_ndim == 1 and y_ndim == 1:
        return g * y, g * x
    if x_ndim == 1 and y_ndim == 2:
        return y @ g, np.outer(x, g)
    if x_ndim == 2 and y_ndim == 1:
        return np.outer(g, y), g @ x
    if x_ndim == 1:  # treat x as a one-row matrix
        dx, dy = matmul_vjp(np.expand_dims(g, -2), None, np.expand_dims(x, 0), y)
        return np.reshape(dx, np.shape(x)), dy
    if y_ndim == 1:  # treat y as a one-column matrix
        dx, dy = matmul_vjp(np.expand_dims(g, -1), None, x, np.expand_dims(y, -1))
        return dx, np.reshape(dy, np.shape(y))
    if x_ndim == 2 and y_ndim == 2 and 1 in (np.shape(x)[0], np.shape(y)[1]):
        return _matmul_vjp_single(g, x, y)
    return unbroadcast(g @ matrix_transpose(y), x), unbroadcast(matrix_transpose(x) @ g, y)


def _matmul_vjp_single(g, x, y):
    """A one-row ``x`` or one-column ``y``: the products with a length-1 contraction are
    outer products. ``np.outer`` says so in the generated code (a broadcast product such as
    ``g * y.T`` would read as an elementwise rule) and, like broadcasting, is far faster than
    a matrix product with an inner dimension of 1."""
    if np.shape(x)[0] == 1:
        dy = np.outer(x, g)  # x.T @ g, x.T one column and g one row
    else:
        dy = matrix_transpose(x) @ g
    if np.shape(y)[1] == 1:
        dx = np.outer(g, y)  # g @ y.T, g one column and y.T one row
    else:
        dx = g @ matrix_transpose(y)
    return dx, dy


defbilinear(np.matmul)


@defvjp(np.dot)
def dot_vjp(g, out, x, y):
    x_ndim, y_ndim = np.ndim(x), np.ndim(y)
    if x_ndim == 0 or y_ndim == 0:
        return unbroadcast(g * y, x), unbroadcast(g * x, y)
    if x_ndim <= 2 and y_ndim <= 2:
        return matmul_vjp(g, out, x, y)
    # the last axis of x with the second-to-last (or only) axis of y
    axes = ((x_ndim - 1,), (max(y_ndim - 2, 0),))
    return tuple(_einsum_vjps(g, *tensordot_terms(x_ndim, y_ndim, axes), (x, y)))


defbilinear(np.dot)


@defvjp(np.vdot)
def vdot_vjp(g, out, x, y):
    # the sum of the flattened product: the shapes may differ when the sizes agree
    return g * np.reshape(y, np.shape(x)), g * np.reshape(x, np.shape(y))


defbilinear(np.vdot)


@defvjp(np.inner)
def inner_vjp(g, out, x, y):
    x_ndim, y_ndim = np.ndim(x), np.ndim(y)
    if x_ndim == 0 or y_ndim == 0:
        return unbroadcast(g * y, x), unbroadcast(g * x, y)
    axes = ((x_ndim - 1,), (y_ndim - 1,))
    return tuple(_einsum_vjps(g, *tensordot_terms(x_ndim, y_ndim, axes), (x, y)))


defbilinear(np.inner)


@defvjp(np.outer)
def outer_vjp(g, out, x, y):
    dx = np.reshape(g @ np.reshape(y, (-1,)), np.shape(x))
    dy = np.reshape(np.reshape(x, (-1,)) @ g, np.shape(y))
    return dx, dy


defbilinear(np.outer)


@defvjp(np.convolve)
def convolve_vjp(g, out, a, v, mode="full"):
    # c = a * v (full): dc/da is a correlation with v, dc/dv one with a; another mode's
    # output is a slice of the full one, so its cotangent goes back in its place first
    n, m = np.shape(a)[0], np.shape(v)[0]
    g_full = _in_full_convolution(g, n, m, mode)
    return np.convolve(g_full, v[::-1], mode="valid"), np.convolve(g_full, a[::-1], mode="valid")


def _in_full_convolution(g, n, m, mode):
    """The cotangent of ``np.convolve(a, v, mode)`` placed where ``mode`` cut it from the
    full convolution (length ``n + m - 1``)."""
    if mode == "full":
        return g
    start = min(n, m) - 1 if mode == "valid" else (min(n, m) - 1) // 2
    return np.pad(g, (start, n + m - 1 - start - np.shape(g)[0]))


defbilinear(np.convolve)


# --- tensordot and einsum ---------------------------------------------------------------------
@defvjp(np.tensordot)
def tensordot_vjp(g, out, x, y, axes=2):
    terms, out_term = tensordot_terms(np.ndim(x), np.ndim(y), axes)
    return tuple(_einsum_vjps(g, terms, out_term, (x, y)))


defbilinear(np.tensordot, defaults={"axes": 2})


@defvjp(np.einsum)
def einsum_vjp(g, out, *operands, subscripts):
    terms, out_term = einsum_terms(subscripts, [np.ndim(a) for a in operands])
    return tuple(_einsum_vjps(g, terms, out_term, operands))


defbilinear(np.einsum)


def _einsum_vjps(g, terms: list[str], out_term: str, operands: tuple) -> list:
    """The cotangent of each operand of ``einsum(terms -> out_term)``."""
    sizes: dict[str, int] = {}
    for term, operand in zip(terms, operands, strict=True):
        for letter, size in zip(term, np.shape(operand), strict=True):
            sizes[letter] = max(sizes.get(letter, 1), size)
    fresh = iter(c for c in string.ascii_letters if c not in "".join(terms) + out_term)
    results = []
    for i, (term, operand) in enumerate(zip(terms, operands, strict=True)):
        other_terms = [t for j, t in enumerate(terms) if j != i]
        others = [a for j, a in enumerate(operands) if j != i]
        term, diagonals = _distinct_letters(term, fresh, sizes)
        # a letter repeated in the operand reads its diagonal: the cotangent goes back onto
        # it, through an identity matrix per repeat ('ii' gets g * eye)
        identities = [np.eye(sizes[pair[0]], dtype=operand.dtype) for pair in diagonals]
        present = set(out_term).union(*other_terms, *diagonals)
        kept = "".join(c for c in term if c in present)
        inputs = ",".join([out_term, *other_terms, *diagonals])
        result = np.einsum(inputs + "->" + kept, g, *others, *identities)
        if kept != term:  # letters summed within this operand only: spread back along them
            result = np.reshape(result, tuple(sizes[c] if c in present else 1 for c in term))
            result = np.broadcast_to(result, tuple(sizes[c] for c in term))
        results.append(unbroadcast(result, operand))
    return results


def _distinct_letters(
    term: str, fresh: Iterator[str], sizes: dict[str, int]
) -> tuple[str, list[str]]:
    """``term`` with each repeat of a letter renamed to a fresh one (``lli`` -> ``lmi``),
    and the pairs that the renaming split (``["lm"]``)."""
    letters, pairs = [], []
    for letter in term:
        if letter in letters:
            renamed = next(fresh)
            sizes[renamed] = sizes[letter]
            pairs.append(letter + renamed)
            letter = renamed
        letters.append(letter)
    return "".join(letters), pairs


# --- kron, cross, vecdot, trace ---------------------------------------------------------------
@defvjp(np.kron)
def kron_vjp(g, out, x, y):
    # out[i*p + k, j*q + l] = x[i, j] y[k, l]: split every axis of g into its x and y parts
    ndim = max(np.ndim(x), np.ndim(y))
    x_shape = (1,) * (ndim - np.ndim(x)) + np.shape(x)
    y_shape = (1,) * (ndim - np.ndim(y)) + np.shape(y)
    split = np.reshape(g, tuple(n for pair in zip(x_shape, y_shape, strict=True) for n in pair))
    x_term, y_term = string.ascii_letters[:ndim], string.ascii_letters[ndim : 2 * ndim]
    g_term = "".join(a + b for a, b in zip(x_term, y_term, strict=True))
    dx = np.einsum(f"{g_term},{y_term}->{x_term}", split, np.reshape(y, y_shape))
    dy = np.einsum(f"{g_term},{x_term}->{y_term}", split, np.reshape(x, x_shape))
    return np.reshape(dx, np.shape(x)), np.reshape(dy, np.shape(y))


defbilinear(np.kron)


@defvjp(np.cross)
def cross_vjp(g, out, x, y, axisa=-1, axisb=-1, axisc=-1, axis=None):
    # <g, x × y> = <y × g, x> = <g × x, y>, with the vectors along the last axis
    if axis is not None:
        axisa = axisb = axisc = axis
    x_last, y_last = _to_last(x, axisa), _to_last(y, axisb)
    if np.shape(x_last)[-1] != 3 or np.shape(y_last)[-1] != 3:
        raise NotImplementedError("np.cross of 2-vectors (deprecated by NumPy); pad them to 3")
    g_last = _to_last(g, axisc)
    dx = unbroadcast(np.cross(y_last, g_last), x_last)
    dy = unbroadcast(np.cross(g_last, x_last), y_last)
    return _from_last(dx, axisa), _from_last(dy, axisb)


def _to_last(x, axis):
    """``x`` with ``axis`` moved to the end (``x`` itself when it is there already)."""
    return x if axis % np.ndim(x) == np.ndim(x) - 1 else np.moveaxis(x, axis, -1)


def _from_last(x, axis):
    """The inverse of ``_to_last``."""
    return x if axis % np.ndim(x) == np.ndim(x) - 1 else np.moveaxis(x, -1, axis)


defbilinear(np.cross)


@defvjp(np.vecdot)
def vecdot_vjp(g, out, x, y, axis=-1):
    g = np.expand_dims(g, axis % max(np.ndim(x), np.ndim(y)))
    return unbroadcast(g * y, x), unbroadcast(g * x, y)


@defjvp(np.vecdot)
def vecdot_jvp(tangents, out, x, y, axis=-1):
    return product_rule(_vecdot, tangents, x, y, axis=axis)


def _vecdot(x, y, axis=-1):
    """``np.vecdot`` of real arrays; along another axis than the last, the sum of the
    product (a gufunc's ``axis=`` keyword is not recorded on traced values)."""
    if axis == -1:
        return np.vecdot(x, y)
    return np.sum(x * y, axis=axis)


@defvjp(np.trace)
def trace_vjp(g, out, x, offset=0, axis1=0, axis2=1, dtype=None):
    ndim = np.ndim(x)
    axis1, axis2 = axis1 % ndim, axis2 % ndim
    diagonal = np.eye(np.shape(x)[axis1], np.shape(x)[axis2], k=offset, dtype=x.dtype)
    if axis1 > axis2:
        axis1, axis2, diagonal = axis2, axis1, diagonal.T
    mask_shape = [1] * ndim
    mask_shape[axis1], mask_shape[axis2] = diagonal.shape
    return np.expand_dims(g, (axis1, axis2)) * np.reshape(diagonal, tuple(mask_shape))


deflinear(np.trace, defaults={"offset": 0, "axis1": 0, "axis2": 1})


# --- np.linalg ----------------------------------------------------------------------------------
@defvjp(np.linalg.inv)
def inv_vjp(g, out, x):
    # d inv(A) = -inv(A) dA inv(A)
    inv_t = matrix_transpose(out)
    return -(inv_t @ g @ inv_t)


@defjvp(np.linalg.inv)
def inv_jvp(tangents, out, x):
    (x_dot,) = tangents
    return -(out @ x_dot @ out)


def _log_det_gradient(x):
    """d log|det A| / dA = inv(A)^T."""
    return matrix_transpose(np.linalg.inv(x))


def _matrix_scalar(value):
    return np.expand_dims(value, (-2, -1))


def _cofactors(x, out):
    """d det(A) / dA, the cofactor matrix: for 1 x 1 to 3 x 3 matrices the polynomials of
    their entries (finite and exact at a singular matrix too, and so their derivatives:
    rows of cross products for 3 x 3), else det(A) inv(A)^T."""
    n = np.shape(x)[-1]
    if n == 1:
        return np.ones_like(x)
    if n == 2:
        a, b, c, d = x[..., 0, 0], x[..., 0, 1], x[..., 1, 0], x[..., 1, 1]
        return np.stack([np.stack([d, -c], axis=-1), np.stack([-b, a], axis=-1)], axis=-2)
    if n == 3:
        r0, r1, r2 = x[..., 0, :], x[..., 1, :], x[..., 2, :]
        rows = [np.cross(r1, r2), np.cross(r2, r0), np.cross(r0, r1)]
        return np.stack(rows, axis=-2)
    return _matrix_scalar(out) * _log_det_gradient(x)


@defvjp(np.linalg.det)
def det_vjp(g, out, x):
    return _matrix_scalar(g) * _cofactors(x, out)


@defjvp(np.linalg.det)
def det_jvp(tangents, out, x):
    (x_dot,) = tangents
    return np.sum(_cofactors(x, out) * x_dot, axis=(-2, -1))


@defvjp(np.linalg.slogdet)
def slogdet_vjp(g, out, x):
    _, g_logdet = g  # the sign is piecewise constant
    return _matrix_scalar(g_logdet) * _log_det_gradient(x)


@defjvp(np.linalg.slogdet)
def slogdet_jvp(tangents, out, x):
    (x_dot,) = tangents
    return None, np.sum(_log_det_gradient(x) * x_dot, axis=(-2, -1))


def _solve(a, b, is_vector):
    """``solve`` with ``b`` as a (batch of) vector(s) when ``is_vector``, whatever its rank."""
    if not is_vector:
        return np.linalg.solve(a, b)
    return np.squeeze(np.linalg.solve(a, np.expand_dims(b, -1)), axis=-1)


@defvjp(np.linalg.solve)
def solve_vjp(g, out, a, b):
    # x = inv(A) b: db = inv(A)^T g, dA = -db x^T
    is_vector = np.ndim(b) == 1
    db = _solve(matrix_transpose(a), g, is_vector)
    if is_vector:
        da = -(np.expand_dims(db, -1) * np.expand_dims(out, -2))
    else:
        da = -(db @ matrix_transpose(out))
    return unbroadcast(da, a), unbroadcast(db, b)


@defjvp(np.linalg.solve)
def solve_jvp(tangents, out, a, b):
    a_dot, b_dot = tangents
    is_vector = np.ndim(b) == 1
    if a_dot is None:
        rhs = b_dot
    else:
        moved = _solve_matvec(a_dot, out, is_vector)
        rhs = -moved if b_dot is None else b_dot - moved
    return _solve(a, rhs, is_vector)


def _solve_matvec(a, x, is_vector):
    return np.squeeze(a @ np.expand_dims(x, -1), axis=-1) if is_vector else a @ x


def _phi(x):
    """The lower triangle with the diagonal halved."""
    return np.tril(x) - 0.5 * x * np.eye(np.shape(x)[-1], dtype=x.dtype)


@defvjp(np.linalg.cholesky)
def cholesky_vjp(g, out, x, upper=False):
    # NumPy reads only the lower triangle of A = L L^T (the upper one when upper=True):
    # with S = L^-T phi(L^T dL) L^-1, dA = tril(S + S^T) - diag(S).
    if upper:  # U = L^T
        lower_g, lower = matrix_transpose(g), matrix_transpose(out)
        return matrix_transpose(_cholesky_lower_vjp(lower_g, lower))
    return _cholesky_lower_vjp(g, out)


def _cholesky_lower_vjp(g, lower):
    inverse = np.linalg.inv(lower)
    inverse_t = matrix_transpose(inverse)
    s = inverse_t @ _phi(matrix_transpose(lower) @ g) @ inverse
    diagonal = np.eye(np.shape(lower)[-1], dtype=lower.dtype)
    return np.tril(s + matrix_transpose(s)) - s * diagonal


@defjvp(np.linalg.cholesky)
def cholesky_jvp(tangents, out, x, upper=False):
    # dL = L phi(L^-1 dA L^-T), with dA symmetrised from the triangle NumPy reads
    (x_dot,) = tangents
    if upper:
        x_dot, lower = matrix_transpose(x_dot), matrix_transpose(out)
    else:
        lower = out
    symmetric = np.tril(x_dot) + matrix_transpose(np.tril(x_dot, -1))
    inverse = np.linalg.inv(lower)
    lower_dot = lower @ _phi(inverse @ symmetric @ matrix_transpose(inverse))
    return matrix_transpose(lower_dot) if upper else lower_dot


@defvjp(np.linalg.norm)
def norm_vjp(g, out, x, ord=None, axis=None, keepdims=False):
    return expand_reduced(g, axis, keepdims) * _norm_slope(out, x, ord, axis, keepdims)


@defjvp(np.linalg.norm)
def norm_jvp(tangents, out, x, ord=None, axis=None, keepdims=False):
    (x_dot,) = tangents
    slope = _norm_slope(out, x, ord, axis, keepdims)
    return np.sum(slope * x_dot, axis=axis, keepdims=keepdims)


def _norm_slope(out, x, ord, axis, keepdims):
    """d norm / dx, in the shape of ``x``."""
    n_axes = np.ndim(x) if axis is None else len(axis) if isinstance(axis, tuple) else 1
    norm = expand_reduced(out, axis, keepdims)
    if ord is None or ord == "fro" or (ord == 2 and n_axes == 1):
        return x / np.where(norm == 0.0, 1.0, norm)  # at 0 the subgradient 0, not 0 / 0
    if n_axes == 2:
        rows, columns = (0, 1) if axis is None else axis
        matrices = np.moveaxis(x, (rows, columns), (-2, -1))
        slope = _matrix_norm_slope(matrices, ord)
        return np.moveaxis(slope, (-2, -1), (rows, columns))
    if ord in (np.inf, -np.inf):  # only the largest (smallest) magnitudes count
        is_extremum = np.abs(x) == norm
        ties = np.sum(is_extremum, axis=axis, keepdims=True, dtype=x.dtype)
        return np.where(is_extremum, np.sign(x), 0.0) / ties
    if ord == 0:  # counts nonzero elements: piecewise constant
        return np.zeros_like(x)
    # d (sum |x|^p)^(1/p) = sign(x) |x|^(p-1) / norm^(p-1); at 0 the subgradient 0
    return np.sign(x) * (np.abs(x) / np.where(norm == 0.0, 1.0, norm)) ** (ord - 1)


def _matrix_norm_slope(x, ord):
    """d norm / dx of the matrix norms of a stack (the last two axes): the nuclear norm's
    is U V^T (the sum of the singular values), the 2-norm's u_1 v_1^T (the largest one's;
    -2: the smallest), the 1-norm's sign(x) in the column of largest absolute sum (ties
    share it; -1: the smallest; inf and -inf: the same with rows)."""
    if ord in ("nuc", 2, -2):
        u, _, vh = np.linalg.svd(x, full_matrices=False)
        if ord == "nuc":
            return u @ vh
        pick = slice(0, 1) if ord == 2 else slice(-1, None)
        return u[..., :, pick] @ vh[..., pick, :]
    if ord in (1, -1, np.inf, -np.inf):
        summed, compared = (-2, -1) if ord in (1, -1) else (-1, -2)
        sums = np.sum(np.abs(x), axis=summed, keepdims=True)
        pick = np.max if ord > 0 else np.min
        is_picked = sums == pick(sums, axis=compared, keepdims=True)
        ties = np.sum(is_picked, axis=compared, keepdims=True, dtype=x.dtype)
        return np.sign(x) * (is_picked / ties)
    raise NotImplementedError(f"the gradient of the matrix norm ord={ord!r}")
