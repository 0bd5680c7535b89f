"""The errors of tracing: an operation on a traced value that the builder cannot record.

The lowering turns them into ``SrcadError``s located at the user's line; they never reach
the user as they are.
"""

from __future__ import annotations

from srcad.ir.graph import Loc


class TraceError(Exception):
    """An operation on a traced value that the builder cannot record."""

    def __init__(self, message: str, loc: Loc | None, plain: type | None = None):
        super().__init__(message)
        self.loc = loc
        self.plain = plain  # the class of the error NumPy raised on the shapes, if any


class TruthValueNeeded(TraceError):
    """Python asked for the truth value of a traced value (``if``, ``while``, ``and``, a
    library function testing it) outside the statements the lowering follows."""


class StaticValueNeeded(TraceError):
    """A computed value was used where compile-time ints are needed (a slice bound, a
    range); a loop retries by unrolling, which makes its counter a compile-time int.
    ``values``: the traced values that would have to be known, where the raiser knows them
    (the lowering fixes floats read from outside that they are computed from)."""

    def __init__(self, message: str, loc: Loc | None, values: tuple[object, ...] = ()):
        super().__init__(message, loc)
        self.values = values


class UnknownPrimitiveError(TraceError):
    """A NumPy function with no entry in the primitive table."""
