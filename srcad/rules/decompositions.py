"""Rules of ``np.linalg``'s decompositions ``eigh eigvalsh svd qr eig`` and of ``pinv lstsq
matrix_power``, on stacks of matrices as NumPy computes them (see ``linalg`` for the
conventions: ``@``, ``matrix_transpose``, diagonals by multiplying with the identity).

They follow the perturbation theory of each decomposition: a derivative through
eigenvectors or singular vectors divides by the gaps between eigenvalues or squared singular
values, so it is defined where those are distinct (as NumPy's results are continuous there).
"""

from __future__ import annotations

import numpy as np

from srcad.rules.linalg import inv_jvp, inv_vjp
from srcad.rules.registry import (
    add_tangents,
    defjvp,
    defvjp,
    is_zero_cotangent,
    matrix_transpose,
)


# --- decompositions: shared pieces ------------------------------------------------------------
def _identity(x, n):
    """The n × n identity in ``x``'s dtype (a constant)."""
    return np.eye(n, dtype=x.dtype)


def _diagonal_matrix(d):
    """A stack of vectors as a stack of diagonal matrices."""
    return np.expand_dims(d, -2) * _identity(d, np.shape(d)[-1])


def _diagonal_of(m):
    """The diagonals of a stack of matrices."""
    return np.diagonal(m, axis1=-2, axis2=-1)


def _inverse_gaps(w):
    """``F[i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it: how an eigenvector (or a
    singular vector) turns towards the others as the matrix changes."""
    identity = _identity(w, np.shape(w)[-1])
    gaps = np.expand_dims(w, -2) - np.expand_dims(w, -1)
    return (1.0 - identity) / (gaps + identity)


def _triangle_read(x_dot, uplo):
    """The symmetric matrix ``eigh`` sees when the triangle ``uplo`` of its input moves by
    ``x_dot`` (NumPy reads that triangle only)."""
    if uplo == "U":
        return np.triu(x_dot) + matrix_transpose(np.triu(x_dot, 1))
    return np.tril(x_dot) + matrix_transpose(np.tril(x_dot, -1))


def _onto_triangle(s_bar, uplo):
    """The transpose of ``_triangle_read``: a cotangent of the symmetric matrix as one of
    the triangle read (the other triangle takes none)."""
    folded = s_bar + matrix_transpose(s_bar)
    diagonal = s_bar * _identity(s_bar, np.shape(s_bar)[-1])
    if uplo == "U":
        return np.triu(folded) - diagonal
    return np.tril(folded) - diagonal


# --- eigh, eigvalsh -----------------------------------------------------------------------------
@defvjp(np.linalg.eigh)
def eigh_vjp(g, out, x, UPLO="L"):  # noqa: N803 - NumPy's name
    # A = V diag(w) V^T: dA-bar = V (diag(w-bar) + F * (V^T V-bar)) V^T, on the triangle read
    g_w, g_v = g
    w, v = out
    v_t = matrix_transpose(v)
    inner = _diagonal_matrix(g_w)
    if not is_zero_cotangent(g_v):  # eigenvalues alone: no 1 / (w_j - w_i), finite if repeated
        inner = inner + _inverse_gaps(w) * (v_t @ g_v)
    return _onto_triangle(v @ inner @ v_t, UPLO)


@defjvp(np.linalg.eigh)
def eigh_jvp(tangents, out, x, UPLO="L"):  # noqa: N803 - NumPy's name
    # with M = V^T dA V: dw = diag(M), dV = V (F * M)
    w, v = out
    m = matrix_transpose(v) @ _triangle_read(tangents[0], UPLO) @ v
    return _diagonal_of(m), v @ (_inverse_gaps(w) * m)


@defvjp(np.linalg.eigvalsh)
def eigvalsh_vjp(g, out, x, UPLO="L"):  # noqa: N803 - NumPy's name
    _, v = np.linalg.eigh(x, UPLO)
    return _onto_triangle((v * np.expand_dims(g, -2)) @ matrix_transpose(v), UPLO)


