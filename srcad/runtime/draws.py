"""One call's random draws, kept across the passes of a transformation.

Generated code draws random numbers where the user's function does (``np.random.normal``,
``rng.normal``, ``random.random``), once per run. Some transformations run the code more
than once for one call of theirs: ``jacfwd`` once per input element, ``jacrev`` once per
output element, ``vjp``'s pullback once per cotangent after the forward run. Each run must
see the same draws, or the derivative mixes samples. ``DrawState`` saves the state of every
generator the code draws from and puts it back before each further run:

    start = DrawState.of(compiled.random_draws, arguments)   # before the first run
    for basis in tangents:
        start.restore()                           # every pass draws what the first drew
        compiled.fn(*values, *basis)

A run with no draws saves nothing and restores nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping

import numpy as np

from srcad.ir import Eqn
from srcad.ir.world import ArgumentRoot, WorldPath, generator_state, set_generator_state


class DrawState:
    """The states of the generators some draws use, as they are now."""

    def __init__(self, states: list[tuple[object, object]]):
        self.states = states

    @classmethod
    def of(cls, draws: Iterable[Eqn], arguments: Mapping[str, object]) -> DrawState:
        """The states now of the generators ``draws`` use; ``arguments``, the call's by
        parameter name, hold the generators passed in (``rng``)."""
        owners: dict[int, object] = {}
        for eqn in draws:
            owner = _generator(eqn.param_dict.get("callee"), arguments)
            if owner is not None:
                owners[id(owner)] = owner
        return cls([(owner, generator_state(owner)) for owner in owners.values()])

    def restore(self) -> None:
        for owner, state in self.states:
            set_generator_state(owner, state)


def _generator(callee: object, arguments: Mapping[str, object]) -> object | None:
    """The generator object a draw's callee draws from, as the code would find it now."""
    if isinstance(callee, str):
        module = callee.split(".", 1)[0]
        return np.random.mtrand._rand if module == "np" else getattr(random, "_inst", None)
    if isinstance(callee, WorldPath):
        root = callee.root
        value: object = arguments[root.name] if isinstance(root, ArgumentRoot) else root
        for kind, key in callee.steps:
            value = getattr(value, key) if kind == "attr" else value[key]  # type: ignore[index]
        return getattr(value, "__self__", None)
    return None
