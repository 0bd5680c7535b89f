"""Mutation and indexing: augmented assignment, subscript and slice assignment, index reads,
lists built with append."""

from __future__ import annotations

import numpy as np

MASK5 = np.array([True, False, True, True, False])

# --- augmented assignment -----------------------------------------------------------------


def augassign_float(x):
    acc = 1.0
    acc += x
    acc *= x
    acc -= 0.5 * x
    acc /= 1.0 + x * x
    return acc


def augassign_power(x):
    y = x + 1.0
    y **= 3
    y *= 0.5
    return y


def augassign_array(x):
    y = x.copy()
    y *= 2.0
    y += x**2
    y -= 1.0
    y /= 3.0
    return np.sum(y**2)


def augassign_array_by_array(x, w):
    y = np.ones_like(x)
    y *= w
    y += x * w
    y /= 1.0 + w * w
    return np.sum(y)


def augassign_in_loop(x):
    y = np.zeros_like(x)
    for k in range(3):
        y += np.sin(x * (k + 1))
        y *= 0.9
    return np.sum(y * y)


# --- subscript and slice assignment --------------------------------------------------------


def setitem_int(x):
    y = np.zeros(3)
    y[0] = x[0] * x[1]
    y[2] = np.sin(x[2])
    y[-2] = x[0] + 1.0
    return np.sum(y * y) + y[0]


def setitem_in_loop(x):
    y = np.zeros_like(x)
    for i in range(len(x)):
        y[i] = x[i] * i + np.cos(x[i])
    return np.sum(y**2)


def slice_assign(x):
    y = np.ones(6)
    y[1:4] = x[:3] * 2.0
    y[4:] = np.exp(x[3:5])
    return np.prod(y)


def slice_assign_2d(a):
    b = np.zeros((4, 4))
    b[1:3, 1:3] = a
    b[0, :] = 1.0
    return np.sum(b @ b)


def column_augassign_in_loop(a):
    y = np.zeros((3, 4))
    for k in range(4):
        y[:, k] += a[:, k] * k
        y[:, k] -= a[:, 0] ** 2
    return np.sum(y * y)


def row_setitem_in_loop(a):
    out = np.zeros_like(a)
    for i in range(a.shape[0]):
        out[i] = a[i] / np.sum(a[i] ** 2)
    return np.sum(out * a[::-1])


def recurrence_via_setitem(x):
    y = np.zeros_like(x)
    y[0] = x[0]
    for i in range(1, x.shape[0]):
        y[i] = y[i - 1] * 0.9 + x[i] * y[i - 1] + x[i]
    return np.sum(y)


def overwrite_element(x):
    y = x * 1.0
    y[2] = y[2] * y[0]
    y[0] = 3.0
    return np.sum(y**2)


def setitem_fancy(x):
    y = np.zeros(5)
    y[np.array([0, 3])] = x[:2]
    y[np.array([1, 4])] = x[2:4] ** 2
    return np.sum(np.cos(y))


def setitem_mask(x):
    y = x * 2.0
    y[MASK5] = np.exp(x[MASK5])
    return np.sum(y * x)


def augassign_slice(x):
    y = x * 1.0
    y[1:3] *= x[0]
    y[3:] += y[:2]
    return np.sum(y**2)


def accumulate_into_bins(x):
    y = np.zeros(3)
    for i in range(len(x)):
        y[i % 3] += x[i] ** 2
    return np.sum(np.sqrt(y + 1.0))


def outer_fill_loops(x):
    n = x.shape[0]
    m = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            m[i, j] = x[i] * x[j] + (1.0 if i == j else 0.0)
    return np.sum(m * m)


def swap_elements(x):
    y = x.copy()
    y[0], y[1] = y[1], y[0]
    return np.sum(y * np.arange(len(x)))


def laplacian_slices(x):
    y = np.zeros_like(x)
    y[1:-1] = x[:-2] - 2.0 * x[1:-1] + x[2:]
    y[0] = x[0]
    y[-1] = x[-1]
    return np.sum(y * y)


