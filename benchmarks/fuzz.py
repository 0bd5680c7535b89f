"""Differential testing of srcad on random programs (not part of the test suite).

    python benchmarks/fuzz.py --n 10000 --seed 0 [--family NAME ...] [--jobs 2]
    python benchmarks/fuzz.py --minimize out/fuzz/crashed_control_17.py

Generates programs with ``srcad.testing`` (families: scalar, arrays, control, mutation,
functions), checks srcad's value and gradient against the plain function (Richardson central
differences; sympy for scalar programs; again after module globals change), prints
``family | passed | wrong | stale | crashed | rejected | discarded``, the discard rate and the
most common failures, and writes every failing program to ``--out`` (default ``out/fuzz/``)
as a record file that ``--minimize`` shrinks (to ``<name>.min.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# The generated-code directory and the original exceptions behind InternalError must be
# settled before srcad is imported: the gradients of thousands of programs go to a
# temporary directory, not to ~/.cache/srcad.
os.environ.setdefault("SRCAD_GENERATED_DIR", tempfile.mkdtemp(prefix="srcad-fuzz-generated-"))
os.environ.setdefault("SRCAD_DEBUG", "1")

from srcad.testing.families import FAMILIES  # noqa: E402
from srcad.testing.fuzz import batch_tasks, report, run_batch, write_failure  # noqa: E402
from srcad.testing.minimize import minimize, same_failure  # noqa: E402
from srcad.testing.program import read_program, record_text  # noqa: E402
from srcad.testing.runner import Outcome, run_program  # noqa: E402


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of programs")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the batch")
    parser.add_argument(
        "--family", action="append", choices=list(FAMILIES), help="only these families"
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per program step")
    parser.add_argument("--out", type=Path, default=Path("out/fuzz"), help="failure records")
    parser.add_argument("--minimize", type=Path, metavar="FILE", help="shrink this record")
    parser.add_argument("--budget", type=float, default=900.0, help="seconds for --minimize")
    return parser.parse_args(argv)


def run(arguments: argparse.Namespace) -> int:
    """Run the batch, print the report, write the failures; exit status 1 on failures."""
    families = arguments.family or list(FAMILIES)
    tasks = batch_tasks(families, arguments.n, arguments.seed)
    outcomes: list[Outcome] = []
    start = time.perf_counter()
    for outcome, program in run_batch(tasks, arguments.jobs, arguments.timeout):
        outcomes.append(outcome)
        if program is not None:
            write_failure(arguments.out, program, outcome)
        if len(outcomes) % max(1, arguments.n // 20) == 0:
            print(f"  {len(outcomes)}/{arguments.n}", file=sys.stderr, flush=True)
    print(report(outcomes, families, time.perf_counter() - start))
    failed = [outcome for outcome in outcomes if outcome.status in ("wrong", "stale", "crashed")]
    if failed:
        print(f"\nfailing programs written to {arguments.out}/")
    return 1 if failed else 0


def run_minimize(arguments: argparse.Namespace) -> int:
    """Shrink one failure record; write ``<name>.min.py`` and print the program."""
    program, status, detail = read_program(arguments.minimize)
    kind = detail.splitlines()[0] if detail else ""
    target = Outcome(program.family, program.seed, status, kind)
    with tempfile.TemporaryDirectory(prefix="srcad-minimize-") as directory:
        still_fails = same_failure(target, Path(directory), arguments.timeout)
        if not still_fails(program):
            print(f"{arguments.minimize} no longer fails with {status}: {kind}")
            return 0
        smallest = minimize(program, still_fails, arguments.budget, print)
        final = run_program(smallest, Path(directory), arguments.timeout)
    path = arguments.minimize.with_suffix(".min.py")
    path.write_text(record_text(smallest, status, f"{final.kind}\n{final.detail}"))
    print(f"\n{status}: {kind}\n\n{smallest.source}\nargs = {smallest.args!r}\n")
    print(f"{final.detail}\n\nwritten to {path}")
    return 1


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    if arguments.minimize is not None:
        return run_minimize(arguments)
    return run(arguments)


if __name__ == "__main__":
    sys.exit(main())
