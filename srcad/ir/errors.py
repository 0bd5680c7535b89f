"""The errors of tracing: an operation on a traced value that the builder cannot record.

The lowering turns them into ``SrcadError``s located at the user's line; they never reach
the user as they are.
"""

from __future__ import annotations

from srcad.ir.graph import Loc


class TraceError(Exception):
    """An operation on a traced value that the builder cannot record."""

    def __init__(self, message: str, loc: Loc | None):
        super().__init__(message)
        self.loc = loc


class StaticValueNeeded(TraceError):
    """A computed value was used where compile-time ints are needed (a slice bound, a
    range); a loop retries by unrolling, which makes its counter a compile-time int."""


class UnknownPrimitiveError(TraceError):
    """A NumPy function with no entry in the primitive table."""
