"""Testing: one generated program, and its record on disk.

A ``Program`` is the source text of a module that defines ``f`` (with any helpers and globals
it reads), the example arguments to call ``f`` with, and the changes of global values for the
"world changed" check. The record written for a failing program is that module's source
followed by a fenced block of assignments (``FUZZ_ARGS = ...``), so the file is both a program
that ``inspect.getsource`` can read and a record that ``read_program`` turns back into a
``Program``. Floats are written with ``repr``, so arguments round-trip exactly.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RECORD_MARKER = "# --- srcad fuzz record: everything below is data, not program ---"


@dataclass(frozen=True)
class Program:
    """A module source defining ``f``, and what to call it with."""

    family: str
    seed: int
    source: str
    args: tuple
    world_change: dict = field(default_factory=dict)  # global name -> its new value
    is_symbolic: bool = False  # the module can be evaluated on sympy symbols

    def with_source(self, source: str, args: tuple | None = None) -> Program:
        """The same program with another source (and arguments)."""
        return Program(
            self.family,
            self.seed,
            source,
            self.args if args is None else args,
            self.world_change,
            self.is_symbolic,
        )


def literal(value: object) -> str:
    """Python source that evaluates to ``value`` (floats, ints, strings, arrays, containers)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{key!r}: {literal(item)}" for key, item in value.items())
        return "{" + items + "}"
    return repr(value)


def record_text(program: Program, outcome: str, detail: str) -> str:
    """The file written for a failing program: its module, then the record."""
    lines = [
        program.source.rstrip("\n"),
        "",
        "",
        RECORD_MARKER,
        f"FUZZ_FAMILY = {program.family!r}",
        f"FUZZ_SEED = {program.seed!r}",
        f"FUZZ_SYMBOLIC = {program.is_symbolic!r}",
        f"FUZZ_ARGS = {literal(program.args)}",
        f"FUZZ_WORLD_CHANGE = {literal(program.world_change)}",
        f"FUZZ_OUTCOME = {outcome!r}",
        f"FUZZ_DETAIL = {detail!r}",
    ]
    return "\n".join(lines) + "\n"


def read_program(path: Path) -> tuple[Program, str, str]:
    """The program, outcome and detail stored in a record file."""
    text = path.read_text()
    source, _, record = text.partition(RECORD_MARKER)
    values: dict = {}
    for node in ast.parse(record).body:
        name = node.targets[0].id
        values[name] = eval(compile(ast.Expression(node.value), str(path), "eval"), {"np": np})
    program = Program(
        values["FUZZ_FAMILY"],
        values["FUZZ_SEED"],
        source.rstrip("\n") + "\n",
        values["FUZZ_ARGS"],
        values["FUZZ_WORLD_CHANGE"],
        values["FUZZ_SYMBOLIC"],
    )
    return program, values["FUZZ_OUTCOME"], values["FUZZ_DETAIL"]
