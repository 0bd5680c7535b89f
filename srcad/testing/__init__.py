"""Testing: srcad's own differential tester of random programs.

A seeded generator writes random Python/NumPy programs (``def f(...)`` returning a scalar
float, with example arguments) in named families; each program is run through srcad and
through an oracle built from the plain function alone (Richardson central differences, and
sympy for scalar programs), and ends as passed, wrong, stale, crashed, rejected or
discarded. A minimizer shrinks a failing program while it keeps failing the same way.
``benchmarks/fuzz.py`` runs batches; ``tests/test_fuzz.py`` runs a few hundred programs.

Modules, one job each: ``scope``/``writer``/``expressions``/``statements``/``mutations``/
``functions``/``families``/``assemble`` generate; ``program`` holds a program and its record
file; ``trees``/``oracle``/``symbolic`` make the reference; ``runner`` judges one program;
``fuzz`` runs batches and reports; ``minimize`` shrinks failures.

This package uses only srcad's public API.
"""

from __future__ import annotations

from srcad.testing.families import FAMILIES, generate_program
from srcad.testing.program import Program, read_program, record_text
from srcad.testing.runner import Outcome, run_program

__all__ = [
    "FAMILIES",
    "Outcome",
    "Program",
    "generate_program",
    "read_program",
    "record_text",
    "run_program",
]
