"""Staging: what the function being lowered reads from outside itself (``srcad.ir.world``).

``World.stage(value, path)`` turns a value found outside the function into what the
lowering works with, and records what the compiled code relies on:

- a float or float array becomes a graph input, read by the generated code on every call
  (its type, shape and dtype are checked by the guard); a float the code needs when
  compiling (``range(int(T / dt))``, ``srcad.lower.fixed_floats``) is fixed instead;
- an int, bool, string, None, integer/boolean array or set of such values stays a
  compile-time value, checked for equality by the guard; a function, class, module (NumPy's
  too: ``xp = np`` may become another module) or Enum member is checked for identity;
- a tuple or list is staged item by item (its length fixed); a small dict key by key;
- any other object (a config object, ``self``, one of the user's classes, a random
  generator, a big dict) becomes an ``Outside`` handle: its attributes and items are
  staged when the code reads them.

Before:  ``return np.sum((X * w) ** 2)`` with ``X`` a global array → ``X`` a Const.
After:   ``X`` a graph input; generated code: ``X = main_globals["X"]``.

``outside_call`` builds the equation of a call that must run once per call of the
generated code, in order: random draws and effects (``print``, logging, warnings).
"""

from __future__ import annotations

import enum
import logging
import operator
import random
import sys
import time
import types
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard, overload

import numpy as np

from srcad.errors import SrcadError
from srcad.frontend import globals_name
from srcad.ir import AVal, Const, Eqn, Var, aval_of
from srcad.ir.builder import GraphBuilder, TraceError, Tracer
from srcad.ir.world import (
    GENERATORS,
    LOGGING_LEVELS,
    RUNTIME_CALLEES,
    ArgumentRoot,
    WorldPath,
    WorldRead,
)
from srcad.lower.outside_state import WHOLE, OutsideState
from srcad.pytree import fields_of

LIBRARY_MODULES = frozenset({"numpy", "scipy", "srcad", *sys.stdlib_module_names})
FIXED_VALUES = (bool, int, str, bytes, type(None), complex, type(Ellipsis), slice, range)
EAGER_DICT_SIZE = 64  # bigger dicts are read key by key, when the code reads a key
EFFECT_TYPE = AVal((), "object")

# Callables whose calls are effects, and how generated code spells them.
EFFECT_CALLABLES: dict[object, str] = {
    print: "print",
    warnings.warn: "warnings.warn",
    # NumPy's global generator, reseeded where the function reseeds it (random.seed is a
    # method of random's generator: a draw-like call, see outside_callee)
    np.random.seed: "np.random.seed",
    np.random.set_state: "np.random.set_state",
    **{
        getattr(logging, level): f"logging.{level}"
        for level in ("debug", "info", "warning", "error", "critical", "log")
    },
}
# Callables that read the clock: the generated code calls them, on every call.
CLOCK_CALLABLES: dict[object, str] = {
    clock: f"time.{clock.__name__}"
    for clock in (time.time, time.time_ns, time.perf_counter, time.monotonic, time.process_time)
}
# Questions about where arrays live: asked by the generated code, on every call.
MEMORY_QUERIES: dict[object, str] = {
    np.may_share_memory: "np.may_share_memory",
    np.shares_memory: "np.shares_memory",
}
# Objects whose methods draw random numbers or have effects: calls on them run every call.
RANDOM_OWNERS = GENERATORS
EFFECT_OWNERS = (*RANDOM_OWNERS, logging.Logger)


@dataclass(frozen=True, eq=False)
class Outside:
    """An object from outside the function, with where it lives; ``owner`` is the object a
    bound method was read from."""

    value: object
    path: WorldPath
    owner: Outside | None = None
    world: World | None = None  # where its truth is recorded (``__bool__``)

    def __bool__(self) -> bool:
        """The object's truth (``if cfg.scheduler:``). An object whose class does not
        compute it is true: its identity is fixed, so the guard sees it replaced (by None).
        A class that computes it (``__bool__``, ``__len__``) would compute it from what the
        object holds now, which the guard cannot check: refused."""
        kind = type(self.value)
        if hasattr(kind, "__bool__") or hasattr(kind, "__len__"):
            raise TraceError(
                f"'{self.path.text}' is a {kind.__name__} object, whose truth its class "
                "computes from what it holds, which srcad cannot check on every call; test "
                "'is not None', or one of its attributes",
                None,
            )
        if self.world is not None and not self.is_argument:
            self.world.fix(self.value, self.path)
        return True

    @property
    def is_argument(self) -> bool:
        """An argument of the function (a random generator): its class is fixed by the
        signature; nothing else about it can be."""
        return isinstance(self.path.root, ArgumentRoot)


