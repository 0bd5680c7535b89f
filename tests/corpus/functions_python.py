"""Python values: the math module on floats, Python float arguments, builtins, and dict /
list / tuple arguments whose gradients keep the structure."""

from __future__ import annotations

import math

import numpy as np

# --- the math module ------------------------------------------------------------------------


def math_elementary(x):
    return math.sin(x) * math.exp(x) + math.log(x) + math.sqrt(x) + math.cos(x) ** 2


def math_hyperbolic_and_inverse(x):
    return math.tanh(x) + math.atan(x) + math.cosh(x) * math.sinh(x) + math.asinh(x)


def math_two_args(x, y):
    return math.atan2(y, x) + math.hypot(x, y) + math.pow(x, y)


def math_log_variants(x):
    return math.log1p(x) + math.expm1(x) + math.log2(x) + math.log10(x) + math.exp2(x)


def math_log_base(x):
    return math.log(x, 2.0) + math.log(x * 3.0, 10.0)


def math_constants(r):
    return math.pi * r**2 + math.e * r + math.tau


def math_angles(deg):
    return math.sin(math.radians(deg)) + math.degrees(deg * 0.01)


def math_on_array_elements(x):
    return math.exp(x[0]) * math.sin(x[1]) + math.sqrt(x[2] * x[2] + 1.0)


def math_fabs(x):
    return math.fabs(x) * x + math.cbrt(x)


def math_and_numpy_mixed(x, a):
    return math.tanh(a) * np.sum(np.exp(x * math.cos(a)))


# --- Python floats and builtins ---------------------------------------------------------------


def python_float_args(a, b, c):
    return (a + b) * c - a / (1.0 + b * b) + c**3


def python_float_and_array(a, x):
    return a * np.sum(x) + np.sum(x**2) / a


def python_int_pow(x):
    return x**3 - 2 * x**2 + 5 * x - 7


def builtin_abs_max_min(a, b):
    return abs(a) * max(a, b) + min(a, b) ** 2


def builtin_sum_pow(x):
    return sum([x, x * x, 2.0 * x]) + pow(x, 3)


def builtin_float_of_array(x):
    s = float(np.sum(x**2))
    return s * 2.0 + math.sqrt(s)


def int_and_str_constants(x, n, name, flag):
    y = x * n
    if name == "double":
        y = y * 2.0
    if flag:
        y = y + 1.0
    return np.sum(y**2)


def none_argument(x, bias=None):
    if bias is None:
        return np.sum(x**2)
    return np.sum((x + bias) ** 2)


# --- containers -------------------------------------------------------------------------------


def dict_arg(params, x):
    return np.sum(np.tanh(params["w"] @ x + params["b"]))


def dict_nested(params):
    inner = params["layer"]
    return params["scale"] * np.sum(inner["w"] ** 2) + np.sum(inner["b"])


def dict_items_loop(params):
    total = 0.0
    for name, value in params.items():
        total = total + np.sum(value**2) * len(name)
    return total


def dict_keys_loop(params):
    total = 0.0
    for key in params:
        total = total + np.sum(np.sin(params[key]))
    return total


def list_arg(xs):
    total = 0.0
    for x in xs:
        total = total + np.sum(x**2)
    return total + np.sum(xs[0] * xs[-1])


def list_of_floats(xs):
    return xs[0] * xs[1] + xs[2] ** 2 + sum(xs)


def list_len_and_index(xs):
    acc = 0.0
    for i in range(len(xs)):
        acc = acc + xs[i] * (i + 1)
    return np.sum(acc**2)


def tuple_arg(pair):
    a, b = pair
    return np.sum(a * b) + np.sum(a**2)


def tuple_indexing(pair):
    return pair[0] * np.sum(pair[1])


def nested_containers(tree):
    (a, b), d = tree
    return np.sum(a * d["u"]) + b * np.sum(d["v"]) + np.sum(d["pair"][0] * d["pair"][1])


def mlp_with_dict_params(params, x, y):
    h = np.tanh(x @ params["w1"] + params["b1"])
    out = h @ params["w2"] + params["b2"]
    return np.mean((out - y) ** 2)


def list_of_layers(layers, x):
    for w, b in layers:
        x = np.tanh(x @ w + b)
    return np.sum(x)


