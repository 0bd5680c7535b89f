"""Writes to names, attributes and items outside the function: a call counter
(``global calls; calls += 1``, ``self.calls += 1``), the last value seen
(``self.last_loss = float(loss)``, ``model.theta = theta``), a running total
(``STATE["total"] += loss``). The generated code makes the write on every call, in the
user's order, through the place's path as it is then; every transformation makes it once per
call, as ``print``.

What is written is not staged, so the function may not also read it, by any path (the read
would come before the function's first line): refused, as for appends, by the objects'
identity (``srcad.lower.outside_state``). An array the function computes is written as a
copy (an argument's, itself); ``+=`` runs as Python runs it (into an outside array, in
place). A property is not written: its setter may change anything.

Before:  self.calls += 1
After:   outside_call(1)  callee=update_attribute  arguments=(place self, "calls", "+=", 1)
Generated:  once_per_call(update_attribute, main_globals["model"], "calls", "+=", 1)
"""

from __future__ import annotations

import ast
import types
from typing import TYPE_CHECKING, cast

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.frontend import globals_name
from srcad.frontend.parse import written_outside_names
from srcad.frontend.syntax import nodes
from srcad.frontend.updates import BINARY, update_of
from srcad.ir.world import ONCE_PER_CALL, OUTSIDE_UPDATES, WorldPath
from srcad.lower.dispatch import evaluate
from srcad.lower.outside_lists import calls_runtime_helper, kept, outside_place, static_key
from srcad.lower.outside_state import WHOLE
from srcad.lower.world import WRITTEN_IN_PLACE, Outside, outside_call
from srcad.lower.write_calls import subscript_written_by

if TYPE_CHECKING:
    from srcad.lower.context import Lowering

# ast's operator classes, as the augmented assignment writes them (``+=``)
AUGMENTED = {op: f"{spelled}=" for op, spelled in BINARY.items()}
# Objects whose attributes are not the user's state: written as before (refused).
NOT_STATE = (list, tuple, dict, set, str, bytes, int, float, complex)


def written_outside(lowering: Lowering, node: ast.stmt) -> bool:
    """Lower ``node`` as a write the generated code makes outside the function, where it is
    one (``self.calls += 1``); False where it is not."""
    if isinstance(node, ast.Expr):
        node = _as_assignment(lowering, node.value)  # type: ignore[assignment]
    update = update_of(node)
    if isinstance(node, ast.Assign) and update and _is_written_before(lowering, node.targets[0]):
        update = None  # self.out = h; self.out = self.out * x: a value written, read again
    if isinstance(node, ast.Assign) and update is not None:  # calls = calls + 1
        target, how, value = node.targets[0], update.how, update.other
    elif isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, how, value = node.targets[0], "=", node.value
    elif isinstance(node, ast.AugAssign) and type(node.op) in AUGMENTED:
        target, how, value = node.target, AUGMENTED[type(node.op)], node.value
    else:
        return False
    place = _place(lowering, target)
    if place is None:
        return False
    _write(lowering, target, place, evaluate(lowering, value), node, how)
    return True


def _is_written_before(lowering: Lowering, target: ast.expr) -> bool:
    """Whether the function wrote ``target``'s place before, where later reads read the
    value written (``World.written_outside``)."""
    place = _place(lowering, target)
    return place is not None and (id(place[0].value), *place[1]) in lowering.world.written


