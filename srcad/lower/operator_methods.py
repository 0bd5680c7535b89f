"""Operators on objects of the user's classes: ``a + b`` calls ``type(a).__add__``, inlined.

Run as Python at compile time, a user's ``__add__`` would read the globals and class
attributes it uses once, and the gradient would go stale when they change. So the lowering
calls the method as it calls any other of the user's (inlined, its reads staged), following
Python's order: ``a op= b`` tries ``__iop__`` first; ``a op b`` tries ``a.__op__(b)``, then
``b.__rop__(a)`` when that returned ``NotImplemented`` (a subclass's reflected method
first); ``-a`` calls ``__neg__``; comparisons try the reflected comparison
(``a < b``: ``b.__gt__(a)``).

    v = Vec(x) + Vec(x ** 2)      # Vec.__add__(Vec(x), Vec(x ** 2)), inlined

``OPERATOR_METHODS`` names the method of each operator; an entry is all a new one needs.
"""

from __future__ import annotations

import ast
import enum
import inspect
import operator
import sysconfig
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.ir.builder import Tracer
from srcad.lower.dispatch import CALL
from srcad.lower.iteration import DependsOnData
from srcad.lower.objects import class_attribute
from srcad.lower.user_code import has_own_method, is_user_function
from srcad.lower.world import Outside, is_hashable
from srcad.pytree import is_library_class, not_plain_because

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node

# operator -> (its method, the reflected one: None where Python has none)
OPERATOR_METHODS: dict[type, tuple[str, str | None]] = {
    ast.Add: ("__add__", "__radd__"),
    ast.Sub: ("__sub__", "__rsub__"),
    ast.Mult: ("__mul__", "__rmul__"),
    ast.Div: ("__truediv__", "__rtruediv__"),
    ast.FloorDiv: ("__floordiv__", "__rfloordiv__"),
    ast.Mod: ("__mod__", "__rmod__"),
    ast.Pow: ("__pow__", "__rpow__"),
    ast.MatMult: ("__matmul__", "__rmatmul__"),
    ast.BitAnd: ("__and__", "__rand__"),
    ast.BitOr: ("__or__", "__ror__"),
    ast.BitXor: ("__xor__", "__rxor__"),
    ast.USub: ("__neg__", None),
    ast.UAdd: ("__pos__", None),
    ast.Invert: ("__invert__", None),
    ast.Lt: ("__lt__", "__gt__"),
    ast.LtE: ("__le__", "__ge__"),
    ast.Gt: ("__gt__", "__lt__"),
    ast.GtE: ("__ge__", "__le__"),
    ast.Eq: ("__eq__", "__eq__"),
    ast.NotEq: ("__ne__", "__ne__"),
}
NOT_USERS = object()  # no operand's class of the user's defines the operator


def is_users_operand(value: object) -> bool:
    """Whether ``value`` may define operators in the user's code (not a number, an array, a
    traced value or text)."""
    return not isinstance(value, (Tracer, np.ndarray, np.generic, int, float, complex, str))


def user_operator(
    lowering: Lowering,
    op: ast.operator | ast.unaryop | ast.cmpop,
    operands: tuple[object, ...],
    node: Node,
    in_place: bool = False,
) -> object:
    """The result of the operator's method of the user's on ``operands`` (one or two), or
    ``NOT_USERS`` where neither operand's class defines it in the user's code."""
    names = OPERATOR_METHODS.get(type(op))
    if names is None or not any(is_users_operand(v) for v in operands):
        return NOT_USERS
    attempts = _attempts(names, operands, in_place)
    if not any(has_own_method(value, name) for value, name, _ in attempts):
        return NOT_USERS
    for value, name, other in attempts:
        if not has_own_method(value, name):
            continue
        _refuse_an_array_on_the_left(lowering, operands, value, name, node)
        method = _method(lowering, value, name, node)
        result = CALL[0](lowering, method, list(other), {}, node)
        if result is not NotImplemented:
            return result
    raise lowering.located(
        SrcadError,
        f"'{ast.unparse(node)}' raises TypeError: the operator's methods of "
        f"{' and '.join(repr(type(_held(v)).__name__) for v in operands)} return "
        "NotImplemented (the plain function raises here too)",
        node,
    )


