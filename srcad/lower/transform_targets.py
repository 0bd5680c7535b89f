"""What a transformation called inside differentiated code is compiled for (a part of
``srcad.lower.transforms``): the values of such calls (``Transformation``, ``PullBack``),
the compiling functions ``srcad.api`` registers (``COMPILERS``), and how the function to
transform and its signature are found: the real function behind a lambda, a method or a
partial, the abstract signature of the traced arguments, and a function defined inside the
differentiated one, compiled from its source with the traced names it reads as parameters.
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

from srcad.arguments import ArgSignature
from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.frontend import ParsedFunction
from srcad.frontend.parse import Bound, call_parameters
from srcad.ir import AVal
from srcad.ir.builder import Tracer
from srcad.lower.context import Lowering
from srcad.lower.objects import Partial
from srcad.pytree import flatten

# What srcad.api gives the lowering at import time: ``reverse`` and ``forward`` (the
# pipeline's compile_reverse and compile_forward), ``grad`` and ``value_and_grad`` (the
# public functions) and ``differentiable`` (a NumPy function as a def srcad reads).
COMPILERS: dict[str, Callable[..., Any]] = {}


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
class CompileCall:
    """A call to compile for: the Python function, its arguments by parameter (the extra
    parameters of a function defined inside last), and their abstract signature."""

    function: Callable
    values: list
    signature: ArgSignature


# --- the function to compile, and its signature -------------------------------------------
def call_signature(
    lowering: Lowering,
    function: Callable,
    args: list,
    kwargs: dict,
    extra: dict[str, object],
    node: ast.Call,
) -> CompileCall:
    """The arguments of ``function(*args, **kwargs, **extra)`` by parameter, defaults
    included, and their abstract signature (traced values by shape and dtype, the rest
    by value)."""
    try:
        bound = call_parameters(function).bind(*args, **kwargs, **extra)
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
    return CompileCall(function, values, signature)


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


def real_function(
    lowering: Lowering, function: object, node: ast.Call
) -> tuple[Callable, dict[str, object]]:
    """A Python function srcad can compile for ``function`` as the lowering has it, and the
    traced values it reads from the enclosing function (extra keyword arguments)."""
    if isinstance(function, Transformation):
        inner, extra = real_function(lowering, function.function, node)
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
        function, extra = real_function(lowering, value, node)
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
def is_local_function(value: object) -> bool:
    """A ``def`` or ``lambda`` defined inside the lowered function."""
    return isinstance(getattr(value, "parsed", None), ParsedFunction)


def local_function_with_last_parameters(
    lowering: Lowering, local: Any, node: ast.Call
) -> tuple[types.FunctionType, dict[str, object]]:
    """As ``_local_function``, the traced values it reads from the enclosing function as
    its last positional parameters: a solver calls it with them after its own arguments
    (``fun(t, y, *args, *traced)``). A function with ``*args`` or defaults is refused."""
    arguments = local.parsed.node.args
    if arguments.vararg or arguments.kwarg or arguments.defaults or arguments.kwonlyargs:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': a function defined inside and given to a solver must "
            "take plain parameters (no defaults, *args or keywords)",
            node,
        )
    return _local_function(lowering, local, node, last=True)


def _local_function(
    lowering: Lowering, local: Any, node: ast.Call, last: bool = False
) -> tuple[types.FunctionType, dict[str, object]]:
    """A ``def`` or ``lambda`` defined inside the lowered function as a Python function of
    its own: compiled from its source (its lines and columns kept), the enclosing names it
    reads bound in closure cells, except those holding traced values, which become
    keyword-only parameters (returned with their values; with ``last``, its last
    positional ones); its defaults are the values the lowering evaluated (traced ones too:
    the compile binds them as arguments). ``parse_function`` reads its definition from
    ``srcad_definition``."""
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
        parameter = ast.copy_location(ast.arg(arg=name), definition)
        if last:
            arguments.args.append(parameter)
            continue
        arguments.kwonlyargs.append(parameter)
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
