"""Lowering calls: NumPy functions, builtins, the user's own functions and outside objects.

A NumPy function with a rule becomes its primitive's equation; a builtin on traced values
(``len``, ``max``, ``float``) works through the array protocol or its NumPy equivalent;
calls on compile-time values run as plain Python. The user's functions, ``def`` and
``lambda`` inside the function, and methods of the user's objects are inlined: their body is
lowered with a ``Lowering`` of its own, its equations located in its own source lines.
Random draws and effects (``print``, logging) are run by the generated code on every call.
"""

from __future__ import annotations

import ast
import collections
import copy
import functools
import inspect
import itertools
import logging
import math
import operator
import os
import random
import sysconfig
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeGuard

import numpy as np

from srcad.errors import NoDerivativeRule, SrcadError, UnsupportedSyntax, raised_as
from srcad.frontend import ParsedFunction, parse_function
from srcad.frontend.desugar import (
    Comprehension,
    comprehension_function,
    fresh_name,
    names_in,
    sum_function,
    was_generator,
)
from srcad.frontend.parse import root_name
from srcad.ir.builder import StaticValueNeeded, TraceError, Tracer, record_call
from srcad.ir.graph import Const
from srcad.ir.primitive import CUSTOM, SETTING_TYPES, Prim
from srcad.ir.prims import prim_of
from srcad.ir.selection import Selection, positions_of
from srcad.ir.tracer import asks_positions
from srcad.ir.world import AT_LINE, AT_LINE_MODULE, WorldPath
from srcad.lower.aliasing import give_back, live_values
from srcad.lower.along_axis import along_axis
from srcad.lower.assignments import assign, check_not_passed_twice
from srcad.lower.branches import lower_body
from srcad.lower.callees import (
    CONTAINER_METHODS,
    Args,
    ContainerMethod,
    Kwargs,
    array_of,
    as_array,
    call_leaves,
    is_container_method,
    is_numpy_scalar_type,
    is_str_format,
    is_traceable_builtin,
    no_rule,
    numpy_spelling,
    traced_builtin,
)
from srcad.lower.compositions import LuFactors, composition_of, lu_factor, lu_solve
from srcad.lower.containers import (
    generator_states,
    restore_containers,
    restore_generators,
    snapshot_containers,
)
from srcad.lower.context import EnclosingNames, Inlining, LocalFunction, Lowering
from srcad.lower.dispatch import CALL, evaluate, lowers_expression
from srcad.lower.distributions import Frozen, frozen_method, is_distribution
from srcad.lower.draws import reparameterized
from srcad.lower.expressions import binary, mapping_of, run_static, starred_values
from srcad.lower.fixed_floats import fix_arrays_behind, value_of_constants
from srcad.lower.generators import Deferred, OneShot, consumed, function_reads, reads_as_it_goes
from srcad.lower.interp1d import interpolant_value, is_interpolant
from srcad.lower.interpolate import (
    is_piecewise_polynomial,
    is_spline_method,
    spline_method,
    spline_value,
)
from srcad.lower.iteration import (
    DICT_VIEWS,
    DependsOnData,
    Enumerated,
    Rows,
    Zipped,
    first_item,
    static_items,
    structured_iteration,
)
from srcad.lower.library_calls import (
    OF_KEYS,
    attribute_test,
    class_of,
    is_standard_library_call,
    refuse_reading_state,
    standard_library_module,
    uncached,
)
from srcad.lower.literals import method_formatted, text_of
from srcad.lower.machine_state import (
    refuse_reading_namespaces,
    refuse_reading_state_of_the_machine,
    refuse_running_text,
)
from srcad.lower.objects import (
    Partial,
    call_object,
    called_record_method,
    is_object_call,
    made_object,
    special_method,
    super_view,
)
from srcad.lower.operator_methods import (
    ordering_key,
    orders_users_objects,
    refuse_running_users_methods,
    users_method_run_by,
)
from srcad.lower.outside_writes import note_written_dicts
from srcad.lower.polynomials import is_polynomial, polynomial_value
from srcad.lower.solvers import solver_of
from srcad.lower.transforms import call_transformation, is_transformation
from srcad.lower.user_code import has_own_method, is_user_function
from srcad.lower.user_rules import rely_on_registrations, rely_on_user_rules
from srcad.lower.vectorized import vectorized_call
from srcad.lower.world import (
    Outside,
    is_hashable,
    outside_call,
    outside_callee,
    reports_a_line,
)
from srcad.lower.write_calls import lower_write_call
from srcad.pytree import (
    flatten,
    is_library_class,
    is_plain_class,
    leaves_of,
    not_plain_because,
    unflatten,
)

MAX_INLINE_DEPTH = 40
# NumPy's functions that write into an argument and return None: what to write instead
IN_PLACE = {
    "put": "a[np.unravel_index(ind, a.shape)] = v (a[ind] = v for a vector)",
    "putmask": "a[mask] = values, or a = np.where(mask, values, a)",
    "place": "a[mask] = vals",
}


@lowers_expression(ast.Call)
def evaluate_call(lowering: Lowering, node: ast.Call) -> object:
    if lower_write_call(lowering, node):  # setattr(self, k, v): self.k = v
        return None
    function = evaluate(lowering, node.func)
    if function is sum and _sums_a_comprehension(node):
        return _sum_of_comprehension(lowering, node)
    args = starred_values(lowering, node.args)  # f(*xs): the items of xs
    return call(lowering, function, args, _keyword_values(lowering, node), node)


def _keyword_values(lowering: Lowering, node: ast.Call) -> Kwargs:
    """The keyword arguments, ``**opts`` unpacked; a name given twice is Python's error."""
    kwargs: Kwargs = {}
    for keyword in node.keywords:
        value = evaluate(lowering, keyword.value)
        given = {keyword.arg: value} if keyword.arg else mapping_of(lowering, value, keyword.value)
        for name, item in given.items():
            if not isinstance(name, str) or name in kwargs:
                problem = "a key that is not a string" if not isinstance(name, str) else ""
                raise lowering.located(
                    raised_as(TypeError),
                    f"'{ast.unparse(node)}' passes {problem or repr(name) + ' twice'} "
                    "(the plain function raises TypeError here too)",
                    node,
                )
            kwargs[name] = item
    return kwargs


