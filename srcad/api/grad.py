"""The public transformations ``grad`` and ``value_and_grad``, and ``source``.

A transformed function compiles on its first call with a new argument signature (see
``srcad.pipeline``); later calls with the same signature go straight to the generated
function, and a call laid out exactly like the previous one (a training loop's) gets there
through a generated guard (``srcad.runtime.guard``) without working out its signature.
With ``mode="forward"`` the gradient is assembled from one forward (tangent) pass per input
element, for comparison with reverse mode.
"""

from __future__ import annotations

import copy
import functools
import inspect
import operator
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from srcad.api import backend as backends
from srcad.api.display import transformed_html
from srcad.api.forward_gradient import forward_columns, forward_gradient
from srcad.api.functions import differentiable
from srcad.api.methods import (
    BOUND_KINDS,
    bound_to,
    reduced_as_method,
    reduced_by_name,
)
from srcad.api.results import plain_value, with_classes
from srcad.api.signature import (
    bind_call,
    binding_of,
    call_signature,
    positional_count,
    signature_of,
    warn_of_function_churn,
)
from srcad.arguments import ArgSignature, Wrt, constant_gradient, is_constant_leaf
from srcad.arrayapi import (
    ArrayApiRunner,
    fit_gradients,
    holds_namespace_arrays,
    namespace_of,
    numpy_stand_ins,
)
from srcad.backends import BACKENDS, backend_runner
from srcad.codegen.formatting import formatted
from srcad.errors import (
    RAISED_ON_PURPOSE,
    ArgumentTypeError,
    ArgumentValueError,
    NoDerivativeRule,
)
from srcad.frontend.parse import function_name
from srcad.lower.transforms import keeps_a_while_tape, register_compilers
from srcad.pipeline import (
    Compiled,
    Outputs,
    compile_forward,
    compile_reverse,
    wrapper_function,
)
from srcad.pytree import TreeDef, flatten, has_classes, unflatten
from srcad.runtime import load_function
from srcad.runtime.errors import hide_internal_frames, locate_users_error, public_api
from srcad.runtime.guard import make_guard


