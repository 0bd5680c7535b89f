"""Lowering calls of srcad's own transformations inside differentiated code.

A function that calls ``srcad.grad`` (``value_and_grad``, ``vjp``, ``jvp``, ``jacfwd``,
``jacrev``, ``hessian``, ``hvp``) can itself be differentiated. srcad's derivative code is
plain Python and NumPy, so the transformation is compiled for the abstract signature
(structure, shapes, dtypes) of the traced arguments it is called with, and the generated
function is inlined like a user function; differentiating the enclosing function then
differentiates that code (forward over reverse, reverse over reverse, ...).

- ``srcad.grad(f)``, ``value_and_grad``, ``jacfwd``, ``jacrev``, ``hessian`` made in the
  function are ``Transformation`` values: calling one inlines the generated code (a
  Jacobian: one forward pass per input element, or one backward pass per output element).
  A transformed function made outside (``g = srcad.grad(f)`` at module level) is the same.
- ``srcad.jvp(f, primals, tangents)`` inlines ``f``'s forward-mode code: ``(value, tangent)``.
- ``srcad.vjp(f, *primals)`` is ``(f(*primals), vjp_fn)``, ``vjp_fn`` a ``PullBack``:
  calling it with a cotangent inlines ``f``'s reverse-mode code (``value, vjp_fn =
  srcad.vjp(f, x); vjp_fn(v)``, and ``srcad.vjp(f, x)[1](v)``).
- ``srcad.hvp(f, primals, tangents)`` inlines the forward-mode code of ``grad(f)``.

The function transformed may be defined inside the differentiated one (a lambda): it is
compiled as a function of its own, from its source, and the names it reads from the
enclosing function that hold traced values become parameters of their own, passed where
it is called (``lambda w: loss(w, X)`` with ``X`` traced is compiled as ``(w, *, X)``).

The inner compile's facts about the world (helpers, ints, layouts) become this compile's
(the generated function carries them: ``World.rely_on``), so that a change outside
recompiles both. The compiling functions come from ``srcad.api`` at import time
(``COMPILERS``): the lowering does not import later stages.

Before: ``def newton(x): return x - srcad.grad(f)(x) / srcad.grad(srcad.grad(f))(x)``
After:  the bodies of ``f_grad`` and ``grad_f_grad`` (and what they call) inlined in
        ``newton``'s graph, which is then differentiated like any other.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from srcad.arguments import ArgSignature, Wrt
from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.frontend import ParsedFunction
from srcad.frontend.parse import Bound
from srcad.ir import AVal, Graph
from srcad.ir.builder import Tracer
from srcad.ir.prims import PRIMS
from srcad.ir.walk import sub_graphs, walk_eqns
from srcad.lower.context import Lowering
from srcad.lower.objects import Partial
from srcad.lower.world import Outside
from srcad.pytree import flatten, unflatten

# What srcad.api gives the lowering at import time: ``reverse`` and ``forward`` (the
# pipeline's compile_reverse and compile_forward), ``grad`` and ``value_and_grad`` (the
# public functions) and ``differentiable`` (a NumPy function as a def srcad reads).
COMPILERS: dict[str, Callable[..., Any]] = {}
# The transformations, by their module and qualified name.
TRANSFORMATIONS = {
    "srcad.api.grad.grad": "grad",
    "srcad.api.grad.value_and_grad": "value_and_grad",
    "srcad.api.transforms.jacfwd": "jacfwd",
    "srcad.api.transforms.jacrev": "jacrev",
    "srcad.api.transforms.hessian": "hessian",
    "srcad.api.transforms.jvp": "jvp",
    "srcad.api.transforms.vjp": "vjp",
    "srcad.api.transforms.hvp": "hvp",
}
MADE_BY_SRCAD = {"srcad.api.grad.Transformed", "srcad.api.transforms._Jacobian"}
MAX_JACOBIAN_PASSES = 256  # a Jacobian inside differentiated code is one pass per element
# ``call(lowering, function, args, kwargs, node)``: how ``srcad.lower.calls`` lowers a call
CallFunction = Callable[[Lowering, object, list, dict, ast.Call], object]


def register_compilers(**compilers: Callable[..., Any]) -> None:
    """Called by ``srcad.api`` when it is imported."""
    COMPILERS.update(compilers)


@dataclass(frozen=True, eq=False)
class Transformation:
    """``srcad.grad(function, **options)`` (``kind``: also ``value_and_grad``, ``jacfwd``,
    ``jacrev``, ``hessian``) made in the lowered function: a function of its own."""

    kind: str
    function: object
    options: dict[str, Any]


@dataclass(frozen=True, eq=False)
class PullBack:
    """The ``vjp_fn`` of ``srcad.vjp(function, *primals)`` called in the lowered function."""

    function: object
    primals: tuple[object, ...]


@dataclass(frozen=True)
class _Call:
    """A call to compile for: the Python function, its arguments by parameter (the extra
    parameters of a function defined inside last), and their abstract signature."""

    function: Callable
    values: list
    signature: ArgSignature


def is_transformation(function: object) -> bool:
    """Whether calling ``function`` is lowered here."""
    return isinstance(function, (Transformation, PullBack)) or _kind(function) is not None


def _kind(function: object) -> str | None:
    target = function.value if isinstance(function, Outside) else function
    if _qualified_name(type(target)) in MADE_BY_SRCAD:
        return "made"
    return TRANSFORMATIONS.get(_qualified_name(target))


def _qualified_name(target: object) -> str:
    return f"{getattr(target, '__module__', None)}.{getattr(target, '__qualname__', None)}"


def call_transformation(
    lowering: Lowering,
    function: object,
    args: list,
    kwargs: dict,
    node: ast.Call,
    call: CallFunction,
) -> object:
    """The value of ``function(*args, **kwargs)`` for a function ``is_transformation``
    admits."""
    if isinstance(function, PullBack):
        return _pull_back(lowering, function, args, kwargs, node, call)
    if isinstance(function, Transformation):
        return _apply(lowering, function, args, kwargs, node, call)
    kind = _kind(function)
    if kind == "made":  # srcad.grad(f) made outside: fixed, as a helper function is
        made = lowering.world.unwrap(function)
        return _apply(lowering, _from_object(made), args, kwargs, node, call)
    if not args:
        raise lowering.located(SrcadError, f"'{ast.unparse(node)}' needs a function", node)
    if kind == "jvp":
        return _jvp(lowering, args, kwargs, node, call)
    if kind == "vjp":
        if kwargs:
            raise lowering.located(SrcadError, "srcad.vjp takes positional primals", node)
        value = call(lowering, args[0], list(args[1:]), {}, node)
        return value, PullBack(args[0], tuple(args[1:]))
    if kind == "hvp":
        return _hvp(lowering, args, kwargs, node, call)
    assert kind is not None
    options = _options(lowering, kind, args[1:], kwargs, node)
    return Transformation(kind, args[0], options)


def _options(lowering: Lowering, kind: str, args: list, kwargs: dict, node: ast.Call) -> dict:
    """The options of ``srcad.grad(f, argnums, has_aux=...)``: known when compiling."""
    names = ("argnums", "has_aux") if kind in ("grad", "value_and_grad") else ("argnums",)
    options = dict(zip(names, args, strict=False))
    options.update(kwargs)
    for name, value in options.items():
        if any(isinstance(leaf, Tracer) for leaf in flatten(value)[0]):
            raise lowering.located(
                SrcadError, f"'{ast.unparse(node)}': {name} must be known when compiling", node
            )
    return options


def _from_object(made: Any) -> Transformation:
    """A transformed function made outside, as the transformation that made it."""
    if hasattr(made, "srcad_plain_function"):  # grad, value_and_grad
        kind = "value_and_grad" if made.returns_value else "grad"
        options = {"argnums": made.wrt.numbers[0] if made.wrt.is_single else made.wrt.numbers}
        options |= {"has_aux": made.has_aux, "mode": made.mode}
        return Transformation(kind, made.fun, options)
    kind = "jacfwd" if made.mode == "forward" else "jacrev"  # a _Jacobian (hessian: of grad)
    return Transformation(kind, made.fun, {"wrt": made.wrt})


# --- grad, value_and_grad, Jacobians ------------------------------------------------------
def _apply(
    lowering: Lowering,
    transformation: Transformation,
    args: list,
    kwargs: dict,
    node: ast.Call,
    call: CallFunction,
) -> object:
    """Call a transformed function: inline the code srcad generates for it."""
    kind = transformation.kind
    if kind in ("grad", "value_and_grad"):
        function, extra = _real_function(lowering, transformation.function, node)
        # the same gradient in either mode: the reverse-mode code is the one inlined
        options = {**transformation.options, "mode": "reverse"}
        transformed = COMPILERS[kind](function, **options)
        target = _signature(lowering, transformed, args, kwargs, extra, node)
        plain = transformed.srcad_plain_function(target.signature)
        return call(lowering, plain, target.values, {}, node)
    return _jacobian(lowering, transformation, args, kwargs, node, call)


def _jacobian(
    lowering: Lowering,
    transformation: Transformation,
    args: list,
    kwargs: dict,
    node: ast.Call,
    call: CallFunction,
) -> object:
    """``jacfwd(f)(x)``: one forward pass per element of ``x``; ``jacrev``: one backward
    pass per element of the output; ``hessian``: ``jacfwd`` of ``grad``. One array in,
    one array out."""
    options = transformation.options
    wrt = options.get("wrt") or Wrt.of(options.get("argnums", 0))
    function, extra = _real_function(lowering, transformation.function, node)
    if transformation.kind == "hessian":
        function = COMPILERS["grad"](function, wrt.numbers[0] if wrt.is_single else wrt.numbers)
    target = _signature(lowering, function, args, kwargs, extra, node)
    leaves = target.signature.leaves[wrt.numbers[0]] if wrt.is_single else ()
    if not wrt.is_single or len(leaves) != 1 or not isinstance(leaves[0], AVal):
        raise _one_array(lowering, transformation, node)
    x = leaves[0]
    if transformation.kind == "jacrev":
        compiled = COMPILERS["reverse"](function, target.signature, wrt, is_scalar=False)
        if keeps_a_while_tape(compiled.graph):  # the same Jacobian, from forward-mode code
            forward = Transformation("jacfwd", transformation.function, options)
            return _jacobian(lowering, forward, args, kwargs, node, call)
        out = _single_output(lowering, compiled, transformation, node)
        rows = []
        for position in _positions(lowering, out.shape, node):
            cotangent = np.zeros(out.shape, dtype=out.dtype)
            cotangent[position] = 1.0
            _, grads = _pair(call(lowering, compiled.fn, [*target.values, cotangent[()]], {}, node))
            rows.append(grads)
        return np.reshape(np.stack(rows), out.shape + x.shape) if rows else np.zeros(out.shape)
    compiled = COMPILERS["forward"](function, target.signature, wrt)
    out = _single_output(lowering, compiled, transformation, node)
    columns = []
    for position in _positions(lowering, x.shape, node):
        tangent = np.zeros(x.shape, dtype=x.dtype)
        tangent[position] = 1.0
        _, value_dot = _pair(call(lowering, compiled.fn, [*target.values, tangent[()]], {}, node))
        columns.append(value_dot)
    stacked = np.stack(columns, axis=-1) if columns else np.zeros(out.shape + x.shape)
    return np.reshape(stacked, out.shape + x.shape)


def _positions(lowering: Lowering, shape: tuple[int, ...], node: ast.Call) -> list[tuple]:
    positions = list(np.ndindex(shape))
    if len(positions) > MAX_JACOBIAN_PASSES:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' would take {len(positions)} passes inside differentiated "
            f"code (srcad inlines one per element, at most {MAX_JACOBIAN_PASSES}); use "
            "srcad.jvp or srcad.vjp with the directions you need",
            node,
        )
    return positions


def _single_output(
    lowering: Lowering, compiled: Any, transformation: Transformation, node: ast.Call
) -> AVal:
    if compiled.out_tree.kind != "leaf":
        raise _one_array(lowering, transformation, node)
    return compiled.out_avals[0]


def _one_array(lowering: Lowering, transformation: Transformation, node: ast.Call) -> SrcadError:
    return lowering.located(
        UnsupportedSyntax,
        f"srcad.{transformation.kind} inside differentiated code takes one array argument and "
        "returns one array (it inlines one pass per element); for pytrees call srcad.jvp or "
        "srcad.vjp in the function",
        node,
    )


# --- jvp, vjp, hvp ------------------------------------------------------------------------
def _jvp(
    lowering: Lowering, args: list, kwargs: dict, node: ast.Call, call: CallFunction
) -> object:
    """``srcad.jvp(f, primals, tangents)``: ``(value, tangent)`` from ``f``'s forward-mode
    code."""
    fun, primals, tangents = _jvp_arguments(lowering, args, kwargs, node)
    function, extra = _real_function(lowering, fun, node)
    target = _signature(lowering, function, primals, {}, extra, node)
    wrt = Wrt.all_floats(target.signature, len(primals))
    compiled = COMPILERS["forward"](function, target.signature, wrt)
    leaves = _tangent_leaves(lowering, target.signature, wrt, tangents, node)
    value, value_dot = _pair(call(lowering, compiled.fn, [*target.values, *leaves], {}, node))
    return value, value_dot


def _hvp(
    lowering: Lowering, args: list, kwargs: dict, node: ast.Call, call: CallFunction
) -> object:
    """``srcad.hvp(f, primals, tangents)``: the forward-mode code of ``grad(f)``."""
    fun, primals, tangents = _jvp_arguments(lowering, args, kwargs, node)
    function, extra = _real_function(lowering, fun, node)
    gradient = COMPILERS["grad"](function, tuple(range(len(primals))))
    target = _signature(lowering, gradient, primals, {}, extra, node)
    wrt = Wrt.all_floats(target.signature, len(primals))
    compiled = COMPILERS["forward"](gradient, target.signature, wrt)
    leaves = _tangent_leaves(lowering, target.signature, wrt, tangents, node)
    _, product = _pair(call(lowering, compiled.fn, [*target.values, *leaves], {}, node))
    return product[0] if len(primals) == 1 else product


def _jvp_arguments(
    lowering: Lowering, args: list, kwargs: dict, node: ast.Call
) -> tuple[object, list, list]:
    bound = dict(zip(("fun", "primals", "tangents"), args, strict=False)) | kwargs
    primals, tangents = bound.get("primals"), bound.get("tangents")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise lowering.located(
            SrcadError,
            f"'{ast.unparse(node)}': srcad.jvp(fun, primals, tangents) takes tuples of "
            "primals and tangents",
            node,
        )
    if len(primals) != len(tangents):
        raise lowering.located(
            SrcadError, f"jvp got {len(primals)} primals but {len(tangents)} tangents", node
        )
    return bound["fun"], list(primals), list(tangents)


def _tangent_leaves(
    lowering: Lowering, signature: ArgSignature, wrt: Wrt, tangents: list, node: ast.Call
) -> list:
    """The tangents of the differentiated leaves, one per graph input, in order."""
    leaves: list = []
    for n in wrt.numbers:
        tangent_leaves, tree = flatten(tangents[n])
        if tree != signature.treedefs[n]:
            raise lowering.located(
                SrcadError,
                f"the tangent for argument {n} has a different structure than the primal",
                node,
            )
        leaves += tangent_leaves
    return leaves


def _pull_back(
    lowering: Lowering,
    pull_back: PullBack,
    args: list,
    kwargs: dict,
    node: ast.Call,
    call: CallFunction,
) -> tuple:
    """``vjp_fn(cotangent)``: one cotangent per primal (None for one that is not made of
    floats), from the function's reverse-mode code."""
    if len(args) != 1 or kwargs:
        raise lowering.located(SrcadError, "vjp_fn takes one cotangent", node)
    function, extra = _real_function(lowering, pull_back.function, node)
    primals = list(pull_back.primals)
    target = _signature(lowering, function, primals, {}, extra, node)
    wrt = Wrt.all_floats(target.signature, len(primals))
    compiled = COMPILERS["reverse"](function, target.signature, wrt, is_scalar=False)
    cotangents, tree = flatten(args[0])
    if tree != compiled.out_tree and not (len(cotangents) == 1 and compiled.out_tree.n_leaves == 1):
        raise lowering.located(
            SrcadError,
            f"the cotangent has the structure {tree}; the output has {compiled.out_tree}: "
            "give one cotangent per output leaf, in the same containers",
            node,
        )
    if keeps_a_while_tape(compiled.graph):
        grads = _forward_pull_back(lowering, target, wrt, cotangents, node, call)
    else:
        _, grads = _pair(call(lowering, compiled.fn, [*target.values, *cotangents], {}, node))
    result: list = [None] * len(primals)
    for n, g in zip(wrt.numbers, grads, strict=True):
        result[n] = unflatten(flatten(primals[n])[1], flatten(g)[0])  # the primal's classes
    return tuple(result)


