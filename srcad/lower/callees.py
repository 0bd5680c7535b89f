"""What a callee is (a user's function, a container's method, a builtin srcad traces) and
how builtins and NumPy functions run on traced values (``len``, ``max``, ``float``,
``np.shape``): the part of lowering a call (``srcad.lower.calls``) that needs no inlining.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable
from typing import Any, Protocol, TypeGuard

import numpy as np
from numpy.typing import DTypeLike

from srcad.errors import NoDerivativeRule, SrcadError, UnsupportedSyntax
from srcad.ir import Var
from srcad.ir.builder import StaticValueNeeded, Tracer
from srcad.ir.primitive import module_spelling
from srcad.lower.context import Lowering
from srcad.lower.iteration import static_items
from srcad.lower.value_classes import traced_isinstance, traced_isscalar
from srcad.pytree import flatten

CONTAINER_METHODS = {"append", "extend", "insert", "update", "setdefault"}
TRACEABLE_BUILTINS = {
    len,
    sum,
    max,
    min,
    float,
    int,
    math.log,
    range,
    isinstance,
    tuple,
    list,
    dict,
}
# Python's conversions of one number to an int or float, as NumPy computes them on a
# number: int(v) truncates toward zero, round(v) rounds half to even; the int ones have no
# derivative (a step function: zero wherever it has one)
# Python's conversions of a number: the row each is (an int, weak as Python's: see
# srcad.ir.table.conversions); float() of a float is the value itself
NUMBER_CONVERSIONS: dict[object, str | None] = {
    int: "python_int",
    math.trunc: "math_trunc",
    math.floor: "math_floor",
    math.ceil: "math_ceil",
    round: "python_round",
    float: None,
    bool: None,
}
# np.shape, np.ndim, np.size: ints fixed when compiling (Tracer.__array_function__ answers)
TRACEABLE_BUILTINS |= {np.shape, np.ndim, np.size, np.isscalar, *NUMBER_CONVERSIONS}
TRACEABLE_BUILTINS |= {any, all, sorted, reversed, math.isclose, divmod}
# math's folds of the items of a list or vector: math.fsum's exactly rounded sum is its own
# (math_fsum); math.prod's and math.dist's are NumPy's, which may differ in the last bit
SUMS_OF_ITEMS = {math.fsum, math.prod, math.dist}
TRACEABLE_BUILTINS |= SUMS_OF_ITEMS
# The arguments of a call in the user's code: any values, which the callee checks as it
# does in Python.
Args = list[Any]
Kwargs = dict[str, Any]


# --- builtins and NumPy on traced values --------------------------------------------------
def traced_builtin(
    lowering: Lowering,
    function: Callable[..., object],
    args: Args,
    kwargs: Kwargs,
    node: ast.Call,
) -> object:
    """Python builtins (and ``math.log`` with a base) applied to traced values."""
    builder = lowering.builder
    if function in (max, min) and (len(args) >= 2 or _is_iterable_of_items(args[0])):
        return _extremum(lowering, function, args, kwargs, node)
    if function is isinstance and len(args) == 2 and isinstance(args[0], Tracer):
        return traced_isinstance(lowering, args[0], args[1], node)
    if function is np.isscalar and len(args) == 1 and isinstance(args[0], Tracer):
        return traced_isscalar(lowering, args[0], node)
    if function in NUMBER_CONVERSIONS and args and isinstance(args[0], Tracer):
        if function is round and "ndigits" in kwargs:  # round(v, ndigits=2)
            args, kwargs = [args[0], kwargs["ndigits"]], {}
        if kwargs:
            raise lowering.located(SrcadError, f"'{ast.unparse(node)}': unexpected keywords", node)
        return _number_of(lowering, function, args, node)
    if function in (any, all) and len(args) == 1 and not kwargs:
        return _truth_of_items(lowering, function, args[0], node)
    if function is sorted and len(args) == 1 and set(kwargs) <= {"reverse"}:
        if _are_numbers(args[0]):  # not tuples, which sort by their first item
            return _sorted_numbers(lowering, args[0], bool(kwargs.get("reverse", False)), node)
    if function in SUMS_OF_ITEMS and len(args) in (1, 2) and not kwargs:
        return _summed_items(lowering, function, args, node)
    if function is math.isclose and len(args) == 2:
        return _is_close(args[0], args[1], **kwargs)
    if function is divmod and len(args) == 2 and not kwargs:  # Python's floor and remainder
        quotient: Any = args[0] // args[1]
        return quotient, args[0] % args[1]
    if function is math.log and len(args) == 2:
        value, base = args
        logarithm = builder.tracer(builder.apply_atom("log", (value,)))
        if isinstance(base, Tracer):  # a base computed from data: its log, traced too
            return logarithm / builder.tracer(builder.apply_atom("log", (base,)))
        return logarithm / math.log(base)
    if function is range:
        raise StaticValueNeeded(
            f"'{ast.unparse(node)}': the bounds of a range must be ints known when "
            "compiling, and these are computed from values read on every call (floats, "
            "arrays, a loop's counter, NumPy integers such as np.int64); give the count as a "
            "Python int (an int global or argument, or one computed from float globals, is "
            "fixed when compiling and checked on every call) or loop with 'while t < end'",
            builder.loc,
            tuple(a for a in args if isinstance(a, Tracer)),
        )
    return function(*args, **kwargs)  # len, sum, abs... work through the array protocol


def _summed_items(
    lowering: Lowering, function: Callable[..., object], args: Args, node: ast.Call
) -> object:
    """``math.fsum(xs)``, ``math.prod(xs[, start])``, ``math.dist(p, q)`` of numbers from data."""
    items: list[Any] = [as_array(item) for item in _items(lowering, args[0], node)]
    if function is math.dist:
        others = _items(lowering, args[1], node)
        squares = [(a - b) ** 2 for a, b in zip(items, others, strict=True)]
        distance: Any = functools.reduce(operator.add, squares, 0.0)
        return np.sqrt(distance)
    if function is math.prod:
        return functools.reduce(operator.mul, items, args[1] if len(args) == 2 else 1)
    if not items:
        return 0.0
    return lowering.builder.apply("math_fsum", (np.stack(items),))  # exactly rounded


def _extremum(
    lowering: Lowering, function: Callable[..., object], args: Args, kwargs: Kwargs, node: ast.Call
) -> object:
    """``max(a, b, c)``, ``max(abs(v) for v in xs)``, ``max(d.values(), default=0.0)``: the
    items one after the other, as Python takes them: an item replaces the result only where
    it is greater (less), so that ties and NaNs give what Python gives (``max(1.0, nan)`` is
    1.0, ``max(nan, 1.0)`` is nan; NumPy's maximum would give nan for both)."""
    name = getattr(function, "__name__", "max")
    if "key" in kwargs:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' orders values computed from data by a key; pick with "
            f"np.arg{name}: xs[np.arg{name}([key(v) for v in xs])]",
            node,
        )
    default = kwargs.get("default", _MISSING)
    if set(kwargs) - {"default"} or (default is not _MISSING and len(args) != 1):
        raise lowering.located(SrcadError, f"'{ast.unparse(node)}': unexpected keywords", node)
    items = list(args[0]) if len(args) == 1 else list(args)
    if not items:
        if default is _MISSING:
            raise lowering.located(SrcadError, f"{name}() of nothing", node)
        return default
    replaces = "greater" if function is max else "less"
    builder = lowering.builder
    result = items[0]
    for item in items[1:]:
        replaced = builder.apply_atom(replaces, (item, result))
        picked = builder.tracer(builder.apply_atom("where", (replaced, item, result)))
        # np.where gives a 0-d array where Python's max gives the item: its number
        result = picked[()] if picked.shape == () else picked
    lowering.world.note_int_or_float(items, result)  # max(v, 0): an int or a float
    if all(_is_python_float(item) for item in items) and isinstance(result, Tracer):
        return _as_float(result)  # max of Python floats is one: weak, rounded as Python's
    return result


