"""What a compile reads from objects outside the function and what its generated code
changes there, by the objects' identity: a change the function also reads is refused.

srcad reads what a function reads from outside before its first line runs (``World``), while
the changes (``history.append(loss)``, ``self.calls += 1``: ``srcad.lower.outside_lists``,
``srcad.lower.outside_writes``) happen in the user's order. A read of a changed place would
see it from before the change, whatever name or path it goes through: ``model.scale`` read
as ``holder.m.scale``, a module's global through an alias or one of its functions, a class
attribute through an instance, ``obj.__dict__``, ``len(STATE)`` of a dict given a new key.

Reads are recorded as a part of an object (an attribute, an item: ``read_part``) or the whole
of it (a list or dict read item by item, an array, an object handed to library code:
``read_whole``); changes as a part (``changes_part``) or, for lists appended to and arrays
changed in place, the whole (``changes_whole``). ``check`` raises the refusal of the first
change that a read meets, whichever came first in the function.
"""

from __future__ import annotations

import types
from dataclasses import dataclass

from srcad.errors import SrcadError

WHOLE = object()  # the key of a change or read of the whole object


@dataclass(frozen=True, eq=False)
class _Change:
    owner: object
    key: object  # an attribute name, an item key, or WHOLE
    refusal: SrcadError


class OutsideState:
    """The reads and changes of one compile (see the module docstring)."""

    def __init__(self) -> None:
        self._parts: dict[tuple[int, object], object] = {}  # (id(owner), key) -> owner
        self._wholes: dict[int, object] = {}
        self._changes: list[_Change] = []

    def read_part(self, owner: object, key: object) -> None:
        owner = _namespace(owner)
        self._parts.setdefault((id(owner), key), owner)
        self.refuse_if_changed(owner, key)

    def read_whole(self, value: object) -> None:
        if isinstance(value, (int, float, complex, str, bytes, bool, type(None))):
            return  # immutable: nothing to change in it
        self._wholes.setdefault(id(_namespace(value)), value)

    def changes_part(self, owner: object, key: object, refusal: SrcadError) -> None:
        self._changes.append(_Change(_namespace(owner), key, refusal))

    def changes_whole(self, value: object, refusal: SrcadError) -> None:
        self._changes.append(_Change(_namespace(value), WHOLE, refusal))

    def refuse_if_changed(self, owner: object, key: object) -> None:
        """A read of ``owner``'s ``key`` that a change recorded before it meets: refused now
        (the read may need what only the change makes: an attribute not set yet)."""
        for change in self._changes:
            if change.owner is owner and change.key in (key, WHOLE):
                raise change.refusal

    def check(self) -> None:
        """Raise the refusal of a change that a read of the compile meets."""
        for change in self._changes:
            if id(change.owner) in self._wholes:
                raise change.refusal
            for (owner_id, key), owner in self._parts.items():
                if _meets(change, owner_id, key, owner):
                    raise change.refusal


def _meets(change: _Change, owner_id: int, key: object, owner: object) -> bool:
    """Whether a read of ``owner``'s ``key`` sees what ``change`` changes: the same object
    (the same key, or the whole), or an instance or subclass reading a class attribute."""
    if owner_id == id(change.owner):
        return change.key is WHOLE or change.key == key
    if not isinstance(change.owner, type) or key != change.key:
        return False
    return isinstance(owner, change.owner) or (
        isinstance(owner, type) and issubclass(owner, change.owner)
    )


def _namespace(owner: object) -> object:
    """A module's attributes are its globals: ``counter.calls`` and a global ``calls`` of
    that module's functions are one place."""
    return vars(owner) if isinstance(owner, types.ModuleType) else owner
