"""Formatting generated source for a person to read: black, at srcad's line length.

The emitter writes one statement per line, indented, with its comments; that is the module
srcad loads and runs (and what a traceback or pdb shows). Formatting it with black (wrapping
long lines, black's spacing and quotes) costs as long as the rest of a compile, so it is done
only where a person reads the code: ``srcad.source``, ``srcad show``, the files in
``generated/``. Formatting is cached: a function's source is formatted once.
"""

from __future__ import annotations

import functools

LINE_LENGTH = 100


@functools.lru_cache(maxsize=256)
def formatted(source: str) -> str:
    """``source`` as black writes it."""
    import black  # imported here: a compile does not need it

    return black.format_str(source, mode=black.Mode(line_length=LINE_LENGTH))