def number_kind(value: object) -> str:
    """NumPy's kind letter of a number or an array's dtype ('' for other values)."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return np.dtype(dtype).kind
    if isinstance(value, (bool, int, float, complex)):
        return np.result_type(value).kind
    return ""


class World:
    """Per-compilation record of outside reads: graph inputs and facts for the guard."""

    def __init__(self, builder: GraphBuilder, fixed_floats: frozenset[tuple] = frozenset()):
        self.builder = builder
        # the keys of the paths whose floats the code needs when compiling (``range(int(T /
        # dt))``): fixed and compared by the guard, not read (``srcad.lower.fixed_floats``)
        self.fixed_floats = fixed_floats
        self.inputs: list[tuple[Var, WorldPath]] = []
        self.reads: dict[tuple, WorldRead] = {}
        self.containers: set[int] = set()  # ids of staged copies: writing into one is refused
        self.functions: list[types.FunctionType] = []  # whose code was lowered (``lowers``)
        # objects of the user's classes made in the function, by id (kept alive): their
        # attributes may be written, and snapshots of a branch or loop body take them
        self.made: dict[int, object] = {}
        # the containers and records of the arguments, by id: the lowering's own copies,
        # whose identity says nothing about the call's (``f(cfg, cfg)``)
        self.passed_in: dict[int, object] = {}
        # the classes each input may have on a call the guard admits (``value_classes``)
        self.input_classes: dict[Var, tuple[type, ...]] = {}
        self._staged: dict[tuple, object] = {}
        # what the generated code changes outside (appends, writes) and what the function
        # reads there, by identity: a change it also reads is refused
        self.state = OutsideState()
        self.argument_ids: frozenset[int] = frozenset()  # the ids of the arguments' Vars
        # arrays and objects made in the function that the generated code keeps outside
        # (appended, written), with the statement: the function may not change them later
        self.kept: list[tuple[object, SrcadError, tuple | None]] = []  # with its contents
        # the objects the generated code changes (lists, owners of attributes and items,
        # arrays changed in place) and where they live: never an argument's
        self.changed_objects: dict[int, tuple[object, WorldPath, str]] = {}  # and where
        # small dicts whose items the code writes: read key by key, as big ones are
        self.written_dicts: dict[int, dict] = {}
        # values an ``if`` on data joined from an int and a float (``0 if a < 0 else a*a``),
        # by id (kept alive): NumPy's np.vectorize types its result by the first element's
        self.int_or_float: dict[int, object] = {}
        # what the function wrote to an attribute or item outside, on its straight-line
        # path (``self.out = h``), by (id of the owner, "attr" or "item", name or key): a
        # later read of that place is the value written (``written_outside``)
        self.written: dict[tuple[int, str, object], object] = {}
        self.written_read_in_blocks: set[tuple] = set()  # of those, read in a branch or loop
        self.writes_outside = 0  # how many writes outside were lowered so far

    def written_outside(
        self, owner: object, step: tuple[str, object], value: object, refusal: SrcadError
    ) -> None:
        """The function wrote ``value`` to ``owner``'s ``step`` (``("attr", "out")``). Where
        every later statement runs after the write (a plain ``=`` outside branches and
        loops), later reads of the place read ``value``. Elsewhere (in a branch or a loop,
        a ``+=``) they read the place from outside, which the write changed (refused:
        ``check_changes_unread``); a value written before that a branch or a loop read is
        refused now (a loop's next pass would read this write)."""
        key = (id(owner), *step)
        self.writes_outside += 1
        if self.builder.is_at_top and value is not WRITTEN_IN_PLACE:
            if not isinstance(owner, types.ModuleType):  # a module's globals: by name too
                self.written[key] = value
            return
        if key in self.written_read_in_blocks:
            raise refusal
        self.written.pop(key, None)

    def _written_value(self, key: tuple) -> object:
        """What the function wrote to an outside place earlier (``written_outside``)."""
        if not self.builder.is_at_top:
            self.written_read_in_blocks.add(key)
        return self.written[key]

    def note_int_or_float(self, choices: list[object], result: object) -> None:
        """``result`` is one of ``choices`` as the data decide (an ``if``'s branches, the
        items of ``max``): noted where some are ints (or bools) and some floats."""
        kinds = {number_kind(choice) for choice in choices}
        if kinds & set("biu") and kinds & set("fc"):
            self.int_or_float[id(result)] = result

    def stage(self, value: object, path: WorldPath) -> object:
        """What the lowering uses for ``value`` read at ``path`` (the same on every read)."""
        key = path.key
        if key not in self._staged:
            self._staged[key] = self._stage_new(value, path)
        return self._staged[key]

    def fix(self, value: object, path: WorldPath, check: str = "identity") -> object:
        """Record that the compiled code relies on ``value`` being at ``path``."""
        if isinstance(path.root, ArgumentRoot):
            raise TraceError(
                f"'{path.text}' comes from an argument, a random generator: srcad calls its "
                "drawing methods on every call (rng.normal(...)) and can rely on nothing "
                "else about it",
                None,
            )
        expected = np.array(value, copy=True) if isinstance(value, np.ndarray) else value
        self.reads.setdefault(_read_key(path, check), WorldRead(path, check, expected))
        return value

    def changes(self, place: WorldPath, owner: object, key: object, refusal: SrcadError) -> None:
        """Record that the generated code changes ``place``: ``owner``'s ``key`` (``WHOLE``
        for a list appended to); ``refusal`` is raised by ``check_changes_unread`` if the
        function reads it too, by that path or any other."""
        changed_path = (
            place
            if key is WHOLE
            else WorldPath(place.root, place.root_name, place.steps[:-1], place.text)
        )
        where = f"'{place.text}' at {refusal.file}:{refusal.line}"
        self.changed_objects.setdefault(id(owner), (owner, changed_path, where))
        if key is WHOLE:
            self.state.changes_whole(owner, refusal)
        else:
            self.state.changes_part(owner, key, refusal)

    def check_changes_unread(self) -> None:
        """Refuse a place the generated code changes (a list appended to, an attribute or
        item written) that the function also reads, by any path, and an object it keeps
        outside that it changes afterwards: the read would happen before the function's
        first line, and not see the change."""
        self.state.check()
        for value, refusal, contents in self.kept:
            if contents is not None and not _same_items(contents, contents_of(value)):
                raise refusal

    def keep(self, value: object, refusal: SrcadError) -> None:
        """Record that the generated code keeps ``value`` (an array or an object the function
        made) outside; ``refusal`` is raised if the function changes it afterwards."""
        self.kept.append((value, refusal, contents_of(value)))

    def builtin(self, namespace: dict, name: str) -> None:
        """Record that ``name`` found a builtin (``abs``, ``sum``): the compiled code relies
        on the module's globals ``namespace`` not defining it (a later ``abs = ...`` at
        module level, or a ``from m import *``, would shadow it)."""
        path = WorldPath(namespace, globals_name(namespace), (("item", name),), name)
        self.reads.setdefault((*path.key, "absent"), WorldRead(path, "absent", True))

    def note_passed_in(self, tree: object) -> None:
        """Record the containers and records of an argument's tree (see ``passed_in``)."""
        pending = [tree]
        while pending:
            value = pending.pop()
            if isinstance(value, (list, tuple)):
                pending.extend(value)
            elif isinstance(value, dict):
                pending.extend(value.values())
            elif fields_of(value) is not None:
                pending.extend(getattr(value, name) for name in fields_of(value) or ())
            else:
                continue
            self.passed_in[id(value)] = value

    def is_passed_in(self, value: object) -> bool:
        """Whether ``value`` is a container or record of the arguments, or a copy of one
        staged from outside (``self.containers``)."""
        return self.passed_in.get(id(value)) is value or id(value) in self.containers

    def rely_on(self, function: object) -> None:
        """Code srcad generated, inlined here (``grad(grad(f))``, a transformation called in
        the function), relies on what its own compile fixed (a helper, an int, a layout):
        so does this compile, whose guard then checks it too."""
        for read in getattr(function, "srcad_world_reads", ()):
            self.reads.setdefault(read.path.key, read)
        for lowered in getattr(function, "srcad_lowered_functions", ()):
            self.lowers(lowered)

    def lowers(self, function: types.FunctionType) -> None:
        """Record that the compile lowered ``function``'s code: the guard checks that the
        function still runs that code (a reload, IPython's ``%autoreload``, swaps a
        function's ``__code__`` and keeps the function)."""
        if not any(function is seen for seen in self.functions):
            self.functions.append(function)

    def _stage_new(self, value: object, path: WorldPath) -> object:
        if len(path.steps) == 1 and not isinstance(path.root, ArgumentRoot):
            self.state.read_part(path.root, path.steps[0][1])  # a global, a closure cell
        if _is_staged_whole(value, self) or isinstance(value, (set, deque, np.ndarray)):
            self.state.read_whole(value)  # not a namespace or big dict: read key by key
        kind = type(value)
        if kind is float or isinstance(value, np.floating):
            if path.key in self.fixed_floats:
                return self.fix(value, path, "equal")
            return self._input(value, path)
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "fc" and path.key not in self.fixed_floats:
                return self._input(value, path)
            self.fix(value, path, "equal")
            expected = self.reads[_read_key(path, "equal")].expected
            return self.builder.tracer(Const(expected, path.name_hint))
        if isinstance(value, (FIXED_VALUES, np.generic)):
            return self.fix(value, path, "equal")
        if isinstance(value, (set, frozenset)) and all(isinstance(v, FIXED_VALUES) for v in value):
            return self.fix(type(value)(value), path, "equal")  # SKIPPED = {1, 3}: a copy
        if _is_staged_whole(value, self):
            return self._container(value, path)
        if isinstance(value, types.ModuleType) and _is_library(value):
            if _is_import_name(value, path):
                return value  # np of import numpy as np: checking it costs scalar code 7%
            return self.fix(value, path)  # xp = np, later xp = mynp: the module is checked
        if isinstance(value, type) and _is_library_name(value.__module__):
            return self.fix(value, path)  # np.float32, dict: used for what they are
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)):
            return self.fix(value, path)
        if isinstance(value, enum.Enum):  # MODE == Mode.FAST: compared as Python compares
            return self.fix(value, path)
        return Outside(value, path, world=self)  # objects, the user's classes (Cfg.scale)

    def _input(self, value: object, path: WorldPath) -> Tracer:
        aval = aval_of(value)
        if isinstance(value, np.floating):
            aval = AVal((), value.dtype.name)
        self.fix((type(value), aval.shape, aval.dtype), path, "layout")
        var = self.builder.new_var(path.name_hint, aval)
        self.inputs.append((var, path))
        self.input_classes[var] = (type(value),)  # the guard checks its class
        return self.builder.tracer(var)

    def _container(self, value: tuple | list | dict, path: WorldPath) -> object:
        """Tuples, lists and small dicts item by item; their structure is fixed."""
        if isinstance(value, dict):
            self.fix((dict, tuple(value)), path, "keys")
            staged: object = {
                k: self.stage(v, path.child("item", k, f"{path.text}[{k!r}]"))
                for k, v in value.items()
            }
        else:
            self.fix((type(value), len(value)), path, "length")
            children = [
                self.stage(v, path.child("item", i, f"{path.text}[{i}]"))
                for i, v in enumerate(value)
            ]
            staged = tuple(children) if isinstance(value, tuple) else children
        if not isinstance(staged, tuple):
            self.containers.add(id(staged))
        return staged

    def attribute(self, outside: Outside, name: str) -> object:
        """``obj.name`` of an outside object, staged; a bound method remembers its object."""
        path = outside.path.child("attr", name, f"{outside.path.text}.{name}")
        if (id(outside.value), "attr", name) in self.written:  # self.out = h; ... self.out
            return self._written_value((id(outside.value), "attr", name))
        self.state.read_part(outside.value, name)
        if name.startswith("__") or _is_computed_attribute(outside.value, name):
            self.state.read_whole(outside.value)  # obj.__dict__, a property: any attribute
        value = getattr(outside.value, name)
        if isinstance(value, types.MethodType):
            return Outside(value, path, owner=outside, world=self)
        if isinstance(value, types.BuiltinMethodType) and isinstance(outside.value, EFFECT_OWNERS):
            return Outside(value, path, owner=outside, world=self)
        return self.stage(value, path)

    def has_attribute(self, outside: Outside, name: str) -> bool:
        """``hasattr(obj, name)`` of an outside object: a fact the guard checks."""
        self.state.read_part(outside.value, name)
        found = hasattr(outside.value, name)
        path = outside.path.child("attr", name, f"{outside.path.text}.{name}")
        self.reads.setdefault((*path.key, "has"), WorldRead(path, "has", found))
        return found

    def item(self, outside: Outside, key: object) -> object:
        container: Any = outside.value  # any object: Python's TypeError if it has no items
        if _is_hashable(key) and (id(container), "item", key) in self.written:
            return self._written_value((id(container), "item", key))
        self.state.read_part(container, key)
        value = container[key]
        return self.stage(value, outside.path.child("item", key, f"{outside.path.text}[{key!r}]"))

    @overload
    def unwrap(self, value: list) -> list: ...

    @overload
    def unwrap(self, value: dict) -> dict: ...

    @overload
    def unwrap(self, value: object) -> object: ...

    def unwrap(self, value: object) -> object:
        """The object itself, for code that needs it (``isinstance``, a library call): its
        identity becomes a fixed fact."""
        if isinstance(value, Outside):
            return self.fix(value.value, value.path)
        if isinstance(value, (list, tuple)):
            items = [self.unwrap(v) for v in value]
            if all(map(operator.is_, items, value)):
                return value  # nothing outside in it: the container itself
            if hasattr(value, "_fields"):  # a NamedTuple takes its fields one by one
                return type(value)(*items)
            return type(value)(items)
        if isinstance(value, dict):
            return {k: self.unwrap(v) for k, v in value.items()}
        return value