def note_written_dicts(lowering: Lowering) -> None:
    """Before the body is lowered: the dicts from outside whose items it writes
    (``STATE["step"] += 1``) are read key by key (``World.written_dicts``), so that reading
    another key (``STATE["lr"]``) does not read the item written."""
    local: set[str] = set()  # names the function binds: never outside
    written: list[ast.Subscript] = []
    for node in nodes(lowering.parsed.node):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            local.add(node.id)
        elif isinstance(node, ast.arg):
            local.add(node.arg)  # a parameter, also of a nested def or a lambda
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            written.append(node)
        elif isinstance(node, ast.Call) and subscript_written_by(node) is not None:
            written.append(cast(ast.Subscript, subscript_written_by(node)))  # d.__setitem__
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            update = _as_assignment(lowering, node.value)  # generated code, again: hessian
            target = getattr(update, "target", None) or getattr(update, "targets", [None])[0]
            if isinstance(target, ast.Subscript):
                written.append(target)
    for target in written:
        root = target.value
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        if not isinstance(root, ast.Name):  # (any key: ST[key] with a str argument too)
            continue
        found = None if root.id in local else outside_place(lowering, target.value)
        if found is not None and type(found[0]) is dict:
            lowering.world.written_dicts[id(found[0])] = found[0]


def write_outside(
    lowering: Lowering, target: ast.expr, value: object, node: ast.stmt | ast.expr, how: str = "="
) -> bool:
    """Lower ``target = value`` (or ``target += value``...) as a write the generated code
    makes outside the function, where ``target`` is outside (``self.last = loss``, also as
    part of ``a, self.b = ...``); False where it is not."""
    place = _place(lowering, target)
    if place is None:
        return False
    _write(lowering, target, place, value, node, how)
    return True


def _write(
    lowering: Lowering,
    target: ast.expr,
    place: tuple[Outside, tuple[str, object]],
    value: object,
    node: ast.stmt | ast.expr,
    how: str,
) -> None:
    """The write of ``value`` to ``target`` at ``place`` (``_place``), made on every call."""
    owner, step = place
    write = f"{ast.unparse(target)} {how} ..."
    refusal = lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(target)}' is written here ({write}) and also read in the function; "
        "srcad reads what comes from outside before the function's first line runs, so "
        "the reads would not see the write: keep the value in a local name too and read "
        f"that ({_local_spelling(target)}), or read '{ast.unparse(target)}' outside the "
        "function",
        node,
    )
    written = value if how == "=" else WRITTEN_IN_PLACE
    lowering.world.written_outside(owner.value, step, written, refusal)
    value = kept(lowering, value, node)
    helper = OUTSIDE_UPDATES[step[0]]
    outside_call(lowering.builder, helper, helper, [owner, step[1], how, value], {}, once=True)
    place_path = owner.path.child(*step, ast.unparse(target))
    lowering.world.changes(place_path, owner.value, step[1], refusal)
    current = _current(owner.value, step)
    if how.endswith("=") and how != "=" and isinstance(current, np.ndarray):  # self.acc += g
        lowering.world.changes(place_path, current, WHOLE, refusal)


def _local_spelling(target: ast.expr) -> str:
    """``out = ...; self.out = out`` for ``self.out``: the write made through a local."""
    name = target.attr if isinstance(target, ast.Attribute) else "value"
    if not name.isidentifier() or name.startswith("_"):
        name = "value"
    return f"{name} = ...; {ast.unparse(target)} = {name}"


def _current(owner: object, step: tuple[str, object]) -> object:
    """What ``owner`` holds at ``step`` now (None where it holds nothing yet)."""
    kind, key = step
    try:
        return getattr(owner, str(key)) if kind == "attr" else owner[key]  # type: ignore[index]
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def _place(lowering: Lowering, target: ast.expr) -> tuple[Outside, tuple[str, object]] | None:
    """The outside object ``target`` writes into and the step to the place written (an
    attribute or item of it), or None where ``target`` is not outside."""
    if isinstance(target, ast.Name):
        if target.id not in written_outside_names(lowering.parsed.node):
            return None
        if target.id not in lowering.parsed.cells and target.id not in lowering.parsed.globals:
            globals_path = WorldPath(
                lowering.parsed.globals, globals_name(lowering.parsed.globals), (), ""
            )
            return Outside(lowering.parsed.globals, globals_path), ("item", target.id)  # made
        _, path = lowering.parsed.locate(target.id, target.lineno)
        if path is None or not path.steps:
            return None
        return _owner(path), path.steps[-1]
    if isinstance(target, ast.Attribute):
        found = outside_place(lowering, target.value)
        if found is None or not _is_plain_attribute(found[0], target.attr):
            return None
        return Outside(found[0], found[1]), ("attr", target.attr)
    if isinstance(target, ast.Subscript) and (static := static_key(lowering, target.slice)):
        found = outside_place(lowering, target.value)
        key = static[0]
        if found is None or not (isinstance(found[0], dict) or _is_list_item(found[0], key)):
            return None
        return Outside(found[0], found[1]), ("item", key)
    return None