def call(
    lowering: Lowering, function: object, args: Args, kwargs: Kwargs, node: ast.Call
) -> object:
    """The result of ``function(*args, **kwargs)``, which ``node`` writes."""
    function = uncached(function)
    _refuse_lu_factors(function, args, kwargs)
    widened = _narrow_floats_widened(function, args)
    if any(w is not a for w, a in zip(widened, args, strict=True)):  # math.exp(x32[0])
        return _as_python_float(call(lowering, function, widened, kwargs, node))
    refuse_records_in_arrays(lowering, args, kwargs, node)
    if is_hashable(function) and function in OF_SHAPE and args and isinstance(args[0], Tracer):
        args = [np.broadcast_to(False, args[0].shape), *args[1:]]  # K of diag_indices_from(K)
    _refuse_unfollowed(lowering, function, args, node)
    if is_polynomial(function):  # p = np.poly1d([2.0, -1.0]) made in the function: p(x)
        return polynomial_value(lowering, function, list(args), dict(kwargs), node, call)
    if is_interpolant(function):  # f = interp1d(t, y) (or a global one): f(xq)
        return interpolant_value(lowering, function, list(args), dict(kwargs), node)
    if is_piecewise_polynomial(function):  # s = CubicSpline(t, y) (or a global one): s(xq)
        return spline_value(lowering, function, list(args), dict(kwargs), node)
    if is_spline_method(function):  # s.derivative(), s.integrate(0.0, 1.0)
        return spline_method(lowering, function, list(args), dict(kwargs))
    if is_transformation(function):  # srcad.grad, jvp, vjp, ... in differentiated code
        return call_transformation(lowering, function, args, kwargs, node, call)
    if function is super:  # super().forward(x) in a method
        return super_view(lowering, list(args), node)
    if is_distribution(function):  # stats.gamma(2.0, scale=theta): its methods by name
        return Frozen(function, tuple(args), dict(kwargs))
    frozen = frozen_method(lowering.world, function)
    if frozen is not None:  # PRIOR.logpdf(x) of a frozen distribution SciPy made
        function = frozen
    if is_object_call(function):  # partials, map, NamedTuples and dataclasses
        return call_object(lowering, function, args, kwargs, node, call)
    if isinstance(function, np.vectorize):  # np.vectorize(lambda v: v**2 + 1.0)(x)
        return vectorized_call(lowering, function, list(args), dict(kwargs), node, call)
    if function is np.apply_along_axis:  # func1d called on each slice, as NumPy calls it
        return along_axis(lowering, list(args), dict(kwargs), node, call)
    method = called_record_method(lowering, function, node)
    if method is not None:  # layer(h) of a Layer argument: its class's __call__
        return call(lowering, method, args, kwargs, node)
    special = special_method(lowering, function, args, node)
    if special is not None:  # float(box): Box.__float__(box), as Python calls it
        return call(lowering, special, list(args[1:]), kwargs, node)
    if _asks_a_logger(function):  # if log.isEnabledFor(logging.DEBUG): a setting of the run
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' asks a logger for its settings, which srcad would read "
            "once, when compiling (and its log calls run only in the generated code); log "
            "without asking (log.debug checks the level itself), or test a setting of yours "
            "(if VERBOSE:), which is read on every call",
            node,
        )
    if _is_at_line(function) and len(args) >= 2:  # generated code's warning, again: its line
        where, effect, *rest = args
        return outside_call(
            lowering.builder, effect, outside_callee(effect), rest, kwargs, at=where
        )
    if is_hashable(function) and function in GENERATOR_MAKERS and _unseeded(args, kwargs):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' makes a random generator without a seed, which draws "
            "fresh numbers on every call; srcad makes a generator the function makes when "
            "compiling, and would draw once: make it outside the function and pass it in "
            "(rng = np.random.default_rng(); f(x, rng)), or give it a seed",
            node,
        )
    if isinstance(getattr(function, "__self__", None), LOCAL_GENERATORS):
        draw = reparameterized(lowering, function, args, kwargs, node)
        if draw is not None:  # r.normal(mu, sigma) of r = default_rng(seed) made here
            return draw
    callee = outside_callee(function)
    if callee is not None:  # random draws, print, logging: run by the generated code
        draw = reparameterized(lowering, function, args, kwargs, node)
        if draw is not None:  # rng.normal(mu, sigma): mu + sigma * rng.standard_normal(...)
            return draw
        at = _users_line(lowering) if reports_a_line(function) else None
        return outside_call(lowering.builder, function, callee, args, kwargs, at=at)
    if isinstance(function, Outside):
        return _call_outside_object(lowering, function, args, kwargs, node)
    if not is_user_function(function) and not isinstance(function, LocalFunction):
        if is_hashable(function) and function in ITERATING:  # list(model): its own __iter__
            args = [_own_items(lowering, value, node) for value in args]
        if function is next and args and isinstance(args[0], OneShot):  # hands out items
            return _next_of_one_shot(lowering, args[0], list(args[1:]), node)
        before = dict(lowering.env)
        args = [consumed(lowering, value, node) for value in args]  # sum(gen), zip(gen, ...)
        if function in (any, all) and lowering.rebound_since(before):
            raise lowering.located(  # any(h(d, v) for v in x): Python's stops at the first
                UnsupportedSyntax,
                f"'{ast.unparse(node)}' goes through a generator whose calls change a value "
                "(a helper writing into an array you pass it), and stops where the data "
                "decide, so Python makes fewer of the calls; loop over the items with 'if' "
                "and 'break' instead",
                node,
            )
        if function not in LAZY_OVER_ITEMS:  # iter(d.values()) goes through d as it is then
            args = [_items_of_view(value) for value in args]
        kwargs = {name: consumed(lowering, value, node) for name, value in kwargs.items()}
        if function in (getattr, hasattr) and len(args) >= 2 and isinstance(args[1], str):
            return attribute_test(lowering, function, args, kwargs, node)
        if function in (getattr, hasattr) and len(args) >= 2 and isinstance(args[1], Tracer):
            raise StaticValueNeeded(  # a loop's counter in the name: the loop unrolls
                f"'{ast.unparse(node)}' names the attribute with text computed when the code "
                "runs; name it with text known when compiling (an f-string of a loop's "
                "counter over a range is one: the loop is unrolled)",
                lowering.builder.loc,
            )
        if function is type and len(args) == 1 and not kwargs:
            return class_of(lowering, args[0], node)
        refuse_reading_state(lowering, function, args, kwargs, node)
        refuse_reading_namespaces(lowering, function, tuple(args), node)
        refuse_running_text(lowering, function, node)
        if not _rearranges(function):  # reversed(model.layers): the layers as read, staged
            args = lowering.world.unwrap(args)  # a library call sees the objects
            kwargs = lowering.world.unwrap(kwargs)
    if is_hashable(function) and function in OF_KEYS and len(args) == 1 and type(args[0]) is dict:
        args = [list(args[0])]  # sorted(params): its keys, known when compiling
    if function in ITERATOR_MAKERS:  # iter(np.zeros(2)): a later write into it is checked
        args = [_traced_if_array(lowering, value) for value in args]
    is_traced = any(isinstance(v, Tracer) for v in call_leaves(args, kwargs))
    if is_traced and _finds_positions(function, args, kwargs):
        positions = _of_constants(args)
        finder: Any = function  # np.nonzero and its kin
        if positions is not None:  # np.nonzero(MASK) of a global mask, fixed and checked
            return finder(*positions, **kwargs)
        fix_arrays_behind(lowering, tuple(args))  # np.nonzero(yobs > 0.5): yobs fixed
        known = [value_of_constants(lowering, value) for value in args]
        if all(value is not None for value in known):  # ... and lowered again: known now
            return finder(*known, **kwargs)
        if asks_positions(function, tuple(args), dict(kwargs)):  # x[np.nonzero(x > 0)]
            found = positions_of(args[0], lowering.builder.loc)
            return found[0] if function is np.flatnonzero else found
    solver = solver_of(function)  # (also on constants: its dynamics may read globals)
    if solver is not None:  # scipy.integrate.odeint: one equation, the adjoint as its rule
        return solver(lowering, list(args), dict(kwargs), node)
    is_inlined = is_user_function(function) or isinstance(function, LocalFunction)
    if not is_inlined and any(isinstance(v, Selection) for v in call_leaves(args, kwargs)):
        return _call_on_selection(function, args, kwargs)
    operator_node = OPERATOR_FUNCTIONS.get(function) if is_hashable(function) else None
    if operator_node is not None and len(args) == 2 and not kwargs:  # operator.mul(a, b)
        if users_method_run_by(function, list(args), {}) is not None:
            return binary(lowering, operator_node(), args[0], args[1], node)
    if is_traced and is_str_format(function):  # "loss {:.3f}".format(loss)
        template: Any = getattr(function, "__self__", "")
        return method_formatted(lowering, template, list(args), dict(kwargs), node)
    if is_traced and function is math.log and len(args) == 2:
        return traced_builtin(lowering, math.log, args, kwargs, node)
    if is_traced and function is np.array and len(args) == 1:
        kept = isinstance(args[0], Tracer) and kwargs.get("copy", True) is not True
        if kept and np.dtype(kwargs.get("dtype") or args[0].dtype) == args[0].dtype:
            return args[0]  # np.array(y, copy=None): y itself, as NumPy gives it
        return array_of(args[0], kwargs.get("dtype"))
    if is_traced and is_numpy_scalar_type(function) and len(args) == 1 and not kwargs:
        cast: Any = as_array(args[0])  # np.int64(x), np.float32(x): a cast
        if isinstance(cast, Tracer) and cast.aval.is_weak:  # of a Python float: NumPy's
            cast = lowering.builder.apply("asarray", (cast,))
        return cast.astype(function)
    # lu_solve((lu, piv), np.ones(3)): the factors stand for a traced matrix; lu_factor of a
    # matrix known when compiling gives them too, for lu_solve
    is_traced = is_traced or any(map(_holds_lu_factors, args))
    is_traced = is_traced or composition_of(function) is lu_factor
    composition = composition_of(function) if is_traced else None
    if composition is not None:  # np.interp, np.polyval: the NumPy calls they are made of
        return _composed(lowering, composition, args, kwargs, node)
    prim = prim_of(function)
    if prim is not None and prim.name == "stop_gradient" and len(args) == 1 and not kwargs:
        leaves, tree = flatten(args[0])  # stop_gradient(params): each leaf of the tree
        builder = lowering.builder
        stopped = [
            record_call(builder, prim.name, (leaf,), {}) if isinstance(leaf, Tracer) else leaf
            for leaf in leaves
        ]
        return unflatten(tree, stopped)
    if prim is not None and is_traced:
        if prim.kind == CUSTOM:  # a function of the user's with a rule of theirs
            rely_on_user_rules(lowering.world, prim)
            return _custom_call(lowering, prim, args, kwargs, node)
        result = record_call(lowering.builder, prim.name, tuple(args), kwargs, as_array)
        return _python_float_of_math(function, result)
    if isinstance(function, types.MethodType) and isinstance(function.__self__, Tracer):
        return function(*args, **kwargs)
    owner = getattr(function, "__self__", None)
    if is_traced and isinstance(owner, np.ndarray):
        # a method of a constant array with traced arguments: C.dot(x) is np.dot(C, x)
        constant = lowering.builder.tracer(Const(owner))
        method = getattr(constant, getattr(function, "__name__", ""), None)
        if callable(method):
            return method(*args, **kwargs)
    if orders_users_objects(function, args, kwargs):  # sorted(items) by Item.__lt__, lowered
        kwargs = {**kwargs, "key": ordering_key(lowering, node)}
    if _is_keyed_order(function, kwargs):  # sorted(xs, key=lambda v: v[0]), xs.sort(key=f)
        return _ordered_by_key(lowering, function, args, kwargs, node)
    if is_traced and _counts(function, args, kwargs):  # math.factorial(k), k a loop's counter
        raise StaticValueNeeded(
            f"'{ast.unparse(node)}' computes with integers known only when the code runs; "
            "srcad runs it when compiling, on ints known then (a loop's counter over a range "
            "is one: the loop is unrolled)",
            lowering.builder.loc,
        )
    if function is filter and len(args) == 2 and isinstance(args[1], Tracer) and args[1].ndim:
        args = [args[0], list(args[1])]  # filter(test, x): x's rows, as Python iterates them
    if function is iter and len(args) == 1 and isinstance(args[0], Tracer) and args[0].ndim:
        return Rows(args[0])  # iter(x): x's rows, as Python iterates them
    if function is reversed and len(args) == 1 and isinstance(args[0], Tracer) and args[0].ndim:
        return Rows(args[0][::-1])  # reversed(x): the rows of a view, as NumPy reads them
    if is_traced and _hands_back_items(function, args):  # iter(hs), itemgetter(1)(pair)
        items: Any = function
        return items(*[_as_callable(lowering, a, node) for a in args], **kwargs)
    if function is sum and users_method_run_by(sum, list(args), kwargs) is not None:
        return _sum_of_objects(lowering, list(args), kwargs, node)  # sum of Vec(...)s
    if is_traced and is_traceable_builtin(function):
        refuse_running_users_methods(lowering, function, list(args), dict(kwargs), node)
        return traced_builtin(lowering, function, args, kwargs, node)
    if is_container_method(function):
        return _call_container_method(lowering, function, args, kwargs, node)
    if is_standard_library_call(function, args, kwargs):  # statistics.median(weights)
        return _run_on_constants(lowering, function, args, kwargs, node)
    if _is_generator_function(function):  # runs when consumed, as Python's does
        run = functools.partial(_inline, lowering, function, args, kwargs, node)
        reads, scope = function_reads(lowering, function)
        held = (*args, *kwargs.values())
        return Deferred(run, ast.unparse(node), reads, held=held, scope=scope)
    if standard_library_module(function) is not None:  # statistics.mean(values)
        return _inline_library(lowering, function, args, kwargs, node)
    if is_user_function(function) or isinstance(function, LocalFunction):
        if is_user_function(function):  # a rule given to it later compiles again
            rely_on_registrations(lowering.world)
        return _inline(lowering, function, args, kwargs, node)
    return _call_python(lowering, function, args, kwargs, node, is_traced)


