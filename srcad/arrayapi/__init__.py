"""Array backends: generated gradient code run on CuPy and any array-API library's arrays.

Sits with ``runtime`` and ``backends``, below ``api``. srcad compiles a user's NumPy function
as always (for NumPy arrays of the arguments' shapes and dtypes: ``numpy_stand_ins``); for
arguments that are arrays of another library, ``srcad.grad`` runs a variant of the generated
module written against the array API (``translate``: every ``np.X`` spelled ``xp.X`` or
its array-API equivalent, by the table in ``spellings``, with a few helpers in ``forms``),
in which ``xp`` is the arguments' namespace (``array_api_compat.array_namespace``).

- ``srcad.source(g)`` keeps showing the NumPy code; ``srcad.source(g, backend="array_api")``
  shows the variant, which is also written to its own file in the generated-code directory
  (``<module>_array_api_<hash>.py``, beside the NumPy module).
- What the array API cannot express (``np.add.at``, ``np.einsum``, SciPy functions, random
  draws, calls of the user's own NumPy code) is refused with an ``ArrayApiError`` at the
  user's line, never approximated.
- array-api-compat is imported only when such arrays arrive (the ``gpu`` extra installs it).
"""

from __future__ import annotations

from srcad.arrayapi.runner import (
    ArrayApiRunner,
    fit_gradients,
    holds_namespace_arrays,
    namespace_of,
    numpy_stand_ins,
)
from srcad.arrayapi.translate import ArrayApiError, array_api_source

__all__ = [
    "ArrayApiError",
    "ArrayApiRunner",
    "array_api_source",
    "fit_gradients",
    "holds_namespace_arrays",
    "namespace_of",
    "numpy_stand_ins",
]
