"""Benchmark: value and gradient of a scalar function of three floats (about 38 operations).

    a = sin(x) y + exp(-z x);  b = tanh(a z) + log(1 + y²);  c = a b / (1 + cos²(y))
    d = sqrt(x² + y² + z²) + c sin(b);  f = d a - b / (2 + exp(0.1 c)) + 1 - x

The reference is a hand-written reverse sweep with the ``math`` module (what a careful
person writes for floats), and the same function written with NumPy ufuncs. srcad's
generated code runs ``math`` on Python floats (``srcad.codegen.scalar_math``), falling back
to its NumPy body where NumPy would give nan or inf. Every gradient is checked against the
hand one before timing; ratios are to the hand ``math`` version, min over repeats, measured
in the same run. Pin one core for stable numbers:

    taskset -c 0 python benchmarks/bench_scalar.py
"""

from __future__ import annotations

import argparse
import math
import timeit

import numpy as np

import srcad


def f(x, y, z):
    a = np.sin(x) * y + np.exp(-z * x)
    b = np.tanh(a * z) + np.log(1.0 + y * y)
    c = a * b / (1.0 + np.cos(y) ** 2)
    d = np.sqrt(x * x + y * y + z * z) + c * np.sin(b)
    return d * a - b / (2.0 + np.exp(c * 0.1)) + 1.0 - x


def hand_value_and_grad(x, y, z):
    """The reverse sweep written out by hand with ``math``."""
    sin_x, e = math.sin(x), math.exp(-z * x)
    a = sin_x * y + e
    th, yy = math.tanh(a * z), y * y
    b = th + math.log(1.0 + yy)
    cos_y = math.cos(y)
    den = 1.0 + cos_y * cos_y
    c = a * b / den
    r, sin_b = math.sqrt(x * x + yy + z * z), math.sin(b)
    d = r + c * sin_b
    ec = math.exp(0.1 * c)
    q = 2.0 + ec
    value = d * a - b / q + 1.0 - x
    gd, ga, gb = a, d, -1.0 / q
    gc = b / (q * q) * ec * 0.1 + gd * sin_b
    gb += gd * c * math.cos(b)
    gx, gy, gz = -1.0 + gd * x / r, gd * y / r, gd * z / r
    ga += gc * b / den
    gb += gc * a / den
    gy += gc * c / den * 2.0 * cos_y * math.sin(y)
    gy += gb * 2.0 * y / (1.0 + yy)
    gaz = gb * (1.0 - th * th)
    ga += gaz * z
    gz += gaz * a
    gy += ga * sin_x
    gx += ga * y * math.cos(x) - ga * e * z
    gz -= ga * e * x
    return value, (gx, gy, gz)


def best(call, repeat: int, number: int) -> float:
    return min(timeit.repeat(call, repeat=repeat, number=number)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--number", type=int, default=20000)
    options = parser.parse_args()
    point = (0.3, 0.5, 0.7)
    generated = srcad.value_and_grad(f, argnums=(0, 1, 2))
    value, grads = generated(*point)
    hand_value, hand_grads = hand_value_and_grad(*point)
    assert math.isclose(value, hand_value, rel_tol=1e-12), (value, hand_value)
    for got, expected in zip(grads, hand_grads, strict=True):
        assert math.isclose(got, expected, rel_tol=1e-10, abs_tol=1e-14), (grads, hand_grads)
    assert all(type(g) is float for g in grads), "float arguments get float gradients"
    hand = best(lambda: hand_value_and_grad(*point), options.repeat, options.number)
    srcad_time = best(lambda: generated(*point), options.repeat, options.number)
    numpy_forward = best(lambda: f(*point), options.repeat, options.number)
    print(f"hand math value+grad   {hand * 1e6:7.2f} us   1.00x")
    print(f"srcad value_and_grad   {srcad_time * 1e6:7.2f} us   {srcad_time / hand:.2f}x")
    print(f"NumPy forward only     {numpy_forward * 1e6:7.2f} us   {numpy_forward / hand:.2f}x")


if __name__ == "__main__":
    main()
