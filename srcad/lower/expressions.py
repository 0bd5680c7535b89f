"""Lowering expressions: names, displays, operators, attributes and subscripts.

Expressions run as NumPy code on tracers, so every operation on data becomes an equation
through the ``GraphBuilder``; on compile-time values (ints, shapes, axis tuples) they run as
plain Python. Names resolve in the function's ``env``, then outside it: a global or a
closure cell is staged (``srcad.lower.world``). Calls and conditional expressions have
modules of their own (``calls``, ``branches``).
"""

from __future__ import annotations

import ast
import enum
import inspect
import operator
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np

from srcad.errors import NoDerivativeRule, SrcadError, UnsupportedSyntax, raised_as
from srcad.frontend.parse import root_name
from srcad.ir import Const, Var
from srcad.ir.builder import (
    SAME_AS_NUMPY,
    StaticValueNeeded,
    TraceError,
    Tracer,
    not_an_array,
)
from srcad.ir.world import WorldPath
from srcad.lower.dispatch import CALL, STRING_FORMATS, evaluate, lowers_expression
from srcad.lower.fixed_floats import fixed_when_needed
from srcad.lower.iteration import static_items
from srcad.lower.machine_state import refuse_reading_state_of_the_machine
from srcad.lower.objects import SuperView, class_attribute
from srcad.lower.operator_methods import (
    NOT_USERS,
    refuse_running_users_methods,
    truth_of,
    user_operator,
)
from srcad.lower.user_code import has_own_method, is_user_function
from srcad.lower.views import contains_tracer
from srcad.lower.world import Outside
from srcad.pytree import fields_of, flatten, is_namespace

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node

