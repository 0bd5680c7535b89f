"""NumPy: elementwise math, reductions, linear algebra, shapes, joins, where/maximum/clip."""

from __future__ import annotations

import numpy as np

# --- elementwise ----------------------------------------------------------------------------


def elementwise_trig_exp(x):
    return np.sum(np.sin(x) * np.cos(x) + np.exp(-(x**2)) + np.tanh(x))


def elementwise_logs(x):
    return np.sum(np.log(x) + np.sqrt(x) + np.log1p(x) + np.log2(x) * np.log10(x + 1.0))


def elementwise_more(x):
    return np.sum(
        np.arctan(x) + np.sinh(x) * 0.3 + np.cosh(x) * 0.2 + np.expm1(x) + np.exp2(x) * 0.1
    )


def elementwise_power_forms(x):
    return np.sum(np.square(x) + np.reciprocal(x) + np.cbrt(x) + np.power(x, 2.5) + x**-1.5)


def elementwise_inverse_trig(x):
    return np.sum(np.arcsin(x) * np.arccos(x) + np.arctanh(x) + np.arcsinh(x))


def elementwise_abs(x):
    return np.sum(np.abs(x) * x + np.absolute(x) ** 0.5)


def elementwise_binary(x, y):
    return np.sum(np.arctan2(y, x) + np.hypot(x, y) + np.logaddexp(x, y))


def array_power_array(x, y):
    return np.sum(x**y + np.power(y, x))


def division_and_negation(x, y):
    return np.sum(-x / y + (1.0 - x) / (2.0 + y * y))


# --- reductions -----------------------------------------------------------------------------


def reductions_axis(a):
    return np.sum(np.sum(a, axis=0) ** 2) + np.sum(np.mean(a, axis=1) ** 3)


def reductions_keepdims(a):
    centered = a - np.mean(a, axis=1, keepdims=True)
    return np.sum(centered**2 / np.sum(a**2, axis=0, keepdims=True))


def reductions_max_min(a):
    return np.sum(np.max(a, axis=0)) - np.min(a) + np.sum(a.max(axis=1, keepdims=True) * a)


def reductions_var_std(a):
    return np.sum(np.var(a, axis=0)) + np.std(a) + np.sum(a.std(axis=1))


def reductions_prod(x):
    return np.prod(x) + np.sum(np.prod(x.reshape(2, 3), axis=1))


def reductions_tuple_axis(a):
    return np.sum(np.mean(a**2, axis=(0, 2)) * np.array([1.0, 2.0, 3.0]))


def array_methods(x, y):
    return x.sum() * y.mean() + x.dot(y) + (x * y).max() + x.T.sum()


def cumsum_cumprod(x):
    return np.sum(np.cumsum(x) ** 2) + np.sum(np.cumprod(x))


def cumsum_axis(a):
    return np.sum(np.cumsum(a, axis=1) * a)


def diff_and_sort(x):
    return np.sum(np.diff(x) ** 2) + np.sum(np.sort(x) * np.arange(5.0))


# --- linear algebra -------------------------------------------------------------------------


def matmul(a, b):
    return np.sum(a @ b)


def matvec_chain(a, x):
    return np.sum(np.tanh(a @ x) * (a.T @ (a @ x)))


def dot_outer(x, y):
    return np.dot(x, y) + np.sum(np.outer(x, y) ** 2)


def dot_matrix(a, b):
    return np.sum(np.dot(a, b) * a)


def einsum_bilinear(a, x, y):
    return np.einsum("i,ij,j->", x, a, y)


def trace_diag(a):
    return np.trace(a @ a) + np.sum(np.diag(a) ** 2)


def linalg_inv(a):
    return np.sum(np.linalg.inv(a))


def linalg_det(a):
    return np.linalg.det(a)


def linalg_solve(a, b):
    return np.sum(np.linalg.solve(a, b) ** 2)


def linalg_solve_matrix(a, b):
    return np.sum(np.linalg.solve(a, b))


def linalg_norms(x, a):
    return np.linalg.norm(x) + np.linalg.norm(a) + np.sum(np.linalg.norm(a, axis=1))


