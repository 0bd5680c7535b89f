"""Running generated gradient code on another library's arrays (CuPy, any array-API library).

Comes in: a call's arguments holding such arrays, and the compile that srcad made for NumPy
arrays of the same shapes and dtypes (``numpy_stand_ins`` gives those, without copying).
Goes out: that call's value and gradients as arrays of the arguments' library, computed by
the array-API variant of the generated module (``srcad.arrayapi.translate``).

- The variant is written once per generated module to its own file in the generated-code
  directory (``<module>_array_api_<hash>.py``, beside the NumPy module) and loaded once per
  array namespace, with ``xp`` and the module's NumPy constants (as ``xp`` arrays) bound.
- Python floats among the arguments (and ``dout``) are passed as 0-d arrays of the value's
  dtype: array-API functions take arrays, not floats.
- Gradients come back as arrays of the namespace with their argument's shape and dtype, and
  as Python floats for float arguments; a NumPy array given beside them gets an ``xp`` array.
"""

from __future__ import annotations

import ast
import functools
import linecache
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from srcad.arrayapi.translate import FROM_LINE, ArrayApiError, array_api_source, refusal
from srcad.errors import ArgumentTypeError
from srcad.pytree import CyclicTree, flatten, unflatten
from srcad.runtime.loader import bound_names, load_module

if TYPE_CHECKING:
    from srcad.pipeline import Compiled

INSTALL = 'pip install "srcad[gpu]" (or pip install array-api-compat)'
PLAIN = (np.ndarray, float, int, bool, str, type(None), np.float64, np.float32, np.int64)
LIBRARIES = ("cupy", "torch", "jax", "array_api_strict")


class ArrayApiRunner:
    """The array-API variants of one transformed function's compiles, loaded per generated
    module and array namespace on first use."""

    def __init__(self) -> None:
        self._functions: dict[tuple[Callable, object], Callable] = {}
        self._containers: dict[Callable, frozenset[str]] = {}

    def run(self, compiled: Compiled, args: tuple, xp: object) -> tuple:
        """``compiled.fn(*args)`` computed on ``xp``'s arrays by the array-API variant."""
        fn = self.function(compiled, xp, args)
        value_dtype = compiled.out_avals[0].dtype if compiled.out_avals else "float64"
        dtype = getattr(xp, value_dtype if value_dtype.startswith("float") else "float64")
        values = [_in_namespace(arg, xp, dtype) for arg in args]
        count = fn.__code__.co_argcount
        defaults = fn.__defaults__ or ()
        for default in defaults[len(defaults) - (count - len(values)) :]:  # dout=1.0
            values.append(_in_namespace(default, xp, dtype))
        try:
            return fn(*values)
        except (TypeError, IndexError, ValueError, AttributeError) as error:
            raise _refused_at_run_time(error, compiled) from error

    def function(self, compiled: Compiled, xp: object, args: tuple) -> Callable:
        """The variant's function for ``compiled`` on ``xp``'s arrays (loaded once; ``args``,
        a call's arguments, tell which parameters are containers)."""
        key = (compiled.fn, xp)
        fn = self._functions.get(key)
        if fn is None:
            self._containers[compiled.fn] = containers(compiled.fn, args)
            fn = _load(compiled, xp, self._containers[compiled.fn])
            self._functions[key] = fn
        return fn

    def source(self, compiled: Compiled) -> str:
        """The array-API variant of ``compiled``'s module, as it ran (or would run on arguments
        without containers)."""
        name = body_name(compiled.fn, compiled.source)
        return array_api_source(
            compiled.source, name, self._containers.get(compiled.fn, frozenset())
        )