BINARY_OPERATORS: dict[type, Callable[[Any, Any], object]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}
# on values known when compiling only (1 << k of a loop's counter over a range)
STATIC_OPERATORS: dict[type, Callable[[Any, Any], object]] = {
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
}
UNARY_OPERATORS: dict[type, Callable[[Any], object]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
    ast.Invert: operator.invert,
}
COMPARE_OPERATORS: dict[type, Callable[[Any, Any], object]] = {
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
ARRAY_ATTRIBUTES = {"T", "shape", "ndim", "size", "dtype", "reshape", "transpose", "copy"}
# a function's or a module's namespace: values read when compiling, not on every call
NAMESPACE_ATTRIBUTES = frozenset({"__globals__", "__dict__", "__closure__", "__builtins__"})
NAMESPACE_OWNERS = (types.FunctionType, types.ModuleType)
ARRAY_ATTRIBUTES |= {"flatten", "astype", "real", "imag", "item", "tolist", *SAME_AS_NUMPY}
ARRAY_ATTRIBUTES |= {"nonzero"}  # of a mask: positions, followed as an index
MEMORY_LAYOUT = frozenset({"strides", "itemsize", "nbytes", "data", "ctypes", "base", "flags"})


@lowers_expression(ast.Constant)
def evaluate_constant(lowering: Lowering, node: ast.Constant) -> object:
    return node.value


@lowers_expression(ast.Name)
def evaluate_name(lowering: Lowering, node: ast.Name) -> object:
    return lookup(lowering, node.id, node)


def lookup(lowering: Lowering, name: str, node: Node) -> object:
    """The value of ``name``: bound in the function, or found outside it."""
    if name in lowering.env:
        return lowering.env[name]
    if name in lowering.unfollowed:
        raise lowering.located(UnsupportedSyntax, lowering.unfollowed[name], node)
    value, path = lowering.parsed.locate(name, node.lineno)
    if path is not None:  # a global or closure cell: staged (read every call, or fixed)
        return lowering.world.stage(value, path)
    if name not in lowering.parsed.closure:  # a builtin: while no global shadows it
        lowering.world.builtin(lowering.parsed.globals, name)
    if isinstance(value, np.ndarray):
        return lowering.builder.tracer(Const(value, name))
    return value


@lowers_expression(ast.Tuple)
def evaluate_tuple(lowering: Lowering, node: ast.Tuple) -> tuple[object, ...]:
    return tuple(starred_values(lowering, node.elts))


@lowers_expression(ast.List)
def evaluate_list(lowering: Lowering, node: ast.List) -> list[object]:
    return starred_values(lowering, node.elts)


def starred_values(lowering: Lowering, elements: list[ast.expr]) -> list[object]:
    """The values of ``elements`` in order, each ``*it`` unpacked into its items
    (``(*x.shape, 2)``, ``f(*xs)``): a tuple, a list, the rows of an array."""
    values: list[object] = []
    for element in elements:
        if isinstance(element, ast.Starred):
            iterable = evaluate(lowering, element.value)
            if isinstance(iterable, Outside):  # its items would be fixed, not read
                raise lowering.located(
                    UnsupportedSyntax,
                    f"'{ast.unparse(element)}' unpacks an object from outside the function; "
                    "srcad unpacks tuples, lists, dicts and arrays: convert it to one first",
                    element,
                )
            values.extend(static_items(lowering, iterable, element))
        else:
            values.append(evaluate(lowering, element))
    return values


@lowers_expression(ast.Dict)
def evaluate_dict(lowering: Lowering, node: ast.Dict) -> dict[object, object]:
    """``{k: v}``, and ``{**a, k: v}`` merging the dicts ``**`` names in order."""
    result: dict[object, object] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        if key is None:
            result.update(mapping_of(lowering, evaluate(lowering, value), value))
        else:
            result[_static_key(lowering, evaluate(lowering, key), key)] = evaluate(lowering, value)
    return result


def _static_key(lowering: Lowering, key: object, node: ast.expr) -> object:
    """A dict key, known when compiling: Python hashes and compares it (``{K: v}`` of a
    global float ``K``: ``K`` fixed when compiling, checked on every call)."""
    traced = tuple(leaf for leaf in flatten(key)[0] if isinstance(leaf, Tracer))
    if traced:
        raise StaticValueNeeded(
            f"the dict key '{ast.unparse(node)}' is computed from data (or drawn at random), "
            "but Python's dicts compare their keys when srcad compiles; use a key known then",
            lowering.builder.loc,
            traced,
        )
    return key


def mapping_of(lowering: Lowering, value: object, node: Node) -> dict[object, object]:
    """What ``**value`` unpacks: a dict known when compiling (its keys fixed)."""
    if not isinstance(value, dict):
        raise lowering.located(
            UnsupportedSyntax,
            f"'**{ast.unparse(node)}' unpacks a {type(value).__name__}; srcad unpacks dicts "
            "whose keys are known when compiling (pass a dict, or name the arguments)",
            node,
        )
    return value


# --- operators ----------------------------------------------------------------------------
@lowers_expression(ast.BinOp)
def evaluate_binary(lowering: Lowering, node: ast.BinOp) -> object:
    left, right = evaluate(lowering, node.left), evaluate(lowering, node.right)
    return binary(lowering, node.op, left, right, node)


def binary(
    lowering: Lowering,
    op: ast.operator,
    left: object,
    right: object,
    node: Node,
    in_place: bool = False,
) -> object:
    """``left op right`` (``left op= right`` where ``in_place``): an equation for data, the
    operator's method inlined for objects of the user's classes, Python's result for other
    compile-time values."""
    found = user_operator(lowering, op, (left, right), node, in_place)
    if found is not NOT_USERS:
        return found
    holds_data = contains_tracer(right) or (
        isinstance(right, dict) and contains_tracer(list(right.values()))
    )
    if isinstance(left, str) and isinstance(op, ast.Mod) and holds_data:
        return STRING_FORMATS[ast.Mod](lowering, left, right, node)  # "loss %.3f" % loss
    if (
        isinstance(op, ast.Add)
        and _is_text(left)
        and _is_text(right)
        and (isinstance(left, Tracer) or isinstance(right, Tracer))
    ):
        return STRING_FORMATS[ast.Add](lowering, left, right, node)  # "loss " + str(loss)
    if type(op) in STATIC_OPERATORS and not holds_data and not contains_tracer(left):
        shift = STATIC_OPERATORS[type(op)]
        return run_static(lowering, lambda: shift(left, right), node)
    _require_supported(lowering, op, node)
    if isinstance(left, Tracer) or isinstance(right, Tracer):
        for operand in (left, right):  # A @ x of a sparse matrix made here: its __matmul__
            if type(operand).__module__.startswith("scipy.sparse"):
                raise lowering.located(SrcadError, not_an_array(operand), node)
        return BINARY_OPERATORS[type(op)](left, right)
    for operand in (left, right):  # 0.1 * LAP of a sparse matrix: its own operators
        if isinstance(operand, Outside) and not isinstance(operand.value, types.ModuleType):
            raise lowering.located(SrcadError, not_an_array(operand), node)
    return run_static(lowering, lambda: BINARY_OPERATORS[type(op)](left, right), node)


def _is_text(value: object) -> bool:
    """A string, or text the generated code formats (``str(loss)``)."""
    return isinstance(value, str) or (isinstance(value, Tracer) and value.dtype == np.object_)


@lowers_expression(ast.UnaryOp)
def evaluate_unary(lowering: Lowering, node: ast.UnaryOp) -> object:
    operand = evaluate(lowering, node.operand)
    if isinstance(node.op, ast.Not) and isinstance(operand, Tracer):
        return logical(lowering, "logical_not", [operand], node)
    if isinstance(node.op, ast.Not):  # not gate: its class computes its truth
        operand = truth_of(lowering, operand, node.operand)
        if isinstance(operand, Tracer):
            return logical(lowering, "logical_not", [operand], node)
    found = user_operator(lowering, node.op, (operand,), node)
    if found is not NOT_USERS:
        return found
    _require_supported(lowering, node.op, node)
    return UNARY_OPERATORS[type(node.op)](operand)


def logical(lowering: Lowering, prim: str, operands: list[object], node: Node) -> object:
    """``prim`` (``logical_and``, ``logical_or``, ``logical_not``) of single truth values."""
    if any(isinstance(v, Tracer) and v.shape != () for v in operands):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' combines arrays; 'and', 'or' and 'not' need single "
            "truth values (use np.logical_and / np.all for arrays)",
            node,
        )
    return lowering.builder.apply(prim, tuple(operands))


