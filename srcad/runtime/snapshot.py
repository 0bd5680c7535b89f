"""Runtime: what a compile reads from outside the function on every call, as it was at one
call, so that code run again later for that call (the pullback ``srcad.vjp`` returns) can
tell whether the world changed in between.

``srcad.vjp(f, x)`` runs the forward pass at once and the backward pass when its ``vjp_fn``
is called, by running the generated code again. Between the two, the user may rebind a
global the function reads (``S = 10.0``), change an array of theirs in place, or change
what the compile fixed (an int, a helper): the backward pass would then compute with other
values than the forward pass did, and JAX's pullback would not. ``WorldSnapshot`` keeps the
values (arrays copied) and the compile's own check; ``check`` raises ``SrcadError`` with
what changed, so that the result is never a mix of two worlds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srcad.errors import SrcadError
from srcad.ir.world import WorldPath


@dataclass(frozen=True)
class WorldSnapshot:
    """The values read on every call (``(path, value, copy)``) and the compile's check of
    what it fixed."""

    values: tuple[tuple[WorldPath, object, object], ...]
    is_current: object

    @classmethod
    def of(cls, fn: object, is_current: object) -> WorldSnapshot:
        """The values ``fn`` (generated code) reads on every call, as they are now."""
        values = []
        for read in getattr(fn, "srcad_world_reads", ()):
            if read.check != "layout":  # fixed facts are is_current's to check
                continue
            try:
                value = read.path.value()
            except (AttributeError, KeyError, IndexError, TypeError):
                continue  # read from an argument, which the caller passes again
            copy = np.array(value, copy=True) if isinstance(value, np.ndarray) else value
            values.append((read.path, value, copy))
        return cls(tuple(values), is_current)

    def check(self, what: str) -> None:
        """Raise where a value read on every call, or a fact the compile fixed, changed."""
        for path, value, copy in self.values:
            now = path.value()
            if not _same(now, value, copy):
                raise SrcadError(
                    f"{path.text} changed between the call and {what}: the backward pass runs "
                    "the code again and would read the new value, not the one the forward "
                    "pass used; call srcad.vjp again after changing it"
                )
        if callable(self.is_current) and not self.is_current():
            raise SrcadError(
                f"what the compile fixed outside the function (an int, a helper, a layout) "
                f"changed between the call and {what}; call srcad.vjp again after changing it"
            )


def _same(now: object, value: object, copy: object) -> bool:
    if isinstance(copy, np.ndarray):
        return (
            isinstance(now, np.ndarray)
            and now.shape == copy.shape
            and now.dtype == copy.dtype
            and bool(np.array_equal(now, copy, equal_nan=now.dtype.kind in "fc"))
        )
    return now is value or bool(now == value)
