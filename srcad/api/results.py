"""What a transformation hands back: the generated function's values as the user's function
would have returned them.

Comes in: the value a generated function returned (NumPy scalars, 0-d arrays, tuples, the
tuples that stand for a NamedTuple or a dataclass). Goes out: Python floats for 0-d float
results (``plain_value``) and the user's classes rebuilt (``with_classes``).
"""

from __future__ import annotations

import numpy as np

from srcad.pytree import TreeDef, flatten, unflatten

SCALAR_TYPES = (np.float64, np.float32)


def plain_value(value: object) -> object:
    """Python floats for 0-d float results, as the user's function would return."""
    if type(value) in SCALAR_TYPES:
        return value.item()  # the common case, first
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value.item()
    if type(value) is tuple:
        return tuple(plain_value(v) for v in value)
    return value


def with_classes(value: object, out_tree: TreeDef) -> object:
    """The value as the function returned it: generated code returns its NamedTuples,
    dataclasses and objects (an auxiliary output) as tuples; ``out_tree`` has them."""
    return unflatten(out_tree, flatten(plain_value(value))[0])