CALL.append(call)  # a property's getter, for srcad.lower.objects.class_attribute


def _custom_call(lowering: Lowering, prim: Prim, args: list, kwargs: dict, node: ast.Call):
    """A call of a function with a rule of the user's: on arrays and numbers, or on dicts,
    lists and tuples of them, with settings among them (a string, None, a function of
    outside): a primitive of the arrays and numbers, the settings fixed
    (``srcad.api.custom.on_leaves``)."""
    args, kwargs = _positional(lowering, prim, args, kwargs, node)
    leaves, tree = flatten(tuple(args))
    _refuse_settings(lowering, prim, [*leaves, *kwargs.values()], node)
    settings = tuple((k, leaf) for k, leaf in enumerate(leaves) if _is_setting(leaf))
    is_flat = all(child.kind == "leaf" for child in tree.children)
    if kwargs or prim.on_leaves is None or (is_flat and not settings):
        name, arrays = prim.name, list(args)
    else:
        try:
            name = prim.on_leaves(tree, settings)
        except SrcadError as error:
            raise lowering.located(type(error), str(error), node) from None
        arrays = [leaf for leaf in leaves if not _is_setting(leaf)]
    if prim.with_output_tree is not None and not kwargs:  # a dict or a NamedTuple back
        try:
            name = prim.with_output_tree(name, tuple(arrays))
        except SrcadError as error:
            raise lowering.located(type(error), str(error), node) from None
    return record_call(lowering.builder, name, tuple(arrays), kwargs, as_array)


def _positional(
    lowering: Lowering, prim: Prim, args: list, kwargs: dict, node: ast.Call
) -> tuple[list, dict]:
    """A call's arguments in the order of the function's parameters, its defaults filled
    in (``softplus(x)`` of ``def softplus(x, beta=2.0)``, ``scale(z, k=2.0)``); a library
    function's (``defvjp(np.prod, rule)``) as the call gives them, its defaults left to it
    (``np.prod``'s are NumPy's own markers, and the rule takes what the call passes)."""
    if not is_user_function(prim.fn):
        return list(args), kwargs
    try:
        signature = inspect.signature(prim.fn)
    except (TypeError, ValueError):
        return list(args), kwargs
    kinds = {p.kind for p in signature.parameters.values()}
    if inspect.Parameter.VAR_KEYWORD in kinds or inspect.Parameter.KEYWORD_ONLY in kinds:
        return list(args), kwargs
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise lowering.located(
            raised_as(TypeError),
            f"'{ast.unparse(node)}' raises TypeError: {error} (the plain function raises here "
            "too)",
            node,
        ) from None
    bound.apply_defaults()
    return list(bound.args), {}


NUMBERS_AND_ARRAYS = (Tracer, int, float, complex, np.ndarray, np.generic)


def _is_setting(value: object) -> bool:
    return isinstance(value, SETTING_TYPES)


def _refuse_settings(lowering: Lowering, prim: Prim, values: list, node: ast.Call) -> None:
    """A function with a rule of the user's takes arrays and numbers, a cotangent each, and
    settings (a string, None, a function from outside the function); anything else among
    its arguments is refused at the call."""
    for value in values:
        if isinstance(value, NUMBERS_AND_ARRAYS) or (prim.on_leaves and _is_setting(value)):
            continue
        name = getattr(prim.fn, "__name__", prim.called_as)
        shown = f" ({value!r:.40})" if isinstance(value, (str, bytes)) else ""
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' passes {name} a {type(value).__name__}{shown}, "
            f"and {name} has a derivative rule of yours (custom_vjp, defvjp): srcad passes it "
            "arrays and numbers (in dicts, lists and tuples), a cotangent each, and settings "
            "(strings, None, functions defined outside the function); pass the others' "
            "arrays as arguments of their own, or make them part of the function (define "
            "the custom_vjp in a function that takes them and returns it)",
            node,
        )


def _is_generator_function(
    function: object,
) -> TypeGuard[types.FunctionType | LocalFunction]:
    """A generator function of the user's, at module level or defined in the function."""
    if isinstance(function, LocalFunction):
        return was_generator(function.parsed.node)
    return is_user_function(function) and inspect.isgeneratorfunction(function)


# Builtins that turn a value into text (run once, when compiling, they would show srcad's
# stand-in): str, repr and format become f-strings (``text_of``), the others are refused
TEXT_OF_VALUES = frozenset({str, repr, format, ascii, bytes})
# itertools' functions that only rearrange what they are given (finite ones: no count, cycle
# or repeat): run on the rows of traced arrays, they give tuples of traced values
ARRANGING = frozenset(
    getattr(itertools, name)
    for name in (
        "combinations combinations_with_replacement permutations product chain "
        "zip_longest islice pairwise compress"
    ).split()
)
# Builtins that hand back the items they are given, rearranged: given outside objects
# (model.layers), they keep them as read through their paths, read again on every call
REARRANGING = (
    frozenset({list, tuple, dict, reversed, iter, next, sorted, filter, zip, enumerate, max, min})
    | ARRANGING
    | {leaves_of}  # generated code's leaves of a rule's tree (differentiated again)
)


# Builtins that make iterators over arrays: given an array the function made as a constant
# (np.zeros(2)), they get it traced, as iterators over computed arrays are (srcad.lower.
# aliasing then sees a later write into the array, which NumPy's iterator would read)
ITERATOR_MAKERS = (iter, enumerate, zip, reversed)


def _traced_if_array(lowering: Lowering, value: object) -> object:
    if isinstance(value, np.ndarray) and value.ndim:
        return lowering.builder.tracer(Const(value))
    return value


# Builtins that iterate over their arguments (``reversed`` and ``next`` call other methods)
ITERATING = frozenset({list, tuple, dict, sorted, filter, zip, enumerate, max, min})
ITERATING |= {math.fsum, math.prod}  # math.fsum(iter(x)): the rows it has left


def _own_items(lowering: Lowering, value: object, node: ast.Call) -> object:
    """The items of an object whose class defines ``__iter__``, as it gives them, and of
    ``enumerate`` / ``zip`` of traced arrays (list(enumerate(w))); any other value as it
    is."""
    if has_own_method(value, "__iter__") or isinstance(value, (Enumerated, Zipped, Rows)):
        return static_items(lowering, value, node)
    return value


def _narrow_floats_widened(function: object, args: Args) -> Args:
    """The arguments of a ``math`` function, a float32 number among them (or in a list or
    tuple of them: ``math.dist``) made a Python float first, as ``math`` computes in double
    precision (``math.exp(x[0])``)."""
    if getattr(function, "__module__", None) != "math" or function in MATH_EXACT:
        return args
    return [_widened(arg) for arg in args]


# math's functions whose answer the float32 number's precision does not change (ints,
# tests): left as the user wrote them (math.floor(x[0] * k))
MATH_EXACT = frozenset(
    {math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite, math.fabs}
    | {math.prod}  # multiplies the items as they are (float32 numbers stay float32)
)


def _widened(value: object) -> object:
    """A float32 (float16) traced number as a Python float; lists and tuples item by item;
    anything else as it is."""
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        items = [_widened(item) for item in value]
        same = all(a is b for a, b in zip(items, value, strict=True))
        return value if same else type(value)(items)
    if not isinstance(value, Tracer) or value.shape != () or value.dtype.kind != "f":
        return value
    return value.builder.apply("python_float", (value,)) if value.dtype.itemsize < 8 else value


