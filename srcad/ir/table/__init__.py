"""The primitive table, one module per family of functions; importing this package fills
the registry (``PRIMS``, ``CALLABLES``).

A row is ``register(Prim(...), *aliases)``: the primitive, then other objects users call
for it (``math.exp`` for ``np.exp``); a row of a library other than NumPy names its module
(``math_functions``: ``math.erf``; ``special`` and ``stats``: SciPy's, registered when the
user's code has imported SciPy, see ``registry.when_imported``: importing srcad never
imports SciPy). ``srcad.ir`` adds its internal primitives (subscripts, control flow,
outside calls) on import.
"""

from __future__ import annotations

from srcad.ir.table import (  # noqa: F401  (each registers its rows)
    constructors,
    conversions,
    elementwise,
    indexing,
    linalg,
    math_functions,
    reductions,
    scipy_linalg,
    scipy_signal,
    shape,
    special,
    stats,
)
