"""Testing: the program families, each a generator of random programs.

In: a family name and a seed. Out: a ``Program``: the source of a module defining
``def f(...)`` that returns a scalar float, the example arguments, and (for programs that read
module globals) new values for those globals. The same family and seed always give the same
program. Families:

- ``scalar``: straight-line code on Python floats, using only operations sympy can mirror;
- ``arrays``: straight-line NumPy code (broadcasting, reductions with ``axis``/``keepdims``,
  ``matmul``/``einsum``, indexing, ``where``/``maximum``/``clip``, ``sort``/``cumsum``/``diff``);
- ``control``: ``if``/``elif`` on data with ``and``/``or``/``not``, ``for`` over ranges, rows,
  ``enumerate`` and ``zip``, ``while`` on data, ``break``, ``continue``, ``return`` inside
  branches and loops, nested loops, ``for``-``else``;
- ``mutation``: augmented assignment, buffers written by index, slice, index array and mask
  (also in loops that ``break``), writes into arguments, lists appended then stacked, aliases;
- ``functions`` (``srcad.testing.functions``): helpers with defaults and keywords, tuple
  returns, dict and list parameters, recursion on an int, closures, module globals.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from srcad.testing.assemble import (
    array_shapes,
    example_value,
    function_text,
    module_source,
    pick_sizes,
)
from srcad.testing.functions import function_program
from srcad.testing.program import Program
from srcad.testing.scope import Scope, Shape
from srcad.testing.statements import StatementMaker
from srcad.testing.writer import SourceWriter

CONTROL_WEIGHTS = {
    "assign": 3.0,
    "augmented": 1.0,
    "if": 2.0,
    "for": 2.0,
    "while": 1.5,
    "break": 0.7,
    "continue": 0.4,
    "return": 0.5,
    "for_else": 0.1,
}
MUTATION_WEIGHTS = {
    "assign": 2.0,
    "augmented": 2.0,
    "buffer": 2.0,
    "write": 4.0,
    "list_loop": 1.0,
    "alias": 0.3,
    "swap": 0.8,
    "for": 2.0,
    "while": 1.0,
    "if": 1.0,
    "break": 0.5,
    "continue": 0.3,
}


def straight_program(
    rng: random.Random,
    family: str,
    seed: int,
    shapes: list[Shape],
    weights: dict[str, float],
    statements: int,
    is_symbolic: bool = False,
) -> Program:
    """``def f(x0, x1, ...)`` with arguments of ``shapes`` and a random body."""
    sizes = _sizes_of(shapes) or pick_sizes(rng)
    names = [f"x{index}" for index in range(len(shapes))]
    scope = Scope(floats=dict(zip(names, shapes, strict=True)))
    writer = SourceWriter(depth=1)
    maker = StatementMaker(rng, scope, sizes, weights, writer, is_symbolic)
    maker.owned.update(name for name, shape in zip(names, shapes, strict=True) if shape != ())
    maker.function_body(statements)
    args = tuple(example_value(rng, shape) for shape in shapes)
    source = module_source([function_text("f", names, writer)])
    return Program(family, seed, source, args, {}, is_symbolic)


def _sizes_of(shapes: list[Shape]) -> tuple[int, int] | None:
    """The axis lengths of the largest argument (the program's sizes), if any is an array."""
    largest = max(shapes, key=len, default=())
    if largest == ():
        return None
    return (largest[0], largest[-1])


def scalar_program(rng: random.Random, seed: int) -> Program:
    """Straight-line code on floats, in operations sympy mirrors."""
    shapes: list[Shape] = [()] * rng.randint(1, 3)
    return straight_program(rng, "scalar", seed, shapes, {"assign": 1.0}, rng.randint(1, 6), True)


def array_program(rng: random.Random, seed: int) -> Program:
    """Straight-line NumPy code on vectors, matrices and scalars."""
    shapes = array_shapes(rng, pick_sizes(rng), rng.randint(1, 3))
    return straight_program(rng, "arrays", seed, shapes, {"assign": 1.0}, rng.randint(2, 6))


def control_program(rng: random.Random, seed: int) -> Program:
    """Branches, loops and jumps on data."""
    shapes = _mixed_shapes(rng)
    return straight_program(rng, "control", seed, shapes, CONTROL_WEIGHTS, rng.randint(3, 8))


def mutation_program(rng: random.Random, seed: int) -> Program:
    """Buffers, writes, augmented assignment and lists, also inside loops."""
    shapes = _mixed_shapes(rng)
    return straight_program(rng, "mutation", seed, shapes, MUTATION_WEIGHTS, rng.randint(3, 8))


def _mixed_shapes(rng: random.Random) -> list[Shape]:
    """A scalar or two and a vector or matrix: enough to branch on and to loop over."""
    shapes: list[Shape] = [()] * rng.randint(0, 2)
    shapes += [shape for shape in array_shapes(rng, pick_sizes(rng), 2) if shape != ()][:1]
    shapes += array_shapes(rng, _sizes_of(shapes) or pick_sizes(rng), rng.randint(0, 1))
    rng.shuffle(shapes)
    return shapes or [()]


def family_names() -> list[str]:
    """Every family, in report order."""
    return list(FAMILIES)


def generate_program(family: str, seed: int) -> Program:
    """The program of ``family`` for ``seed`` (deterministic)."""
    generator = FAMILIES[family]
    return generator(random.Random(f"{family}:{seed}"), seed)


FAMILIES: dict[str, Callable[[random.Random, int], Program]] = {
    "scalar": scalar_program,
    "arrays": array_program,
    "control": control_program,
    "mutation": mutation_program,
    "functions": function_program,
}
