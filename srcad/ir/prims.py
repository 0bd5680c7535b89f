"""The primitive operations of the IR, as the rest of srcad reads them: one place to import
the ``Prim`` type, the filled table and the aliasing facts from.

What a primitive is and how it is called lives in ``srcad.ir.primitive``; the rows, one
module per family (elementwise, reductions, linalg, shape, indexing, constructors, ``math``,
and ``scipy.special``, ``scipy.stats`` and ``scipy.linalg``), in ``srcad.ir.table``; which
results are views in ``srcad.ir.views``. Importing this module fills the table, except for the families of
modules srcad does not import itself (SciPy): those are registered when the user's code has
imported them, on the first lookup (``prim_of``) after that or by ``load_deferred``.
"""

from __future__ import annotations

from srcad.ir import table  # noqa: F401  (fills the registry)
from srcad.ir.primitive import (
    COMPARISON,
    CONSTRUCTOR,
    ELEMENTWISE,
    INDEXING,
    LINALG,
    LIST,
    NUMPY,
    PARAMETRIC,
    REDUCTION,
    SHAPE,
    STAR,
    Example,
    Prim,
    import_statement,
    module_spelling,
    static_value,
)
from srcad.ir.table.registry import (
    CALLABLES,
    POSITIVE,
    PRIMS,
    UNIT,
    load_deferred,
    optional_module,
    prim_of,
    when_imported,
)
from srcad.ir.table.registry import register as _add
from srcad.ir.views import shares_memory

__all__ = [
    "CALLABLES",
    "COMPARISON",
    "CONSTRUCTOR",
    "ELEMENTWISE",
    "INDEXING",
    "LINALG",
    "LIST",
    "NUMPY",
    "PARAMETRIC",
    "POSITIVE",
    "PRIMS",
    "REDUCTION",
    "SHAPE",
    "STAR",
    "UNIT",
    "Example",
    "Prim",
    "_add",
    "import_statement",
    "load_deferred",
    "module_spelling",
    "optional_module",
    "prim_of",
    "shares_memory",
    "static_value",
    "when_imported",
]
