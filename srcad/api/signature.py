"""Argument signatures: concrete call arguments → the abstract description compiled for.

Runtime leaves (floats and NumPy arrays) become ``AVal``s; ints, bools, strings, None and
functions (``activation=np.tanh``) are compile-time constants, part of the signature. Two calls with equal signatures share one
compiled function.
"""

from __future__ import annotations

import functools
import inspect
import types
import warnings
from collections.abc import Callable

import numpy as np

from srcad.arguments import (
    IDENTITY_CONSTANTS,
    RANDOM_GENERATORS,
    ArgSignature,
    GeneratorArgument,
    describe_tree,
)
from srcad.errors import ArgumentTypeError
from srcad.frontend.parse import call_parameters as call_signature
from srcad.ir import AVal
from srcad.pytree import (
    CLASS_KINDS,
    CyclicTree,
    Field,
    TreeDef,
    flatten,
    is_library_class,
    leaf_paths,
    not_plain_because,
    spelled,
)
from srcad.runtime.errors import user_stacklevel


def binding_of(fun: Callable) -> tuple[object, ...]:
    """The objects that decide how a call of ``fun`` binds its arguments, compared by
    identity (``is``) to tell that the signature must be read again: a function's
    ``__defaults__`` and ``__kwdefaults__`` (replaced, or its values changed in place:
    ``loss.__kwdefaults__["w"] = 4.0``), a ``functools.partial``'s function, arguments and
    keywords (``p.keywords["w"] = -3.0``), a callable object's class and ``__call__``."""
    if isinstance(fun, functools.partial):
        keywords = fun.keywords
        return (fun.func, fun.args, *keywords, *keywords.values(), *binding_of(fun.func))
    if isinstance(fun, types.MethodType):
        return binding_of(fun.__func__)
    if isinstance(fun, types.FunctionType):
        kwdefaults = fun.__kwdefaults__ or {}
        return (fun.__defaults__, fun.__kwdefaults__, *kwdefaults, *kwdefaults.values())
    call = inspect.getattr_static(type(fun), "__call__", None)
    if isinstance(call, types.FunctionType) and not isinstance(fun, type):
        return (type(fun), call, *binding_of(call))
    return ()


def positional_count(fun: Callable) -> int | None:
    """How many positional arguments ``fun`` takes (None for ``*args``): what a negative
    ``argnums`` counts back from."""
    try:
        parameters = call_signature(fun).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)


def bind_call(
    fun: Callable, args: tuple, kwargs: dict, signature: inspect.Signature | None = None
) -> dict[str, object]:
    """The call's arguments by parameter name, defaults included. The values a ``*args``
    parameter collects come one by one, as ``args_0``, ``args_1``, ...: ``argnums`` counts
    the positions of the call, as in JAX (lowering gathers them into ``args`` again)."""
    signature = signature or call_signature(fun)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise ArgumentTypeError(f"{getattr(fun, '__name__', 'the function')}(): {error}") from None
    bound.apply_defaults()
    arguments: dict[str, object] = {}
    for name, value in _into_var_keyword(fun, signature, bound.arguments).items():
        if signature.parameters[name].kind != inspect.Parameter.VAR_POSITIONAL:
            arguments[name] = value
            continue
        for k, item in enumerate(value):
            key = f"{name}_{k}"
            while key in signature.parameters or key in arguments:
                key += "_"
            arguments[key] = item
    return arguments


def _into_var_keyword(fun: Callable, signature: inspect.Signature, arguments: dict) -> dict:
    """``arguments`` with the keywords of a ``functools.partial`` that its function takes
    in its ``**options`` (``partial(f, axis=0)`` of ``def f(a, **options)``), which the
    partial's signature does not show, put into that dict (the call's own win)."""
    var_keyword = next(
        (p.name for p in signature.parameters.values() if p.kind == p.VAR_KEYWORD), None
    )
    if not isinstance(fun, functools.partial) or var_keyword is None:
        return arguments
    keywords: dict = {}
    partial: object = fun
    while isinstance(partial, functools.partial):  # the outer partial's keywords win
        keywords = {**partial.keywords, **keywords}
        partial = partial.func
    extra = {name: value for name, value in keywords.items() if name not in signature.parameters}
    if not extra:
        return arguments
    return {**arguments, var_keyword: {**extra, **dict(arguments.get(var_keyword) or {})}}