@lowers_expression(ast.Compare)
def evaluate_comparison(lowering: Lowering, node: ast.Compare) -> object:
    """``a < b`` and chains ``a < b < c`` (each operand evaluated once)."""
    operands = [evaluate(lowering, node.left)]
    operands += [evaluate(lowering, c) for c in node.comparators]
    results: list[object] = []
    for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
        if isinstance(op, (ast.In, ast.NotIn)):
            results.append(_membership(lowering, op, left, right, node))
            continue
        if isinstance(op, (ast.Is, ast.IsNot)):
            none_test = _maybe_none(lowering, op, left, right)
            if none_test is not None:  # ret is None, of a value None in one branch
                results.append(none_test)
                continue
            _refuse_unknown_identity(lowering, left, right, node)
        found = user_operator(lowering, op, (left, right), node)
        if found is not NOT_USERS:
            results.append(found)
            continue
        left, right = (_compared_object(lowering, op, v, node) for v in (left, right))
        _require_supported(lowering, op, node)
        results.append(COMPARE_OPERATORS[type(op)](left, right))
    if not any(isinstance(r, Tracer) for r in results):
        return _static_comparison(lowering, results, node)
    result = results[0]
    for value in results[1:]:
        result = logical(lowering, "logical_and", [result, value], node)
    return result


SINGLETONS = (type(None), bool, type(Ellipsis), type(NotImplemented))