def _forward_pull_back(
    lowering: Lowering,
    target: _Call,
    wrt: Wrt,
    cotangents: list,
    node: ast.Call,
    call: CallFunction,
) -> list:
    """The cotangents of the primals from forward-mode code, one pass per element of each
    (``<J e_i, v>``), for a function whose reverse-mode code keeps a tape in a while loop."""
    compiled = COMPILERS["forward"](target.function, target.signature, wrt)
    avals = [a for n in wrt.numbers for a in target.signature.leaves[n]]
    flat: list = []
    for j, aval in enumerate(avals):
        components = []
        for position in _positions(lowering, aval.shape, node):
            tangents = [np.zeros(a.shape, dtype=a.dtype)[()] for a in avals]
            tangents[j] = np.zeros(aval.shape, dtype=aval.dtype)
            tangents[j][position] = 1.0
            tangents[j] = tangents[j][()]
            _, value_dot = _pair(call(lowering, compiled.fn, [*target.values, *tangents], {}, node))
            products = [
                np.sum(d * v) for d, v in zip(flatten(value_dot)[0], cotangents, strict=True)
            ]
            components.append(sum(products[1:], products[0]))
        flat.append(np.reshape(np.stack(components), aval.shape))
    grads, start = [], 0
    for n in wrt.numbers:
        count = len(target.signature.leaves[n])
        grads.append(unflatten(target.signature.treedefs[n], flat[start : start + count]))
        start += count
    return grads


