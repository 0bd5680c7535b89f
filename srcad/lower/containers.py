"""Python lists and dicts, and random generators, that lowering a branch or a loop body
changes at compile time.

``hs.append(h)`` runs while the lowering reads the code, and so does ``rng.normal()`` of a
generator the function made itself (``rng = np.random.default_rng(0)``: its draws are the
same on every call, numbers the generated code holds). A branch of a ``cond``, or a trial
of a loop body, is lowered without knowing whether it runs, so the lowering takes a
snapshot of the containers and of the generators' states first and puts them back
afterwards.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

Container = list[object] | dict[object, object]
# Each container the names hold, with a copy of its contents.
Snapshot = list[tuple[Container, Container]]


def snapshot_containers(env: dict[str, object]) -> Snapshot:
    """The Python lists and dicts the code could change, with copies of their contents."""
    return [(v, v.copy()) for _, v in sorted(env.items()) if isinstance(v, (list, dict))]


def differs(container: Container, saved: Container) -> bool:
    """Whether ``container`` holds other items than ``saved`` (compared by identity)."""
    if len(container) != len(saved):
        return True
    if isinstance(container, dict) and isinstance(saved, dict):
        return any(k not in saved or container[k] is not saved[k] for k in container)
    return any(a is not b for a, b in zip(container, saved, strict=True))


def restore_containers(snapshot: Snapshot) -> bool:
    """Undo changes a trial lowering made to containers; whether there were any."""
    changed = False
    for container, saved in snapshot:
        if differs(container, saved):
            changed = True
            if isinstance(container, list):
                container[:] = saved
            elif isinstance(saved, dict):  # the copy of a dict
                container.clear()
                container.update(saved)
    return changed


def generator_states(env: dict[str, object]) -> dict[str, Any]:
    """The states of the random generators the function made itself (``rng =
    np.random.default_rng(0)``): the lowering draws from them while it lowers, so a body
    lowered once would draw once for all its steps."""
    states: dict[str, Any] = {}
    for name, value in env.items():
        if isinstance(value, np.random.Generator):
            states[name] = value.bit_generator.state
        elif isinstance(value, np.random.RandomState):
            states[name] = value.get_state(legacy=False)
        elif isinstance(value, random.Random):
            states[name] = value.getstate()
    return states


def restore_generators(env: dict[str, object], states: dict[str, Any]) -> bool:
    """Whether a generator of ``states`` drew since; if so, every one is put back."""
    if repr(generator_states(env)) == repr(states):
        return False
    for name, state in states.items():
        value = env[name]
        if isinstance(value, np.random.Generator):
            value.bit_generator.state = state
        elif isinstance(value, np.random.RandomState):
            value.set_state(state)
        elif isinstance(value, random.Random):
            value.setstate(state)
    return True
