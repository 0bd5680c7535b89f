"""Appends to lists that live outside the function: ``history.append(float(loss))`` of a
module's list, ``self.losses.append(loss)``, ``LOG["loss"].extend(values)``, a ``deque``'s
``append``. The generated code makes the call on every call, in the user's order, on the
list its path finds then (a global rebound to a new list gets the appends, as in Python);
every transformation makes it once per call, as ``print``.

The list itself is not staged. srcad reads what a function reads from outside before its
first line runs, so a list the function both reads (``len(history)``, ``history[-1]``) and
appends to would be read before the appends: that is refused, by any path the read takes
(``srcad.lower.outside_state``). An array the function computes is appended as a copy: the
generated code may reuse the memory of an array once nothing of its own reads it (an
argument's array is appended itself, as Python appends it).

Before:  history.append(float(loss))          (history: a list of the module)
After:   outside_call(float(loss))  callee=history.append
"""

from __future__ import annotations

import ast
import collections
from typing import TYPE_CHECKING

import numpy as np

from srcad.errors import SrcadError, UnsupportedSyntax
from srcad.frontend.syntax import nodes
from srcad.ir.builder import TraceError, Tracer
from srcad.ir.world import ONCE_PER_CALL, ONCE_PER_CALL_MODULE, WorldPath
from srcad.lower.dispatch import evaluate
from srcad.lower.objects import is_made
from srcad.lower.outside_state import WHOLE
from srcad.lower.world import Outside, outside_call
from srcad.pytree import fields_of

if TYPE_CHECKING:
    from srcad.lower.context import Lowering

APPENDING = frozenset({"append", "extend", "appendleft", "extendleft"})
KEPT_AS_THEY_ARE = (bool, int, float, complex, str, bytes, type(None), np.generic, np.ndarray)
LISTS = (list, collections.deque)


def appended_list(lowering: Lowering, node: ast.expr) -> tuple[ast.Call, WorldPath, object] | None:
    """The call of the statement ``node`` that appends one value to a list from outside
    (``history.append(v)``, ``self.log.extend(vs)``) and where that list lives; None for any
    other statement. Generated code's ``once_per_call(history.append, v)`` (differentiated
    again by ``hessian``) is ``history.append(v)``."""
    if not isinstance(node, ast.Call):
        return None
    generated = calls_runtime_helper(lowering, node, ONCE_PER_CALL) and len(node.args) == 2
    if generated:  # generated code: what the path holds now is appended to, whatever it is
        node = ast.Call(node.args[0], node.args[1:], node.keywords)
        ast.copy_location(node, node.func)
    if not isinstance(node.func, ast.Attribute):
        return None
    if node.func.attr not in APPENDING or len(node.args) != 1 or node.keywords:
        return None
    if isinstance(node.args[0], ast.Starred):
        return None
    place = outside_place(lowering, node.func.value)
    if place is None or not (generated or type(place[0]) in LISTS):
        return None
    if not hasattr(place[0], node.func.attr):  # a list's appendleft
        return None
    return node, place[1], place[0]