@defjvp(np.linalg.eigvalsh)
def eigvalsh_jvp(tangents, out, x, UPLO="L"):  # noqa: N803 - NumPy's name
    _, v = np.linalg.eigh(x, UPLO)
    return np.sum(v * (_triangle_read(tangents[0], UPLO) @ v), axis=-2)


# --- svd ------------------------------------------------------------------------------------------
def _check_svd(x, full_matrices, hermitian):
    if hermitian:
        raise NotImplementedError("np.linalg.svd with hermitian=True; use np.linalg.eigh")
    m, n = np.shape(x)[-2:]
    if full_matrices and m != n:
        raise NotImplementedError(
            f"np.linalg.svd of a {m} × {n} matrix with full_matrices=True (the default): "
            "the extra singular vectors are not unique; pass full_matrices=False, or "
            "compute_uv=False for the singular values alone"
        )


@defvjp(np.linalg.svd)
def svd_vjp(g, out, x, full_matrices=True, compute_uv=True, hermitian=False):
    if not compute_uv:  # d s_i = u_i^T dA v_i
        u, _, vh = np.linalg.svd(x, full_matrices=False, hermitian=hermitian)
        return (u * np.expand_dims(g, -2)) @ vh
    g_u, g_s, g_vh = g
    u, s, vh = out
    m, n = np.shape(x)[-2:]
    k = min(m, n)
    if is_zero_cotangent(g_u) and is_zero_cotangent(g_vh):  # the singular values alone
        return (u[..., :k] * np.expand_dims(g_s, -2)) @ vh[..., :k, :]
    _check_svd(x, full_matrices, hermitian)
    f = _inverse_gaps(s**2)
    u_g = matrix_transpose(u) @ g_u
    v_g = vh @ matrix_transpose(g_vh)  # V^T V-bar
    inner = (
        f * (u_g - matrix_transpose(u_g)) * np.expand_dims(s, -2)
        + _diagonal_matrix(g_s)
        + np.expand_dims(s, -1) * (f * (v_g - matrix_transpose(v_g)))
    )
    x_bar = u @ inner @ vh
    if m > k:  # the part of U-bar outside the span of U: (I - U U^T) U-bar S^-1 V^T
        x_bar = x_bar + ((g_u - u @ u_g) / np.expand_dims(s, -2)) @ vh
    if n > k:  # and of V-bar outside the span of V: U S^-1 V-bar^T (I - V V^T)
        x_bar = x_bar + u @ ((g_vh - matrix_transpose(v_g) @ vh) / np.expand_dims(s, -1))
    return x_bar


@defjvp(np.linalg.svd)
def svd_jvp(tangents, out, x, full_matrices=True, compute_uv=True, hermitian=False):
    (x_dot,) = tangents
    if not compute_uv:
        u, _, vh = np.linalg.svd(x, full_matrices=False, hermitian=hermitian)
        return np.sum(u * (x_dot @ matrix_transpose(vh)), axis=-2)
    _check_svd(x, full_matrices, hermitian)
    u, s, vh = out
    m, n = np.shape(x)[-2:]
    k = min(m, n)
    v = matrix_transpose(vh)
    p = matrix_transpose(u) @ x_dot @ v  # dA in the singular bases
    p_t = matrix_transpose(p)
    f = _inverse_gaps(s**2)
    s_row, s_column = np.expand_dims(s, -2), np.expand_dims(s, -1)
    u_dot = u @ (f * (p * s_row + s_column * p_t))
    v_dot = v @ (f * (s_column * p + p_t * s_row))
    if m > k:
        u_dot = u_dot + (x_dot @ v - u @ p) / s_row
    if n > k:
        v_dot = v_dot + (matrix_transpose(x_dot) @ u - v @ p_t) / s_row
    return u_dot, _diagonal_of(p), matrix_transpose(v_dot)


# --- qr -----------------------------------------------------------------------------------------
def _check_qr(x, mode):
    m, n = np.shape(x)[-2:]
    if mode not in ("reduced", "complete", "r") or (mode == "complete" and m > n):
        raise NotImplementedError(
            f"np.linalg.qr with mode={mode!r} of a {m} × {n} matrix (its extra columns of "
            "Q are not unique); use mode='reduced'"
        )