def _refuse_lu_factors(function: object, args: Args, kwargs: Kwargs) -> None:
    """Refuse lu_factor's factors given to anything but lu_solve (isinstance(lu, ...),
    hasattr(lu, "shape"), type(lu): the plain function's answers are the arrays')."""
    factor = next(_lu_factors_in([*args, *kwargs.values()]), None)
    if factor is None or composition_of(function) is lu_solve:
        return
    if is_user_function(function) or isinstance(function, (LocalFunction, Partial)):
        return  # a helper of the user's that passes them on to lu_solve: lowered as written
    raise TraceError(factor.srcad_refusal, None)


def _lu_factors_in(value: object) -> Iterator[LuFactors]:
    """lu_factor's factors in ``value``, in its tuples and lists too."""
    if isinstance(value, LuFactors):
        yield value
    elif type(value) in (tuple, list):
        for item in value:  # type: ignore[attr-defined]
            yield from _lu_factors_in(item)


def _holds_lu_factors(value: object) -> bool:
    """``lu_factor``'s result, or one of its two factors (``srcad.lower.compositions``)."""
    return next(_lu_factors_in(value), None) is not None


def _as_python_float(result: object) -> object:
    """A math function's result computed on widened float32 numbers, a Python float where
    it is a traced float number (the generated code's np.exp of a float gives np.float64,
    which would make float32 arithmetic after it float64)."""
    if isinstance(result, Tracer) and result.ndim == 0 and result.dtype.kind == "f":
        return result.builder.apply("python_float", (result,))
    return result


def _python_float_of_math(function: object, result: object) -> object:
    """``math.sqrt(v)`` of a NumPy number is a Python float (weak, rounded by ``round``
    as Python does), which NumPy's row on it is not."""
    is_math = getattr(function, "__module__", None) == "math"
    if is_math and isinstance(result, Tracer) and result.shape == () and not result.aval.is_weak:
        if result.dtype.kind == "f":
            return result.builder.apply("python_float", (result,))
    return result


def _rearranges(function: object) -> bool:
    return is_hashable(function) and function in REARRANGING


def _counts(function: object, args: Args, kwargs: Kwargs) -> bool:
    """A function of the math module (``factorial``, ``comb``, ``gcd``) given only
    integers, some of them traced (a loop's counter)."""
    if getattr(function, "__module__", None) != "math" or function in (math.log, math.isclose):
        return False
    leaves = call_leaves(args, kwargs)
    integers = [leaf for leaf in leaves if isinstance(leaf, Tracer)]
    return bool(integers) and all(leaf.dtype.kind in "iub" for leaf in integers)


def _next_of_one_shot(lowering: Lowering, shot: OneShot, default: list, node: ast.Call) -> object:
    """``next(e)`` of a ``zip`` or ``enumerate`` of arrays: its items, handed out one by
    one from the first ``next`` on (a loop over it afterwards is refused as a second pass)."""
    items = getattr(shot, "handed_out", None)
    if items is None:
        items = iter(static_items(lowering, shot, node))
        shot.handed_out = items  # type: ignore[attr-defined]
    try:
        return next(items, *default)
    except StopIteration:
        raise lowering.located(
            raised_as(StopIteration),
            f"'{ast.unparse(node)}' raises StopIteration (the plain function raises here too)",
            node,
        ) from None


def _hands_back_items(function: object, args: Args) -> bool:
    """A builtin that rearranges containers holding traced values (not arrays themselves,
    whose rows other rules give), or an ``operator.itemgetter``: run as Python."""
    if isinstance(function, (operator.itemgetter, operator.attrgetter)):
        return True
    rearranging = _rearranges(function) and function not in (max, min, sorted)
    if function is next and args and isinstance(args[0], list):
        return False  # a generator srcad ran to its end: refused in _call_python
    if function is next and args:  # next(it, 2 * x): a default computed from data
        return not isinstance(args[0], Tracer)
    return rearranging and not any(isinstance(a, Tracer) for a in args)


# max(d.values()), sorted(d.items()): a library function sees the items, as it iterates them
# (the builtins that make lazy iterators over them go through the dict as it is then)
LAZY_OVER_ITEMS = frozenset({iter, reversed, zip, enumerate, filter, map})


def _items_of_view(value: object) -> object:
    return list(value) if isinstance(value, DICT_VIEWS) else value  # type: ignore[call-overload]


def _as_callable(lowering: Lowering, value: object, node: ast.Call) -> object:
    """A ``lambda`` or ``def`` of the user's (or a method of a record) given to a library
    function run when compiling (``sorted(names, key=lambda n: len(n))``, ``brentq(lambda t:
    t**2 - 2.0, 0.0, 2.0)``, ``quad(integrand, 0.0, 1.0)``): a Python function that lowers it
    on each call, on constants. A result computed from data, or from values read on every
    call (a global ``integrand`` reads), ends the library call (``DependsOnData``)."""
    is_users_method = isinstance(value, types.MethodType) and is_user_function(value.__func__)
    if not isinstance(value, (LocalFunction, Partial)) and not (
        is_user_function(value) or is_users_method
    ):
        return value  # a library's function: runs as it is

    def run(*args: object, **kwargs: object) -> object:
        result = call(lowering, value, list(args), dict(kwargs), node)
        if any(isinstance(leaf, Tracer) for leaf in call_leaves([result], {})):
            raise DependsOnData
        return result

    run.srcad_local = value  # type: ignore[attr-defined] # np.vectorize(run): the function
    return run


def _inline_library(
    lowering: Lowering, function: Any, args: Args, kwargs: Kwargs, node: ast.Call
) -> object:
    """A function of Python's standard library on traced values, lowered line by line like
    the user's; where that fails, the error names the user's call and what to use."""
    try:
        return _inline(lowering, function, args, kwargs, node)
    except SrcadError as error:
        if standard_library_module(lowering.parsed.fn) is not None:
            raise  # said once, at the user's call
        name = f"{standard_library_module(function)}.{function.__qualname__}"
        raise lowering.located(
            NoDerivativeRule,
            f"'{ast.unparse(node)}' calls {name}, which srcad lowers line by line (it has no "
            f"rule) and cannot here ({error.detail.split('; ')[0]}, at "
            f"{os.path.basename(str(error.file))}:{error.line}); compute it with NumPy "
            "(np.mean, np.prod, ...), outside the function, or give it a rule with "
            "srcad.defvjp",
            node,
        ) from None


def _composed(
    lowering: Lowering, composition: Callable, args: Args, kwargs: Kwargs, node: ast.Call
) -> object:
    try:
        return composition(*args, **kwargs)
    except (TypeError, ValueError) as error:  # arguments the composition does not take
        raise lowering.located(SrcadError, f"'{ast.unparse(node)}': {error}", node) from None
    except NotImplementedError as error:  # an option srcad does not lower
        raise lowering.located(UnsupportedSyntax, f"'{ast.unparse(node)}': {error}", node) from None


def _is_at_line(function: object) -> bool:
    """Whether ``function`` is the runtime's ``at_line`` (generated code, differentiated)."""
    is_named = getattr(function, "__name__", None) == AT_LINE
    return is_named and getattr(function, "__module__", None) == AT_LINE_MODULE


def _users_line(lowering: Lowering) -> tuple[str, int, str, str]:
    """The line being lowered, as a warning or a log record names it."""
    loc = lowering.builder.loc
    module = str(lowering.parsed.globals.get("__name__", ""))
    return (loc.file, loc.line, loc.function, module) if loc else ("", 0, "", module)


def _call_on_selection(function: object, args: Args, kwargs: Kwargs) -> object:
    """A NumPy function of ``x[mask]`` (mask computed from data): the selection answers
    through NumPy's protocols, or refuses; ``len`` is its count, known when the code runs."""
    if function is len and len(args) == 1 and not kwargs:
        return args[0].count
    called: Any = function
    return called(*args, **kwargs)


