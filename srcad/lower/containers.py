"""Python lists and dicts, and random generators, that lowering a branch or a loop body
changes at compile time.

``hs.append(h)`` runs while the lowering reads the code, and so does ``st.h = h`` on an
object the function made (``st = State(h0)``), and ``rng.normal()`` of a
generator the function made itself (``rng = np.random.default_rng(0)``: its draws are the
same on every call, numbers the generated code holds). A branch of a ``cond``, or a trial
of a loop body, is lowered without knowing whether it runs, so the lowering takes a
snapshot of the containers and of the generators' states first and puts them back
afterwards.
"""

from __future__ import annotations

from typing import Any

from srcad.ir.world import (
    GENERATORS,
    generator_state,
    same_generator_state,
    set_generator_state,
)

Container = list[object] | dict[object, object]
# Each container the names hold, with a copy of its contents.
Snapshot = list[tuple[Container, Container]]


def snapshot_containers(env: dict[str, object], made: dict[int, object]) -> Snapshot:
    """The Python lists and dicts the code could change, with copies of their contents:
    those the names hold and those inside them (``d["items"]``, ``rows[0]``), and the
    attributes of the objects the function made (``made``: ``World.made``) that the names
    reach (``st.h = ...`` in a loop's body: an item of ``vars(st)``, which the loop then
    unrolls and a branch joins)."""
    snapshot: Snapshot = []
    seen: set[int] = set()
    for _, value in sorted(env.items()):
        _take(value, snapshot, seen, made)
    return snapshot


def container_labels(env: dict[str, object], made: dict[int, object]) -> dict[int, str]:
    """For each container a snapshot takes, how the code reaches it: ``accs``,
    ``d['items']``, ``rows[0]``; an object's attributes by the object (``st``)."""
    labels: dict[int, str] = {}
    pending = [(value, name) for name, value in sorted(env.items())]
    while pending:
        value, label = pending.pop()
        container: Any = vars(value) if is_made(value, made) else value
        if type(container) not in (list, dict, tuple) or id(container) in labels:
            continue
        labels[id(container)] = label
        keys = container.keys() if isinstance(container, dict) else range(len(container))
        for key in keys:
            pending.append((container[key], f"{label}[{key!r}]"))
    return labels


def is_made(value: object, made: dict[int, object]) -> bool:
    """Whether ``value`` is one of the objects the function made (``World.made``)."""
    return id(value) in made and made[id(value)] is value


def _take(value: object, snapshot: Snapshot, seen: set[int], made: dict[int, object]) -> None:
    """``value``, and the lists and dicts inside it, into ``snapshot`` (each once)."""
    kind = type(value)
    if kind is tuple:
        items: Any = value
    elif kind is list or kind is dict or id(value) in made:
        container: Any = vars(value) if is_made(value, made) else value
        if id(container) in seen:
            return
        seen.add(id(container))
        snapshot.append((container, container.copy()))
        items = container.values() if isinstance(container, dict) else container
    else:
        return
    for item in items:
        _take(item, snapshot, seen, made)


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
    np.random.default_rng(0)``), and the positions of its iterators (``it = iter(x)``):
    the lowering draws from them (``next(it)``) while it lowers, so a body lowered once
    would draw once for all its steps."""
    states = {n: generator_state(v) for n, v in env.items() if isinstance(v, GENERATORS)}
    positions = {n: _position(v) for n, v in env.items() if _position(v) is not None}
    return states | {n: ("position", p) for n, p in positions.items()}


def restore_generators(env: dict[str, object], states: dict[str, Any]) -> bool:
    """Whether a generator of ``states`` drew (or an iterator moved) since; if so, every
    one is put back."""
    now = generator_states(env)
    if all(_same_state(now.get(name), state) for name, state in states.items()):
        return False
    for name, state in states.items():
        if isinstance(state, tuple) and state[:1] == ("position",):
            _set_position(env[name], state[1])
        else:
            set_generator_state(env[name], state)
    return True


def _same_state(now: Any, state: Any) -> bool:
    if isinstance(state, tuple) and state[:1] == ("position",):
        return now == state
    return now is not None and same_generator_state(now, state)


ITERATORS: tuple[type, ...] = (type(iter([])), type(iter(())))  # a list's, a tuple's


def iterator_state(iterator: object) -> tuple[list, int]:
    """A list's or a tuple's iterator: its items and how many it has handed out (all of
    them once it is used up), read without using it."""
    reduced: Any = iterator.__reduce__()  # (iter, (items,), position), or (iter, ((),))
    items = list(reduced[1][0]) if reduced[1] else []
    return items, int(reduced[2]) if len(reduced) > 2 else len(items)


def _position(value: object) -> int | None:
    """How far an iterator the function made has gone: a list's or a tuple's, or the rows
    ``iter(x)`` of an array hands out (``srcad.lower.iteration.Rows``); None for others."""
    if type(value) in ITERATORS:
        return iterator_state(value)[1]
    position = getattr(value, "rows_position", None)
    return position if isinstance(position, int) else None


def _set_position(value: object, position: int) -> None:
    if type(value) in ITERATORS:
        value.__setstate__(position)  # type: ignore[attr-defined]
    else:
        value.rows_position = position  # type: ignore[attr-defined]
