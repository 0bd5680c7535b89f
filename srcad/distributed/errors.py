"""The error srcad.distributed raises about a loss it cannot split into chunks of rows."""

from __future__ import annotations

from srcad.errors import SrcadError

SUPPORTED_FORM = (
    "srcad splits a loss over chunks of rows when it ends in 'return np.sum(r)' or "
    "'return np.mean(r)' of values r computed row by row from the data arguments (each row "
    "of the result from the same row of X and y), with nothing depending on the number of rows"
)


class ChunkedLossError(SrcadError):
    """A loss called with Dask arrays that is not a sum or mean over rows of a row-wise
    computation, so its gradient cannot be assembled from per-chunk gradients."""