def _attempts(
    names: tuple[str, str | None], operands: tuple[object, ...], in_place: bool
) -> list[tuple[object, str, tuple[object, ...]]]:
    """(object, method name, the other arguments) in the order Python tries them."""
    forward, reflected = names
    if len(operands) == 1:
        return [(operands[0], forward, ())]
    left, right = operands
    tries: list[tuple[object, str, tuple[object, ...]]] = [(left, forward, (right,))]
    kinds = type(_held(left)), type(_held(right))
    if reflected is not None and kinds[0] is not kinds[1]:
        mirrored = (right, reflected, (left,))
        # a subclass's own reflected method goes first (Python: one it overrides)
        own = [inspect.getattr_static(kind, reflected, None) for kind in kinds]
        goes_first = issubclass(kinds[1], kinds[0]) and own[1] is not own[0]
        tries = [mirrored, *tries] if goes_first else [*tries, mirrored]
    if in_place:
        tries.insert(0, (left, forward.replace("__", "__i", 1), (right,)))
    return tries


def _held(value: object) -> object:
    return value.value if isinstance(value, Outside) else value


def _method(lowering: Lowering, value: object, name: str, node: Node) -> object:
    """The method ``name`` bound to ``value``, read through its class on every call."""
    if isinstance(value, Outside):
        return lowering.world.attribute(value, name)
    return class_attribute(lowering, value, name, node)  # type: ignore[arg-type]


def _refuse_an_array_on_the_left(
    lowering: Lowering, operands: tuple[object, ...], value: object, name: str, node: Node
) -> None:
    """``array + Vec(...)``: NumPy calls ``Vec.__radd__`` on each element (an object
    array), not once; srcad would call it once. Refused, unless the class makes NumPy
    leave the operator to it (``__array_ufunc__ = None``, or an ``__array_priority__``)."""
    left = operands[0]
    is_array = isinstance(left, np.ndarray) or (isinstance(left, Tracer) and left.ndim >= 1)
    if len(operands) == 2 and value is not left and is_array and not _numpy_defers(value):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' has an array on the left of an object of class "
            f"{type(_held(value)).__name__!r}: NumPy calls its {name} on each element, "
            "making an array of objects; put the object on the left, or operate on the "
            "object's arrays",
            node,
        )


def _numpy_defers(value: object) -> bool:
    """Whether NumPy's operators leave an operation with an object of this class on the
    right to the class's reflected method (``__array_ufunc__ = None``; without that
    attribute, an ``__array_priority__`` above the array's)."""
    kind = type(_held(value))
    if hasattr(kind, "__array_ufunc__"):
        return kind.__array_ufunc__ is None
    return getattr(kind, "__array_priority__", -1.0) > 0.0


class _Compared:
    """An item that ``sorted``, ``min`` or ``max`` orders by its class's own comparisons,
    lowered (inlined) one pair at a time; an order decided by data raises
    ``DependsOnData`` (the caller refuses it)."""

    def __init__(self, lowering: Lowering, item: object, node: Node):
        self.lowering, self.item, self.node = lowering, item, node

    def __lt__(self, other: _Compared) -> bool:
        return self._known(ast.Lt(), other)

    def __gt__(self, other: _Compared) -> bool:
        return self._known(ast.Gt(), other)

    def _known(self, op: ast.cmpop, other: _Compared) -> bool:
        result = user_operator(self.lowering, op, (self.item, other.item), self.node)
        if result is NOT_USERS:  # neither item's class of the user's defines it
            compare: Any = operator.lt if isinstance(op, ast.Lt) else operator.gt
            result = compare(self.item, other.item)
        if isinstance(result, Tracer):
            raise DependsOnData
        return bool(result)