def _times_inverse_t(a, r):
    """``a @ inv(r)^T``, as ``solve(r, a^T)^T``."""
    return matrix_transpose(np.linalg.solve(r, matrix_transpose(a)))


def _times_inverse(a, r):
    """``a @ inv(r)``, as ``solve(r^T, a^T)^T``."""
    return matrix_transpose(np.linalg.solve(matrix_transpose(r), matrix_transpose(a)))


def _square_qr_jvp(x_dot, q, r):
    """(dQ, dR) of A = QR where Q has as many columns as A (A square or tall): with
    X = dA R^-1, C = Q^T X and Ω the antisymmetric matrix of C's strictly lower triangle,
    dR = (C - Ω) R and dQ = X - Q (C - Ω)."""
    x = _times_inverse(x_dot, r)
    c = matrix_transpose(q) @ x
    lower = np.tril(c, -1)
    upper = c - lower + matrix_transpose(lower)  # C - Ω
    return x - q @ upper, upper @ r


def _square_qr_vjp(g_q, g_r, q, r):
    """The transpose of ``_square_qr_jvp``: with N = Q^T Q-bar - R-bar R^T,
    C-bar = tril(N - N^T, -1) - N and A-bar = (Q-bar + Q C-bar) R^-T."""
    n = -(g_r @ matrix_transpose(r))
    if g_q is not None:
        n = n + matrix_transpose(q) @ g_q
    c_bar = np.tril(n - matrix_transpose(n), -1) - n
    x_bar = q @ c_bar if g_q is None else g_q + q @ c_bar
    return _times_inverse_t(x_bar, r)


def _qr_parts(x, r):
    """For a wide A = [X | Y] (m < n): X, Y and R's blocks U (m × m) and V = Q^T Y."""
    m = np.shape(x)[-2]
    x_square, y = np.split(x, (m,), axis=-1)
    r_square, r_rest = np.split(r, (m,), axis=-1)
    return x_square, y, r_square, r_rest


@defvjp(np.linalg.qr)
def qr_vjp(g, out, x, mode="reduced"):
    _check_qr(x, mode)
    if mode == "r":
        g_q, g_r = None, g
        q, r = np.linalg.qr(x)
    else:
        (g_q, g_r), (q, r) = g, out
    m, n = np.shape(x)[-2:]
    if m >= n:
        return _square_qr_vjp(g_q, g_r, q, r)
    # wide: X = Q U is a square QR and V = Q^T Y
    _, y, r_square, _ = _qr_parts(x, r)
    g_u, g_v = np.split(g_r, (m,), axis=-1)
    g_q_all = y @ matrix_transpose(g_v)
    if g_q is not None:
        g_q_all = g_q_all + g_q
    return np.concatenate([_square_qr_vjp(g_q_all, g_u, q, r_square), q @ g_v], axis=-1)


@defjvp(np.linalg.qr)
def qr_jvp(tangents, out, x, mode="reduced"):
    _check_qr(x, mode)
    (x_dot,) = tangents
    q, r = np.linalg.qr(x) if mode == "r" else out
    m, n = np.shape(x)[-2:]
    if m >= n:
        q_dot, r_dot = _square_qr_jvp(x_dot, q, r)
    else:
        _, y, r_square, _ = _qr_parts(x, r)
        x_square_dot, y_dot = np.split(x_dot, (m,), axis=-1)
        q_dot, u_dot = _square_qr_jvp(x_square_dot, q, r_square)
        v_dot = matrix_transpose(q_dot) @ y + matrix_transpose(q) @ y_dot
        r_dot = np.concatenate([u_dot, v_dot], axis=-1)
    return r_dot if mode == "r" else (q_dot, r_dot)


