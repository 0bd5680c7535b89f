"""Lowering the statements that are neither assignments nor control flow.

``def`` binds a local function (inlined where it is called), ``return`` ends the body with
its value, ``pass`` does nothing. An expression statement must have an effect srcad can
follow: ``np.add.at(y, ...)``, a method that builds a Python list (``hs.append(h)``), or a
call the generated code makes on every call (``print``, a random draw, a setting such as
``warnings.simplefilter``), or a call of a function that returns nothing (``check(x)``,
which validates, prints or raises); anything else is refused, since a value nobody reads
cannot change the result. ``raise``, ``assert`` and ``with`` are in ``srcad.lower.effects``,
imports in ``srcad.lower.imports``.
"""

from __future__ import annotations

import ast
import copy
import random
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np

from srcad.errors import UnsupportedSyntax, raised_as
from srcad.ir.builder import Tracer
from srcad.ir.world import REFUSE_CHANGED_ARGUMENTS
from srcad.lower import imports, literals  # noqa: F401  (register their rules)
from srcad.lower.assignments import add_at, assign
from srcad.lower.branches import ReturnReached
from srcad.lower.calls import CONTAINER_METHODS, local_function
from srcad.lower.dispatch import dispatch_statement, evaluate, lowers_statement, no_effect
from srcad.lower.effects import is_setting_call, lower_setting_call
from srcad.lower.outside_lists import append_outside, appended_list, calls_runtime_helper
from srcad.lower.outside_writes import written_outside
from srcad.lower.world import Outside, outside_callee
from srcad.lower.write_calls import lower_write_call

if TYPE_CHECKING:
    from srcad.lower.context import Lowering


@lowers_statement(ast.FunctionDef)
def lower_function_definition(lowering: Lowering, node: ast.FunctionDef, since: int) -> None:
    lowering.env[node.name] = local_function(lowering, node)


@lowers_statement(ast.Return)
def lower_return(lowering: Lowering, node: ast.Return, since: int) -> None:
    if isinstance(node.value, ast.Call):  # log = lambda v: history.append(v): its None
        appended = appended_list(lowering, node.value)
        if appended is not None:
            append_outside(lowering, *appended)
            raise ReturnReached(None)
    raise ReturnReached(evaluate(lowering, node.value) if node.value is not None else None)


@lowers_statement(ast.Pass)
def lower_pass(lowering: Lowering, node: ast.Pass, since: int) -> None:
    return


@lowers_statement(ast.Delete)
def lower_delete(lowering: Lowering, node: ast.Delete, since: int) -> None:
    """``del tmp`` of names no later statement reads (the frontend refuses others): the
    values are no longer needed, which srcad's code works out itself."""
    return


@lowers_statement(ast.Global)
@lowers_statement(ast.Nonlocal)
def lower_declaration(lowering: Lowering, node: ast.Global | ast.Nonlocal, since: int) -> None:
    """``global CONFIG`` of a name the function only reads (the frontend refuses one it
    assigns): names are looked up as Python looks them up either way."""
    return


