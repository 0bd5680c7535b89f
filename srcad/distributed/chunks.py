"""Gradients over Dask arrays chunked by rows: the client's side of ``srcad.distributed``.

In: a transformed function (``srcad.grad`` / ``srcad.value_and_grad``) called with Dask arrays.
Out: what it returns for NumPy arrays, with the gradients as NumPy arrays like the parameters.

    value, grads = srcad.value_and_grad(loss)(w, X, y)      # X, y: dask arrays, chunked by rows

1. ``srcad.distributed.form`` checks that ``loss`` is a sum or mean over rows of a row-wise
   computation (in its graph) and says which.
2. A Dask graph runs srcad's generated gradient on each chunk where the chunk lives
   (``worker.chunk_partial``): the parameters and the function go into it once, as one key
   each; only they and the per-chunk results travel, never the data.
3. The partial results are added in a tree (``worker.add_partials``, ``FAN_IN`` at a time),
   weighted by rows for a mean, and the total is computed with the active scheduler: the
   ``dask.distributed.Client`` in use, or Dask's default one without a client.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from srcad.distributed.errors import ChunkedLossError
from srcad.distributed.form import row_reduction
from srcad.distributed.worker import ChunkGradient, add_partials, chunk_partial
from srcad.errors import ArgumentTypeError, ArgumentValueError

FAN_IN = 8  # partial results added per node of the reduction tree


def is_dask_array(value: object) -> bool:
    """Whether ``value`` is a Dask array (without importing Dask)."""
    return type(value).__module__.startswith("dask.array")


def gradient_over_chunks(transformed: Callable, args: tuple, kwargs: dict) -> object:
    """``transformed(*args, **kwargs)`` where some arguments are Dask arrays chunked by rows."""
    import dask

    fun = transformed.fun  # type: ignore[attr-defined]
    arguments = inspect.signature(fun).bind(*args, **kwargs)
    arguments.apply_defaults()
    values = dict(arguments.arguments)
    data_names = tuple(name for name, value in values.items() if is_dask_array(value))
    numbers = transformed.wrt.numbers  # type: ignore[attr-defined]
    _check_call(transformed, values, data_names, numbers)
    rows, blocks_of = _aligned_chunks(values, data_names)
    total_rows = sum(rows)
    kind = row_reduction(fun, numbers, values, data_names, rows)
    params = {name: value for name, value in values.items() if name not in data_names}
    argnums = numbers[0] if transformed.wrt.is_single else numbers  # type: ignore[attr-defined]
    gradient = ChunkGradient(type(transformed), fun, argnums, transformed.mode)  # type: ignore[attr-defined]
    shared = (dask.delayed(gradient, traverse=False), dask.delayed(params, traverse=False))
    names = tuple(values)
    partials = []
    for k, n in enumerate(rows):
        if n == 0:
            continue
        weight = n / total_rows if kind == "mean" else 1.0
        blocks = [blocks_of[name][k] for name in data_names]
        partials.append(dask.delayed(chunk_partial)(*shared, names, weight, *blocks))
    value, grads = dask.compute(_tree(partials))[0]
    if transformed.returns_value:  # type: ignore[attr-defined]
        return value, grads
    return grads


def _check_call(transformed, values: dict, data_names: tuple, numbers: tuple) -> None:
    name = getattr(transformed.fun, "__name__", "the function")
    if transformed.has_aux:
        raise ArgumentValueError(
            f"{name}: has_aux=True is not supported with Dask arrays (the auxiliary values of "
            "the chunks cannot be joined); call without has_aux"
        )
    positions = list(values)
    for n in numbers:
        if positions[n] in data_names:
            raise ArgumentTypeError(
                f"{name}: argument '{positions[n]}' is a Dask array and is differentiated; "
                "srcad differentiates NumPy parameters over chunked data: pass the parameters "
                "as NumPy arrays and the data as Dask arrays"
            )
    for data in data_names:
        if values[data].ndim == 0:
            raise ArgumentValueError(f"{name}: argument '{data}' is a 0-d Dask array: no rows")


def _aligned_chunks(values: dict, data_names: tuple) -> tuple[tuple[int, ...], dict]:
    """The data's row chunks (those of the first data argument, the others rechunked to
    them; other axes in one piece) and each argument's blocks, one per row chunk."""
    first = values[data_names[0]]
    rows = first.chunks[0]
    blocks = {}
    for name in data_names:
        array = values[name]
        if array.shape[0] != first.shape[0]:
            raise ArgumentValueError(
                f"the Dask arguments have different numbers of rows ('{data_names[0]}': "
                f"{first.shape[0]}, '{name}': {array.shape[0]}); each row of the data is one "
                "example: give them the same number of rows"
            )
        wanted = (rows, *((n,) for n in array.shape[1:]))
        if array.chunks != wanted:
            array = array.rechunk(wanted)  # moves data between workers, never to the client
        blocks[name] = list(array.to_delayed().ravel())
    return rows, blocks


def _tree(partials: list) -> object:
    """The sum of ``partials`` as a tree of ``add_partials`` with ``FAN_IN`` children."""
    import dask

    if not partials:
        raise ChunkedLossError("the Dask arguments have no rows: there is nothing to sum")
    level = partials
    while len(level) > 1:
        level = [
            dask.delayed(add_partials)(*level[i : i + FAN_IN]) for i in range(0, len(level), FAN_IN)
        ]
    return level[0]