def _maybe_none(lowering: Lowering, op: ast.cmpop, left: object, right: object) -> object:
    """``ret is None`` (``is not``) of a value that is None in one branch of an ``if`` on
    data: the call's truth value (``Lowering.maybe_none``); None for any other."""
    value = left if right is None else right if left is None else None
    if not (isinstance(value, Tracer) and isinstance(value.atom, Var)):
        return None
    is_none = lowering.maybe_none.get(value.atom.id)
    if is_none is None:
        return None
    if isinstance(op, ast.Is):
        return is_none
    return lowering.builder.apply("logical_not", (is_none,))


def _refuse_unknown_identity(lowering: Lowering, left: object, right: object, node: Node) -> None:
    """``a is b`` where either is a container or a record (dataclass, object of the user's
    class) that came in as an argument or from outside: the lowering holds its own copies of
    those, so their identity says nothing about the call's (``f(cfg, cfg)``). Against None
    (or True, ...) the answer is known; of one name with itself, too; of values the function
    made, as Python's. Any other is refused. (Arrays are compared as the lowering holds
    them: values computed are new objects, as in Python; of two arrays that came in, from
    the arguments or globals, a call may pass one twice: refused.)"""
    if isinstance(left, SINGLETONS) or isinstance(right, SINGLETONS) or left is right:
        return
    if isinstance(left, Tracer) and isinstance(right, Tracer) and left.atom != right.atom:
        if _is_input(lowering, left) and _is_input(lowering, right):
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(node)}' asks whether two arrays or numbers from outside (the "
                "arguments, globals) are the same object, which srcad does not know: a call "
                "may pass one array twice. Compare with None, or pass a flag that says so",
                node,
            )
    if any(map(lowering.world.is_passed_in, (left, right))):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' asks whether two values are the same object, which srcad "
            "does not know for containers and objects passed in as arguments; "
            "compare with None, or pass a flag that says so",
            node,
        )


def _is_input(lowering: Lowering, value: Tracer) -> bool:
    """A value read from an argument or from outside, as it came in (not computed)."""
    return value.atom in lowering.world.input_classes


def _compared_object(lowering: Lowering, op: ast.cmpop, value: object, node: Node) -> object:
    """An object from outside the function (``CURRENT is MODEL_A``, ``self.kind == other``)
    compared by identity: ``is``, or ``==`` of a class that keeps object's own ``__eq__``.
    Its place is then fixed by identity (the guard checks it on every call). Any other
    comparison would run the object's own methods on what it holds now: refused."""
    if not isinstance(value, Outside):
        return value
    if value.is_argument and isinstance(op, (ast.Is, ast.IsNot)):
        return value.value  # rng is not None: a generator, as the signature says
    kind = type(value.value)
    by_identity = isinstance(op, (ast.Eq, ast.NotEq)) and kind.__eq__ is object.__eq__
    if isinstance(op, (ast.Is, ast.IsNot)) or by_identity:
        return lowering.world.fix(value.value, value.path)
    raise lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' compares {value.path.text}, a {kind.__name__} object, whose "
        "comparison srcad cannot check on every call; compare with 'is', or compare one of "
        "its attributes (an int, a string, a float)",
        node,
    )


