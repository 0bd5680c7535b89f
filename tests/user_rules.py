"""Test helper: removing the rules tests register as a user would (``defvjp``,
``defjvp``, ``@custom_vjp``)."""

from __future__ import annotations

from srcad.ir.primitive import CUSTOM
from srcad.ir.prims import CALLABLES, PRIMS
from srcad.rules.registry import JVP_RULES, VJP_RULES


def remove_user_rules(keep: frozenset = frozenset(), callables: dict | None = None) -> None:
    """Removes the rules registered with ``defvjp``, ``defjvp`` or ``@custom_vjp`` whose
    names are not in ``keep`` (not the primitives srcad makes for ``odeint`` and
    ``fixed_point``, which it remembers); a function with a built-in rule a test replaced
    (``defvjp(special.erfcx, ...)``) gets its primitive of ``callables`` back."""
    for name in [name for name, prim in PRIMS.items() if prim.kind == CUSTOM and prim.user_rules]:
        if name not in keep:
            del PRIMS[name]
            VJP_RULES.pop(name, None)
            JVP_RULES.pop(name, None)
    for function in [f for f, name in CALLABLES.items() if name not in PRIMS]:
        del CALLABLES[function]
    for function, name in (callables or {}).items():
        if name in PRIMS and function not in CALLABLES:
            CALLABLES[function] = name