class Transformed:
    """A function returned by ``grad`` / ``value_and_grad``: compiles per signature."""

    def __init__(
        self,
        fun: Callable,
        argnums: int | tuple,
        has_aux: bool,
        mode: str,
        returns_value: bool,
        backend: str = "numpy",
    ):
        if mode not in ("reverse", "forward"):
            raise ArgumentValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
        fun = differentiable(fun)
        self.fun = fun
        name = getattr(fun, "__name__", "the function")
        self.wrt = Wrt.of(argnums).counted_from(positional_count(fun), name)
        self.has_aux = has_aux
        self.mode = mode
        self.returns_value = returns_value
        # backend="numba": the generated code compiled by numba (srcad.backends)
        self.numba = backend_runner(backend)
        self.array_api = ArrayApiRunner()  # CuPy and array-API arrays: srcad.arrayapi
        self.last: Compiled | None = None
        self._binding: tuple[object, ...] = ()
        self._read_signature()
        self._compiled: dict[ArgSignature, Compiled] = {}
        self._fast: _FastPath | None = None
        self._fast_paths: dict[ArgSignature, _FastPath | None] = {}
        # numba-compiled scalar code: one generated function checks and calls (api.backend)
        self._entry: Callable | None = None  # a lean __call__ (see _take_entry)
        # the transformations of the method bound to the last instances it was read from,
        # by the instance's id (``__get__``); each holds its instance, as its compiles do
        self._bound: OrderedDict[int, Transformed] = OrderedDict()
        functools.update_wrapper(self, fun, updated=())

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and not kwargs and fast.guard(args) and fast.is_current():
            try:
                result = fast.fn(*args)
            except Exception as error:
                if fast.retry is None:
                    locate_users_error(error, self.fun)
                    raise
                result = fast.retry(error, args)  # numba raised: the NumPy code decides
            if fast.is_final:
                return result
            value, grads = result
            if fast.matches:
                grads = match_arguments(grads, dict(zip(self._names, args, strict=True)), self.wrt)
                if fast.out_tree is not None:
                    return self._result(with_classes(value, fast.out_tree), grads)
            return self._result(plain_value(value), grads)
        try:
            if any(type(a).__module__.startswith("dask.") for a in (*args, *kwargs.values())):
                from srcad.distributed import gradient_over_chunks  # per chunk, on the workers

                return gradient_over_chunks(self, args, kwargs)
            if holds_namespace_arrays(args, kwargs):
                return self._call_on_namespace(args, kwargs)
            return self._call_and_remember(args, kwargs)
        except RAISED_ON_PURPOSE as error:
            hide_internal_frames(error)
            raise  # a bare raise adds no frame: the user sees their own call last
        except Exception as error:  # the user's code raised: ValueError, IndexError, ...
            locate_users_error(error, self.fun)
            raise

    def _current_signature(self) -> inspect.Signature:
        """The function's signature with the default values it has now (``binding_of``:
        ``f.__defaults__ = ...``, a partial's keywords changed, a new ``__call__``)."""
        binding = binding_of(self.fun)
        if len(binding) != len(self._binding) or any(map(operator.is_not, binding, self._binding)):
            self._read_signature()
        return self._signature

    def _read_signature(self) -> None:
        self._binding = binding_of(self.fun)
        self._signature = call_signature(self.fun)
        parameters = self._signature.parameters.values()
        self._names = [p.name for p in parameters]
        self._is_plain = all(p.kind == p.POSITIONAL_OR_KEYWORD for p in parameters)

    def __get__(self, instance: object, owner: type | None = None) -> Transformed:
        """``@srcad.grad`` on a method: ``model.loss(x)`` is the transformation of the bound
        method ``model.loss`` (``self`` bound, ``argnums`` counted after it), as a plain
        function's ``self`` is bound. Made once for each of the last ``BOUND_KEPT``
        instances read from, so that it compiles once (its compiles read ``self`` where it
        is: they hold the instance)."""
        options = self._options()
        return bound_to(self, self._bound, instance, owner, lambda fun: Transformed(fun, *options))

    def _options(self) -> tuple:
        """The options this transformation was made with, after the function."""
        backend = "numpy" if self.numba is None else "numba"
        return (self.wrt.argnums, self.has_aux, self.mode, self.returns_value, backend)

    def __reduce__(self) -> tuple:
        """Pickled as the transformation of the function (which pickles by reference): a
        process that unpickles it compiles again (``multiprocessing``, ``copy.deepcopy``)."""
        options = self._options()
        found = reduced_by_name(self) or reduced_as_method(self, options)
        return found or (Transformed, (self.fun, *options))

    def _repr_html_(self) -> str:
        """The function, its source and its generated code, for Jupyter (``api.display``)."""
        return transformed_html(self)

    def _call_and_remember(self, args: tuple, kwargs: dict) -> object:
        """The full path: bind, work out the signature, compile if needed; then remember the
        call's layout for the fast path."""
        self._current_signature()
        plain = not kwargs and len(args) == len(self._names) and self._is_plain
        if plain:
            arguments = dict(zip(self._names, args, strict=True))
        else:
            self.wrt.check_given(len(args), getattr(self.fun, "__name__", "the function"))
            arguments = bind_call(self.fun, args, kwargs, self._current_signature())
        if self.mode == "forward":
            value, grads = self._forward_gradient(arguments, signature_of(arguments, self.fun))
            grads = match_arguments(grads, arguments, self.wrt)
            return self._result(plain_value(value), grads)
        signature = signature_of(arguments, self.fun)
        compiled = self.compile(signature)
        value, raw_grads = self._run(compiled, tuple(arguments.values()))
        grads = match_arguments(raw_grads, arguments, self.wrt)
        out_tree = compiled.out_tree if has_classes(compiled.out_tree) else None
        if plain:  # the next call laid out like this one takes the fast path
            fast = self._fast_paths.get(signature)
            fn = self._function(compiled)
            if fast is None or not fast.guard(args) or fast.fn is not fn:
                # guards take ~0.4 ms to write: reuse them per signature
                guard = make_guard(args)
                # the gradients go through like() on every call where they may need fitting,
                # or may come out complex (checked there: np.linalg.eig's eigenvalues)
                matches = not _same_objects(grads, raw_grads, self.wrt) or any(
                    call in compiled.source for call in MAY_BE_COMPLEX
                )
                matches = matches or out_tree is not None  # the value's classes given back
                # (value, grads) as generated: a float value needs no conversion
                is_final = self.returns_value and not self.has_aux and not matches
                is_final = is_final and type(value) is float
                fast = (
                    None
                    if guard is None
                    else _FastPath(
                        guard,
                        fn,
                        matches,
                        compiled.is_current,
                        is_final,
                        self._lean_entry(compiled, args, matches, is_final),
                        out_tree,
                        (
                            None
                            if self.numba is None
                            else functools.partial(self.numba.retry, compiled)
                        ),
                    )
                )
                self._fast_paths[signature] = fast
            self._fast = fast
            self._take_entry(None if fast is None else fast.entry)
        if out_tree is not None:
            return self._result(with_classes(value, out_tree), grads)
        return self._result(plain_value(value), grads)

    def _call_on_namespace(self, args: tuple, kwargs: dict) -> object:
        """A call on arrays of CuPy or another array-API library: compiled for NumPy arrays
        of the same shapes and dtypes, run by the array-API variant (``srcad.arrayapi``)."""
        if self.mode == "forward" or self.numba is not None:
            raise ArgumentValueError(
                "arrays of libraries other than NumPy run with mode='reverse' and "
                "backend='numpy' (the default); pass NumPy arrays for the other options"
            )
        arguments = bind_call(self.fun, args, kwargs, self._current_signature())
        compiled = self.compile(signature_of(numpy_stand_ins(arguments), self.fun))
        xp = namespace_of(arguments)
        value, grads = self.array_api.run(compiled, tuple(arguments.values()), xp)
        values = list(arguments.values())
        wrt_args = [values[n] for n in self.wrt.numbers]
        return self._result(value, fit_gradients(grads, wrt_args, self.wrt.is_single, xp))

    def _lean_entry(
        self, compiled: Compiled, args: tuple, matches: bool, is_final: bool
    ) -> type[Transformed] | None:
        """A subclass of ``Transformed`` whose ``__call__`` is a lean one
        (``srcad.api.backend.lean_entry``) for calls laid out like ``args``: it returns the
        generated function's result as it is (``is_final``), with its value made plain, or
        its gradients; none where they need fitting (``matches``) or there is an auxiliary
        output."""
        if matches or self.has_aux:
            return None
        returns = "whole" if is_final else "plain value" if self.returns_value else "gradients"
        locate = functools.partial(locate_users_error, fun=self.fun)
        entry = backends.lean_entry(
            self.numba, compiled, args, returns, Transformed.__call__, locate
        )
        return None if entry is None else type("Transformed", (Transformed,), {"__call__": entry})

    def _take_entry(self, entry_class: type[Transformed] | None) -> None:
        """Calls go to the lean ``__call__`` of ``entry_class`` first, or to
        ``Transformed``'s own. Python looks ``__call__`` up on the class, so this object's
        class becomes that subclass: one Python frame fewer than trying it from here, and
        the guard's conditions inline (numba scalar code: 0.55 us a call instead of 0.62; a
        3x4 layer's value and gradient on NumPy: 7.9 us instead of 8.7)."""
        self.__class__ = entry_class or Transformed
        self._entry = None if entry_class is None else entry_class.__call__

    def _run(self, compiled: Compiled, args: tuple) -> tuple:
        """``compiled.fn(*args)``, on this function's backend."""
        return backends.run(self.numba, compiled, args)

    def _function(self, compiled: Compiled) -> Callable:
        """The function that ``_run`` calls for ``compiled`` (after its first call)."""
        return backends.function(self.numba, compiled)

    def _result(self, value: object, grads: object) -> object:
        if self.returns_value:
            return value, grads
        return (grads, value[1]) if self.has_aux else grads

    def compile(self, signature: ArgSignature) -> Compiled:
        compiled = self._compiled.get(signature)
        if compiled is None or not compiled.is_current():
            if self.mode == "forward":
                outputs = Outputs(self.has_aux, is_scalar=True)
                compiled = compile_forward(self.fun, signature, self.wrt, outputs=outputs)
            else:
                compiled = compile_reverse(self.fun, signature, self.wrt, self.has_aux)
            self._compiled[signature] = compiled
            warn_of_function_churn(self.fun, list(self._compiled))
        self.last = compiled
        return compiled

    def _forward_gradient(self, arguments: dict, signature: ArgSignature) -> tuple:
        """One tangent pass per element of the differentiated arguments."""
        compiled = self.compile(signature)
        value, grads = forward_gradient(compiled, arguments, self.wrt, self.has_aux, self._run)
        if has_classes(compiled.out_tree):
            value = with_classes(value, compiled.out_tree)
        return value, grads

    def srcad_plain_function(self, signature: ArgSignature) -> Callable:
        """A Python function with readable source computing this one (for higher order)."""
        if self.mode == "forward":  # a call of it, lowered as one in the user's code is
            return _forward_call(self, signature.params)
        compiled = self.compile(signature)
        target = compiled.body
        params = signature.params
        if self.returns_value:
            result = "value, grads"
        else:
            result = "(grads, value[1])" if self.has_aux else "grads"
        fun_name = function_name(self.fun)
        identifier = "".join(c if c.isalnum() or c == "_" else "_" for c in fun_name).strip("_")
        name = f"{'value_and_' if self.returns_value else ''}grad_{identifier or 'function'}"
        if keeps_a_while_tape(compiled.graph):
            forward = forward_columns(self.fun, signature, self.wrt, self.has_aux)
            if forward is not None:
                call, target = forward
                doc = (
                    f"The gradient of {fun_name}, one forward-mode pass per element (its "
                    "reverse-mode code keeps a tape in a while loop, which is not differentiated "
                    "again)."
                )
                return wrapper_function(name, params, call, result, target, doc)
        call = f"value, grads = {target.__name__}({', '.join(params)})"
        return wrapper_function(name, params, call, result, target, f"The gradient of {fun_name}.")


