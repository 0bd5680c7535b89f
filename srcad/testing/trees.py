"""Testing: the float leaves of arguments (floats and arrays inside tuples, lists, dicts).

The oracle perturbs arguments one element at a time and compares gradients leaf by leaf, so
it needs the float leaves of a nested argument in a fixed order (dict keys sorted), and a
way to put changed leaves back. Ints, bools, strings and None are not leaves: they carry no
derivative.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np


def is_leaf(value: object) -> bool:
    """A float or a float array: something with a derivative."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    return isinstance(value, float | np.floating)


def leaves(value: object) -> list:
    """The float leaves of ``value``, in order (dict keys sorted)."""
    if is_leaf(value):
        return [value]
    if isinstance(value, tuple | list):
        return [leaf for item in value for leaf in leaves(item)]
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in leaves(value[key])]
    return []


def replace_leaves(value: object, new_leaves: Iterator) -> object:
    """``value`` with its float leaves taken, in order, from ``new_leaves``."""
    if is_leaf(value):
        return next(new_leaves)
    if isinstance(value, tuple | list):
        return type(value)(replace_leaves(item, new_leaves) for item in value)
    if isinstance(value, dict):
        replaced = {key: replace_leaves(value[key], new_leaves) for key in sorted(value)}
        return {key: replaced[key] for key in value}
    return value


def fresh_copy(args: tuple) -> tuple:
    """A deep copy: a call that writes into its arguments cannot change the next call's."""
    return copy.deepcopy(args)


def leaf_shape(leaf: object) -> tuple[int, ...]:
    """The shape of a leaf (``()`` for a float)."""
    return tuple(np.shape(leaf))
