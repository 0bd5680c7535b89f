"""Testing: what a generated program can read and write at one point of its source.

The generators keep a ``Scope`` while they write a function body: the float values by name
and shape (arrays are float64; shape ``()`` is a Python or NumPy float), the int values with
their smallest and largest possible value (loop counters, which may index arrays), and the
read-only values (globals, dictionary entries, closure variables) that may be read but never
assigned. A name is in scope only where Python guarantees that it is bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Shape = tuple[int, ...]


@dataclass
class Scope:
    """Names bound at one point of a generated function body."""

    floats: dict[str, Shape] = field(default_factory=dict)
    ints: dict[str, tuple[int, int]] = field(default_factory=dict)
    readonly: dict[str, Shape] = field(default_factory=dict)

    def copy(self) -> Scope:
        """An independent copy (for a branch or a loop body)."""
        return Scope(dict(self.floats), dict(self.ints), dict(self.readonly))

    def readable(self, shape: Shape) -> list[str]:
        """Everything of this shape that may be read."""
        names = [name for name, known in self.floats.items() if known == shape]
        return names + [name for name, known in self.readonly.items() if known == shape]

    def all_readable(self) -> list[tuple[str, Shape]]:
        """Every float value that may be read, with its shape."""
        return list(self.floats.items()) + list(self.readonly.items())

    def int_indices(self, length: int) -> list[str]:
        """Int names that are valid indices into an axis of this length."""
        return [name for name, (low, high) in self.ints.items() if low >= -length and high < length]