def calls_runtime_helper(lowering: Lowering, node: ast.expr, name: str) -> bool:
    """Whether ``node`` is generated code's call of ``srcad.runtime.passes``'s ``name``
    (``once_per_call``, ``refuse_changed_arguments``), differentiated again (``hessian``)."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return False
    if node.func.id != name or name in lowering.env or name in lowering.unfollowed:
        return False
    value, _ = lowering.parsed.locate(name, node.lineno)
    return getattr(value, "__module__", None) == ONCE_PER_CALL_MODULE


def append_outside(lowering: Lowering, node: ast.Call, place: WorldPath, appended: object) -> None:
    """The call ``node`` (see ``appended_list``) that appends to the list ``appended`` at
    ``place``, made by the generated code on every call."""
    assert isinstance(node.func, ast.Attribute)
    value = kept(lowering, evaluate(lowering, node.args[0]), node)
    method_name = node.func.attr
    method = getattr(appended, method_name)
    callee = place.child("attr", method_name, f"{place.text}.{method_name}")
    outside_call(lowering.builder, method, callee, [value], {}, once=True)
    refusal = lowering.located(
        UnsupportedSyntax,
        f"'{place.text}' is appended to here and also read in the function; srcad reads "
        "what comes from outside before the function's first line runs, so the reads would "
        f"not see the appends: read '{place.text}' outside the function, or keep the values "
        "in a list of the function's own",
        node,
    )
    lowering.world.changes(place, appended, WHOLE, refusal)


def outside_place(lowering: Lowering, node: ast.expr) -> tuple[object, WorldPath] | None:
    """The object ``node`` names and its path, for a global or closure name, an outside
    object the function holds, and attributes or literal items of them; read without
    staging it. None for anything else (a local value, an argument's)."""
    if isinstance(node, ast.Name):
        if node.id in lowering.env:
            held = lowering.env[node.id]
            if isinstance(held, Outside) and not held.is_argument:
                return held.value, held.path
            return None
        if node.id in lowering.unfollowed:
            return None
        value, path = lowering.parsed.locate(node.id, node.lineno)
        return None if path is None else (value, path)
    if isinstance(node, ast.Attribute):
        base = outside_place(lowering, node.value)
        if base is None or isinstance(base[0], (list, tuple, np.ndarray)):
            return None
        if not hasattr(base[0], node.attr):
            return None
        return getattr(base[0], node.attr), base[1].child("attr", node.attr, ast.unparse(node))
    if isinstance(node, ast.Subscript) and (key := static_key(lowering, node.slice)) is not None:
        base = outside_place(lowering, node.value)
        if base is None or not isinstance(base[0], dict) or key[0] not in base[0]:
            return None
        return base[0][key[0]], base[1].child("item", key[0], ast.unparse(node))
    return None


def static_key(lowering: Lowering, index: ast.expr) -> tuple[object] | None:
    """The key ``index`` stands for, where it is known when compiling: a literal
    (``STATE["step"]``), or names holding strs or ints that are (a str argument or global,
    a name of a loop over a list of strings), alone or in an f-string, a tuple or a sum
    (``COUNTS[f"{split}_n"]``, ``COUNTS[split, 0]``), as a 1-tuple; None otherwise. Only
    such expressions are evaluated here: nothing in them runs twice."""
    if isinstance(index, ast.Constant):
        return (index.value,)
    if not all(isinstance(n, KEY_PARTS) for n in nodes(index)):
        return None
    try:  # a str global: fixed, and checked on every call
        key = evaluate(lowering, index)
    except (SrcadError, TraceError):  # a name not bound yet (before the body is lowered)
        return None
    return (key,) if _is_static_key(key) else None


def _is_static_key(key: object) -> bool:
    if isinstance(key, tuple):
        return all(_is_static_key(item) for item in key)
    return type(key) in STATIC_KEYS


# what a key known when compiling is made of, and what it may be
KEY_PARTS = (
    ast.Name,
    ast.Constant,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Tuple,
    ast.BinOp,
    ast.Add,
)
STATIC_KEYS = (str, int, bool)


def kept(lowering: Lowering, value: object, node: ast.stmt | ast.expr) -> object:
    """``value`` with copies of the arrays it computes (in lists, tuples and dicts too): what
    is kept outside must not change when the generated code reuses their memory. An
    argument's array is the caller's, kept as it is (as Python keeps it). The arrays and the
    objects made in the function that are kept are recorded: the function may not change
    them afterwards (``World.kept``), as Python's list would see that change. Only data is
    kept: numbers, strings, arrays, records and containers of them (not a generator, a
    lambda, a zip: srcad's own stand-ins for them would be kept)."""
    if isinstance(value, Tracer):
        is_argument = getattr(value.atom, "id", None) in lowering.world.argument_ids
        if value.aval.shape == () or is_argument:
            return value
        lowering.world.keep(value, _changed_later(lowering, value, node))
        return value.copy()
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        if isinstance(value, list):  # rebuilt where it is kept
            lowering.world.keep(value, _changed_later(lowering, value, node))
        return type(value)(kept(lowering, item, node) for item in value)
    if isinstance(value, dict) and type(value) is dict:
        lowering.world.keep(value, _changed_later(lowering, value, node))
        return {key: kept(lowering, item, node) for key, item in value.items()}
    if isinstance(value, (*KEPT_AS_THEY_ARE, Outside)):
        return value
    if fields_of(value) is not None or is_made(value, lowering.world.made):
        lowering.world.keep(value, _changed_later(lowering, value, node))  # rebuilt there
        return value
    kind = type(value)
    what = f"a {kind.__name__} object"
    if kind.__module__.startswith("srcad."):  # its stand-in for a generator, a lambda, a zip
        what = "an iterator, a generator or a function"
    raise lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' keeps {what} outside the function; "
        "srcad keeps numbers, strings, arrays and lists, tuples, dicts and records of them: "
        "make one of those first (list(...), a tuple of the values)",
        node,
    )


def _changed_later(lowering: Lowering, value: object, node: ast.stmt | ast.expr) -> SrcadError:
    """The refusal of a change to ``value`` after the statement ``node`` kept it outside."""
    what = "an array" if isinstance(value, Tracer) else f"a {type(value).__name__}"
    return lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' keeps {what} outside the function that the function changes "
        "afterwards; Python's outside list or attribute holds that object and sees the "
        "change, srcad's keeps it as it was here: keep a copy (x.copy(), list(xs), "
        "copy.copy(obj)), or change a new one",
        node,
    )