def keeps_a_while_tape(graph: Graph) -> bool:
    """Whether reverse-mode code pushes to a tape inside a ``while`` loop: lowering that code
    again would grow a Python list in a loop whose length is known only when it runs, which
    it refuses. (Forward-mode code keeps no tape: differentiating it again works.)"""
    for eqn in walk_eqns(graph.eqns):
        if eqn.prim == "while":
            inside = (e for g in sub_graphs(eqn) for e in walk_eqns(g.eqns))
            if any(PRIMS[e.prim].is_tape for e in inside):
                return True
    return False


def _pair(result: object) -> tuple[Any, Any]:
    """The ``(value, derivative)`` a generated function returns."""
    assert isinstance(result, tuple) and len(result) == 2
    return result


# --- the function to compile, and its signature -------------------------------------------
def _signature(
    lowering: Lowering,
    function: Callable,
    args: list,
    kwargs: dict,
    extra: dict[str, object],
    node: ast.Call,
) -> _Call:
    """The arguments of ``function(*args, **kwargs, **extra)`` by parameter, defaults
    included, and their abstract signature (traced values by shape and dtype, the rest
    by value)."""
    try:
        bound = inspect.signature(function).bind(*args, **kwargs, **extra)
    except TypeError as error:
        raise lowering.located(SrcadError, f"in '{ast.unparse(node)}': {error}", node) from None
    bound.apply_defaults()
    names, values = [], []
    for name, value in bound.arguments.items():
        kind = bound.signature.parameters[name].kind
        if kind == inspect.Parameter.VAR_KEYWORD and value:
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(node)}' passes **kwargs to a transformed function; name them",
                node,
            )
        if kind == inspect.Parameter.VAR_KEYWORD:
            continue
        items = list(value) if kind == inspect.Parameter.VAR_POSITIONAL else [value]
        for k, item in enumerate(items):
            names.append(f"{name}_{k}" if kind == inspect.Parameter.VAR_POSITIONAL else name)
            values.append(lowering.world.unwrap(item))
    treedefs, leaves = [], []
    for name, value in zip(names, values, strict=True):
        flat, treedef = flatten(value)
        treedefs.append(treedef)
        leaves.append(tuple(_abstract(lowering, leaf, name, node) for leaf in flat))
    signature = ArgSignature(tuple(names), tuple(treedefs), tuple(leaves))
    return _Call(function, values, signature)


