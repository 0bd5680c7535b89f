"""Lowering calls of Python objects that are not functions: partials, ``map``, records.

- ``functools.partial(f, theta)`` made in the function is a ``Partial`` (its arguments may
  be traced values, ``f`` a function defined inside); calling it calls ``f`` with the bound
  arguments first. A partial from outside the function has its ``func``, ``args`` and
  ``keywords`` staged through its path, so that its arrays are read on every call, as
  closure cells are.
- ``map(f, xs, ...)`` of a function the lowering calls (the user's, a lambda, a partial)
  is the list of its calls, one per item: ``sum(map(partial(f, theta), data))``
  (``itertools.starmap(f, pairs)`` calls ``f(*pair)``), made where it is consumed, as
  Python makes them (a ``Deferred``, ``srcad.lower.generators``);
  ``functools.reduce(f, xs[, start])`` the chain of its calls ``f(f(start, x0), x1) ...``.
- Calling a NamedTuple or dataclass builds the container (``return Layer(W2, b2)``):
  pytrees know both (``srcad.pytree``); a dataclass is built from its fields, as the
  ``__init__`` that ``dataclasses`` writes does.
- An attribute of a NamedTuple or dataclass *value* (an argument, one built in the function)
  that is not one of its fields comes from its class (``hp.SCALE``, ``params.forward``):
  ``class_attribute`` reads it through the class, on every call, as an outside value; a
  method of the user's is bound to the value and inlined.
- ``super()`` in a method (and ``super(Cls, self)``) is a ``SuperView``: its methods are the
  functions the classes after ``Cls`` in ``self``'s class's MRO define, bound to ``self``
  (``super().forward(x)`` inlines the parent's ``forward``); each is fixed by identity.
- Calling a plain class of the user's makes an object (``made_object``: ``__init__``
  inlined), whose attributes may then be written (``write_attribute``); ``copy.copy``,
  ``copy.deepcopy``, ``dataclasses.replace`` and a NamedTuple's ``_replace`` copy
  containers, records and arrays
  (``COPIES``).

Before:  ``sum(map(partial(loss, theta), batches))``
After:   ``loss(theta, batches[0]) + loss(theta, batches[1]) + ...``, each call inlined.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import enum
import functools
import inspect
import itertools
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from srcad.errors import SrcadError, UnsupportedSyntax, raised_as
from srcad.ir.builder import Tracer
from srcad.ir.world import WorldPath
from srcad.lower.callees import Args
from srcad.lower.containers import is_made
from srcad.lower.context import Lowering
from srcad.lower.dispatch import CALL, evaluate
from srcad.lower.generators import Deferred, function_reads
from srcad.lower.iteration import DICT_VIEWS, static_items
from srcad.lower.user_code import has_own_method, is_user_function
from srcad.lower.world import Outside, is_hashable
from srcad.pytree import fields_of, is_plain_object

# ``call(lowering, function, args, kwargs, node)``: how ``srcad.lower.calls`` lowers a call
CallFunction = Callable[[Lowering, object, list, dict, ast.Call], object]


@dataclass(frozen=True, eq=False)
class Partial:
    """``functools.partial(function, *args, **keywords)`` made in the lowered function."""

    function: object
    args: tuple[object, ...]
    keywords: dict[str, object]


@dataclass(frozen=True, eq=False)
class SuperView:
    """``super()`` in a method of ``cls`` called on ``instance`` (an outside object, read
    through its path, or an object made in the function)."""

    cls: type
    instance: object

    def attribute(self, lowering: Lowering, name: str, node: ast.expr) -> Partial:
        """``super().name``: the function the next class in the MRO defines, bound."""
        obj = self.instance.value if isinstance(self.instance, Outside) else self.instance
        mro = type(obj).__mro__
        for klass in mro[mro.index(self.cls) + 1 :]:
            if name in vars(klass):
                found = vars(klass)[name]
                break
        else:
            raise lowering.located(SrcadError, f"super() has no attribute {name!r}", node)
        if not isinstance(found, types.FunctionType):
            raise lowering.located(
                UnsupportedSyntax,
                f"super().{name} is a {type(found).__name__}; srcad follows super() to "
                "methods only (read other attributes through self)",
                node,
            )
        text = f"{klass.__qualname__}.{name}"
        lowering.world.fix(found, WorldPath(klass, klass.__name__, (("attr", name),), text))
        return Partial(found, (self.instance,), {})


def class_attribute(lowering: Lowering, value: object, name: str, node: ast.expr) -> object:
    """``hp.SCALE``, ``hp.forward`` or ``hp.scaled`` of a record value whose fields do not
    include ``name``: read through its class (a ``ClassVar`` changed later is read again; a
    method or property replaced is seen). A method of the user's becomes a ``Partial`` bound
    to the value, which the lowering inlines; a property's getter of the user's is inlined
    here (run as Python, it would read the class's attributes once)."""
    cls = type(value)
    if name == "__class__":  # self.__class__: the object's class, as type(self)
        return lowering.world.stage(cls, WorldPath(cls, cls.__name__, (), cls.__qualname__))
    if name == "__dict__" and is_made(value, lowering.world.made):
        return vars(value)  # the object's own attributes (not the class's mappingproxy)
    found = inspect.getattr_static(cls, name)
    path = WorldPath(cls, cls.__name__, (("attr", name),), f"{cls.__qualname__}.{name}")
    if _is_named_tuple_replace(found, [value]):  # p._replace(y=2.0): lowered by call_object
        return Partial(found, (value,), {})
    if isinstance(found, types.FunctionType) and is_user_function(found):
        lowering.world.fix(found, path)
        return Partial(found, (value,), {})
    if isinstance(found, property) and is_user_function(found.fget):
        lowering.world.fix(found, path)
        return CALL[0](lowering, found.fget, [value], {}, node)
    if isinstance(found, functools.cached_property) and is_user_function(found.func):
        lowering.world.fix(found, path)  # not cached yet on the object: computed as Python would
        computed = CALL[0](lowering, found.func, [value], {}, node)
        if is_made(value, lowering.world.made):  # cached in the object, as Python caches it
            vars(value)[found.attrname or name] = computed
        return computed
    if isinstance(found, (staticmethod, classmethod)) and is_user_function(found.__func__):
        lowering.world.fix(found, path)
        if isinstance(found, staticmethod):
            return found.__func__
        own = lowering.world.stage(cls, WorldPath(cls, cls.__name__, (), cls.__qualname__))
        return Partial(found.__func__, (own,), {})  # cls.FACTOR: read on every call
    if isinstance(found, (property, staticmethod, classmethod, types.FunctionType)):
        return getattr(value, name)  # a library's: run as Python
    if hasattr(type(found), "__get__") and not isinstance(found, type):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' reads {name!r} through a descriptor ({type(found).__name__}, "
            "an object with __get__ on the class), whose __get__ srcad does not follow for "
            "an object; use a property, or a plain attribute",
            node,
        )
    return lowering.world.stage(getattr(cls, name), path)


