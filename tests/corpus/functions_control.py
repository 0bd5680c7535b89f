"""Control flow: if/elif/else, conditional expressions, for, while, break, continue, return."""

from __future__ import annotations

import numpy as np

# --- if / elif / else ---------------------------------------------------------------------


def branch_on_sign(x):
    if x > 0:
        return x * x + 1.0
    return np.sin(x) - x


def if_elif_else_chain(x):
    if x > 1.0:
        y = np.sin(x) * x
    elif x > -1.0:
        y = x**3 + 2.0 * x
    else:
        y = np.exp(x)
    return y * 2.0


def if_on_array_sum(x):
    if np.sum(x) > 0:
        return np.sum(x**2)
    else:
        return np.sum(np.exp(x))


def if_without_else(x):
    y = x * 2.0
    if y.mean() > 0.5:
        y = y * y
    return y.sum()


def nested_if(x, y):
    if x > 0:
        if y > 0:
            r = x * y
        else:
            r = x - y
    else:
        if y > x:
            r = np.cos(x) * y
        else:
            r = x + y * y
    return r


def if_on_constant_mode(x, mode):
    if mode == "square":
        out = x * x
    elif mode == "exp":
        out = np.exp(x)
    else:
        out = np.tanh(x)
    return np.sum(out)


def if_on_int_arg(x, n):
    if n > 2:
        return np.sum(x) * n
    return np.prod(x)


def bool_ops_condition(x, y):
    if x > 0 and y > 0:
        return x * y
    elif x > 0 or y > 1.0:
        return x - y
    elif not x < -1.0:
        return x * x * y
    return y


def chained_comparison(x):
    if 0.0 < x < 1.0:
        return np.log(x) * x
    return x * 0.5


def if_assigns_two_variables(x):
    s = np.sum(x)
    if s > 0:
        a, b = x[0], x[1]
    else:
        a, b = x[1], x[0] * 2.0
    return a * a + np.sin(b)


# --- conditional expressions ---------------------------------------------------------------


def conditional_expression(x, y):
    return x * y if x > y else x + y


def conditional_expression_scale(x):
    scale = 2.0 if x.sum() > 0 else 0.5
    return np.sum(np.tanh(x * scale))


def nested_conditional_expression(x):
    return x * x if x > 1.0 else (np.exp(x) if x > -1.0 else -x)


# --- for loops ----------------------------------------------------------------------------


def for_range_accumulate(x):
    acc = 0.0
    for i in range(len(x)):
        acc += x[i] * (i + 1)
    return acc


def for_range_start_stop_step(x):
    acc = 1.0
    for i in range(1, x.shape[0], 2):
        acc = acc * np.cos(x[i]) + x[i - 1]
    return acc


def for_range_backwards(x):
    acc = 0.0
    for i in range(x.shape[0] - 1, -1, -1):
        acc = acc * 0.5 + x[i]
    return acc


def for_over_array_rows(a):
    total = 0.0
    for row in a:
        total = total + np.dot(row, row) * 0.5
    return total


def for_over_constant_list(x):
    acc = 0.0
    for w in [0.5, 1.5, 2.5]:
        acc = acc + w * np.sin(w * x)
    return np.sum(acc)


def for_enumerate(x):
    acc = 0.0
    for i, v in enumerate(x):
        acc = acc + v * v * i
    return acc


def for_zip(x, y, strict=True):
    acc = 0.0
    for a, b in zip(x, y, strict=True):
        acc += a * np.exp(b)
    return acc


def for_enumerate_zip(x, y, strict=True):
    acc = 0.0
    for i, (a, b) in enumerate(zip(x, y, strict=True)):
        acc += (i + 1.0) * a * b
    return acc


def for_zip_rows(a, b):
    acc = 0.0
    for ra, rb in zip(a, b, strict=True):
        acc = acc + np.sum(ra * rb) ** 2
    return acc


def loop_carried_state(x):
    h = 0.0
    for v in x:
        h = np.tanh(0.5 * h + v)
    return h


def if_inside_for(x):
    acc = 0.0
    for v in x:
        if v > 0:
            acc += v**2
        else:
            acc -= np.sin(v)
    return acc


def elif_inside_for(x):
    acc = 0.0
    for v in x:
        if v > 1.0:
            acc = acc + np.log(v)
        elif v > 0.0:
            acc = acc + v**3
        else:
            acc = acc * 0.9 + v
    return acc


def nested_loops(a):
    acc = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            acc += a[i, j] * (i - j) + a[i, j] ** 2
    return acc


def nested_loops_triangular(a):
    acc = 0.0
    n = a.shape[0]
    for i in range(n):
        for j in range(i):
            acc = acc + a[i, j] * a[j, i]
    return acc


