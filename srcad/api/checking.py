"""Checking gradients against central finite differences (``numerical_grad``, ``check_grad``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from srcad.api.signature import call_signature, signature_of
from srcad.arguments import Wrt, constant_gradient, is_constant_leaf
from srcad.errors import ArgumentTypeError, GradientMismatch
from srcad.pytree import flatten, leaf_paths, spelled, unflatten
from srcad.runtime.errors import definition_line, public_api


@public_api
def numerical_grad(fun: Callable, *args, argnums: int | tuple = 0, eps: float = 1e-6):
    """Central differences ``(f(x + eps) - f(x - eps)) / 2 eps`` for every element.

    Two evaluations of ``fun`` per element of the differentiated arguments: the slow,
    reliable reference that ``check_grad`` compares srcad's gradient with.

    Args:
        fun: a function returning a scalar (a non-scalar result is summed), called as
            ``fun(*args)`` at the point ``args`` (pytrees of floats and arrays).
        argnums: the argument (an int) or arguments (a tuple) to differentiate.
        eps: the step (at least 4.9e-3 for a float32 leaf).

    Returns the gradient shaped like ``args[argnums]`` (a tuple of them for a tuple
    ``argnums``).

    Example:
        >>> import numpy as np, srcad
        >>> srcad.numerical_grad(lambda x: np.sum(x ** 2), np.array([1.0, -2.0])).round(6)
        array([ 2., -4.])
    """
    wrt = _checked_wrt(fun, args, argnums)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise TypeError(f"numerical_grad: eps is the step, a positive float; got {eps!r}")
    if not 0 < eps < np.inf:
        raise ValueError(f"numerical_grad: eps is the step, a positive float; got {eps!r}")
    precision = _precision_of_arguments(args)  # float32 code: its steps, for floats too
    return wrt.pick(_argument_gradient(fun, args, number, eps, precision) for number in wrt.numbers)


def _precision_of_arguments(args: tuple) -> np.dtype:
    """The float dtype a function of ``args`` computes in, as NumPy promotes: the narrower
    one where every float array (and NumPy number) among them is narrower than float64
    (Python floats take the arrays' dtype)."""
    leaves, _ = flatten(args)
    floats = {
        np.dtype(leaf.dtype)
        for leaf in leaves
        if isinstance(leaf, (np.ndarray, np.floating)) and leaf.dtype.kind == "f"
    }
    if not floats or any(dtype.itemsize >= 8 for dtype in floats):
        return np.dtype(np.float64)
    return max(floats, key=lambda dtype: dtype.itemsize)


def _precision_of(result: object) -> np.dtype:
    """The float dtype ``fun`` computes its result in: a narrower one than float64 where
    the result is (a float32 loss of float32 weights, whatever its other leaves are)."""
    try:
        dtype = np.asarray(result).dtype
    except (TypeError, ValueError):
        return np.dtype(np.float64)
    is_narrow = dtype.kind == "f" and dtype.itemsize < 8
    return dtype if is_narrow else np.dtype(np.float64)


def _checked_wrt(fun: Callable, args: tuple, argnums: object) -> Wrt:
    """The arguments to differentiate, checked as ``grad`` checks them: each exists and
    holds floats (a step added to an int array would be cut off)."""
    wrt = Wrt.of(argnums).counted_from(len(args), getattr(fun, "__name__", "the function"))
    try:
        names = list(inspect.signature(fun).bind(*args).arguments)
    except (TypeError, ValueError):  # no signature, or a *args: the positions name them
        names = []
    names += [f"arg{k}" for k in range(len(names), len(args))]
    # the others as None: only the differentiated arguments need be pytrees of numbers
    given = [arg if k in wrt.numbers else None for k, arg in enumerate(args)]
    arguments = dict(zip(names[: len(args)], given, strict=True))
    wrt.check(signature_of(arguments, fun), getattr(fun, "__name__", "the function"))
    return wrt


def _argument_gradient(
    fun: Callable, args: tuple, number: int, eps: float, precision: np.dtype
) -> object:
    leaves, treedef = flatten(args[number])
    grads = [
        (
            constant_gradient(leaf)  # a setting among the parameters: a constant
            if is_constant_leaf(leaf) and len(leaves) > 1
            else _leaf_gradient(fun, args, number, leaves, treedef, i, eps, precision)
        )
        for i, leaf in enumerate(leaves)
    ]
    return unflatten(treedef, grads)


def _leaf_gradient(fun, args, argnums, leaves, treedef, index, eps, precision):
    leaf = leaves[index]
    base = np.array(leaf, dtype=np.float64)
    dtype = np.float64 if isinstance(leaf, float) else np.asarray(leaf).dtype
    grad = np.zeros_like(base)

    def evaluate(values: np.ndarray) -> float:
        new_leaf = _as_leaf(leaf, values, dtype)
        new_leaves = leaves[:index] + [new_leaf] + leaves[index + 1 :]
        new_args = list(args)
        new_args[argnums] = unflatten(treedef, new_leaves)
        return _float_result(fun, fun(*new_args))

    is_narrow = np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize < 8
    # a narrower float than float64 (the leaf's, or the one the function computes in): a
    # step of 1e-6 moves a float32 by a few units in its last place; at least the cube root
    # of its epsilon (float32: 4.9e-3), where rounding and curvature balance
    coarsest = float(np.finfo(np.dtype(dtype) if is_narrow else precision).eps)
    coarsest = max(coarsest, float(np.finfo(precision).eps))
    is_coarse = coarsest > float(np.finfo(np.float64).eps)
    step = max(eps, float(np.cbrt(coarsest))) if is_coarse else eps
    for position in np.ndindex(base.shape):
        upper = base.copy()
        upper[position] += step
        lower = upper.copy()
        lower[position] -= 2 * step
        upper, lower = upper.astype(dtype), lower.astype(dtype)  # the points fun is given
        width = 2 * step
        if is_narrow:  # the step the narrow points were rounded to (2 step at NaN)
            moved = float(upper[position]) - float(lower[position])
            width = moved if np.isfinite(moved) and moved > 0 else width
        grad[position] = (evaluate(upper) - evaluate(lower)) / width
    if type(leaf) is float:
        return float(grad)
    if isinstance(leaf, np.generic):  # np.float64(0.5): an np.float64, as srcad's gradient
        return type(leaf)(grad)
    if is_narrow:  # in the argument's dtype, as a gradient is (API.md)
        return grad.astype(dtype) if isinstance(leaf, np.ndarray) else np.dtype(dtype).type(grad)
    return grad


def _as_leaf(leaf: object, values: np.ndarray, dtype: object) -> object:
    """``values`` (moved by a step) as the kind of number or array ``leaf`` is: a Python
    float, a NumPy number (np.float64 is a float too, with ``.item()``), or an array."""
    if type(leaf) is float:
        return float(values)
    if isinstance(leaf, np.generic):
        return type(leaf)(values)
    return values.astype(dtype)


def _float_result(fun: Callable, result: object) -> float:
    """The sum of what ``fun`` returned, which must be made of numbers."""
    try:
        array = np.asarray(result)
    except (TypeError, ValueError):  # a ragged list
        array = None
    if array is None or array.dtype.kind not in "biuf":
        name = getattr(fun, "__name__", "the function")
        raise ArgumentTypeError(
            f"numerical_grad needs {name} to return a float or a float array, but it "
            f"returned {type(result).__name__} {result!r:.60}"
        )
    return float(np.sum(array))


@public_api
def check_grad(
    fun: Callable, *args, argnums: int | tuple = 0, rtol: float = 1e-5, atol: float = 1e-8
) -> None:
    """Raise ``GradientMismatch`` if srcad's gradient differs from finite differences.

    An element fails when ``|srcad - numerical| > atol + rtol * |numerical|``; the error
    names the argument, the element and both values. Returns None when all agree. For a
    float32 (or narrower) leaf, or a function that computes in float32, central differences
    in that precision are good to about eps ** (2/3) relatively (2.4e-5 in float32) and to
    eps |f| / h absolutely (h = eps ** (1/3), the step): ``rtol`` is then at least 30 times
    the first (7.3e-4), ``atol`` at least 10 times the second.

    Example:
        >>> import numpy as np, srcad
        >>> srcad.check_grad(lambda x: np.sum(np.sin(x)), np.array([0.1, 0.2]))  # no error
    """
    from srcad.api.grad import value_and_grad

    for name, tolerance in (("rtol", rtol), ("atol", atol)):
        if not tolerance >= 0:
            raise ValueError(f"check_grad: {name} is a tolerance, at least 0; got {tolerance!r}")
    numbers = Wrt.of(argnums).counted_from(len(args), getattr(fun, "__name__", "f")).numbers
    value, exact = value_and_grad(fun, argnums=numbers)(*args)
    approximate = numerical_grad(fun, *args, argnums=numbers)
    # the steps numerical_grad takes follow the arguments' precision: the tolerances too
    precision = _coarser(_precision_of(value), _precision_of_arguments(args))
    size = float(np.sum(np.abs(np.asarray(value, float))))
    mismatches = []
    for number, g_exact, g_approx in zip(numbers, exact, approximate, strict=True):
        exact_leaves, _ = flatten(g_exact)
        approx_leaves, _ = flatten(g_approx)
        names = _leaf_names(fun, number, args[number], len(exact_leaves))
        for name, a, b in zip(names, exact_leaves, approx_leaves, strict=True):
            if is_constant_leaf(b):
                continue  # a setting among the parameters: no gradient to compare
            approx = np.asarray(b, float)
            coarsest = _coarser(np.asarray(b).dtype, precision)
            leaf_rtol, leaf_atol = _tolerances(coarsest, size, rtol, atol)
            found = _mismatch(np.asarray(a, float), approx, leaf_rtol, leaf_atol, name)
            mismatches += [found] if found is not None else []
    if mismatches:  # the worst element of every argument's leaves
        _, message = max(mismatches, key=lambda found: found[0])
        others = len(mismatches) - 1
        if others:
            message += f" (and {others} other leaf{'s' if others > 1 else ''} of the arguments)"
        raise GradientMismatch(message, *definition_line(fun))


def _coarser(dtype: np.dtype, precision: np.dtype) -> np.dtype:
    """The coarser of a leaf's float dtype and the one the function computes in."""
    if dtype.kind != "f":
        return precision
    return dtype if np.finfo(dtype).eps > np.finfo(precision).eps else precision


def _tolerances(dtype: np.dtype, size: float, rtol: float, atol: float) -> tuple[float, float]:
    """``rtol`` and ``atol`` where central differences run in ``dtype`` on a function of
    value ``size``: for floats narrower than float64, at least what they can tell (see
    ``check_grad``)."""
    if dtype.itemsize >= 8:
        return rtol, atol
    eps = float(np.finfo(dtype).eps)
    step = float(np.cbrt(eps))
    reachable_size = 10.0 * eps * (size if np.isfinite(size) else 0.0) / step
    return max(rtol, 30.0 * eps ** (2.0 / 3.0)), max(atol, reachable_size)


def _leaf_names(fun: Callable, number: int, argument: object, count: int) -> list[str]:
    """How Python spells each leaf of argument ``number`` (``p['b']``, ``cfg.W``): its
    parameter's name and the path to it."""
    try:
        parameters = [
            p.name
            for p in call_signature(fun).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        parameters = []
    root = parameters[number] if number < len(parameters) else f"argument {number}"
    paths = leaf_paths(flatten(argument)[1])
    if len(paths) != count:
        return [f"{root} (leaf {k})" for k in range(count)]
    return [spelled(root, path) for path in paths]


def _mismatch(
    exact: np.ndarray, approx: np.ndarray, rtol: float, atol: float, where: str
) -> tuple[float, str] | None:
    """Where an element of the leaf ``where`` differs by more than the tolerances allow:
    by how much the worst one does, and what ``GradientMismatch`` says of it."""
    error = np.abs(exact - approx) - (atol + rtol * np.abs(approx))
    # NaN where only one side is NaN counts as the worst mismatch (np.max(NaN) > 0 is False)
    alike_nan = np.isnan(exact) & np.isnan(approx)
    error = np.where(np.isnan(error) & ~alike_nan, np.inf, np.where(alike_nan, 0.0, error))
    if error.size and np.max(error) > 0:
        worst = np.unravel_index(np.argmax(error), error.shape)
        absolute = abs(exact[worst] - approx[worst])
        relative = absolute / abs(approx[worst]) if approx[worst] else np.inf
        element = f"[{', '.join(str(int(i)) for i in worst)}]" if worst else ""
        return float(error[worst]), (
            f"gradient mismatch at {where}{element}: srcad gives {float(exact[worst]):.10g}, "
            f"central differences give {float(approx[worst]):.10g} (error {absolute:.3g}, "
            f"relative {relative:.3g}; allowed: atol {atol:g} + rtol {rtol:g} x |central "
            f"difference|); {int(np.sum(error > 0))} of the {error.size} elements of "
            f"{where} differ"
        )
    return None