# --- eig ----------------------------------------------------------------------------------------
@defvjp(np.linalg.eig)
def eig_vjp(g, out, x):
    # A = V diag(w) V^-1 with unit columns v_j: with M = V^-1 dA V, dw = diag(M) and
    # dV = V (F * M) less each column's part along itself (the columns keep their length)
    g_w, g_v = g
    w, v = out
    g_v = g_v - v * np.sum(g_v * v, axis=-2, keepdims=True)
    inner = _diagonal_matrix(g_w) + _inverse_gaps(w) * (matrix_transpose(v) @ g_v)
    return np.linalg.solve(matrix_transpose(v), inner @ matrix_transpose(v))  # V^-T (.) V^T


@defjvp(np.linalg.eig)
def eig_jvp(tangents, out, x):
    w, v = out
    m = np.linalg.solve(v, tangents[0] @ v)
    v_dot = v @ (_inverse_gaps(w) * m)
    v_dot = v_dot - v * np.sum(v * v_dot, axis=-2, keepdims=True)
    return _diagonal_of(m), v_dot


@defvjp("real_spectrum")
def real_spectrum_vjp(g, out, w, v):
    return g  # the check passes the values on as they are


@defjvp("real_spectrum")
def real_spectrum_jvp(tangents, out, w, v):
    return tuple(
        np.zeros_like(x) if t is None else t for t, x in zip(tangents, (w, v), strict=True)
    )


# --- pinv, lstsq --------------------------------------------------------------------------------
def _check_pinv(hermitian):
    if hermitian:
        raise NotImplementedError("np.linalg.pinv with hermitian=True; leave it False")


def _pinv_vjp(g, p, a):
    """The cotangent of ``a`` from that of P = pinv(a), for a constant rank (Golub and
    Pereyra): -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)."""
    p_t, g_t = matrix_transpose(p), matrix_transpose(g)
    m, n = np.shape(a)[-2:]
    left = _identity(a, m) - a @ p
    right = _identity(a, n) - p @ a
    return -(p_t @ g @ p_t) + left @ g_t @ (p @ p_t) + (p_t @ p) @ g_t @ right


def _pinv_jvp(a_dot, p, a):
    """d pinv(A) = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P."""
    p_t, a_dot_t = matrix_transpose(p), matrix_transpose(a_dot)
    m, n = np.shape(a)[-2:]
    left = _identity(a, m) - a @ p
    right = _identity(a, n) - p @ a
    return -(p @ a_dot @ p) + (p @ p_t) @ a_dot_t @ left + right @ a_dot_t @ (p_t @ p)


@defvjp(np.linalg.pinv)
def pinv_vjp(g, out, x, rcond=None, hermitian=False, rtol=None):
    _check_pinv(hermitian)
    return _pinv_vjp(g, out, x)


@defjvp(np.linalg.pinv)
def pinv_jvp(tangents, out, x, rcond=None, hermitian=False, rtol=None):
    _check_pinv(hermitian)
    return _pinv_jvp(tangents[0], out, x)


def _as_matrix(b):
    """A right-hand side as a matrix (a vector as one column)."""
    return np.expand_dims(b, -1) if np.ndim(b) == 1 else b


def _check_lstsq(a, residuals):
    """NumPy returns the residuals of a tall A only where A has full rank. A compile-time
    shape without residuals for a tall A may hide some at run time, which the code around
    would then treat with the wrong shape: refuse rather than guess."""
    m, n = np.shape(a)
    if m > n and np.size(residuals) == 0:
        raise NotImplementedError(
            f"np.linalg.lstsq of a {m} × {n} matrix: srcad cannot tell when it compiles "
            "whether NumPy returns residuals (only for full rank); use np.linalg.pinv(a) @ b"
        )


def _lstsq_pinv(a, rcond):
    """The pseudo-inverse with lstsq's cut-off (default: machine precision times the
    larger dimension), so that both agree on the rank."""
    if rcond is None:
        rcond = max(np.shape(a)) * float(np.finfo(np.dtype(a.dtype)).eps)
    return np.linalg.pinv(a, rcond)