def nested_loops_over_rows(a, x):
    total = 0.0
    for row in a:
        s = 0.0
        for r, v in zip(row, x, strict=True):
            s = s + r * v
        total = total + np.tanh(s)
    return total


# --- while loops --------------------------------------------------------------------------


def while_counter(x):
    acc = 1.0
    i = 0
    while i < 4:
        acc = acc * x + 1.0
        i += 1
    return acc


def while_halving(x):
    while x > 1.0:
        x = x / 2.0
    return x * x


def while_data_dependent_array(x):
    steps = 0
    while np.max(np.abs(x)) > 0.1:
        x = x * 0.5
        steps += 1
    return np.sum(x) * steps


def while_newton_sqrt(a):
    y = a
    while abs(y * y - a) > 1e-12:
        y = 0.5 * (y + a / y)
    return y


def while_accumulate_until(x):
    total = 0.0
    k = 0
    while total < 5.0:
        total = total + np.exp(x * 0.1 * k)
        k += 1
    return total


def while_with_if(x):
    while x > 1.0:
        if x > 3.0:
            x = x / 3.0
        else:
            x = x - 0.5
    return x * x


def nested_loop_reads_outer_state(x):
    s = 1.0
    for v in x:
        t = v
        for _ in range(2):
            t = t * s + 0.1
        s = np.tanh(t)
    return s


# --- break / continue / early return -------------------------------------------------------


def for_break(x):
    acc = 0.0
    for i in range(x.shape[0]):
        if x[i] > 1.5:
            break
        acc += x[i] * x[i]
    return acc


def while_true_break(x):
    y = x
    n = 0
    while True:
        y = np.sin(y) + 0.5 * y
        n += 1
        if n >= 3:
            break
    return y


def while_break_on_data(x):
    total = 0.0
    i = 0
    while i < x.shape[0]:
        if total > 2.0:
            break
        total = total + x[i] ** 2
        i += 1
    return total


def for_continue(x):
    acc = 0.0
    for v in x:
        if v < 0:
            continue
        acc += v**2
    return acc


def while_with_continue(x):
    acc = 0.0
    i = 0
    while i < x.shape[0]:
        i += 1
        if i % 2 == 0:
            continue
        acc = acc + x[i - 1] * i
    return acc


def nested_loop_break(a):
    acc = 0.0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            if j > i:
                break
            acc = acc + a[i, j] ** 2
    return acc


def break_and_continue(x):
    acc = 0.0
    for i, v in enumerate(x):
        if v < 0:
            continue
        if i >= 5:
            break
        acc = acc + v * np.cos(v)
    return acc


def early_return_in_loop(x):
    for i, v in enumerate(x):
        if v > 2.0:
            return v * i
    return np.sum(x)


def early_return_guard(x):
    if np.min(x) > 0:
        return np.sum(np.log(x))
    y = x * x
    return np.sum(y) + 1.0


def early_return_in_while(x):
    k = 0
    while k < 10:
        x = x * 1.5
        if x > 3.0:
            return x + k
        k += 1
    return -x


def _rng_away_from_zero(rng, size, low=0.2, high=1.5):
    return rng.choice([-1.0, 1.0], size=size) * rng.uniform(low, high, size=size)


