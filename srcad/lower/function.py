"""Lowering: the checked ``ast`` of a function → an SSA ``Graph``.

The function body is interpreted abstractly. Values the graph computes are ``Tracer``s over
IR vars; everything else (ints, shapes, axis tuples, modules, containers, the user's helper
functions) is an ordinary Python value evaluated at compile time. Expressions run as NumPy
code on tracers, so every operation becomes an equation through the ``GraphBuilder``; calls to
the user's own functions are inlined, their equations located in their own source lines.

This module is the entry point: it makes the graph inputs of the arguments, lowers the body
with a ``Lowering`` (``srcad.lower.context``) and collects the outputs. The rules for each
kind of statement and expression live in the modules listed in ``RULE_MODULES``.

Invariant afterwards: every equation carries the ``Loc`` of the user statement it came from,
and vars bound to user names carry those names as hints.
"""

from __future__ import annotations

import ast
import functools
import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from srcad.arguments import GeneratorArgument
from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.frontend import ParsedFunction, parse_function, refuse_generator
from srcad.frontend.parse import is_callable_object, root_name
from srcad.ir import Atom, AVal, Const, Graph, Var
from srcad.ir.builder import GraphBuilder, StaticValueNeeded, Tracer
from srcad.ir.world import REFUSE_CHANGED_ARGUMENTS, ArgumentRoot, WorldPath, WorldRead
from srcad.lower import (
    assignments,
    branches,
    calls,
    exceptions,  # noqa: F401  (registers its rules)
    expressions,
    loops,
    statements,
)
from srcad.lower.aliasing import argument_arrays
from srcad.lower.branches import lower_body
from srcad.lower.context import Inlining, Lowering
from srcad.lower.fixed_floats import FloatsNeeded, fix_or_explain
from srcad.lower.outside_writes import note_written_dicts
from srcad.lower.value_classes import argument_classes
from srcad.lower.world import Outside, Parameter, World, outside_call
from srcad.pytree import CyclicTree, Field, TreeDef, flatten, leaf_paths, unflatten

# The modules whose rules lower statements and expressions (importing one registers its
# rules with ``srcad.lower.dispatch``).
RULE_MODULES = (assignments, branches, calls, expressions, loops, statements)


@dataclass(frozen=True)
class LoweredFunction:
    """The graph of a function, the argument leaf each input stands for, and the output.

    The graph's inputs are the argument leaves (``input_paths``), then the values read from
    outside the function on every call (``world_paths``); ``world_reads`` are the facts
    about the outside that the compiled code relies on (see ``srcad.ir.world``).
    """

    graph: Graph
    input_paths: tuple[tuple, ...]
    out_tree: TreeDef
    world_paths: tuple[WorldPath, ...] = ()
    world_reads: tuple[WorldRead, ...] = ()
    functions: tuple[types.FunctionType, ...] = ()  # the helpers whose code was lowered


@dataclass
class _Arguments:
    """The function's arguments as the lowering sees them, and the graph inputs they make."""

    env: dict[str, object]
    inputs: list[Var]
    input_paths: list[tuple]


def lower_function(fn: Callable, arg_trees: dict[str, object]) -> LoweredFunction:
    """Lower ``fn`` called with arguments shaped like ``arg_trees``.

    ``arg_trees`` maps each parameter name to a tree whose leaves are ``AVal``s (runtime
    values, which become graph inputs) or plain Python values (compile-time constants).
    """
    refuse_generator(fn)
    fixed_floats: frozenset[tuple] = frozenset()
    while True:  # again with the floats a count needs fixed: srcad.lower.fixed_floats
        try:
            return _lower_function(fn, arg_trees, fixed_floats)
        except FloatsNeeded as needed:
            assert not needed.keys <= fixed_floats  # a fixed float is no graph input
            fixed_floats |= needed.keys


