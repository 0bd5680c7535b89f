"""Seeing the cost: count and time numerical differences, forward mode and reverse mode.

Sits on top of the public API (``numerical_grad``, ``grad``, ``grad(mode="forward")``). For a
function of n inputs and one output it reports, per method:

- the *passes* it makes, counted while it runs: central differences evaluate f 2n times,
  forward mode runs n tangent passes (each a small multiple of one evaluation of f), reverse
  mode one forward and one backward sweep whatever n is (the cheap-gradient principle that
  makes back-propagation work);
- its time, in seconds and as a multiple of one evaluation of f, split into the time spent in
  the passes (their number times one pass timed alone) and the overhead around them
  (argument checks, Python calls, unit vectors between passes). For a small f the overhead
  can dominate the time and hide the n / 2n / constant shape that the counts show.
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
from srcad.tools.cost_text import format_table
from srcad.tools.passes import CountingFunction, PassCount, count_passes, generated_function_names

METHODS = ("numerical", "forward", "reverse")
# evaluations of f per counted call: a reverse-mode call is a forward and a backward sweep
PASSES_PER_CALL = {"function": 1, "numerical": 1, "forward": 1, "reverse": 2}


@dataclass(frozen=True)
class CostRow:
    """One method: its passes (counted) and its time (measured).

    ``calls`` counts evaluations of f (central differences), tangent passes (forward mode) or
    runs of the gradient code (reverse mode, each one forward and one backward sweep);
    ``passes`` is that in evaluations of f, each pass counted as one. ``seconds`` is the time
    of one gradient and ``multiple`` that time over one call of f; ``pass_seconds`` is one pass
    timed alone and ``overhead`` the time outside the passes (``seconds - calls *
    pass_seconds``). A field is None when it could not be measured; ``note`` says why when
    the method could not run at all.
    """

    method: str
    seconds: float | None
    multiple: float | None
    note: str = ""
    calls: int | None = None
    passes: int | None = None
    pass_seconds: float | None = None
    overhead: float | None = None


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

    def row(self, method: str) -> CostRow | None:
        """The row of ``method`` ("function", "numerical", "forward", "reverse"), or None."""
        return next((row for row in self.rows if row.method == method), None)

    def multiple(self, method: str) -> float | None:
        """The time of ``method`` as a multiple of one evaluation of f, or None."""
        row = self.row(method)
        return None if row is None else row.multiple

    def passes(self, method: str) -> int | None:
        """The passes ``method`` made, counted in evaluations of f, or None."""
        row = self.row(method)
        return None if row is None else row.passes

    def __str__(self) -> str:
        return format_table(self)


def compare(
    fun: Callable,
    *args,
    argnums: int | tuple = 0,
    methods: tuple[str, ...] = METHODS,
    repeat: int = 5,
    budget: float = 2.0,
) -> CostTable:
    """Count the passes of each gradient method in ``methods`` and time it, relative to
    ``fun(*args)``.

    Each time is the minimum over up to ``repeat`` runs (fewer when one run takes longer
    than ``budget`` / ``repeat`` seconds). A method that fails, and forward mode while it
    is not available, gets a row without a time and a note saying why.

    Example:
        >>> import numpy as np, srcad
        >>> def f(x):
        ...     return np.sum(np.tanh(x))
        >>> table = srcad.compare(f, np.ones(50), repeat=1, budget=0.1)
        >>> table.passes("numerical"), table.passes("forward"), table.passes("reverse")
        (100, 50, 2)
    """
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown methods {sorted(unknown)}; choose from {METHODS}")
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if any(not -len(args) <= n < len(args) for n in numbers):
        raise TypeError(
            f"compare: argnums={argnums} names an argument to differentiate, but "
            f"{len(args)} arguments were given; pass them after the function "
            "(srcad.compare(f, x))"
        )
    baseline = time_call(lambda: fun(*args), repeat, budget)
    reference = _reference_gradient(fun, args, argnums) if "reverse" in methods else None
    measured = []
    for method in methods:
        make = functools.partial(_gradient_function, method, fun, argnums)
        measured.append(_timed_row(method, make, args, reference, repeat, budget))
    # Timed again afterwards: one slow measurement of f (a busy machine) would make every
    # method look cheap.
    baseline = min(baseline, time_call(lambda: fun(*args), repeat, budget))
    rows = [CostRow("function", baseline, 1.0, calls=1, passes=1, pass_seconds=baseline)]
    for row in measured:
        multiple = None if row.seconds is None else row.seconds / baseline
        rows.append(replace(row, multiple=multiple))
    return CostTable(getattr(fun, "__name__", "f"), _count_inputs(args, argnums), tuple(rows))


def _gradient_function(
    method: str, fun: Callable, argnums: int | tuple
) -> tuple[Callable, CountingFunction | None]:
    """The function computing the gradient of ``fun`` by ``method``, and for central
    differences the counter around ``fun`` that counts its evaluations."""
    if method in ("forward", "reverse"):
        return grad(fun, argnums=argnums, mode=method), None
    counted = CountingFunction(fun)

    def gradient(*args):
        return numerical_grad(counted, *args, argnums=argnums)

    return gradient, counted


def _timed_row(
    method: str,
    make: Callable[[], tuple[Callable, CountingFunction | None]],
    args: tuple,
    reference: object,
    repeat: int,
    budget: float,
) -> CostRow:
    try:
        call, counter = make()
        result = call(*args)
        problem = _forward_problem(call) if method == "forward" else ""
        if problem:
            return CostRow(method, None, None, problem)
        count = _count(call, args, counter)
        seconds = time_call(lambda: call(*args), repeat, budget)
    except Exception as error:  # noqa: BLE001 - a method that fails is reported, not raised
        return CostRow(method, None, None, f"n/a: {type(error).__name__}: {_first_line(error)}")
    note = "" if method == "reverse" else _agreement(result, reference)
    return _split_time(CostRow(method, seconds, None, note), count, repeat, budget)


def _count(call: Callable, args: tuple, counter: CountingFunction | None) -> PassCount:
    """The passes of one more call of ``call``: the evaluations ``counter`` counts, or
    without one, the runs of the generated code (the functions its module defines)."""
    if counter is None:
        return count_passes(lambda: call(*args), generated_function_names(source(call)))
    counter.count = PassCount()
    call(*args)
    count = counter.count
    counter.count = PassCount()  # later calls (the timing runs) count elsewhere
    return count


def _split_time(row: CostRow, count: PassCount, repeat: int, budget: float) -> CostRow:
    """``row`` with its passes, one pass timed alone and the overhead around the passes."""
    if count.calls == 0:
        return row
    passes = count.calls * PASSES_PER_CALL[row.method]
    row = replace(row, calls=count.calls, passes=passes)
    if count.first is None or row.seconds is None:
        return row
    one_pass = time_call(count.first, repeat, budget)
    overhead = max(0.0, row.seconds - count.calls * one_pass)
    return replace(row, pass_seconds=one_pass, overhead=overhead)


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


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:100] if text else ""


__all__ = ["CostRow", "CostTable", "compare", "time_call"]
