"""Floats read from outside the function that its code needs when compiling.

(Float arrays too, where they decide positions: ``np.nonzero(yobs > 0.5)`` with ``yobs`` a
global array gives as many positions as its values say; ``fix_arrays_behind``.)

``for _ in range(int(T / dt))`` with ``T`` and ``dt`` globals (or closure values, or
attributes of an object from outside): the floats are graph inputs, read on every call
(``srcad.lower.world``), so the count is a value of the run, and a range needs it when
compiling. Where every value a ``StaticValueNeeded`` names is computed from such floats only
(arithmetic, ``int``, ``math.ceil``, ``round``: no argument, no loop counter, no random
draw), ``floats_behind`` names them, and ``srcad.lower.function`` lowers the function again
with them fixed: compile-time floats that the guard compares on every call (a ``WorldRead``
checked ``"equal"``), as it does an int global. A change of either recompiles.

Before:  T, dt graph inputs; n = int(T / dt) a traced int; range(n) needs it: refused
After:   T = 1.0, dt = 0.1 fixed (the guard checks T == 1.0 and dt == 0.1); range(10)

The floats are fixed, not the count: the guard checks facts about the paths it reads, and
int(T / dt) is a fact about two of them. Arguments are never fixed (srcad compiles once per
layout of the arguments): a count computed from one is refused, saying to pass it as an int.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from srcad.ir import Const, Graph, Var
from srcad.ir.builder import StaticValueNeeded, Tracer
from srcad.ir.prims import PRIMS

if TYPE_CHECKING:
    from srcad.lower.context import Lowering


class FloatsNeeded(Exception):
    """Lower the function again with the outside floats at ``keys`` (``WorldPath.key``)
    fixed when compiling."""

    def __init__(self, keys: frozenset[tuple]):
        super().__init__(f"{len(keys)} outside floats needed when compiling")
        self.keys = keys


def fix_or_explain(lowering: Lowering, error: StaticValueNeeded) -> str:
    """Raises ``FloatsNeeded`` where the values ``error`` names are computed from outside
    floats only; else the message for the user (saying so where they come from arguments)."""
    sources = sources_of(lowering, error.values)
    if sources is None:
        return str(error)
    world_inputs = {var.id: path for var, path in lowering.world.inputs}
    if sources and all(_is_outside_float(lowering, var, world_inputs) for var in sources):
        raise FloatsNeeded(frozenset(world_inputs[var.id].key for var in sources))
    declared = lowering.parsed.node.args
    parameters = {a.arg for a in [*declared.posonlyargs, *declared.args, *declared.kwonlyargs]}
    named = sorted({h for var in sources if (h := lowering.builder.hint_of(var)) in parameters})
    if not named:
        return str(error)
    listed = " and ".join(f"'{name}'" for name in named)
    return (
        f"{error}. Here they are computed from the argument{'s' if len(named) > 1 else ''} "
        f"{listed}, whose values srcad does not fix (it compiles once per shape and type of "
        "the arguments): compute the count outside the function and pass it as an int "
        "argument (n_steps=int(T / dt)), or read the floats from globals, which srcad fixes "
        "when a count needs them and checks on every call"
    )


def fixed_when_needed(lowering: Lowering, values: tuple[object, ...]) -> bool:
    """Whether ``values`` are computed from floats read from outside only: where a count
    needs them, ``fix_or_explain`` fixes those floats."""
    sources = sources_of(lowering, values)
    world_inputs = {var.id: path for var, path in lowering.world.inputs}
    return bool(sources) and all(
        _is_outside_float(lowering, var, world_inputs) for var in sources  # type: ignore[union-attr]
    )


def fix_arrays_behind(lowering: Lowering, values: tuple[object, ...]) -> None:
    """Raises ``FloatsNeeded`` where ``values`` (the mask of ``np.nonzero(yobs > 0.5)``) are
    computed from floats and float arrays read from outside only: fixed, the guard compares
    them on every call (a change recompiles), and the positions are known when compiling."""
    sources = sources_of(lowering, values)
    world_inputs = {var.id: path for var, path in lowering.world.inputs}
    if sources and all(_is_outside_float(lowering, v, world_inputs, True) for v in sources):
        raise FloatsNeeded(frozenset(world_inputs[var.id].key for var in sources))


def value_of_constants(lowering: Lowering, value: object) -> object | None:
    """The value of ``value`` where it is computed from constants only (a fixed array's
    ``yobs > 0.5``), computed now; None where it is not."""
    if not isinstance(value, Tracer):
        return value
    known: dict[int, object] = {}

    def computed(atom: object) -> object | None:
        if isinstance(atom, Const):
            return atom.value
        assert isinstance(atom, Var)
        if atom.id in known:
            return known[atom.id]
        eqn = lowering.builder.producer(atom)
        prim = PRIMS.get(eqn.prim) if eqn is not None else None
        if eqn is None or prim is None or prim.has_effect or len(eqn.outputs) != 1:
            return None
        if any(isinstance(v, Graph) for _, v in eqn.params):
            return None
        inputs = [computed(a) for a in eqn.inputs]
        if any(i is None for i in inputs):
            return None
        with np.errstate(all="ignore"):
            known[atom.id] = prim.evaluate(inputs, eqn.param_dict)
        return known[atom.id]

    return computed(value.atom)


def _is_outside_float(
    lowering: Lowering, var: Var, world_inputs: Mapping[int, object], arrays: bool = False
) -> bool:
    """A Python or NumPy float read from outside the function (a float array too, where
    ``arrays``)."""
    classes = lowering.world.input_classes.get(var, ())
    kinds = (float, np.floating, np.ndarray) if arrays else (float, np.floating)
    is_float = bool(classes) and all(issubclass(c, kinds) for c in classes)
    return var.id in world_inputs and (arrays or var.aval.shape == ()) and is_float


def sources_of(
    lowering: Lowering, values: tuple[object, ...], through_control: bool = False
) -> set[Var] | None:
    """The vars without an equation of their own (graph inputs, loop counters) that
    ``values`` are computed from, through equations without effects or sub-graphs (with
    ``through_control``, through loops and branches too, to what they start from); None
    where none is named or the computation goes through another equation."""
    pending = [value.atom for value in values if isinstance(value, Tracer)]
    if not pending:
        return None
    sources: set[Var] = set()
    seen: set[int] = set()
    while pending:
        atom = pending.pop()
        if isinstance(atom, Const) or atom.id in seen:
            continue
        seen.add(atom.id)
        eqn = lowering.builder.producer(atom)
        if eqn is None:
            sources.add(atom)
            continue
        prim = PRIMS.get(eqn.prim)
        is_control = any(isinstance(v, Graph) for _, v in eqn.params)
        if prim is None or prim.has_effect or (is_control and not through_control):
            return None  # a random draw, a loop, a branch: not a fact about the floats
        pending.extend(eqn.inputs)
    return sources