def _call_python(
    lowering: Lowering,
    function: object,
    args: Args,
    kwargs: Kwargs,
    node: ast.Call,
    is_traced: bool,
) -> object:
    """``zip`` and ``enumerate`` of arrays (kept symbolic for loops), and plain Python
    functions of compile-time values."""
    if function is next and args and isinstance(args[0], list):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': srcad runs a generator to its end where it is called "
            "(what it yields becomes a list), so 'next' cannot resume it; iterate over it "
            "with 'for', or take list(...)[0]",
            node,
        )
    if function is enumerate and (isinstance(args[0], Zipped) or is_traced):
        start = kwargs.get("start", args[1] if len(args) > 1 else 0)
        if not isinstance(start, int):  # a number from data: Python's TypeError for floats
            raise lowering.located(SrcadError, f"'{ast.unparse(node)}': start must be an int", node)
        return Enumerated(args[0], start, ast.unparse(node))
    if function is zip and is_traced:
        sized = [
            a
            for a in args
            if isinstance(a, (list, tuple)) or (isinstance(a, Tracer) and a.ndim > 0)
        ]
        lengths = {len(a) for a in sized}
        if kwargs.get("strict") and len(lengths) > 1:  # known when compiling
            message = f"'{ast.unparse(node)}': zip(strict=True) of lengths {sorted(lengths)}"
            raise lowering.located(
                raised_as(ValueError), message + " (the plain function raises ValueError too)", node
            )
        return (
            Zipped(tuple(args), ast.unparse(node))
            if all(isinstance(a, Tracer) for a in args)
            else zip(*args, strict=False)
        )
    if isinstance(function, type) and is_plain_class(function):
        return made_object(lowering, function, list(args), dict(kwargs), node)
    if is_traced and isinstance(function, type) and not is_library_class(function):
        why = not_plain_because(function)  # Dyn(x) of a class with __getattr__ or __slots__
        if why is not None and not issubclass(function, BaseException):
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(node)}' makes an object of {function.__name__} from values "
                f"srcad traces, but srcad follows objects only through their attributes and "
                f"{why}; give the class plain attributes (no __slots__ or __getattr__), or "
                "compute with the values themselves",
                node,
            )
    if not is_traced:  # compile-time value: shapes, ranges, constants
        refuse_reading_state_of_the_machine(lowering, function, node)
        return _run_on_constants(lowering, function, args, kwargs, node)
    text = text_of(lowering, function, list(args)) if not kwargs else None
    if text is not None:  # str(loss): formatted by the generated code, as f"{loss}"
        return text
    if function in TEXT_OF_VALUES:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' makes text of a value computed from data, which exists "
            "only when the code runs; format it where it is printed or logged (an f-string "
            "in print), and compute with the number itself",
            node,
        )
    if function in (set, frozenset):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' makes a set of values computed from data, which "
            "cannot be told apart when compiling; use a list",
            node,
        )
    if function in ARRANGING:  # itertools.combinations(w, 2): the rows, rearranged
        rows = [list(arg) if isinstance(arg, Tracer) else arg for arg in args]
        arrange: Any = function
        return iter(list(arrange(*rows, **kwargs)))
    if function is itertools.accumulate:  # running sums (or func's) of the rows
        return iter(_accumulated(lowering, list(args), dict(kwargs), node))
    spelling = numpy_spelling(function)
    if spelling is not None:  # np.unique(C): run by the generated code; refused if differentiated
        return outside_call(lowering.builder, function, spelling, list(args), dict(kwargs))
    if (
        getattr(function, "__module__", "") == "numpy.fft"
        and getattr(function, "__name__", "") in TRANSFORMS
    ):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node.func)}' computes complex values, and srcad differentiates "
            "real arithmetic only. Write the transform with real matrices: for n samples, "
            "angles = 2 * np.pi * np.outer(k, np.arange(n)) / n, then x @ np.cos(angles).T "
            "and -(x @ np.sin(angles).T) are the real and imaginary parts",
            node,
        )
    if function in POSITIONS_OF:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' gives the positions where a condition computed from data "
            "holds, as many as the data says, so what follows has no fixed shape; choose "
            "values with np.where(condition, a, b), or sum with np.sum(x, where=condition) "
            "(positions of a condition on arrays from outside the function, such as a "
            "global yobs > 0.5, are fixed when compiling and checked on every call)",
            node,
        )
    name = getattr(function, "__name__", "")
    if getattr(np, name, None) is function and name in IN_PLACE:  # np.putmask(y, m, 0.0)
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node.func)}' writes into its first argument in place, which srcad "
            f"does not lower; write {IN_PLACE[name]}",
            node,
        )
    if is_hashable(function) and function in GENERATOR_MAKERS:  # default_rng(randint(...))
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' makes a random generator from a seed known only when the "
            "code runs (drawn or computed); seed it with a value known when compiling (an int "
            "argument or global, fixed and checked on every call), or make the generator "
            "outside the function and pass it in",
            node,
        )
    if not callable(function):  # c = 2.0; c(x)
        kind = "an array" if isinstance(function, Tracer) else type(function).__name__
        raise lowering.located(
            raised_as(TypeError),
            f"'{ast.unparse(node.func)}' is {'a ' if kind != 'an array' else ''}{kind}, not a "
            "function: calling it raises TypeError (the plain function raises here too)",
            node,
        )
    if function is np.unique and any(isinstance(a, Tracer) for a in args):
        raise lowering.located(
            NoDerivativeRule,
            f"'{ast.unparse(node.func)}' of values known only when the code runs (an "
            "argument's, or computed): how many unique values there are, and so the shape of "
            "the result, depends on them, but srcad lays out shapes when compiling; compute "
            "the unique values (or return_inverse's indices) outside the function and pass "
            "them in, or read the labels from a global (fixed when compiling, checked on "
            "every call)",
            node,
        )
    raise no_rule(lowering, node)


def _accumulated(lowering: Lowering, args: list, kwargs: dict, node: ast.Call) -> list:
    """``list(itertools.accumulate(items, func, initial=...))``: each step ``total + item``,
    or ``func(total, item)`` lowered as any call of it is."""
    items, func = args[0], (args[1] if len(args) > 1 else kwargs.get("func"))
    total = kwargs.get("initial")
    totals = [] if total is None else [total]
    for item in list(items):
        if total is None:
            total = item
        elif func is None:
            total = binary(lowering, ast.Add(), total, item, node)
        else:
            total = call(lowering, func, [total, item], {}, node)
        totals.append(total)
    return totals


# NumPy functions that read no more of their first argument than its shape (index arrays)
OF_SHAPE = frozenset({np.diag_indices_from, np.tril_indices_from, np.triu_indices_from})


def _is_single_dispatch(function: object, args: Args) -> bool:
    target = function.value if isinstance(function, Outside) else function
    return callable(getattr(target, "dispatch", None)) and isinstance(
        getattr(target, "registry", None), types.MappingProxyType
    )


# Callables srcad does not follow (given what they are called with), and what to write
UNFOLLOWED: tuple[tuple[Callable[[object, Args], bool], str], ...] = (
    (  # functools' wrapper would be lowered line by line
        _is_single_dispatch,
        "is a functools.singledispatch function, whose choice of implementation srcad does "
        "not follow; call the implementation for your argument's class by its own name (the "
        "function you registered for np.ndarray or float)",
    ),
    (
        lambda function, args: isinstance(getattr(function, "__self__", None), collections.deque),
        "changes a collections.deque, whose items srcad does not follow; use a list (the last "
        "n items: window = (window + [v])[-n:])",
    ),
    (
        lambda function, args: function is np.piecewise
        and any(isinstance(leaf, (Tracer, LocalFunction)) for leaf in call_leaves(args, {})),
        "gives each function the elements its condition picks, as many as the data says, so "
        "what they compute has no fixed shape; compute each piece on every element and "
        "choose with np.select([c1, c2], [f1(x), f2(x)]) or np.where(c, f(x), g(x)) (the "
        "piece not chosen adds nothing to the gradient, even where it is not finite)",
    ),
)


def _refuse_unfollowed(lowering: Lowering, function: object, args: Args, node: ast.Call) -> None:
    """Refuse a callable of ``UNFOLLOWED`` at the user's line, saying what to write."""
    for is_unfollowed, what in UNFOLLOWED:
        if is_unfollowed(function, args):
            raise lowering.located(UnsupportedSyntax, f"'{ast.unparse(node.func)}' {what}", node)


def refuse_records_in_arrays(
    lowering: Lowering, args: Args, kwargs: Kwargs, node: ast.Call
) -> None:
    """Refuse arrays of records with named fields, and of Python objects among which are
    values computed from data, which srcad has no arithmetic for, saying what to write
    instead (an object array of constants is made when compiling, as any constant)."""
    for value in (kwargs.get("dtype"), *args):
        described = _array_kind(value)
        if described == "Python objects" and not any(
            isinstance(leaf, Tracer) for leaf in call_leaves(args, kwargs)
        ):
            continue
        if described is not None:
            raise lowering.located(
                UnsupportedSyntax,
                f"'{ast.unparse(node)}' makes an array of {described}, which srcad does not "
                "differentiate (it computes with arrays of numbers); keep each field or kind "
                "of value in its own array, or the objects in a list or a dict",
                node,
            )


def _array_kind(value: object) -> str | None:
    """'records with named fields' for a structured dtype (``[("a", float), ("b", float)]``),
    'Python objects' for ``object``; None for anything else."""
    if value is object:
        return "Python objects"
    if isinstance(value, list) and value and all(_is_field(item) for item in value):
        return "records with named fields"
    if isinstance(value, np.dtype):
        return "records with named fields" if value.names else None
    return None


def _is_field(item: object) -> bool:
    """``("a", float)``, a field of a structured dtype (not ``("a", x[0])``, a pair)."""
    if not (isinstance(item, tuple) and len(item) in (2, 3) and isinstance(item[0], str)):
        return False
    return isinstance(item[1], (type, str, np.dtype))


def _unseeded(args: Args, kwargs: Kwargs) -> bool:
    """Whether a generator maker is given no seed (or None): fresh entropy on every call."""
    given = [*args[:1], *(v for k, v in kwargs.items() if k in ("seed", "x", "entropy"))]
    return not given or given[0] is None