def _membership(
    lowering: Lowering, op: ast.cmpop, item: object, container: object, node: Node
) -> object:
    """``kind in ("relu", "tanh")``, ``"W" in params``, ``mode in (Mode.A, Mode.B)``: known
    when compiling, where neither the item nor what it is compared with comes from data."""
    if isinstance(container, Outside) and isinstance(container.value, (dict, list, set)):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' looks into {container.path.text}, a "
            f"{type(container.value).__name__} from outside the function that srcad does not "
            "follow item by item (a cache the function fills?); call the function without "
            "the cache (f.__wrapped__ of a decorated f), or pass the answer in as an argument",
            node,
        )
    if isinstance(container, Outside):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' looks into {container.path.text}, a "
            f"{type(container.value).__name__} object, whose contents srcad cannot check on "
            "every call; test a list, tuple or dict written in the function, or pass the "
            "answer in as an argument",
            node,
        )
    if has_own_method(container, "__contains__"):  # 3 in bag: its class's test, inlined
        method = class_attribute(lowering, container, "__contains__", node)  # type: ignore[arg-type]
        found = truth_of(lowering, CALL[0](lowering, method, [item], {}, node), node)
        if isinstance(op, ast.In):
            return found
        return (
            logical(lowering, "logical_not", [found], node)
            if isinstance(found, Tracer)
            else not found
        )
    refuse_running_users_methods(lowering, _membership, [item, container], {}, node, "'in'")
    item = _compared_object(lowering, ast.Eq(), item, node)
    if isinstance(container, (list, tuple)):
        container = [_compared_object(lowering, ast.Eq(), v, node) for v in container]
    compared = container if isinstance(container, list) else [container]
    traced = [v for v in [item, *compared] if isinstance(v, Tracer)]
    if traced and all(_is_int(v) for v in traced):  # a loop counter: the loop unrolls
        raise StaticValueNeeded(
            f"'{ast.unparse(node)}' needs its ints when compiling", lowering.builder.loc
        )
    if traced and fixed_when_needed(lowering, tuple(traced)):  # K in (0.5, 0.25), K global
        raise StaticValueNeeded(
            f"'{ast.unparse(node)}' needs its values when compiling",
            lowering.builder.loc,
            tuple(traced),
        )
    if traced:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' tests whether a value computed from data is among "
            "others, which has no derivative; compare with np.isin or == instead",
            node,
        )
    found = run_static(lowering, lambda: item in container, node)  # type: ignore[operator]
    return bool(found) is isinstance(op, ast.In)


def _static_comparison(lowering: Lowering, results: list[object], node: ast.Compare) -> object:
    """A comparison of compile-time values, as Python computes it: one comparison of
    arrays is an array (``np.arange(3.0) > 0.5`` is a constant mask); a chain is the
    ``and`` of its links, which needs a single truth value from each."""
    if len(results) == 1:
        return results[0] if isinstance(results[0], np.ndarray) else all(results)
    if any(isinstance(r, np.ndarray) and r.size != 1 for r in results):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' chains comparisons of arrays, which needs single truth "
            "values (Python raises here too); write np.logical_and(a < b, b < c)",
            node,
        )
    return all(results)


def _require_supported(lowering: Lowering, op: ast.AST, node: Node) -> None:
    if type(op) in STATIC_OPERATORS:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' shifts the bits of a value computed from data; shift ints "
            "known when compiling, or multiply (x * 2 ** k)",
            node,
        )
    if type(op) not in BINARY_OPERATORS | UNARY_OPERATORS | COMPARE_OPERATORS:
        raise lowering.located(
            UnsupportedSyntax,
            f"the operator in '{ast.unparse(node)}' is not supported",
            node,
        )


def _is_int(value: Tracer) -> bool:
    """Whether a traced value holds integers (a loop counter, an index): ``//`` on those
    needs no derivative."""
    return value.aval.dtype.startswith(("int", "uint"))


def run_static(lowering: Lowering, compute: Callable[[], object], node: Node) -> object:
    """Run Python on compile-time values; what it raises is about the user's line
    (the plain function raises there too), not a bug in srcad."""
    try:
        return compute()
    except (TraceError, SrcadError):
        raise
    except (ArithmeticError, ValueError, TypeError, IndexError, KeyError) as error:
        raise lowering.located(raised_as(type(error)), plain_raises(node, error), node) from None
    except (RuntimeError, StopIteration) as error:  # a dict changed while gone through
        if type(error) not in (RuntimeError, StopIteration):  # RecursionError: not the user's
            raise
        raise lowering.located(raised_as(type(error)), plain_raises(node, error), node) from None


