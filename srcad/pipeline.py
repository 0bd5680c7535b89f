"""The compilation pipelines behind the public transformations.

Each takes a user function and an argument signature and returns a loaded generated
function: lower → differentiate (``reverse_graph`` or ``forward_graph``) → eliminate dead
code → (verify) → emit source → load. Results are cached per function and signature.

A compile is also stored on disk (``srcad.runtime.disk``) and reused by a later process
when everything it depended on is unchanged there.

Functions made by srcad itself (``grad(f)``, ``jvp`` wrappers) are turned back into
source that srcad can read (``plain_function``): a short wrapper around the generated
function, so that ``grad(grad(f))`` differentiates the generated code.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import gc
import inspect
import keyword
import os
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from srcad.arguments import ArgSignature, Wrt, constant_gradient, is_constant_leaf
from srcad.codegen import ConstantLeaf, FunctionSpec, emit_module, entry_name
from srcad.codegen.header import header_lines
from srcad.errors import (
    ArgumentTypeError,
    InternalError,
    NoDerivativeRule,
    SrcadError,
    UnsupportedSyntax,
)
from srcad.forward import forward_graph
from srcad.frontend import parse_function
from srcad.frontend.parse import function_for, unbound
from srcad.ir import AVal, Eqn, Graph, Var
from srcad.ir.builder import GraphBuilder
from srcad.ir.primitive import BUILTINS, CUSTOM, import_statement, module_spelling
from srcad.ir.prims import CALLABLES, PRIMS, prim_of
from srcad.ir.verify import verify_graph
from srcad.ir.walk import walk_eqns
from srcad.ir.world import WorldRead, is_random_draw, without_effects
from srcad.lower import LoweredFunction, lower_function
from srcad.passes import (
    eliminate_dead_code,
    hoist_loop_invariants,
    place_reductions_near_reads,
    simplify_graph,
    sum_outer_products,
    tapes_as_arrays,
)
from srcad.pytree import TreeDef, plain_treedef, unflatten
from srcad.reverse import reverse_graph
from srcad.runtime import generated_dir, load_function
from srcad.runtime.cache import cached
from srcad.runtime.describe import moved_library_functions
from srcad.runtime.disk import entry_key, load_entry, save_entry
from srcad.runtime.errors import compile_errors, definition_line, users_line_of_generated
from srcad.runtime.guard import always_current, make_world_guard


@dataclass(frozen=True)
class Compiled:
    """One specialisation of a transformed function.

    ``is_current()`` tells whether everything the compile fixed about the world outside the
    function (helpers, ints, shapes of globals: ``srcad.ir.world``) still holds; a call
    must not use ``fn`` when it does not. ``out_avals`` are the shapes and dtypes of the
    derivative graph's outputs (the value first). ``graph``, the derivative graph, is not
    stored on disk: a compile reused from disk makes it again (``derive_graph``) when asked.
    """

    fn: Callable
    source: str
    out_tree: TreeDef
    out_avals: tuple[AVal, ...]
    is_current: Callable[[], bool] = always_current
    derive_graph: Callable[[], Graph] | None = None
    draws: bool | None = None  # whether the code draws random numbers (None: not recorded)
    # the code a further derivative reads, where it is not ``fn`` (see ``body``)
    make_readable: Callable[[], Callable] | None = None

    @functools.cached_property
    def graph(self) -> Graph:
        return self.derive_graph()

    @functools.cached_property
    def body(self) -> Callable:
        """The NumPy body, which a further derivative reads (see ``numpy_body``): for code
        whose ``for`` loops keep tapes, the same code with arrays for tapes
        (``srcad.passes.array_tapes``), so that the loops stay loops in that derivative."""
        readable = self.fn if self.make_readable is None else self.make_readable()
        return numpy_body(readable)

    @functools.cached_property
    def random_draws(self) -> tuple[Eqn, ...]:
        """The derivative's random draws (``outside_call`` of a generator, for a value): a
        transformation that runs ``fn`` more than once per call would draw again. Known
        without the graph when the compile recorded that there are none (a compile reused
        from disk is not made again just to find out)."""
        if self.draws is False:
            return ()
        return tuple(eqn for eqn in walk_eqns(self.graph.eqns) if is_random_draw(eqn))


def compile_reverse(
    fun: Callable,
    signature: ArgSignature,
    wrt: Wrt,
    has_aux: bool = False,
    is_scalar: bool = True,
) -> Compiled:
    """``f_grad(params..., dout)`` returning ``(value, gradients)``; for ``is_scalar=False``
    (``vjp``) the output may have any shape and ``dout`` has no default."""
    key = ("reverse", wrt, has_aux, is_scalar, signature)
    options = (wrt, has_aux, is_scalar)
    with (
        compile_errors(fun, signature, "compile_reverse", *options),
        _in_generated_code(fun, "reverse"),
    ):
        compile_fn = functools.partial(_compile_reverse, fun, signature, wrt, has_aux, is_scalar)
        return cached(fun, key, lambda: _reuse_or_compile(fun, key, compile_fn))


def compile_forward(
    fun: Callable,
    signature: ArgSignature,
    wrt: Wrt,
    quiet: bool = False,
    outputs: Outputs | None = None,
) -> Compiled:
    """``f_jvp(params..., tangents...)`` returning ``(value, value_dot)``; ``quiet``: without
    the effects (``print``, appends, writes outside) for the later passes of one call that
    run it as Python code, not under ``silenced()`` (``forward_columns``); ``outputs``: what
    the function must return (floats, one for a gradient), checked as reverse mode does."""
    key = ("forward", wrt, signature, *(("quiet",) if quiet else ()), outputs)
    with compile_errors(fun, signature, "compile_forward", wrt), _in_generated_code(fun, "forward"):
        compile_fn = functools.partial(
            _compile_forward, fun, signature, wrt, quiet=quiet, outputs=outputs
        )
        return cached(fun, key, lambda: _reuse_or_compile(fun, key, compile_fn))


def _reuse_or_compile(fun: Callable, key: tuple, compile_fn: Callable) -> Compiled:
    """The compile an earlier process stored on disk under ``key``, if it holds here (see
    ``srcad.runtime.disk``); otherwise ``compile_fn(disk_key)``, which stores its result."""
    disk_key = _disk_key(fun, key)
    if disk_key is None:
        with _collector_paused():
            return compile_fn(None)
    entry = load_entry(disk_key, _module_stem(fun, key[0]), fun)
    if entry is None:
        with _collector_paused():
            return compile_fn(disk_key)
    derive = functools.cache(lambda: compile_fn(None))  # compiled again only when asked
    relies_on(entry.fn, entry.world_reads, entry.functions)
    # reverse-mode code may keep tapes (forward-mode code never does): what a further
    # derivative reads is found from the graph (which it asks for anyway: while loops)
    make_readable = functools.partial(_derive_body, derive) if key[0] == "reverse" else None
    return Compiled(
        entry.fn,
        entry.source,
        entry.out_tree,
        entry.out_avals,
        entry.is_current,
        functools.partial(_derive_graph, derive),
        entry.draws,
        make_readable,
    )


def _derive_graph(derive: Callable[[], Compiled]) -> Graph:
    return derive().graph


def _derive_body(derive: Callable[[], Compiled]) -> Callable:
    return derive().body


def _disk_key(fun: Callable, key: tuple) -> str | None:
    """The key of the compile on disk; None when it is not shared between processes, as
    when this process registered rules of its own (``defvjp``, ``custom_vjp``; the
    primitives srcad makes for ``odeint`` and ``fixed_point`` are no rule of the user's) or
    replaced a library function srcad has a rule for (``np.tanh = ...``: 0.2 ms to check)."""
    if any(prim.kind == CUSTOM and prim.user_rules for prim in PRIMS.values()):
        return None
    if moved_library_functions(CALLABLES):  # np.tanh = np.sin: what another process saw
        return None
    return entry_key(fun, key)


def _module_stem(fun: Callable, mode: str) -> str:
    """How the generated module of ``fun`` is named (``_load`` names it the same way)."""
    stem = f"{fun.__module__}.{fun.__qualname__}".replace("<", "").replace(">", "")
    return f"{stem}_{'grad' if mode == 'reverse' else 'jvp'}"


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a compile builds its many short-lived objects
    (graphs, syntax trees): it would pass over them several times a compile, 5-10 % of a
    long function's compile time, and find little to free. Left as it was found."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def _in_generated_code(fun: Callable, mode: str) -> Iterator[None]:
    """An error found in srcad's own generated code (differentiating a gradient again) says
    so, and which function's derivative it came from, at the user's line that code came
    from; one found in the one-line ``def`` calling a function with a rule of the user's
    (``srcad.grad(f)`` of a ``custom_vjp``) is at that function's definition."""
    try:
        yield
    except SrcadError as error:
        if not str(error.file).startswith(str(generated_dir())) or isinstance(error, InternalError):
            raise
        called = getattr(fun, "srcad_calls", None)
        if called is not None:
            raise type(error)(error.detail, *definition_line(called)) from None
        if not hasattr(fun, "srcad_plain_function"):  # a derivative, not a loss
            raise
        raise _further_derivative_error(fun, mode, error) from None


def _further_derivative_error(fun: Callable, mode: str, error: SrcadError) -> SrcadError:
    """``error``, found in the generated code of ``fun``, a derivative srcad made, when
    differentiating it again in ``mode``."""
    assert error.file is not None and error.line is not None
    name = getattr(fun, "__name__", "the function")
    if mode == "forward" and isinstance(error, NoDerivativeRule):
        spelled = name if name.isidentifier() else "f"  # a lambda's: <lambda>
        note = (
            f"in the gradient of {name} srcad generated (its line {error.line}), which "
            "srcad.hessian and srcad.hvp differentiate in forward mode: "
            f"srcad.jacrev(srcad.grad({spelled})) differentiates it in reverse mode"
        )
    else:
        note = (
            f"in srcad's generated code for a derivative of {name}, its line {error.line}: "
            "taking a further derivative through this construct is not supported yet"
        )
    differentiated = getattr(fun, "fun", None)
    where = None
    if callable(differentiated):
        where = users_line_of_generated(str(error.file), error.line, differentiated)
    return type(error)(f"{error.detail} ({note})", *(where or (error.file, error.line)))


def _compile_reverse(fun, signature, wrt, has_aux, is_scalar, disk_key=None) -> Compiled:
    plain = plain_function(fun, signature)
    wrt.check(signature, getattr(plain, "__name__", "the function"))
    lowered = lower_function(plain, signature.trees())
    graph = hoist_loop_invariants(_checked_output(lowered, has_aux, plain, is_scalar))
    inputs = _differentiated_inputs(lowered, signature, wrt)
    outputs = (0,) if is_scalar else tuple(range(len(graph.outputs)))
    result = _clean(reverse_graph(graph, inputs, outputs).graph)
    grads = _argument_trees(lowered, signature, wrt, inputs, len(graph.outputs))
    spec = _spec(
        plain,
        signature,
        lowered,
        "grad",
        wrt,
        inputs=(
            *lowered.input_paths,
            *lowered.world_paths,
            *_cotangent_paths(graph, is_scalar, set(signature.params)),
        ),
        returns=(_output_tree(lowered, len(graph.outputs)), grads),
        output_names=_gradient_names(lowered, inputs, len(graph.outputs)),
    )
    return _load(plain, result, spec, lowered, disk_key)


def _compile_forward(fun, signature, wrt, disk_key=None, quiet=False, outputs=None) -> Compiled:
    plain = plain_function(fun, signature)
    wrt.check(signature, getattr(plain, "__name__", "the function"))
    lowered = lower_function(plain, signature.trees())
    if outputs is not None:
        _check_outputs(lowered, plain, outputs, "forward")
    inputs = _differentiated_inputs(lowered, signature, wrt)
    result = _clean(forward_graph(hoist_loop_invariants(lowered.graph), inputs))
    if quiet:
        result = replace(result, eqns=without_effects(result.eqns))
    n = len(lowered.graph.outputs)
    tangent_paths = _tangent_names([lowered.input_paths[i] for i in inputs], set(signature.params))
    spec = _spec(
        plain,
        signature,
        lowered,
        "jvp_quiet" if quiet else "jvp",
        wrt,
        inputs=(*lowered.input_paths, *lowered.world_paths, *tangent_paths),
        returns=(_output_tree(lowered, n), _output_tree(lowered, n, first=n)),
        extra_params=tuple(p[0] for p in tangent_paths),
    )
    return _load(plain, result, spec, lowered, disk_key)


def _clean(graph: Graph) -> Graph:
    """The derivative graph after the passes: loop-carried sums of outer products as one
    matrix product, simplified, loop invariants in front of their loops, without what no
    output needs, and reductions of large arrays next to their next reader.
    (``eliminate_common_subexpressions`` is not run yet: it would merge a forward-mode
    primal value with its tangent's recomputation, which changes the generated code.)"""
    for run_pass in (
        sum_outer_products,
        simplify_graph,
        hoist_loop_invariants,
        eliminate_dead_code,
        place_reductions_near_reads,
    ):
        graph = run_pass(graph)
        if os.environ.get("SRCAD_VERIFY"):
            verify_graph(graph)
    return graph


def _load(
    fun: Callable,
    graph: Graph,
    spec: FunctionSpec,
    lowered: LoweredFunction,
    disk_key: str | None = None,
) -> Compiled:
    _refuse_replaced_library_functions(graph, fun)
    source, constants = emit_module(graph, spec)
    stem = f"{fun.__module__}.{fun.__qualname__}".replace("<", "").replace(">", "")
    suffix = spec.name.rsplit("_", 1)[-1]
    functions = (*_source_function(fun), *lowered.functions)
    loaded = relies_on(
        load_function(source, entry_name(graph, spec), f"{stem}_{suffix}", constants),
        lowered.world_reads,
        functions,
    )
    is_current = make_world_guard(lowered.world_reads, functions)
    out_avals = tuple(atom.aval for atom in graph.outputs)
    draws = any(is_random_draw(eqn) for eqn in walk_eqns(graph.eqns))
    make_readable = functools.partial(_load_readable, fun, graph, spec, lowered, loaded)
    if disk_key is not None:
        stem = _module_stem(fun, "reverse" if spec.name.endswith("_grad") else "forward")
        save_entry(
            disk_key,
            stem,
            fun,
            loaded.__name__,
            source,
            constants,
            lowered.world_reads,
            lowered.out_tree,
            out_avals,
            draws,
        )
    return Compiled(
        loaded, source, lowered.out_tree, out_avals, is_current, lambda: graph, draws, make_readable
    )


def _refuse_replaced_library_functions(graph: Graph, fun: Callable) -> None:
    """Refuse a graph calling a library function whose name now holds another object
    (``np.tanh = my_tanh`` made before the first call, ``my_tanh`` calling the original):
    generated code calls the function by that name, and would run the replacement."""
    checked: set[str] = set()
    for eqn in walk_eqns(graph.eqns):
        prim = PRIMS[eqn.prim]
        if eqn.prim in checked or prim.kind == CUSTOM or prim.module == BUILTINS:
            continue
        checked.add(eqn.prim)
        module = sys.modules.get(prim.module)
        held = getattr(module, prim.fn.__name__, None)
        if held is None or held is prim.fn:  # (srcad's own primitives have no such name)
            continue
        replacement = getattr(held, "__name__", type(held).__name__)
        raise UnsupportedSyntax(
            f"'{prim.spelling}' holds {replacement} here, not {prim.module}'s "
            f"{prim.fn.__name__}: srcad's generated code calls {prim.module}'s function by "
            f"that name, so it would run the replacement. Call your function by its own name "
            f"rather than assigning it to {prim.spelling}, or undo the replacement",
            *((eqn.loc.file, eqn.loc.line) if eqn.loc else definition_line(fun)),
        )


def _load_readable(
    fun: Callable, graph: Graph, spec: FunctionSpec, lowered: LoweredFunction, loaded: Callable
) -> Callable:
    """The code a further derivative reads in place of ``loaded``, the generated code of
    ``graph``: ``loaded`` itself, or where its ``for`` loops keep tapes, the same function
    with arrays for tapes (``Compiled.body``)."""
    readable = tapes_as_arrays(graph)
    if readable is graph:
        return loaded
    if os.environ.get("SRCAD_VERIFY"):
        verify_graph(readable)
    source, constants = emit_module(readable, spec)
    stem = f"{fun.__module__}.{fun.__qualname__}".replace("<", "").replace(">", "")
    name = f"{stem}_{spec.name.rsplit('_', 1)[-1]}"
    function = load_function(source, entry_name(readable, spec), name, constants)
    return relies_on(function, loaded.srcad_world_reads, loaded.srcad_lowered_functions)


def _differentiated_inputs(lowered: LoweredFunction, signature: ArgSignature, wrt: Wrt) -> tuple:
    """The graph inputs differentiated, argument by argument in the order of ``argnums``."""
    return tuple(
        i
        for number in wrt.numbers
        for i, path in enumerate(lowered.input_paths)
        if signature.params.index(path[0]) == number
    )


def _described(aval: AVal) -> str:
    """A result's type as the user wrote the value: text, None or an object, a Python int
    or bool, or a dtype."""
    dtype = aval.dtype
    if aval.is_weak and aval.shape == () and dtype in ("int64", "bool"):
        return "a Python int" if dtype == "int64" else "a Python bool"
    if dtype.startswith("str"):
        return "text (a str)"
    if dtype == "object":
        return "None or an object"
    return f"dtype {dtype}"


@dataclass(frozen=True)
class Outputs:
    """What a differentiated function must return: floats, with an auxiliary output after
    them (``has_aux``), one float for a gradient (``is_scalar``)."""

    has_aux: bool = False
    is_scalar: bool = False


# What a transformation of several outputs is called in its errors, by mode
MODE_NAMES = {"reverse": "reverse mode (vjp, jacrev)", "forward": "forward mode (jvp, jacfwd)"}


def _checked_output(
    lowered: LoweredFunction, has_aux: bool, fun: Callable, is_scalar: bool
) -> Graph:
    """The graph with the differentiated value as output 0, checked to be a scalar."""
    _check_outputs(lowered, fun, Outputs(has_aux, is_scalar), "reverse")
    graph = lowered.graph
    value = graph.outputs[0]
    if is_scalar and value.aval.shape != () and isinstance(value, Var):
        return _reshape_output_to_scalar(graph, value)
    return graph


def _check_outputs(lowered: LoweredFunction, fun: Callable, outputs: Outputs, mode: str) -> None:
    """Refuse a function whose results ``outputs`` cannot take: no pair with has_aux, not
    floats, more than one float for a gradient."""
    tree = lowered.out_tree
    if outputs.has_aux:
        if tree.kind not in ("tuple", "list", "namedtuple") or len(tree.children) != 2:
            raise ArgumentTypeError(
                f"has_aux=True requires {fun.__name__} to return a pair (value, aux)",
                *_return_line(fun),
            )
        tree = tree.children[0]
    is_scalar = outputs.is_scalar
    if is_scalar and tree.kind != "leaf":
        raise ArgumentTypeError(_several_outputs(fun, tree), *_return_line(fun))
    what = "grad" if is_scalar else MODE_NAMES[mode]
    graph_outputs = lowered.graph.outputs
    checked = graph_outputs[:1] if is_scalar or not _some_float(graph_outputs) else ()
    for output in checked:  # a Jacobian's constants among floats: zero derivatives
        if not output.aval.is_float:
            raise ArgumentTypeError(
                f"{what} requires {fun.__name__} to return floats, but it returned "
                f"{_described(output.aval)}",
                *_return_line(fun),
            )
    if is_scalar and graph_outputs[0].aval.size != 1:
        raise ArgumentTypeError(
            f"grad requires {fun.__name__} to return a scalar float (a float or a 0-d or "
            f"size-1 float array), but it returned an array of shape "
            f"{graph_outputs[0].aval.shape}; reduce it first (e.g. np.sum) or use srcad.jacrev",
            *_return_line(fun),
        )


def _some_float(outputs: tuple) -> bool:
    return any(output.aval.is_float for output in outputs)


def _several_outputs(fun: Callable, tree: TreeDef) -> str:
    """What to do about a function that returns several values where one is needed."""
    returned = f"a {tree.kind} of {len(tree.children)} values"
    return (
        f"grad requires {fun.__name__} to return a single float, but it returns {returned}; "
        f"if the first is the loss and the rest are extra results, return (loss, aux) and "
        f"use srcad.grad({fun.__name__}, has_aux=True), which gives (gradient, aux)"
    )


def _return_line(fun: Callable) -> tuple[str | None, int | None]:
    """The file and line of ``fun``'s return statement, or of its ``def`` when it has several
    (API errors about the returned value point there); none for a library function srcad
    differentiates itself (``srcad.grad(np.sqrt)``: its ``def`` is srcad's)."""
    if getattr(fun, "srcad_calls", None) is not None:
        return None, None
    node = parse_function(fun).node
    returns = [n for n in ast.walk(node) if isinstance(n, ast.Return)]
    line = returns[0].lineno if len(returns) == 1 else node.lineno
    return fun.__code__.co_filename, line


def _reshape_output_to_scalar(graph: Graph, value: Var) -> Graph:
    from srcad.ir.walk import max_var_id

    builder = GraphBuilder(first_id=max_var_id(graph) + 1)
    builder.eqns.extend(graph.eqns)
    with builder.at(graph.eqns[-1].loc if graph.eqns else None):
        scalar = builder.apply_atom("reshape", (builder.tracer(value),), {"shape": ()})
    return builder.build(graph.name, list(graph.inputs), [scalar, *graph.outputs[1:]])


def _argument_trees(lowered, signature, wrt: Wrt, inputs: tuple, first: int) -> object:
    """Output indices of the gradients, in the structure of each differentiated argument."""
    trees = []
    position = first
    for number in wrt.numbers:
        leaves = []
        for leaf in signature.leaves[number]:
            if is_constant_leaf(leaf):  # a setting among the parameters: its zero
                leaves.append(ConstantLeaf(constant_gradient(leaf)))
            else:
                leaves.append(position)
                position += 1
        treedef = plain_treedef(signature.treedefs[number])  # the API gives classes back
        trees.append(unflatten(treedef, leaves))
    return wrt.pick(trees)


def _output_tree(lowered: LoweredFunction, count: int, first: int = 0) -> object:
    """Output indices ``first, first + 1, ...`` in the structure of the function's result
    (NamedTuples and dataclasses as tuples: the API gives their classes back)."""
    return unflatten(plain_treedef(lowered.out_tree), list(range(first, first + count)))


def _gradient_names(lowered, inputs: tuple, first: int) -> tuple:
    return tuple(
        (first + k, "d" + _path_name(lowered.input_paths[i]))
        for k, i in enumerate(inputs)
        if len(lowered.input_paths[i]) == 1
    )


def _spec(
    fun, signature, lowered, kind, wrt: Wrt, inputs, returns, output_names=(), extra_params=()
) -> FunctionSpec:
    wrt_names = ", ".join(signature.params[i] for i in wrt.numbers)
    params = ", ".join(signature.params)
    mode = "reverse" if kind == "grad" else "forward"
    header = header_lines(
        _display_path(fun),
        fun.__qualname__,
        fun.__code__.co_firstlineno,
        mode,
        wrt.numbers,
        signature,
    )
    what = "gradient" if kind == "grad" else "tangent (derivative along the given tangents)"
    return FunctionSpec(
        name=f"{fun.__name__}_{kind}",
        params=(*signature.params, *extra_params),
        input_paths=inputs,
        returns=returns,
        docstring=f"Value of {fun.__name__}({params}) and its {what} with respect to "
        f"({wrt_names}).",
        header=header,
        output_names=output_names,
        compiled_for=signature,
    )


def _cotangent_paths(
    graph: Graph, is_scalar: bool, taken: set[str]
) -> tuple[tuple[str, str | None], ...]:
    """The cotangent parameters: ``dout=1.0`` for a scalar loss; for ``vjp`` one per output
    leaf, without a default (``dout``, or ``dout_0``, ``dout_1``, ...); named apart from the
    function's parameters (``taken``: a ``dout`` of the user's, a backprop helper's)."""
    stem = _free_name("dout", taken)
    if is_scalar:
        return ((stem, _unit_literal(graph.outputs[0])),)
    if len(graph.outputs) == 1:
        return ((stem, None),)
    return tuple((_free_name(f"{stem}_{k}", taken), None) for k in range(len(graph.outputs)))


def _free_name(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem_seed``, ``stem_seed2``... where the function has a parameter
    of that name."""
    name, n = stem, 1
    while name in taken:
        name = f"{stem}_seed" if n == 1 else f"{stem}_seed{n}"
        n += 1
    return name


def _unit_literal(value) -> str:
    """The default cotangent of a scalar output: 1.0 in its dtype."""
    dtype = value.aval.dtype
    return "1.0" if dtype == "float64" else f"np.{dtype}(1.0)"


def _path_name(path: tuple) -> str:
    return "_".join(str(part) for part in path)


def _tangent_names(paths: list[tuple], taken: set[str]) -> tuple[tuple[str], ...]:
    """The parameters that take the tangents of the leaves at ``paths``, each one name:
    ``params_W_dot`` (a dict's key that is no identifier, "init hiddens", spelled with _,
    made unique with a number, also from the function's parameters ``taken``: ``q_dot``
    of a Lagrangian ``L(q, q_dot)``)."""
    names: list[str] = []
    for path in paths:
        stem = "".join(c if c.isalnum() or c == "_" else "_" for c in _path_name(path))
        name, n = f"{stem}_dot", 1  # the path starts with the argument's name: an identifier
        while name in names or name in taken:
            n += 1
            name = f"{stem}_dot_{n}"
        names.append(name)
    return tuple((name,) for name in names)


def _display_path(fun: Callable) -> str:
    path = fun.__code__.co_filename
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    return path if relative.startswith("..") else relative


# --- higher order ------------------------------------------------------------------------
def plain_function(fun: Callable, signature: ArgSignature) -> Callable:
    """The Python function compiled for ``fun``: ``fun`` itself for a ``def``; for a lambda,
    a bound method or a ``functools.partial``, a stand-in named for generated code
    (``srcad.frontend.parse.function_for``); for a function made by srcad, a wrapper with
    readable source."""
    make = getattr(fun, "srcad_plain_function", None)
    return make(signature) if make is not None else function_for(fun)


def relies_on(fn: Callable, world_reads: tuple[WorldRead, ...], functions: tuple = ()) -> Callable:
    """Mark generated code with what its compile fixed about the world outside the function
    (and whose code it lowered): a compile that inlines it (``grad(grad(f))``, a
    transformation called inside differentiated code) relies on the same facts
    (``srcad.lower.world.World.rely_on``), so that its guard notices when the inner code
    would be compiled differently."""
    for marked in (fn, numpy_body(fn)):
        marked.srcad_world_reads = world_reads  # type: ignore[attr-defined]
        marked.srcad_lowered_functions = functions  # type: ignore[attr-defined]
    return fn


def _source_function(plain: Callable) -> tuple[types.FunctionType, ...]:
    """The user's function whose code ``plain`` runs (a lambda's or a method's stands in for
    it: ``function_for``); none for a function srcad made."""
    function, _ = unbound(getattr(plain, "srcad_callable", plain))
    return (function,) if isinstance(function, types.FunctionType) else ()


def numpy_body(fn: Callable) -> Callable:
    """The generated NumPy body of ``fn``: ``fn`` itself, or for scalar code (where ``fn``
    tries a body on Python floats with ``math`` first) the body it falls back to."""
    globals_ = getattr(fn, "__globals__", {})
    return globals_.get(f"{getattr(fn, '__name__', '')}_unchecked", fn)


def wrapper_function(
    name: str,
    params: tuple[str, ...],
    call: str,
    result: str,
    target: Callable | tuple[Callable, ...],
    doc: str,
) -> Callable:
    """Write and load ``def name(params): <result computed from call>`` around ``target``
    (or the functions in it)."""
    targets = target if isinstance(target, tuple) else (target,)
    args = ", ".join(params)
    source = (
        "# Generated by srcad: a wrapper around generated code, so that it can be\n"
        "# differentiated again.\nimport numpy as np\n\n\n"
        f'def {name}({args}):\n    """{doc}"""\n'
        f"    {call}\n    return {result}\n"
    )
    return load_function(source, name, name, {t.__name__: t for t in targets})


@functools.cache
def primitive_function(fun: Callable) -> Callable:
    """A one-line ``def`` calling ``fun``, a function with a derivative rule (a NumPy ufunc,
    ``np.sum``, ``scipy.special.gammaln``), so that it can be differentiated as the user's
    own functions are: ``def sqrt(x): return np.sqrt(x)``. One per function (cached), so
    that ``srcad.grad(np.tanh)`` made again reuses its compiles."""
    name = str(getattr(fun, "__name__", "primitive"))
    name = name if name.isidentifier() and not keyword.iskeyword(name) else "primitive"
    params = ", ".join(_primitive_parameters(fun))
    prim = prim_of(fun)
    known = [prim.module] if prim is not None else ["numpy", "scipy.special"]  # one without
    module = next((m for m in known if getattr(sys.modules.get(m), name, None) is fun), "")
    if module:  # a rule: its errors name it as the user would (scipy.special.ellipk)
        imports, callee = import_statement(module), f"{module_spelling(module)}.{name}"
    else:
        imports, callee = "import numpy as np", "primitive"  # given to the module
    source = (
        f"# Generated by srcad: {callee} as a function srcad differentiates.\n{imports}\n\n\n"
        f"def {name}({params}):\n    return {callee}({params})\n"
    )
    wrapper = load_function(source, name, f"{name}_function", {"primitive": fun})
    wrapper.srcad_calls = fun  # type: ignore[attr-defined] # errors name fun's definition
    return wrapper


def _primitive_parameters(fun: Callable) -> list[str]:
    """The parameters a primitive must be given (``x``; ``x1, x2`` for a binary ufunc),
    then ``*rest, **options`` where it takes more (``np.clip(a, 0.0, 1.0)``,
    ``np.sum(x, axis=0)``): passed on as the call gives them."""
    if isinstance(getattr(fun, "nin", None), int):  # a ufunc: its inputs (out= and where=
        count = fun.nin  # are not differentiated)
        return ["x"] if count == 1 else [f"x{k + 1}" for k in range(count)]
    try:
        parameters = inspect.signature(fun).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: math.hypot(*coordinates)
        return ["*args"]
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = [p.name for p in parameters if p.kind in kinds and p.default is p.empty]
    has_more = any(p.kind not in kinds or p.default is not p.empty for p in parameters)
    return (names or ["x"]) + (["*rest", "**options"] if has_more else [])