def made_object(lowering: Lowering, cls: type, args: list, kwargs: dict, node: ast.Call) -> object:
    """``Summary(peak)``: an object of the user's plain class made in the function, its
    ``__init__`` inlined. Its attributes may be written (``write_attribute``); it is a tree
    of its attributes like an argument."""
    init = inspect.getattr_static(cls, "__init__")
    if cls.__new__ is not object.__new__ or not _is_plain_init(init):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' makes an object of your class {cls.__name__}, whose "
            "__new__ or __init__ is not plain Python srcad follows; return a dataclass, a "
            "NamedTuple or a dict, or make the object outside and pass it in",
            node,
        )
    instance: object = object.__new__(cls)
    lowering.world.made[id(instance)] = instance
    if init is not object.__init__:
        CALL[0](lowering, init, [instance, *args], kwargs, node)
    elif args or kwargs:
        raise lowering.located(SrcadError, f"{cls.__name__}() takes no arguments", node)
    return instance


def _is_plain_init(init: object) -> bool:
    return init is object.__init__ or (
        isinstance(init, types.FunctionType) and is_user_function(init)
    )


def write_attribute(
    lowering: Lowering, owner: object, name: str, value: object, node: ast.expr
) -> None:
    """``self.peak = peak`` on an object made in the function: Python's ``setattr`` (its
    attributes are in every snapshot of what a branch or a loop body changes, so a loop
    that writes one unrolls and branches join them, as for lists). On an object passed in
    or read from outside, which srcad does not change, it is refused."""
    if is_made(owner, lowering.world.made) and has_own_method(owner, "__setattr__"):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' sets an attribute of an object whose class sets its "
            f"attributes with its own __setattr__ ({type(owner).__name__}), which would run "
            "as Python when compiling and read its values once; compute the value and set it "
            "in a class without __setattr__",
            node,
        )
    if is_made(owner, lowering.world.made):
        setattr(owner, name, value)
        return
    obj = owner.value if isinstance(owner, Outside) else owner
    params = getattr(type(obj), "__dataclass_params__", None)
    if getattr(params, "frozen", False):
        raise lowering.located(
            SrcadError,
            f"'{ast.unparse(node)}' assigns a field of a frozen dataclass, which Python "
            "refuses (FrozenInstanceError); make a new one with dataclasses.replace",
            node,
        )
    if isinstance(obj, (Tracer, np.ndarray)):  # y.shape = (3, 1), y.dtype = ...
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' changes the array in place, which srcad does not follow; "
            f"make a new one and name it (y = y.reshape(...), y = y.astype(...))",
            node,
        )
    raise lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' writes an attribute of an object passed in or read from "
        "outside the function, which srcad does not change; return the new value instead",
        node,
    )


