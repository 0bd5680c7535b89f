"""Functions: calls to the user's other functions (keywords, defaults), recursion, nested
definitions, closures over constants, lambdas."""

from __future__ import annotations

import numpy as np

SCALE = 1.5
WEIGHTS = np.array([0.5, -1.0, 2.0, 0.25])

# --- helpers (called by the functions under test) ------------------------------------------


def square(v):
    return v * v


def affine(x, scale=2.0, shift=0.0):
    return x * scale + shift


def soft_threshold(x, *, width=1.0):
    return x * np.tanh(x / width)


def mean_and_spread(x):
    m = np.mean(x)
    return m, np.sum((x - m) ** 2)


def step(x, lr=0.1):
    return x - lr * np.sin(x)


def clipped_exp(v):
    if v > 1.0:
        return np.exp(1.0) * v
    return np.exp(v)


def first_above(x, threshold):
    for v in x:
        if v > threshold:
            return v * v
    return 0.0


def power(x, n):
    return 1.0 if n == 0 else x * power(x, n - 1)


def fast_power(x, n):
    if n == 0:
        return 1.0
    if n % 2 == 0:
        half = fast_power(x, n // 2)
        return half * half
    return x * fast_power(x, n - 1)


def smooth(x, n):
    if n == 0:
        return x
    return smooth(0.5 * (x + np.roll(x, 1)), n - 1)


def horner(coeffs, x, i):
    if i == len(coeffs) - 1:
        return coeffs[i]
    return coeffs[i] + x * horner(coeffs, x, i + 1)


def ping(x, n):
    return x if n == 0 else pong(np.sin(x) + x, n - 1)


def pong(x, n):
    return x if n == 0 else ping(x * 0.5, n - 1)


def tree_sum(x, lo, hi):
    if hi - lo == 1:
        return x[lo] ** 2
    mid = (lo + hi) // 2
    return tree_sum(x, lo, mid) + tree_sum(x, mid, hi)


def make_scaler(c):
    def scale(v):
        return c * v

    return scale


triple = make_scaler(3.0)

# --- functions under test -----------------------------------------------------------------


def calls_helper(x):
    return np.sum(square(np.sin(x)))


def calls_with_keywords(x, y):
    return np.sum(affine(x, scale=y, shift=0.5) ** 2)


def calls_with_defaults(x):
    return np.sum(affine(x) * affine(x, shift=1.0))


def calls_keyword_only(x):
    return np.sum(soft_threshold(x, width=0.5) + soft_threshold(x))


def calls_positional_and_keyword(x, s):
    return np.sum(affine(x, s, shift=-s))


def calls_chain(x):
    return np.sum(square(affine(np.tanh(x), scale=3.0)))


def helper_returns_tuple(x):
    m, spread = mean_and_spread(x)
    return m * spread


def calls_in_loop(x):
    for _ in range(4):
        x = step(x, lr=0.2)
    return np.sum(x**2)


def helper_with_branch(x):
    acc = 0.0
    for v in x:
        acc = acc + clipped_exp(v)
    return acc


def helper_with_early_return(x):
    return first_above(x, 1.0) + first_above(x, threshold=10.0)


def recursion_power(x):
    return power(x, 5)


def recursion_power_array(x):
    return np.sum(power(x, 3))


def recursion_fast_power(x):
    return fast_power(x, 6)


def recursion_smooth(x):
    return np.sum(smooth(x, 3) ** 2)


def recursion_horner(coeffs, x):
    return horner(coeffs, x, 0)


def mutual_recursion(x):
    return ping(x, 4)


def recursion_tree_sum(x):
    return tree_sum(x, 0, x.shape[0])


def nested_def(x):
    def inner(v):
        return v * v + 1.0

    return np.sum(inner(x) * inner(x[::-1]))


def nested_def_two_args(x, y):
    def combine(a, b):
        return a * np.exp(b) - b

    return np.sum(combine(x, y) + combine(y, x))


def nested_def_closure_constant(x):
    k = 3.0

    def scaled(v):
        return k * v**2

    return np.sum(scaled(x))


def nested_def_closure_array_constant(x):
    w = np.array([1.0, 2.0, 3.0])

    def weighted(v):
        return np.dot(w, v)

    return weighted(x) ** 2


def nested_def_with_loop(x):
    def running(v):
        acc = 0.0
        for e in v:
            acc = acc * 0.5 + e
        return acc

    return running(x) * running(np.sin(x))


def module_constants(x):
    return SCALE * np.sum(WEIGHTS * x**2)


def factory_closure(x):
    return np.sum(triple(x) * x)


def lambda_simple(x):
    f = lambda v: v * v + 1.0  # noqa: E731
    return np.sum(f(x))


def lambda_two_args(x, y):
    g = lambda a, b: a * b + np.sin(a)  # noqa: E731
    return np.sum(g(x, y) + g(y, x))


def lambda_closure_constant(x):
    a = 2.0
    h = lambda v: a * np.exp(-v)  # noqa: E731
    return np.sum(h(x))


def lambda_in_loop(x):
    f = lambda v: 0.5 * v + np.cos(v)  # noqa: E731
    for _ in range(3):
        x = f(x)
    return np.sum(x)


CASES = [
    (calls_helper, lambda rng: (rng.normal(size=4),), 0),
    (calls_with_keywords, lambda rng: (rng.normal(size=4), 0.7), (0, 1)),
    (calls_with_defaults, lambda rng: (rng.normal(size=4),), 0),
    (calls_keyword_only, lambda rng: (rng.normal(size=4),), 0),
    (calls_positional_and_keyword, lambda rng: (rng.normal(size=3), 1.3), (0, 1)),
    (calls_chain, lambda rng: (rng.normal(size=4),), 0),
    (helper_returns_tuple, lambda rng: (rng.normal(size=5),), 0),
    (calls_in_loop, lambda rng: (rng.normal(size=3),), 0),
    (helper_with_branch, lambda rng: (np.array([0.3, 1.6, -0.4, 2.1]),), 0),
    (helper_with_early_return, lambda rng: (np.array([0.3, 1.6, -0.4, 2.1]),), 0),
    (recursion_power, lambda rng: (1.1,), 0),
    (recursion_power_array, lambda rng: (rng.normal(size=4),), 0),
    (recursion_fast_power, lambda rng: (0.9,), 0),
    (recursion_smooth, lambda rng: (rng.normal(size=5),), 0),
    (recursion_horner, lambda rng: ([1.0, -0.5, 0.25, 2.0], 0.7), (0, 1)),
    (mutual_recursion, lambda rng: (0.6,), 0),
    (recursion_tree_sum, lambda rng: (rng.normal(size=6),), 0),
    (nested_def, lambda rng: (rng.normal(size=4),), 0),
    (nested_def_two_args, lambda rng: (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (nested_def_closure_constant, lambda rng: (rng.normal(size=4),), 0),
    (nested_def_closure_array_constant, lambda rng: (rng.normal(size=3),), 0),
    (nested_def_with_loop, lambda rng: (rng.normal(size=4),), 0),
    (module_constants, lambda rng: (rng.normal(size=4),), 0),
    (factory_closure, lambda rng: (rng.normal(size=4),), 0),
    (lambda_simple, lambda rng: (rng.normal(size=4),), 0),
    (lambda_two_args, lambda rng: (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (lambda_closure_constant, lambda rng: (rng.normal(size=4),), 0),
    (lambda_in_loop, lambda rng: (rng.normal(size=4),), 0),
]
