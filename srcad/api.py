"""The public transformations: ``grad`` and ``value_and_grad`` (and what they share).

A transformed function compiles on its first call with a new argument signature: lower the
user's function, differentiate the graph, clean it up, generate source, load it. Later calls
with the same signature go straight to the generated function.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from srcad.codegen import FunctionSpec, emit_module
from srcad.ir import AVal, Const, Graph, Var
from srcad.ir.builder import GraphBuilder
from srcad.ir.verify import verify_graph
from srcad.lower import LoweredFunction, lower_function
from srcad.passes import eliminate_dead_code
from srcad.pytree import TreeDef, flatten, unflatten
from srcad.reverse import reverse_graph
from srcad.runtime import load_function
from srcad.runtime.cache import cached
from srcad.signature import ArgSignature, bind_call, signature_of


@dataclass(frozen=True)
class Compiled:
    """One specialisation of a transformed function."""

    fn: Callable
    source: str
    graph: Graph


class Transformed:
    """A function returned by ``grad`` / ``value_and_grad``: compiles per signature."""

    def __init__(
        self, fun: Callable, argnums: int | tuple, has_aux: bool, mode: str, returns_value: bool
    ):
        if mode not in ("reverse", "forward"):
            raise ValueError(f"mode must be 'reverse' or 'forward', not {mode!r}")
        self.fun = fun
        self.argnums = argnums
        self.has_aux = has_aux
        self.mode = mode
        self.returns_value = returns_value
        self.last: Compiled | None = None
        functools.update_wrapper(self, fun)

    def __call__(self, *args, **kwargs):
        arguments = bind_call(self.fun, args, kwargs)
        signature = signature_of(arguments)
        compiled = self.compile(signature)
        value, grads = compiled.fn(*arguments.values())
        grads = self._match_inputs(grads, arguments)
        value = _plain_value(value)
        if self.returns_value:
            return value, grads
        return (grads, value[1]) if self.has_aux else grads

    def compile(self, signature: ArgSignature) -> Compiled:
        key = ("reverse", self.argnums, self.has_aux, signature)
        compiled = cached(self.fun, key, lambda: compile_gradient(self, signature))
        self.last = compiled
        return compiled

    def _match_inputs(self, grads: object, arguments: dict) -> object:
        names = list(arguments)
        if isinstance(self.argnums, int):
            return _like(grads, arguments[names[self.argnums]])
        return tuple(
            _like(g, arguments[names[i]]) for g, i in zip(grads, self.argnums, strict=True)
        )


def _like(grad: object, arg: object) -> object:
    """Give each gradient leaf the type and dtype of its argument leaf."""
    grad_leaves, treedef = flatten(grad)
    arg_leaves, _ = flatten(arg)
    fitted = []
    for g, a in zip(grad_leaves, arg_leaves, strict=True):
        if isinstance(a, float):
            fitted.append(float(g))
        else:
            fitted.append(np.asarray(g, dtype=np.asarray(a).dtype).reshape(np.shape(a)))
    return unflatten(treedef, fitted)


def _plain_value(value: object) -> object:
    """Python floats for 0-d float results, as the user's function would return."""
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value.item()
    if isinstance(value, tuple):
        return tuple(_plain_value(v) for v in value)
    return value


def grad(
    fun: Callable | None = None,
    argnums: int | tuple = 0,
    *,
    has_aux: bool = False,
    mode: str = "reverse",
) -> Callable:
    """The gradient of scalar-valued ``fun`` with respect to argument(s) ``argnums``."""
    if fun is None:
        return functools.partial(grad, argnums=argnums, has_aux=has_aux, mode=mode)
    return Transformed(fun, argnums, has_aux, mode, returns_value=False)


def value_and_grad(
    fun: Callable | None = None,
    argnums: int | tuple = 0,
    *,
    has_aux: bool = False,
    mode: str = "reverse",
) -> Callable:
    """Like ``grad``, returning ``(value, gradient)`` and computing the value once."""
    if fun is None:
        return functools.partial(value_and_grad, argnums=argnums, has_aux=has_aux, mode=mode)
    return Transformed(fun, argnums, has_aux, mode, returns_value=True)


# --- compilation ------------------------------------------------------------------------
def compile_gradient(transformed: Transformed, signature: ArgSignature) -> Compiled:
    """Lower, differentiate, clean, emit and load the gradient for one signature."""
    fun = transformed.fun
    argnums = _check_argnums(transformed.argnums, signature, fun)
    lowered = lower_function(fun, signature.trees())
    value_index, graph = _scalar_value(lowered, transformed.has_aux, fun)
    wrt = tuple(
        i
        for i, path in enumerate(lowered.input_paths)
        if signature.params.index(path[0]) in argnums
    )
    reversed_graph = reverse_graph(graph, wrt, value_index).graph
    result = eliminate_dead_code(reversed_graph)
    if os.environ.get("SRCAD_VERIFY"):
        verify_graph(result)
    spec = _gradient_spec(fun, lowered, signature, transformed, wrt, value_index)
    source, constants = emit_module(result, spec)
    stem = f"{fun.__module__}.{fun.__qualname__}".replace("<", "").replace(">", "")
    loaded = load_function(source, spec.name, f"{stem}_grad", constants)
    return Compiled(loaded, source, result)


def _check_argnums(argnums: int | tuple, signature: ArgSignature, fun: Callable) -> tuple:
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for number in numbers:
        if not isinstance(number, int) or not 0 <= number < len(signature.params):
            raise TypeError(
                f"argnums={argnums!r} does not name a positional argument of "
                f"{fun.__name__}{tuple(signature.params)}"
            )
        for leaf in signature.leaves[number]:
            if not (isinstance(leaf, AVal) and leaf.is_float):
                what = _describe_leaf(leaf)
                raise TypeError(
                    f"argnums includes {number} (argument '{signature.params[number]}'), "
                    f"which received {what}; differentiate with respect to floats or float "
                    "arrays only (pass 3.0 rather than 3, or cast with .astype(float))"
                )
    return numbers


