"""Which backend runs a transformation's generated code, from the name the user gave.

Comes in: ``backend=`` as given to ``srcad.grad`` and friends. Goes out: None for NumPy (the
generated function runs itself) or the object that runs it (``NumbaBackend``); an unknown
name, or a backend whose library is missing, is refused here, when the transformation is
made, not on its first call.
"""

from __future__ import annotations

from srcad.backends.numba_backend import NumbaBackend, require_numba
from srcad.errors import ArgumentValueError

BACKENDS = ("numpy", "numba")


def backend_runner(backend: str) -> NumbaBackend | None:
    """What runs a transformation's generated code: None for ``"numpy"``, a
    ``NumbaBackend`` for ``"numba"`` (numba must be installed: a missing numba is reported
    here, naming the extra to install)."""
    if backend not in BACKENDS:
        raise ArgumentValueError(
            f"backend={backend!r} is not available; srcad generates code for "
            + ", ".join(repr(b) for b in BACKENDS)
        )
    if backend == "numba":
        require_numba()
        return NumbaBackend()
    return None
