"""Tracers: stand-ins for IR values inside ordinary NumPy code.

A ``Tracer`` holds a ``GraphBuilder`` and an atom (a ``Var`` or ``Const``). Arithmetic
operators, NumPy ufuncs, NumPy functions (through ``__array_ufunc__`` /
``__array_function__``) and a few array methods on tracers record equations with the builder
instead of computing: ``np.exp(t)`` appends ``%2 = exp %1`` and gives a tracer of ``%2``.
Lowering runs the user's expressions this way, and the reverse and forward transformations
run the derivative rules (plain NumPy code) on tracers.

Also here: how a NumPy call's
arguments and an index are split into what is recorded as inputs and what as static params.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

import numpy as np

from srcad.ir.errors import (
    StaticValueNeeded,
    TraceError,
    TruthValueNeeded,
    UnknownPrimitiveError,
)
from srcad.ir.graph import Atom, AVal, Const, Loc
from srcad.ir.index import encode_index
from srcad.ir.primitive import NotStatic, module_spelling
from srcad.ir.prims import PRIMS, prim_of
from srcad.ir.selection import Positions, Selection, mask_of_positions, positions_of

if TYPE_CHECKING:
    from srcad.ir.builder import GraphBuilder

# What recording a primitive gives: one tracer per output, a tuple of them for several (a
# list for the primitives that return one, as ``np.split``).
Traced: TypeAlias = "Tracer | tuple[Tracer, ...] | list[Tracer]"


# the row that makes a NumPy number of a dtype kind Python's (x.item())
PYTHON_NUMBER_ROWS = {"f": "python_float", "i": "python_int", "u": "python_int", "b": "python_bool"}


class Tracer:
    """A stand-in for an IR value inside NumPy code; operations record equations."""

    __array_priority__ = 1000
    __slots__ = ("builder", "atom", "fresh", "view")

    def __init__(self, builder: GraphBuilder, atom: Atom, fresh: bool = False, view: bool = False):
        self.builder = builder
        self.atom = atom
        self.fresh = fresh  # a new array for NumPy, though the IR reuses a value (x * 1.0)
        # a view of the array ``atom`` stands for, though the IR has no equation for it
        # (y.reshape(-1) of a vector: NumPy's view, the IR's y itself)
        self.view = view

    # --- static facts -------------------------------------------------------------------
    @property
    def aval(self) -> AVal:
        return self.atom.aval

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def ndim(self) -> int:
        return self.aval.ndim

    @property
    def size(self) -> int:
        return self.aval.size

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.aval.dtype)

    def __len__(self) -> int:
        if not self.shape and self.dtype.kind in "OSU":
            raise TraceError(
                "len() of a value made when the code runs that is not an array: text "
                "formatted from data (an f-string or str() of a computed value), whose length "
                "depends on the digits, or an object; format text for printing only",
                self.builder.loc,
            )
        if not self.shape:
            raise TraceError("len() of a 0-d value", self.builder.loc)
        return self.shape[0]

    def __bool__(self) -> bool:
        raise TruthValueNeeded(
            "the truth value of a value computed from data is only known when the function "
            "runs, and here Python asks for it while srcad compiles (a sort or comparison of "
            "items, 'and'/'or' between arrays, a library function testing it); compare and "
            "pick with NumPy instead (np.sort, np.argsort, np.where, np.maximum), or write "
            "the test as an 'if' statement, which srcad follows",
            self.builder.loc,
        )

    def __repr__(self) -> str:
        return f"Tracer({self.atom!r})"

    def _apply(self, prim_name: str, *inputs: object, **params: object) -> Traced:
        if any(isinstance(i, Selection) for i in inputs):
            return NotImplemented  # x * positive: the selection's operator answers
        return self.builder.apply(prim_name, inputs, params)

    # --- operators ----------------------------------------------------------------------
    def __add__(self, other):
        return self._apply("add", self, other)

    def __radd__(self, other):
        return self._apply("add", other, self)

    def __sub__(self, other):
        return self._apply("subtract", self, other)

    def __floordiv__(self, other):  # on ints (a counter): see the lowering's STATIC_ONLY
        return self._apply("floor_divide", self, other)

    def __rfloordiv__(self, other):
        return self._apply("floor_divide", other, self)

    def __mod__(self, other):
        return self._apply("remainder", self, other)

    def __rmod__(self, other):
        return self._apply("remainder", other, self)

    def __rsub__(self, other):
        return self._apply("subtract", other, self)

    def __mul__(self, other):
        return self._apply("multiply", self, other)

    def __rmul__(self, other):
        return self._apply("multiply", other, self)

    def __truediv__(self, other):
        return self._apply("divide", self, other)

    def __rtruediv__(self, other):
        return self._apply("divide", other, self)

    def __pow__(self, other):
        return self._apply("power", self, other)

    def __rpow__(self, other):
        return self._apply("power", other, self)

    def __matmul__(self, other):
        return self._apply("matmul", self, other)

    def __rmatmul__(self, other):
        return self._apply("matmul", other, self)

    def __neg__(self):
        return self._apply("negative", self)

    def __pos__(self):
        return self._apply("positive", self)  # NumPy's +B is a new array: C = +B; B[1] = v

    def __abs__(self):
        return self._apply("absolute", self)

    def __gt__(self, other):
        return self._apply("greater", self, other)

    def __ge__(self, other):
        return self._apply("greater_equal", self, other)

    def __lt__(self, other):
        return self._apply("less", self, other)

    def __le__(self, other):
        return self._apply("less_equal", self, other)

    def __eq__(self, other):  # noqa: D105 - elementwise, as for arrays
        return self._apply("equal", self, other)

    def __ne__(self, other):
        return self._apply("not_equal", self, other)

    __hash__ = object.__hash__

    # masks combine with & | ^ ~ as NumPy's boolean arrays do: (x > 0) & (x < 1)
    def __and__(self, other):
        return self._logical("logical_and", self, other)

    def __rand__(self, other):
        return self._logical("logical_and", other, self)

    def __or__(self, other):
        return self._logical("logical_or", self, other)

    def __ror__(self, other):
        return self._logical("logical_or", other, self)

    def __xor__(self, other):
        return self._logical("logical_xor", self, other)

    def __rxor__(self, other):
        return self._logical("logical_xor", other, self)

    def __invert__(self):
        return self._logical("logical_not", self)

    def _logical(self, prim_name: str, *inputs: object) -> Traced:
        """A bitwise operator on booleans, which is the logical one; refused on integers."""
        if not all(_is_boolean(i) for i in inputs):
            raise TraceError(
                "bitwise operators (& | ^ ~) on values computed from data work on booleans "
                "(masks) only; compare first, or use np.logical_and",
                self.builder.loc,
            )
        return self._apply(prim_name, *inputs)

    # --- NumPy protocols ----------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(isinstance(i, Selection) for i in inputs):
            return NotImplemented
        if ufunc in BITWISE and method == "__call__" and not kwargs:
            return self._logical(BITWISE[ufunc], *inputs)  # a constant mask & a traced one
        prim = prim_of(ufunc)
        if method != "__call__" or kwargs or prim is None:
            raise UnknownPrimitiveError(_unknown(ufunc, method), self.builder.loc)
        return self.builder.apply(prim.name, inputs)

    def __array_function__(self, func, types, args, kwargs):
        if Selection in types or Positions in types:
            return NotImplemented
        if func is np.shape:
            return self.shape
        if func is np.ndim:
            return self.ndim
        if func is np.size and len(args) == 1:
            return self.size
        prim = prim_of(func)
        if prim is None:
            raise UnknownPrimitiveError(_unknown(func, "__call__"), self.builder.loc)
        return record_call(self.builder, prim.name, args, kwargs)

    # --- array methods ------------------------------------------------------------------
    @property
    def real(self):
        """The value itself: srcad's values are real (``w.real`` after ``np.linalg.eig`` of a
        matrix whose eigenvalues are real; complex ones are refused when they appear)."""
        self._require_real("real")
        return self

    @property
    def imag(self):
        """Zeros of the value's shape (its values are real)."""
        self._require_real("imag")
        return np.zeros_like(self)

    def _require_real(self, attribute: str) -> None:
        if np.dtype(self.aval.dtype).kind == "c":
            raise TraceError(
                f"'.{attribute}' of a complex value: srcad differentiates real values only",
                self.builder.loc,
            )

    @property
    def T(self):
        return self._apply("transpose", self)

    def reshape(self, *shape, order="C"):
        shape = shape[0] if len(shape) == 1 else shape
        order_param = {} if order == "C" else {"order": order}
        # NumPy's stubs do not know ``__array_function__``: the call records a reshape here
        return np.reshape(self, shape, **order_param)  # type: ignore[call-overload]

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 else axes
        return self._apply("transpose", self, **({"axes": tuple(axes)} if axes else {}))

    def copy(self, order="K"):  # noqa: ARG002 - the copy's layout does not matter here
        return self._apply("copy", self)  # a new array: other names for this one are not it

    def astype(self, dtype, copy=True):
        if not copy and np.dtype(dtype) == np.dtype(self.aval.dtype):
            return self  # NumPy gives the array itself (writes into either are the other's)
        return self.builder.apply("astype", (self,), {"dtype": np.dtype(dtype)})

    def flatten(self, order="C"):
        # a copy, unlike ravel; NumPy's stubs do not know ``__array_function__`` (see reshape)
        ravelled = np.ravel(self, order=order)  # type: ignore[call-overload]
        return Tracer(self.builder, ravelled.atom, fresh=True)

    def item(self, *index):
        """``x.item()``: the one number of a size-1 array, ``x.item(k)`` the k-th in C order:
        a Python number computed from data, traced (a float, an int: weak, as Python's)."""
        if len(index) == 1 and isinstance(index[0], tuple):
            index = index[0]
        if not index:
            if self.aval.size != 1:
                raise TraceError(
                    f"item() of an array of shape {self.shape}: only an array of size 1 "
                    "converts to a number; give an index (x.item(k))",
                    self.builder.loc,
                )
            number = np.reshape(self, ())  # type: ignore[call-overload]
        elif len(index) == 1:
            number = np.ravel(self)[index[0]]  # type: ignore[call-overload]
        else:
            number = self[index]
        kind = np.dtype(self.dtype).kind
        if self.aval.is_weak or kind not in PYTHON_NUMBER_ROWS:
            return number
        return self.builder.apply(PYTHON_NUMBER_ROWS[kind], (number,))

    def tolist(self):
        """``x.tolist()``: nested lists of its numbers, each a Python number (``item()``)."""
        if self.ndim == 0:
            return self.item()
        return [row.tolist() for row in self]

    def __iter__(self):
        return iter([self[i] for i in range(len(self))])

    def nonzero(self):
        """``mask.nonzero()``: as ``np.nonzero(mask)``, followed as an index."""
        if asks_positions(np.nonzero, (self,), {}):
            return positions_of(self, self.builder.loc)
        raise UnknownPrimitiveError(_unknown(np.nonzero, "__call__"), self.builder.loc)

    def __getitem__(self, index):
        positions_mask = mask_of_positions(index)
        if positions_mask is not None:  # x[np.nonzero(mask)]: x[mask]
            index = positions_mask
        if is_data_mask(index, self):
            return Selection.of(self, index, self.builder.loc)
        static, arrays = encode_index(plain_index(index, self.builder.loc, self.aval.shape))
        return self.builder.apply("getitem", (self, *arrays), {"index": static})


