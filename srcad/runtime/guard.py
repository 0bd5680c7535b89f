"""Guards: generated checks that a call's arguments are laid out as an earlier call's were.

A compiled gradient depends only on the layout of its arguments: their containers, the type,
dtype and shape of each array or float, and the value of each compile-time constant (ints,
strings, None). A training loop calls it again and again with one layout, so after a call
``make_guard`` writes a small Python function that checks exactly that layout, condition by
condition, which is far cheaper than working out the call's signature again:

    def guard(args):
        return (
            len(args) == 2
            and type(v0 := args[0]) is list
            and len(v0) == 1
            and type(v1 := v0[0]) is ndarray
            and v1.shape == (3, 4)
            and (v1.dtype is dtype_0 or v1.dtype == dtype_0)
            and type(args[1]) is float
        )

Every container and array is read once, into a local; a dtype is compared by identity
first (NumPy hands out one object per built-in dtype), by value when that fails.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class _Unguardable(Exception):
    """A value whose layout no cheap condition checks (the call takes the full path)."""


def make_guard(args: tuple) -> Callable[[tuple], bool] | None:
    """A function telling whether a tuple of arguments is laid out like ``args``, or None
    when some argument cannot be checked that way."""
    conditions = [f"len(args) == {len(args)}"]
    constants: dict[str, object] = {"ndarray": np.ndarray}
    try:
        for i, value in enumerate(args):
            _add_conditions(f"args[{i}]", value, conditions, constants, [0])
    except _Unguardable:
        return None
    source = "def guard(args):\n    return (\n        " + "\n        and ".join(conditions)
    namespace = dict(constants)
    exec(compile(source + "\n    )\n", "<srcad guard>", "exec"), namespace)  # noqa: S102
    return namespace["guard"]


def _add_conditions(
    path: str, value: object, conditions: list, constants: dict, count: list
) -> None:
    """Conditions on the value at ``path``; containers and arrays are bound to locals
    ``v0``, ``v1``, ... (``count`` numbers them) so that each is looked up once."""
    kind = type(value)
    if kind in (np.ndarray, list, tuple, dict):
        local = f"v{count[0]}"
        count[0] += 1
        conditions.append(f"type({local} := {path}) is {kind.__name__}")
        path = local
    if kind is np.ndarray:
        dtype = _constant(constants, "dtype", value.dtype)
        conditions.append(f"{path}.shape == {value.shape!r}")
        conditions.append(f"({path}.dtype is {dtype} or {path}.dtype == {dtype})")
    elif kind in (list, tuple):
        conditions.append(f"len({path}) == {len(value)}")
        for i, item in enumerate(value):
            _add_conditions(f"{path}[{i}]", item, conditions, constants, count)
    elif kind is dict:
        if not all(type(key) in (str, int) for key in value):
            raise _Unguardable
        conditions.append(f"{path}.keys() == {_constant(constants, 'keys', frozenset(value))}")
        for key, item in value.items():
            _add_conditions(f"{path}[{key!r}]", item, conditions, constants, count)
    elif isinstance(value, (float, np.generic)) and kind is not bool:
        conditions.append(f"type({path}) is {_constant(constants, 'type', kind)}")
    elif value is None or kind is bool:
        conditions.append(f"{path} is {value!r}")
    elif kind in (int, str):
        conditions += [f"type({path}) is {kind.__name__}", f"{path} == {value!r}"]
    else:
        raise _Unguardable


def _constant(constants: dict, prefix: str, value: object) -> str:
    """The name under which the guard reads ``value``."""
    name = f"{prefix}_{sum(key.startswith(prefix) for key in constants)}"
    constants[name] = value
    return name