def _is_python_float(value: object) -> bool:
    if isinstance(value, Tracer):
        return value.aval.is_weak and value.dtype.kind == "f"
    return type(value) is float


_MISSING = object()


def _number_of(
    lowering: Lowering, function: Callable[..., object], args: Args, node: ast.Call
) -> object:
    """``int(v)``, ``float(v)``, ``bool(v)``, ``round(v[, digits])``, ``math.floor(v)``... of
    a traced number: NumPy's counterpart on the number, then an int where Python gives one."""
    value = args[0]
    if value.shape != ():
        name = getattr(function, "__name__", "")
        message = f"{name}() of an array of shape {value.shape}; index one number, or use NumPy"
        raise lowering.located(SrcadError, message, node)
    if value.dtype.kind not in "iubf":
        raise lowering.located(
            SrcadError,
            f"'{ast.unparse(node)}': {ast.unparse(node.args[0])} is text formatted from data "
            "when the code runs (an f-string or str() of a computed value), not a number srcad "
            "can compute with; use the number itself",
            node,
        )
    if function is bool:  # Python's truth of a number: nonzero (NaN too)
        return value != 0
    if function is float:  # a Python float, weak as Python's
        return value if _is_python_float(value) else _as_float(value)
    if function is round and len(args) == 2 and args[1] is not None:
        if _is_python_float(value):  # Python's round of its float
            number = lowering.builder.apply("python_float", (value,))  # np.sqrt(a): np.float64
            return lowering.builder.apply("python_round_digits", (number,), {"ndigits": args[1]})
        return np.round(value, args[1])  # NumPy's number: np.round, as its __round__ is
    row = NUMBER_CONVERSIONS[function]
    assert row is not None  # float and bool returned above
    return lowering.builder.apply(row, (value,))  # a Python int, as the plain function's