def orders_users_objects(function: object, args: list, kwargs: dict) -> bool:
    """``sorted(items)``, ``min``/``max`` of them, or ``items.sort()`` without a key, where
    an item's class of the user's defines how its objects compare."""
    if kwargs.get("key") is not None:
        return False
    is_list_sort = isinstance(getattr(function, "__self__", None), list)
    if is_list_sort and getattr(function, "__name__", "") == "sort":
        items: object = function.__self__  # type: ignore[attr-defined]
    elif function in (sorted, min, max):
        items = args[0] if len(args) == 1 else args
    else:
        return False
    if not isinstance(items, (list, tuple)):
        return False
    return any(has_own_method(item, m) for item in items for m in ("__lt__", "__gt__"))


def ordering_key(lowering: Lowering, node: Node) -> Callable[[object], _Compared]:
    """The key that orders items by their class's own comparisons, lowered."""
    return lambda item: _Compared(lowering, item, node)


# --- library code given objects of the user's ----------------------------------------------
# builtins that look at an object without running its methods, or that hand it back
LOOKS_ONLY = frozenset({isinstance, issubclass, type, id, callable, hasattr, getattr, vars})
# builtins that go through a container without running the methods of its items
REARRANGES = frozenset({len, list, tuple, zip, enumerate, reversed, iter, isinstance, id})
# special methods Python runs at other moments than a call by a library (making, naming)
NOT_CALLED_BY_LIBRARIES = frozenset(
    {"__init__", "__new__", "__post_init__", "__init_subclass__", "__class_getitem__"}
    | {"__set_name__", "__del__", "__getstate__", "__setstate__", "__reduce__"}
)
_STANDARD_LIBRARY = sysconfig.get_paths()["stdlib"]


def users_method_run_by(function: object, args: list, kwargs: dict) -> tuple[object, str] | None:
    """An object of the user's among the arguments, and the special method of its class that
    ``function`` (a library's, run as Python when compiling) may run on it; None where none
    would run. Such a method would read the globals it uses once, when compiling."""
    if is_hashable(function) and function in LOOKS_ONLY:
        return None
    owner = getattr(function, "__self__", None)  # DECAY.pdf(x) of a subclass of SciPy's
    if owner is not None and _derives_from_a_library(type(owner)):
        method = _own_method(owner, special_only=False)
        if method is not None:
            return owner, method
    if isinstance(function, type) and _is_users_class(function):  # Slotted(1.5)
        return function, "__init__"
    values = [*args, *kwargs.values()]
    nested = not (is_hashable(function) and function in REARRANGES)
    for value in values:
        for held in _objects_in(value, nested, depth=0):
            name = _own_special_method(held)
            if name is not None:
                return held, name
    return None


def refuse_running_users_methods(
    lowering: Lowering,
    function: object,
    args: list,
    kwargs: dict,
    node: Node,
    called: str | None = None,
) -> None:
    """Refuse a library call (``called``: what to name it) that would run a special method
    of the user's as Python."""
    found = users_method_run_by(function, args, kwargs)
    if found is None:
        return
    value, name = found
    if isinstance(value, type):
        bases = [b for b in value.__mro__[1:] if b is not object and is_library_class(b)]
        why = f"it derives from {bases[0].__name__}" if bases else not_plain_because(value)
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' makes an object of {value.__name__}, a class srcad does "
            f"not follow through its attributes ({why}): its __init__ and methods would run "
            "as Python when compiling and read the values they use once, not on every call; "
            "give the class plain attributes (no __slots__, no library base class)",
            node,
        )
    called = called or getattr(function, "__name__", None) or type(function).__name__
    raise lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' gives an object of {type(value).__name__} to {called}, which "
        f"may run its {name} as Python when compiling: the values those methods read would "
        "be read once, not on every call. Call the method yourself (obj.method(...)), or "
        f"give {called} the numbers or arrays the object holds",
        node,
    )


