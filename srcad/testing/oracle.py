"""Testing: the reference a gradient is checked against, from the plain function alone.

In: a plain Python function, its arguments, and which arguments to differentiate. Out: a
``Reference``: the function's value, and for every element of every float leaf of those
arguments a central difference, Richardson-combined from the steps ``h`` and ``h/2``
(``(4 c(h/2) - c(h)) / 3``, error O(h^4)), in float64. The point is *discarded* (the
reference says why) when it lies near a kink or a branch flip, decided before srcad's answer
is looked at, element by element:

- a jump (a branch that flips within ``h``) makes the two central differences disagree:
  ``c(h) - c(h/2)`` is about ``jump / 2h`` instead of ``f''' h^2 / 8``;
- a kink (``abs``, ``maximum``, a sort order) makes the second differences disagree:
  ``D(h) = f(x+h) - 2 f(x) + f(x-h)`` is ``4 D(h/2)`` up to ``f'''' h^4 / 16`` on a smooth
  function, but differs by about ``slope jump * h`` next to a kink.

Both tests are far stricter than the tolerance gradients are compared with, so a kink they
miss moves the reference by much less than that tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from srcad.testing.trees import fresh_copy, leaves, replace_leaves

STEP = 2e-4
EPS = float(np.finfo(np.float64).eps)
LARGEST_VALUE = 1e4  # larger values (a product that grew in a loop) make a program invalid


class InvalidProgram(Exception):
    """The plain function fails, or gives no finite scalar, at the example point."""


@dataclass(frozen=True)
class Reference:
    """The plain function's value and central-difference gradient at one point."""

    value: float
    gradient: list  # one float64 array per float leaf of the differentiated arguments
    scale: float  # the largest |f| seen while differentiating (for tolerances)
    discard: str = ""  # why the point is too close to a kink or flip to judge, if it is


def plain_value(fn: Callable, args: tuple) -> float:
    """``fn(*args)`` on a copy of the arguments, as a finite, not too large float."""
    with np.errstate(all="ignore"):
        try:
            result = fn(*fresh_copy(args))
        except Exception as error:
            raise InvalidProgram(f"{type(error).__name__}: {error}") from error
    if np.ndim(result) != 0 or not isinstance(result, float | int | np.number):
        raise InvalidProgram(f"f returned {type(result).__name__} of shape {np.shape(result)}")
    value = float(result)
    if not math.isfinite(value) or abs(value) > LARGEST_VALUE:
        raise InvalidProgram(f"f returned {value}")
    return value


def differentiated_leaves(args: tuple, wrt: tuple[int, ...]) -> list:
    """The float leaves of the differentiated arguments, in order."""
    return [leaf for index in wrt for leaf in leaves(args[index])]


def perturbed(args: tuple, argument: int, leaf: int, element: tuple, delta: float) -> tuple:
    """A copy of ``args`` with one element of one leaf of one argument moved by ``delta``."""
    new_leaves = [
        np.array(x, copy=True) if isinstance(x, np.ndarray) else x for x in leaves(args[argument])
    ]
    if isinstance(new_leaves[leaf], np.ndarray):
        new_leaves[leaf][element] += delta
    else:
        new_leaves[leaf] = float(new_leaves[leaf]) + delta
    moved = replace_leaves(args[argument], iter(new_leaves))
    return args[:argument] + (moved,) + fresh_copy(args[argument + 1 :])


def reference_gradient(fn: Callable, args: tuple, wrt: tuple[int, ...]) -> Reference:
    """The value and Richardson central differences of ``fn`` at ``args``, or a discard."""
    value = plain_value(fn, args)
    gradient, scale = [], max(1.0, abs(value))
    for argument in wrt:
        for index, leaf in enumerate(leaves(args[argument])):
            column = np.zeros(np.shape(leaf))
            for element in np.ndindex(np.shape(leaf)):
                slope, local_scale, reason = _slope(fn, args, (argument, index, element), value)
                if reason:
                    return Reference(value, [], scale, f"argument {argument} {element}: {reason}")
                column[element] = slope
                scale = max(scale, local_scale)
            gradient.append(column)
    return Reference(value, gradient, scale)


def _slope(fn: Callable, args: tuple, coordinate: tuple, value: float) -> tuple[float, float, str]:
    """(Richardson slope, scale, "") along one coordinate, or (nan, scale, reason)."""
    try:
        moved = {
            t: plain_value(fn, perturbed(args, *coordinate, t * STEP)) for t in (-1, -0.5, 0.5, 1)
        }
    except InvalidProgram as error:
        return math.nan, 1.0, f"invalid next to the point ({error})"
    scale = max(1.0, abs(value), *(abs(v) for v in moved.values()))
    noise = 500 * EPS * scale
    wide = (moved[1] - moved[-1]) / (2 * STEP)
    narrow = (moved[0.5] - moved[-0.5]) / STEP
    if abs(wide - narrow) > 1e-7 * (1 + abs(narrow)) + noise / STEP:
        return math.nan, scale, f"branch flip or kink within h (slopes {wide:.6g}, {narrow:.6g})"
    curvature_wide = moved[1] - 2 * value + moved[-1]
    curvature_narrow = moved[0.5] - 2 * value + moved[-0.5]
    if abs(curvature_wide - 4 * curvature_narrow) > 10 * noise:
        return math.nan, scale, "kink within h (second differences do not scale as h^2)"
    return (4 * narrow - wide) / 3, scale, ""


def gradient_tolerance(reference: float, scale: float) -> float:
    """How far a correct gradient element may be from its central-difference reference."""
    return 1e-5 * (1 + abs(reference)) + 1e-10 * scale / STEP


def value_tolerance(value: float) -> float:
    """How far srcad's value may be from the plain function's (operations may be reordered)."""
    return 1e-9 * (1 + abs(value))