def linalg_slogdet(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet


def linalg_cholesky(a):
    spd = a @ a.T + 3.0 * np.eye(3)
    return np.sum(np.linalg.cholesky(spd))


def quadratic_form(a, x):
    return x @ a @ x


# --- shapes and joins -----------------------------------------------------------------------


def reshape_transpose(x):
    a = x.reshape(3, 4)
    b = a.T
    return np.sum(b @ a * np.arange(16.0).reshape(4, 4))


def reshape_minus_one(x):
    return np.sum(np.reshape(x, (-1, 2)) ** 2 * np.array([1.0, 3.0]))


def transpose_axes(a):
    return np.sum(np.transpose(a, (2, 0, 1)) * np.arange(12.0).reshape(2, 3, 2))


def concatenate_stack(x, y):
    c = np.concatenate([x, y * 2.0])
    s = np.stack([x, y], axis=1)
    return np.sum(c**2) + np.sum(s[:, 0] * s[:, 1])


def hstack_vstack(x, y):
    return np.sum(np.hstack([x, y]) ** 3) + np.sum(np.vstack([x, y]) @ np.ones(3))


def squeeze_expand(x):
    a = np.expand_dims(x, 0)
    return np.sum(np.squeeze(a) * x) + np.sum(a.ravel())


def flip_roll_tile(x):
    return np.sum(np.flip(x) * np.roll(x, 2)) + np.sum(np.tile(x, 2) ** 2)


def broadcasting(x, y):
    return np.sum(np.exp(-((x[:, None] - y[None, :]) ** 2)))


def triu_tril(a):
    return np.sum(np.triu(a) ** 2) + np.sum(np.tril(a, -1))


# --- selection -------------------------------------------------------------------------------


def where_on_data(x):
    return np.sum(np.where(x > 0, x**2, np.sin(x)))


def maximum_minimum(x, y):
    return np.sum(np.maximum(x, y) * 2.0 + np.minimum(x, y) ** 2)


def relu(x):
    return np.sum(np.maximum(x, 0.0) ** 2)


def clip_values(x):
    return np.sum(np.clip(x, -1.0, 1.0) * x)


# --- small models ---------------------------------------------------------------------------


def softmax_cross_entropy(logits, labels):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(logits.shape[0]), labels])


def layer_norm(x, gamma, beta):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + 1e-5) * gamma + beta
    return np.sum(y * np.arange(4.0))


def attention(q, k, v):
    scores = q @ k.T / np.sqrt(q.shape[1])
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights = weights / weights.sum(axis=1, keepdims=True)
    return np.sum((weights @ v) ** 2)


def mlp_two_layers(w1, b1, w2, x):
    h = np.tanh(x @ w1 + b1)
    return np.mean((h @ w2) ** 2)


def _invertible(rng, n):
    return rng.normal(size=(n, n)) + 3.0 * np.eye(n)


def _separated(rng, size):
    x = rng.normal(size=size)
    return x, x + rng.choice([-1.0, 1.0], size=size) * rng.uniform(0.3, 1.0, size=size)


def array_methods_with_keywords(x):
    """Methods take the keywords of their NumPy functions (and generated code uses them)."""
    spread = x.std(axis=0, ddof=1) + x.var(axis=1, keepdims=True).sum()
    peaks = x.max(axis=1, keepdims=True) * x.sum(axis=0, dtype=np.float64, keepdims=True)
    shuffled = x.reshape(3, 2, order="F").astype(np.float64, copy=False)
    return np.sum(spread) + np.sum(peaks) + np.sum(shuffled.clip(-0.5, 0.5) ** 2)


def take_with_a_list(M):
    return np.sum(np.take(M, [2, 0, 0], axis=1) ** 2)


def array_literal_of_values(x):
    v = np.array([[x[0] * x[1], x[2]], [1.0, x[0]]])
    return np.sum(v**2) + np.sum(np.array(x) * 3.0)


def diagonal_method(A):
    return np.sum(A.diagonal() ** 2) + A.trace()