# builtins that call a method of their argument's class (float(v) calls v.__float__())
SPECIAL_METHODS = {
    float: "__float__",
    int: "__int__",
    abs: "__abs__",
    round: "__round__",
    len: "__len__",
    iter: "__iter__",
}


def special_method(lowering: Lowering, function: object, args: Args, node: ast.Call) -> object:
    """The method of the user's class that ``float``, ``int``, ``abs``, ``round``, ``len``
    or ``iter`` calls on an object of it (None for anything else)."""
    name = SPECIAL_METHODS.get(function) if is_hashable(function) else None
    if name is None or not args or not has_own_method(args[0], name):
        return None
    if isinstance(args[0], Outside):  # a global object's: read through it on every call
        return lowering.world.attribute(args[0], name)
    return class_attribute(lowering, args[0], name, node)


def called_record_method(lowering: Lowering, value: object, node: ast.expr) -> object:
    """The ``__call__`` of a record value called (``layer(h)``, a ``Layer`` argument), read
    through its class, or of a member of an Enum of the user's (``Act.TANH(x)``); None for
    anything else."""
    is_member = isinstance(value, enum.Enum) and is_user_function(
        getattr(type(value).__call__, "__func__", type(value).__call__)
    )
    if not is_member and (isinstance(value, tuple) or fields_of(value) is None):
        return None
    if not callable(value):
        return None
    return class_attribute(lowering, value, "__call__", node)


def super_view(lowering: Lowering, args: list, node: ast.Call) -> SuperView:
    """``super()``, the class from the method's ``__class__`` cell and the instance its
    first parameter; or ``super(Cls, self)``."""
    if len(args) == 2:
        cls, instance = lowering.world.unwrap(args[0]), args[1]
    else:
        fn = lowering.parsed.fn
        code = getattr(fn, "__code__", None)
        if args or code is None or "__class__" not in code.co_freevars or not code.co_argcount:
            raise lowering.located(
                UnsupportedSyntax,
                "super() is followed in methods only, without arguments or as "
                "super(Class, self)",
                node,
            )
        cell = fn.__closure__[code.co_freevars.index("__class__")]  # type: ignore[index,union-attr]
        first = ast.Name(code.co_varnames[0], ast.Load())  # self: bound outside, perhaps
        cls, instance = cell.cell_contents, evaluate(lowering, ast.copy_location(first, node))
    if not isinstance(cls, type):
        raise lowering.located(SrcadError, f"super() needs a class, not {cls!r}", node)
    return SuperView(cls, instance)


def is_object_call(function: object) -> bool:
    """Whether calling ``function`` is lowered here."""
    target = function.value if isinstance(function, Outside) else function
    return (
        target is functools.partial
        or target is map
        or target is itertools.starmap
        or target is functools.reduce
        or (is_hashable(target) and target in COPIES)  # a dataclass value is unhashable
        or isinstance(target, (Partial, functools.partial))
        or is_record_class(target)
    )