def tuple_unpack_star(x):
    first, *rest = x[0], x[1], x[2]
    return first * sum(rest)


def builtin_max_min_of_three(x):
    return max(x[0], x[1], 0.1) + min(x[0], x[1], x[2])


CASES = [
    (math_elementary, lambda rng: (1.3,), 0),
    (math_hyperbolic_and_inverse, lambda rng: (0.6,), 0),
    (math_two_args, lambda rng: (1.2, 0.7), (0, 1)),
    (math_log_variants, lambda rng: (0.8,), 0),
    (math_log_base, lambda rng: (1.7,), 0),
    (math_constants, lambda rng: (0.9,), 0),
    (math_angles, lambda rng: (30.0,), 0),
    (math_on_array_elements, lambda rng: (rng.normal(size=3),), 0),
    (math_fabs, lambda rng: (-0.8,), 0),
    (math_and_numpy_mixed, lambda rng: (rng.normal(size=3), 0.4), (0, 1)),
    (python_float_args, lambda rng: (0.5, -1.2, 0.8), (0, 1, 2)),
    (python_float_and_array, lambda rng: (1.7, rng.normal(size=4)), (0, 1)),
    (python_int_pow, lambda rng: (1.3,), 0),
    (builtin_abs_max_min, lambda rng: (-1.5, 0.4), (0, 1)),
    (builtin_sum_pow, lambda rng: (0.7,), 0),
    (builtin_float_of_array, lambda rng: (rng.normal(size=3),), 0),
    (int_and_str_constants, lambda rng: (rng.normal(size=3), 3, "double", True), 0),
    (int_and_str_constants, lambda rng: (rng.normal(size=3), 2, "single", False), 0),
    (none_argument, lambda rng: (rng.normal(size=3),), 0),
    (none_argument, lambda rng: (rng.normal(size=3), rng.normal(size=3)), (0, 1)),
    (
        dict_arg,
        lambda rng: ({"w": rng.normal(size=(2, 3)), "b": rng.normal(size=2)}, rng.normal(size=3)),
        (0, 1),
    ),
    (
        dict_nested,
        lambda rng: (
            {"layer": {"w": rng.normal(size=(2, 2)), "b": rng.normal(size=2)}, "scale": 0.7},
        ),
        0,
    ),
    (dict_items_loop, lambda rng: ({"a": rng.normal(size=2), "bb": rng.normal(size=3)},), 0),
    (dict_keys_loop, lambda rng: ({"a": rng.normal(size=2), "bb": rng.normal(size=3)},), 0),
    (list_arg, lambda rng: ([rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)],), 0),
    (list_of_floats, lambda rng: ([0.5, -1.5, 2.0],), 0),
    (list_len_and_index, lambda rng: ([rng.normal(size=2), rng.normal(size=2)],), 0),
    (tuple_arg, lambda rng: ((rng.normal(size=3), rng.normal(size=3)),), 0),
    (tuple_indexing, lambda rng: ((0.8, rng.normal(size=3)),), 0),
    (
        nested_containers,
        lambda rng: (
            (
                (rng.normal(size=2), 0.3),
                {
                    "u": rng.normal(size=2),
                    "v": rng.normal(size=3),
                    "pair": [rng.normal(size=2), rng.normal(size=2)],
                },
            ),
        ),
        0,
    ),
    (
        mlp_with_dict_params,
        lambda rng: (
            {
                "w1": rng.normal(size=(3, 4)) * 0.5,
                "b1": rng.normal(size=4) * 0.1,
                "w2": rng.normal(size=(4, 2)) * 0.5,
                "b2": np.zeros(2),
            },
            rng.normal(size=(5, 3)),
            rng.normal(size=(5, 2)),
        ),
        (0, 1),
    ),
    (
        list_of_layers,
        lambda rng: (
            [
                (rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3)),
                (rng.normal(size=(3, 2)) * 0.5, rng.normal(size=2)),
            ],
            rng.normal(size=(2, 3)),
        ),
        (0, 1),
    ),
    (tuple_unpack_star, lambda rng: (rng.normal(size=3),), 0),
    (builtin_max_min_of_three, lambda rng: (np.array([0.5, 2.0, -1.0]),), 0),
]
