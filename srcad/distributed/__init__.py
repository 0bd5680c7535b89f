"""srcad on a Dask cluster: gradients of losses over data chunked by rows.

The API stage, beside ``srcad.api``: ``srcad.grad(loss)(w, X, y)`` hands a call with Dask
arrays to ``gradient_over_chunks``, which checks in the graph that ``loss`` is a sum or mean
over rows of a row-wise computation (``form``, ``rows``), runs srcad's generated gradient on
each chunk where it lives (``worker``) and adds the partial gradients in a tree (``chunks``).
Dask is imported only when Dask arrays are given: the base install does not need it.
``srcad.train`` builds data-parallel training and sweeps on the same cluster.
"""

from __future__ import annotations

from srcad.distributed.chunks import gradient_over_chunks, is_dask_array
from srcad.distributed.errors import SUPPORTED_FORM, ChunkedLossError

__all__ = ["SUPPORTED_FORM", "ChunkedLossError", "gradient_over_chunks", "is_dask_array"]
