"""Lowering: ``np.apply_along_axis(func1d, axis, arr, *args, **kwargs)``, as the calls NumPy
makes: ``func1d`` on each 1-d slice of ``arr`` along ``axis``, in the C order of the other
axes, each call lowered as a call of the user's function is (its globals read on every
call, its branches followed), the results stacked where the slice was::

    Before:                                        After (one call per row, then a stack):
        y = np.apply_along_axis(peak, 1, X)            t1 = X[0, :] ... peak's body ...
                                                        t2 = X[1, :] ... peak's body ...
                                                        y = np.stack([t1, t2])

The calls are unrolled, one per slice (a compile of a few hundred slices takes a second).
As in NumPy, the results take the first one's shape and dtype (a result of another shape
is refused, as NumPy raises), and an array with no slice to call on is refused.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.lower.callees import as_array
from srcad.lower.vectorized import refuse_int_or_float

if TYPE_CHECKING:
    from srcad.lower.context import Lowering


def along_axis(
    lowering: Lowering, args: list, kwargs: dict, node: ast.Call, call: Callable[..., object]
) -> object:
    """``np.apply_along_axis(func1d, axis, arr, *rest, **kwargs)``, one call per slice."""
    try:  # as NumPy takes them: func1d, axis and arr by position or by name
        bound = inspect.signature(np.apply_along_axis).bind(*args, **kwargs)
    except TypeError as error:
        raise _refused(lowering, node, f"raises TypeError: {error}") from None
    func1d, axis, given = (bound.arguments[k] for k in ("func1d", "axis", "arr"))
    rest, kwargs = list(bound.arguments.get("args", ())), bound.arguments.get("kwargs", {})
    arr: Any = as_array(given)
    ndim = np.ndim(arr)
    if type(axis) is not int:
        raise _refused(lowering, node, "needs an int axis known when compiling")
    if not -ndim <= axis < ndim:
        raise _refused(lowering, node, f"got axis {axis} for an array of {ndim} dimensions")
    axis %= ndim
    moved: Any = np.moveaxis(arr, axis, -1)  # on a tracer: its rule records the equation
    outer = np.shape(moved)[:-1]
    if 0 in outer:
        raise _refused(lowering, node, "has no slice to call func1d on (an empty axis)")
    since = len(lowering.builder.eqns)
    results: list[Any] = [
        call(lowering, func1d, [moved[index], *rest], kwargs, node) for index in np.ndindex(outer)
    ]
    refuse_int_or_float(lowering, results[0], node, "slice", since)
    if any(np.shape(r) != np.shape(results[0]) for r in results):
        raise _refused(lowering, node, "gets results of different shapes from func1d")
    return _in_place_of_the_slices(results, outer, axis)


def _in_place_of_the_slices(results: list[Any], outer: tuple[int, ...], axis: int) -> Any:
    """The results stacked in the first one's dtype, their own axes where the slices' was,
    as NumPy lays them out."""
    first = np.shape(results[0])
    dtype = _dtype_of(results[0])
    stacked: Any = np.stack([_in_dtype(r, dtype) for r in results]).reshape(outer + first)
    if not first or axis == len(outer):
        return stacked
    dims = list(range(len(outer) + len(first)))
    return np.transpose(stacked, dims[:axis] + dims[len(outer) :] + dims[axis : len(outer)])


def _dtype_of(result: Any) -> np.dtype:
    return np.dtype(result.dtype) if hasattr(result, "dtype") else np.result_type(result)


def _in_dtype(result: Any, dtype: np.dtype) -> Any:
    """A result in the first result's dtype, as NumPy writes each into its buffer."""
    if _dtype_of(result) == dtype:
        return result
    return result.astype(dtype) if hasattr(result, "astype") else np.asarray(result, dtype)


def _refused(lowering: Lowering, node: ast.Call, why: str) -> UnsupportedSyntax:
    return lowering.located(UnsupportedSyntax, f"'{ast.unparse(node.func)}' {why}", node)