# --- reading with indices ----------------------------------------------------------------


def read_int_index(x):
    return x[0] * x[-1] + x[2] ** 2


def read_int_index_2d(a):
    return a[0, 1] * a[2, 0] + a[1][2] - a[-1, -1] ** 2


def read_slices(a):
    return np.sum(a[1:, :2] ** 2) + np.sum(a[::2]) + np.sum(np.sin(a[:, -1]))


def read_negative_step(x):
    return np.sum(x[::-1] * x)


def read_fancy_repeated(x):
    idx = np.array([0, 2, 2, 4])
    return np.sum(x[idx] ** 2)


def read_fancy_list_index(x):
    return np.sum(np.exp(x[[1, 1, 3]]))


def read_fancy_rows(a):
    return np.sum(a[np.array([0, 2, 0])] * np.arange(4.0))


def read_fancy_pairs(a):
    rows = np.array([0, 1, 2, 1])
    cols = np.array([3, 0, 1, 0])
    return np.sum(a[rows, cols] ** 3)


def read_bool_mask(x):
    return np.sum(np.sin(x[MASK5]))


def read_newaxis(x):
    return np.sum(np.tanh(x[:, None] * x[None, :]))


def read_ellipsis(a):
    return np.sum(a[..., 0] ** 2)


# --- lists built with append ---------------------------------------------------------------


def list_append_stack(x):
    rows = []
    for i in range(3):
        rows.append(x * i + np.sin(x))
    s = np.stack(rows)
    return np.sum(s**2)


def list_append_sum(x):
    terms = []
    for v in x:
        terms.append(v**2)
    return sum(terms)


def list_append_concatenate(x):
    parts = []
    for k in range(1, 4):
        parts.append(x[:k] * k)
    return np.sum(np.concatenate(parts) ** 2)


def list_append_in_if(x):
    kept = []
    for v in x:
        if v > 0:
            kept.append(np.log(v))
        else:
            kept.append(v * v)
    return sum(kept)


def list_append_in_branch(x):
    parts = []
    if x > 0:
        parts.append(x * 2.0)
    else:
        parts.append(x * x)
    parts.append(np.sin(x))
    return parts[0] * parts[1]


def list_append_array_stack_axis1(a):
    cols = []
    for j in range(a.shape[1]):
        cols.append(a[:, j] * (j + 1.0))
    m = np.stack(cols, axis=1)
    return np.sum(m * a)


def list_literal_stack(x, y):
    m = np.stack([x, y, x * y])
    return np.sum(m @ m.T)


def _away_from_zero(rng, size):
    return rng.choice([-1.0, 1.0], size=size) * rng.uniform(0.3, 1.5, size=size)


def _first_to_five(v):
    v[0] = 5.0
    return v


def mutated_after_a_read_in_one_expression(x):
    """The sum's adjoint is a read-only broadcast that the setitem's adjoint must copy."""
    y = x * 2.0
    return np.exp(y[1]) + np.sum(_first_to_five(y))


def normalize_rows_in_place(M):
    """Each row is read (a view kept for the backward loop) and then overwritten."""
    B = M.copy()
    for i in range(2):
        B[i] = B[i] / np.sum(B[i] ** 2)
    return np.sum(B)


def slices_read_then_overwritten(x):
    y = x * 1.0
    y[2] = 0.0
    y[0:2] *= y[1:3]
    return np.sum(y)


def read_fancy_columns_repeated(M):
    return np.sum(M[:, [0, 0, 2]] ** 2)


def repeated_positions_last_write_wins(x):
    y = np.arange(5.0) * 1.0
    y[[0, 0, 1]] += x[1:4]
    return np.sum(y**2)


def repeated_positions_from_an_index_argument(x, positions):
    y = np.zeros(3)
    y[positions] = x
    return np.sum(y * np.array([1.0, 2.0, 3.0]))


def mask_argument_write(x, mask):
    y = x * 2.0
    y[mask] = 0.5
    return np.sum(y**2)