def call_object(
    lowering: Lowering,
    function: object,
    args: list,
    kwargs: dict,
    node: ast.Call,
    call: CallFunction,
) -> object:
    """The value of ``function(*args, **kwargs)`` for a function ``is_object_call`` admits."""
    target = function.value if isinstance(function, Outside) else function
    if target is functools.partial:
        if not args:
            raise lowering.located(SrcadError, "functools.partial() needs a function", node)
        return Partial(args[0], tuple(args[1:]), dict(kwargs))
    if target is map:
        return _map(lowering, args, kwargs, node, call)
    if target is itertools.starmap:
        return _starmap(lowering, args, kwargs, node, call)
    if target is functools.reduce:
        return _reduce(lowering, args, kwargs, node, call)
    if target in COPIES:
        return COPIES[target](lowering, args, kwargs, node)
    if isinstance(function, Outside) and isinstance(target, functools.partial):
        function = _staged_partial(lowering, function)
    elif isinstance(function, functools.partial):
        function = Partial(function.func, function.args, function.keywords)
    if isinstance(function, Partial):
        arguments = [*function.args, *args]
        if _is_named_tuple_replace(function.function, arguments):  # p._replace(y=2.0)
            return _replaced_items(lowering, arguments[0], arguments[1:], kwargs, node)
        return call(lowering, function.function, arguments, {**function.keywords, **kwargs}, node)
    lowering.world.unwrap(function)  # the class is fixed: another class is another compile
    assert isinstance(target, type)  # is_record_class
    return construct(lowering, target, args, kwargs, node)


def _copied(lowering: Lowering, args: list, kwargs: dict, node: ast.Call) -> object:
    """``copy.copy(x)``: a new list, dict or record with the same items (an array: a new
    array, which writes into one do not reach the other)."""
    if len(args) != 1 or kwargs:
        raise lowering.located(SrcadError, "copy.copy() takes one argument", node)
    return _copy(lowering, args[0], node, deep=False)


def _deep_copied(lowering: Lowering, args: list, kwargs: dict, node: ast.Call) -> object:
    """``copy.deepcopy(x)``: the containers and records inside copied too."""
    if len(args) != 1 or kwargs:
        raise lowering.located(SrcadError, "copy.deepcopy() takes one argument (no memo)", node)
    return _copy(lowering, args[0], node, deep=True)


def _copy(lowering: Lowering, value: object, node: ast.Call, deep: bool) -> object:
    def inner(item: object) -> object:
        return _copy(lowering, item, node, deep) if deep else item

    if isinstance(value, Tracer):
        return value.copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list) and type(value) is list:
        return [inner(item) for item in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return tuple(inner(item) for item in value)
    if type(value) is dict:
        return {key: inner(item) for key, item in value.items()}
    own = "__deepcopy__" if deep else "__copy__"
    if not isinstance(value, Outside) and has_own_method(value, own):  # its class's copy
        method = class_attribute(lowering, value, own, node)
        return CALL[0](lowering, method, [{}] if deep else [], {}, node)
    fields = fields_of(value)
    if fields is not None and isinstance(value, tuple):  # a NamedTuple
        items = [inner(getattr(value, name)) for name in fields]
        return type(value)(*items)  # type: ignore[arg-type]
    if fields is not None:  # a dataclass, a namespace, an object of the user's class
        copied = object.__new__(type(value))
        for name in fields:
            object.__setattr__(copied, name, inner(getattr(value, name)))
        if is_plain_object(copied):
            lowering.world.made[id(copied)] = copied  # a new object: it may be written
        return copied
    if isinstance(value, (bool, int, float, str, bytes, type(None), complex)):
        return value
    raise lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' copies a {type(value).__name__}, which srcad copies only as "
        "containers, records and arrays; copy what you need of it",
        node,
    )


def _replaced(lowering: Lowering, args: list, kwargs: dict, node: ast.Call) -> object:
    """``dataclasses.replace(hp, lr=...)``: the class called with the fields, some changed,
    as Python does (its __init__ and __post_init__ run)."""
    record = args[0] if len(args) == 1 else None
    held = record.value if isinstance(record, Outside) else record  # a global's: read through
    if not dataclasses.is_dataclass(held) or isinstance(held, type):
        raise lowering.located(
            SrcadError, "dataclasses.replace() takes a dataclass object and fields", node
        )
    fields = dataclasses.fields(held)
    if any(not field.init for field in fields):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' replaces fields of a dataclass with init=False fields; "
            "make a new one with its class",
            node,
        )
    unknown = set(kwargs) - {field.name for field in fields}
    if unknown:
        raise lowering.located(
            SrcadError, f"dataclasses.replace(): no field {sorted(unknown)[0]!r}", node
        )
    if isinstance(record, Outside):  # CFG's class fixed, its fields read on every call
        its_class = record.path.child("attr", "__class__", f"type({record.path.text})")
        lowering.world.fix(type(held), its_class)
        read: Callable[[str], object] = functools.partial(lowering.world.attribute, record)
    else:
        read = functools.partial(getattr, record)
    values = {field.name: read(field.name) for field in fields if field.name not in kwargs}
    return construct(lowering, type(held), [], values | kwargs, node)