def _as_float(value: Tracer) -> object:
    """``float(v)`` of a NumPy number: Python's float (of an int or bool, made a float first:
    the row's derivative is for floats)."""
    is_number = value.dtype.kind == "f" or value.aval.is_weak  # a Python int: float() takes it
    number = value if is_number else value.astype(np.float64)
    return value.builder.apply("python_float", (number,))


def _items(lowering: Lowering, items: object, node: ast.Call) -> list[object]:
    """What ``any``, ``all`` and ``sorted`` iterate: a vector's numbers, a list's items (an
    array with more axes would give rows, whose truth and order Python cannot tell)."""
    if isinstance(items, Tracer) and items.ndim > 1:
        name = ast.unparse(node.func)
        numpys = {"math.fsum": "sum", "math.prod": "prod"}.get(name, name)
        message = f"{name}() of an array of shape {items.shape}; use np.{numpys} with an axis"
        raise lowering.located(SrcadError, message, node)
    return static_items(lowering, items, node)


def _truth_of_items(
    lowering: Lowering, function: Callable[..., object], items: object, node: ast.Call
) -> object:
    """``any(v > 0 for v in x)``, ``all(x > 0)``: the truth of each item (a number is true
    where it is not 0), joined by ``np.logical_or`` / ``np.logical_and``."""
    truths = [_truth(value) for value in _items(lowering, items, node)]
    join: Any = np.logical_and if function is all else np.logical_or
    return functools.reduce(join, truths, function is all)


def _truth(value: object) -> object:
    if isinstance(value, Tracer):
        if value.shape != ():
            return bool(value)  # NumPy's error: an array's truth is ambiguous
        return value if value.dtype == np.bool_ else value != 0
    return bool(value)


def _are_numbers(items: object) -> bool:
    if isinstance(items, Tracer):
        return items.ndim == 1
    return isinstance(items, (list, tuple)) and all(
        (isinstance(v, Tracer) and v.ndim == 0) or isinstance(v, (int, float)) for v in items
    )


def _sorted_numbers(lowering: Lowering, items: object, reverse: bool, node: ast.Call) -> object:
    """``sorted(x)`` of numbers: ``np.sort``'s order as a list (equal numbers are alike)."""
    values = np.sort(as_array(_items(lowering, items, node)))  # type: ignore[call-overload]
    return list(values[::-1] if reverse else values)


def _is_close(a: object, b: object, rel_tol: float = 1e-9, abs_tol: float = 0.0) -> object:
    """``math.isclose(a, b)``: equal, or within the larger of the tolerances."""
    gap = abs(a - b)  # type: ignore[operator]
    bound = np.maximum(rel_tol * np.maximum(abs(a), abs(b)), abs_tol)  # type: ignore[arg-type]
    return np.logical_or(a == b, gap <= bound)


