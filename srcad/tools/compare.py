"""Seeing the cost: time numerical differences, forward mode and reverse mode on one input.

Sits on top of the public API (``numerical_grad``, ``grad``, ``grad(mode="forward")``) and
reports each method's time as a multiple of one evaluation of the function. For a function
of n inputs and one output, central differences cost about 2n evaluations and forward mode
about n tangent passes, while reverse mode costs a small constant (typically 2 to 5): the
cheap-gradient principle that makes back-propagation work.
"""

from __future__ import annotations

import functools
import timeit
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

# srcad's public functions, from the modules that define them: srcad exports ``compare``, so
# importing srcad itself here would be an import cycle.
from srcad.api.checking import numerical_grad
from srcad.api.grad import grad, source
from srcad.pytree import flatten

METHODS = ("numerical", "forward", "reverse")
TITLES = {
    "function": "f itself",
    "numerical": "numerical differences",
    "forward": "forward mode",
    "reverse": "reverse mode",
}


@dataclass(frozen=True)
class CostRow:
    """One method: seconds per gradient and that time as a multiple of one call of f.

    ``seconds`` and ``multiple`` are None when the method could not run (``note`` says why).
    """

    method: str
    seconds: float | None
    multiple: float | None
    note: str = ""


@dataclass(frozen=True)
class CostTable:
    """The rows of ``compare``; ``str()`` gives them as a table."""

    function: str
    n_inputs: int
    rows: tuple[CostRow, ...]

    def __iter__(self) -> Iterator[CostRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def multiple(self, method: str) -> float | None:
        """The multiple of ``method`` ("numerical", "forward", "reverse"), or None."""
        for row in self.rows:
            if row.method == method:
                return row.multiple
        return None

    def __str__(self) -> str:
        lines = [
            f"cost of the gradient of {self.function} ({self.n_inputs} inputs), "
            "as a multiple of one evaluation"
        ]
        header = ("method", "time", "x f", "note")
        body = [
            (TITLES.get(row.method, row.method), _seconds(row.seconds), _multiple(row), row.note)
            for row in self.rows
        ]
        widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]
        for k, row in enumerate([header, *body]):
            cells = [
                cell.rjust(width) if column in (1, 2) else cell.ljust(width)
                for column, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            lines.append("  ".join(cells).rstrip())
            if k == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines) + "\n"


def compare(
    fun: Callable,
    *args,
    argnums: int | tuple = 0,
    methods: tuple[str, ...] = METHODS,
    repeat: int = 5,
    budget: float = 2.0,
) -> CostTable:
    """Time each gradient method in ``methods`` on ``args``, relative to ``fun(*args)``.

    Each time is the minimum over up to ``repeat`` runs (fewer when one run takes longer
    than ``budget`` / ``repeat`` seconds). A method that fails, and forward mode while it
    is not available, gets a row without a time and a note saying why.
    """
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    baseline = time_call(lambda: fun(*args), repeat, budget)
    reference = _reference_gradient(fun, args, argnums) if "reverse" in methods else None
    measured = []
    for method in methods:
        make = functools.partial(_gradient_function, method, fun, argnums)
        measured.append(_timed_row(method, make, args, reference, repeat, budget))
    # Timed again afterwards: one slow measurement of f (a busy machine) would make every
    # method look cheap.
    baseline = min(baseline, time_call(lambda: fun(*args), repeat, budget))
    rows = [CostRow("function", baseline, 1.0)]
    for row in measured:
        multiple = None if row.seconds is None else row.seconds / baseline
        rows.append(replace(row, multiple=multiple))
    return CostTable(fun.__name__, _count_inputs(args, argnums), tuple(rows))


def _gradient_function(method: str, fun: Callable, argnums: int | tuple) -> Callable:
    """The function computing the gradient of ``fun`` by ``method``."""
    if method == "forward":
        return grad(fun, argnums=argnums, mode="forward")
    if method == "reverse":
        return grad(fun, argnums=argnums)

    def gradient(*args):
        return numerical_grad(fun, *args, argnums=argnums)

    return gradient


def _timed_row(
    method: str,
    make: Callable[[], Callable],
    args: tuple,
    reference: object,
    repeat: int,
    budget: float,
) -> CostRow:
    try:
        call = make()
        result = call(*args)
        problem = _forward_problem(call) if method == "forward" else ""
        if problem:
            return CostRow(method, None, None, problem)
        seconds = time_call(lambda: call(*args), repeat, budget)
    except Exception as error:  # noqa: BLE001 - a method that fails is reported, not raised
        return CostRow(method, None, None, f"n/a: {type(error).__name__}: {_first_line(error)}")
    note = "" if method == "reverse" else _agreement(result, reference)
    return CostRow(method, seconds, None, note)


def _forward_problem(call: Callable) -> str:
    """Why ``call`` is not really forward mode, or the empty string when it is.

    Forward mode is new; until it lands, ``grad(mode="forward")`` may still compile reverse
    mode, so the generated header is checked for the mode it was generated in."""
    text = source(call)
    if "mode=forward" in text or "_jvp" in text:
        return ""
    return "n/a: grad(mode='forward') does not generate forward-mode code yet"


def _reference_gradient(fun: Callable, args: tuple, argnums: int | tuple) -> object:
    """The reverse-mode gradient the other methods are checked against, if it runs."""
    try:
        return grad(fun, argnums=argnums)(*args)
    except Exception:  # noqa: BLE001 - its own row reports the failure
        return None


def time_call(call: Callable[[], object], repeat: int = 5, budget: float = 2.0) -> float:
    """Seconds per call: the minimum over repeated timings, each long enough to measure."""
    timer = timeit.Timer(call)
    first = timer.timeit(number=1)
    number = 1 if first >= 0.02 else max(1, int(0.02 / max(first, 1e-9)))
    runs = max(1, min(repeat, int(budget / max(first * number, 1e-9))))
    if first >= budget:
        return first
    return min(timer.repeat(repeat=runs, number=number)) / number


def _agreement(result: object, reference: object) -> str:
    """How far a gradient is from the reverse-mode one: ``max |diff| 3e-10``."""
    if reference is None:
        return ""
    got, _ = flatten(result)
    want, _ = flatten(reference)
    if len(got) != len(want):
        return "different structure from reverse mode"
    worst = max(
        (
            float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))
            for a, b in zip(got, want, strict=True)
        ),
        default=0.0,
    )
    return f"max |diff| vs reverse {worst:.1e}"


def _count_inputs(args: tuple, argnums: int | tuple) -> int:
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    leaves = [leaf for n in numbers for leaf in flatten(args[n])[0]]
    return int(sum(np.size(leaf) for leaf in leaves))


def _seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _multiple(row: CostRow) -> str:
    return "n/a" if row.multiple is None else f"{row.multiple:.1f}"


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:100] if text else ""


__all__ = ["CostRow", "CostTable", "compare", "time_call"]