def _is_computed_attribute(owner: object, name: str) -> bool:
    """Whether reading ``owner.name`` runs code of its class (a property, another
    descriptor), which may read any of its attributes."""
    found = getattr(type(owner), name, None)
    return hasattr(found, "__get__") and not isinstance(
        found, (types.FunctionType, types.MemberDescriptorType, staticmethod, classmethod)
    )


def contents_of(value: object) -> tuple | None:
    """What ``value`` holds, to compare by identity later: a list's items, a dict's items,
    an object's attributes; None for what the lowering never changes in place (arrays)."""
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(value.items())
    if hasattr(value, "__dict__") and not isinstance(value, (Tracer, np.ndarray)):
        return tuple(vars(value).items())
    return None


def _same_items(before: tuple, after: tuple | None) -> bool:
    if after is None or len(before) != len(after):
        return False
    return all(_same(a, b) for a, b in zip(before, after, strict=True))


def _same(a: object, b: object) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b) == 2:
        return a[0] == b[0] and a[1] is b[1]  # a (key, value) item
    return a is b


def _is_staged_by_item(value: object) -> TypeGuard[tuple | list | dict]:
    """Tuples, lists and small dicts (not subclasses): staged item by item."""
    if type(value) is dict:
        return _is_small_dict(value)
    return type(value) in (tuple, list)