# What makes a random generator (or its bit generator, or its seed) from a seed
GENERATOR_MAKERS = frozenset(
    {
        np.random.default_rng,
        np.random.RandomState,
        np.random.Generator,
        random.Random,
        np.random.SeedSequence,
        *(np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937, np.random.Philox),
        np.random.SFC64,
    }
)
# What reads the system's entropy or the global generator's state (no draw srcad replays)
ENTROPY_READERS = frozenset({os.urandom, random.SystemRandom, np.random.get_state})
# What reads NumPy's settings (they change between calls: np.seterr, np.printoptions)
SETTINGS_READERS = frozenset({np.geterr, np.get_printoptions, np.getbufsize, np.geterrcall})


def _is_frompyfunc(function: object) -> bool:
    """A ufunc ``np.frompyfunc`` made: NumPy names it after the function, "(vectorized)"."""
    function = function.value if isinstance(function, Outside) else function
    return isinstance(function, np.ufunc) and function.__name__.endswith("(vectorized)")


def _reads_entropy(function: object) -> bool:
    """``os.urandom(8)``, ``secrets.randbelow(5)``, ``random.SystemRandom().random()``,
    ``np.random.get_state()``: what the code would read once, when compiling."""
    if isinstance(function, Outside):  # SR.random() of a global SR = random.SystemRandom()
        function = function.value
    if isinstance(getattr(function, "__self__", None), random.SystemRandom):
        return True
    if getattr(function, "__module__", None) == "secrets":
        return True
    return is_hashable(function) and function in ENTROPY_READERS


UNFOLLOWED += (  # what would be read or run once, when compiling
    (
        lambda function, args: _is_frompyfunc(function),
        "calls a ufunc np.frompyfunc made of a Python function, which srcad cannot read (on "
        "arguments known when compiling, it would run it once, then); call the function "
        "itself (in a loop or a comprehension), or np.vectorize it",
    ),
    (
        lambda function, args: is_hashable(function) and function in SETTINGS_READERS,
        "reads NumPy's settings of the moment, which srcad would read once, when compiling "
        "(np.seterr in the function runs on every call); pass what the function needs as an "
        "argument or a global of yours, which srcad reads on every call",
    ),
    (
        lambda function, args: _reads_entropy(function),
        "reads the system's entropy (or the state of NumPy's global generator), which srcad "
        "would read once, when compiling; draw with a generator passed in (rng.random()), or "
        "np.random's functions, which srcad draws on every call",
    ),
)


POSITIONS_OF = (np.nonzero, np.argwhere, np.flatnonzero)


def _finds_positions(function: object, args: Args, kwargs: Kwargs) -> bool:
    """``np.nonzero(m)``, ``np.argwhere(m)``, ``np.flatnonzero(m)``, ``np.where(m)``, and
    ``np.unique(labels)``: as many values as the data say."""
    if function is np.where:
        return len(args) == 1 and not kwargs
    return is_hashable(function) and (function in POSITIONS_OF or function is np.unique)


def _of_constants(args: Args) -> list | None:
    """The arguments' values, where each is a constant of the compile (a global integer or
    boolean array, whose value the guard checks on every call); None otherwise."""
    values = []
    for value in args:
        if isinstance(value, Tracer):
            if not isinstance(value.atom, Const):
                return None
            value = value.atom.value
        values.append(value)
    return values


# a logger's methods that answer about its settings rather than log
LOGGER_QUERIES = frozenset({"isEnabledFor", "getEffectiveLevel", "hasHandlers", "getChild"})


def _asks_a_logger(function: object) -> bool:
    method = function.value if isinstance(function, Outside) else function
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    return isinstance(owner, logging.Logger) and name in LOGGER_QUERIES


# the operator module's functions, as the operators they are (of objects of the user's)
OPERATOR_FUNCTIONS: dict[object, type[ast.operator]] = {
    operator.add: ast.Add,
    operator.sub: ast.Sub,
    operator.mul: ast.Mult,
    operator.truediv: ast.Div,
    operator.matmul: ast.MatMult,
    operator.pow: ast.Pow,
}


def _sum_of_objects(lowering: Lowering, args: list, kwargs: Kwargs, node: ast.Call) -> object:
    """``sum(items, start)`` where items are objects of the user's: ``start + item`` one
    after the other, each by the operator methods of their classes (inlined)."""
    if kwargs.keys() - {"start"} or len(args) not in (1, 2) or not isinstance(args[0], list):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' sums objects of the user's other than from a list; "
            "add them with + in a loop",
            node,
        )
    total = args[1] if len(args) == 2 else kwargs.get("start", 0)
    for item in args[0]:
        total = binary(lowering, ast.Add(), total, item, node)
    return total


def _run_on_constants(
    lowering: Lowering, function: object, args: Args, kwargs: Kwargs, node: ast.Call
) -> object:
    """``function(*args, **kwargs)`` run as Python, when compiling, on values known then; a
    function of the lowered code among the arguments (``key=lambda i: W[i]``) is lowered
    each time the library calls it, and refused where it computes from data."""
    called: Any = function  # any value: Python's TypeError if it is not callable
    refuse_running_users_methods(lowering, function, list(args), dict(kwargs), node)
    args = [_as_callable(lowering, value, node) for value in args]
    kwargs = {name: _as_callable(lowering, value, node) for name, value in kwargs.items()}
    try:
        return run_static(lowering, lambda: called(*args, **kwargs), node)
    except DependsOnData:
        name = getattr(function, "__name__", "a library function")
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' gives a function of the differentiated code to {name}, "
            "which calls it as Python; that function reads values computed from data or read "
            "on every call (a global), which srcad cannot follow through the library's code. "
            + LIBRARY_CALLBACK_ADVICE.get(name, LIBRARY_CALLBACK_ADVICE[""]),
            node,
        ) from None


# What to write instead of a library function that calls back into differentiated code
_ROOTS = (
    "Write the iteration in the function (a fixed number of Newton steps, "
    "x = x - g(x) / dg(x), which srcad differentiates), or give the solver's result a rule "
    "by the implicit function theorem (srcad.custom_vjp)"
)
_MINIMUM = (
    "Write the iteration in the function (a fixed number of gradient or Newton steps, "
    "which srcad differentiates), or give the minimizer's result a rule by the implicit "
    "function theorem (srcad.custom_vjp)"
)
_INTEGRAL = (
    "Integrate over a fixed grid instead: scipy.integrate.simpson(f(t), x=t) or "
    "np.trapezoid(f(t), t) with t = np.linspace(a, b, n), which srcad differentiates"
)
LIBRARY_CALLBACK_ADVICE = {
    **dict.fromkeys(("brentq", "brenth", "bisect", "ridder", "newton", "toms748"), _ROOTS),
    **dict.fromkeys(("root_scalar", "root", "fsolve", "fixed_point"), _ROOTS),
    **dict.fromkeys(("minimize", "minimize_scalar", "fmin", "fminbound", "brent"), _MINIMUM),
    **dict.fromkeys(("quad", "quad_vec", "dblquad", "tplquad", "nquad", "romberg"), _INTEGRAL),
    "": "Compute the result with NumPy calls (np.argsort, np.argmax of the values as an "
    "array), or outside the function",
}


# np.fft's functions whose values are complex (fftfreq and fftshift are not)
TRANSFORMS = frozenset(
    "fft ifft rfft irfft hfft ihfft fft2 ifft2 rfft2 irfft2 fftn ifftn rfftn irfftn".split()
)

# The methods of lists and dicts that change them
CHANGING_METHODS = CONTAINER_METHODS | {"pop", "popitem", "clear", "remove", "sort", "reverse"}


def _is_keyed_order(function: object, kwargs: Kwargs) -> bool:
    """``sorted``, ``max``, ``min`` or a list's ``sort`` given a ``key`` function."""
    if kwargs.get("key") is None:
        return False
    is_list_sort = isinstance(getattr(function, "__self__", None), list)
    return function in (sorted, max, min) or is_list_sort and function.__name__ == "sort"  # type: ignore[attr-defined]


def _ordered_by_key(
    lowering: Lowering, function: Any, args: Args, kwargs: Kwargs, node: ast.Call
) -> object:
    """Ordering by a key known when compiling (``key=lambda p: p[0]``, ``key=len``): the
    key is lowered on each item and Python orders them; a key computed from data is refused
    (the order, which values go where, would depend on the data)."""
    key = kwargs["key"]
    is_lowered = isinstance(key, (LocalFunction, Partial, Outside)) or is_user_function(key)

    def known_key(item: object) -> object:
        # a library's key (len, itemgetter, cmp_to_key's wrapper) runs as Python; it calls
        # what it wraps (_as_callable, when it was made), which lowers it
        result = call(lowering, key, [item], {}, node) if is_lowered else key(item)
        if any(isinstance(leaf, Tracer) for leaf in call_leaves([result], {})):
            raise DependsOnData
        return result

    if isinstance(getattr(function, "__self__", None), list):
        _refuse_outside_change(lowering, function, node)
    try:
        return function(*args, **{**kwargs, "key": known_key})
    except DependsOnData:
        name = getattr(function, "__name__", "sorted")
        pick = "argsort" if name in ("sorted", "sort") else f"arg{name}"
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' orders by a key computed from data, so which value goes "
            f"where depends on the data; order with np.{pick} of the keys as an array: "
            f"keys = np.array([key(v) for v in xs]); np.array(xs)[np.{pick}(keys)]",
            node,
        ) from None


