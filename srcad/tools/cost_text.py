"""The text of ``compare``'s cost table: passes counted, time measured and split, a summary.

Part of the tools. ``format_table(table)`` takes a ``CostTable`` and returns the lines a learner
reads: one row per method (its passes in words, its time, that time over one evaluation of f,
one pass timed alone, the overhead outside the passes), then what the counts say (each method
over reverse mode) and why the times can say something else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from srcad.tools.compare import CostRow, CostTable

TITLES = {
    "function": "f itself",
    "numerical": "numerical differences",
    "forward": "forward mode",
    "reverse": "reverse mode",
}
HEADER = ("method", "passes", "time", "time/f", "one pass", "overhead", "note")
RIGHT_ALIGNED = (2, 3, 4, 5)
EXPLANATION = (
    "passes: counted while the gradient ran; a tangent or backward pass costs a small multiple",
    "of one evaluation of f. time = overhead + passes x one pass: the overhead (argument checks,",
    "Python calls, unit vectors between passes) does not depend on how much work f does, and",
    "for a small f it can hide the n / 2n / constant shape that the passes show.",
)


def format_table(table: CostTable) -> str:
    """The table as text, with the summary of the passes and the explanation under it."""
    title = f"cost of the gradient of {table.function} ({table.n_inputs} inputs)"
    body = [_cells(row) for row in table.rows]
    widths = [max(len(cells[k]) for cells in [HEADER, *body]) for k in range(len(HEADER))]
    lines = [title, _line(HEADER, widths), "  ".join("-" * width for width in widths)]
    lines.extend(_line(cells, widths) for cells in body)
    summary = pass_summary(table)
    if summary:
        lines.extend(["", summary])
    lines.extend(EXPLANATION)
    return "\n".join(lines) + "\n"


def pass_summary(table: CostTable) -> str:
    """``in passes (evaluations of f): numerical differences 1000x reverse mode, ...``; empty
    without a counted reverse-mode row."""
    reverse = table.passes("reverse")
    if not reverse:
        return ""
    ratios = [
        f"{TITLES[row.method]} {row.passes / reverse:.4g}x"
        for row in table.rows
        if row.method in ("numerical", "forward") and row.passes is not None
    ]
    if not ratios:
        return ""
    return "in passes (evaluations of f), over reverse mode: " + ", ".join(ratios)


def pass_label(row: CostRow) -> str:
    """The passes in words: ``2000 evaluations``, ``1000 tangent passes``, ``1 forward + 1
    backward``."""
    calls = row.calls
    if calls is None:
        return "-"
    if row.method == "reverse":
        return f"{calls} forward + {calls} backward"
    if row.method == "forward":
        return f"{calls} tangent pass" + ("" if calls == 1 else "es")
    return f"{calls} evaluation" + ("" if calls == 1 else "s")


def format_seconds(seconds: float | None) -> str:
    """``4.99 us``, ``12.4 ms``; ``-`` for None."""
    if seconds is None:
        return "-"
    if seconds == 0:
        return "0"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _cells(row: CostRow) -> tuple[str, ...]:
    is_function = row.method == "function"
    return (
        TITLES.get(row.method, row.method),
        pass_label(row),
        format_seconds(row.seconds),
        "n/a" if row.multiple is None else f"{row.multiple:.1f}",
        "" if is_function else format_seconds(row.pass_seconds),
        "" if is_function else format_seconds(row.overhead),
        row.note,
    )


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    padded = [
        cell.rjust(width) if column in RIGHT_ALIGNED else cell.ljust(width)
        for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  ".join(padded).rstrip()


__all__ = ["format_seconds", "format_table", "pass_label", "pass_summary"]