def _is_staged_whole(value: object, world: World) -> TypeGuard[tuple | list | dict]:
    """Staged item by item, and not a dict whose items the code writes (``written_dicts``)."""
    return _is_staged_by_item(value) and id(value) not in world.written_dicts


def _is_small_dict(value: dict) -> bool:
    is_namespace = "__builtins__" in value or "__name__" in value
    simple_keys = all(type(k) in (str, int) for k in value)
    return simple_keys and not is_namespace and len(value) <= EAGER_DICT_SIZE


# the names modules are imported under, as everyone writes them (import numpy as np)
IMPORT_ALIASES = {"np": "numpy", "sp": "scipy"}


def _is_import_name(module: types.ModuleType, path: WorldPath) -> bool:
    """Whether ``path`` is a module global named as the module is imported (``np``,
    ``math``, ``special`` of ``from scipy import special``): a name no code rebinds to
    another module, left unchecked on every call."""
    if len(path.steps) != 1 or path.steps[0][0] != "item":
        return False
    name = str(path.steps[0][1])
    return name == module.__name__.rsplit(".", 1)[-1] or IMPORT_ALIASES.get(name) == module.__name__


def _is_library(module: types.ModuleType) -> bool:
    return _is_library_name(module.__name__)


def _is_library_name(module_name: str) -> bool:
    return str(module_name).split(".")[0] in LIBRARY_MODULES