@lowers_statement(ast.Expr)
def lower_expression_statement(lowering: Lowering, node: ast.Expr, since: int) -> None:
    if isinstance(node.value, ast.Constant):
        return  # a docstring or a bare constant
    if isinstance(node.value, ast.Call) and lower_write_call(lowering, node.value):
        return  # setattr(self, k, v), d.__setitem__(k, v): the assignments they make
    filled = _as_subscript_assignment(lowering, node.value)
    if filled is not None:  # np.fill_diagonal(M, v): M[arange(k), arange(k)] = v
        dispatch_statement(lowering, filled, since)
    elif (scattered := _scattered_by(lowering, node.value)) is not None:
        add_at(lowering, scattered[0], negated=scattered[1] is np.subtract)
    elif (sort := _array_sort(lowering, node.value)) is not None:  # y[...] = np.sort(y)
        _lower_sort(lowering, sort, since)
    elif calls_runtime_helper(lowering, node.value, REFUSE_CHANGED_ARGUMENTS):
        return  # refuse_changed_arguments(...): the lowering writes its own, first
    elif written_outside(lowering, node):
        return  # generated code's once_per_call(update_attribute, model, "calls", "+=", 1)
    elif (appended := appended_list(lowering, node.value)) is not None:
        append_outside(lowering, *appended)  # history.append(loss): on every call
    elif _is_container_method_call(node.value) or _skips_an_item(lowering, node.value):
        evaluate(lowering, node.value)  # hs.append(h): builds a Python list at compile time
    elif isinstance(node.value, ast.Call) and _is_outside_call(lowering, node.value):
        evaluate(lowering, node.value)  # print(...), rng.shuffle(...): runs on every call
    elif isinstance(node.value, ast.Call) and is_setting_call(lowering, node.value):
        lower_setting_call(lowering, node.value)  # warnings.simplefilter("ignore")
    elif isinstance(node.value, ast.Call) and _is_procedure_call(lowering, node.value):
        return  # check(x): a function of the user's that validates or prints
    elif id(node) in lowering.checks and isinstance(evaluate(lowering, node.value), Tracer):
        return  # np.linalg.cholesky(K) in a try block: kept for what it raises
    elif isinstance(node.value, ast.Call):
        raise lowering.located(
            UnsupportedSyntax,
            f"the result of '{ast.unparse(node.value)}' is not used; srcad follows values, "
            "so a function that changes an array in place must return it, to be assigned "
            f"(y = f(y)), or its call has no effect here",
            node,
        )
    elif any(isinstance(n, ast.Call) for n in ast.walk(node.value)):
        evaluate(lowering, node.value)  # [h(d, v) for v in vs], h(d) or None: their calls
    else:
        raise no_effect(lowering, node)


FILLS = ("copyto", "fill_diagonal")  # np.<name>(array, value) that fill the array


def _as_subscript_assignment(lowering: Lowering, call: ast.expr) -> ast.Assign | None:
    """NumPy's calls that fill an array of the function's in place, as the subscript
    assignment srcad follows: ``y.fill(v)`` and ``np.copyto(y, v)`` are ``y[...] = v``,
    a ufunc's ``out=y`` is ``y[...] =`` its value,
    ``np.fill_diagonal(M, v)`` is ``M[np.arange(k), np.arange(k)] = v`` (k: the shortest
    side, as NumPy fills it without ``wrap``)."""
    if not isinstance(call, ast.Call):
        return None
    written_out = _ufunc_into(lowering, call)
    if written_out is not None:
        return written_out
    shuffled = _shuffled(lowering, call)
    if shuffled is not None:
        return shuffled
    if call.keywords or len(call.args) not in (1, 2):
        return None
    if isinstance(call.func, ast.Attribute) and call.func.attr == "fill" and len(call.args) == 1:
        array, value = call.func.value, call.args[0]
        if not _is_written_array(lowering, array):
            return None
        calls = any(isinstance(n, ast.Call) for n in ast.walk(value))  # (evaluated again)
        shape = () if calls else getattr(evaluate(lowering, value), "shape", ())
        if shape != ():
            raise lowering.located(
                raised_as(ValueError),
                f"'{ast.unparse(call)}' raises ValueError (the plain function raises here "
                f"too): fill takes a number, not an array of shape {shape}; write "
                f"{ast.unparse(array)}[...] = ... to copy an array in",
                call,
            )
        return _assignment(call, array, ast.Constant(Ellipsis), value)
    named = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    if named not in FILLS or len(call.args) != 2:  # print(...), rng.shuffle(...): not read
        return None
    function = evaluate(lowering, call.func)
    if function not in (np.copyto, np.fill_diagonal):
        return None
    array, value = call.args
    if not _is_written_array(lowering, array):
        return None
    target: Any = evaluate(lowering, array)
    if function is np.copyto:
        return _assignment(call, array, ast.Constant(Ellipsis), value)
    if target.ndim < 2 or (target.ndim > 2 and len(set(target.shape)) > 1):
        return None  # NumPy's own error: kept for the refusal below
    # [0, 1, ..., k - 1]: a list of ints, whatever the module calls numpy
    diagonal = ast.List([ast.Constant(k) for k in range(min(target.shape))], ast.Load())
    index = ast.Tuple([diagonal] * target.ndim, ast.Load())
    return _assignment(call, array, index, value)


# NumPy functions besides ufuncs whose ``out=y`` fills y with what they return
WRITING_OUT: tuple[Any, ...] = (np.clip, np.dot, np.cumsum, np.cumprod, np.sum, np.prod)
WRITING_OUT += (np.mean, np.round, np.max, np.min, np.amax, np.amin, np.concatenate)
WRITING_OUT += (np.take, np.std, np.var)


