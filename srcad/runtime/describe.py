"""Runtime: descriptions of values and objects that mean the same thing in another process.

Comes in: what a compile relied on (argument signatures, values fixed when compiling, the
helper functions it inlined). Goes out: JSON-able descriptions, and back.

- ``encode(value)`` describes a plain value exactly, type included: ``3`` and ``3.0``,
  ``(1,)`` and ``[1]`` differ. Arrays go into a separate dict (for an ``.npz`` file) or, when
  only a digest is needed, are described by their bytes' sha256. ``decode`` reverses it.
- ``fingerprint(obj)`` describes an object that a compile relied on by *identity*: a Python
  function by module, qualified name, file, line, the sha256 of its source text (what srcad
  lowered) and of its code object (bytecode, constants, positions: two lambdas on one line
  differ there); a class by module, qualified name, source and bases; a module by name; a library object
  (``np.exp``, ``len``) by the name it is imported under. Two objects with equal fingerprints
  compile to the same code.

Anything else (an instance of the user's class, a lambda without source, a value of an
unknown type) raises ``Undescribable``: such a compile is not reused by another process.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import linecache
import sys
import types

import numpy as np

from srcad.ir.graph import AVal
from srcad.lower.world import LIBRARY_MODULES
from srcad.pytree import TreeDef

RECORDS = {"srcad.ir.graph:AVal": AVal, "srcad.pytree:TreeDef": TreeDef}
UFUNC_MODULES = ("numpy", "scipy.special")  # ufuncs do not say where they live


class Undescribable(Exception):
    """A value or object with no description that holds in another process."""


def digest(data: object) -> str:
    """The sha256 of ``encode(data)``, arrays included by content."""
    return hashlib.sha256(repr(encode(data)).encode()).hexdigest()


def text_digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


# --- values ---------------------------------------------------------------------------------
def encode(value: object, arrays: dict | None = None) -> object:
    """A JSON-able description of ``value``; arrays are stored in ``arrays`` (by a name the
    description holds) or, when ``arrays`` is None, described by their content's sha256."""
    kind = type(value)
    if value is None or value is Ellipsis:
        return [repr(value)]
    if kind in (bool, int, str):
        return [kind.__name__, value]
    if kind is float:
        return ["float", value.hex()]
    if kind is complex:
        return ["complex", value.real.hex(), value.imag.hex()]
    if kind is bytes:
        return ["bytes", value.hex()]
    if kind in (tuple, list):
        return [kind.__name__, [encode(v, arrays) for v in value]]
    if kind is dict:
        return ["dict", [[encode(k, arrays), encode(v, arrays)] for k, v in value.items()]]
    if kind in (slice, range):
        return [kind.__name__, *(encode(v, arrays) for v in (value.start, value.stop, value.step))]
    if isinstance(value, (np.ndarray, np.generic, np.dtype)):
        return _encode_numpy(value, arrays)
    if isinstance(value, type):
        return ["type", _library_location(value)]
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return _encode_record(value, [getattr(value, f) for f in value._fields], arrays)
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None and kind.__module__.startswith("srcad."):
        return _encode_record(value, [getattr(value, f) for f in fields], arrays)
    raise Undescribable(f"a value of type {kind.__qualname__}")


def _encode_numpy(value: object, arrays: dict | None) -> object:
    dtype = value if isinstance(value, np.dtype) else value.dtype
    if dtype.kind in "OVMm" or dtype.fields is not None:
        raise Undescribable(f"a NumPy value of dtype {dtype}")
    if isinstance(value, np.dtype):
        return ["dtype", dtype.str]
    if isinstance(value, np.generic):
        return ["scalar", dtype.str, value.tobytes().hex()]
    if arrays is None:
        content = np.ascontiguousarray(value).tobytes()
        return ["array", dtype.str, list(value.shape), text_digest(content)]
    name = f"a{len(arrays)}"
    arrays[name] = value
    return ["array", name]


def _encode_record(value: object, items: list, arrays: dict | None) -> object:
    kind = type(value)
    name = f"{kind.__module__}:{kind.__qualname__}"
    if not kind.__module__.startswith("srcad."):
        raise Undescribable(f"a value of type {kind.__qualname__}")
    return ["record", name, [encode(v, arrays) for v in items]]


