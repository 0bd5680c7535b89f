"""Runtime: compiled functions on disk, so that a later process reuses a compile.

Comes in: a compile's key (``entry_key``) and, after compiling, what it produced: the
generated source, the constants the module expects, the facts about the world outside the
function it relied on (``srcad.ir.world.WorldRead``), the output's structure and types.
Goes out: the same, in a later process, without lowering or differentiating again
(``load_entry``), or None.

An entry is a ``.json`` file in the generated-code directory named ``<stem>_<key>`` (written
last), with a ``.npz`` of the arrays the module uses next to it; the generated module itself
is the ``.py`` file that loading wrote (named after its content, ``<stem>_<sha256>.py``). The key is the sha256 of everything that decides the generated code before the world
is looked at: the format, srcad's version and the digest of its code, the NumPy, SciPy and
Python versions, the working directory (the header names the file relative to it), the
function's fingerprint (module, qualified name, file, line, source text), the transformation
and its options, and the argument signature.

What the compile read from outside the function is in the ``.json`` as descriptions that
hold in another process: each world read's root (the function's globals, a closure cell by
name, a helper's globals, cell or defaults reached through another read, a module by name),
its steps, its check and the expected value (an int, a string, a layout; a fingerprint for a
helper function). ``load_entry`` rebuilds every read against this process's objects and runs
the world guard on them; the entry is used only if every read is found and holds. A compile
whose reads or constants cannot be described is not stored (``SRCAD_CACHE_LOG=1`` says why),
so an entry is either reusable exactly or not there: never a stale gradient.

``SRCAD_CACHE_REUSE=0`` turns reuse across processes off (files are still written).
"""

from __future__ import annotations

import dis
import functools
import importlib
import io
import json
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srcad.ir.world import WorldPath, WorldRead
from srcad.pytree import TreeDef
from srcad.runtime.describe import (
    Undescribable,
    decode,
    digest,
    encode,
    fingerprint,
    resolve,
    text_digest,
)
from srcad.runtime.guard import make_world_guard
from srcad.runtime.loader import exec_module, module_path
from srcad.runtime.store import generated_dir, read_file, touch, write_file

FORMAT = 1
PACKAGE_DIR = Path(__file__).resolve().parent.parent
# srcad's modules that sit on top of the public API (STYLE.md §1) and cannot change what a
# compile generates: editing them does not invalidate the cache.
OUTSIDE_PIPELINE = (
    "testing/",
    "train/",
    "cli/",
    "tools/",
    "api/checking.py",
    "api/inspect.py",
)


@dataclass(frozen=True)
class DiskEntry:
    """A compile loaded from disk: the function and what the caller needs to know of it."""

    fn: Callable
    source: str
    out_tree: TreeDef
    out_avals: tuple
    is_current: Callable[[], bool]
    path: Path
    world_reads: tuple[WorldRead, ...] = ()  # what the compile fixed, rebuilt here
    draws: bool | None = None  # whether the code draws random numbers (None: not recorded)
    functions: tuple[types.FunctionType, ...] = ()  # whose code the compile lowered


class _Stale(Exception):
    """An entry that does not hold in this process (a helper changed, a path is gone)."""


def log(message: str) -> None:
    """With ``SRCAD_CACHE_LOG=1``, say what the disk cache did (on stderr)."""
    if os.environ.get("SRCAD_CACHE_LOG", "") not in ("", "0"):
        print(f"srcad cache: {message}", file=sys.stderr)


# --- the key --------------------------------------------------------------------------------
def entry_key(fun: Callable, key: tuple) -> str | None:
    """The disk key of compiling ``fun`` under the in-memory ``key`` (the transformation, its
    options and the argument signature), or None when such a compile is not shared between
    processes (not a plain function, no source, reuse turned off)."""
    if os.environ.get("SRCAD_CACHE_REUSE", "") == "0" or type(fun) is not types.FunctionType:
        return None
    try:
        function = fingerprint(fun)
        if function[0] != "function":
            return None
        return digest([FORMAT, environment(), os.getcwd(), function, key])
    except Undescribable as why:
        log(f"not shared: {fun.__qualname__}: {why}")
    except Exception as error:  # noqa: BLE001 - the disk cache must never fail a compile
        _unexpected(error, fun)
    return None


def _unexpected(error: Exception, fun: Callable) -> None:
    """A bug in the disk cache: the compile goes on without it (``SRCAD_DEBUG=1`` raises)."""
    if os.environ.get("SRCAD_DEBUG", "") not in ("", "0"):
        raise error
    log(f"skipped for {fun.__qualname__}: {type(error).__name__}: {error}")


