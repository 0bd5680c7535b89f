"""Benchmark: value and gradient of a scalar function of three floats (about 38 operations).

    a = sin(x) y + exp(-z x);  b = tanh(a z) + log(1 + y²);  c = a b / (1 + cos²(y))
    d = sqrt(x² + y² + z²) + c sin(b);  f = d a - b / (2 + exp(0.1 c)) + 1 - x

The function and the hand-written reverse sweep with the ``math`` module (what a careful
person writes for floats) are ``bench_numba.py``'s, which times the numba backend on them. srcad's
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

import srcad

try:  # run as a script from the repository root or from benchmarks/
    from bench_numba import hand_math as hand_value_and_grad
    from bench_numba import scalar_f
except ImportError:
    from benchmarks.bench_numba import hand_math as hand_value_and_grad
    from benchmarks.bench_numba import scalar_f


def best(call, repeat: int, number: int) -> float:
    return min(timeit.repeat(call, repeat=repeat, number=number)) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--number", type=int, default=20000)
    options = parser.parse_args()
    point = (0.3, 0.5, 0.7)
    generated = srcad.value_and_grad(scalar_f, argnums=(0, 1, 2))
    value, grads = generated(*point)
    hand_value, hand_grads = hand_value_and_grad(*point)
    assert math.isclose(value, hand_value, rel_tol=1e-12), (value, hand_value)
    for got, expected in zip(grads, hand_grads, strict=True):
        assert math.isclose(got, expected, rel_tol=1e-10, abs_tol=1e-14), (grads, hand_grads)
    assert all(type(g) is float for g in grads), "float arguments get float gradients"
    hand = best(lambda: hand_value_and_grad(*point), options.repeat, options.number)
    srcad_time = best(lambda: generated(*point), options.repeat, options.number)
    numpy_forward = best(lambda: scalar_f(*point), options.repeat, options.number)
    print(f"hand math value+grad   {hand * 1e6:7.2f} us   1.00x")
    print(f"srcad value_and_grad   {srcad_time * 1e6:7.2f} us   {srcad_time / hand:.2f}x")
    print(f"NumPy forward only     {numpy_forward * 1e6:7.2f} us   {numpy_forward / hand:.2f}x")


if __name__ == "__main__":
    main()