# --- calls that run on every call -----------------------------------------------------------
def outside_callee(function: object) -> WorldPath | str | None:
    """For a call that must run in the generated code, how it spells its callee (a
    ``WorldPath``, or a module-qualified name); None for other calls."""
    if isinstance(function, Outside):
        owner = function.owner.value if function.owner is not None else None
        if isinstance(owner, EFFECT_OWNERS):
            return function.path
        return None
    if not is_hashable(function):
        return None
    if function in EFFECT_CALLABLES:
        return EFFECT_CALLABLES[function]
    if function in CLOCK_CALLABLES:  # t0 = time.perf_counter(): read on every call
        return CLOCK_CALLABLES[function]
    if function in MEMORY_QUERIES:  # np.may_share_memory(a, b): the call's arrays decide
        return MEMORY_QUERIES[function]
    if not isinstance(function, (types.MethodType, types.BuiltinMethodType)):
        return None
    if function.__self__ is np.random.mtrand._rand:
        return f"np.random.{function.__name__}"
    if _is_logger_method(function):  # logging.getLogger(__name__).info(...): by its name
        logger: logging.Logger = function.__self__  # type: ignore[assignment]
        named = "" if logger is logging.getLogger() else repr(logger.name)
        return f"logging.getLogger({named}).{function.__name__}"
    if function.__self__ is getattr(random, "_inst", None):
        return f"random.{function.__name__}"
    return None


