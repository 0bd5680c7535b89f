"""Lowering: calls that write an attribute or an item, lowered as the assignments they are.

    setattr(self, name, v)          self.<name> = v     (name: text known when compiling)
    obj.__setattr__(name, v)        obj.<name> = v
    object.__setattr__(obj, name, v)
    operator.setitem(d, k, v)       d[k] = v
    d.__setitem__(k, v)             d[k] = v            (dict.__setitem__(d, k, v) alike)
    obj.__dict__[name] = v          obj.<name> = v      (an assignment's target: ``as_attribute``)

The assignment then follows the rules of any other (``srcad.lower.assignments``): a write
into an object made in the function is followed, one into an object or a container from
outside is refused or made by the generated code on every call, as ``obj.w = v`` is. These
calls were a missing derivative rule (``setattr``), or wrote into srcad's copy of a global
dict only.
"""

from __future__ import annotations

import ast
import operator
from typing import TYPE_CHECKING

from srcad.errors import UnsupportedSyntax
from srcad.lower.dispatch import dispatch_statement, evaluate

if TYPE_CHECKING:
    from srcad.lower.context import Lowering

SETTERS = (operator.setitem, dict.__setitem__, list.__setitem__)  # of an item
SETATTR_NAMES = ("setattr", "__setattr__")  # setattr(obj, name, v), object.__setattr__


def lower_write_call(lowering: Lowering, node: ast.Call) -> bool:
    """Lower ``node`` as the assignment it makes, where it makes one; False for any other
    call. ``obj.__setitem__(k, v)`` is ``obj[k] = v`` whatever ``obj`` is (Python calls the
    same method for both), so ``obj`` is not read before the assignment reads it."""
    written = _written(lowering, node)
    if written is None:
        return False
    target, value = written
    assignment = ast.copy_location(ast.Assign([target], value), node)
    ast.fix_missing_locations(assignment)
    dispatch_statement(lowering, assignment, len(lowering.builder.eqns))
    return True


def subscript_written_by(call: ast.Call) -> ast.Subscript | None:
    """The item ``call`` may write, as written: ``d[k]`` of ``d.__setitem__(k, v)``,
    ``operator.setitem(d, k, v)``, ``dict.__setitem__(d, k, v)`` (what a read of ``d``'s
    other items need not read: ``srcad.lower.outside_writes``)."""
    function, args = call.func, call.args
    if not isinstance(function, ast.Attribute) or call.keywords:
        return None
    if function.attr == "__setitem__" and len(args) == 2 and not _names_a_class(function.value):
        return ast.Subscript(function.value, args[0], ast.Store())
    if function.attr in ("setitem", "__setitem__") and len(args) == 3:
        return ast.Subscript(args[0], args[1], ast.Store())
    return None


def as_attribute(lowering: Lowering, target: ast.expr) -> ast.expr:
    """``obj.__dict__["w"]`` as an assignment's target: ``obj.w``; any other target as it is."""
    if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute)):
        return target
    if target.value.attr != "__dict__":
        return target
    return _attribute(lowering, target.value.value, target.slice, target)


def _written(lowering: Lowering, node: ast.Call) -> tuple | None:
    """``(target, value)`` of the assignment ``node`` makes, or None. A method spelled on
    the object is the assignment whatever the object; a function (``setattr``,
    ``operator.setitem``) is checked to be the one it names."""
    args, function = node.args, node.func
    if node.keywords or any(isinstance(a, ast.Starred) for a in args):
        return None
    is_method = len(args) == 2  # obj.__setitem__(k, v), obj.__setattr__(name, v)
    item = subscript_written_by(node)
    if item is not None and (is_method or _is_one_of(evaluate(lowering, function), SETTERS)):
        return item, args[-1]
    if not isinstance(function, (ast.Name, ast.Attribute)):
        return None
    if is_method and isinstance(function, ast.Attribute) and function.attr == "__setattr__":
        if not _names_a_class(function.value):
            return _attribute(lowering, function.value, args[0], node), args[1]
    names_setattr = getattr(function, "id", getattr(function, "attr", "")) in SETATTR_NAMES
    if len(args) == 3 and names_setattr:
        if _is_one_of(evaluate(lowering, function), (setattr, object.__setattr__)):
            return _attribute(lowering, args[0], args[1], node), args[2]
    return None


def _names_a_class(node: ast.expr) -> bool:
    """``dict`` in ``dict.__setitem__(d, k, v)``: a builtin class, which takes the object
    first."""
    return isinstance(node, ast.Name) and node.id in ("dict", "list", "object")


def _is_one_of(function: object, functions: tuple) -> bool:
    return any(function is known for known in functions)


def _attribute(
    lowering: Lowering, owner: ast.expr, name_node: ast.expr, node: ast.expr
) -> ast.Attribute:
    name = evaluate(lowering, name_node)
    if not isinstance(name, str) or not name.isidentifier():
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' names the attribute with {name!r}; name it with text "
            "known when compiling (a string, or a loop's counter over a dict's keys)",
            node,
        )
    return ast.copy_location(ast.Attribute(owner, name, ast.Store()), node)
