"""Structured control-flow primitives and the tape.

``cond``: ``outputs = branches[0] if pred else branches[1]``; each branch is a sub-graph
without inputs whose outputs are the joined values.
``for``: a counted loop; ``body`` maps ``(counter, *carried)`` to the next ``carried``;
params ``start stop step``, for backward loops ``is_reversed``, and ``stop_dim = (var id,
axis)`` when the source wrote ``stop`` as the length of that axis of the array ``var``
(``range(xs.shape[0])``, ``for x in xs``): code generation may spell it so.
``while``: ``cond`` maps ``carried`` to a truth value, ``body`` maps ``carried`` to the next.
The tape is a Python list that the forward sweep of a loop appends the values its backward
sweep needs to (``tape_push``), and the backward sweep pops them back (``tape_pop``);
``tape_stack`` makes an array of a tape of equally shaped arrays (``np.array(tape)``, see
``srcad.passes.outer_sums``).
"""

from __future__ import annotations

from srcad.ir.graph import AVal, Eqn, Graph, Var
from srcad.ir.prims import PRIMS, Prim, _add

CONTROL = "control"
TAPE = AVal((), "object")
LOOP_PRIMS = ("for", "while")
STRUCTURED_PRIMS = ("cond", *LOOP_PRIMS)
TAPE_PRIMS = ("tape_new", "tape_push", "tape_pop", "tape_nonempty", "tape_stack")


def _structured(*args, **params):
    raise RuntimeError("structured control flow is executed by generated code only")


def branches_of(eqn: Eqn) -> tuple[Graph, ...]:
    """The branches of a ``cond`` equation."""
    branches = eqn.param_dict["branches"]
    if not (isinstance(branches, tuple) and all(isinstance(b, Graph) for b in branches)):
        raise TypeError(f"a {eqn.prim} equation without branches")
    return branches


def body_of(eqn: Eqn) -> Graph:
    """The body of a ``for`` or ``while`` equation."""
    return _graph_param(eqn, "body")


def known_steps(loop: Eqn) -> int:
    """How many times a ``for`` loop runs, when its bounds are numbers (0 otherwise)."""
    params = loop.param_dict
    start, stop, step = params.get("start"), params.get("stop"), params.get("step", 1)
    if isinstance(start, int) and isinstance(stop, int) and isinstance(step, int) and step:
        return len(range(start, stop, step))
    return 0


def carried_inputs(eqn: Eqn) -> tuple[Var, ...]:
    """The body inputs of a loop that carry values (a ``for`` body's first is the counter)."""
    body = body_of(eqn)
    return body.inputs[1:] if PRIMS[eqn.prim].has_counter else body.inputs


def condition_of(eqn: Eqn) -> Graph:
    """The condition of a ``while`` equation."""
    return _graph_param(eqn, "cond")


def _graph_param(eqn: Eqn, key: str) -> Graph:
    graph = eqn.param_dict[key]
    if not isinstance(graph, Graph):
        raise TypeError(f"a {eqn.prim} equation whose {key} is not a graph")
    return graph


for _name in STRUCTURED_PRIMS:
    _add(
        Prim(
            _name,
            _structured,
            CONTROL,
            0,
            is_structured=True,
            is_loop=_name in LOOP_PRIMS,
            has_counter=_name == "for",
        )
    )
for _name in TAPE_PRIMS:
    _add(Prim(_name, _structured, CONTROL, 0, is_differentiable=False, is_tape=True))
