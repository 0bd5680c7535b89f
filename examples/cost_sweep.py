"""The cheap-gradient principle, measured: the cost of a gradient as the input grows.

For f(x) = sum(tanh(A x)) with a square random A, this counts and times three ways to get the
gradient of f at n = 10 ... 10,000 inputs (``srcad.compare`` at each n):

- central differences (``srcad.numerical_grad``): 2n evaluations of f,
- forward mode (``srcad.grad(f, mode="forward")``): one tangent pass per input, so n passes,
  each a small multiple of one evaluation of f,
- reverse mode (``srcad.grad(f)``): one forward and one backward pass, whatever n is.

The passes are counted while each gradient runs, so they show the n / 2n / constant shapes
exactly. The times show them too once the fixed overhead is taken out: each time is split into
the time in the passes (their number times one pass timed alone) and the overhead around them
(argument checks, Python calls, unit vectors between passes), which does not grow with f's
work and, for small n, is most of the time.

It prints both tables and plots them against n (log-log) into ``cost_sweep.png`` in the
current directory: passes on the left, time on the right (solid: all of it; dashed: the time
in the passes, without the overhead). Numerical differences and forward mode are skipped above
n = 1000, where they take minutes; ``--full`` runs them everywhere. With
``SRCAD_EXAMPLE_QUICK=1`` only n = 10, 30, 100 run (the smoke test).
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
# one colour and marker per method, the same in both panels
COLORS = {"numerical": "tab:red", "forward": "tab:orange", "reverse": "tab:blue"}
MARKERS = {"numerical": "s", "forward": "^", "reverse": "o"}


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
    return srcad.compare(make_function(A), x, methods=methods, repeat=repeat, budget=1.0)


def sweep(sizes: tuple[int, ...], slow_up_to: int, repeat: int) -> dict[int, dict]:
    """The cost row (``srcad.compare``'s) of every method at every size; None where a method
    was skipped or could not run."""
    results = {}
    for n in sizes:
        runs_slow = n <= slow_up_to
        methods = METHODS if runs_slow else ("reverse",)
        table = measure(n, methods, repeat)
        results[n] = {method: _measured(table.row(method)) for method in METHODS}
        print(f"n = {n:>6}: " + _row(results[n]), flush=True)
    return results


def _measured(row):
    return row if row is not None and row.seconds is not None else None


def _row(rows: dict) -> str:
    cells = []
    for method in METHODS:
        row = rows.get(method)
        text = "skipped" if row is None else f"{row.passes:>6} passes {_ms(row.seconds)}"
        cells.append(f"{LABELS[method]} {text}")
    return "   ".join(cells)


def _ms(seconds: float | None) -> str:
    return "       -" if seconds is None else f"{seconds * 1e3:8.3f} ms"


def print_tables(results: dict[int, dict]) -> None:
    """Passes per method, then time per method split into passes and overhead."""
    print("\npasses of f per gradient (counted): central differences 2n, forward mode n,")
    print("reverse mode 1 forward + 1 backward")
    print(f"{'n':>6}  " + "  ".join(f"{LABELS[m]:>20}" for m in METHODS))
    for n, rows in results.items():
        cells = [f"{'-' if rows[m] is None else rows[m].passes:>20}" for m in METHODS]
        print(f"{n:>6}  " + "  ".join(cells))
    print("\ntime per gradient in ms = in the passes + overhead (checks, Python calls between")
    print("passes; it does not grow with the work of f)")
    print(f"{'n':>6}  " + "  ".join(f"{LABELS[m]:>24}" for m in METHODS))
    for n, rows in results.items():
        print(f"{n:>6}  " + "  ".join(f"{_split(rows[m]):>24}" for m in METHODS))


def _split(row) -> str:
    if row is None:
        return "-"
    in_passes = _in_passes(row)
    if in_passes is None:
        return f"{row.seconds * 1e3:.3f}"
    return f"{in_passes * 1e3:.3f} + {(row.seconds - in_passes) * 1e3:.3f}"


def _in_passes(row) -> float | None:
    """The time of a gradient spent in its passes (the rest is overhead)."""
    if row.overhead is None:
        return None
    return row.seconds - row.overhead


def plot(results: dict[int, dict], path: str = "cost_sweep.png") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed; skipping the plot (pip install matplotlib)")
        return
    figure, (left, right) = plt.subplots(1, 2, figsize=(11.5, 4.6))
    for method in METHODS:
        style = {"color": COLORS[method], "marker": MARKERS[method], "label": LABELS[method]}
        passes = _points(results, method, lambda row: row.passes)
        if passes:
            left.loglog(*passes, **style)
        totals = _points(results, method, lambda row: row.seconds)
        if totals:
            right.loglog(*totals, **style)
        in_passes = _points(results, method, _in_passes)
        if in_passes:
            right.loglog(*in_passes, "--", color=COLORS[method], alpha=0.7)
    _label_passes(left)
    _label_time(right)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    print(f"wrote {path}")


def _points(results: dict[int, dict], method: str, value) -> tuple | None:
    points = [(n, value(rows[method])) for n, rows in results.items() if rows[method] is not None]
    points = [(n, v) for n, v in points if v is not None and v > 0]
    return tuple(zip(*points, strict=True)) if points else None


def _label_passes(axes) -> None:
    axes.set_xlabel("n (number of inputs)")
    axes.set_ylabel("passes (evaluations of f), counted")
    axes.set_title("Passes: 2n, n and a constant 2")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper left")


def _label_time(axes) -> None:
    axes.plot([], [], "--", color="gray", label="dashed: time in the passes, overhead removed")
    axes.set_xlabel("n (number of inputs)")
    axes.set_ylabel("seconds per gradient")
    axes.set_title("Time = overhead (checks, Python calls) + passes x one pass")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper left", fontsize="small")


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
    print_tables(results)
    plot(results)
    print_lesson(results)


def print_lesson(results: dict[int, dict]) -> None:
    """At the largest n where every method ran: each method over reverse mode, in passes and
    in the time spent in the passes."""
    complete = [n for n, rows in results.items() if all(rows[m] is not None for m in METHODS)]
    if not complete:
        return
    n = max(complete)
    reverse = results[n]["reverse"]
    print(f"\nat n = {n}, over reverse mode:")
    for method in ("numerical", "forward"):
        row = results[n][method]
        line = f"  {LABELS[method]}: {row.passes / reverse.passes:.0f}x the passes"
        work, reverse_work = _in_passes(row), _in_passes(reverse)
        if work and reverse_work:
            line += f", {work / reverse_work:.0f}x the time in passes"
        print(line + f", {row.seconds / reverse.seconds:.0f}x the time in all")


if __name__ == "__main__":
    main()