def _abstract(lowering: Lowering, leaf: object, name: str, node: ast.Call) -> object:
    """What the compile is specialised for: a traced value's shape and dtype, a float's or
    an array's, or the value itself (ints, strings, None)."""
    if isinstance(leaf, Tracer):
        return leaf.aval
    if type(leaf) is float:
        return AVal((), "float64", True)
    if isinstance(leaf, np.ndarray):
        return AVal(leaf.shape, leaf.dtype.name)
    if isinstance(leaf, np.generic):
        return AVal((), leaf.dtype.name)
    if leaf is None or isinstance(leaf, (bool, int, str)):
        return leaf
    raise lowering.located(
        SrcadError,
        f"'{ast.unparse(node)}' passes {name}, a {type(leaf).__name__}, to a transformed "
        "function; pass floats, arrays, ints or containers of them",
        node,
    )


def _real_function(
    lowering: Lowering, function: object, node: ast.Call
) -> tuple[Callable, dict[str, object]]:
    """A Python function srcad can compile for ``function`` as the lowering has it, and the
    traced values it reads from the enclosing function (extra keyword arguments)."""
    if isinstance(function, Transformation):
        inner, extra = _real_function(lowering, function.function, node)
        if function.kind in ("grad", "value_and_grad"):
            options = {**function.options, "mode": "reverse"}
            return COMPILERS[function.kind](inner, **options), extra
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' transforms srcad.{function.kind}(...) again inside "
            "differentiated code; write the derivative with srcad.grad, jvp or vjp",
            node,
        )
    if isinstance(getattr(function, "parsed", None), ParsedFunction):  # a def or lambda inside
        return _local_function(lowering, function, node)
    value = _static(lowering, function, node)
    if not callable(value):
        raise lowering.located(
            SrcadError, f"'{ast.unparse(node)}' transforms a {type(value).__name__}", node
        )
    return COMPILERS["differentiable"](value), {}


