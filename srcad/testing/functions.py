"""Testing: the ``functions`` family: programs made of several functions.

In: a random source. Out: a ``Program`` whose module defines module globals (arrays and
floats), helpers and ``f``. Helpers take keyword and default arguments, return tuples,
recurse on an int, call earlier helpers, or are closures made by a factory, or a class whose
objects ``f`` makes and steps (their attributes written in loops and branches); ``f`` takes
vectors, scalars, a dict and a list of arrays, an int and a string, calls the helpers, and
defines closures and lambdas over its own locals (some called again after those locals
changed, also by a loop or a branch on data that rebinds them before each call). The program's ``world_change`` gives the globals new values of the same shape and
dtype (by rebinding the name, or by writing into the array: key ``"G0[...]"``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from srcad.testing.assemble import example_value, function_text, module_source, pick_sizes
from srcad.testing.expressions import ExpressionMaker, paren
from srcad.testing.program import Program, literal
from srcad.testing.scope import Scope, Shape
from srcad.testing.statements import StatementMaker, loop_body
from srcad.testing.writer import SourceWriter

HELPER_WEIGHTS = {"assign": 3.0, "augmented": 0.5, "if": 0.5, "for": 0.5, "return": 0.3}
F_WEIGHTS = {"assign": 2.0, "call": 4.0, "closure": 1.0, "late": 0.6, "if": 0.6, "for": 0.6}
MODES = ("tanh", "sin", "square")


@dataclass(frozen=True)
class Helper:
    """A function ``f`` may call: its kind, float parameter shapes and result shapes."""

    name: str
    kind: str  # "keywords", "tuple", "recursive", "factory" or "local" (a closure in f)
    params: tuple[Shape, ...]
    results: tuple[Shape, ...]


@dataclass
class ModuleParts:
    """What the module being generated holds so far."""

    rng: random.Random
    sizes: tuple[int, int]
    parts: list[str] = field(default_factory=list)
    globals: dict[str, Shape] = field(default_factory=dict)
    helpers: list[Helper] = field(default_factory=list)
    world_change: dict = field(default_factory=dict)
    int_names: list[str] = field(default_factory=list)  # f's int parameters


def function_program(rng: random.Random, seed: int) -> Program:
    """Globals, helpers, and ``f`` calling them."""
    module = ModuleParts(rng, pick_sizes(rng))
    for _ in range(rng.randint(0, 2)):
        _add_global(module)
    for _ in range(rng.randint(1, 3)):
        HELPER_KINDS[rng.choice(list(HELPER_KINDS))](module)
    params, args, scope = _f_parameters(module)
    writer = SourceWriter(depth=1)
    maker = StatementMaker(rng, scope, module.sizes, dict(F_WEIGHTS), writer)
    _add_f_kinds(maker, module, params)
    maker.function_body(rng.randint(2, 6))
    module.parts.append(function_text("f", params, writer))
    source = module_source(module.parts)
    return Program("functions", seed, source, args, module.world_change)


# --- module globals -----------------------------------------------------------------------


def _add_global(module: ModuleParts) -> None:
    """``G0 = np.array(...)`` or ``C0 = 0.7``, read by ``f`` and the helpers."""
    rng = module.rng
    shape = rng.choice([(), (module.sizes[0],), module.sizes])
    name = f"G{len(module.globals)}"
    value, new_value = example_value(rng, shape), example_value(rng, shape)
    module.parts.append(f"{name} = {literal(value)}")
    module.globals[name] = shape
    in_place = shape != () and rng.random() < 0.4
    module.world_change[f"{name}[...]" if in_place else name] = new_value


# --- helpers ------------------------------------------------------------------------------


def _helper_maker(module: ModuleParts, scope: Scope, writer: SourceWriter) -> StatementMaker:
    """A statement maker for a helper body that may call the helpers defined before it."""
    scope.readonly.update(module.globals)
    maker = StatementMaker(module.rng, scope, module.sizes, dict(HELPER_WEIGHTS), writer)
    if module.helpers:
        known = list(module.helpers)
        maker.weights["call"] = 1.0
        maker.extra_kinds["call"] = lambda inner: write_call(inner, known, [])
    return maker


def _shape(module: ModuleParts) -> Shape:
    return module.rng.choice([(), (module.sizes[0],), (module.sizes[1],), module.sizes])


def add_keywords_helper(module: ModuleParts) -> None:
    """``def h(a, b=0.5, *, scale=1.5)``: called with defaults, keywords or both."""
    name = f"h{len(module.helpers)}"
    shape, result = _shape(module), _shape(module)
    writer = SourceWriter(depth=1)
    scope = Scope(floats={"a": shape, "b": (), "scale": ()})
    maker = _helper_maker(module, scope, writer)
    maker.returns = (result,)
    maker.function_body(module.rng.randint(1, 3))
    module.parts.append(function_text(name, ["a", "b=0.5", "*", "scale=1.5"], writer))
    module.helpers.append(Helper(name, "keywords", (shape,), (result,)))


def add_tuple_helper(module: ModuleParts) -> None:
    """``def h(a, b)`` returning two values."""
    name = f"h{len(module.helpers)}"
    shapes, results = (_shape(module), _shape(module)), (_shape(module), _shape(module))
    writer = SourceWriter(depth=1)
    maker = _helper_maker(module, Scope(floats={"a": shapes[0], "b": shapes[1]}), writer)
    maker.returns = results
    maker.function_body(module.rng.randint(1, 3))
    module.parts.append(function_text(name, ["a", "b"], writer))
    module.helpers.append(Helper(name, "tuple", shapes, results))


def add_recursive_helper(module: ModuleParts) -> None:
    """``def h(a, n)``: a base case on the int ``n``, else ``h(update(a), n - 1)``."""
    name = f"h{len(module.helpers)}"
    shape = _shape(module)
    scope = Scope(floats={"a": shape}, readonly=dict(module.globals))
    expressions = ExpressionMaker(module.rng, scope, module.sizes)
    base = expressions.make(shape, 2)
    step = f"0.5 * a + 0.5 * np.tanh({paren(expressions.make(shape, 2))})"
    body = f"    if n <= 0:\n        return {base}\n    return {name}({step}, n - 1)\n"
    module.parts.append(f"def {name}(a, n):\n{body}")
    module.helpers.append(Helper(name, "recursive", (shape,), (shape,)))


def add_factory_helper(module: ModuleParts) -> None:
    """``def make_k(c)`` returning a closure over ``c``; ``K0 = make_k(<constant>)``."""
    rng, index = module.rng, len(module.helpers)
    shape, constant_shape = _shape(module), rng.choice([(), _shape(module)])
    scope = Scope(floats={"u": shape}, readonly={"c": constant_shape, **module.globals})
    body = ExpressionMaker(rng, scope, module.sizes).make(shape, 2)
    factory = f"def make_{index}(c):\n    def inner(u):\n        return {body}\n    return inner\n"
    module.parts.append(factory)
    constant = literal(example_value(rng, constant_shape))
    module.parts.append(f"K{index} = make_{index}({constant})")
    module.helpers.append(Helper(f"K{index}", "factory", (shape,), (shape,)))


def add_stateful_helper(module: ModuleParts) -> None:
    """``class S0`` whose ``__init__`` keeps ``a`` and a constant, and whose ``step(b)``
    updates ``self.a`` and returns a value of its shape: ``f`` makes one and steps it, in a
    loop or a branch on data (an object made in the function, its attributes written)."""
    rng, index = module.rng, len(module.helpers)
    shape, other = _shape(module), _shape(module)
    scope = Scope(floats={"self.a": shape, "b": other}, readonly={"self.k": (), **module.globals})
    expressions = ExpressionMaker(rng, scope, module.sizes)
    update = f"0.5 * self.a + 0.5 * np.tanh({paren(expressions.make(shape, 2))})"
    result = expressions.make(shape, 2)
    constant = literal(example_value(rng, ()))
    module.parts.append(
        f"class S{index}:\n"
        f"    def __init__(self, a):\n        self.a = a\n        self.k = {constant}\n\n"
        f"    def step(self, b):\n        self.a = {update}\n        return {result}\n"
    )
    module.helpers.append(Helper(f"S{index}", "stateful", (shape, other), (shape,)))


HELPER_KINDS: dict[str, Callable[[ModuleParts], None]] = {
    "keywords": add_keywords_helper,
    "tuple": add_tuple_helper,
    "recursive": add_recursive_helper,
    "factory": add_factory_helper,
    "stateful": add_stateful_helper,
}


# --- calls --------------------------------------------------------------------------------


def write_call(maker: StatementMaker, helpers: list[Helper], int_names: list[str]) -> None:
    """A statement that calls one of ``helpers`` and binds what it returns."""
    rng = maker.rng
    helper = rng.choice(helpers)
    if helper.kind == "stateful":
        _write_stepping(maker, helper)
        return
    operands = [maker.expression(shape, 1) for shape in helper.params]
    call = _call_text(maker, helper, operands, int_names)
    if helper.kind == "tuple" and rng.random() < 0.6:
        names = [maker.writer.fresh("p") for _ in helper.results]
        maker.writer.line(f"{', '.join(names)} = {call}")
        for name, shape in zip(names, helper.results, strict=True):
            maker.bind(name, shape)
        return
    result = helper.results[0]
    if helper.kind == "tuple":
        position = rng.randrange(len(helper.results))
        call, result = f"{call}[{position}]", helper.results[position]
    name = maker.writer.fresh("v")
    maker.writer.line(f"{name} = {call}")
    maker.bind(name, result)


def _write_stepping(maker: StatementMaker, helper: Helper) -> None:
    """``o = S0(...)``, a step, then more steps in a loop or in a branch on data; binds the
    steps' sum and the object's state."""
    writer = maker.writer
    state, other = helper.params
    obj, total, kept = writer.fresh("o"), writer.fresh("v"), writer.fresh("v")
    writer.line(f"{obj} = {helper.name}({maker.expression(state, 1)})")
    writer.line(f"{total} = {obj}.step({maker.expression(other, 1)})")
    _write_repeat_or_branch(maker)
    with writer.indented():
        writer.line(f"{total} = {total} + {obj}.step({maker.expression(other, 1)})")
    writer.line(f"{kept} = {obj}.a * {obj}.k")
    maker.bind(total, state)
    maker.bind(kept, state)


def _write_repeat_or_branch(maker: StatementMaker) -> None:
    """The header of a block that runs one to three times, or only when data says so."""
    if maker.rng.random() < 0.5:
        maker.writer.line(f"for _ in range({maker.rng.randint(1, 3)}):")
    else:
        maker.writer.line(f"if {maker.expression((), 1)} > 0.0:")


def _call_text(
    maker: StatementMaker, helper: Helper, operands: list[str], int_names: list[str]
) -> str:
    rng = maker.rng
    if helper.kind == "recursive":
        depth = rng.choice(int_names) if int_names and rng.random() < 0.5 else rng.randint(0, 3)
        return f"{helper.name}({operands[0]}, {depth})"
    if helper.kind != "keywords":
        return f"{helper.name}({', '.join(operands)})"
    scalar = maker.expression((), 1)
    forms = (
        f"{helper.name}({operands[0]})",
        f"{helper.name}({operands[0]}, {scalar})",
        f"{helper.name}({operands[0]}, scale={scalar})",
        f"{helper.name}(a={operands[0]}, b={scalar})",
        f"{helper.name}({operands[0]}, b={scalar}, scale=0.7)",
    )
    return rng.choice(forms)


# --- f --------------------------------------------------------------------------------------


def _f_parameters(module: ModuleParts) -> tuple[list[str], tuple, Scope]:
    """``f``'s parameters (vectors, scalars, a dict, a list, an int, a string), example
    arguments for them, and the scope they make."""
    rng = module.rng
    scope = Scope(readonly=dict(module.globals))
    params, args = [], []
    for kind in rng.sample(["x", "s", "params", "xs", "n", "mode"], rng.randint(1, 4)):
        params.append(kind)
        args.append(_f_argument(module, scope, kind))
    if not any(kind in scope.floats or kind in ("params", "xs") for kind in params):
        params.append("x")
        args.append(_f_argument(module, scope, "x"))
    return params, tuple(args), scope


def _f_argument(module: ModuleParts, scope: Scope, kind: str) -> object:
    """The example value of one parameter of ``f``, recording what it puts in scope."""
    rng, sizes = module.rng, module.sizes
    if kind in ("x", "s"):
        shape = (sizes[0],) if kind == "x" else ()
        scope.floats[kind] = shape
        return example_value(rng, shape)
    if kind == "params":
        scope.readonly['params["w"]'] = sizes
        scope.readonly['params["b"]'] = ()
        return {"w": example_value(rng, sizes), "b": example_value(rng, ())}
    if kind == "xs":
        scope.readonly["xs[0]"] = scope.readonly["xs[-1]"] = (sizes[1],)
        return [example_value(rng, (sizes[1],)) for _ in range(rng.randint(1, 3))]
    if kind == "n":
        module.int_names.append("n")
        return rng.randint(0, 3)
    return rng.choice(MODES)


def _add_f_kinds(maker: StatementMaker, module: ModuleParts, params: list[str]) -> None:
    """The statements ``f`` may use besides the common ones."""
    callables = list(module.helpers)
    maker.extra_kinds["call"] = lambda inner: write_call(inner, callables, module.int_names)
    maker.extra_kinds["closure"] = lambda inner: write_closure(inner, callables)
    maker.extra_kinds["late"] = write_late_binding
    if "mode" in params:
        maker.weights["mode"] = 0.8
        maker.extra_kinds["mode"] = write_mode_branch
    if "xs" in params:
        maker.weights["list_loop_param"] = 0.8
        maker.extra_kinds["list_loop_param"] = write_list_parameter_loop
    if "n" in params:
        maker.weights["int_loop"] = 0.6
        maker.extra_kinds["int_loop"] = write_int_parameter_loop


def write_closure(maker: StatementMaker, callables: list[Helper]) -> None:
    """A nested ``def`` or a ``lambda`` over ``f``'s locals, then a call of it; at the top
    level of ``f`` it stays callable, also after the locals it reads change."""
    writer = maker.writer
    shape = maker.pick_shape()
    name = writer.fresh("inner")
    _write_inner_function(maker, name, shape)
    result = writer.fresh("v")
    writer.line(f"{result} = {name}({maker.expression(shape, 1)})")
    maker.bind(result, shape)
    if maker.nesting == 0 and maker.loop_depth == 0:
        callables.append(Helper(name, "local", (shape,), (shape,)))


def _write_inner_function(
    maker: StatementMaker, name: str, shape: Shape, scaled_by: str | None = None
) -> None:
    """``def name(u): return ...`` or ``name = lambda u: ...`` over ``f``'s scope, the
    expression times ``scaled_by`` when given."""
    inner_scope = maker.scope.copy()
    inner_scope.floats["u"] = shape
    with maker.scoped(inner_scope):
        body = maker.expression(shape, 2)
    if scaled_by is not None:
        body = f"({body}) * {scaled_by}"
    if maker.rng.random() < 0.5:
        maker.writer.line(f"def {name}(u):")
        with maker.writer.indented():
            maker.writer.line(f"return {body}")
    else:
        maker.writer.line(f"{name} = lambda u: {body}")


def write_late_binding(maker: StatementMaker) -> None:
    """A closure over a local that a loop, or a branch on data, rebinds before each call:
    the call reads the local as it is then (Python binds a closure's names late)."""
    writer = maker.writer
    shape = maker.pick_shape()
    captured, name, result = writer.fresh("c"), writer.fresh("inner"), writer.fresh("v")
    writer.line(f"{captured} = {maker.expression((), 1)}")
    maker.bind(captured, ())
    _write_inner_function(maker, name, shape, scaled_by=captured)
    writer.line(f"{result} = {maker.expression(shape, 1)}")
    _write_repeat_or_branch(maker)
    with writer.indented():
        writer.line(f"{captured} = 0.5 * {captured} + {maker.expression((), 1)}")
        writer.line(f"{result} = {result} + {name}({maker.expression(shape, 1)})")
    maker.bind(result, shape)


def write_mode_branch(maker: StatementMaker) -> None:
    """``if mode == "tanh": ... elif ...: ... else: ...``, one new name in every branch."""
    shape = maker.pick_shape()
    name = maker.writer.fresh("v")
    operand = paren(maker.expression(shape, 2))
    bodies = (f"np.tanh({operand})", f"np.sin({operand})", f"{operand} ** 2")
    for index, mode in enumerate(MODES):
        if index == len(MODES) - 1:
            maker.writer.line("else:")
        else:
            maker.writer.line(f"{'if' if index == 0 else 'elif'} mode == {mode!r}:")
        with maker.writer.indented():
            maker.writer.line(f"{name} = {bodies[index]}")
    maker.bind(name, shape)


def write_list_parameter_loop(maker: StatementMaker) -> None:
    """``for item in xs:`` over the list parameter."""
    item = maker.writer.fresh("item")
    maker.writer.line(f"for {item} in xs:")
    body = maker.scope.copy()
    body.floats[item] = maker.scope.readonly["xs[0]"]
    loop_body(maker, body)


def write_int_parameter_loop(maker: StatementMaker) -> None:
    """``for i in range(n):`` over the int parameter (a compile-time constant)."""
    index = maker.writer.fresh("i")
    maker.writer.line(f"for {index} in range(n):")
    body = maker.scope.copy()
    body.ints[index] = (0, 2)
    loop_body(maker, body)