def _forward_call(transformed: Transformed, params: tuple[str, ...]) -> Callable:
    """``def forward_grad_f(x): return grad_f(x)``: a call of ``transformed``, which a
    further transformation lowers as it lowers such a call in the user's code."""
    identifier = "".join(c if c.isalnum() else "_" for c in transformed.__name__).strip("_")
    name = f"forward_grad_{identifier or 'function'}"
    args = ", ".join(params)
    source = f"def {name}({args}):\n    return transformed({args})\n"
    return load_function(source, name, name, {"transformed": transformed})


class _FastPath(NamedTuple):
    """The generated function for calls that pass ``guard`` while the world outside the
    function is as it was compiled for (``is_current``); ``matches`` when its gradients
    need ``match_arguments`` on the way out; ``is_final`` when ``fn``'s result is returned
    as it is (``value_and_grad`` of scalar code: floats already); ``entry``: the subclass
    of ``Transformed`` with a lean ``__call__``, which the transformed function takes as its
    class while this path is its fast path."""

    guard: Callable[[tuple], bool]
    fn: Callable
    matches: bool
    is_current: Callable[[], bool]
    is_final: bool = False  # what fn returns is the result
    entry: type | None = None  # Transformed._lean_entry's
    out_tree: TreeDef | None = None  # the value's structure, where it holds classes
    retry: Callable | None = None  # (error, args) -> result: numba's raised (NumbaBackend)