@functools.cache
def environment() -> list:
    """What the generated code depends on besides the user's code: the digest of srcad's
    own source (which also covers its version: a development checkout changes without a new
    version), the NumPy, SciPy and Python versions, and Python's optimization level."""
    code = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        name = path.relative_to(PACKAGE_DIR).as_posix()
        if not name.startswith(OUTSIDE_PIPELINE):
            code.append(f"{name}:{text_digest(path.read_bytes())}")
    try:
        import scipy

        scipy_version = scipy.__version__
    except ImportError:
        scipy_version = None
    return [
        text_digest("\n".join(code)),
        np.__version__,
        scipy_version,
        list(sys.version_info[:3]),
        sys.implementation.name,
        sys.flags.optimize,  # python -O strips asserts: so does the generated code
    ]


def _entry_file(stem: str, key: str, suffix: str) -> Path:
    return generated_dir() / f"{stem}_{key[:24]}{suffix}"


# --- writing --------------------------------------------------------------------------------
def save_entry(
    key: str,
    stem: str,
    fun: Callable,
    function_name: str,
    source: str,
    constants: dict,
    reads: tuple[WorldRead, ...],
    out_tree: TreeDef,
    out_avals: tuple,
    draws: bool | None = None,
) -> Path | None:
    """Write the entry of a compile whose module was loaded from ``module_path(source,
    stem)``; returns the entry's path, or None when the compile cannot be described for
    another process (nothing is written then)."""
    module = module_path(source, stem)
    if not module.exists():
        return None  # the directory cannot be written
    arrays: dict = {}
    depends = _process_dependent(fun, reads)
    if depends is not None:
        log(f"not stored: {fun.__qualname__}: {depends}")
        return None
    try:
        entry = {
            "format": FORMAT,
            "key": key,
            "module": module.name,
            "function": function_name,
            "compiled": f"{fun.__module__}.{fun.__qualname__} ({fun.__code__.co_filename})",
            "source_sha256": text_digest(source),
            "out_tree": encode(out_tree),
            "out_avals": encode(tuple(out_avals)),
            "draws": draws,
            "reads": [_describe_read(read, fun, reads, arrays) for read in reads],
            "names": describe_names(fun, reads),
            "constants": {
                name: _describe_constant(value, fun, reads, arrays)
                for name, value in constants.items()
            },
            "arrays": sorted(arrays),
        }
    except Undescribable as why:
        log(f"not stored: {fun.__qualname__}: {why}")
        return None
    except Exception as error:  # noqa: BLE001 - the disk cache must never fail a compile
        _unexpected(error, fun)
        return None
    if arrays and not write_file(_entry_file(stem, key, ".npz"), _npz(arrays), trim=False):
        return None
    path = _entry_file(stem, key, ".json")
    if not write_file(path, _json(entry)):
        return None
    log(f"stored {path.name}")
    return path