def _ufunc_into(lowering: Lowering, call: ast.Call) -> ast.Assign | None:
    """``np.add(a, b, out=y)`` of an array ``y`` is ``y[...] = np.add(a, b)``; so are
    ``np.clip(h, lo, hi, out=y)``, ``h.clip(lo, hi, out=y)``, ``np.cumsum(h, out=y)`` and the
    other ``WRITING_OUT`` calls as statements."""
    outs = [k for k in call.keywords if k.arg == "out"]
    if len(outs) != 1:
        return None
    out: ast.expr = outs[0].value
    index: ast.expr = ast.Constant(Ellipsis)
    view = out if isinstance(out, ast.Subscript) else None
    if view is not None and _is_view_index(view.slice):  # out=y[:2]: a view
        out, index = view.value, view.slice
    if not isinstance(out, ast.Name):
        return None
    function = evaluate(lowering, call.func)
    is_clip_method = isinstance(call.func, ast.Attribute) and call.func.attr == "clip"
    if not (isinstance(function, np.ufunc) or function in WRITING_OUT or is_clip_method):
        return None
    if not _is_array(evaluate(lowering, out)):
        return None
    others = [k for k in call.keywords if k.arg != "out"]
    value = ast.copy_location(ast.Call(call.func, call.args, others), call)
    return _assignment(call, out, index, value)


def _is_view_index(index: ast.expr) -> bool:
    """An index of slices and int literals: NumPy gives a view, which ``out=`` writes
    through (an index array would give a copy, which the write would leave alone)."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return all(
        isinstance(part, ast.Slice) or isinstance(part, ast.Constant) and type(part.value) is int
        for part in parts
    )


def _shuffled(lowering: Lowering, call: ast.Call) -> ast.Assign | None:
    """``rng.shuffle(y)`` of a NumPy generator and an array ``y`` is ``y[...] =
    y[rng.permutation(len(y))]``: NumPy's ``permutation`` shuffles with the same draws, and
    the gather is followed (a draw run as it is would leave ``y`` unshuffled in the code)."""
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "shuffle"):
        return None
    function = evaluate(lowering, call.func)
    owner = function.owner.value if isinstance(function, Outside) and function.owner else None
    owner = getattr(function, "__self__", owner)
    is_numpys = isinstance(owner, (np.random.Generator, np.random.RandomState))
    if not is_numpys and not isinstance(owner, random.Random):
        return None  # a shuffle of the user's own
    if not is_numpys or len(call.args) != 1 or not _is_array(evaluate(lowering, call.args[0])):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(call)}' shuffles in place what srcad lays out when compiling (a "
            "Python list, or anything with Python's random.shuffle), so the order drawn on "
            "each call would not reach the code; draw the order as an array with NumPy and "
            "index with it: order = rng.permutation(n) (or np.random.permutation(n)), then "
            "X[order], or rng.shuffle(y) of an array y",
            call,
        )
    axis = [k.value for k in call.keywords if k.arg == "axis"]
    if len(call.args) != 1 or len(call.keywords) != len(axis) or axis and not _is_zero(axis[0]):
        raise lowering.located(
            UnsupportedSyntax,
            "srcad follows 'shuffle' of one array along its first axis; along another, write "
            "y = np.take(y, rng.permutation(y.shape[axis]), axis=axis)",
            call,
        )
    array = call.args[0]
    if not isinstance(array, ast.Name) or not _is_array(evaluate(lowering, array)):
        return None  # refused as a call whose result is not used
    draw = ast.Attribute(call.func.value, "permutation", ast.Load())
    length = ast.Call(ast.Name("len", ast.Load()), [ast.Name(array.id, ast.Load())], [])
    order = ast.Call(draw, [length], [])
    value = ast.Subscript(ast.Name(array.id, ast.Load()), order, ast.Load())
    return _assignment(call, array, ast.Constant(Ellipsis), value)


def _is_zero(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == 0


def _is_array(value: object) -> TypeGuard[Tracer | np.ndarray]:
    return isinstance(value, (Tracer, np.ndarray))


def _is_written_array(lowering: Lowering, node: ast.expr) -> bool:
    """Whether ``node`` names an array a fill can write into: ``y``, or a subscript of one
    without calls (``y[1:]``: the write goes through the view, ``srcad.lower.assignments``;
    it is evaluated again there)."""
    if isinstance(node, ast.Subscript):
        calls = any(isinstance(n, ast.Call) for n in ast.walk(node))
        return (
            not calls
            and _is_written_array(lowering, node.value)
            and _is_array(evaluate(lowering, node))
        )
    return isinstance(node, ast.Name) and _is_array(evaluate(lowering, node))


def _assignment(call: ast.Call, array: ast.expr, index: ast.expr, value: ast.expr) -> ast.Assign:
    """``array[index] = value``, located at ``call``."""
    target = ast.Subscript(_loaded(array), index, ast.Store())
    assignment = ast.Assign([target], value, lineno=call.lineno)
    return ast.fix_missing_locations(ast.copy_location(assignment, call))


def _loaded(node: ast.expr) -> ast.expr:
    """``node`` (a name or a subscript of one) as read."""
    copied = copy.deepcopy(node)
    for part in ast.walk(copied):
        if hasattr(part, "ctx"):
            part.ctx = ast.Load()
    return copied


def _skips_an_item(lowering: Lowering, node: ast.expr) -> bool:
    """``next(it)`` as a statement: the item skipped, as Python does."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return False
    return node.func.id == "next" and evaluate(lowering, node.func) is next