def plain_raises(node: ast.AST, error: Exception) -> str:
    """What the user's line raises while compiling, as the plain function raises it."""
    said = f": {error}" if str(error) else ""
    return (
        f"'{ast.unparse(node)}' raises {type(error).__name__}{said} (the plain function "
        "raises here too)"
    )


# --- attributes and subscripts ------------------------------------------------------------
def mangled(lowering: Lowering, name: str) -> str:
    """``name`` as Python spells it in a method of class ``C``: ``self.__k`` is
    ``self._C__k`` (a private name); other names as they are."""
    if not name.startswith("__") or name.endswith("__"):
        return name
    function = lowering.parsed.fn
    parts = getattr(function, "__qualname__", "").split(".")[:-1]
    owner = next((part for part in reversed(parts) if part != "<locals>"), "")
    is_class = bool(owner) and (len(parts) < 2 or parts[-1] != "<locals>")
    stripped = owner.lstrip("_")
    return f"_{stripped}{name}" if is_class and stripped else name


@lowers_expression(ast.Attribute)
def evaluate_attribute(lowering: Lowering, node: ast.Attribute) -> object:
    value = evaluate(lowering, node.value)
    if node.attr.startswith("__") and not node.attr.endswith("__"):
        node = ast.copy_location(
            ast.Attribute(node.value, mangled(lowering, node.attr), node.ctx), node
        )
    if node.attr in NAMESPACE_ATTRIBUTES and isinstance(value, NAMESPACE_OWNERS):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' reads a namespace, whose values srcad would read once, "
            "when compiling; write the names themselves (ALPHA, not f.__globals__['ALPHA'])",
            node,
        )
    if _is_python_float(value) and not hasattr(0.0, node.attr):
        raise lowering.located(  # an argument passed a float where an object was meant
            raised_as(AttributeError),
            f"'{ast.unparse(node)}' reads the attribute '{node.attr}' of a float, which has "
            "none by that name (the plain function raises AttributeError here too); pass an "
            "object that has it",
            node,
        )
    if _is_python_float(value) and node.attr not in ARRAY_ATTRIBUTES:
        raise lowering.located(  # K.is_integer() of a global float K: a value of the run
            NoDerivativeRule,
            f"'{ast.unparse(node)}' calls a method of a Python float that srcad reads on "
            "every call (a global, an argument), which it does not follow; write it with "
            "arithmetic (K % 1.0 == 0.0 for K.is_integer()) or NumPy",
            node,
        )
    if isinstance(value, Tracer) and node.attr in MEMORY_LAYOUT:
        raise lowering.located(
            UnsupportedSyntax,
            f"'.{node.attr}' asks for the memory layout of an array, which srcad's generated "
            "code lays out itself; for windows over an array (im2col with as_strided) use "
            "np.lib.stride_tricks.sliding_window_view, which srcad follows",
            node,
        )
    if isinstance(value, Tracer) and not hasattr(np.ndarray, node.attr):
        raise lowering.located(  # x.nonexistent: Python's AttributeError
            raised_as(AttributeError),
            f"'{ast.unparse(node)}': a NumPy array has no attribute '{node.attr}' (the plain "
            "function raises AttributeError here too)",
            node,
        )
    if isinstance(value, Tracer) and node.attr not in ARRAY_ATTRIBUTES:
        raise lowering.located(
            NoDerivativeRule,
            f"the array attribute '.{node.attr}' is not supported; supported: "
            + ", ".join(sorted(ARRAY_ATTRIBUTES)),
            node,
        )
    try:
        if isinstance(value, Outside):  # cfg.scale, self.W: read on every call
            return lowering.world.attribute(value, node.attr)
        if _is_function_attribute(value, node.attr):  # f.scale = 2.0: read on every call
            return lowering.world.attribute(function_as_outside(lowering, value), node.attr)
        if isinstance(value, SuperView):  # super().forward
            return value.attribute(lowering, node.attr, node)
        if isinstance(value, enum.Enum) and _is_users_method(type(value), node.attr):
            return class_attribute(lowering, value, node.attr, node)  # Act.RELU.slope()
        fields = fields_of(value)
        is_own = node.attr in getattr(value, "__dict__", {})  # set in its __post_init__
        if fields is not None and node.attr not in fields and not is_own:
            if not is_namespace(value):
                return class_attribute(lowering, value, node.attr, node)  # hp.SCALE
        found = getattr(value, node.attr)
    except AttributeError as error:
        missing = _missing_attribute(value, node, error)
        raise lowering.located(raised_as(AttributeError), missing, node) from None
    if isinstance(value, types.ModuleType):  # os.environ: read once, when compiling
        refuse_reading_state_of_the_machine(lowering, found, node)
    return found