def _residual_weights(g_res, b, residuals):
    """The residuals' cotangents as what scales the columns of the error: a scalar for one
    right-hand side, else a row. Multiplied by ones of the residuals' run-time shape, they
    vanish (one right-hand side) or fail to broadcast (several) where NumPy returns no
    residuals (A rank deficient) although the compiled shapes have them."""
    present = g_res * np.ones_like(residuals)
    if np.ndim(b) == 1 or np.shape(b)[1] == 1:
        return np.sum(present)
    return np.expand_dims(present, -2)


@defvjp(np.linalg.lstsq)
def lstsq_vjp(g, out, a, b, rcond=None):
    # x = pinv(A) b (the minimum-norm least-squares solution, for a constant rank); the
    # residuals are min ||A x - b||^2, whose derivative is taken at the minimum x
    g_x, g_res, _, g_s = g
    x, residuals, _, _ = out
    _check_lstsq(a, residuals)
    p = _lstsq_pinv(a, rcond)
    g_x, x_matrix, b_matrix = _as_matrix(g_x), _as_matrix(x), _as_matrix(b)
    a_bar = _pinv_vjp(g_x @ matrix_transpose(b_matrix), p, a)
    b_bar = matrix_transpose(p) @ g_x
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    a_bar = a_bar + (u * np.expand_dims(g_s, -2)) @ vh
    if np.shape(a)[0] > np.shape(a)[1]:  # tall: residuals where A has full rank
        error = (a @ x_matrix - b_matrix) * _residual_weights(g_res, b, residuals)
        a_bar = a_bar + 2.0 * error @ matrix_transpose(x_matrix)
        b_bar = b_bar - 2.0 * error
    return a_bar, np.reshape(b_bar, np.shape(b))


@defjvp(np.linalg.lstsq)
def lstsq_jvp(tangents, out, a, b, rcond=None):
    a_dot, b_dot = tangents
    x, residuals, _, _ = out
    _check_lstsq(a, residuals)
    p = _lstsq_pinv(a, rcond)
    x_dot = None if b_dot is None else p @ b_dot
    res_dot = s_dot = None
    if a_dot is not None:
        x_dot = add_tangents(x_dot, _pinv_jvp(a_dot, p, a) @ b)
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        s_dot = np.sum(u * (a_dot @ matrix_transpose(vh)), axis=-2)
    if np.size(residuals) > 0:
        error = a @ x - b
        moved = add_tangents(
            None if a_dot is None else a_dot @ x, None if b_dot is None else -b_dot
        )
        res_dot = 2.0 * np.sum(error * moved, axis=0, keepdims=np.ndim(b) == 1)
        res_dot = res_dot * np.ones_like(residuals)  # see _residual_weights
    return x_dot, res_dot, None, s_dot


# --- matrix_power -------------------------------------------------------------------------------
def _powers(a, count):
    """``[None, a, a @ a, ...]``: the first ``count`` powers of ``a`` (None for the
    identity, which no product needs)."""
    powers = [None, a] if count > 1 else [None]
    while len(powers) < count:
        powers.append(powers[-1] @ a)
    return powers[:count]


def _power_terms(left, middle, right, n):
    """The sum over j < n of ``left^j @ middle @ right^(n-1-j)``: the derivative of the
    n-th power in the direction ``middle``."""
    lefts, rights = _powers(left, n), _powers(right, n)
    terms = []
    for j in range(n):
        term = middle if lefts[j] is None else lefts[j] @ middle
        terms.append(term if rights[n - 1 - j] is None else term @ rights[n - 1 - j])
    return add_tangents(*terms)


@defvjp(np.linalg.matrix_power)
def matrix_power_vjp(g, out, x, n):
    if n == 0:
        return None
    base = x if n > 0 else np.linalg.inv(x)
    base_t = matrix_transpose(base)
    g_base = _power_terms(base_t, g, base_t, abs(n))
    return g_base if n > 0 else inv_vjp(g_base, base, x)


@defjvp(np.linalg.matrix_power)
def matrix_power_jvp(tangents, out, x, n):
    if n == 0:
        return None
    base = x if n > 0 else np.linalg.inv(x)
    base_dot = tangents[0] if n > 0 else inv_jvp(tangents, base, x)
    return _power_terms(base, base_dot, base, abs(n))