def is_hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def is_effect_only(function: object) -> bool:
    """Whether the call's result is not a value (print, logging): nothing to evaluate."""
    if isinstance(function, Outside):
        return isinstance(function.owner.value if function.owner else None, logging.Logger)
    if _is_list_method(function):  # history.append(loss), see ``srcad.lower.outside_lists``
        return True
    if isinstance(function, str) and function in RUNTIME_CALLEES:
        return True  # self.calls += 1, see ``srcad.lower.outside_writes``
    return _is_logger_method(function) or is_hashable(function) and function in EFFECT_CALLABLES


def reports_a_line(function: object) -> bool:
    """Whether the call warns or logs a record: Python reports the line it was made at
    (``srcad.runtime.located``); not ``log.setLevel(...)``."""
    if function is warnings.warn:
        return True
    if isinstance(function, Outside):
        owner = function.owner.value if function.owner else None
        named = getattr(function.value, "__name__", "")
        return isinstance(owner, logging.Logger) and named in LOGGING_LEVELS
    is_logging = _is_logger_method(function) or (
        is_hashable(function) and EFFECT_CALLABLES.get(function, "").startswith("logging.")
    )
    return is_logging and getattr(function, "__name__", "") in LOGGING_LEVELS


def _is_list_method(function: object) -> bool:
    owner = getattr(function, "__self__", None)
    return isinstance(function, types.BuiltinMethodType) and type(owner) in (list, deque)


