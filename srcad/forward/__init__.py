"""Forward mode: a primal ``Graph`` → a graph computing its outputs and their tangents.

The JVP sweep lives in ``sweep``; see its docstring for the before/after example.
"""

from __future__ import annotations

from srcad.forward.sweep import forward_graph, tangent_of

__all__ = ["forward_graph", "tangent_of"]