@functools.cache
def _dtype_name(dtype: np.dtype) -> str:
    return dtype.name


WEAK_FLOAT = AVal((), "float64", True)


def abstract_leaf(value: object) -> object:
    """An ``AVal`` for a runtime value, or the value itself for a compile-time constant."""
    kind = type(value)
    if kind is np.ndarray:
        return AVal(value.shape, _dtype_name(value.dtype))
    if kind is float:
        return WEAK_FLOAT
    if isinstance(value, np.character):  # np.str_ of np.unique(labels): text, a constant
        return value
    if isinstance(value, np.generic):  # np.float64 too: NumPy promotes it as an array
        return AVal((), _dtype_name(value.dtype))
    if isinstance(value, np.ndarray) and behaves_as_ndarray(kind):
        return AVal(value.shape, _dtype_name(value.dtype))
    if isinstance(value, (np.ndarray, float)):
        raise ArgumentTypeError(_subclass_refusal(kind))
    if value is None or isinstance(value, (bool, int, str, IDENTITY_CONSTANTS)):
        return value
    if isinstance(value, RANDOM_GENERATORS):  # rng: its draws run in the generated code
        return GeneratorArgument(type(value))
    why = None if is_library_class(type(value)) else not_plain_because(type(value))
    if why is not None:  # one of the user's classes
        raise ArgumentTypeError(
            f"is an object of your class {type(value).__name__}, which srcad cannot take "
            f"apart as the tree of its attributes: {why}; pass the NumPy arrays and floats it "
            "holds, or make it a dataclass"
        )
    raise ArgumentTypeError(
        f"is a {type(value).__name__}, which srcad cannot take; use floats, NumPy arrays, "
        "ints, functions and modules (as constants), random generators, or tuples, lists, dicts, "
        "NamedTuples, dataclasses and objects of your own classes holding them"
    )


# What a subclass of ndarray may define and still compute as ndarray does: construction,
# metadata carried along (``__array_finalize__``), printing and pickling
QUIET_OVERRIDES = frozenset(
    "__new__ __init__ __array_finalize__ __repr__ __str__ __format__ __reduce__ "
    "__reduce_ex__ __setstate__ __class_getitem__ __sizeof__ __doc__".split()
)


@functools.cache
def behaves_as_ndarray(kind: type) -> bool:
    """Whether a subclass of ndarray overrides nothing NumPy computes with (operators,
    indexing, the array protocols): np.memmap and a subclass carrying metadata do not,
    np.matrix (``*``, indexing) and masked arrays (``__array_ufunc__``) do."""
    if kind is np.memmap:
        return True
    below = kind.__mro__[: kind.__mro__.index(np.ndarray)]
    ndarray_names = set(vars(np.ndarray)) - QUIET_OVERRIDES
    return not any(ndarray_names & set(vars(cls)) for cls in below)


def _subclass_refusal(kind: type) -> str:
    """Why an argument of a subclass of ndarray or float (``np.matrix``, a masked array) is
    refused: its operators need not mean what srcad's rules assume (``*`` of np.matrix is a
    matrix product), and the class of a value is a fact the compiled code relies on."""
    base, convert = (
        ("numpy.ndarray", "np.asarray(v)")
        if issubclass(kind, np.ndarray)
        else ("float", "float(v)")
    )
    return (
        f"is a {kind.__module__}.{kind.__qualname__}, a subclass of {base} that changes how "
        f"NumPy computes with it (as np.matrix's * is a matrix product); pass {convert}"
    )


def signature_of(arguments: dict[str, object], fun: Callable | None = None) -> ArgSignature:
    """The signature of a call with these arguments (``fun``, when given, locates errors
    about an argument at its ``def``)."""
    treedefs, leaves = [], []
    for name, value in arguments.items():
        try:
            flat, treedef = flatten(value)
            treedefs.append(treedef)
            leaves.append(tuple(map(abstract_leaf, flat)))
        except CyclicTree as error:
            cycle = ArgumentTypeError(
                f"cannot be taken: {error} (a link back to a parent, say); srcad takes an "
                "object as the tree of its attributes: pass the arrays and values it holds"
            )
            raise _argument_error(name, cycle, fun) from None
        except ArgumentTypeError as error:
            raise _argument_error(_failing_leaf(name, flat, treedef), error, fun) from None
    return ArgSignature(tuple(arguments), tuple(treedefs), tuple(leaves))


