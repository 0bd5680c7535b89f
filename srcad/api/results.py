"""What a transformation hands back: the generated function's values as the user's function
would have returned them.

Comes in: the value a generated function returned (NumPy scalars, 0-d arrays, tuples, the
tuples that stand for a NamedTuple or a dataclass). Goes out: Python floats for 0-d float64
results and NumPy scalars for 0-d float32 ones (``plain_value``), and the user's
classes rebuilt (``with_classes``).
"""

from __future__ import annotations

import numpy as np

from srcad.pytree import TreeDef, flatten, has_classes, unflatten

NARROW_FLOATS = frozenset(map(np.dtype, (np.float32, np.float16)))


def plain_value(value: object) -> object:
    """A 0-d result as a scalar: a Python number, but a NumPy scalar for float32 and other
    narrow floats, so that a float32 loss stays float32 (a Python float has np.float64's
    values and arithmetic)."""
    if type(value) is np.float64:
        return value.item()  # the common case, first
    if type(value) is np.float32:
        return value  # a float32 loss: kept (np.ndim below takes 1 us)
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value[()] if value.dtype in NARROW_FLOATS else value.item()
    if type(value) is tuple:
        return tuple(plain_value(v) for v in value)
    return value


def with_classes(value: object, out_tree: TreeDef) -> object:
    """The value as the function returned it: generated code returns its NamedTuples,
    dataclasses and objects (an auxiliary output) as tuples; ``out_tree`` has them."""
    return unflatten(out_tree, flatten(plain_value(value))[0])


def in_classes_of(value: object, out_tree: TreeDef) -> object:
    """``with_classes`` where the output holds the user's classes and ``value`` has a leaf
    for each of its leaves (a tangent or a cotangent of the output), else ``plain_value``."""
    if has_classes(out_tree) and len(flatten(value)[0]) == out_tree.n_leaves:
        return with_classes(value, out_tree)
    return plain_value(value)
