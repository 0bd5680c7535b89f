"""Test helper: central differences at a sample of an array argument's entries (all of a
wide weight matrix's would take seconds), to compare a generated gradient with."""

from __future__ import annotations

import numpy as np


def sampled_differences(fun, args, rng, samples=12, step=1e-6) -> dict[tuple, float]:
    """Index -> central difference of ``fun(*args)`` in the first argument, at ``samples``
    entries drawn by ``rng``."""
    array = args[0]
    differences = {}
    for flat in rng.choice(array.size, size=min(samples, array.size), replace=False):
        index = np.unravel_index(flat, array.shape)
        values = []
        for sign in (1, -1):
            moved = array.copy()
            moved[index] += sign * step
            values.append(fun(moved, *args[1:]))
        differences[index] = (values[0] - values[1]) / (2 * step)
    return differences