def _is_procedure_call(lowering: Lowering, call: ast.Call) -> bool:
    """Whether ``call`` (lowered here) returns nothing: a helper of the user's that
    validates, prints, sets attributes of objects the function made (``kick(state, h)``),
    or writes into arrays its caller passed (given back: ``srcad.lower.aliasing``), also
    where it returns one of them too (``normalize(v)``, which returns ``v``), or writes
    outside (``self.forward(x)``, which sets ``self.out`` and returns it too)."""
    before, writes = dict(lowering.env), lowering.world.writes_outside
    result = evaluate(lowering, call)
    given_back = any(lowering.env.get(name) is not value for name, value in before.items())
    return result is None or given_back or lowering.world.writes_outside > writes


def _is_outside_call(lowering: Lowering, call: ast.Call) -> bool:
    return outside_callee(evaluate(lowering, call.func)) is not None


# ufuncs whose ``.at(y, index, values)`` srcad follows: np.subtract.at adds the values negated
SCATTERING_UFUNCS = (np.add, np.subtract)


def _scattered_by(lowering: Lowering, node: ast.expr) -> tuple[ast.Call, np.ufunc] | None:
    """A call ``np.add.at(y, index, values)`` or ``np.subtract.at(...)`` and its ufunc."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if node.func.attr != "at":
        return None
    ufunc = getattr(evaluate(lowering, node.func), "__self__", None)
    if not isinstance(ufunc, np.ufunc) or not any(ufunc is u for u in SCATTERING_UFUNCS):
        return None
    return node, ufunc


def _array_sort(lowering: Lowering, call: ast.expr) -> ast.Call | None:
    """``call`` where it is ``y.sort()`` or ``y.sort(axis=k)`` of an array the function
    holds by name."""
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return None
    if call.func.attr != "sort" or call.args or any(k.arg != "axis" for k in call.keywords):
        return None
    array = call.func.value
    is_array = isinstance(array, ast.Name) and _is_array(lowering.env.get(array.id))
    is_view = isinstance(array, ast.Subscript) and _is_written_array(lowering, array)
    return call if is_array or is_view else None


def _lower_sort(lowering: Lowering, call: ast.Call, since: int) -> None:
    """``y.sort(axis=k)`` sorts ``y`` in place: the subscript assignment of its sorted
    values, which writes into ``y`` as NumPy does (an alias read later is refused)."""
    assert isinstance(call.func, ast.Attribute)
    axis: Any = evaluate(lowering, call.keywords[0].value) if call.keywords else -1
    array: Any = evaluate(lowering, call.func.value)  # a tracer: np.sort records its equation
    values = np.sort(array, axis=axis)
    target = ast.Subscript(_loaded(call.func.value), ast.Constant(Ellipsis), ast.Store())
    assign(lowering, ast.fix_missing_locations(ast.copy_location(target, call)), values, since)


# a list's or dict's methods whose result a statement may drop (xs.pop(): the item removed)
STATEMENT_METHODS = CONTAINER_METHODS | {"pop", "popitem", "remove", "clear", "reverse", "sort"}


def _is_container_method_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in STATEMENT_METHODS
    )