def _lower_function(
    fn: Callable, arg_trees: dict[str, object], fixed_floats: frozenset[tuple]
) -> LoweredFunction:
    parsed = parse_function(fn)
    builder = GraphBuilder()
    world = World(builder, fixed_floats)
    called = getattr(fn, "srcad_callable", fn)  # a stand-in's (``function_for``)
    _fix_how_called(world, called, WorldPath(called, root_name(called), (), root_name(called)))
    arguments = _arguments(builder, world, arg_trees)
    world.argument_ids = frozenset(var.id for var in arguments.inputs)
    arguments.env = _gathered(parsed.node.args, arguments.env)
    kwarg = parsed.node.args.kwarg
    if kwarg is not None:  # **opts is a new dict on every call: the function may change it
        world.passed_in.pop(id(arguments.env.get(kwarg.arg)), None)
    lowering = Lowering(parsed, arguments.env, Inlining(builder, 0, world))
    lowering.passed_arrays = tuple(a for v in arguments.env.values() for a in argument_arrays(v))
    lowering.argument_names = {
        id(a): name for name, v in arguments.env.items() for a in argument_arrays(v)
    }
    lowering.default_arrays = _default_arrays(called, arguments.env)
    try:
        result = _lower_body(lowering)
    except SrcadError:  # a read that missed the function's own append (HIST[-1] of [])
        world.check_changes_unread()  # raises that refusal, which says why
        raise
    world.check_changes_unread()
    assignments.refuse_arguments_shared_outside(lowering)
    _refuse_changed_arguments(builder, world, parsed, arguments.env)
    try:
        out_leaves, out_tree = flatten(result)
    except CyclicTree as error:
        raise SrcadError(
            f"the function returns an object that holds itself ({error}); return its arrays",
            parsed.file,
            parsed.node.lineno,
        ) from None
    outputs = [_output_atom(leaf, parsed) for leaf in out_leaves]
    first = outputs[0] if outputs else None
    if isinstance(first, Var) and not builder.hint_of(first) and first not in arguments.inputs:
        builder.set_hint(first, "out")
    inputs = arguments.inputs + [var for var, _ in world.inputs]
    graph = builder.build(parsed.name, inputs, outputs)
    world_paths = tuple(path for _, path in world.inputs)
    return LoweredFunction(
        graph,
        tuple(arguments.input_paths),
        out_tree,
        world_paths,
        tuple(world.reads.values()),
        tuple(world.functions),
    )


def _refuse_changed_arguments(
    builder: GraphBuilder, world: World, parsed: ParsedFunction, env: dict
) -> None:
    """First in the code of a function that changes objects outside (appends, writes): a
    check that no argument is, or holds, one of them (``srcad.lower.outside_state``: an
    argument is read when the call begins, before the change)."""
    if not world.changed_objects:
        return
    declared = parsed.node.args
    names = [a.arg for a in [*declared.posonlyargs, *declared.args, *declared.kwonlyargs]]
    names += [a.arg for a in (declared.vararg, declared.kwarg) if a is not None]
    arrays_change = any(isinstance(v, np.ndarray) for v, _, _ in world.changed_objects.values())
    starred = declared.vararg.arg if declared.vararg is not None else None
    holding = {
        n: env[n] if n == starred else Parameter(n)  # *args: its values (args_0, ...)
        for n in names
        if n in env
        and not _only_numbers(env[n])
        and (arrays_change or not isinstance(env[n], Tracer))  # an array: if arrays change
    }
    if not holding:
        return
    changed = tuple(Outside(value, path) for value, path, _ in world.changed_objects.values())
    where = tuple(text for _, _, text in world.changed_objects.values())
    callee = REFUSE_CHANGED_ARGUMENTS
    outside_call(builder, callee, callee, [changed, holding, where], {})
    builder.eqns.insert(0, builder.eqns.pop())  # before anything reads the arguments


def _only_numbers(value: object) -> bool:
    """A number or string: nothing the code could change in place (an array could be)."""
    is_number = isinstance(value, Tracer) and value.aval.shape == ()
    return is_number or isinstance(value, (int, float, bool, str, type(None)))


def _default_arrays(function: object, env: dict) -> dict[str, tuple]:
    """The arrays of the parameters whose default value is an array, by name."""
    try:
        parameters = inspect.signature(function).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return {}
    return {
        name: tuple(argument_arrays(env[name]))
        for name, parameter in parameters.items()
        if isinstance(parameter.default, np.ndarray) and name in env
    }


