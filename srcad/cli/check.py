"""``srcad check``: the generated gradient against central differences, in plain numbers.

Part of the command line, on top of the public API (``srcad.grad`` and
``srcad.numerical_grad``). The report gives the largest absolute and relative differences
over every element of every differentiated argument, and the worst element: the argument's
name, its position, and both values as plain numbers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import srcad

RTOL = 1e-5
ATOL = 1e-8


@dataclass(frozen=True)
class Worst:
    """The element where srcad and central differences differ most (relative to the
    tolerance): where it is, and both values."""

    where: str
    exact: float
    approximate: float
    excess: float  # |exact - approximate| - (ATOL + RTOL |approximate|); > 0 fails


def check_report(function: Callable, args: tuple, argnums: int | tuple) -> tuple[bool, str]:
    """Whether the gradient of ``function`` at ``args`` matches central differences (the
    tolerances of ``srcad.check_grad``), and a one-line report of the error sizes."""
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    # the gradient first: it refuses a function that returns no float (None, text) at its line
    exact = srcad.grad(function, argnums=numbers)(*args)
    first, second = function(*args), function(*args)
    if not np.array_equal(np.asarray(first), np.asarray(second), equal_nan=True):
        return False, (
            f"its value changes from one call to the next ({float(np.sum(first)):.8g}, then "
            f"{float(np.sum(second)):.8g}: random draws?), so central differences compare "
            "different draws; seed the generator inside the function, or pass the noise in "
            "as an argument"
        )
    approximate = srcad.numerical_grad(function, *args, argnums=numbers)
    names = _parameter_names(function, len(args))
    max_absolute, max_relative, worst = 0.0, 0.0, None
    for number, g_exact, g_approx in zip(numbers, exact, approximate, strict=True):
        exact_leaves, approx_leaves = _leaves(g_exact), _leaves(g_approx)
        for k, (a, b) in enumerate(zip(exact_leaves, approx_leaves, strict=True)):
            a, b = np.asarray(a, float), np.asarray(b, float)
            if a.size == 0:
                continue
            difference = _difference(a, b)
            max_absolute = max(max_absolute, float(difference.max()))
            relative = difference / np.maximum(np.abs(b), 1e-12)
            max_relative = max(max_relative, float(relative.max()))
            part = names[number] + (f" (part {k + 1} of {len(exact_leaves)})" * (k > 0))
            candidate = _worst_element(a, b, part)
            if worst is None or candidate.excess > worst.excess:
                worst = candidate
    text = f"max absolute error {max_absolute:.2e}, max relative error {max_relative:.2e}"
    if worst is None:
        return True, text
    text += (
        f"; worst element {worst.where}: srcad {worst.exact:.8g}, "
        f"central differences {worst.approximate:.8g}"
    )
    return worst.excess <= 0, text


def _difference(exact: np.ndarray, approximate: np.ndarray) -> np.ndarray:
    """|exact - approximate|: infinite where one side only is NaN (a NaN compared as 0
    before: max(0.0, nan) is 0.0), 0 where both are."""
    difference = np.abs(exact - approximate)
    one_nan = np.isnan(exact) != np.isnan(approximate)
    return np.where(one_nan, np.inf, np.where(np.isnan(difference), 0.0, difference))


def _worst_element(exact: np.ndarray, approximate: np.ndarray, name: str) -> Worst:
    allowed = ATOL + RTOL * np.abs(np.nan_to_num(approximate))
    excess = _difference(exact, approximate) - allowed
    position = np.unravel_index(int(np.argmax(excess)), excess.shape)
    index = ", ".join(str(int(i)) for i in position)
    where = f"{name}[{index}]" if exact.ndim else name
    return Worst(where, float(exact[position]), float(approximate[position]), float(excess.max()))


def _leaves(tree: object) -> list[object]:
    """The arrays and floats of a gradient, in a fixed order (both gradients compared have
    the same structure)."""
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in _leaves(tree[key])]
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    if hasattr(tree, "__dataclass_fields__"):
        return [leaf for key in tree.__dataclass_fields__ for leaf in _leaves(getattr(tree, key))]
    return [tree]


def _parameter_names(function: Callable, count: int) -> list[str]:
    try:
        names = list(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[k] if k < len(names) else f"argument {k}" for k in range(count)]


__all__ = ["check_report"]