def _failing_leaf(name: str, flat: list, treedef: TreeDef) -> str:
    """Where in the argument ``name`` the first leaf srcad cannot take is: ``cfg.log``."""
    for value, path in zip(flat, leaf_paths(treedef), strict=True):
        try:
            abstract_leaf(value)
        except ArgumentTypeError:
            return spelled(name, path)
    return name


def _where_trees_differ(tree: TreeDef, other: TreeDef) -> tuple:
    """The path to the first node at which two structures differ."""
    if (tree.kind, tree.keys, tree.node_type, len(tree.children)) != (
        other.kind,
        other.keys,
        other.node_type,
        len(other.children),
    ):
        return ()
    keys = tree.keys if tree.kind == "dict" else range(len(tree.children))
    if tree.kind in CLASS_KINDS:
        keys = [Field(key) for key in tree.keys]
    for key, child, other_child in zip(keys, tree.children, other.children, strict=True):
        if child != other_child:
            return (key, *_where_trees_differ(child, other_child))
    return ()


def _argument_error(name: str, error: ArgumentTypeError, fun: Callable | None) -> TypeError:
    code = getattr(fun, "__code__", None)
    where = (code.co_filename, code.co_firstlineno) if code else ()
    of = f" of {fun.__name__}" if code else ""
    return ArgumentTypeError(f"argument '{name}'{of} {error}", *where)


# How many compiles for different argument layouts (or functions passed as arguments)
# before srcad says so.
FUNCTION_COMPILES_WARNED_AT = 16


def warn_of_function_churn(fun: Callable, signatures: list[ArgSignature]) -> None:
    """A warning when the compiles cached for ``fun`` reach ``FUNCTION_COMPILES_WARNED_AT``:
    for signatures that hold functions (a lambda made on every call is a new constant every
    time), or for any layouts (an object's list that grows on every call: ``model.losses``),
    naming what changed between the last two. Each compiles again and stays cached."""
    name = getattr(fun, "__name__", "the function")
    holding = [s for s in signatures if _holds_a_function(s)]
    if len(holding) == FUNCTION_COMPILES_WARNED_AT:
        warnings.warn(
            f"srcad has compiled {name} for {len(holding)} different functions passed as "
            "arguments: each new function object (a lambda or a functools.wraps wrapper made "
            "on every call) compiles again, and every compile stays cached. Pass the same "
            "function each time (define it once, outside the loop)",
            stacklevel=user_stacklevel(),
        )
    elif len(signatures) == FUNCTION_COMPILES_WARNED_AT and len(holding) < len(signatures):
        warnings.warn(
            f"srcad has compiled {name} for {len(signatures)} different argument layouts, "
            "and every compile stays cached; the last two differ in "
            f"{_difference(signatures[-2], signatures[-1])}. srcad compiles for each "
            "container length, array shape and dtype, and each int, string and function: "
            "keep those the same from call to call (keep a growing list or a step counter "
            "out of the arguments: read it from a global or an object's attribute, which "
            "the function reads on every call)",
            stacklevel=user_stacklevel(),
        )


def _difference(before: ArgSignature, after: ArgSignature) -> str:
    """Where two signatures differ first: ``'model' (its containers or attributes)`` or
    ``'cfg.steps' (3, then 4)``."""
    for name, tree, other_tree, leaves, other in zip(
        after.params, before.treedefs, after.treedefs, before.leaves, after.leaves, strict=False
    ):
        if tree != other_tree:
            where = spelled(name, _where_trees_differ(tree, other_tree))
            return f"'{where}' (a container's length, or an object's attributes or class)"
        for old, new, path in zip(leaves, other, leaf_paths(tree), strict=True):
            if old != new:
                return f"'{spelled(name, path)}' ({describe_tree(old)}, then {describe_tree(new)})"
    return "their parameters"


def _holds_a_function(signature: ArgSignature) -> bool:
    return any(
        isinstance(leaf, IDENTITY_CONSTANTS) for leaves in signature.leaves for leaf in leaves
    )