# Array methods that mean the NumPy function of the same name, with the same arguments after
# the array (``x.sum(axis=1, keepdims=True)`` is ``np.sum(x, axis=1, keepdims=True)``).
SAME_AS_NUMPY = (
    "sum mean max min std var prod cumsum cumprod ravel squeeze swapaxes clip dot "
    "argmax argmin any all round diagonal trace repeat take"
).split()


def _method_of(function: Callable) -> Callable:
    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    method.__name__ = function.__name__
    method.__doc__ = f"``np.{function.__name__}`` of this value."
    return method


for _name in SAME_AS_NUMPY:
    setattr(Tracer, _name, _method_of(getattr(np, _name)))


BITWISE = {
    np.bitwise_and: "logical_and",
    np.bitwise_or: "logical_or",
    np.bitwise_xor: "logical_xor",
    np.invert: "logical_not",
}


def _is_boolean(value: object) -> bool:
    if isinstance(value, Tracer):
        return value.aval.dtype == "bool"
    return isinstance(value, (bool, np.bool_)) or (
        isinstance(value, np.ndarray) and value.dtype == bool
    )


def asks_positions(func: object, args: tuple, kwargs: dict) -> bool:
    """``np.nonzero(mask)`` or ``np.where(mask)`` of a boolean array computed from data, or
    ``np.flatnonzero(mask)`` of a 1-d one."""
    if not (func is np.nonzero or func is np.where or func is np.flatnonzero):
        return False
    mask = args[0] if len(args) == 1 and not kwargs else None
    if not (isinstance(mask, Tracer) and mask.aval.dtype == "bool" and mask.ndim > 0):
        return False
    return func is not np.flatnonzero or mask.ndim == 1  # flat positions of a 1-d mask


