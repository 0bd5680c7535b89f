"""Graph → graph passes that run between differentiation and code generation."""

from __future__ import annotations

from srcad.passes.array_tapes import tapes_as_arrays
from srcad.passes.cse import eliminate_common_subexpressions
from srcad.passes.dce import eliminate_dead_code
from srcad.passes.hoist import hoist_loop_invariants
from srcad.passes.locality import place_reductions_near_reads
from srcad.passes.outer_sums import sum_outer_products
from srcad.passes.simplify import simplify_graph

__all__ = [
    "eliminate_common_subexpressions",
    "eliminate_dead_code",
    "hoist_loop_invariants",
    "place_reductions_near_reads",
    "simplify_graph",
    "sum_outer_products",
    "tapes_as_arrays",
]
