"""Reverse mode: a primal ``Graph`` → a graph computing its output and gradients.

The new graph takes the primal inputs and one more input, the output cotangent ``dout``.
Its equations are the primal equations (the forward sweep) followed by the adjoint
equations (the backward sweep): for each primal equation, in reverse order, whose output has
an adjoint and whose inputs depend on the requested arguments, the VJP rule of its primitive
runs on tracers and its results are added to the adjoints of the inputs (``sweep``).
Adjoints that were never created are symbolic zeros: nothing is computed for them.
Branches and loops are reversed as wholes (``control``): a loop's forward sweep records on a
tape the values its backward sweep needs, and the backward sweep runs the loop in reverse.

Before:  b = exp(a); out = mul(x, b)             (wrt x, a)
After:   b = exp(a); out = mul(x, b);
         dx = mul(dout, b); db = mul(dout, x); da = mul(db, b)
         return out, dx, da
"""

from __future__ import annotations

from srcad.reverse.sweep import ReverseResult, reverse_graph

__all__ = ["ReverseResult", "reverse_graph"]
