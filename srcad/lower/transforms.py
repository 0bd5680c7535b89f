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
from collections.abc import Callable
from typing import Any

import numpy as np

from srcad.arguments import ArgSignature, Wrt, is_constant_leaf
from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.ir import AVal, Graph
from srcad.ir.builder import Tracer
from srcad.ir.prims import PRIMS
from srcad.ir.walk import sub_graphs, walk_eqns
from srcad.lower.context import Lowering
from srcad.lower.transform_targets import (
    COMPILERS,
    CompileCall,
    PullBack,
    Transformation,
    call_signature,
    real_function,
    register_compilers,
)
from srcad.lower.world import Outside
from srcad.pytree import flatten, unflatten

# What srcad.api gives the lowering at import time: ``reverse`` and ``forward`` (the
# pipeline's compile_reverse and compile_forward), ``grad`` and ``value_and_grad`` (the
# public functions) and ``differentiable`` (a NumPy function as a def srcad reads).
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
        function, extra = real_function(lowering, transformation.function, node)
        # the same gradient in either mode: the reverse-mode code is the one inlined
        options = {**transformation.options, "mode": "reverse"}
        transformed = COMPILERS[kind](function, **options)
        target = call_signature(lowering, transformed, args, kwargs, extra, node)
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
    function, extra = real_function(lowering, transformation.function, node)
    if transformation.kind == "hessian":
        function = COMPILERS["grad"](function, wrt.numbers[0] if wrt.is_single else wrt.numbers)
    target = call_signature(lowering, function, args, kwargs, extra, node)
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
            _, grads = _pair(
                call(lowering, compiled.body, [*target.values, cotangent[()]], {}, node)
            )
            rows.append(grads)
        return np.reshape(np.stack(rows), out.shape + x.shape) if rows else np.zeros(out.shape)
    compiled = COMPILERS["forward"](function, target.signature, wrt)
    out = _single_output(lowering, compiled, transformation, node)
    columns = []
    for position in _positions(lowering, x.shape, node):
        tangent = np.zeros(x.shape, dtype=x.dtype)
        tangent[position] = 1.0
        _, value_dot = _pair(call(lowering, compiled.body, [*target.values, tangent[()]], {}, node))
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
    function, extra = real_function(lowering, fun, node)
    target = call_signature(lowering, function, primals, {}, extra, node)
    wrt = Wrt.floats_with_settings(target.signature, len(primals))
    compiled = COMPILERS["forward"](function, target.signature, wrt)
    leaves = _tangent_leaves(lowering, target.signature, wrt, tangents, node)
    value, value_dot = _pair(call(lowering, compiled.body, [*target.values, *leaves], {}, node))
    return value, value_dot


def _hvp(
    lowering: Lowering, args: list, kwargs: dict, node: ast.Call, call: CallFunction
) -> object:
    """``srcad.hvp(f, primals, tangents)``: the forward-mode code of ``grad(f)``."""
    fun, primals, tangents = _jvp_arguments(lowering, args, kwargs, node)
    function, extra = real_function(lowering, fun, node)
    gradient = COMPILERS["grad"](function, tuple(range(len(primals))))
    target = call_signature(lowering, gradient, primals, {}, extra, node)
    wrt = Wrt.floats_with_settings(target.signature, len(primals))
    compiled = COMPILERS["forward"](gradient, target.signature, wrt)
    leaves = _tangent_leaves(lowering, target.signature, wrt, tangents, node)
    _, product = _pair(call(lowering, compiled.body, [*target.values, *leaves], {}, node))
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
        settings = [is_constant_leaf(leaf) for leaf in signature.leaves[n]]
        leaves += [
            t for t, is_setting in zip(tangent_leaves, settings, strict=True) if not is_setting
        ]
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
    function, extra = real_function(lowering, pull_back.function, node)
    primals = list(pull_back.primals)
    target = call_signature(lowering, function, primals, {}, extra, node)
    wrt = Wrt.floats_with_settings(target.signature, len(primals))
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
        _, grads = _pair(call(lowering, compiled.body, [*target.values, *cotangents], {}, node))
    result: list = [None] * len(primals)
    for n, g in zip(wrt.numbers, grads, strict=True):
        result[n] = unflatten(flatten(primals[n])[1], flatten(g)[0])  # the primal's classes
    return tuple(result)


def _forward_pull_back(
    lowering: Lowering,
    target: CompileCall,
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
            _, value_dot = _pair(
                call(lowering, compiled.body, [*target.values, *tangents], {}, node)
            )
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


__all__ = [
    "COMPILERS",
    "PullBack",
    "Transformation",
    "call_transformation",
    "is_transformation",
    "keeps_a_while_tape",
    "register_compilers",
]