def _is_python_float(value: object) -> bool:
    return isinstance(value, Tracer) and value.aval.is_weak and value.aval.dtype == "float64"


def _missing_attribute(value: object, node: ast.Attribute, error: AttributeError) -> str:
    """Why ``value`` has no attribute ``node.attr``: a dataclass or a NamedTuple argument
    comes in as its fields (one set on it after it was made is not among them)."""
    fields = fields_of(value)
    if fields is None or is_namespace(value):
        return str(error)
    kind = type(value).__name__
    return (
        f"'{ast.unparse(node)}' is not a field of {kind} (its fields: "
        f"{', '.join(fields) or 'none'}): srcad takes a {kind} argument as its fields, so an "
        f"attribute set on it after it was made is not seen; declare '{node.attr}' a field "
        f"of {kind}, or pass it as an argument of its own"
    )


def _is_users_method(cls: type, name: str) -> bool:
    """Whether ``name`` is a method or property the user wrote in ``cls``."""
    found = inspect.getattr_static(cls, name, None)
    getter = found.fget if isinstance(found, property) else found
    return is_user_function(getter)


def function_as_outside(lowering: Lowering, function: types.FunctionType) -> Outside:
    """A function of the user's whose attributes the code reads (``f.scale``,
    ``getattr(f, "w", 1.0)``): an outside object, its attributes read (or their presence
    checked) on every call as an object's are."""
    path = WorldPath(function, root_name(function), (), root_name(function))
    return Outside(function, path, world=lowering.world)


def _is_function_attribute(value: object, name: str) -> TypeGuard[types.FunctionType]:
    """An attribute a user set on a function of theirs (``f.scale = 2.0``, a decorator's
    ``f.calls``), or its defaults, which may change between calls like a global."""
    if not isinstance(value, types.FunctionType):
        return False
    if name in ("__defaults__", "__kwdefaults__"):  # helper.__defaults__[0], generated code's
        return True
    return name in getattr(value, "__dict__", {}) and not name.startswith("__")


@lowers_expression(ast.Subscript)
def evaluate_subscript(lowering: Lowering, node: ast.Subscript) -> object:
    return subscript_of(
        lowering, evaluate(lowering, node.value), index_of(lowering, node.slice), node
    )


