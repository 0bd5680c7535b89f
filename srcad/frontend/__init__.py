"""Frontend: a function object → its ``ast`` and where its names come from.

The parsing and the supported-subset check live in ``parse``.
"""

from __future__ import annotations

from srcad.frontend.parse import ParsedFunction, check_supported, globals_name, parse_function

__all__ = ["ParsedFunction", "check_supported", "globals_name", "parse_function"]
