"""What a primitive is: the ``Prim`` type, its calling convention and where it comes from.

A ``Prim`` names the callable that computes it (used to evaluate, to infer shapes and to
spell it in generated code), the module that callable lives in, how many array inputs it
takes, which static parameters follow them, and, for elementwise primitives, its sympy
counterpart (used by the exact rule checks).

In the IR an equation's inputs are always a flat tuple of arrays and its params a set of
static keyword values. ``Prim.bind`` turns a call as the user wrote it into that form and
``Prim.arrange`` turns it back into the call the function expects: ``np.concatenate([a, b],
axis=0)`` is the equation ``concatenate a b axis=0``, and ``np.einsum("ij,jk", a, b)`` is
``einsum a b subscripts='ij,jk'``.

Generated code names a module as its users do: ``np`` for NumPy (``np.linalg.inv``), the
full dotted name for any other (``scipy.special.expit``, after ``import scipy.special``).
"""

from __future__ import annotations

import collections
import functools
import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# What a function with a rule of the user's (kind ``custom``) may take besides arrays and
# numbers: settings, fixed in its primitive (``reduced(x, "sum")``, ``solve(step, x)``)
SETTING_TYPES = (str, bytes, type(None), types.FunctionType, types.BuiltinFunctionType, np.ufunc)
ELEMENTWISE = "elementwise"  # broadcasting functions of arrays, no params
PARAMETRIC = "parametric"  # elementwise with static params (clip, round)
REDUCTION = "reduction"
LINALG = "linalg"
SHAPE = "shape"
INDEXING = "indexing"
CONSTRUCTOR = "constructor"
COMPARISON = "comparison"
CUSTOM = "custom"  # registered by the user: srcad.defvjp, srcad.custom_vjp

LIST = "list"  # the inputs after the fixed ones are passed as one list: np.stack([a, b])
STAR = "star"  # the inputs after the fixed ones are passed as more arguments: np.einsum(s, a, b)

# A rule-test case: the inputs (each a shape or a concrete array) and the static params.
Example = tuple[tuple[object, ...], dict[str, object]]

NUMPY = "numpy"
BUILTINS = "builtins"  # Python's own functions (int, round): named bare, never imported
# Modules that generated code imports under a short name, the one their users write.
MODULE_ALIASES = {NUMPY: "np"}


def module_spelling(module: str) -> str:
    """How generated code names ``module``: ``np.linalg`` for ``numpy.linalg``; any other
    module by its full name (``scipy.special``)."""
    root, dot, rest = module.partition(".")
    return MODULE_ALIASES.get(root, root) + dot + rest


def import_statement(module: str) -> str:
    """The statement that lets generated code name ``module`` as ``module_spelling`` does:
    ``import numpy as np`` (for ``numpy.linalg`` too), ``import scipy.special``; nothing
    for Python's builtins."""
    root = module.partition(".")[0]
    if module == BUILTINS:
        return ""
    if root in MODULE_ALIASES:
        return f"import {root} as {MODULE_ALIASES[root]}"
    return f"import {module}"


# What a call with fewer arguments than the row takes means in NumPy, where srcad cannot
# follow it
FEWER_ARGUMENTS = {
    "where": " (np.where(condition) alone gives the positions where it holds, as many as the "
    "data says: choose values with np.where(condition, a, b) instead)",
}