def _describe_leaf(leaf: object) -> str:
    if isinstance(leaf, AVal):
        return f"an array of dtype {leaf.dtype}"
    return f"a {type(leaf).__name__} ({leaf!r})"


def _scalar_value(lowered: LoweredFunction, has_aux: bool, fun: Callable) -> tuple:
    """The index of the differentiated output, checked to be a scalar, and the graph."""
    tree = lowered.out_tree
    if has_aux:
        if tree.kind not in ("tuple", "list") or len(tree.children) != 2:
            raise TypeError(f"has_aux=True requires {fun.__name__} to return a pair (value, aux)")
        tree = tree.children[0]
    if tree.kind != "leaf":
        raise TypeError(
            f"grad requires {fun.__name__} to return a scalar, but it returned a {tree.kind}"
        )
    graph = lowered.graph
    value = graph.outputs[0]
    if value.aval.size != 1 or not value.aval.is_float:
        raise TypeError(
            f"grad requires {fun.__name__} to return a scalar float (a float or a 0-d or "
            f"size-1 float array), but it returned an array of shape {value.aval.shape} and "
            f"dtype {value.aval.dtype}; reduce it first (e.g. np.sum) or use srcad.jacrev"
        )
    if value.aval.shape != () and isinstance(value, Var):
        graph = _reshape_output_to_scalar(graph, value)
    return 0, graph


def _reshape_output_to_scalar(graph: Graph, value: Var) -> Graph:
    builder = GraphBuilder(first_id=max(v.id for e in graph.eqns for v in e.outputs) + 1)
    builder.eqns.extend(graph.eqns)
    with builder.at(graph.eqns[-1].loc if graph.eqns else None):
        scalar = builder.apply("reshape", (builder.tracer(value),), {"shape": ()})
    return builder.build(graph.name, list(graph.inputs), [scalar.atom, *graph.outputs[1:]])


def _gradient_spec(
    fun: Callable,
    lowered: LoweredFunction,
    signature: ArgSignature,
    transformed: Transformed,
    wrt: tuple,
    value_index: int,
) -> FunctionSpec:
    n_outputs = len(lowered.graph.outputs)
    out_indices = unflatten(lowered.out_tree, list(range(n_outputs)))
    grad_trees = []
    position = n_outputs
    for number in (
        (transformed.argnums,) if isinstance(transformed.argnums, int) else transformed.argnums
    ):
        name = signature.params[number]
        count = sum(1 for w in wrt if lowered.input_paths[w][0] == name)
        grad_trees.append(
            unflatten(signature.treedefs[number], list(range(position, position + count)))
        )
        position += count
    grads = grad_trees[0] if isinstance(transformed.argnums, int) else tuple(grad_trees)
    output_names = tuple(
        (n_outputs + k, "d" + _path_name(lowered.input_paths[w]))
        for k, w in enumerate(wrt)
        if len(lowered.input_paths[w]) == 1
    )
    wrt_names = ", ".join(signature.params[i] for i in _numbers(transformed.argnums))
    params = ", ".join(signature.params)
    header = (
        f"Generated by srcad from {_display_path(fun)}::{fun.__qualname__} "
        f"(line {fun.__code__.co_firstlineno}). Do not edit.",
        f"mode=reverse  wrt=({wrt_names})  regenerate: srcad show "
        f"{_display_path(fun)}:{fun.__qualname__}",
    )
    return FunctionSpec(
        name=f"{fun.__name__}_grad",
        params=signature.params,
        input_paths=(*lowered.input_paths, ("dout", _unit_literal(lowered.graph.outputs[0]))),
        returns=(out_indices, grads),
        returns_tree=TreeDef("tuple"),
        docstring=f"Value of {fun.__name__}({params}) and its gradient with respect to "
        f"({wrt_names}).",
        header=header,
        output_names=output_names,
    )


def _unit_literal(value) -> str:
    """The default cotangent of a scalar output: 1.0 in its dtype."""
    dtype = value.aval.dtype
    return "1.0" if dtype == "float64" else f"np.{dtype}(1.0)"


def _path_name(path: tuple) -> str:
    return "_".join(str(part) for part in path)


def _numbers(argnums: int | tuple) -> tuple:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _display_path(fun: Callable) -> str:
    path = fun.__code__.co_filename
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return path if relative.startswith("..") else relative


def source(transformed_fn: Callable) -> str:
    """The generated, black-formatted source of a transformed function."""
    if not isinstance(transformed_fn, Transformed):
        raise TypeError("srcad.source expects a function returned by srcad.grad and friends")
    if transformed_fn.last is None:
        _compile_for_scalars(transformed_fn)
    return transformed_fn.last.source


def _compile_for_scalars(transformed: Transformed) -> None:
    """Compile an uncalled function for float arguments (srcad compiles per signature)."""
    import inspect

    params = inspect.signature(transformed.fun).parameters.values()
    args = [p.default if p.default is not p.empty else 1.0 for p in params]
    try:
        transformed.compile(signature_of(bind_call(transformed.fun, tuple(args), {})))
    except Exception as error:
        raise TypeError(
            "srcad compiles for the shapes of the arguments; call the function once with "
            f"example arguments before asking for its source ({error})"
        ) from None


__all__ = ["Const", "grad", "source", "value_and_grad"]