def subscript_of(lowering: Lowering, value: object, index: object, node: ast.Subscript) -> object:
    """``value[index]``, which ``node`` writes."""
    if isinstance(value, Tracer) and value.ndim == 0 and value.aval.is_weak:
        raise lowering.located(  # d["a"] of a float argument
            raised_as(TypeError),
            f"'{ast.unparse(node)}' indexes a Python number, which is not subscriptable (the "
            "plain function raises TypeError here too); pass the container, or the array, "
            "that the code indexes",
            node,
        )
    if isinstance(value, Outside) and not contains_tracer(index):
        try:  # state["target"] of a big dict or an object: read on every call
            # a key that is itself an outside object (self.shapes[layer]) is used as itself
            return lowering.world.item(value, lowering.world.unwrap(index))
        except (IndexError, KeyError, TypeError) as error:
            raise lowering.located(
                raised_as(type(error)), plain_raises(node, error), node
            ) from None
    if isinstance(value, np.ndarray) and contains_tracer(index):
        value = lowering.builder.tracer(Const(value))
    if (value is np.r_ or value is np.c_) and contains_tracer(index):
        return joined(lowering, value, index, node)
    if not isinstance(value, Tracer) and contains_tracer(index):
        raise StaticValueNeeded(  # COEF[int(K * 2)] of a global K: fixed, then known
            _data_index_message(value, index, node), lowering.builder.loc, _traced_in(index)
        )
    if not isinstance(value, Outside) and has_own_method(value, "__getitem__"):
        method = class_attribute(lowering, value, "__getitem__", node)  # bag[0]: inlined
        return CALL[0](lowering, method, [index], {}, node)
    if isinstance(value, dict):  # params[key] of a key object: its __hash__ and __eq__ run
        refuse_running_users_methods(lowering, dict.get, [index], {}, node, "a dict's lookup")
    container: Any = value  # any value: Python's TypeError if it has no items
    try:
        item = container[index]
    except (IndexError, KeyError, TypeError) as error:
        raise lowering.located(raised_as(type(error)), plain_raises(node, error), node) from None
    lowering.views.note(item, value, index, lowering)  # row = M[0]: its writes go to M
    return item


def _traced_in(index: object) -> tuple[Tracer, ...]:
    """The traced values an index holds (its items', a slice's bounds)."""
    items = index if isinstance(index, tuple) else (index,)
    parts = [
        p for i in items for p in ((i.start, i.stop, i.step) if isinstance(i, slice) else (i,))
    ]
    return tuple(p for p in parts if isinstance(p, Tracer))


def _data_index_message(value: object, index: object, node: ast.Subscript) -> str:
    """Why a Python container cannot be indexed with ``index`` (where the index is not a
    loop's counter, whose loop unrolls)."""
    kind = type(value.value if isinstance(value, Outside) else value).__name__
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(item, slice) and contains_tracer(item) for item in items):
        return (
            f"'{ast.unparse(node)}' slices a Python {kind} at positions computed from data; "
            "slice it with ints known when compiling (a loop's counter over a range), or make "
            "it an array and pick with np.take(a, start + np.arange(length))"
        )
    return (
        f"'{ast.unparse(node)}' indexes a Python {kind} with a value computed from data; "
        "index lists with ints, or stack them into an array first"
    )


def joined(lowering: Lowering, joiner: object, index: object, node: ast.Subscript) -> object:
    """``np.r_[x, c, 0:3]`` and ``np.c_[x, y]`` with traced items, as the joins NumPy
    makes: ``np.r_`` concatenates along the first axis (scalars as 1-element arrays, slices
    as ranges), ``np.c_`` along the last (vectors as columns)."""
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(item, str) for item in items):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': the string directives of np.r_ and np.c_ are not "
            "supported; use np.concatenate or np.stack with axis=",
            node,
        )
    pieces = [np.r_[item] if isinstance(item, slice) else item for item in items]
    if joiner is np.r_:
        return np.concatenate([np.atleast_1d(piece) for piece in pieces], axis=0)
    columns = [np.reshape(p, (-1, 1)) if np.ndim(p) < 2 else p for p in pieces]
    return np.concatenate(columns, axis=-1)


def index_of(lowering: Lowering, node: ast.expr) -> object:
    """A subscript's index: slices and tuples evaluated part by part."""
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return slice(*[None if p is None else evaluate(lowering, p) for p in parts])
    if isinstance(node, ast.Tuple) and any(isinstance(e, ast.Starred) for e in node.elts):
        return tuple(starred_values(lowering, node.elts))  # x[*index] (Python 3.11)
    if isinstance(node, ast.Tuple):
        return tuple(index_of(lowering, element) for element in node.elts)
    return evaluate(lowering, node)