def _same_objects(grads: object, raw_grads: object, wrt: Wrt) -> bool:
    """Whether matching the gradients to their arguments changed nothing."""
    if wrt.is_single:
        return grads is raw_grads
    return type(raw_grads) is tuple and all(map(operator.is_, grads, raw_grads))


def match_arguments(grads: object, arguments: dict, wrt: Wrt) -> object:
    """Give each gradient the structure, type and dtype of its argument."""
    names = list(arguments)
    if wrt.is_single:
        return like(grads, arguments[names[wrt.numbers[0]]])
    return tuple(
        like(g, arguments[names[i]]) for g, i in zip(grads, wrt.numbers, strict=True)  # type: ignore[call-overload]
    )


# Calls whose results may be complex for real inputs, depending on the values: generated code
# that makes one has its gradients checked on every call.
MAY_BE_COMPLEX = ("np.linalg.eig(",)


def like(grad: object, arg: object) -> object:
    """Give each gradient leaf the type and dtype of its argument leaf."""
    if isinstance(arg, np.ndarray) and isinstance(grad, np.ndarray):
        if grad.dtype == arg.dtype and grad.shape == arg.shape:
            return grad  # the common case, without walking trees
    if _same_layout(grad, arg):
        return grad  # generated code already returns the argument's structure
    grad_leaves, _ = flatten(grad)
    arg_leaves, treedef = flatten(arg)
    fitted = []
    for g, a in zip(grad_leaves, arg_leaves, strict=True):
        if np.iscomplexobj(g) and not np.iscomplexobj(a):
            raise NoDerivativeRule(
                "the derivative with respect to a real argument came out complex: a function "
                "on the way has complex values here (np.linalg.eig of a matrix with complex "
                "eigenvalues), whose derivative srcad does not give; use np.linalg.eigh for a "
                "symmetric matrix, or keep the computation real"
            )
        if is_constant_leaf(a):
            fitted.append(constant_gradient(a))  # a setting among the parameters
        elif isinstance(a, np.generic):
            fitted.append(type(a)(g))  # an np.float32 argument gets an np.float32
        elif isinstance(a, float):
            fitted.append(float(g))
        else:
            fitted.append(np.asarray(g, dtype=np.asarray(a).dtype).reshape(np.shape(a)))
    return _in_containers_of(unflatten(treedef, fitted), arg)