def _is_logger_method(function: object) -> bool:
    """A method of a logger the function got by name (``logging.getLogger(__name__)``): the
    logger the same name gives when the code runs."""
    owner = getattr(function, "__self__", None)
    return (
        isinstance(function, types.MethodType)
        and isinstance(owner, logging.Logger)
        and (owner is logging.getLogger() or logging.getLogger(owner.name) is owner)
    )


def outside_call(
    builder: GraphBuilder,
    function: object,
    callee: object,
    args: list,
    kwargs: dict,
    once: bool = False,
    at: tuple | None = None,
) -> object:
    """The equation of a call run by the generated code on every call; returns its result
    as a tracer (None for effects). ``once``: not in the later passes of a transformation
    over one call (``jacfwd``'s), whose output ``silenced()`` cannot catch. ``at``: the
    user's line a warning or a log record names (file, line, function, module)."""
    inputs: list = []
    if once:  # history.append(loss): the value the plain function appends, a float a float
        args = [_as_python_number(builder, value) for value in args]
    arguments = tuple(_argument(builder, value, inputs) for value in args)
    keywords = tuple((name, _argument(builder, value, inputs)) for name, value in kwargs.items())
    if once or is_effect_only(function):  # once: history.append(v) of any object
        aval = EFFECT_TYPE
    else:
        aval = _result_aval(function, args, kwargs)
    out = builder.new_var("", aval)
    params: tuple[tuple[str, object], ...] = (
        ("arguments", arguments),
        ("callee", callee),
        ("keywords", keywords),
    )
    params += (("once", True),) if once else ()
    params += (("at_line", at),) if at is not None else ()
    builder.emit(Eqn("outside_call", tuple(inputs), (out,), params, builder.loc, builder.role))
    return None if aval == EFFECT_TYPE else builder.tracer(out)


def _argument(builder: GraphBuilder, value: object, inputs: list) -> object:
    """An argument as the equation records it: ``("input", k)``, ``("value", literal)``, or
    ``("place", path)`` for an object outside the function, which the code reads there."""
    if isinstance(value, Outside):  # print(CFG): read through its path, as it is then
        return ("place", value.path)
    if isinstance(value, Parameter):  # the generated function's own parameter
        return ("parameter", value.name)
    if _is_literal(value):
        return ("value", value)
    if type(value) in (list, tuple) and _holds_tracer(value):  # print([x, y])
        items = tuple(
            _argument(builder, _as_python_number(builder, item), inputs)
            for item in value  # type: ignore[attr-defined]
        )
        return (type(value).__name__, items)
    if type(value) is dict and _holds_tracer(value) and all(map(_is_literal, value)):
        return (
            "dict",
            tuple(
                (k, _argument(builder, _as_python_number(builder, v), inputs))
                for k, v in value.items()
            ),
        )
    fields = fields_of(value)
    if fields is not None and _holds_tracer(value):  # print(params) of a NamedTuple: made then
        items = tuple((name, _argument(builder, getattr(value, name), inputs)) for name in fields)
        return ("record", (type(value), items))
    if isinstance(value, Tracer):
        atom = value.atom
    else:
        refusal = _refusal_of(value)
        if refusal is not None:  # print(lu) of lu_factor's lu: it stands for a matrix
            raise TraceError(refusal, builder.loc)
        atom = Const(value)
    inputs.append(atom)
    return ("input", len(inputs) - 1)


def _refusal_of(value: object) -> str | None:
    """What a value srcad stands in for says when used where it cannot be (``LuFactors``)."""
    try:
        refusal = getattr(value, "srcad_refusal", None)
    except Exception:  # noqa: BLE001 - an object whose attributes raise: no such thing
        return None
    return refusal if isinstance(refusal, str) else None


def _as_python_number(builder: GraphBuilder, value: object) -> object:
    """A value that is a Python float in the plain function (``math.sqrt(v)``, ``2.0 * s``
    of floats) as one: NumPy's code computes an np.float64, whose repr in a printed list,
    and whose type in an appended history, differ (``[np.float64(0.5)]``)."""
    if not isinstance(value, Tracer):
        return value
    aval = value.aval
    if aval.is_weak and aval.shape == () and aval.dtype == "float64":
        return builder.apply("python_float", (value,))
    return value