def _call_container_method(
    lowering: Lowering,
    method: ContainerMethod,
    args: Args,
    kwargs: Kwargs,
    node: ast.Call,
) -> object:
    """``hs.append(h)`` and friends, run at compile time (not on containers from outside,
    an argument's included: Python changes the caller's, srcad's code would not)."""
    _refuse_outside_change(lowering, method, node)
    if method.__name__ in COMPARING_METHODS:  # d.get(tag): Tag.__hash__ and __eq__ would run
        refuse_running_users_methods(lowering, method, list(args), dict(kwargs), node)
    keys = [a for a in args[:1] if isinstance(a, Tracer)]
    if method.__name__ in COMPARED_FIRST and keys:  # D.get(K) of a global K: K fixed
        raise StaticValueNeeded(
            f"'{ast.unparse(node)}' looks up (or compares) a value known only when the code "
            "runs (computed from data or drawn at random), but srcad runs Python's lookups "
            "when compiling; use a key known then, or arrays and np.where",
            lowering.builder.loc,
            tuple(keys),
        )
    if method.__name__ in AT_POSITIONS and any(isinstance(a, Tracer) for a in args[:1]):
        raise StaticValueNeeded(  # a loop's counter: the loop unrolls; else refused so
            f"'{ast.unparse(node)}' changes a Python list at a position known only when the "
            "code runs (computed from data or drawn at random), but srcad lays out Python "
            "lists when compiling; use an array (np.insert, np.delete, np.take) or a "
            "position known when compiling",
            lowering.builder.loc,
        )
    return run_static(lowering, lambda: method(*args, **kwargs), node)  # {}.pop("z"): KeyError


# Generators the function may make itself (``r = np.random.default_rng(seed)``)
LOCAL_GENERATORS = (np.random.Generator, np.random.RandomState)


# The methods of lists that take a position (their first argument: insert(0, value))
AT_POSITIONS = frozenset({"insert", "pop"})


# The methods of lists and dicts that compare or hash their arguments
COMPARING_METHODS = frozenset({"get", "pop", "setdefault", "count", "index", "remove", "update"})
# those whose first argument is the key or the item compared (a list's pop: a position)
COMPARED_FIRST = frozenset({"get", "setdefault", "count", "index", "remove"})


def _refuse_outside_change(lowering: Lowering, method: ContainerMethod, node: ast.Call) -> None:
    if lowering.world.is_passed_in(method.__self__) and method.__name__ in CHANGING_METHODS:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' changes a container from outside the function (an "
            "argument's, a global's, a default value's); srcad reads outside values and "
            "appends to outside lists (history.append(loss)) but makes no other change: "
            "build a new list or dict in the function (xs = list(xs))",
            node,
        )


def _call_outside_object(
    lowering: Lowering, function: Outside, args: Args, kwargs: Kwargs, node: ast.Call
) -> object:
    """``self.forward(x)``, ``layer(x)``: a method of the user's is inlined with ``self``
    read through its path; any other outside callable is fixed and called as is."""
    method = function.value
    world = lowering.world
    path = function.path
    if isinstance(method, types.MethodType) and is_user_function(method.__func__):
        world.fix(method.__func__, path.child("attr", "__func__", f"{path.text}"))
        self_value = function.owner
        if self_value is None:
            self_value = Outside(
                method.__self__, path.child("attr", "__self__", path.text), world=world
            )
        return _inline(lowering, method.__func__, [self_value, *args], kwargs, node)
    call_method = type(method).__call__ if not isinstance(method, types.MethodType) else None
    is_users_object = not is_library_class(type(method))  # not an Enum class's lookup, Act(2)
    if call_method is not None and is_users_object and is_user_function(call_method):
        its_class = path.child("attr", "__class__", f"type({path.text})")
        world.fix(type(method), its_class)
        # the class's __call__ too: Layer.__call__ replaced later is seen
        world.fix(call_method, its_class.child("attr", "__call__", f"{its_class.text}.__call__"))
        return _inline(lowering, call_method, [function, *args], kwargs, node)
    if is_polynomial(method):
        return polynomial_value(lowering, function, args, kwargs, node, call)
    if isinstance(method, types.MethodType) and function.owner is not None:
        # a library object's method (scipy.stats.norm.logpdf) is a new bound method on every
        # read: the guard checks the object and the method's function instead
        world.fix(function.owner.value, function.owner.path)
        world.fix(method.__func__, path.child("attr", "__func__", path.text))
        if not any(isinstance(leaf, Tracer) for leaf in call_leaves(args, kwargs)):
            _fix_state(lowering, function.owner)  # P.deriv(): run now, on P's state
        return call(lowering, method, args, kwargs, node)
    if not any(isinstance(leaf, Tracer) for leaf in call_leaves(args, kwargs)):
        _fix_state(lowering, function)  # spline(0.5) of a global spline: run now, on its state
    return call(lowering, world.unwrap(function), args, kwargs, node)


STATE_VALUES = (np.ndarray, int, float, complex, str, bool, type(None), np.generic)


def _fix_state(lowering: Lowering, owner: Outside) -> None:
    """A library object's method run when compiling (``P.deriv()`` of a global
    polynomial, ``spline.integrate(0, 1)``) computes from the object's attributes: those
    that are arrays, numbers and strings are fixed by value, so that a later call after
    ``P.coef[2] = 10.0`` compiles again."""
    if isinstance(owner.value, (type, types.ModuleType, types.FunctionType)):
        return  # a class's or a module's attributes are its code, checked as such
    state = getattr(owner.value, "__dict__", None)
    for name, value in (state or {}).items():  # (a builtin's: no attributes of its own)
        if name.startswith("__"):
            continue
        is_values = isinstance(value, tuple) and all(isinstance(v, STATE_VALUES) for v in value)
        if isinstance(value, STATE_VALUES) or is_values:
            path = owner.path.child("attr", name, f"{owner.path.text}.{name}")
            lowering.world.fix(value, path, "equal")


# --- inlining -----------------------------------------------------------------------------
def _inline(
    lowering: Lowering,
    function: types.FunctionType | LocalFunction,
    args: Args,
    kwargs: Kwargs,
    node: ast.Call,
) -> object:
    """Lower the body of ``function`` called with ``args``: the value it returns."""
    if lowering.inlining.depth >= MAX_INLINE_DEPTH:
        raise lowering.located(
            UnsupportedSyntax,
            f"calls nest deeper than {MAX_INLINE_DEPTH} levels: srcad inlines every call, "
            "so it follows recursion only that deep, and only where the base case is known "
            "when compiling (it depends on ints, not on data); write the recursion as a loop",
            node,
        )
    try:
        signature = (
            function.signature
            if isinstance(function, LocalFunction)
            else inspect.signature(function, follow_wrapped=False)
        )
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        raise lowering.located(
            raised_as(TypeError), f"in '{ast.unparse(node)}': {error} (Python's TypeError)", node
        ) from None
    if isinstance(function, LocalFunction):
        bound.apply_defaults()
        parsed = function.parsed
    else:
        _stage_defaults(lowering, function, bound)
        parsed = parse_function(function)
        lowering.world.lowers(function)
        lowering.world.rely_on(function)  # generated code: what its compile fixed
    inlining = Inlining(
        lowering.builder,
        lowering.inlining.depth + 1,
        lowering.world,
        live_values(lowering, node),
        lowering.inlining.iterated,
        lowering.inlining.elementwise,
    )
    inlined = Lowering(parsed, dict(bound.arguments), inlining)
    inlined.parameters = dict(bound.arguments)
    inlined.alternatives = lowering.alternatives  # o = a if c else b: the caller's, seen
    note_written_dicts(inlined)  # STATE["step"] += 1: STATE read key by key
    try:
        result = lower_body(inlined)
    except SrcadError as error:
        raise _at_the_users_call(lowering, error, node) from None
    for name, original in inlined.written_back.items():  # def step(y, out): out[0] = ...
        for given in give_back(lowering, original, inlined.env[name], node):
            check_not_passed_twice(lowering, given, original, node)  # f(a, a): refused
    return result


LIBRARY_DIRS = tuple(
    sorted(
        {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "purelib", "platlib")}
    )
)


def _at_the_users_call(lowering: Lowering, error: SrcadError, node: ast.Call) -> SrcadError:
    """``error``, raised in a library's Python code that srcad followed (contextlib's, a
    scikit-learn method's), at the user's call of it, naming where in the library."""
    file = error.file or ""
    in_library = os.path.realpath(file).startswith(LIBRARY_DIRS) if file else False
    callers = lowering.parsed.file
    if not in_library or os.path.realpath(callers).startswith(LIBRARY_DIRS):
        return error
    where = f"{os.path.basename(file)}:{error.line}"
    detail = f"{error.detail} (in {where}, library code srcad follows for '{ast.unparse(node)}')"
    try:
        moved = type(error)(detail, callers, node.lineno)
    except TypeError:  # an error class of its own making
        return error
    marks = {key: value for key, value in vars(error).items() if key.startswith("srcad_")}
    vars(moved).update(marks)  # srcad_unrolled: what the loops around it know of it
    return moved


