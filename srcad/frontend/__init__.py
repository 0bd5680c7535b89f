"""Frontend: a function object → its ``ast`` and where its names come from.

The parsing and the supported-subset check live in ``parse``, the rewrites of generators
and comprehensions into loops in ``desugar``. ``parse_function`` here does both: the tree
it returns has no ``yield`` left.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from srcad.errors import UnsupportedSyntax
from srcad.frontend import parse
from srcad.frontend.desugar import desugar_generators, own_yields
from srcad.frontend.parse import ParsedFunction, check_supported, globals_name

__all__ = [
    "ParsedFunction",
    "check_supported",
    "globals_name",
    "parse_function",
    "refuse_generator",
]


def parse_function(fn: Callable) -> ParsedFunction:
    """Parse ``fn``, check it against the supported subset and desugar its generators."""
    parsed = parse.parse_function(fn)
    if parsed.has_yields:
        desugar_generators(parsed.node, parsed.file)
    return parsed


def refuse_generator(fn: Callable) -> None:
    """A generator function cannot be differentiated itself (its helpers may be
    generators): say so at its first ``yield``."""
    if not inspect.isgeneratorfunction(fn):
        return
    parsed = parse.parse_function(fn)
    first = next(own_yields(parsed.node), None)
    raise UnsupportedSyntax(
        f"{parsed.name} is a generator function ('yield'); srcad differentiates a function "
        "that returns a value: return sum(...) or np.stack(list(...)) of what it yields",
        parsed.file,
        first.lineno if first is not None else parsed.node.lineno,
    )
