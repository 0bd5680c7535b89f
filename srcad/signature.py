"""Argument signatures: concrete call arguments → the abstract description compiled for.

Runtime leaves (floats and NumPy arrays) become ``AVal``s; ints, bools, strings and None
are compile-time constants, part of the signature. Two calls with equal signatures share one
compiled function.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from srcad.ir import AVal
from srcad.pytree import TreeDef, flatten, unflatten


@dataclass(frozen=True)
class ArgSignature:
    """The abstract form of one call: per parameter, its structure and abstract leaves."""

    params: tuple[str, ...]
    treedefs: tuple[TreeDef, ...]
    leaves: tuple[tuple, ...]

    def trees(self) -> dict[str, object]:
        return {
            name: unflatten(treedef, list(leaves))
            for name, treedef, leaves in zip(self.params, self.treedefs, self.leaves, strict=True)
        }


def bind_call(
    fun: Callable, args: tuple, kwargs: dict, signature: inspect.Signature | None = None
) -> dict[str, object]:
    """The call's arguments by parameter name, defaults included."""
    signature = signature or inspect.signature(fun)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"{fun.__name__}(): {error}") from None
    bound.apply_defaults()
    return dict(bound.arguments)


@functools.cache
def _dtype_name(dtype: np.dtype) -> str:
    return dtype.name


WEAK_FLOAT = AVal((), "float64", True)


def abstract_leaf(value: object) -> object:
    """An ``AVal`` for a runtime value, or the value itself for a compile-time constant."""
    kind = type(value)
    if kind is np.ndarray:
        return AVal(value.shape, _dtype_name(value.dtype))
    if kind is float:
        return WEAK_FLOAT
    if isinstance(value, float):
        return WEAK_FLOAT
    if isinstance(value, np.ndarray):
        return AVal(value.shape, _dtype_name(value.dtype))
    if isinstance(value, np.generic):
        return AVal((), _dtype_name(value.dtype))
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise TypeError(
        f"cannot pass a {type(value).__name__} to a differentiated function; use floats, "
        "NumPy arrays, ints (as constants) or tuples/lists/dicts of them"
    )


def signature_of(arguments: dict[str, object]) -> ArgSignature:
    treedefs, leaves = [], []
    for value in arguments.values():
        flat, treedef = flatten(value)
        treedefs.append(treedef)
        leaves.append(tuple(map(abstract_leaf, flat)))
    return ArgSignature(tuple(arguments), tuple(treedefs), tuple(leaves))