def _static(lowering: Lowering, value: object, node: ast.Call) -> object:
    """A value the lowering holds as a Python object (no traced values inside), for a
    function compiled on its own: functions defined inside made real, outside objects
    themselves (their identity fixed)."""
    if isinstance(value, Transformation) or isinstance(
        getattr(value, "parsed", None), ParsedFunction
    ):
        function, extra = _real_function(lowering, value, node)
        defaults = [*(function.__defaults__ or ()), *(function.__kwdefaults__ or {}).values()]
        if extra or _has_tracers(defaults):
            raise _reads_traced(lowering, node, sorted(extra))
        return function
    if isinstance(value, Partial):
        parts = [_static(lowering, v, node) for v in (value.function, *value.args)]
        keywords = {k: _static(lowering, v, node) for k, v in value.keywords.items()}
        assert callable(parts[0])
        return functools.partial(parts[0], *parts[1:], **keywords)
    if isinstance(value, (list, tuple)):
        return type(value)(_static(lowering, v, node) for v in value)
    if isinstance(value, dict):
        return {k: _static(lowering, v, node) for k, v in value.items()}
    if isinstance(value, Tracer):
        raise _reads_traced(lowering, node, [])
    return lowering.world.unwrap(value)


def _reads_traced(lowering: Lowering, node: ast.Call, names: list[str]) -> SrcadError:
    which = f" ({', '.join(names)})" if names else ""
    return lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' transforms a function that uses values computed from the "
        f"differentiated arguments through another function or partial{which}; pass them "
        "as arguments instead",
        node,
    )