def is_data_mask(index: object, base: Tracer) -> bool:
    """A boolean array computed from data over ``base``'s leading axes (``x[x > 0]``)."""
    return (
        isinstance(index, Tracer)
        and not isinstance(index.atom, Const)
        and index.aval.dtype == "bool"
        and 0 < index.ndim <= base.ndim
        and index.shape == base.shape[: index.ndim]
    )


def plain_index(
    index: object, loc: Loc | None, shape: tuple[int, ...] | None = None
) -> tuple[object, ...]:
    """Index parts as ints, slices, tracers or integer arrays (masks become positions).
    ``shape``: the indexed array's, which a constant mask must match as NumPy requires
    (its positions would index a shorter or longer array)."""
    items = index if isinstance(index, tuple) else (index,)
    if shape is not None:
        _check_masks(items, shape, loc)
    plain: list[object] = []
    for item in items:
        if isinstance(item, slice):
            plain.append(
                slice(*(_static_bound(b, loc) for b in (item.start, item.stop, item.step)))
            )
        elif isinstance(item, Tracer) and isinstance(item.atom, Const):
            plain.extend(plain_index(np.asarray(item.atom.value), loc))
        elif isinstance(item, Tracer):
            if item.aval.dtype == "bool":
                raise TraceError(
                    "boolean masks computed from data give data-dependent shapes; "
                    "use np.where(mask, x, 0) instead",
                    loc,
                )
            if item.aval.dtype not in ("int64", "int32", "intp", "uint8", "int16", "int8"):
                raise TraceError(f"cannot index with a {item.aval.dtype} value", loc)
            plain.append(item)
        elif isinstance(item, list) and _holds_tracer(item):
            raise StaticValueNeeded(  # a loop's counter in it: the loop unrolls
                "an index list holding values computed from data; index with an array of "
                "them instead (x[np.array([i, j])])",
                loc,
            )
        elif _is_single_bool(item):  # np.True_, np.array(False): a new axis, as True is
            plain.append(bool(item))
        elif isinstance(item, (list, np.ndarray)):
            array = np.asarray(item, dtype=np.intp if isinstance(item, list) and not item else None)
            plain.extend(np.nonzero(array) if array.dtype == bool else [array])  # x[[]]: ints
        elif isinstance(item, float):
            raise TraceError("cannot index with a float; use an int", loc)
        else:
            plain.append(item)
    return tuple(plain)