def _stage_defaults(
    lowering: Lowering, function: types.FunctionType, bound: inspect.BoundArguments
) -> None:
    """A helper's default arguments, read on every call like other outside values
    (``def act(x, slope=SLOPE)``: a float default is a value, not a constant)."""
    world = lowering.world
    owner = root_name(function)  # an identifier: a lambda's is not
    defaults = function.__defaults__ or ()
    positional = [
        p.name
        for p in bound.signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    first = len(positional) - len(defaults)
    for k, name in enumerate(positional[first:]):
        if name not in bound.arguments:
            path = WorldPath(function, owner, (("attr", "__defaults__"),), name)
            bound.arguments[name] = world.stage(
                defaults[k], path.child("item", k, f"{owner}.{name}")
            )
    for name, value in (function.__kwdefaults__ or {}).items():
        if name not in bound.arguments:
            path = WorldPath(function, owner, (("attr", "__kwdefaults__"),), name)
            bound.arguments[name] = world.stage(value, path.child("item", name, name))
    bound.apply_defaults()  # *args and **kwargs: empty


@lowers_expression(ast.Lambda)
def evaluate_lambda(lowering: Lowering, node: ast.Lambda) -> LocalFunction:
    return local_function(lowering, node)


def local_function(lowering: Lowering, node: ast.FunctionDef | ast.Lambda) -> LocalFunction:
    """A function defined inside the one being lowered (``def`` or ``lambda``)."""
    if isinstance(node, ast.Lambda):
        body: list[ast.stmt] = [ast.copy_location(ast.Return(node.body), node.body)]
        node = ast.copy_location(
            ast.FunctionDef(name="lambda", args=node.args, body=body, decorator_list=[]),
            node,
        )
    elif not all(_is_a_cache(evaluate(lowering, d)) for d in node.decorator_list):
        raise lowering.located(
            UnsupportedSyntax,
            "decorators on nested functions are not supported (but functools.cache and "
            "lru_cache, followed as the function they cache); define it without one",
            node,
        )
    parsed = ParsedFunction(
        None,
        node,
        lowering.parsed.file,
        lowering.parsed.globals,
        EnclosingNames(lowering),  # read when it is called, as Python does
        lowering.parsed.cells,
    )
    return LocalFunction(parsed, _signature(lowering, node.args))


def _is_a_cache(decorator: object) -> bool:
    """``functools.cache``, ``functools.lru_cache`` or ``lru_cache(maxsize=...)``'s
    decorator: a nested helper it decorates is followed as itself (as a module-level one)."""
    if decorator is functools.cache or decorator is functools.lru_cache:
        return True
    return getattr(decorator, "__qualname__", "").startswith("lru_cache.")


def _signature(lowering: Lowering, arguments: ast.arguments) -> inspect.Signature:
    """The signature a ``def`` or ``lambda`` declares, its defaults evaluated now (as
    Python evaluates them when it runs the ``def``)."""
    kind = inspect.Parameter
    positional = arguments.posonlyargs + arguments.args
    defaults = [evaluate(lowering, d) for d in arguments.defaults]
    first_default = len(positional) - len(defaults)
    parameters = []
    for k, argument in enumerate(positional):
        is_only = k < len(arguments.posonlyargs)
        default = defaults[k - first_default] if k >= first_default else kind.empty
        parameters.append(
            kind(
                argument.arg,
                kind.POSITIONAL_ONLY if is_only else kind.POSITIONAL_OR_KEYWORD,
                default=default,
            )
        )
    if arguments.vararg is not None:
        parameters.append(kind(arguments.vararg.arg, kind.VAR_POSITIONAL))
    for argument, node in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        default = kind.empty if node is None else evaluate(lowering, node)
        parameters.append(kind(argument.arg, kind.KEYWORD_ONLY, default=default))
    if arguments.kwarg is not None:
        parameters.append(kind(arguments.kwarg.arg, kind.VAR_KEYWORD))
    return inspect.Signature(parameters)


# --- comprehensions -----------------------------------------------------------------------
@lowers_expression(ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
def evaluate_comprehension(lowering: Lowering, node: Comprehension) -> object:
    """A comprehension is a function called where it stands (Python reads it so: its loop
    variables stay inside it); ``srcad.frontend.desugar`` writes the function, which is
    inlined like the user's own. A generator expression runs when it is consumed
    (``srcad.lower.generators``): its first iterable is evaluated now, as Python does."""
    if isinstance(node, ast.GeneratorExp):
        return _deferred_generator(lowering, node)
    return _comprehension_now(lowering, node)


def _deferred_generator(lowering: Lowering, node: ast.GeneratorExp) -> Deferred:
    first = evaluate(lowering, node.generators[0].iter)
    hidden = fresh_name("generator_items", names_in(node) | set(lowering.env))
    later = copy.deepcopy(node)
    later.generators[0].iter = ast.copy_location(ast.Name(hidden, ast.Load()), node)

    def run() -> object:
        lowering.env[hidden] = first
        try:
            return _comprehension_now(lowering, later)
        finally:
            lowering.env.pop(hidden, None)

    reads = reads_as_it_goes(node)
    return Deferred(run, ast.unparse(node), reads, held=(first,), scope=lowering)


def _comprehension_now(lowering: Lowering, node: Comprehension) -> object:
    parameters = _enclosing_names(lowering, node)
    definition, site = comprehension_function(node, lowering.parsed.name, parameters)
    try:
        return _call_comprehension(lowering, definition, site)
    except StaticValueNeeded as error:  # a loop around it unrolls, or the user is told
        start = definition.body[0]  # items = []: the list the comprehension builds
        items = ast.unparse(start.targets[0]) if isinstance(start, ast.Assign) else ""
        if not str(error).startswith(f"'{items}' gets different items"):
            raise
        raise StaticValueNeeded(  # the list it builds is not the user's: say what it is
            f"a filter of '{ast.unparse(node)}' depends on data, and so would the number of "
            "items; compute every item and mask instead (np.where(cond, value, 0.0))",
            lowering.location(node),
        ) from None


def _sums_a_comprehension(node: ast.Call) -> bool:
    """``sum(f(x) for x in xs)`` or ``sum([...])``, without a start value."""
    return (
        len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp))
    )


def _sum_of_comprehension(lowering: Lowering, node: ast.Call) -> object:
    """``sum(comprehension)`` as a loop that adds up the elements: kept a loop where it
    runs over a range or an array's rows and adds floats, else unrolled."""
    comprehension = node.args[0]
    assert isinstance(comprehension, (ast.GeneratorExp, ast.ListComp))
    start = 0.0 if _starts_with_float(lowering, comprehension) else 0
    definition, site = sum_function(
        comprehension,
        lowering.parsed.name,
        _enclosing_names(lowering, comprehension),
        _total_name(lowering, node, comprehension),
        start,
    )
    return _call_comprehension(lowering, definition, site)


def _starts_with_float(lowering: Lowering, node: ast.GeneratorExp | ast.ListComp) -> bool:
    """Whether ``sum(node)`` may start from 0.0 and stay a loop: its one ``for`` runs over
    a range or an array's rows and its first element is a float (then 0 + x and 0.0 + x
    are the same number). Tried on equations that are thrown away."""
    if len(node.generators) != 1:
        return False
    generator = node.generators[0]
    before = lowering.env
    snapshot = snapshot_containers(before, lowering.world.made)
    generators = generator_states(before)
    lowering.env = dict(before)
    try:
        with lowering.builder.block():
            iteration = structured_iteration(evaluate(lowering, generator.iter))
            if iteration is None or iteration.trip_count == 0:
                return False
            assign(lowering, generator.target, first_item(iteration), len(lowering.builder.eqns))
            first = evaluate(lowering, node.elt)
    except (SrcadError, TraceError):
        return False  # the lowering proper reports it, if it is an error there too
    finally:
        lowering.env = before
        restore_containers(snapshot)
        restore_generators(before, generators)
    if isinstance(first, Tracer):
        return first.aval.is_float
    return isinstance(first, (float, np.floating))


def _total_name(lowering: Lowering, node: ast.Call, comprehension: ast.expr) -> str:
    """The sum's name in the loop: the variable the statement assigns (``loss = sum(...)``)
    when the comprehension does not read it, else ``total``."""
    used = names_in(comprehension)
    statement = lowering.statement
    if (
        isinstance(statement, ast.Assign)
        and statement.value is node
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and statement.targets[0].id not in used
    ):
        return statement.targets[0].id
    return fresh_name("total", used)


def _enclosing_names(lowering: Lowering, node: ast.expr) -> list[str]:
    """The names of the enclosing function that a comprehension reads: the parameters of
    its function (names from further out it finds as the enclosing function does)."""
    return sorted(name for name in names_in(node) if name in lowering.env)


def _call_comprehension(lowering: Lowering, definition: ast.FunctionDef, site: ast.Call) -> object:
    """Inline a comprehension's function, passing the enclosing function's values."""
    enclosing = lowering.parsed
    parsed = ParsedFunction(
        None, definition, enclosing.file, enclosing.globals, enclosing.closure, enclosing.cells
    )
    names = [argument.arg for argument in definition.args.args]
    signature = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names]
    )
    args = [lowering.env[name] for name in names]
    return _inline(lowering, LocalFunction(parsed, signature), args, {}, site)
