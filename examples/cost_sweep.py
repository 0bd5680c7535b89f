"""The cheap-gradient principle, measured: the cost of a gradient as the input grows.

For f(x) = sum(tanh(A x)) with a square random A, this times three ways to get the gradient
of f at n = 10 ... 10,000 inputs, each as a multiple of one evaluation of f:

- central differences (``srcad.numerical_grad``): 2n evaluations of f,
- forward mode (``srcad.grad(f, mode="forward")``): one tangent pass per input, so about n,
- reverse mode (``srcad.grad(f)``): one forward and one backward sweep, a small constant.

It prints the table of multiples and plots them against n (log-log) into ``cost_sweep.png``
in the current directory. Numerical differences and forward mode are skipped above n = 1000,
where they take minutes; ``--full`` runs them everywhere. With ``SRCAD_EXAMPLE_QUICK=1``
only n = 10, 30, 100 run (the smoke test).
"""

from __future__ import annotations

import argparse
import os

# One BLAS thread, set before NumPy loads: f and its gradients are then timed alike, and the
# threads of a busy machine do not make single measurements many times slower.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

import srcad  # noqa: E402

SIZES = (10, 30, 100, 300, 1000, 3000, 10000)
QUICK_SIZES = (10, 30, 100)
SLOW_METHODS_UP_TO = 1000
METHODS = ("numerical", "forward", "reverse")
LABELS = {
    "numerical": "central differences",
    "forward": "forward mode",
    "reverse": "reverse mode",
}


def make_function(A: np.ndarray):
    """f(x) = sum(tanh(A x)) for this A (a closure over a constant matrix)."""

    def f(x):
        return np.sum(np.tanh(A @ x))

    return f


def measure(n: int, methods: tuple[str, ...], repeat: int):
    """The cost table of the gradient of f at size n (A and x from a fixed seed)."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(n, n)) / np.sqrt(n)
    x = rng.normal(size=n)
    return srcad.compare(make_function(A), x, methods=methods, repeat=repeat)


def sweep(sizes: tuple[int, ...], slow_up_to: int, repeat: int) -> dict[int, dict]:
    """The multiple of every method at every size; None where a method was skipped."""
    results = {}
    for n in sizes:
        runs_slow = n <= slow_up_to
        methods = METHODS if runs_slow else ("reverse",)
        table = measure(n, methods, repeat)
        results[n] = {method: table.multiple(method) for method in METHODS}
        print(f"n = {n:>6}: " + _row(results[n]), flush=True)
    return results


def _row(multiples: dict) -> str:
    cells = []
    for method in METHODS:
        value = multiples.get(method)
        cells.append(f"{LABELS[method]} {'skipped' if value is None else f'{value:8.1f}x'}")
    return "   ".join(cells)


def print_table(results: dict[int, dict]) -> None:
    print()
    print("time of one gradient, as a multiple of one evaluation of f")
    print(f"{'n':>6}  " + "  ".join(f"{LABELS[m]:>20}" for m in METHODS))
    for n, multiples in results.items():
        cells = [
            f"{'-':>20}" if multiples[m] is None else f"{multiples[m]:>20.1f}" for m in METHODS
        ]
        print(f"{n:>6}  " + "  ".join(cells))


def plot(results: dict[int, dict], path: str = "cost_sweep.png") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; skipping the plot (pip install matplotlib)")
        return
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    for method, marker in zip(METHODS, ("s", "^", "o"), strict=True):
        points = [(n, r[method]) for n, r in results.items() if r[method] is not None]
        if points:
            sizes, multiples = zip(*points, strict=True)
            axes.loglog(sizes, multiples, marker=marker, label=LABELS[method])
    sizes = sorted(results)
    axes.loglog(sizes, [2 * n for n in sizes], ":", color="gray", label="2n (for reference)")
    axes.set_xlabel("n (number of inputs)")
    axes.set_ylabel("time / time of one evaluation of f")
    axes.set_title("Cost of the gradient of sum(tanh(A x))")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="run every method at every n")
    parser.add_argument(
        "--slow-up-to",
        type=int,
        default=SLOW_METHODS_UP_TO,
        help="largest n for central differences and forward mode (default %(default)s)",
    )
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats (min is taken)")
    options = parser.parse_args()
    quick = os.environ.get("SRCAD_EXAMPLE_QUICK") == "1"
    sizes = QUICK_SIZES if quick else SIZES
    slow_up_to = max(sizes) if options.full else options.slow_up_to
    results = sweep(sizes, slow_up_to, 2 if quick else options.repeat)
    print_table(results)
    plot(results)
    largest = max(results)
    print(f"\nat n = {largest}: " + _row(results[largest]))


if __name__ == "__main__":
    main()