def _json(entry: dict) -> str:
    """One line per field and per read: readable with ``cat``, and still plain JSON."""
    lines = []
    for name, value in entry.items():
        if name == "reads" and value:
            items = ",\n  ".join(json.dumps(read) for read in value)
            lines.append(f' "reads": [\n  {items}\n ]')
        else:
            lines.append(f" {json.dumps(name)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _describe_read(read: WorldRead, fun: Callable, reads: tuple, arrays: dict) -> dict:
    path = read.path
    if read.check == "identity":
        expected = ["fingerprint", fingerprint(read.expected)]
    else:
        expected = ["value", encode(read.expected, arrays)]
    return {
        "root": describe_root(path.root, fun, reads),
        "root_name": path.root_name,
        "steps": encode(path.steps),
        "text": path.text,
        "check": read.check,
        "expected": expected,
    }


def _describe_constant(value: object, fun: Callable, reads: tuple, arrays: dict) -> list:
    if isinstance(value, types.FunctionType) and value.__module__.startswith("srcad."):
        if "<locals>" in value.__qualname__:  # odeint's and fixed_point's solvers
            raise Undescribable(f"{value.__name__} is a function srcad made in this process")
        return ["helper", [value.__module__, value.__qualname__]]  # once_per_call, record
    if isinstance(value, (dict, types.CellType, types.FunctionType)):
        return ["root", describe_root(value, fun, reads)]
    if isinstance(value, types.ModuleType):
        return ["object", fingerprint(value)]
    return ["value", encode(value, arrays)]


def describe_root(root: object, fun: Callable, reads: tuple) -> list:
    """Where ``root`` (the object a world path starts from) is found in another process:
    ``["main"]`` (the function), ``["read", k]`` (the function that read ``k`` found),
    ``["globals", owner]``, ``["cell", owner, name]``, ``["module", name]``."""
    owners = _lowered_functions(fun, reads)
    for description, owner in owners:
        if root is owner:
            return description
    for description, owner in owners:
        if root is owner.__globals__:
            return ["globals", description]
        for name, cell in zip(owner.__code__.co_freevars, owner.__closure__ or (), strict=True):
            if root is cell:
                return ["cell", description, name]
    module = sys.modules.get(root.get("__name__", "")) if isinstance(root, dict) else None
    if module is not None and vars(module) is root:
        return ["module", module.__name__]
    raise Undescribable(f"values are read from a {type(root).__name__} found only here")


def _lowered_functions(fun: Callable, reads: tuple) -> list[tuple[list, types.FunctionType]]:
    """The functions whose source the compile lowered (the function and the helpers it
    found by identity), each with its description for ``rebuild_root``."""
    owners: list[tuple[list, types.FunctionType]] = [(["main"], fun)]
    for k, read in enumerate(reads):
        if read.check == "identity" and isinstance(read.expected, types.FunctionType):
            owners.append((["read", k], read.expected))
    return owners


def describe_names(fun: Callable, reads: tuple) -> list:
    """How the global names in the lowered functions' code resolved, where no world read
    records it: a name bound to a module (``np``: libraries are not checked on every call)
    and a name that is not a global (a builtin, or unused). A later process must find the
    same, or a module-level edit (``import jax.numpy as np``, a new global ``abs``) would
    go unnoticed."""
    facts = []
    for description, owner in _lowered_functions(fun, reads):
        for name in sorted(_code_names(owner.__code__)):
            value = owner.__globals__.get(name, _ABSENT)
            if value is _ABSENT:
                facts.append([description, name, None])
            elif isinstance(value, types.ModuleType):
                facts.append([description, name, value.__name__])
    return facts


_ABSENT = object()


# Calls whose results differ from process to process (Python salts str hashes per process)
PER_PROCESS_CALLS = frozenset({"hash", "set", "frozenset", "getpid", "id"})
SET_OPCODES = frozenset({"BUILD_SET", "SET_ADD", "SET_UPDATE"})


def _process_dependent(fun: Callable, reads: tuple) -> str | None:
    """Why what the compile computed from the lowered functions' code may differ in another
    process (the order of a set of strings, ``hash("layer1")``, ``os.getpid()``), or None."""
    for _, owner in _lowered_functions(fun, reads):
        for code in _codes(owner.__code__):
            called = PER_PROCESS_CALLS & set(code.co_names)
            if called:
                return f"it calls {sorted(called)[0]}, which differs from process to process"
            if any(isinstance(c, frozenset) for c in code.co_consts) or any(
                i.opname in SET_OPCODES for i in dis.get_instructions(code)
            ):
                return "it makes a set, whose order differs from process to process"
    return None


def _codes(code: types.CodeType) -> list[types.CodeType]:
    """``code`` and the code of the functions, lambdas and comprehensions in it."""
    nested = [
        c for const in code.co_consts if isinstance(const, types.CodeType) for c in _codes(const)
    ]
    return [code, *nested]


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


# --- reading ----------------------------------------------------------------------------------
def load_entry(key: str, stem: str, fun: Callable) -> DiskEntry | None:
    """The compile stored under ``key``, loaded and checked against this process's world,
    or None (no entry, an entry that does not hold here, or a file that vanished)."""
    path = _entry_file(stem, key, ".json")
    raw = read_file(path)
    if raw is None:
        return None
    try:
        entry = _load(json.loads(raw), key, stem, fun)
    except (_Stale, Undescribable) as why:
        log(f"not reused: {path.name}: {why}")
        return None
    except Exception as error:  # noqa: BLE001 - a damaged entry is a miss, never an error
        log(f"not reused: {path.name}: {type(error).__name__}: {error}")
        return None
    for used in (path, _entry_file(stem, key, ".npz"), entry.path):
        touch(used)
    log(f"reused {path.name} ({entry.path.name})")
    return entry


def _load(entry: dict, key: str, stem: str, fun: Callable) -> DiskEntry:
    if entry.get("format") != FORMAT or entry.get("key") != key:
        raise _Stale("another format or key")
    py = generated_dir() / entry["module"]
    raw = read_file(py)
    if raw is None or text_digest(raw) != entry["source_sha256"]:
        raise _Stale(f"{py.name} is gone or differs")
    source = raw.decode()
    arrays = _arrays(_entry_file(stem, key, ".npz"), entry["arrays"])
    rebuilder = _Rebuilder(entry["reads"], fun, arrays)
    reads = rebuilder.reads()
    for description, name, module in entry["names"]:
        value = rebuild_root(description, fun, rebuilder.read).__globals__.get(name, _ABSENT)
        found = value.__name__ if isinstance(value, types.ModuleType) else value is not _ABSENT
        if found != (module or False):
            raise _Stale(f"the global name {name!r} means something else now")
    functions = tuple(owner for _, owner in _lowered_functions(fun, reads))
    is_current = make_world_guard(reads, functions)
    if not is_current():
        raise _Stale("a value fixed when compiling is different now")
    constants = {
        name: _rebuild_constant(description, fun, reads, arrays)
        for name, description in entry["constants"].items()
    }
    namespace = exec_module(source, py, stem, constants)
    out_tree, out_avals = decode(entry["out_tree"]), decode(entry["out_avals"])
    function = namespace[entry["function"]]
    draws = entry.get("draws")
    return DiskEntry(
        function, source, out_tree, out_avals, is_current, py, tuple(reads), draws, functions
    )


def _arrays(path: Path, names: list) -> dict:
    if not names:
        return {}
    raw = read_file(path)
    if raw is None:
        raise _Stale("its .npz file is gone")
    with np.load(io.BytesIO(raw), allow_pickle=False) as stored:
        return {name: stored[name] for name in names}


class _Rebuilder:
    """The world reads of a stored entry, rebuilt against this process's objects."""

    def __init__(self, described: list, fun: Callable, arrays: dict):
        self.described = described
        self.fun = fun
        self.arrays = arrays
        self.rebuilt: dict[int, WorldRead] = {}
        self.pending: set[int] = set()

    def reads(self) -> tuple[WorldRead, ...]:
        return tuple(self.read(k) for k in range(len(self.described)))

    def read(self, k: int) -> WorldRead:
        if k in self.rebuilt:
            return self.rebuilt[k]
        if k in self.pending:
            raise _Stale("a read depends on itself")
        self.pending.add(k)
        data = self.described[k]
        steps = tuple(tuple(step) for step in decode(data["steps"]))
        path = WorldPath(self.root(data["root"]), data["root_name"], steps, data["text"])
        kind, expected = data["expected"]
        if kind == "fingerprint":
            current = _value_at(path)
            if fingerprint(current) != expected:
                raise _Stale(f"{data['text']} is not what it was when compiling")
            value = current
        else:
            value = decode(expected, self.arrays)
        self.rebuilt[k] = WorldRead(path, data["check"], value)
        return self.rebuilt[k]

    def root(self, description: list) -> object:
        return rebuild_root(description, self.fun, self.read)


def rebuild_root(description: list, fun: Callable, read: Callable[[int], WorldRead]) -> object:
    """The object ``describe_root`` described, in this process."""
    kind = description[0]
    if kind == "main":
        return fun
    if kind == "read":
        return read(description[1]).expected
    if kind == "module":
        module = sys.modules.get(description[1])
        if module is None:
            raise _Stale(f"module {description[1]} is not imported")
        return vars(module)
    owner = rebuild_root(description[1], fun, read)
    if not isinstance(owner, types.FunctionType):
        raise _Stale(f"{type(owner).__name__} is not a function")
    if kind == "globals":
        return owner.__globals__
    if kind == "cell" and description[2] in owner.__code__.co_freevars:
        return owner.__closure__[owner.__code__.co_freevars.index(description[2])]
    raise _Stale(f"no {kind} {description[2:]} in {owner.__qualname__}")


def _rebuild_constant(description: list, fun: Callable, reads: tuple, arrays: dict) -> object:
    kind, data = description
    if kind == "root":
        return rebuild_root(data, fun, lambda k: reads[k])
    if kind == "object":
        return resolve(data)
    if kind == "helper":  # a function of srcad's own, by module and name
        return getattr(importlib.import_module(data[0]), data[1])
    return decode(data, arrays)


def _value_at(path: WorldPath) -> object:
    """The value at ``path`` now; a path that no longer exists makes the entry stale."""
    value = path.root
    try:
        for kind, key in path.steps:
            value = getattr(value, key) if kind == "attr" else value[key]
    except Exception as error:  # noqa: BLE001 - whatever the user's object raises
        raise _Stale(f"{path.text} cannot be read ({type(error).__name__})") from None
    return value
