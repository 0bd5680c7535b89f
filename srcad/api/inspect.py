"""The inspection API: what srcad makes of a function, as data (``make_graph``).

Part of the API stage, in the spirit of ``jax.make_jaxpr``: ``make_graph(fun, argnums)(*args)``
lowers ``fun`` for the signature of ``args`` exactly as ``grad`` does, and, with
``backward=True``, differentiates it as ``grad`` does, then returns a ``GraphView``: the
graph, the values it names, the inputs it differentiates, the values that depend on them. It
generates no code and changes no cache. ``srcad.graph`` and ``srcad.explain`` are built on
this module alone: a tool needs no module of the pipeline.

The result is made of the IR's data types (``Graph``, ``Eqn``, ``Var``, ``Const``, ``AVal``
from ``srcad.ir``; ``VarRole`` and ``RoleKind``, re-exported here, for derivative values).
The helpers below answer what a tool asks of it:

- ``value_names(graph)``: the name of every value, the one the generated code gives it
  (``srcad show``, ``srcad graph`` and ``srcad explain`` call a value by the same name);
- ``sub_graphs(eqn)``, ``walk_eqns(eqns)``, ``max_var_id(graph)``: walking nested graphs;
- ``operator_of``, ``is_statement``, ``is_loop``, ``has_counter``: facts of an equation's
  primitive;
- ``gradient_graph(graph, wrt)``: the gradient graph of any graph (for a graph a tool has
  changed, such as ``explain``'s probed one);
- ``evaluate_graph(graph, values)``: run a straight-line graph on concrete values.

    def f(a, b):
        return a * np.exp(b)

    view = srcad.make_graph(f, argnums=(0, 1), backward=True)(1.0, 2.0)
    print(view)                   # both graphs as IR text, values named as everywhere
    view.names                    # {0: 'a', 1: 'b', 2: 'exp_b', 3: 'out'}
    view.gradient_output_names    # ('', 'da', 'db')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import cast

from srcad.api.functions import differentiable
from srcad.api.signature import bind_call, positional_count, signature_of
from srcad.arguments import Wrt
from srcad.codegen.emit import name_values
from srcad.errors import ArgumentTypeError, SrcadError
from srcad.ir import Atom, AVal, Eqn, Graph, Var
from srcad.ir.facts import has_counter, is_loop, is_statement, primitive_of
from srcad.ir.graph import RoleKind, VarRole
from srcad.ir.printer import format_graph
from srcad.ir.walk import max_var_id, sub_graphs, walk_eqns
from srcad.ir.world import catching_of
from srcad.lower import lower_function
from srcad.lower.exceptions import CAUGHT
from srcad.passes import eliminate_dead_code
from srcad.pytree import flatten
from srcad.reverse import reverse_graph
from srcad.reverse.activity import active_vars


@dataclass(frozen=True)
class GraphView:
    """``fun`` at one signature, as srcad sees it before generating code.

    ``graph``: the primal graph as lowered (its first inputs are the float leaves of the
    arguments, in order; values the function reads from outside itself come after them).
    ``wrt``: the indices in ``graph.inputs`` of the values differentiated (the float leaves
    of the ``argnums`` arguments). ``names``: ``value_names(graph)``. ``active``: the values
    that depend on the ``wrt`` inputs through differentiable operations.
    ``argument_values``: the call's float leaves, one per argument input of ``graph``;
    ``outside_values``: the values it reads from outside itself, as they are now, one per
    input after those.
    ``gradient``: with ``backward=True``, the gradient graph (``gradient_graph``: the
    forward sweep, then the backward sweep, without dead code), and
    ``gradient_output_names`` the names of its outputs: ``""`` for each primal output, then
    ``d<name>`` for each differentiated input.
    """

    function: str
    graph: Graph
    wrt: tuple[int, ...]
    names: Mapping[int, str]
    active: frozenset[Var]
    argument_values: tuple[object, ...]
    outside_values: tuple[object, ...] = ()
    gradient: Graph | None = None
    gradient_output_names: tuple[str, ...] = ()

    def __str__(self) -> str:
        """The graph as IR text (``srcad.ir.printer``) with the values named as ``names``
        says, then the gradient graph, when there is one."""
        text = format_graph(self.graph, names=self.names)
        if self.gradient is not None:
            text += "\n" + format_graph(self.gradient, names=value_names(self.gradient))
        return text + "\n"


def make_graph(
    fun: Callable, argnums: int | tuple[int, ...] = 0, *, backward: bool = False
) -> Callable[..., GraphView]:
    """A function that takes ``fun``'s arguments and returns the ``GraphView`` of ``fun``
    called with them; ``backward=True`` adds the gradient graph with respect to
    ``argnums``."""
    fun = differentiable(fun)  # np.tanh: a one-line def calling it
    name = getattr(fun, "__name__", "the function")
    numbers = Wrt.of(argnums).counted_from(positional_count(fun), name).numbers  # -1: the last

    def make(*args) -> GraphView:
        arguments = bind_call(fun, tuple(args), {})
        signature = signature_of(arguments)
        if any(n >= len(signature.params) for n in numbers):
            raise ArgumentTypeError(
                f"argnums={argnums!r} does not name a positional argument of "
                f"{name}{tuple(signature.params)}"
            )
        lowered = lower_function(fun, signature.trees())
        graph = lowered.graph
        wrt = tuple(
            i
            for i, path in enumerate(lowered.input_paths)
            if signature.params.index(path[0]) in numbers and graph.inputs[i].aval.is_float
        )
        view = GraphView(
            function=getattr(fun, "__name__", graph.name),
            graph=graph,
            wrt=wrt,
            names=value_names(graph),
            active=frozenset(active_vars(graph.eqns, {graph.inputs[i] for i in wrt})),
            argument_values=_argument_values(arguments, signature.leaves),
            outside_values=tuple(path.value() for path in lowered.world_paths),
        )
        return _with_gradient(view) if backward else view

    return make


def _with_gradient(view: GraphView) -> GraphView:
    graph = view.graph
    output_names = ("",) * len(graph.outputs) + tuple(
        "d" + view.names[graph.inputs[i].id] for i in view.wrt
    )
    gradient = gradient_graph(graph, view.wrt)
    return replace(view, gradient=gradient, gradient_output_names=output_names)


def _argument_values(arguments: dict[str, object], leaves: tuple[tuple, ...]) -> tuple:
    """The runtime leaves of the arguments, in the order of the graph's inputs."""
    values: list[object] = []
    for value, abstract in zip(arguments.values(), leaves, strict=True):
        flat, _ = flatten(value)
        values += [leaf for leaf, a in zip(flat, abstract, strict=True) if isinstance(a, AVal)]
    return tuple(values)


