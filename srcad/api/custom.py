"""User extensions: ``stop_gradient``, ``defvjp`` and ``defjvp`` (reverse and forward rules
for any function) and ``custom_vjp`` (JAX-style forward/backward pair).

A function given a rule becomes a primitive: calls to it are not inlined but appear in the
generated code as calls (the function is bound in the generated module's namespace), and
its rule runs on tracers like the built-in rules, so it may use any NumPy function srcad
knows. These registrations happen at run time, when the user asks for them.

Arguments may be dicts, lists and tuples of arrays (``on_leaves``: a primitive of their
leaves), and so may the result: a dict, a NamedTuple, a dataclass or nested tuples of arrays
(``with_output_tree``: a primitive whose outputs are the tree's leaves, which generated code
takes with ``leaves_of(f(x))``; the rules get the tree back)::

    m = moments(a)                         moments_a, moments_a_1 = leaves_of(moments(a))
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Collection

import numpy as np

from srcad.errors import ArgumentTypeError, ShapeError, SrcadError
from srcad.ir import AVal, aval_of
from srcad.ir.builder import Tracer
from srcad.ir.errors import TraceError, TruthValueNeeded, UnknownPrimitiveError
from srcad.ir.primitive import CUSTOM, SETTING_TYPES
from srcad.ir.prims import CALLABLES, PRIMS, Prim, load_deferred
from srcad.ir.shapes import evaluated_output
from srcad.ir.table.registry import REGISTRATIONS
from srcad.ir.tracer import record_call
from srcad.pytree import TreeDef, flatten, leaf_paths, leaves_of, unflatten
from srcad.rules.registry import JVP_RULES, VJP_RULES, cotangents_as_tuple
from srcad.runtime.errors import callers_line, raised_in_users_code, users_line

# what a rule that tests values should do instead
WITHOUT_TESTS = (
    "write it with NumPy operations that do not test values (np.where(c, a, b) for an if, "
    "np.maximum for max)"
)


def stop_gradient(x):
    """``x`` itself, through which no gradient flows."""
    return x


def defvjp(fn: Callable, rule: Callable) -> Callable:
    """Give ``fn`` a reverse rule: ``rule(g, out, *args)`` returns one cotangent per
    argument (``None`` for arguments that take no gradient; for a function of one argument
    the cotangent alone will do). Returns ``fn``."""
    _check_callables("srcad.defvjp", fn=fn, rule=rule)
    name = _register(fn, "vjp", (rule,))
    what = f"the rule srcad.defvjp gave {_name(fn)}"
    traced = cotangents_as_tuple(_traced(rule, what, WITHOUT_TESTS, VJP_RULE_CALL))

    def checked(g, out, *args, **params):
        cotangents = traced(g, out, *args, **params)
        for k, (cotangent, arg) in enumerate(zip(cotangents, args, strict=False)):
            _check_summable(what, cotangent, arg, k)
        return cotangents

    VJP_RULES[name] = checked
    return fn


def _check_callables(where: str, **given: object) -> None:
    """A TypeError at the user's call where one of ``given`` is not a function (a rule given
    as a string, its arguments swapped: the error came at the first use, as srcad's)."""
    for parameter, value in given.items():
        if not callable(value):
            raise ArgumentTypeError(
                f"{where} takes a function as {parameter}, not {type(value).__name__} "
                f"{value!r:.60}",
                *callers_line(),
            )


def _check_summable(what: str, cotangent: object, argument: object, k: int) -> None:
    """A cotangent a rule of the user's returned is its argument's shape, or broadcast from
    it (summed back); any other shape is the rule's mistake, not srcad's (it was reported
    as an internal error)."""
    if cotangent is None or isinstance(argument, (dict, list, tuple)):
        return
    shape, expected = np.shape(cotangent), np.shape(argument)
    try:
        summable = np.broadcast_shapes(shape, expected) == shape
    except ValueError:
        summable = False
    if not summable:
        raise ShapeError(
            f"{what} returned a cotangent of shape {shape} for argument {k} of shape "
            f"{expected}; return one of the argument's shape"
        )