@dataclass(frozen=True)
class Parameter:
    """A parameter of the generated function, passed by its name to an outside call."""

    name: str


def _holds_tracer(value: object) -> bool:
    """Whether a list, tuple or dict holds a computed value (or a value the generated code
    reads itself: an outside object, a parameter), at any depth."""
    if isinstance(value, (Tracer, Outside, Parameter)):
        return True
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return any(map(_holds_tracer, value))
    fields = fields_of(value) if not isinstance(value, (dict, list)) else None
    if fields is not None:
        return any(_holds_tracer(getattr(value, name, None)) for name in fields)
    return (
        isinstance(value, dict) and type(value) is dict and any(map(_holds_tracer, value.values()))
    )


def _is_literal(value: object) -> bool:
    if isinstance(value, (tuple, list)):
        return all(_is_literal(v) for v in value)
    return isinstance(value, (bool, int, float, str, type(None))) and not isinstance(
        value, np.generic
    )


def _result_aval(function: object, args: list, kwargs: dict) -> AVal:
    """The shape and dtype of a random draw, found by drawing once with the generator's
    state saved and restored, so compiling does not change the numbers a program sees."""
    target = function.value if isinstance(function, Outside) else function
    owner = getattr(target, "__self__", None)
    # choice(a, size, replace, p): probabilities that sum to 1 (uniform ones)
    is_choice = getattr(target, "__name__", "") == "choice"
    concrete = [_stand_in(a, is_choice and k == 3) for k, a in enumerate(args)]
    keywords = {k: _stand_in(v, is_choice and k == "p") for k, v in kwargs.items()}
    assert callable(target)  # outside_callee admits callables only
    restore_state = _state_restorer(owner)
    try:
        result = target(*concrete, **keywords)
    except Exception as error:  # noqa: BLE001 - the user's call, reported at their line
        raise TraceError(f"{getattr(target, '__name__', 'call')}(...): {error}", None) from None
    finally:
        restore_state()
    return aval_of(result) if not isinstance(result, np.floating) else AVal((), result.dtype.name)


def _stand_in(value: object, is_probabilities: bool = False) -> object:
    if isinstance(value, (tuple, list)):  # np.lexsort((k1, k2)): the keys in a tuple
        return type(value)(_stand_in(item) for item in value)
    if isinstance(value, Tracer):  # a value in range for any draw's parameter
        aval = value.aval
        fill = 0.5 if np.dtype(aval.dtype).kind in "fc" else 1
        if is_probabilities and aval.shape:
            fill = 1.0 / aval.shape[-1]
        return np.full(aval.shape, fill, dtype=aval.dtype)[()]
    if isinstance(value, Outside):
        return value.value
    return value


def _state_restorer(owner: object) -> Callable[[], None]:
    """A function that puts back the random state ``owner`` has now (nothing to do for an
    object that is not a random generator)."""
    if isinstance(owner, np.random.Generator):
        bit_generator = owner.bit_generator
        generator_state = bit_generator.state

        def restore_generator() -> None:
            bit_generator.state = generator_state

        return restore_generator
    if isinstance(owner, np.random.RandomState):
        legacy_state = owner.get_state()
        return lambda: owner.set_state(legacy_state)
    if isinstance(owner, random.Random):
        random_state = owner.getstate()
        return lambda: owner.setstate(random_state)
    return lambda: None


def _read_key(path: WorldPath, check: str) -> tuple:
    """Where ``World.reads`` keeps a fact about ``path``: one per kind of check, so that a
    value fixed by value (``P.coef`` that ``P.deriv()`` used when compiling) is checked
    even where its layout was recorded first (``P(z)`` read ``P.coef`` on every call)."""
    return path.key if check == "identity" else (*path.key, check)


WRITTEN_IN_PLACE = object()  # the value of a write that updates (``self.total += x``)


def _is_hashable(key: object) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True
