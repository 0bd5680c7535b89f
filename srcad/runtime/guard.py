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

from srcad.arguments import IDENTITY_CONSTANTS, RANDOM_GENERATORS
from srcad.pytree import fields_of, has_open_attributes


class _Unguardable(Exception):
    """A value whose layout no cheap condition checks (the call takes the full path)."""


def make_guard(args: tuple) -> Callable[[tuple], bool] | None:
    """A function telling whether a tuple of arguments is laid out like ``args``, or None
    when some argument cannot be checked that way."""
    found = layout_conditions(args, [f"args[{i}]" for i in range(len(args))])
    if found is None:
        return None
    conditions, constants = found
    conditions.insert(0, f"len(args) == {len(args)}")
    source = "def guard(args):\n    return (\n        " + "\n        and ".join(conditions)
    namespace = dict(constants)
    exec(compile(source + "\n    )\n", "<srcad guard>", "exec"), namespace)  # noqa: S102
    return namespace["guard"]


def layout_conditions(args: tuple, spelled: list[str]) -> tuple[list[str], dict] | None:
    """The conditions that arguments read as ``spelled`` (``args[0]``, or a parameter's
    name) are laid out like ``args``, and the constants they read; None when some argument
    cannot be checked that way. Each argument gets one condition at least, which fails for
    anything that is not an argument at all (``api.backend``'s MISSING)."""
    conditions: list[str] = []
    constants: dict[str, object] = {"ndarray": np.ndarray}
    count = [0]
    try:
        for path, value in zip(spelled, args, strict=True):
            _add_conditions(path, value, conditions, constants, count)
    except _Unguardable:
        return None
    return conditions, constants


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
        # in their order: a loop over the dict's values goes through them in it
        conditions.append(f"tuple({path}) == {_constant(constants, 'keys', tuple(value))}")
        for key, item in value.items():
            _add_conditions(f"{path}[{key!r}]", item, conditions, constants, count)
    elif isinstance(value, np.character):  # np.str_: text, compiled in as a str is
        text = _constant(constants, "text", value)
        conditions += [f"type({path}) is {_constant(constants, 'type', kind)}", f"{path} == {text}"]
    elif isinstance(value, (float, np.generic)) and kind is not bool:
        conditions.append(f"type({path}) is {_constant(constants, 'type', kind)}")
    elif value is None or kind is bool:
        conditions.append(f"{path} is {value!r}")
    elif fields_of(value) is not None:  # a NamedTuple, a dataclass or a namespace
        conditions.append(f"type({path}) is {_constant(constants, 'type', kind)}")
        if has_open_attributes(value):  # attributes come and go: exactly these
            keys = _constant(constants, "keys", tuple(vars(value)))
            conditions.append(f"tuple(vars({path})) == {keys}")
        for field in fields_of(value) or ():
            _add_conditions(f"{path}.{field}", getattr(value, field), conditions, constants, count)
    elif kind in (int, str):
        conditions += [f"type({path}) is {kind.__name__}", f"{path} == {value!r}"]
    elif isinstance(value, RANDOM_GENERATORS):  # rng: of the class compiled for
        conditions.append(f"type({path}) is {_constant(constants, 'type', kind)}")
    elif isinstance(value, IDENTITY_CONSTANTS):  # activation=np.tanh: the same function
        conditions.append(f"{path} is {_constant(constants, 'function', value)}")
    else:
        raise _Unguardable


def _constant(constants: dict, prefix: str, value: object) -> str:
    """The name under which the guard reads ``value``."""
    name = f"{prefix}_{sum(key.startswith(prefix) for key in constants)}"
    constants[name] = value
    return name


# --- the world outside the function ---------------------------------------------------------
def always_current() -> bool:
    """The check of a compile that relies on nothing outside its arguments."""
    return True


def make_world_guard(reads: tuple, functions: tuple = ()) -> Callable[[], bool]:
    """A function telling whether every fact a compile fixed about the world outside the
    function (``srcad.ir.world.WorldRead``) still holds: the same helper functions, ints
    and strings, and globals of the same type, shape and dtype; and whether each of
    ``functions`` (those whose code the compile lowered) still runs the code it ran then (a
    reload swaps ``__code__``). Reading a path that no longer exists counts as a change.

        def is_current():
            try:
                return (
                    type(w0 := main_globals["X"]) is type_0
                    and w0.shape == (3,)
                    and (w0.dtype is dtype_0 or w0.dtype == dtype_0)
                    and main_globals["act"] is expected_1
                    and function_0.__code__ is code_0
                )
            except Exception:
                return False
    """
    if not reads and not functions:
        return always_current
    constants: dict[str, object] = {
        "ndarray": np.ndarray,
        "array_equal": np.array_equal,
        "same_floats": same_floats,
    }
    roots: dict[int, str] = {}
    conditions: list[str] = []
    for k, read in enumerate(reads):
        root = roots.setdefault(id(read.path.root), f"root_{len(roots)}")
        constants[root] = read.path.root
        expected = f"expected_{k}"
        constants[expected] = read.expected
        path = read.path
        if read.check in ("has", "absent"):  # hasattr(cfg, "decay"): the object before
            path = type(path)(path.root, path.root_name, path.steps[:-1], path.text)
        spelled = path.expression(root, lambda key: _constant(constants, "key", key))
        conditions += _read_conditions(f"w{k}", spelled, read, expected)
    for k, function in enumerate(functions):
        constants[f"function_{k}"], constants[f"code_{k}"] = function, function.__code__
        conditions.append(f"function_{k}.__code__ is code_{k}")
        conditions += _default_conditions(function, f"function_{k}", "", constants)
    source = (
        "def is_current():\n    try:\n        return (\n            "
        + "\n            and ".join(conditions)
        + "\n        )\n    except Exception:\n        return False\n"
    )
    namespace = dict(constants)
    exec(compile(source, "<srcad world guard>", "exec"), namespace)  # noqa: S102
    is_current = namespace["is_current"]
    is_current.inline = inline_conditions(reads, functions)  # a caller may inline these
    return is_current


