"""Backends: run generated gradient code on something other than the Python interpreter.

Sits with ``runtime``: it takes a loaded generated module (its NumPy source, the names bound
at load time, the function that computes) and returns a function computing the same thing,
or the NumPy function itself when the backend cannot take it. The NumPy source stays the
readable artifact; a backend's variant of it is derived from that text, line for line.

- ``choice``: the backend a transformation was asked for (``backend_runner``).
- ``numba``: ``numba.njit(cache=True)`` over the generated body (``numba_source`` writes the
  variant, ``numba_backend`` compiles it, caches it on disk and falls back to NumPy with a
  warning naming the line numba refused).
"""

from __future__ import annotations

from srcad.backends.choice import BACKENDS, backend_runner
from srcad.backends.numba_backend import (
    BackendUnavailableError,
    NumbaBackend,
    NumbaFallbackWarning,
    require_numba,
)
from srcad.backends.numba_source import numba_source

__all__ = [
    "BACKENDS",
    "BackendUnavailableError",
    "NumbaBackend",
    "NumbaFallbackWarning",
    "backend_runner",
    "numba_source",
    "require_numba",
]