def _fix_how_called(world: World, fn: Callable, path: WorldPath) -> None:
    """The code a call of ``fn`` runs, where ``fn`` is not a function: a callable object's
    class and that class's ``__call__`` (``Model.__call__ = ...``, ``model.__class__ =
    Other`` run other code), also as a ``functools.partial``'s function. A function, and a
    bound method's function, cannot be replaced: the guard checks their code."""
    if isinstance(fn, functools.partial):
        _fix_how_called(world, fn.func, path.child("attr", "func", f"{path.text}.func"))
    elif is_callable_object(fn):
        its_class = path.child("attr", "__class__", f"type({path.text})")
        world.fix(type(fn), its_class)
        call = inspect.getattr_static(type(fn), "__call__")
        world.fix(call, its_class.child("attr", "__call__", f"{its_class.text}.__call__"))


def _arguments(builder: GraphBuilder, world: World, arg_trees: dict[str, object]) -> _Arguments:
    """Each ``AVal`` leaf of the arguments becomes a graph input, named after its path; a
    random generator, an outside object read through its parameter (its draws run in the
    generated code)."""
    arguments = _Arguments({}, [], [])
    for name, tree in arg_trees.items():
        leaves, treedef = flatten(tree)
        values: list[object] = []
        for path, leaf in zip(leaf_paths(treedef), leaves, strict=True):
            if isinstance(leaf, AVal):
                var = builder.new_var(_path_name(name, path), leaf)
                world.input_classes[var] = argument_classes(leaf)
                arguments.inputs.append(var)
                arguments.input_paths.append((name, *path))
                values.append(builder.tracer(var))
            elif isinstance(leaf, GeneratorArgument):
                values.append(Outside(leaf.stand_in(), _argument_path(name, path), world=world))
            else:
                values.append(leaf)
        arguments.env[name] = unflatten(treedef, values)
        world.note_passed_in(arguments.env[name])
    return arguments


def _argument_path(name: str, path: tuple) -> WorldPath:
    """Where a value inside the argument ``name`` is: ``rng``, ``state["rng"]``."""
    steps = tuple(("attr", k.name) if isinstance(k, Field) else ("item", k) for k in path)
    text = name + "".join(f".{k.name}" if isinstance(k, Field) else f"[{k!r}]" for k in path)
    return WorldPath(ArgumentRoot(name), name, steps, text)


def _gathered(declared: ast.arguments, env: dict[str, object]) -> dict[str, object]:
    """The arguments as the function's parameters hold them: the API passes the values
    ``*args`` collects one by one (``args_0``, ``args_1``: ``argnums`` counts positions
    of the call, as in JAX); here they become the tuple ``args`` again."""
    vararg = declared.vararg
    if vararg is None or vararg.arg in env:
        return env
    named = {a.arg for a in declared.posonlyargs + declared.args + declared.kwonlyargs}
    named |= {declared.kwarg.arg} if declared.kwarg is not None else set()
    gathered = {name: value for name, value in env.items() if name in named}
    gathered[vararg.arg] = tuple(value for name, value in env.items() if name not in named)
    return gathered


def _lower_body(lowering: Lowering) -> object:
    """The value the function returns; a value it needs known at compile time, and that is
    not, is reported at the user's line."""
    note_written_dicts(lowering)  # STATE["step"] += 1: STATE read key by key
    try:
        return lower_body(lowering)
    except StaticValueNeeded as error:
        where = error.loc
        raise UnsupportedSyntax(
            fix_or_explain(lowering, error),  # or FloatsNeeded: lowered again
            where.file if where else lowering.parsed.file,
            where.line if where else None,
        ) from None


def _path_name(name: str, path: tuple) -> str:
    return "_".join([name, *(str(key) for key in path)])


def _output_atom(value: object, parsed: ParsedFunction) -> Atom:
    if isinstance(value, Tracer):
        return value.atom
    if isinstance(value, (bool, int, float, str, np.ndarray, np.generic)) or value is None:
        return Const(value)
    raise SrcadError(
        f"the function returns a {type(value).__name__}; return arrays, floats "
        "or tuples/lists/dicts of them",
        parsed.file,
        parsed.node.lineno,
    )