def _has_tracers(value: object) -> bool:
    if isinstance(value, Partial):
        return _has_tracers([value.function, *value.args, *value.keywords.values()])
    return any(isinstance(leaf, Tracer) for leaf in flatten(value)[0])


# --- functions defined inside -------------------------------------------------------------
def _local_function(
    lowering: Lowering, local: Any, node: ast.Call
) -> tuple[types.FunctionType, dict[str, object]]:
    """A ``def`` or ``lambda`` defined inside the lowered function as a Python function of
    its own: compiled from its source (its lines and columns kept), the enclosing names it
    reads bound in closure cells, except those holding traced values, which become
    keyword-only parameters (returned with their values); its defaults are the values the
    lowering evaluated (traced ones too: the compile binds them as arguments).
    ``parse_function`` reads its definition from ``srcad_definition``."""
    parsed: ParsedFunction = local.parsed
    definition = copy.deepcopy(parsed.node)
    reads = _free_names(definition)
    traced = {n: parsed.closure[n] for n in reads if n in parsed.closure}
    traced = {n: v for n, v in traced.items() if _has_tracers(v)}
    captured: dict[str, types.CellType] = {}
    for name in reads:
        if name in traced:
            continue
        if name in parsed.closure:
            captured[name] = types.CellType(_static(lowering, parsed.closure[name], node))
        elif name in parsed.cells:
            cell = parsed.cells[name]
            is_bound = isinstance(cell, Bound)
            captured[name] = types.CellType(cell.value) if is_bound else cell
    arguments = definition.args
    arguments.defaults = []  # given as values below: their expressions ran already
    arguments.kw_defaults = [None] * len(arguments.kwonlyargs)
    for name in traced:
        arguments.kwonlyargs.append(ast.copy_location(ast.arg(arg=name), definition))
        arguments.kw_defaults.append(None)
    function = _compiled_function(definition, parsed, captured)
    function.srcad_definition = definition  # type: ignore[attr-defined]
    _set_defaults(function, local.signature)
    return function, traced