def array_of(value: object, dtype: DTypeLike | None = None) -> Tracer | np.ndarray:
    """``np.array(value)`` of traced values: a copy of an array, or nested lists of values
    stacked into one."""
    array: Tracer | np.ndarray
    if isinstance(value, (list, tuple)):
        rows = [array_of(item) for item in value]
        # NumPy's stubs do not know ``__array_function__``: a stack of tracers is a tracer
        array = np.stack(rows)  # type: ignore[arg-type]
    elif isinstance(value, Tracer):
        array = value.copy()
    else:
        array = np.array(value)
    return array if dtype is None else array.astype(dtype)


def as_float64(value: object) -> object:
    """``np.asarray(value, dtype=np.float64)`` of an argument that SciPy or NumPy reads as
    float64 whatever its dtype (``np.interp``, ``cdist``): an array of the function's, a
    constant, or a list of either."""
    if isinstance(value, (list, tuple)):
        value = array_of(value)
    if getattr(value, "dtype", None) == np.float64:
        return value  # as it is: no copy in the generated code
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "astype"):
        return value.astype(np.float64)
    return np.asarray(value, dtype=np.float64)


def named(value: Any, hint: str) -> Any:
    """``value``, named ``hint`` in the generated code unless it has a name (the user's
    assignment names it later)."""
    if isinstance(value, Tracer) and isinstance(value.atom, Var):
        if not value.builder.is_named(value.atom):
            value.builder.set_hint(value.atom, hint)
    return value


def as_array(value: object) -> object:
    """An array input of a NumPy function as NumPy reads it: a list of traced values
    (``np.sum([v * 2.0 for v in x])``) is the array of its items."""
    if isinstance(value, (list, tuple)) and any(isinstance(v, Tracer) for v in flatten(value)[0]):
        return array_of(value)
    return value


def no_rule(lowering: Lowering, node: ast.Call) -> NoDerivativeRule:
    name = ast.unparse(node.func)
    return lowering.located(
        NoDerivativeRule,
        f"'{name}' has no derivative rule; rewrite it with supported NumPy operations "
        f"or give it one with srcad.defvjp({name}, rule)",
        node,
    )


# --- what a callee is ---------------------------------------------------------------------
class ContainerMethod(Protocol):
    """A bound method of a Python list or dict (``hs.append``)."""

    __self__: list[object] | dict[object, object]
    __name__: str

    def __call__(self, *args: object, **kwargs: object) -> object: ...


def _is_iterable_of_items(value: object) -> bool:
    """A list, tuple or dict view of values (``d.values()``), or a traced vector (its
    elements), as ``max``/``min`` iterate them."""
    if isinstance(value, Tracer):
        return value.ndim == 1
    return isinstance(value, (list, tuple, type({}.values()), type({}.keys())))


def is_container_method(function: object) -> TypeGuard[ContainerMethod]:
    return isinstance(getattr(function, "__self__", None), (list, dict))


def is_traceable_builtin(function: object) -> TypeGuard[Callable[..., object]]:
    return function in TRACEABLE_BUILTINS


def call_leaves(args: Args, kwargs: Kwargs) -> list[object]:
    leaves, _ = flatten([args, kwargs])
    return leaves


def is_str_format(function: object) -> bool:
    return isinstance(getattr(function, "__self__", None), str) and (
        getattr(function, "__name__", "") == "format"
    )


def is_numpy_scalar_type(function: object) -> bool:
    return isinstance(function, type) and issubclass(function, (np.integer, np.floating))


# NumPy functions without a derivative rule that the generated code may run on values not
# differentiated (np.corrcoef(C) of a global C, read on every call): those whose result's
# shape follows from their arguments' shapes, since the graph fixes it when compiling
# (np.unique or np.nonzero, whose shapes depend on the data, are not among them).
RUN_AS_IS = frozenset(
    "nanmean nanstd nanvar "
    "nansum nanprod ptp searchsorted digitize interp corrcoef cov "
    "matrix_rank cond isin lexsort".split()
)


def numpy_spelling(function: object) -> str | None:
    """``np.median``, ``np.linalg.matrix_rank``: how generated code names a NumPy function
    of ``RUN_AS_IS``; None for anything else."""
    module, name = getattr(function, "__module__", None), getattr(function, "__name__", "")
    if not isinstance(module, str) or module.partition(".")[0] != "numpy":
        return None
    if name not in RUN_AS_IS:
        return None
    spelling = f"{module_spelling(module)}.{name}"
    found: object = np
    for part in spelling.split(".")[1:]:
        found = getattr(found, part, None)
    return spelling if found is function else None