def _is_single_bool(item: object) -> bool:
    """A bool as an index: Python's, NumPy's, or a 0-d bool array (a new axis of 1 or 0)."""
    if isinstance(item, Tracer) and isinstance(item.atom, Const):
        item = item.atom.value
    is_array = isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype == bool
    return type(item) is bool or isinstance(item, np.bool_) or is_array


def _constant_mask(item: object) -> np.ndarray | None:
    """A constant boolean array index (a list, an array, a constant tracer), else None."""
    if isinstance(item, Tracer) and isinstance(item.atom, Const):
        item = item.atom.value
    if isinstance(item, (list, np.ndarray)) and not (
        isinstance(item, list) and _holds_tracer(item)
    ):
        array = np.asarray(item)
        return array if array.dtype == bool and array.ndim >= 1 else None
    return None


def _check_masks(items: tuple, shape: tuple[int, ...], loc: Loc | None) -> None:
    """NumPy's IndexError for a constant mask whose shape is not that of the axes it
    indexes, raised when compiling."""
    masks = [_constant_mask(item) for item in items]
    if all(mask is None for mask in masks):
        return
    widths = [
        mask.ndim if mask is not None else 0 if item is None or _is_single_bool(item) else 1
        for item, mask in zip(items, masks, strict=True)
    ]
    rest = len(shape) - sum(
        w for item, w in zip(items, widths, strict=True) if item is not Ellipsis
    )
    axis = 0
    for item, mask, width in zip(items, masks, widths, strict=True):
        if item is Ellipsis:
            axis += max(rest, 0)
            continue
        sizes = shape[axis : axis + width]
        if mask is not None and sizes != mask.shape:
            k = next((k for k, n in enumerate(sizes) if n != mask.shape[k]), len(sizes))
            raise TraceError(
                f"the boolean index does not match the indexed array along axis {axis + k}: "
                f"the array's size there is {sizes[k] if k < len(sizes) else None}, the "
                f"mask's {mask.shape[k]} (NumPy raises IndexError); give a mask of the "
                "array's shape",
                loc,
            )
        axis += width