def _set_defaults(function: types.FunctionType, signature: inspect.Signature) -> None:
    """The defaults the ``def`` evaluated when the lowering reached it."""
    empty = inspect.Parameter.empty
    positional = [
        p.default
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is not empty
    ]
    function.__defaults__ = tuple(positional) or None
    function.__kwdefaults__ = {
        name: p.default
        for name, p in signature.parameters.items()
        if p.kind == p.KEYWORD_ONLY and p.default is not empty
    } or None


def _free_names(definition: ast.FunctionDef) -> list[str]:
    """Names the function reads that it does not bind (over-approximated: names read in
    nested scopes count too), in order of first appearance."""
    parameters = {a.arg for a in ast.walk(definition.args) if isinstance(a, ast.arg)}
    stored = {
        n.id
        for statement in definition.body
        for n in ast.walk(statement)
        if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
    }
    read = [
        n.id
        for statement in definition.body
        for n in ast.walk(statement)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    ]
    return list(dict.fromkeys(n for n in read if n not in parameters | stored))


def _compiled_function(
    definition: ast.FunctionDef, parsed: ParsedFunction, captured: dict[str, types.CellType]
) -> types.FunctionType:
    """Compile ``definition`` in the user's file as a closure over ``captured`` cells (a
    maker function whose parameters they are gives the code its free variables)."""
    maker = ast.FunctionDef(
        name="srcad_closure",
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=name) for name in captured],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=[definition, ast.Return(ast.Name(definition.name, ast.Load()))],
        decorator_list=[],
        returns=None,
    )
    module = ast.Module(body=[ast.copy_location(maker, definition)], type_ignores=[])
    ast.fix_missing_locations(module)
    code = compile(module, parsed.file, "exec")
    maker_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    inner = next(c for c in maker_code.co_consts if isinstance(c, types.CodeType))
    closure = tuple(captured[name] for name in inner.co_freevars)
    function = types.FunctionType(inner, parsed.globals, definition.name, None, closure)
    return function


__all__ = [
    "COMPILERS",
    "PullBack",
    "Transformation",
    "call_transformation",
    "is_transformation",
    "keeps_a_while_tape",
    "register_compilers",
]
