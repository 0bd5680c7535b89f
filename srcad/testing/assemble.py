"""Testing: putting a generated program together: its module source and its arguments.

In: source parts (definitions and assignments) and argument shapes. Out: the module text, with
the imports every generated program uses and each part normalized by ``ast.unparse`` (so
redundant parentheses from the generators disappear), and example values for the arguments.
"""

from __future__ import annotations

import ast
import random

import numpy as np

from srcad.testing.scope import Shape
from srcad.testing.writer import SourceWriter

HEADER = "import math\n\nimport numpy as np\n"


def pick_sizes(rng: random.Random) -> tuple[int, int]:
    """Two axis lengths (maybe equal) for a program's vectors and matrices."""
    return (rng.randint(2, 4), rng.randint(2, 4))


def example_value(rng: random.Random, shape: Shape) -> float | np.ndarray:
    """A float, or a float64 array, with entries in [-1.5, 1.5] rounded to 3 digits."""
    if shape == ():
        return round(rng.uniform(-1.5, 1.5), 3)
    count = int(np.prod(shape))
    return np.array([round(rng.uniform(-1.5, 1.5), 3) for _ in range(count)]).reshape(shape)


def array_shapes(rng: random.Random, sizes: tuple[int, int], count: int) -> list[Shape]:
    """Shapes for ``count`` arguments: scalars, vectors and matrices of the given sizes."""
    first, last = sizes
    choices = [(), (first,), (last,), (first, last), (last, first), (first,), (first, last)]
    return [rng.choice(choices) for _ in range(count)]


def module_source(parts: list[str]) -> str:
    """The module: imports, then each part (a definition or assignment) normalized."""
    normalized = [ast.unparse(ast.parse(part)) for part in parts]
    return HEADER + "".join(f"\n\n{part}\n" for part in normalized)


def function_text(name: str, params: list[str], writer: SourceWriter) -> str:
    """``def name(params):`` followed by the writer's body."""
    return f"def {name}({', '.join(params)}):\n" + writer.text()