def _objects_in(value: object, nested: bool, depth: int) -> list[object]:
    """``value`` (unwrapped from outside), and where ``nested``, what lists, tuples and dicts
    of it hold."""
    held = value.value if isinstance(value, Outside) else value
    if isinstance(held, (list, tuple, dict)) and nested and depth < 3:
        items = held.values() if isinstance(held, dict) else held
        return [found for item in items for found in _objects_in(item, nested, depth + 1)]
    return [held]


def _own_special_method(value: object) -> str | None:
    """The first special method the user wrote in the class of ``value`` (or a base of it)
    that a library may call; None for other objects."""
    return _own_method(value, special_only=True)


def _own_method(value: object, special_only: bool) -> str | None:
    """The first method (special, where ``special_only``) the user wrote in the class of
    ``value`` or a base of it, that a library may call; None for other objects."""
    if isinstance(value, (type, Tracer, np.ndarray, np.generic, int, float, complex, str)):
        return None
    names = [
        name
        for cls in type(value).__mro__
        for name, found in vars(cls).items()
        if (not special_only or name.startswith("__") and name.endswith("__"))
        and name not in NOT_CALLED_BY_LIBRARIES
        and _written_by_user(found)
    ]
    if not names:
        return None
    return ", ".join(names[:-1][:3]) + (" or " if len(names) > 1 else "") + names[-1]


def _derives_from_a_library(cls: type) -> bool:
    """A class of the user's with a base class (not ``object``) from a library."""
    if is_library_class(cls) or issubclass(cls, ModuleType):
        return False
    return any(b is not object and is_library_class(b) for b in cls.__mro__[1:])


def _is_users_class(cls: type) -> bool:
    """A class of the user's that srcad does not follow through its attributes (one it
    does is made by ``made_object``): calling it runs its ``__init__`` as Python. Not an
    exception (raised as the user's code raises it) nor an Enum (looked up by value)."""
    if issubclass(cls, (BaseException, enum.Enum)) or is_library_class(cls):
        return False
    return any(_written_by_user(found) for found in vars(cls).values())


def _written_by_user(found: object) -> bool:
    """A function (or a property's getter) from the user's source: not a library's, nor one
    that ``dataclasses`` or ``collections.namedtuple`` wrote for the class."""
    function = found.fget if isinstance(found, property) else found
    if not is_user_function(function):
        return False
    filename = function.__code__.co_filename
    return filename != "<string>" and not filename.startswith(_STANDARD_LIBRARY)


def truth_of(lowering: Lowering, value: object, node: Node) -> object:
    """``value`` as a test (``if gate:``, ``while``, ``and``, ``not``): for an object of the
    user's whose class computes its truth, the result of its ``__bool__`` (or ``__len__``),
    inlined; anything else as it is (Python's truth of it is taken by the caller)."""
    if isinstance(value, Outside) or not is_users_operand(value):
        return value  # an outside object's truth is a fact the guard checks, or refused
    if has_own_method(value, "__bool__"):
        return CALL[0](lowering, _method(lowering, value, "__bool__", node), [], {}, node)
    if has_own_method(value, "__len__"):
        length = CALL[0](lowering, _method(lowering, value, "__len__", node), [], {}, node)
        return length != 0
    return value


def own_methods_among(value: object, names: tuple[str, ...]) -> list[str]:
    """Which of the methods ``names`` the user wrote in the class of ``value`` (an object
    of the user's; not those ``dataclasses`` writes)."""
    held = value.value if isinstance(value, Outside) else value
    if not is_users_operand(held) or isinstance(held, type):
        return []
    return [
        name for name in names if _written_by_user(inspect.getattr_static(type(held), name, None))
    ]