def _in_containers_of(grad: object, arg: object) -> object:
    """``grad`` in the container classes of ``arg`` where those subclass ``dict`` or
    ``list`` (an ``OrderedDict`` of parameters gives an ``OrderedDict``)."""
    kind = type(arg)
    if kind is not dict and isinstance(arg, dict) and isinstance(grad, dict):
        rebuilt = copy.copy(arg)
        rebuilt.clear()
        rebuilt.update({k: _in_containers_of(grad[k], arg[k]) for k in grad})
        return rebuilt
    if kind is not list and isinstance(arg, list) and isinstance(grad, list):
        rebuilt_list = copy.copy(arg)
        rebuilt_list[:] = [_in_containers_of(g, a) for g, a in zip(grad, arg, strict=True)]
        return rebuilt_list
    if isinstance(arg, dict) and isinstance(grad, dict):
        return {k: _in_containers_of(grad[k], arg[k]) for k in grad}
    if isinstance(arg, (list, tuple)) and type(grad) is type(arg):
        items = [_in_containers_of(g, a) for g, a in zip(grad, arg, strict=True)]
        return type(grad)(items) if type(grad) in (list, tuple) else grad
    return grad


def _same_layout(g: object, a: object) -> bool:
    """Whether ``g`` has ``a``'s containers, and each leaf its type, dtype and shape."""
    kind = type(a)
    if kind is np.ndarray:
        return type(g) is np.ndarray and g.dtype == a.dtype and g.shape == a.shape
    if kind is float:
        return type(g) is float
    if kind in (list, tuple):
        return type(g) is kind and len(g) == len(a) and all(map(_same_layout, g, a))
    if kind is dict:
        return (
            type(g) is dict
            and g.keys() == a.keys()
            and all(_same_layout(g[key], a[key]) for key in a)
        )
    return False


@public_api
def grad(
    fun: Callable | None = None,
    argnums: int | tuple = 0,
    *,
    has_aux: bool = False,
    mode: str = "reverse",
    backend: str = "numpy",
    **misspelled: object,
) -> Callable:
    """The gradient of scalar-valued ``fun`` with respect to argument(s) ``argnums``.

    Returns a function with ``fun``'s signature. ``argnums``: an int gives one gradient, a
    tuple a tuple of gradients, each shaped like its argument (pytrees of floats and float
    arrays). ``has_aux=True``: ``fun`` returns ``(value, aux)`` and the result is
    ``(gradient, aux)``. ``mode="forward"`` computes the same gradient in forward mode.
    ``backend``: what runs the generated code: ``"numpy"``, or ``"numba"``, which compiles it
    with numba (``pip install "srcad[numba]"``; code numba cannot compile runs on NumPy, with
    a warning naming the line). autograd's spelling ``argnum=`` is accepted for ``argnums``.

    srcad reads ``fun``'s source, compiles its gradient to Python source once per layout of
    the arguments (``srcad.source`` shows it) and reads globals, closures, attributes and
    random draws on every call. Usable bare as a decorator: ``@srcad.grad``.

    >>> import numpy as np, srcad
    >>> def loss(w):
    ...     return np.sum(np.tanh(w) ** 2)
    >>> srcad.grad(loss)(np.array([0.5, -1.0]))
    array([ 0.72686198, -0.63970001])
    """
    argnums = argnums_given(grad, argnums, misspelled)  # type: ignore[assignment]
    options = {"argnums": argnums, "has_aux": has_aux, "mode": mode, "backend": backend}
    return _transform(grad, fun, options, returns_value=False)