def _holds_tracer(items: list) -> bool:
    return any(
        isinstance(item, Tracer) or (isinstance(item, list) and _holds_tracer(item))
        for item in items
    )


def _static_bound(bound: object, loc: Loc | None) -> int | None:
    """A slice bound known when compiling: None, an int or a NumPy integer (``np.prod`` of a
    shape), as a plain int."""
    if bound is None or isinstance(bound, int):
        return bound
    if isinstance(bound, np.integer):
        return int(bound)
    raise StaticValueNeeded(
        "slice bounds must be ints known when compiling (shapes, loop counters over range); "
        "use np.where or np.take for computed positions",
        loc,
        (bound,),
    )


class _Composing(threading.local):
    """Per thread, the primitives whose composed form is being recorded."""

    def __init__(self) -> None:
        self.names: set[str] = set()


_COMPOSING = _Composing()


def record_call(
    builder: GraphBuilder,
    prim_name: str,
    args: tuple,
    kwargs: dict,
    as_input: Callable[[object], object] = lambda value: value,
) -> object:
    """The traced result of the NumPy call ``prim_name(*args, **kwargs)``: its primitive's
    equation (each array argument passed through ``as_input``) or, where a param is a value
    known only when the code runs, the equations of the primitive's ``composed`` form."""
    prim = PRIMS[prim_name]
    if prim.composed is not None and any(key in kwargs for key in prim.composed_for):
        try:
            return prim.composed(*args, **kwargs)
        except ValueError as composed_error:
            raise TraceError(str(composed_error), builder.loc) from None
    try:
        arrays, params = prim.bind(tuple(args), dict(kwargs))
    except NotStatic as error:
        # the values the param is computed from, where it says; also where the composed
        # form needs the param too (np.sum's axis=k of an np.int64 argument: its composed
        # form, for where=, calls np.sum again) or refuses it (np.max's, for where=)
        traced = _traced_in((error.value,), {}) or _traced_in(args, kwargs)
        needed = StaticValueNeeded(str(error), builder.loc, traced)
        if prim.composed is None or prim_name in _COMPOSING.names:
            raise needed from None
        _COMPOSING.names.add(prim_name)
        try:
            return prim.composed(*args, **kwargs)
        except ValueError as composed_error:
            keyword = next((k for k, v in kwargs.items() if v is error.value), None)
            if keyword is not None and keyword not in prim.composed_for:  # np.max's axis=k
                raise needed from None
            raise TraceError(str(composed_error), builder.loc) from None
        finally:
            _COMPOSING.names.discard(prim_name)
    except ValueError as error:
        raise TraceError(str(error), builder.loc) from None
    return builder.apply(prim_name, tuple(as_input(a) for a in arrays), params)


def _traced_in(args: tuple, kwargs: dict) -> tuple[Tracer, ...]:
    """The traced values among a call's arguments (and in the tuples it takes: a shape)."""
    found = []
    for value in [*args, *kwargs.values()]:
        items = value if isinstance(value, (tuple, list)) else (value,)
        found += [item for item in items if isinstance(item, Tracer)]
    return tuple(found)


def _unknown(func: object, method: str) -> str:
    name = _spelled(func)
    if method != "__call__":
        return f"{name}.{method} is not supported"
    return f"{name} has no derivative rule in srcad"


def _spelled(func: object) -> str:
    """How the user's code names a library function: ``np.fft.fft``, ``scipy.special.ellipe``
    (SciPy's ufuncs name no module of their own)."""
    name = getattr(func, "__name__", repr(func))
    special = sys.modules.get("scipy.special")
    if special is not None and getattr(special, name, None) is func:
        return f"scipy.special.{name}"
    return f"{module_spelling(getattr(func, '__module__', None) or 'numpy')}.{name}"