def _is_named_tuple_replace(function: object, arguments: list) -> bool:
    """Whether ``function(*arguments)`` is ``_replace`` of a NamedTuple (the method bound
    to the record, its first argument)."""
    owner = arguments[0] if arguments else None
    is_named_tuple = isinstance(owner, tuple) and hasattr(type(owner), "_fields")
    return is_named_tuple and function is getattr(type(owner), "_replace", None)


def _replaced_items(
    lowering: Lowering, record: tuple, args: list, kwargs: dict, node: ast.Call
) -> object:
    """``p._replace(y=2.0)``: a new NamedTuple of ``p``'s class, the named fields changed."""
    fields = type(record)._fields  # type: ignore[attr-defined]
    unknown = set(kwargs) - set(fields)
    if args or unknown:
        raise lowering.located(
            SrcadError,
            f"_replace() takes the fields of {type(record).__name__} by name"
            + (f": no field {sorted(unknown)[0]!r}" if unknown else ""),
            node,
        )
    values = {name: kwargs.get(name, getattr(record, name)) for name in fields}
    return construct(lowering, type(record), [], values, node)


COPIES: dict[object, Callable[[Lowering, list, dict, ast.Call], object]] = {
    copy.copy: _copied,
    copy.deepcopy: _deep_copied,
    dataclasses.replace: _replaced,
}


def _staged_partial(lowering: Lowering, partial: Outside) -> Partial:
    """A partial from outside: its function fixed, its arguments read on every call."""
    world = lowering.world
    arguments = world.attribute(partial, "args")  # staged item by item
    keywords = world.attribute(partial, "keywords")
    return Partial(
        world.attribute(partial, "func"),
        tuple(arguments) if isinstance(arguments, (tuple, list)) else (),
        dict(keywords) if isinstance(keywords, dict) else {},
    )


def _map(
    lowering: Lowering, args: list, kwargs: dict, node: ast.Call, call: CallFunction
) -> Deferred | Iterator[object]:
    """``map(f, *iterables)``: the calls of ``f``, one per item (as many as the shortest
    iterable has), made when the map is consumed, as Python makes them."""
    if kwargs or len(args) < 2:
        raise lowering.located(
            SrcadError, f"'{ast.unparse(node)}': map takes a function and iterables", node
        )
    function, iterables = args[0], args[1:]
    if any(isinstance(iterable, DICT_VIEWS) for iterable in iterables):
        return _lazy_map(lowering, function, iterables, node, call)

    def run() -> list:
        columns = [static_items(lowering, iterable, node) for iterable in iterables]
        return [
            call(lowering, function, list(items), {}, node) for items in zip(*columns, strict=False)
        ]

    reads, scope = function_reads(lowering, function)
    return Deferred(run, ast.unparse(node), reads, held=tuple(iterables), scope=scope)


def _lazy_map(
    lowering: Lowering, function: object, iterables: list, node: ast.Call, call: CallFunction
) -> Iterator[object]:
    """``map(f, d.values())``: each call made when the map hands out its item, as Python
    makes it, so that a loop that writes into the dict meanwhile sees the write."""
    iterators = [iter(iterable) for iterable in iterables]

    def calls() -> Iterator[object]:
        for items in zip(*iterators, strict=False):
            yield call(lowering, function, list(items), {}, node)

    return calls()


def _starmap(
    lowering: Lowering, args: list, kwargs: dict, node: ast.Call, call: CallFunction
) -> Deferred:
    """``itertools.starmap(f, pairs)``: the calls ``f(*item)``, one per item, made when it
    is consumed."""
    if kwargs or len(args) != 2:
        raise lowering.located(
            SrcadError, f"'{ast.unparse(node)}': starmap takes a function and an iterable", node
        )
    function, iterable = args

    def run() -> list:
        items = static_items(lowering, iterable, node)
        return [call(lowering, function, static_items(lowering, i, node), {}, node) for i in items]

    reads, scope = function_reads(lowering, function)
    return Deferred(run, ast.unparse(node), reads, held=(iterable,), scope=scope)


