"""Testing: the source text of a generated function, line by line.

``SourceWriter`` collects indented lines and hands out fresh names (``v0``, ``v1``, ...), so
that the generators never have to count spaces or check for clashes themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class SourceWriter:
    """Indented source lines and a counter of fresh names."""

    def __init__(self, depth: int = 0):
        self.lines: list[str] = []
        self.depth = depth
        self._counts: dict[str, int] = {}

    def line(self, text: str) -> None:
        """Append one line at the current indentation."""
        self.lines.append("    " * self.depth + text)

    @contextmanager
    def indented(self) -> Iterator[None]:
        """Lines written inside the block are indented one more level."""
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def fresh(self, prefix: str) -> str:
        """A name not handed out before: ``prefix`` followed by a number."""
        count = self._counts.get(prefix, 0)
        self._counts[prefix] = count + 1
        return f"{prefix}{count}"

    def text(self) -> str:
        """The lines written so far, as one string ending in a newline."""
        return "\n".join(self.lines) + "\n"