def defjvp(fn: Callable, rule: Callable) -> Callable:
    """Give ``fn`` a forward rule: ``rule(tangents, out, *args)`` returns the tangent of the
    output, given one tangent per argument (``None`` for arguments that carry none).
    Returns ``fn``. With ``defvjp`` too, ``fn`` works in both modes."""
    _check_callables("srcad.defjvp", fn=fn, rule=rule)
    name = _register(fn, "jvp", (rule,))
    what = f"the rule srcad.defjvp gave {_name(fn)}"
    JVP_RULES[name] = _traced(rule, what, WITHOUT_TESTS, JVP_RULE_CALL)
    return fn


class custom_vjp:  # noqa: N801 - named as in JAX
    """A function with a hand-written gradient::

    @srcad.custom_vjp
    def f(x): ...
    def f_fwd(x): return f(x), residuals
    def f_bwd(residuals, g): return (dx,)
    f.defvjp(f_fwd, f_bwd)

    Its arguments may be dicts, lists and tuples of arrays (bwd returns a cotangent of the
    same structure) and settings: strings, None, functions from outside (bwd returns None
    for them). As in JAX, ``functools.partial(srcad.custom_vjp, nondiff_argnums=(0,))``
    passes the arguments at those positions to bwd first, ``bwd(f, residuals, g)``, which
    returns cotangents for the others only.
    """

    def __init__(self, fn: Callable, nondiff_argnums: tuple[int, ...] = ()):
        self.fn = fn
        self.nondiff_argnums = tuple(nondiff_argnums)
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        name = CALLABLES.get(self)
        leaves, tree = flatten((args, kwargs))
        tracer = next((a for a in leaves if isinstance(a, Tracer)), None)
        if tracer is None or name is None:
            return self.fn(*args, **kwargs)
        if kwargs:  # the parameters in order, defaults filled in
            bound = inspect.signature(self.fn).bind(*args, **kwargs)
            bound.apply_defaults()
            args = bound.args
        leaves, tree = flatten(args)
        # called on traced values by a rule (fwd: x = f(a)): the call itself, which the
        # generated code runs on arrays; the primal is not traced (it may loop until it
        # converges, call scipy.optimize.brentq, ...)
        settings = tuple((k, v) for k, v in enumerate(leaves) if isinstance(v, SETTING_TYPES))
        if settings or any(child.kind != "leaf" for child in tree.children):
            arrays = [v for v in leaves if not isinstance(v, SETTING_TYPES)]
            name, args = on_leaves(name, tree, settings), tuple(arrays)
        return record_call(tracer.builder, with_output_tree(name, tuple(args)), args, {})

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        _check_callables(f"{_name(self.fn)}.defvjp", fwd=fwd, bwd=bwd)
        name = _name(self.fn)
        # what fwd cannot compute on traced values, the primal computes on arrays
        in_the_primal = (
            f"compute such values in {name} itself, which runs on arrays in the generated code "
            f"(fwd may call it: y = {name}(...)), and return what bwd needs from fwd"
        )
        traced_fwd = _traced(fwd, f"the fwd of custom_vjp {name}", in_the_primal, FWD_CALL)
        traced_bwd = _traced(bwd, f"the bwd of custom_vjp {name}", WITHOUT_TESTS, BWD_CALL)

        def rule(g, out, *args):
            _, residuals = traced_fwd(*args)
            if not self.nondiff_argnums:
                return _checked_cotangents(self.fn, traced_bwd(residuals, g), args)
            fixed = [args[k] for k in self.nondiff_argnums]  # bwd takes them first, as in JAX
            cotangents = traced_bwd(*fixed, residuals, g)
            return _checked_cotangents(self.fn, cotangents, args, self.nondiff_argnums)

        name = _register(self.fn, "vjp", (fwd, bwd), alias=self)
        VJP_RULES[name] = rule