@public_api
def value_and_grad(
    fun: Callable | None = None,
    argnums: int | tuple = 0,
    *,
    has_aux: bool = False,
    mode: str = "reverse",
    backend: str = "numpy",
    **misspelled: object,
) -> Callable:
    """Like ``grad``, returning ``(value, gradient)`` and computing the value once (with
    ``has_aux=True``: ``((value, aux), gradient)``)."""
    argnums = argnums_given(value_and_grad, argnums, misspelled)  # type: ignore[assignment]
    options = {"argnums": argnums, "has_aux": has_aux, "mode": mode, "backend": backend}
    return _transform(value_and_grad, fun, options, returns_value=True)


def argnums_given(transformation: Callable, argnums: object, misspelled: dict) -> object:
    """``argnums``, or autograd's spelling ``argnum=`` of the same thing (code ported from
    autograd keeps it); any other unknown keyword, or both spellings at once, is refused."""
    argnum = misspelled.pop("argnum", None)
    for keyword in misspelled:
        parameters = inspect.signature(transformation).parameters
        takes = [name for name in list(parameters)[1:] if name != "misspelled"]
        listed = ", ".join(takes[:-1]) + " and " + takes[-1] if len(takes) > 1 else takes[0]
        raise ArgumentTypeError(
            f"{transformation.__name__}() got an unexpected keyword argument {keyword!r}; "
            f"it takes {listed}"
        )
    if argnum is None:
        return argnums
    if argnums != 0:
        raise ArgumentTypeError(
            f"{transformation.__name__}() got both argnums={argnums!r} and argnum={argnum!r}; "
            "give argnums only"
        )
    return argnum


def _transform(
    transformation: Callable, fun: Callable | None, options: dict, returns_value: bool
) -> Callable:
    """``Transformed(fun)``, or the decorator that makes it when ``fun`` is not given yet."""
    if fun is None:
        return functools.partial(transformation, **options)
    return Transformed(
        fun,
        options["argnums"],
        options["has_aux"],
        options["mode"],
        returns_value,
        options["backend"],
    )


def source(transformed_fn: Callable, backend: str = "numpy") -> str:
    """The generated source of a transformed function, formatted with black to be read (the
    module srcad runs has the same statements, one per line); ``backend="numba"``: the
    variant of it that numba compiles; ``backend="array_api"``: the variant that runs on
    CuPy and array-API arrays."""
    last = getattr(transformed_fn, "last", None)
    if not hasattr(transformed_fn, "compile"):
        raise TypeError("srcad.source expects a function returned by srcad.grad and friends")
    if backend not in (*BACKENDS, "array_api"):
        raise ArgumentValueError(f"backend must be one of {BACKENDS}, not {backend!r}")
    if last is None:
        _compile_for_scalars(transformed_fn)
    return formatted(backends.source_for(transformed_fn, transformed_fn.last, backend))


def _compile_for_scalars(transformed) -> None:
    """Compile an uncalled function for float arguments (srcad compiles per signature)."""
    params = call_signature(transformed.fun).parameters.values()
    args = [p.default if p.default is not p.empty else 1.0 for p in params]
    try:
        transformed.compile(signature_of(bind_call(transformed.fun, tuple(args), {})))
    except Exception as error:
        raise TypeError(
            "srcad compiles for the shapes of the arguments; call the function once with "
            f"example arguments before asking for its source ({error})"
        ) from None


# How differentiated code that calls a transformation compiles it (srcad.lower.transforms).
register_compilers(
    reverse=compile_reverse,
    forward=compile_forward,
    grad=grad,
    value_and_grad=value_and_grad,
    differentiable=differentiable,
)

__all__ = ["grad", "source", "value_and_grad"]


BOUND_KINDS.append(Transformed)  # bound to instances, pickled by its binding