def _refused_at_run_time(error: Exception, compiled: Compiled) -> ArrayApiError:
    """The library refused a line of the variant: an ``ArrayApiError`` naming that line, the
    user's line it came from and the library's reason."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "_array_api_" in f.filename]
    if not frames:
        origin = FROM_LINE.search(compiled.source)
        return ArrayApiError(f"{type(error).__name__}: {error}", origin and origin.group(1))
    frame = frames[-1]
    source = "".join(linecache.getlines(frame.filename))
    lines = source.splitlines()
    return refusal(
        f"the arrays' library refused it ({type(error).__name__}: {error})",
        source,
        lines,
        frame.lineno or 1,
        "run",
    )


def containers(numpy_fn: Callable, args: tuple) -> frozenset[str]:
    """The parameters of ``numpy_fn`` given containers (not arrays or floats) in ``args``."""
    names = numpy_fn.__code__.co_varnames[: numpy_fn.__code__.co_argcount]
    pairs = zip(names[: len(args)], args, strict=True)
    return frozenset(name for name, arg in pairs if flatten(arg)[1].kind != "leaf")


def body_name(numpy_fn: Callable, numpy_source: str) -> str:
    """``<f>_grad_unchecked`` where ``numpy_fn`` checks the layout first, else its name."""
    defined = {n.name for n in ast.parse(numpy_source).body if isinstance(n, ast.FunctionDef)}
    unchecked = f"{numpy_fn.__name__}_unchecked"
    return unchecked if unchecked in defined else numpy_fn.__name__


def _load(compiled: Compiled, xp: object, container_names: frozenset[str]) -> Callable:
    from srcad.arrayapi.forms import to_xp  # array_api_compat: imported once it is needed

    name = body_name(compiled.fn, compiled.source)
    source = array_api_source(compiled.source, name, container_names)
    constants = {
        key: xp.asarray(value) if isinstance(value, np.ndarray) else value  # type: ignore[attr-defined]
        for key, value in bound_names(compiled.fn, compiled.source).items()
    }
    constants.update(xp=xp, to_xp=functools.partial(to_xp, xp=xp))
    stem = compiled.fn.__globals__.get("__name__", "srcad_generated.module").split(".")[-1]
    return load_module(source, f"{stem}_array_api", constants)[name]


def _in_namespace(value: object, xp: object, float_dtype: object) -> object:
    """An argument as the variant takes it: floats (in containers too) as 0-d arrays of
    ``float_dtype``, NumPy arrays as ``xp`` arrays, the rest as it is."""
    if type(value) in PLAIN[1:] or isinstance(value, np.ndarray):
        if isinstance(value, (float, np.floating)):
            return xp.asarray(value, dtype=float_dtype)  # type: ignore[attr-defined]
        return xp.asarray(value) if isinstance(value, np.ndarray) else value  # type: ignore[attr-defined]
    if _is_foreign_array(value):
        return value
    leaves, treedef = flatten(value)
    if treedef.kind == "leaf":
        return value
    return unflatten(treedef, [_in_namespace(leaf, xp, float_dtype) for leaf in leaves])


def _is_foreign_array(value: object) -> bool:
    """Whether ``value`` is an array of a library other than NumPy (checked by type)."""
    kind = type(value)
    if kind in PLAIN or isinstance(value, (np.ndarray, np.generic)):  # np.bool_(True) too
        return False
    # on the class: an object whose __getattr__ answers anything is no array
    return hasattr(kind, "__array_namespace__") or kind.__module__.split(".")[0] in LIBRARIES


def holds_namespace_arrays(args: tuple, kwargs: dict) -> bool:
    """Whether a call's arguments hold arrays of a library other than NumPy."""
    for value in (*args, *kwargs.values()):
        if type(value) in PLAIN:
            continue
        try:
            leaves = flatten(value)[0]
        except CyclicTree:
            return False  # the signature says what is wrong with it
        if any(map(_is_foreign_array, leaves)):
            return True
    return False


def namespace_of(arguments: dict) -> object:
    """The array namespace of the non-NumPy arrays among ``arguments``
    (``array_api_compat.array_namespace``; one library per call)."""
    arrays = [leaf for leaf in flatten(list(arguments.values()))[0] if _is_foreign_array(leaf)]
    try:
        from array_api_compat import array_namespace
    except ImportError:
        kinds = sorted({type(a).__module__.split(".")[0] for a in arrays})
        raise ArgumentTypeError(
            f"srcad runs gradients on arrays of {', '.join(kinds)} through array-api-compat, "
            f"which is not installed here: {INSTALL}; or pass NumPy arrays"
        ) from None
    try:
        return array_namespace(*arrays)
    except TypeError as error:
        raise ArgumentTypeError(
            f"the arguments mix arrays of several libraries ({error}); pass arrays of one"
        ) from None


def numpy_stand_ins(arguments: dict) -> dict:
    """``arguments`` with every non-NumPy array replaced by a NumPy array of its shape and
    dtype that takes no memory (a broadcast scalar): what srcad compiles for."""
    return {name: _stand_in_tree(value) for name, value in arguments.items()}


def _stand_in_tree(value: object) -> object:
    if type(value) in PLAIN:
        return value
    leaves, treedef = flatten(value)
    return unflatten(treedef, [_stand_in(leaf) for leaf in leaves])


def _stand_in(leaf: object) -> object:
    if not _is_foreign_array(leaf):
        return leaf
    dtype = leaf.dtype  # type: ignore[attr-defined]
    name = getattr(dtype, "name", None) or str(dtype).split(".")[-1]
    shape = tuple(leaf.shape)  # type: ignore[attr-defined]
    if any(not isinstance(n, int) for n in shape):
        raise ArgumentTypeError(f"has an unknown shape {shape}; srcad compiles for known shapes")
    return np.broadcast_to(np.empty((), dtype=np.dtype(name)), shape)


def fit_gradients(grads: object, args: list, is_single: bool, xp: object) -> object:
    """Each gradient with its argument's structure: ``xp`` arrays of the argument's shape and
    dtype, Python floats for floats."""
    if is_single:
        return _fit(grads, args[0], xp)
    return tuple(_fit(g, a, xp) for g, a in zip(grads, args, strict=True))  # type: ignore[call-overload]


def _fit(grad: object, arg: object, xp: object) -> object:
    grad_leaves, _ = flatten(grad)
    arg_leaves, treedef = flatten(arg)
    fitted = [_fit_leaf(g, a, xp) for g, a in zip(grad_leaves, arg_leaves, strict=True)]
    return unflatten(treedef, fitted)


def _fit_leaf(g: object, a: object, xp: object) -> object:
    if isinstance(a, float):
        return float(g)  # type: ignore[arg-type]
    shape = tuple(a.shape)  # type: ignore[attr-defined]
    dtype = getattr(xp, getattr(a.dtype, "name", None) or str(a.dtype).split(".")[-1])  # type: ignore[attr-defined]
    if not _is_foreign_array(g) and not isinstance(g, np.ndarray):
        return xp.full(shape, g, dtype=dtype)  # type: ignore[attr-defined]
    g = xp.asarray(g)  # type: ignore[attr-defined]
    if g.dtype != dtype:
        g = xp.astype(g, dtype)  # type: ignore[attr-defined]
    return g if tuple(g.shape) == shape else xp.reshape(g, shape)  # type: ignore[attr-defined]