def decode(data: list, arrays: dict | None = None) -> object:
    """The value ``encode`` described."""
    tag, rest = data[0], data[1:]
    if tag in ("None", "Ellipsis"):
        return None if tag == "None" else Ellipsis
    if tag in ("bool", "int", "str"):
        return {"bool": bool, "int": int, "str": str}[tag](rest[0])
    if tag == "float":
        return float.fromhex(rest[0])
    if tag == "complex":
        return complex(float.fromhex(rest[0]), float.fromhex(rest[1]))
    if tag == "bytes":
        return bytes.fromhex(rest[0])
    if tag in ("tuple", "list"):
        items = [decode(v, arrays) for v in rest[0]]
        return tuple(items) if tag == "tuple" else items
    if tag == "dict":
        return {decode(k, arrays): decode(v, arrays) for k, v in rest[0]}
    if tag in ("slice", "range"):
        bounds = [decode(v, arrays) for v in rest]
        return slice(*bounds) if tag == "slice" else range(*bounds)
    if tag == "dtype":
        return np.dtype(rest[0])
    if tag == "scalar":
        return np.frombuffer(bytes.fromhex(rest[1]), dtype=np.dtype(rest[0]))[0]
    if tag == "array" and arrays is not None:
        return arrays[rest[0]]
    if tag == "type":
        return resolve(["object", *rest[0]])
    if tag == "record" and rest[0] in RECORDS:
        return RECORDS[rest[0]](*(decode(v, arrays) for v in rest[1]))
    raise Undescribable(f"cannot decode {tag!r}")


# --- objects compared by identity -----------------------------------------------------------
def fingerprint(obj: object) -> list:
    """What ``obj`` is, in terms that hold in another process (see the module docstring)."""
    if isinstance(obj, types.ModuleType):
        if sys.modules.get(obj.__name__) is not obj:
            raise Undescribable(f"module {obj.__name__} is not in sys.modules")
        return ["module", obj.__name__]
    if isinstance(obj, types.FunctionType):
        source = _source(obj)
        code = obj.__code__
        where = [code.co_filename, code.co_firstlineno, text_digest(_code_text(code))]
        if source is not None:
            return ["function", obj.__module__, obj.__qualname__, *where, text_digest(source)]
        if not _is_library(obj):  # made by exec (a dataclass's __init__): never lowered
            return ["code", obj.__module__, obj.__qualname__, *where]
    elif isinstance(obj, type) and not _is_library(obj):
        return _class_fingerprint(obj)
    return ["object", *_library_location(obj)]


# Entries of a class's namespace that Python keeps for itself.
CLASS_BOOKKEEPING = frozenset(
    {"__dict__", "__weakref__", "__module__", "__qualname__", "__doc__", "__annotations__"}
    | {"__dataclass_fields__", "__dataclass_params__", "__firstlineno__", "__static_attributes__"}
)


def _class_fingerprint(cls: type) -> list:
    """A class of the user's: its source, its bases, and every member as it is now. A
    compile reads ``Cfg.N`` or calls ``Cfg.act`` through the class without a world read of
    its own, and module-level code may have changed them (``Cfg.N = 5``) since the class
    statement ran."""
    source = _source(cls)
    if source is None:
        raise Undescribable(f"class {cls.__qualname__} has no source")
    members = [
        [name, _member(value)]
        for name, value in sorted(vars(cls).items())
        if name not in CLASS_BOOKKEEPING
    ]
    bases = [fingerprint(base) for base in cls.__bases__]
    return ["class", cls.__module__, cls.__qualname__, text_digest(source), bases, members]


def _member(value: object) -> object:
    if isinstance(value, (staticmethod, classmethod)):
        return [type(value).__name__, fingerprint(value.__func__)]
    if isinstance(value, property):
        functions = (value.fget, value.fset, value.fdel)
        return ["property", [fingerprint(f) if f else None for f in functions]]
    if isinstance(value, (types.FunctionType, type, types.ModuleType)):
        return fingerprint(value)
    return encode(value)  # arrays by their content's digest


