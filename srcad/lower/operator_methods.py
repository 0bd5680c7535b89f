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
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.ir.builder import Tracer
from srcad.lower.dispatch import CALL
from srcad.lower.iteration import DependsOnData
from srcad.lower.objects import class_attribute
from srcad.lower.user_code import has_own_method
from srcad.lower.world import Outside

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
    traced value or one of Python's containers)."""
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
    if reflected is not None and type(_held(left)) is not type(_held(right)):
        mirrored = (right, reflected, (left,))
        is_subclass = issubclass(type(_held(right)), type(_held(left)))
        tries = [mirrored, *tries] if is_subclass else [*tries, mirrored]
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
    array), not once; srcad would call it once. Refused."""
    left = operands[0]
    is_array = isinstance(left, np.ndarray) or (isinstance(left, Tracer) and left.ndim >= 1)
    if len(operands) == 2 and value is not left and is_array:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' has an array on the left of an object of class "
            f"{type(_held(value)).__name__!r}: NumPy calls its {name} on each element, "
            "making an array of objects; put the object on the left, or operate on the "
            "object's arrays",
            node,
        )


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