CASES = [
    (elementwise_trig_exp, lambda rng: (rng.normal(size=5),), 0),
    (elementwise_logs, lambda rng: (rng.uniform(0.5, 2.0, size=5),), 0),
    (elementwise_more, lambda rng: (rng.normal(size=5),), 0),
    (elementwise_power_forms, lambda rng: (rng.uniform(0.5, 2.0, size=5),), 0),
    (elementwise_inverse_trig, lambda rng: (rng.uniform(-0.7, 0.7, size=5),), 0),
    (
        elementwise_abs,
        lambda rng: (rng.uniform(0.3, 1.5, size=5) * np.array([1, -1, 1, -1, 1]),),
        0,
    ),
    (elementwise_binary, lambda rng: (rng.normal(size=4), rng.normal(size=4)), (0, 1)),
    (
        array_power_array,
        lambda rng: (rng.uniform(0.5, 2.0, size=4), rng.uniform(0.5, 2.0, size=4)),
        (0, 1),
    ),
    (
        division_and_negation,
        lambda rng: (rng.normal(size=4), rng.uniform(1.0, 2.0, size=4)),
        (0, 1),
    ),
    (reductions_axis, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (reductions_keepdims, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (reductions_max_min, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (reductions_var_std, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (reductions_prod, lambda rng: (rng.uniform(0.5, 1.5, size=6),), 0),
    (reductions_tuple_axis, lambda rng: (rng.normal(size=(2, 3, 2)),), 0),
    (array_methods, lambda rng: (rng.normal(size=4), rng.normal(size=4)), (0, 1)),
    (cumsum_cumprod, lambda rng: (rng.uniform(0.5, 1.5, size=5),), 0),
    (cumsum_axis, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (diff_and_sort, lambda rng: (rng.normal(size=5),), 0),
    (matmul, lambda rng: (rng.normal(size=(2, 3)), rng.normal(size=(3, 4))), (0, 1)),
    (matvec_chain, lambda rng: (rng.normal(size=(3, 3)), rng.normal(size=3)), (0, 1)),
    (dot_outer, lambda rng: (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (dot_matrix, lambda rng: (rng.normal(size=(3, 3)), rng.normal(size=(3, 3))), (0, 1)),
    (
        einsum_bilinear,
        lambda rng: (rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4)),
        (0, 1, 2),
    ),
    (trace_diag, lambda rng: (rng.normal(size=(3, 3)),), 0),
    (linalg_inv, lambda rng: (_invertible(rng, 3),), 0),
    (linalg_det, lambda rng: (_invertible(rng, 3),), 0),
    (linalg_solve, lambda rng: (_invertible(rng, 3), rng.normal(size=3)), (0, 1)),
    (linalg_solve_matrix, lambda rng: (_invertible(rng, 3), rng.normal(size=(3, 2))), (0, 1)),
    (linalg_norms, lambda rng: (rng.normal(size=4), rng.normal(size=(2, 3))), (0, 1)),
    (linalg_slogdet, lambda rng: (_invertible(rng, 3),), 0),
    (linalg_cholesky, lambda rng: (rng.normal(size=(3, 3)),), 0),
    (quadratic_form, lambda rng: (rng.normal(size=(3, 3)), rng.normal(size=3)), (0, 1)),
    (reshape_transpose, lambda rng: (rng.normal(size=12),), 0),
    (reshape_minus_one, lambda rng: (rng.normal(size=6),), 0),
    (transpose_axes, lambda rng: (rng.normal(size=(3, 2, 2)),), 0),
    (concatenate_stack, lambda rng: (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (hstack_vstack, lambda rng: (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (squeeze_expand, lambda rng: (rng.normal(size=4),), 0),
    (flip_roll_tile, lambda rng: (rng.normal(size=5),), 0),
    (broadcasting, lambda rng: (rng.normal(size=3), rng.normal(size=4)), (0, 1)),
    (triu_tril, lambda rng: (rng.normal(size=(3, 3)),), 0),
    (where_on_data, lambda rng: (rng.uniform(0.2, 1.5, size=6) * np.array([1, -1] * 3),), 0),
    (maximum_minimum, lambda rng: _separated(rng, 5), (0, 1)),
    (relu, lambda rng: (rng.uniform(0.2, 1.5, size=6) * np.array([1, -1] * 3),), 0),
    (clip_values, lambda rng: (np.array([-2.0, -0.5, 0.3, 0.9, 1.7]),), 0),
    (
        softmax_cross_entropy,
        lambda rng: (rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])),
        0,
    ),
    (
        layer_norm,
        lambda rng: (rng.normal(size=(2, 4)), rng.normal(size=4), rng.normal(size=4)),
        (0, 1, 2),
    ),
    (
        attention,
        lambda rng: (rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))),
        (0, 1, 2),
    ),
    (
        mlp_two_layers,
        lambda rng: (
            rng.normal(size=(3, 4)) * 0.5,
            rng.normal(size=4),
            rng.normal(size=(4, 2)) * 0.5,
            rng.normal(size=(5, 3)),
        ),
        (0, 1, 2),
    ),
    (array_methods_with_keywords, lambda rng: (rng.normal(size=(2, 3)),), 0),
    (take_with_a_list, lambda rng: (rng.normal(size=(2, 3)),), 0),
    (array_literal_of_values, lambda rng: (rng.normal(size=3),), 0),
    (diagonal_method, lambda rng: (rng.normal(size=(3, 3)),), 0),
]