def value_names(graph: Graph) -> dict[int, str]:
    """The name of every value of ``graph``, the one the generated code gives it (the same
    allocator names them: ``Wx`` for ``W @ x``, ``dW``, ``h_dot``), except the derivative
    temporaries the generated code spells inside another expression under a name no variable
    of it has: no line shows that name, so a tool shows them by their operation alone."""
    named = name_values(graph)
    derived = {v.id for e in walk_eqns(graph.eqns) if e.role != "primal" for v in e.outputs}
    variables = {name for var_id, name in named.names.items() if var_id not in named.inlined}
    return {
        var_id: name
        for var_id, name in named.names.items()
        if var_id not in derived or var_id not in named.inlined or name in variables
    }


def gradient_graph(graph: Graph, wrt: Iterable[int], *, keep_primal_values: bool = False) -> Graph:
    """The gradient graph of ``graph``'s first output with respect to the inputs ``wrt``
    (indices), reversed as ``grad`` reverses it: the forward sweep, then the backward sweep;
    one more input (the output's cotangent ``dout``); the primal outputs, then one gradient
    per ``wrt`` input; without the work nothing reads (``grad`` also simplifies the graph
    before generating code, which seldom changes it: the builder simplifies as it records).

    ``keep_primal_values`` keeps every value of the forward sweep even where no gradient
    reads it (a VJP rule may also compute results for constant inputs, such as ``log(x)``
    for the exponent of ``x ** 2``, and that work still goes)."""
    reversed_graph = reverse_graph(graph, tuple(wrt)).graph
    if not keep_primal_values:
        return eliminate_dead_code(reversed_graph)
    primal = tuple(v for e in reversed_graph.eqns if e.role == "primal" for v in e.outputs)
    kept = eliminate_dead_code(replace(reversed_graph, outputs=reversed_graph.outputs + primal))
    return replace(kept, outputs=reversed_graph.outputs)


def evaluate_graph(graph: Graph, input_values: Iterable[object]) -> dict[int, object]:
    """Run a straight-line graph (no ``cond``, ``for``, ``while``) on concrete values, each
    equation by its primitive's NumPy function; the value of every var, by id."""
    values: dict[int, object] = {}
    for var, value in zip(graph.inputs, input_values, strict=True):
        values[var.id] = value
    for eqn in graph.eqns:
        if sub_graphs(eqn):
            raise SrcadError(f"internal: cannot interpret the structured equation {eqn.prim}")
        inputs = [_read(values, atom) for atom in eqn.inputs]
        result = primitive_of(eqn).evaluate(inputs, eqn.param_dict)
        results = cast(Iterable[object], result) if len(eqn.outputs) > 1 else (result,)
        for var, value in zip(eqn.outputs, results, strict=True):
            values[var.id] = value
    return values


def _read(values: dict[int, object], atom: Atom) -> object:
    return values[atom.id] if isinstance(atom, Var) else atom.value


def operator_of(eqn: Eqn) -> str | None:
    """The Python operator that spells ``eqn``'s primitive (``+``, ``@``), or None."""
    return primitive_of(eqn).operator


def caught_by(eqn: Eqn) -> tuple[type[BaseException], ...]:
    """The exceptions that a ``cond`` which is a ``try`` statement catches (its first
    branch is the ``try`` block, its second the handler); none for other equations."""
    catching = catching_of(eqn)
    if catching is None:
        return ()
    classes = {spelling: exception for exception, spelling in CAUGHT.items()}
    return tuple(classes[spelling] for spelling in catching.exceptions)  # type: ignore


__all__ = [
    "GraphView",
    "caught_by",
    "RoleKind",
    "VarRole",
    "evaluate_graph",
    "gradient_graph",
    "has_counter",
    "is_loop",
    "is_statement",
    "make_graph",
    "max_var_id",
    "operator_of",
    "sub_graphs",
    "value_names",
    "walk_eqns",
]
