"""Dead-code elimination: drop equations whose outputs no output depends on.

Before:  t = exp(x); u = sin(x); return t
After:   t = exp(x); return t

Effects (``print``, random draws) are kept, and the branches and loops they run in; see
``srcad.ir.dead_code`` for how liveness crosses blocks.
"""

from __future__ import annotations

from srcad.ir import Graph
from srcad.ir.dead_code import remove_dead_code


def eliminate_dead_code(graph: Graph) -> Graph:
    """The graph without equations that do not contribute to its outputs."""
    return remove_dead_code(graph)