def repeat_method(x):
    return np.sum(x.repeat(2) * np.arange(2.0 * x.shape[0]))


CASES = [
    (augassign_float, lambda rng: (0.7,), 0),
    (augassign_power, lambda rng: (0.3,), 0),
    (augassign_array, lambda rng: (rng.normal(size=4),), 0),
    (augassign_array_by_array, lambda rng: (rng.normal(size=4), rng.normal(size=4)), (0, 1)),
    (augassign_in_loop, lambda rng: (rng.normal(size=4),), 0),
    (setitem_int, lambda rng: (rng.normal(size=3),), 0),
    (setitem_in_loop, lambda rng: (rng.normal(size=5),), 0),
    (slice_assign, lambda rng: (rng.normal(size=5),), 0),
    (slice_assign_2d, lambda rng: (rng.normal(size=(2, 2)),), 0),
    (column_augassign_in_loop, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (row_setitem_in_loop, lambda rng: (rng.normal(size=(3, 3)),), 0),
    (recurrence_via_setitem, lambda rng: (rng.normal(size=5) * 0.5,), 0),
    (overwrite_element, lambda rng: (rng.normal(size=4),), 0),
    (setitem_fancy, lambda rng: (rng.normal(size=4),), 0),
    (setitem_mask, lambda rng: (rng.normal(size=5),), 0),
    (augassign_slice, lambda rng: (rng.normal(size=5),), 0),
    (accumulate_into_bins, lambda rng: (rng.normal(size=7),), 0),
    (outer_fill_loops, lambda rng: (rng.normal(size=3),), 0),
    (swap_elements, lambda rng: (rng.normal(size=4),), 0),
    (laplacian_slices, lambda rng: (rng.normal(size=6),), 0),
    (read_int_index, lambda rng: (rng.normal(size=4),), 0),
    (read_int_index_2d, lambda rng: (rng.normal(size=(3, 3)),), 0),
    (read_slices, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (read_negative_step, lambda rng: (rng.normal(size=5),), 0),
    (read_fancy_repeated, lambda rng: (rng.normal(size=5),), 0),
    (read_fancy_list_index, lambda rng: (rng.normal(size=4),), 0),
    (read_fancy_rows, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (read_fancy_pairs, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (read_bool_mask, lambda rng: (rng.normal(size=5),), 0),
    (read_newaxis, lambda rng: (rng.normal(size=4),), 0),
    (read_ellipsis, lambda rng: (rng.normal(size=(2, 3, 2)),), 0),
    (list_append_stack, lambda rng: (rng.normal(size=4),), 0),
    (list_append_sum, lambda rng: (rng.normal(size=5),), 0),
    (list_append_concatenate, lambda rng: (rng.normal(size=4),), 0),
    (list_append_in_if, lambda rng: (_away_from_zero(rng, 6),), 0),
    (list_append_in_branch, lambda rng: (0.6,), 0),
    (list_append_in_branch, lambda rng: (-0.6,), 0),
    (list_append_array_stack_axis1, lambda rng: (rng.normal(size=(3, 3)),), 0),
    (list_literal_stack, lambda rng: (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (mutated_after_a_read_in_one_expression, lambda rng: (rng.normal(size=3),), 0),
    (normalize_rows_in_place, lambda rng: (rng.normal(size=(2, 3)) + 2.0,), 0),
    (slices_read_then_overwritten, lambda rng: (rng.normal(size=3),), 0),
    (read_fancy_columns_repeated, lambda rng: (rng.normal(size=(2, 3)),), 0),
    (repeated_positions_last_write_wins, lambda rng: (rng.normal(size=5),), 0),
    (
        repeated_positions_from_an_index_argument,
        lambda rng: (rng.normal(size=3), np.array([2, 2, 0])),
        0,
    ),
    (
        mask_argument_write,
        lambda rng: (rng.normal(size=4), np.array([True, False, True, False])),
        0,
    ),
    (repeat_method, lambda rng: (rng.normal(size=3),), 0),
]