# How srcad calls each kind of rule of the user's (said when a rule cannot take it)
VJP_RULE_CALL = (
    "rule(g, out, *args): the output's cotangent, the output, then the function's "
    "arguments; it returns one cotangent per argument (an autograd-style rule(ans, x) "
    "returning a function of g: return that function's value instead)"
)
JVP_RULE_CALL = (
    "rule(tangents, out, *args): one tangent per argument, the output, then the "
    "function's arguments; it returns the output's tangent"
)
FWD_CALL = "fwd(*args), with the function's arguments"
BWD_CALL = "bwd(residuals, g)"


def _traced(function: Callable, what: str, advice: str, called_as: str) -> Callable:
    """``function``, a rule function of the user's, whose errors while it runs on traced
    values (srcad compiling) name the user's line in it, say that it runs on traced values,
    and give ``advice``; one that cannot take srcad's arguments says how srcad calls it."""

    @functools.wraps(function)
    def traced(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except (SrcadError, NotImplementedError):
            raise  # located at the call; a case the rule does not cover: NoDerivativeRule
        except TraceError as error:
            raise _rule_error(error, what, advice) from None
        except Exception as error:
            if isinstance(error, TypeError) and not _takes(function, args, kwargs):
                raise _cannot_take(function, what, error, called_as) from None
            if not raised_in_users_code(error.__traceback__):
                raise  # srcad's own failure
            problem = f"it raised {type(error).__name__} ({error})"
            raise _rule_error(error, what, advice, problem) from None

    return traced


def _takes(function: Callable, args: tuple, kwargs: dict) -> bool:
    """Whether ``function``'s parameters take these arguments (True where it has no
    signature to tell: a builtin)."""
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return False
    except ValueError:
        return True
    return True


def _cannot_take(function: Callable, what: str, error: TypeError, called_as: str) -> SrcadError:
    """A rule that cannot take what srcad passes is the user's to fix, not srcad's bug."""
    code = getattr(function, "__code__", None)
    return SrcadError(
        f"{what} cannot take what srcad passes ({error}); srcad calls {called_as}",
        *((code.co_filename, code.co_firstlineno) if code else (None, None)),
    )


def _rule_error(error: Exception, what: str, advice: str, problem: str = "") -> SrcadError:
    if isinstance(error, TruthValueNeeded):
        problem = (
            "Python asks for the truth value of one (an if, a while, 'and'/'or', a library "
            "function testing it such as scipy.optimize.brentq)"
        )
    if isinstance(error, UnknownPrimitiveError):  # scipy.special.ellipe in the rule
        return ShapeError(
            f"{what} runs in srcad's generated code, traced when srcad compiles, and {error}: "
            "the functions a rule calls need derivative rules of srcad's (the rule may be "
            "differentiated again); give that function a rule with srcad.defvjp first, or "
            "write the rule with NumPy functions srcad knows",
            *(users_line(error.__traceback__) or (None, None)),
        )
    message = (
        f"{what} runs on traced values when srcad compiles (srcad traces it as it traces its "
        f"own rules: it does not follow its if and while statements), and here "
        f"{problem or error}; {advice}"
    )
    kind = ShapeError if isinstance(error, TraceError) else SrcadError
    return kind(message, *(users_line(error.__traceback__) or (None, None)))


def _name(fn: Callable) -> str:
    return getattr(fn, "__name__", "the function")


def _checked_cotangents(
    fn: Callable, cotangents: object, args: tuple, nondiff_argnums: tuple[int, ...] = ()
) -> tuple:
    """What ``bwd`` returned, if it is one cotangent (or None) per argument of ``fn`` (but
    those in ``nondiff_argnums``), each of its argument's shape, as JAX asks; else an error
    that says what it returned. One per argument, None for those not differentiated."""
    name = getattr(fn, "__name__", "the function")
    expected = len(args) - len(nondiff_argnums)
    if not isinstance(cotangents, (tuple, list)) or len(cotangents) != expected:
        got = (
            f"{len(cotangents)} values"
            if isinstance(cotangents, (tuple, list))
            else "an array" if hasattr(cotangents, "shape") else f"a {type(cotangents).__name__}"
        )
        raise SrcadError(
            f"the bwd of custom_vjp {name} returned {got}; return a tuple with one cotangent "
            f"(or None) per argument of {name}"
            + (" not in nondiff_argnums" if nondiff_argnums else "")
            + f": {expected} (write (dx,) for one)"
        )
    if nondiff_argnums:
        given = iter(cotangents)
        cotangents = [None if k in nondiff_argnums else next(given) for k in range(len(args))]
    for k, (cotangent, arg) in enumerate(zip(cotangents, args, strict=True)):
        if isinstance(arg, (dict, list, tuple)):
            continue  # a tree: its leaves are checked (on_leaves)
        _check_shape(name, cotangent, arg, f"argument {k} of {name},")
    return tuple(cotangents)


TREE_KINDS = ("leaf", "dict", "list", "tuple")
_ON_LEAVES: dict[tuple, str] = {}
Settings = tuple[tuple[int, object], ...]  # (leaf position, value): strings, None, functions


def on_leaves(name: str, tree: TreeDef, settings: Settings = ()) -> str:
    """The primitive of the user's function ``name`` called with dicts, lists or tuples of
    arrays, structured as ``tree`` (that of the tuple of arguments), and ``settings`` among
    the leaves: it takes the other leaves, one cotangent each. Its rule runs the user's on
    the arguments put back together and takes the leaves of the cotangents the user's rule
    returns, checked against the arguments' structure (a setting's is dropped). Made once
    for each function, structure and settings."""
    key = (name, tree, tuple((k, _setting_key(v)) for k, v in settings))
    if key in _ON_LEAVES and _ON_LEAVES[key] in PRIMS:
        return _ON_LEAVES[key]
    prim = PRIMS[name]
    if not _is_plain_tree(tree):
        raise SrcadError(
            f"{prim.called_as} has a derivative rule of yours and takes a NamedTuple or a "
            "dataclass: pass dicts, lists or tuples of arrays, or each array on its own"
        )
    fixed = dict(settings)

    def all_leaves(arrays) -> list:
        given = iter(arrays)
        return [fixed[k] if k in fixed else next(given) for k in range(tree.n_leaves)]

    def called_on_leaves(*arrays):
        return prim.fn(*unflatten(tree, all_leaves(arrays)))

    called_on_leaves.__name__ = called_on_leaves.__qualname__ = prim.called_as

    def rule(g, out, *arrays):
        leaves = all_leaves(arrays)
        cotangents = _leaves_of_cotangents(
            prim, VJP_RULES[name](g, out, *unflatten(tree, leaves)), tree
        )
        kept = [c for k, c in enumerate(cotangents) if k not in fixed]
        for k, (cotangent, array) in enumerate(zip(kept, arrays, strict=True)):
            position = [j for j in range(tree.n_leaves) if j not in fixed][k]
            _check_shape(prim.called_as, cotangent, array, _leaf_path(tree, position))
        return tuple(kept)

    leaves_name = _unused(f"{name}_on_leaves", PRIMS)
    PRIMS[leaves_name] = Prim(
        leaves_name,
        called_on_leaves,
        CUSTOM,
        tree.n_leaves - len(settings),
        module=prim.module,
        called_as=prim.called_as,
        user_rules=prim.user_rules,
        arguments_tree=(tree, settings),
        user_function=prim.fn,
    )
    VJP_RULES[leaves_name] = rule
    _ON_LEAVES[key] = leaves_name
    return leaves_name


_OUTPUT_TREES: dict[tuple, str] = {}


def with_output_tree(name: str, args: tuple) -> str:
    """The primitive of the user's function ``name`` called on ``args``: itself where it
    returns an array or a flat tuple or list of them; where it returns a dict, a NamedTuple,
    a dataclass or nested tuples of arrays, one whose outputs are that tree's leaves (the
    generated code takes them with ``leaves_of``; the tree is put back together for the
    code that reads it and for the rule, which gets the cotangents in the same tree)."""
    prim = PRIMS[name]
    try:
        arrays, params = prim.bind(args, {})
        output = evaluated_output(name, [_aval(a) for a in arrays], params)
    except Exception:  # noqa: BLE001 - the call raises as it did, when it is recorded
        return name
    leaves, tree = flatten(output)
    flat = tree.kind in ("tuple", "list") and all(c.kind == "leaf" for c in tree.children)
    if tree.kind == "leaf" or flat:
        return name
    others = [type(leaf).__name__ for leaf in leaves if not _is_number_or_array(leaf)]
    if others:
        raise SrcadError(
            f"{prim.called_as} has a derivative rule of yours and returns a "
            f"{type(output).__name__} holding a value of type {others[0]} beside its arrays; "
            "return arrays and floats only (a setting the caller needs can come from outside)"
        )
    key = (name, tree, id(prim))  # a rule given again makes another primitive of name
    if key in _OUTPUT_TREES and _OUTPUT_TREES[key] in PRIMS:
        return _OUTPUT_TREES[key]
    count = tree.n_leaves

    def leaves_out(*arrays, **params):
        return leaves_of(prim.fn(*arrays, **params))

    leaves_out.__name__ = leaves_out.__qualname__ = _name(prim.fn)  # as errors name it

    def rule(g, out, *arrays, **params):
        cotangents, values = (g, out) if count > 1 else ((g,), (out,))
        inner_rule = VJP_RULES[name]  # the rule given last
        return inner_rule(unflatten(tree, list(cotangents)), unflatten(tree, list(values)), *arrays)

    tree_name = _unused(f"{name}_tree", PRIMS)
    PRIMS[tree_name] = dataclasses.replace(
        prim,
        name=tree_name,
        fn=leaves_out,
        output_tree=tree,
        rebuild_output=functools.partial(unflatten, tree),
        user_function=prim.user_function or prim.fn,
    )
    if name in VJP_RULES:
        VJP_RULES[tree_name] = rule
    if name in JVP_RULES:  # srcad.defjvp's: the tangent of the tree, its leaves

        def forward_rule(tangents, out, *arrays, **params):
            values = out if count > 1 else (out,)
            tangent = JVP_RULES[name](tangents, unflatten(tree, list(values)), *arrays)
            leaves = list(leaves_of(tangent))
            return tuple(leaves) if count > 1 else leaves[0]

        JVP_RULES[tree_name] = forward_rule
    _OUTPUT_TREES[key] = tree_name
    return tree_name


def _is_number_or_array(leaf: object) -> bool:
    return isinstance(leaf, (np.ndarray, np.generic, float)) and not isinstance(leaf, np.bool_)


def _aval(value: object) -> AVal:
    return value.aval if isinstance(value, Tracer) else aval_of(value)


def _setting_key(value: object) -> object:
    """Strings and None by value, functions by identity (the primitive keeps them)."""
    return value if isinstance(value, (str, bytes, type(None))) else id(value)


def _check_shape(name: str, cotangent: object, argument: object, what: str) -> None:
    """A cotangent the bwd of custom_vjp ``name`` returned has its argument's shape."""
    if cotangent is not None and np.shape(cotangent) != np.shape(argument):
        raise ShapeError(
            f"the bwd of custom_vjp {name} returned a cotangent of shape {np.shape(cotangent)} "
            f"for {what} of shape {np.shape(argument)}; return one of the argument's shape"
        )


def _leaf_path(tree: TreeDef, k: int) -> str:
    """How the user names leaf ``k`` of the arguments: ``argument 1['b']``."""
    path = leaf_paths(tree)[k]
    return f"argument {path[0]}" + "".join(f"[{key!r}]" for key in path[1:])


def _is_plain_tree(tree: TreeDef) -> bool:
    return tree.kind in TREE_KINDS and all(_is_plain_tree(c) for c in tree.children)


def _leaves_of_cotangents(prim: Prim, cotangents: tuple, tree: TreeDef) -> tuple:
    """One cotangent (or None) per leaf of the arguments: those of the cotangent each
    argument got, which must have its structure (None for one: None for each leaf)."""
    leaves: list = []
    for k, (cotangent, argument) in enumerate(zip(cotangents, tree.children, strict=True)):
        if cotangent is None:
            leaves += [None] * argument.n_leaves
            continue
        found, structure = flatten(cotangent)
        if _without_leaf_kinds(structure) != _without_leaf_kinds(argument):
            raise SrcadError(
                f"the bwd of custom_vjp {prim.called_as} returned for argument {k} a cotangent "
                f"structured otherwise than the argument ({_shown(structure)} for "
                f"{_shown(argument)}); return one of the same structure (None where no "
                "gradient flows)"
            )
        leaves += found
    return tuple(leaves)


def _without_leaf_kinds(tree: TreeDef) -> tuple:
    """A tree's structure for comparison (a tuple and a list of the same items differ)."""
    if tree.kind == "leaf":
        return ("leaf",)
    return (tree.kind, tree.keys, tuple(_without_leaf_kinds(c) for c in tree.children))


def _shown(tree: TreeDef) -> str:
    if tree.kind == "leaf":
        return "an array"
    if tree.kind == "dict":
        return f"a dict with keys {list(tree.keys)}"
    return f"a {tree.kind} of {len(tree.children)}"


def _register(
    fn: Callable, direction: str, rules: tuple[Callable, ...], alias: object = None
) -> str:
    """The primitive standing for ``fn`` (made on its first rule, one per function object:
    two functions of one name, closures a factory made, get their own), whose rule in
    ``direction`` ("vjp" or "jvp") now runs the user's functions ``rules``. The table's deferred families (SciPy's) load first, so that a built-in rule
    never replaces the user's later."""
    load_deferred()
    REGISTRATIONS.count += 1  # compiles that relied on the rules given so far are stale
    name = CALLABLES.get(fn)
    known = name is not None and name in PRIMS and PRIMS[name].kind == CUSTOM
    if not known:
        name = _unused(_custom_name(fn), PRIMS)
    called_as = PRIMS[name].called_as if known else _unused(_call_name(fn), _called_names())
    kept = PRIMS[name].user_rules if known else ()
    n_inputs = fn.__code__.co_argcount if hasattr(fn, "__code__") else 1
    module = getattr(fn, "__module__", None) or type(fn).__module__  # ufuncs have none
    user_rules = (*((d, r) for d, r in kept if d != direction), (direction, rules))
    PRIMS[name] = Prim(
        name,
        fn,
        CUSTOM,
        n_inputs,
        module=module,
        called_as=called_as,
        user_rules=user_rules,
        on_leaves=functools.partial(on_leaves, name),
        with_output_tree=with_output_tree,
    )
    CALLABLES[fn] = name
    if alias is not None:
        CALLABLES[alias] = name
    return name


def _custom_name(fn: Callable) -> str:
    module = getattr(fn, "__module__", None) or type(fn).__module__
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "function")
    return "".join(c if c.isalnum() else "_" for c in f"custom_{module}_{qualname}")


def _call_name(fn: Callable) -> str:
    """The name generated code calls ``fn`` by: its own, where that is an identifier."""
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else "custom_function"


def _called_names() -> set[str]:
    return {prim.called_as for prim in PRIMS.values() if prim.kind == CUSTOM}


def _unused(name: str, taken: Collection[str]) -> str:
    """``name``, or ``name_2``, ``name_3``, ... where it is taken."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate


# spelled srcad.stop_gradient in generated code, so that a further derivative of that code
# (srcad.hessian reads it) sees it too
PRIMS["stop_gradient"] = Prim(
    "stop_gradient", stop_gradient, "shape", 1, is_differentiable=False, module="srcad"
)
CALLABLES[stop_gradient] = "stop_gradient"
