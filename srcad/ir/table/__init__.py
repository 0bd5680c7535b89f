"""The primitive table, one module per family of functions; importing this package fills
the registry (``PRIMS``, ``CALLABLES``).

A row is ``register(Prim(...), *aliases)``: the primitive, then other objects users call
for it (``math.exp`` for ``np.exp``); a row of a library other than NumPy names its module
(``special``: SciPy's, registered only where SciPy is installed). ``srcad.ir`` adds its
internal primitives (subscripts, control flow, outside calls) on import.
"""

from __future__ import annotations

from srcad.ir.table import (  # noqa: F401  (each registers its rows)
    constructors,
    elementwise,
    indexing,
    linalg,
    reductions,
    shape,
    special,
)