def _is_plain_attribute(owner: object, name: str) -> bool:
    """Whether writing ``owner.name`` stores the value there and changes nothing else: an
    object's own attribute or slot, a closure cell's contents (not a property, whose setter
    may change anything, nor an attribute of a number, list or dict)."""
    if isinstance(owner, types.CellType):
        return name == "cell_contents"
    if isinstance(owner, NOT_STATE):
        return False
    found = getattr(type(owner), name, None)
    if isinstance(found, types.MemberDescriptorType):  # __slots__
        return True
    if hasattr(found, "__set__") or hasattr(found, "__delete__"):  # a property
        return False
    return hasattr(owner, "__dict__")


def _is_list_item(owner: object, key: object) -> bool:
    """``ncalls[0]`` of a list ``ncalls = [0]`` from outside (the counter idiom)."""
    is_index = type(key) is int and isinstance(owner, list)
    return is_index and -len(owner) <= key < len(owner)  # type: ignore[arg-type, operator]


def _owner(path: WorldPath) -> Outside:
    """The object holding the last step of ``path`` (a module's globals, a closure cell)."""
    parent = WorldPath(path.root, path.root_name, path.steps[:-1], path.root_name)
    return Outside(parent.value(), parent)


def _as_assignment(lowering: Lowering, call: ast.expr) -> ast.stmt | None:
    """Generated code's ``once_per_call(update_attribute, model, "calls", "+=", 1)``
    (differentiated again by ``hessian``) as the statement it makes: ``model.calls += 1``."""
    if not isinstance(call, ast.Call) or len(call.args) != 5:
        return None
    helper, owner, key, how, value = call.args
    if not calls_runtime_helper(lowering, call, ONCE_PER_CALL) or not isinstance(helper, ast.Name):
        return None
    if not all(isinstance(a, ast.Constant) for a in (key, how)):
        return None
    assert isinstance(key, ast.Constant) and isinstance(how, ast.Constant)
    target: ast.Attribute | ast.Subscript
    if helper.id == OUTSIDE_UPDATES["attr"] and isinstance(key.value, str):
        target = ast.Attribute(owner, key.value, ast.Store())
    elif helper.id == OUTSIDE_UPDATES["item"]:
        target = ast.Subscript(owner, ast.Constant(key.value), ast.Store())
    else:
        return None
    operator = next((op for op, text in AUGMENTED.items() if text == how.value), None)
    spelled = str(how.value).removeprefix("r")
    binary = next((op for op, text in BINARY.items() if text == spelled), None)
    statement: ast.stmt
    if how.value == "=":
        statement = ast.Assign([target], value)
    elif operator is not None:
        statement = ast.AugAssign(target, operator(), value)
    elif binary is not None:  # calls = calls + 1
        read: ast.expr = ast.Subscript(owner, ast.Constant(key.value), ast.Load())
        if isinstance(target, ast.Attribute):
            read = ast.Attribute(owner, target.attr, ast.Load())
        left, right = (value, read) if str(how.value).startswith("r") else (read, value)
        statement = ast.Assign([target], ast.BinOp(left, binary(), right))
    else:
        return None
    return ast.fix_missing_locations(ast.copy_location(statement, call))