def _reduce(
    lowering: Lowering, args: list, kwargs: dict, node: ast.Call, call: CallFunction
) -> object:
    """``functools.reduce(f, items[, start])``: ``f`` called on the running value and each
    item in turn, as Python does (an empty sequence without a start is Python's error)."""
    if kwargs or len(args) not in (2, 3):
        raise lowering.located(
            SrcadError,
            f"'{ast.unparse(node)}': reduce takes a function, an iterable and a start value",
            node,
        )
    items = static_items(lowering, args[1], node)
    if len(args) == 2 and not items:
        raise lowering.located(
            SrcadError,
            f"'{ast.unparse(node)}' reduces an empty sequence without a start value (the plain "
            "function raises TypeError here too)",
            node,
        )
    value, rest = (args[2], items) if len(args) == 3 else (items[0], items[1:])
    for item in rest:
        value = call(lowering, args[0], [value, item], {}, node)
    return value


# --- NamedTuples and dataclasses ----------------------------------------------------------
def is_record_class(value: object) -> bool:
    """A NamedTuple or dataclass class of the user's (pytrees know its instances)."""
    if not isinstance(value, type) or value.__module__.startswith("srcad."):
        return False
    is_named_tuple = issubclass(value, tuple) and hasattr(value, "_fields")
    return is_named_tuple or dataclasses.is_dataclass(value)


def construct(lowering: Lowering, cls: type, args: list, kwargs: dict, node: ast.Call) -> object:
    """An instance of a NamedTuple or dataclass holding the values given (traced or not)."""
    args = lowering.world.unwrap(args)
    kwargs = lowering.world.unwrap(kwargs)
    if issubclass(cls, tuple):
        return _checked(lowering, node, lambda: cls(*args, **kwargs))
    params: Any = getattr(cls, "__dataclass_params__", None)
    post_init = inspect.getattr_static(cls, "__post_init__", None)
    if not getattr(params, "init", True) or not _post_init_follows(cls, params, post_init):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' runs code of {cls.__name__}'s own (__init__ or "
            "__post_init__) on values srcad traces; srcad builds a dataclass from its fields: "
            "compute the fields first and pass them",
            node,
        )
    bound = _checked(lowering, node, lambda: inspect.signature(cls).bind(*args, **kwargs))
    instance = object.__new__(cls)
    fields: Any = dataclasses.fields  # of a class is_record_class found to be a dataclass
    for field in fields(cls):
        if field.name in bound.arguments:
            value = bound.arguments[field.name]
        elif not field.init and field.default_factory is dataclasses.MISSING:
            # field(init=False) without a default: unset until __post_init__ sets it (held
            # meanwhile by a marker, so that the object can be passed to its methods)
            is_unset = field.default is dataclasses.MISSING
            value = UNSET if is_unset else field.default
        elif field.default is not dataclasses.MISSING:
            value = field.default
        elif is_user_function(field.default_factory):  # its reads staged, as any call's
            value = CALL[0](lowering, field.default_factory, [], {}, node)
        else:  # bind checked that the field has a default (list, dict: a new one)
            value = field.default_factory()
        object.__setattr__(instance, field.name, value)  # as a frozen dataclass's __init__
    if not getattr(params, "frozen", False) and hasattr(instance, "__dict__"):
        lowering.world.made[id(instance)] = instance  # made here: its fields may be written
    if post_init is not None:  # self.scale = SCALE * 2.0: inlined, as any method
        method = class_attribute(lowering, instance, "__post_init__", node)
        CALL[0](lowering, method, [], {}, node)
    for name, held in list(vars(instance).items()) if hasattr(instance, "__dict__") else []:
        if held is UNSET:
            object.__delattr__(instance, name)  # never set: reading it raises, as in Python
    return instance


UNSET = object()  # a dataclass field with init=False that __post_init__ has not set yet


def _post_init_follows(cls: type, params: Any, post_init: object) -> bool:
    """Whether srcad lowers the dataclass's ``__post_init__`` (none, or the user's on a
    class that is not frozen and has no ``InitVar`` fields, which only it would see)."""
    if post_init is None:
        return True
    fields: Any = dataclasses.fields  # of a class is_record_class found to be a dataclass
    names = {field.name for field in fields(cls)}
    has_init_vars = any(name not in names for name in inspect.signature(cls).parameters)
    frozen = getattr(params, "frozen", False)
    return is_user_function(post_init) and not frozen and not has_init_vars


def _checked(lowering: Lowering, node: ast.Call, make: Callable[[], Any]) -> Any:
    """``make()``; Python's TypeError (a missing field) at the user's line."""
    try:
        return make()
    except TypeError as error:
        raise lowering.located(
            raised_as(TypeError), f"in '{ast.unparse(node)}': {error} (Python's TypeError)", node
        ) from None


__all__ = ["Partial", "call_object", "construct", "is_object_call", "is_record_class"]
