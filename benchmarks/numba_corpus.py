"""The corpus (tests/corpus/) run once on the numba backend, compared with the NumPy backend.

Not a timed benchmark: numba compiles take seconds each, so the whole corpus takes minutes.
Every corpus case is run as ``tests/corpus/test_corpus.py`` runs it (``value_and_grad`` over
its differentiable arguments, and ``grad`` of the same), with ``backend="numpy"`` and
``backend="numba"``; each numba-backend function is called twice (the second call takes the
fast path). Every result must agree with the NumPy backend's to 1e-12 relative (with an
absolute floor of 1e-300, for exact zeros), with the same structure and leaf types. Each case
ends in one of:

- agreed: numba compiled the generated code, and its results agree;
- fell back: numba could not compile it and the NumPy code ran (the warning's reason is
  shown); its results must agree too;
- disagreed: some result differs (must never happen: a wrong gradient);
- error: the numba backend raised where the NumPy backend did not.

    python benchmarks/numba_corpus.py [--only NAME ...] [--jobs N] [--verbose]

Exits with status 1 when any case disagreed or raised.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import srcad  # noqa: E402
from srcad.backends import NumbaFallbackWarning  # noqa: E402

RTOL = 1e-12
ATOL = 1e-300  # a tiny floor: exact zeros on both sides agree
AGREED, FELL_BACK, DISAGREED, ERROR = "agreed", "fell back", "disagreed", "error"


@dataclass(frozen=True)
class Outcome:
    """What one corpus case gave on the numba backend."""

    case_id: str
    kind: str
    detail: str = ""
    seconds: float = 0.0


def corpus_cases() -> list[tuple[str, tuple]]:
    """(case id, (function, argument factory, argnums)) for every corpus case, with the ids
    the corpus tests give them."""
    from tests.corpus.test_corpus import ALL_CASES

    cases: list = ALL_CASES  # (family, case id, case)
    return [(case_id, case) for _, case_id, case in cases]


def leaves(tree: object, where: str = "") -> list[tuple[str, object]]:
    """The leaves of a result (tuples, lists, dicts, arrays, numbers), each with its path."""
    if isinstance(tree, dict):
        return [pair for key in tree for pair in leaves(tree[key], f"{where}[{key!r}]")]
    if isinstance(tree, (tuple, list)):
        return [pair for i, item in enumerate(tree) for pair in leaves(item, f"{where}[{i}]")]
    return [(where, tree)]


def difference(got: object, expected: object) -> str | None:
    """Where and how ``got`` differs from ``expected`` (structure, leaf type, dtype, shape,
    or a value beyond RTOL), or None where they agree."""
    got_leaves, expected_leaves = leaves(got), leaves(expected)
    if [path for path, _ in got_leaves] != [path for path, _ in expected_leaves]:
        return f"structure {type(got).__name__} != {type(expected).__name__}: {got!r}"
    for (path, mine), (_, theirs) in zip(got_leaves, expected_leaves, strict=True):
        if type(mine) is not type(theirs):
            return f"{path}: {type(mine).__name__} != {type(theirs).__name__}"
        if not isinstance(theirs, (float, np.ndarray, np.generic)):
            if mine != theirs:
                return f"{path}: {mine!r} != {theirs!r}"
            continue
        mine, theirs = np.asarray(mine), np.asarray(theirs)
        if mine.shape != theirs.shape or mine.dtype != theirs.dtype:
            return f"{path}: {mine.dtype}{mine.shape} != {theirs.dtype}{theirs.shape}"
        if not np.allclose(mine, theirs, rtol=RTOL, atol=ATOL, equal_nan=True):
            error = np.max(np.abs(mine - theirs) / np.maximum(np.abs(theirs), ATOL))
            return f"{path}: relative error {error:.3g}"
    return None


def run_case(case_id: str, case: tuple) -> Outcome:
    """Run one corpus case on both backends and compare."""
    fun, make_args, argnums = case
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    start = time.perf_counter()
    try:
        expected = [
            srcad.value_and_grad(fun, argnums=numbers)(*make_args(np.random.default_rng(0))),
            srcad.grad(fun, argnums=numbers)(*make_args(np.random.default_rng(0))),
        ]
    except Exception as error:  # the corpus itself fails on NumPy: not the backend's doing
        return Outcome(case_id, ERROR, f"on the NumPy backend: {_error_line(error)}")
    reasons: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NumbaFallbackWarning)
            results = _numba_results(fun, make_args, numbers)
        reasons = [str(w.message) for w in caught if issubclass(w.category, NumbaFallbackWarning)]
    except Exception as error:
        detail = _error_line(error) + "\n" + traceback.format_exc(limit=-4)
        return Outcome(case_id, ERROR, detail, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    for name, got in results:
        wanted = expected[0] if name.startswith("value_and_grad") else expected[1]
        problem = difference(got, wanted)
        if problem is not None:
            return Outcome(case_id, DISAGREED, f"{name}: {problem}", seconds)
    if reasons:
        return Outcome(case_id, FELL_BACK, reasons[0], seconds)
    return Outcome(case_id, AGREED, "", seconds)


def _numba_results(fun, make_args, numbers: tuple) -> list[tuple[str, object]]:
    """value_and_grad and grad on the numba backend, each called twice."""
    results = []
    for name, transformation in [("value_and_grad", srcad.value_and_grad), ("grad", srcad.grad)]:
        transformed = transformation(fun, argnums=numbers, backend="numba")
        for call in ("first call", "second call"):
            got = transformed(*make_args(np.random.default_rng(0)))
            results.append((f"{name}, {call}", got))
    return results


def _error_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def run_by_id(case_id: str) -> Outcome:
    """``run_case`` for the case named ``case_id`` (what a worker process is given)."""
    return run_case(case_id, dict(corpus_cases())[case_id])


def report(outcomes: list[Outcome], verbose: bool) -> None:
    """The table of outcomes, then the counts."""
    width = max(len(o.case_id) for o in outcomes)
    for outcome in outcomes:
        if outcome.kind == AGREED and not verbose:
            continue
        detail = outcome.detail.strip().splitlines()[0] if outcome.detail else ""
        print(f"{outcome.case_id:{width}s}  {outcome.kind:10s} {outcome.seconds:6.1f} s  {detail}")
        if outcome.kind == ERROR and verbose:
            print(outcome.detail)
    counts = Counter(o.kind for o in outcomes)
    total = sum(o.seconds for o in outcomes)
    print(
        f"\n{len(outcomes)} cases: "
        + ", ".join(f"{counts[kind]} {kind}" for kind in (AGREED, FELL_BACK, DISAGREED, ERROR))
        + f" ({total:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="case ids to run (default: all)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--verbose", action="store_true", help="list agreed cases and tracebacks")
    options = parser.parse_args()
    case_ids = [case_id for case_id, _ in corpus_cases()]
    if options.only:
        case_ids = [case_id for case_id in case_ids if case_id in options.only]
    outcomes = []
    with ProcessPoolExecutor(max_workers=options.jobs) as pool:
        for outcome in pool.map(run_by_id, case_ids):
            outcomes.append(outcome)
            print(f"{outcome.case_id}: {outcome.kind}", file=sys.stderr, flush=True)
    report(outcomes, options.verbose)
    if any(o.kind in (DISAGREED, ERROR) for o in outcomes):
        sys.exit(1)


if __name__ == "__main__":
    main()