def resolve(description: list) -> object:
    """The object a ``["module", ...]`` or ``["object", ...]`` fingerprint names, in this
    process; raises ``Undescribable`` when there is none."""
    if description[0] == "module":
        name = description[1]
        module = sys.modules.get(name)
        if module is None and name.split(".")[0] in LIBRARY_MODULES:
            module = _import(name, "")  # logging, random: safe to import
        if module is None:
            raise Undescribable(f"module {name} is not imported")
        return module
    if description[0] == "object":
        return _import(description[1], description[2])
    raise Undescribable(f"{description[0]} fingerprints are compared, not resolved")


def _source(obj: object) -> str | None:
    """The source text srcad reads for ``obj`` (as ``srcad.frontend.parse_function`` does);
    remembered while its file's lines in ``linecache`` stay the same list (``inspect``
    parses a class's whole file to find it: 6 ms in a file of 700 lines; 0.2 ms a function)."""
    try:
        file = inspect.getsourcefile(obj)  # type: ignore[arg-type]
    except TypeError:
        return None
    lines = None
    if file is not None:
        linecache.checkcache(file)
        lines = linecache.getlines(file)
    key = obj.__code__ if isinstance(obj, types.FunctionType) else obj
    known = _SOURCES.get(key)
    if known is not None and lines and known[0] is lines:
        return known[1]
    try:
        found, first_line = inspect.getsourcelines(obj)  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None
    text = f"{first_line}\n{''.join(found)}"
    if lines:
        if len(_SOURCES) >= SOURCES_KEPT:
            _SOURCES.clear()
        _SOURCES[key] = (lines, text)
    return text


SOURCES_KEPT = 512
_SOURCES: dict[object, tuple[list[str], str]] = {}


def _code_text(code: types.CodeType) -> str:
    """The bytecode, names, constants and source positions of ``code``: two lambdas on one
    line share their source text but not this."""
    consts = ", ".join(_const_text(c) for c in code.co_consts)
    positions = list(code.co_positions()) if hasattr(code, "co_positions") else []
    return f"{code.co_code.hex()} {code.co_names} {code.co_varnames} [{consts}] {positions}"


def _const_text(value: object) -> str:
    if isinstance(value, types.CodeType):
        return f"<code {_code_text(value)}>"
    if isinstance(value, (tuple, frozenset)):
        items = [_const_text(v) for v in value]  # a frozenset's order varies between processes
        return f"{type(value).__name__}({', '.join(sorted(items) if isinstance(value, frozenset) else items)})"
    return repr(value)


def _is_library(obj: object) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module.split(".")[0] in LIBRARY_MODULES


def _library_location(obj: object) -> list:
    """``[module, qualified name]`` under which ``obj`` is imported from a library."""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", None)
    candidates = [module] if module else list(UFUNC_MODULES)
    for candidate in candidates:
        if name and candidate.split(".")[0] in LIBRARY_MODULES:
            try:
                if _import(candidate, name) is obj:
                    return [candidate, name]
            except Undescribable:
                continue
    raise Undescribable(f"{type(obj).__name__} {name or obj!r} is not a library object")


def moved_library_functions(functions: object) -> list[str]:
    """Those of ``functions`` (library functions srcad has rules for) that are no longer
    found under their own module and name (``np.tanh = np.sin``, ``mock.patch``): a compile
    another process stored would call what the module holds now with the rules of what it
    held then. The bound methods of SciPy's distributions (``norm.logpdf``) are left out."""
    moved = []
    for function in list(functions):  # type: ignore[call-overload]
        if isinstance(function, types.MethodType) or not _is_library(function):
            continue
        try:
            _library_location(function)
        except Undescribable:
            moved.append(getattr(function, "__name__", repr(function)))
    return moved


def _import(module_name: str, qualname: str) -> object:
    try:
        value = importlib.import_module(module_name)
        for part in qualname.split(".") if qualname else ():
            value = getattr(value, part)
    except (ImportError, AttributeError) as error:
        raise Undescribable(f"{module_name}.{qualname} cannot be imported ({error})") from None
    return value
