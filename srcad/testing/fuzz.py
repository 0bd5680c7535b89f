"""Testing: batches of random programs, and the report of a batch.

In: the families to draw from, how many programs, a base seed, how many worker processes.
Out: one ``Outcome`` per program (program ``i`` belongs to family ``i mod len(families)`` and
has seed ``base * 1_000_000 + i``, so any program of a report can be regenerated alone), a
table of statuses per family, the discard rate, the most common kinds of failure, and a
record file per failing program.

Workers are separate processes (``multiprocessing``, restarted every few hundred programs so
that caches stay small); with ``jobs=0`` the batch runs in this process (the test suite).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import traceback
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from srcad.testing.families import generate_program
from srcad.testing.program import Program, record_text
from srcad.testing.runner import FAILURES, STATUSES, Outcome, run_program

SEED_STRIDE = 1_000_000
PROGRAMS_PER_WORKER = 200


def batch_tasks(families: list[str], count: int, seed: int) -> list[tuple[str, int]]:
    """(family, seed) of every program in the batch."""
    return [(families[i % len(families)], seed * SEED_STRIDE + i) for i in range(count)]


def run_task(task: tuple[str, int, float, str]) -> tuple[Outcome, Program | None]:
    """Generate and judge one program; the program comes back only when it failed."""
    family, seed, timeout, directory = task
    try:
        program = generate_program(family, seed)
    except Exception:  # noqa: BLE001 - a bug in the generator: reported, not fatal to a batch
        return Outcome(family, seed, "discarded", "generator error", traceback.format_exc()), None
    outcome = run_program(program, Path(directory), timeout)
    return outcome, program if outcome.status in FAILURES else None


def run_batch(
    tasks: list[tuple[str, int]], jobs: int = 0, timeout: float = 30.0
) -> Iterator[tuple[Outcome, Program | None]]:
    """Judge every (family, seed), in ``jobs`` worker processes (0: in this process)."""
    with tempfile.TemporaryDirectory(prefix="srcad-fuzz-") as directory:
        work = [(family, seed, timeout, directory) for family, seed in tasks]
        if jobs <= 0:
            yield from map(run_task, work)
            return
        context = multiprocessing.get_context("fork")
        with context.Pool(jobs, maxtasksperchild=PROGRAMS_PER_WORKER) as pool:
            yield from pool.imap_unordered(run_task, work, chunksize=4)


def write_failure(directory: Path, program: Program, outcome: Outcome) -> Path:
    """The record file of a failing program: ``<status>_<family>_<seed>.py``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{outcome.status}_{program.family}_{program.seed}.py"
    detail = f"{outcome.kind}\n{outcome.detail}"
    path.write_text(record_text(program, outcome.status, detail))
    return path


def status_table(outcomes: Iterable[Outcome], families: list[str]) -> str:
    """``family | passed | wrong | stale | crashed | rejected | discarded``, and a total."""
    counts: dict[str, Counter] = {family: Counter() for family in families}
    for outcome in outcomes:
        counts.setdefault(outcome.family, Counter())[outcome.status] += 1
    rows = [("family", *STATUSES)]
    for family, counter in counts.items():
        rows.append((family, *(str(counter[status]) for status in STATUSES)))
    total = sum(counts.values(), Counter())
    rows.append(("total", *(str(total[status]) for status in STATUSES)))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = [
        " | ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def discard_summary(outcomes: list[Outcome]) -> str:
    """The discard rate, and how many discards each reason caused."""
    discarded = [outcome for outcome in outcomes if outcome.status == "discarded"]
    reasons = Counter(outcome.kind for outcome in discarded)
    rate = len(discarded) / max(1, len(outcomes))
    parts = ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())
    return f"discard rate: {rate:.2%} ({len(discarded)} of {len(outcomes)}: {parts or 'none'})"


def kind_summary(outcomes: list[Outcome], statuses: tuple[str, ...], limit: int = 25) -> str:
    """The most common kinds of outcome with these statuses, with an example seed each."""
    kinds: Counter = Counter()
    example: dict = {}
    for outcome in outcomes:
        if outcome.status in statuses:
            key = (outcome.status, outcome.family, outcome.kind)
            kinds[key] += 1
            example.setdefault(key, outcome.seed)
    lines = []
    for (status, family, kind), count in kinds.most_common(limit):
        lines.append(
            f"{count:6d}  {status:8s} {family:9s} {kind}  (e.g. seed {example[status, family, kind]})"
        )
    return "\n".join(lines)


def report(outcomes: list[Outcome], families: list[str], seconds: float) -> str:
    """The full text report of a batch."""
    sections = [
        f"{len(outcomes)} programs in {seconds:.0f} s",
        status_table(outcomes, families),
        discard_summary(outcomes),
        "failures (status, family, kind):",
        kind_summary(outcomes, FAILURES) or "  none",
        "rejections:",
        kind_summary(outcomes, ("rejected",), limit=10) or "  none",
    ]
    return "\n\n".join(sections)