def inline_conditions(reads: tuple, functions: tuple) -> tuple[list[str], dict] | None:
    """The world guard's conditions as ones a caller can write into its own ``if`` (each
    one a lookup, none of which can raise), and the constants they read; None where some
    read needs more (a layout, a path of several steps): the caller calls the guard.

        world_root_0.get('np') is world_expected_0   # which module, function, class
        'abs' not in world_root_0                    # a builtin no global shadows
        world_function_0.__code__ is world_code_0    # the code that was lowered
    """
    conditions: list[str] = []
    constants: dict[str, object] = {}
    roots: dict[int, str] = {}
    for k, read in enumerate(reads):
        root, steps = read.path.root, read.path.steps
        is_lookup = type(root) is dict and len(steps) == 1 and steps[0][0] == "item"
        if not is_lookup or type(steps[0][1]) is not str or read.check not in IDENTITY_OR_ABSENT:
            return None
        name = roots.setdefault(id(root), f"world_root_{len(roots)}")
        constants[name] = root
        if read.check == "absent":
            conditions.append(f"{steps[0][1]!r} not in {name}")
        else:
            constants[f"world_expected_{k}"] = read.expected
            conditions.append(f"{name}.get({steps[0][1]!r}) is world_expected_{k}")
    for k, function in enumerate(functions):
        constants[f"world_function_{k}"], constants[f"world_code_{k}"] = function, function.__code__
        conditions.append(f"world_function_{k}.__code__ is world_code_{k}")
        conditions += _default_conditions(function, f"world_function_{k}", "world_", constants)
    return conditions, constants


def _default_conditions(function, name: str, prefix: str, constants: dict) -> list[str]:
    """That ``function`` has the default values it had (a compile that called it with one
    left out, through a transformation inside the code, holds the value: a new tuple of
    defaults compiles again; a default array changed in place is read as it is)."""
    defaults, keyword_defaults = function.__defaults__, function.__kwdefaults__ or {}
    if defaults is None and not keyword_defaults:
        return []  # no call the compile lowered left an argument out: none to check
    constants[f"{prefix}defaults_{name}"] = defaults
    conditions = [f"{name}.__defaults__ is {prefix}defaults_{name}"]
    if not keyword_defaults:  # (a dict, which may change in place)
        return [*conditions, f"not {name}.__kwdefaults__"]
    # (spelled so that no condition can raise: the lean __call__ writes them into its if)
    conditions.append(f"len({name}.__kwdefaults__ or ()) == {len(keyword_defaults)}")
    for k, (key, value) in enumerate(keyword_defaults.items()):
        constants[f"{prefix}kwdefault_{k}_{name}"] = value
        read = f"({name}.__kwdefaults__ or {{}}).get({key!r})"
        conditions.append(f"{read} is {prefix}kwdefault_{k}_{name}")
    return conditions


IDENTITY_OR_ABSENT = ("identity", "absent")


def _read_conditions(local: str, access: str, read, expected: str) -> list[str]:
    """Conditions that the value at ``access`` is still what the compile relied on."""
    value = read.expected
    if read.check == "identity":
        return [f"{access} is {expected}"]
    if read.check == "layout":
        kind, shape, _ = value
        conditions = [f"type({local} := {access}) is {expected}[0]"]
        if kind is np.ndarray:
            conditions += [f"{local}.shape == {shape!r}", f"{local}.dtype == {expected}[2]"]
        return conditions
    if read.check == "has":
        return [f"hasattr({access}, {read.path.steps[-1][1]!r}) is {value!r}"]
    if read.check == "absent":
        return [f"{read.path.steps[-1][1]!r} not in {access}"]
    if read.check == "length":
        return [f"type({local} := {access}) is {expected}[0]", f"len({local}) == {expected}[1]"]
    if read.check == "keys":
        return [f"type({local} := {access}) is {expected}[0]", f"tuple({local}) == {expected}[1]"]
    if isinstance(value, np.ndarray):
        same = "same_floats" if value.dtype.kind in "fc" else "array_equal"  # a fixed float array
        return [
            f"type({local} := {access}) is ndarray",
            f"{local}.dtype == {expected}.dtype",
            f"{same}({local}, {expected})",
        ]
    if value is None or isinstance(value, bool):
        return [f"{access} is {value!r}"]
    return [f"type({local} := {access}) is type({expected})", f"{local} == {expected}"]


def same_floats(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two float arrays hold the same numbers, NaN as NaN and -0.0 apart from 0.0
    (``np.signbit(Y)`` or ``1 / Y < 0`` of a fixed array tells them apart)."""
    if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
        return False
    return a.dtype.kind == "c" or bool(np.array_equal(np.signbit(a), np.signbit(b)))