@dataclass(frozen=True)
class Prim:
    """A primitive: ``fn(*inputs, **params)``, with ``fn`` from ``module``.

    ``params`` are the static parameters in the positional order of ``fn`` after the arrays
    and ``keyword_params`` those accepted by keyword only. ``leading_params`` come before the
    arrays (``np.full(shape, fill_value)``) and ``positional_params`` right after them, for
    functions that take them only so (``np.astype(x, dtype)``). ``required_params`` are kept
    even when None (``np.clip(x, None, 1.0)``). ``variadic`` says how a variable number of
    array inputs after the first ``n_inputs`` is passed (``LIST`` or ``STAR``), and
    ``module`` the module the function lives in (``numpy.linalg``, ``scipy.special``).

    ``domain`` is an interval where every input is away from poles and kinks,
    ``structure`` what the first input must be for the function to be defined
    (``"invertible"`` or ``"spd"`` matrices), and ``examples`` lists ``(inputs, params)``
    cases, where each input is a shape or a concrete (integer) array; the rule tests draw
    inputs from them (elementwise primitives get broadcasting shapes by default).

    ``rewrite_call`` turns another way of calling ``fn`` into the one these fields describe
    (``np.einsum``'s operands each followed by its list of axes, into a subscripts string).
    ``composed`` computes the call from other NumPy functions where a param is a value known
    only when the code runs (``np.clip`` with a bound read from a global or an argument:
    ``np.minimum(np.maximum(x, lo), hi)``); without it such a call is refused. It also
    computes every call that gives one of the keywords ``composed_for`` (``np.sum(x,
    where=mask)``: the sum of ``np.where(mask, x, 0)``).

    A primitive with several outputs returns them as ``fn`` does (``results``): a list where
    ``returns_list`` (``np.split``), a named tuple with ``result_fields`` where NumPy's
    result has field names (``np.linalg.slogdet(a).logabsdet``), else a tuple.

    Facts the passes and the code generator read instead of comparing names:
    ``is_view``: NumPy's result may share memory with the first input (reshape, transpose,
    basic subscripts; see ``srcad.ir.views.shares_memory`` for ``getitem``).
    ``is_statement``: it fills an array in place, so generated code spells it as a statement,
    never inline (``setitem``, ``add_at``, ``index_add``); ``updates_first_input``: the array
    it fills is its first input (``setitem``, ``index_add``).
    ``is_structured``: an equation with sub-graphs (``cond``, ``for``, ``while``), of which
    ``is_loop`` the loops and ``has_counter`` the loop whose body's first input is the counter
    (``for``). ``is_tape``: an operation on a loop's tape (``tape_new``,
    ``tape_push``, ``tape_pop``, ``tape_nonempty``). ``has_effect``: a call whose effect
    matters even when its result is unused (``outside_call``). ``takes_numbers``: Python's
    function of a number (``round``), which a 0-d array does not implement: shape inference
    gives it NumPy's scalars.

    A function of the user's given a rule (kind ``custom``) is called by ``called_as`` in
    generated code (its name, made unique among such functions); ``user_rules`` holds, per
    direction ("vjp", "jvp"), the user's functions its rule runs (the rule, or ``fwd`` and
    ``bwd``), whose reads of the world outside them a compile relies on. Called with dicts,
    lists or tuples of arrays, it is a primitive of their leaves (``fn`` takes them) for the
    structure ``arguments_tree`` (a ``srcad.pytree.TreeDef`` of the arguments), which
    generated code puts back together to call ``user_function``; ``on_leaves(tree)`` names
    (and makes, the first time) that primitive.
    """

    name: str
    fn: Callable
    kind: str
    n_inputs: int
    params: tuple[str, ...] = ()
    sympy: str | None = None
    operator: str | None = None
    is_differentiable: bool = True
    domain: tuple[float, float] = (-2.0, 2.0)
    examples: tuple[Example, ...] = ()
    module: str = NUMPY
    leading_params: tuple[str, ...] = ()
    positional_params: tuple[str, ...] = ()
    keyword_params: tuple[str, ...] = ()
    required_params: tuple[str, ...] = ()
    variadic: str | None = None
    structure: str | None = None
    returns_list: bool = False
    result_fields: tuple[str, ...] = ()
    is_view: bool = False
    is_statement: bool = False
    updates_first_input: bool = False
    is_structured: bool = False
    is_loop: bool = False
    has_counter: bool = False
    is_tape: bool = False
    has_effect: bool = False
    takes_numbers: bool = False
    rewrite_call: Callable[[tuple, dict], tuple[tuple, dict]] | None = None
    composed: Callable[..., object] | None = None
    composed_for: tuple[str, ...] = ()
    called_as: str = ""
    user_rules: tuple[tuple[str, tuple[Callable, ...]], ...] = ()
    arguments_tree: Any = None
    # a function of the user's that returns a tree (a dict, a NamedTuple, nested tuples):
    # its outputs are the tree's leaves, put back together by ``rebuild_output``
    output_tree: Any = None
    rebuild_output: Callable[[tuple], object] | None = None
    user_function: Callable | None = None
    on_leaves: Callable[..., str] | None = None
    # the primitive of a call of the user's function on these arguments, by its output:
    # a tree's leaves where it returns a dict or a NamedTuple (srcad.api.custom)
    with_output_tree: Callable[[str, tuple], str] | None = None

    @property
    def spelling(self) -> str:
        """How generated code calls it: ``np.exp``, ``np.linalg.inv``, ``scipy.special.expit``,
        ``int``; a function of the user's or a solver's by its name."""
        if self.module == BUILTINS or self.kind == CUSTOM:
            return self.fn.__name__
        return f"{module_spelling(self.module)}.{self.fn.__name__}"

    @property
    def import_line(self) -> str:
        """The import generated code needs before it calls ``spelling``."""
        return import_statement(self.module)

    def results(self, values: tuple) -> list | tuple:
        """Several output values packed as ``fn`` returns them (see the class docstring)."""
        if self.rebuild_output is not None:
            return self.rebuild_output(values)  # type: ignore[return-value]
        if self.returns_list:
            return list(values)
        if self.result_fields:
            return named_result(self.fn.__name__, self.result_fields)(*values)
        return tuple(values)

    def bind(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Split a call's arguments into the flat array inputs and the static params.

        Raises ValueError, with a message for the user, when the call does not fit, and
        NotStatic where a param is not a compile-time value.
        """
        if self.rewrite_call is not None:
            args, kwargs = self.rewrite_call(args, kwargs)
        rest = list(args)
        needed = len(self.leading_params) + self.n_inputs
        if len(rest) < needed and kwargs:  # operands by name: np.convolve(a=u, v=w)
            kwargs = dict(kwargs)
            settings = (*self.params, *self.keyword_params, *self.leading_params)
            for name in parameter_names(self.fn)[len(rest) : needed]:
                if name not in kwargs or name in settings:
                    break
                rest.append(kwargs.pop(name))
        if len(rest) < needed:
            hint = FEWER_ARGUMENTS.get(self.name, "")
            raise ValueError(
                f"{self.spelling} takes {needed} arguments, the call {len(rest)}{hint}"
            )
        params = {name: rest.pop(0) for name in self.leading_params}
        arrays = [rest.pop(0) for _ in range(self.n_inputs)]
        if self.variadic == STAR:
            arrays += rest
            rest = []
        elif self.variadic == LIST:
            if not rest or not isinstance(rest[0], (list, tuple)):
                raise ValueError(f"{self.spelling} takes a list or tuple of arrays")
            arrays += list(rest.pop(0))
        if len(rest) > len(self.params):
            position, names = len(args) - len(rest) + len(self.params), parameter_names(self.fn)
            named = f" its argument {names[position]!r}" if position < len(names) else ""
            raise ValueError(
                f"too many arguments for {self.spelling}: srcad does not support{named}"
            )
        params.update(zip(self.params, rest, strict=False))
        for key, value in kwargs.items():
            if key not in self.params + self.keyword_params + self.leading_params:
                allowed = ", ".join(self.params + self.keyword_params) or "none"
                raise ValueError(
                    f"{self.spelling} does not support the argument {key!r} "
                    f"(supported keywords: {allowed})"
                )
            if key in params:
                raise ValueError(f"{self.spelling} got the argument {key!r} twice")
            params[key] = value
        return tuple(arrays), self._static_params(params)

    def _static_params(self, params: dict) -> dict:
        """Params as plain Python values; defaults that need no spelling are dropped."""
        static = {}
        for key, value in params.items():
            if key == "out" and value is not None:
                raise ValueError(
                    f"{self.spelling}: srcad follows 'out=' in a call that is a statement of "
                    f"its own and writes into a named array or a slice of one "
                    f"({self.spelling}(..., out=y)); elsewhere assign the result instead: "
                    f"y[...] = {self.spelling}(...)"
                )
            value = static_value(value)
            if value is _NOT_STATIC:
                raise NotStatic(
                    f"the argument {key!r} of {self.spelling} must be known when the function "
                    "is compiled (an int, a tuple, a constant written in the code); here it is "
                    "a value the generated code reads or computes on every call (a float, an "
                    "array). Write it in the code as a constant",
                    params[key],
                )
            if (value is None and key not in self.required_params) or (
                key == "keepdims" and value is False
            ):
                continue
            static[key] = value
        return static

    def arrange(self, inputs: list, params: dict) -> tuple[list, dict]:
        """The positional and keyword arguments of the call of ``fn``, from flat inputs and
        params (of any kind: values, or ``ast`` nodes in code generation). A positional
        argument that is a list stands for a list of arrays."""
        keywords = dict(params)
        positional = [keywords.pop(name) for name in self.leading_params]
        positional += inputs[: self.n_inputs]
        if self.variadic == LIST:
            positional.append(list(inputs[self.n_inputs :]))
        else:
            positional += inputs[self.n_inputs :]
        positional += [keywords.pop(name) for name in self.positional_params if name in keywords]
        return positional, keywords

    def evaluate(self, inputs: list | tuple, params: dict) -> object:
        """``fn`` applied to flat ``inputs`` and ``params``, called as it wants to be; a
        function NumPy does not dispatch (SciPy's) through ``call_primitive``, so that a
        traced input records it (``scipy.signal.fftconvolve`` would compute on tracers)."""
        positional, keywords = self.arrange(list(inputs), params)
        if self.module.startswith("scipy"):
            return call_primitive(self.fn, *positional, **keywords)
        return self.fn(*positional, **keywords)


def call_primitive(function: Callable, *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` for a primitive that NumPy does not dispatch: handed
    to the ``__array_function__`` of the first argument that is not a NumPy value (a tracer
    records the primitive's equation, the exact tests' symbols give sympy's function);
    computed right away on arrays."""
    for arg in (*args, *kwargs.values()):
        kind = type(arg)
        if hasattr(kind, "__array_function__") and not isinstance(arg, (np.ndarray, np.generic)):
            return kind.__array_function__(arg, function, (kind,), args, kwargs)
    return function(*args, **kwargs)


def parameter_names(function: Callable) -> tuple[str, ...]:
    """The names of ``function``'s parameters that may be passed by position or by name
    (none where Python cannot tell: some ufuncs and builtins)."""
    try:
        return _parameter_names(function)
    except TypeError:  # not hashable
        return ()


@functools.cache
def _parameter_names(function: Callable) -> tuple[str, ...]:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return ()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.POSITIONAL_ONLY)
    return tuple(p.name for p in parameters if p.kind in kinds)


# NumPy's result names spell these functions in capitals (``SVDResult``, ``QRResult``).
ACRONYMS = {"svd": "SVD", "qr": "QR", "real_spectrum": "Eig"}  # real_spectrum: eig checked


@functools.cache
def named_result(function_name: str, fields: tuple[str, ...]) -> type[tuple]:
    """The named tuple type of a function's results, named as NumPy names it
    (``SlogdetResult``, ``EighResult``, ``SVDResult``) and with its fields."""
    name = ACRONYMS.get(function_name, function_name.capitalize())
    return collections.namedtuple(f"{name}Result", fields)


class _NotStatic:
    """Marks a param value that is not a compile-time constant."""


class NotStatic(ValueError):
    """A call's param is not a compile-time value (``Prim.composed`` may compute the call);
    ``value``: that param's value."""

    def __init__(self, message: str, value: object = None):
        super().__init__(message)
        self.value = value


_NOT_STATIC = _NotStatic()


def static_value(value: object) -> object:
    """``value`` as a plain, hashable Python value (lists and arrays become tuples), or
    ``_NOT_STATIC`` when it is not one (a traced array)."""
    if isinstance(value, np.generic):
        return value.item()  # np.int64(1) -> 1, np.str_("fro") -> "fro"
    if value is None or isinstance(value, (bool, int, float, str, np.dtype)):
        return value
    if isinstance(value, type) and (value in (float, int, bool) or issubclass(value, np.generic)):
        return np.dtype(value)  # dtype=float or dtype=np.float32
    if isinstance(value, np.ndarray):
        return static_value(value.tolist())
    if isinstance(value, (list, tuple, range)):
        items = tuple(static_value(v) for v in value)
        return _NOT_STATIC if any(v is _NOT_STATIC for v in items) else items
    return _NOT_STATIC