CASES = [
    (branch_on_sign, lambda rng: (1.3,), 0),
    (branch_on_sign, lambda rng: (-0.7,), 0),
    (if_elif_else_chain, lambda rng: (1.7,), 0),
    (if_elif_else_chain, lambda rng: (0.3,), 0),
    (if_elif_else_chain, lambda rng: (-2.2,), 0),
    (if_on_array_sum, lambda rng: (rng.normal(size=5) + 1.0,), 0),
    (if_on_array_sum, lambda rng: (rng.normal(size=5) - 1.0,), 0),
    (if_without_else, lambda rng: (np.array([0.9, 0.3, 0.6, 1.2]),), 0),
    (if_without_else, lambda rng: (np.array([-0.9, 0.3, 0.1, 0.2]),), 0),
    (nested_if, lambda rng: (0.8, 1.1), (0, 1)),
    (nested_if, lambda rng: (0.8, -1.1), (0, 1)),
    (nested_if, lambda rng: (-0.8, 1.1), (0, 1)),
    (nested_if, lambda rng: (-0.8, -1.1), (0, 1)),
    (if_on_constant_mode, lambda rng: (rng.normal(size=4), "square"), 0),
    (if_on_constant_mode, lambda rng: (rng.normal(size=4), "exp"), 0),
    (if_on_constant_mode, lambda rng: (rng.normal(size=4), "tanh"), 0),
    (if_on_int_arg, lambda rng: (rng.normal(size=4), 3), 0),
    (if_on_int_arg, lambda rng: (rng.normal(size=4), 1), 0),
    (bool_ops_condition, lambda rng: (0.5, 0.7), (0, 1)),
    (bool_ops_condition, lambda rng: (0.5, -0.7), (0, 1)),
    (bool_ops_condition, lambda rng: (-0.5, -0.7), (0, 1)),
    (bool_ops_condition, lambda rng: (-1.5, -0.7), (0, 1)),
    (chained_comparison, lambda rng: (0.4,), 0),
    (chained_comparison, lambda rng: (1.4,), 0),
    (if_assigns_two_variables, lambda rng: (np.array([0.5, 1.0, 0.2]),), 0),
    (if_assigns_two_variables, lambda rng: (np.array([-0.5, 1.0, -2.2]),), 0),
    (conditional_expression, lambda rng: (1.5, 0.5), (0, 1)),
    (conditional_expression, lambda rng: (0.5, 1.5), (0, 1)),
    (conditional_expression_scale, lambda rng: (rng.normal(size=4) + 1.0,), 0),
    (conditional_expression_scale, lambda rng: (rng.normal(size=4) - 1.0,), 0),
    (nested_conditional_expression, lambda rng: (1.5,), 0),
    (nested_conditional_expression, lambda rng: (0.2,), 0),
    (nested_conditional_expression, lambda rng: (-1.5,), 0),
    (for_range_accumulate, lambda rng: (rng.normal(size=5),), 0),
    (for_range_start_stop_step, lambda rng: (rng.normal(size=7),), 0),
    (for_range_backwards, lambda rng: (rng.normal(size=5),), 0),
    (for_over_array_rows, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (for_over_constant_list, lambda rng: (rng.normal(size=3),), 0),
    (for_enumerate, lambda rng: (rng.normal(size=5),), 0),
    (for_zip, lambda rng: (rng.normal(size=4), rng.normal(size=4)), (0, 1)),
    (for_enumerate_zip, lambda rng: (rng.normal(size=4), rng.normal(size=4)), (0, 1)),
    (for_zip_rows, lambda rng: (rng.normal(size=(3, 2)), rng.normal(size=(3, 2))), (0, 1)),
    (loop_carried_state, lambda rng: (rng.normal(size=6),), 0),
    (if_inside_for, lambda rng: (_rng_away_from_zero(rng, 6),), 0),
    (elif_inside_for, lambda rng: (np.array([1.5, 0.4, -0.3, 2.2, 0.7, -1.1]),), 0),
    (nested_loops, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (nested_loops_triangular, lambda rng: (rng.normal(size=(4, 4)),), 0),
    (nested_loops_over_rows, lambda rng: (rng.normal(size=(3, 4)), rng.normal(size=4)), (0, 1)),
    (while_counter, lambda rng: (0.7,), 0),
    (while_halving, lambda rng: (5.3,), 0),
    (while_data_dependent_array, lambda rng: (np.array([0.7, -0.35, 0.45]),), 0),
    (while_newton_sqrt, lambda rng: (2.5,), 0),
    (while_accumulate_until, lambda rng: (0.3,), 0),
    (while_with_if, lambda rng: (10.7,), 0),
    (nested_loop_reads_outer_state, lambda rng: (rng.normal(size=3),), 0),
    (for_break, lambda rng: (np.array([0.5, -1.0, 1.0, 2.0, 0.3]),), 0),
    (while_true_break, lambda rng: (0.4,), 0),
    (while_break_on_data, lambda rng: (np.array([0.8, -1.0, 0.9, 1.1, 0.5]),), 0),
    (for_continue, lambda rng: (_rng_away_from_zero(rng, 6),), 0),
    (while_with_continue, lambda rng: (rng.normal(size=6),), 0),
    (nested_loop_break, lambda rng: (rng.normal(size=(3, 4)),), 0),
    (break_and_continue, lambda rng: (_rng_away_from_zero(rng, 8),), 0),
    (early_return_in_loop, lambda rng: (np.array([0.5, 1.0, 2.5, 3.0]),), 0),
    (early_return_in_loop, lambda rng: (np.array([0.5, 1.0, 1.5]),), 0),
    (early_return_guard, lambda rng: (rng.uniform(0.5, 2.0, size=4),), 0),
    (early_return_guard, lambda rng: (rng.normal(size=4) - 3.0,), 0),
    (early_return_in_while, lambda rng: (0.7,), 0),
    (early_return_in_while, lambda rng: (-0.7,), 0),
]
