"""Python lists and dicts that lowering a branch or a loop body changes at compile time.

``hs.append(h)`` runs while the lowering reads the code. A branch of a ``cond``, or a trial
of a loop body, is lowered without knowing whether it runs, so the lowering takes a
snapshot of the containers first and puts their contents back afterwards.
"""

from __future__ import annotations

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
