"""Testing: random function bodies: assignments, branches, loops and jumps.

In: a random source, the ``Scope`` of the function's parameters, the axis lengths, and the
weights of each kind of statement (a family's character). Out: indented source lines in a
``SourceWriter``, ending in ``return`` of a scalar. The body runs without error for finite
inputs: every name is read only where Python guarantees it is bound (after an ``if`` only the
names every surviving branch assigned; after a loop that runs at least once, the names its
body assigned before any jump), every loop stops after a few trips (``while`` loops count),
and values carried around loops are damped so that they stay bounded.

Statement kinds that write into arrays or lists live in ``srcad.testing.mutations``; a family
can add its own kinds (calls of helpers) through ``extra_kinds``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from srcad.testing import mutations
from srcad.testing.expressions import ExpressionMaker, paren
from srcad.testing.scope import Scope, Shape
from srcad.testing.writer import SourceWriter

UPDATES = (
    "{v} = 0.5 * {v} + 0.5 * np.tanh({e})",
    "{v} = {v} + 0.25 * np.sin({e})",
    "{v} = np.tanh({v} + {e})",
    "{v} = 0.9 * {v} - 0.1 * {e}",
)
MAX_NESTING = 2


class StatementMaker:
    """Writes random statements into ``writer``, tracking what is bound in ``scope``."""

    def __init__(
        self,
        rng: random.Random,
        scope: Scope,
        sizes: tuple[int, ...],
        weights: dict[str, float],
        writer: SourceWriter,
        is_symbolic: bool = False,
    ):
        self.rng = rng
        self.scope = scope
        self.sizes = sizes
        self.weights = weights
        self.writer = writer
        self.expressions = ExpressionMaker(rng, scope, sizes, is_symbolic)
        self.extra_kinds: dict[str, Callable[[StatementMaker], None]] = {}
        self.owned: set[str] = set()  # arrays that may be written into (buffers, arguments)
        self.lists: dict[str, Shape] = {}
        self.loop_depth = 0
        self.nesting = 0
        self.budget = 0
        self.jumps = 0  # jumps written so far: a body's names count as bound only before one
        self.returns: tuple[Shape, ...] = ((),)  # the shapes every return gives

    # --- bodies ---------------------------------------------------------------------------

    def function_body(self, count: int) -> None:
        """About ``count`` statements, then ``return`` of a scalar."""
        self.budget = count
        self.block(count)
        self.final_return()

    def block(self, count: int) -> dict[str, Shape]:
        """At least one statement; returns the names bound before the block's first jump."""
        start_lines, start_jumps = len(self.writer.lines), self.jumps
        before_jump = dict(self.scope.floats)
        for _ in range(max(1, count)):
            if self.budget <= 0 and len(self.writer.lines) > start_lines:
                break
            self.budget -= 1
            self.statement()
            if self.jumps == start_jumps:
                before_jump = dict(self.scope.floats)
        return before_jump

    @contextmanager
    def scoped(self, scope: Scope) -> Iterator[Scope]:
        """Generate with ``scope`` as the current scope, then restore the outer one."""
        outer = self.scope
        self.scope = self.expressions.scope = scope
        try:
            yield scope
        finally:
            self.scope = self.expressions.scope = outer

    def statement(self) -> None:
        """One statement of a kind drawn from the weights that fit here."""
        kinds = {kind: weight for kind, weight in self.weights.items() if self._fits(kind)}
        kind = self.rng.choices(list(kinds), list(kinds.values()))[0]
        if kind in self.extra_kinds:
            self.extra_kinds[kind](self)
        else:
            STATEMENTS[kind](self)

    def _fits(self, kind: str) -> bool:
        if kind in ("if", "for", "while", "list_loop", "for_else"):
            return self.nesting < MAX_NESTING and self.budget >= 1
        if kind in ("break", "continue"):
            return self.loop_depth > 0
        if kind in ("write", "alias"):
            return bool(self.owned & set(self.scope.floats))
        if kind == "swap":
            return bool(mutations.swappable(self))
        return True

    # --- helpers used by the statement kinds ----------------------------------------------

    def pick_shape(self) -> Shape:
        """A shape to compute, favouring the shapes of names in scope."""
        known = [shape for _, shape in self.scope.all_readable()]
        if known and self.rng.random() < 0.6:
            return self.rng.choice(known)
        return self.rng.choice(self.expressions.shapes())

    def expression(self, shape: Shape, depth: int | None = None) -> str:
        """An expression of this shape over the current scope."""
        return self.expressions.make(shape, self.rng.randint(1, 3) if depth is None else depth)

    def bind(self, name: str, shape: Shape) -> None:
        """Record that ``name`` now holds a float value of ``shape``."""
        self.scope.floats[name] = shape

    def nested(self) -> Iterator[None]:
        """The writer's indentation and the nesting count, one level deeper."""
        return _nested(self)

    def final_return(self) -> None:
        """``return`` a weighted sum of scalars read from up to three names (or, in a helper
        that returns other shapes, one expression per returned value)."""
        if self.returns != ((),):
            values = ", ".join(self.expression(shape, 2) for shape in self.returns)
            self.writer.line(f"return {values}")
            return
        readable = self.scope.all_readable()
        chosen = self.rng.sample(readable, min(3, len(readable)))
        terms = [self.expressions.adapt(name, shape, ()) for name, shape in chosen]
        if not terms or self.rng.random() < 0.3:
            terms.append(self.expressions.scalar(2))
        weights = [repr(round(self.rng.uniform(0.5, 1.5), 2)) for _ in terms]
        total = " + ".join(
            f"{weight} * {paren(term)}" for weight, term in zip(weights, terms, strict=True)
        )
        self.writer.line(f"return {total}")


@contextmanager
def _nested(maker: StatementMaker) -> Iterator[None]:
    maker.nesting += 1
    try:
        with maker.writer.indented():
            yield
    finally:
        maker.nesting -= 1


# --- straight-line statements -------------------------------------------------------------


def write_assign(maker: StatementMaker) -> None:
    """``v = <expr>``: a new name, or a new value for a name in scope."""
    names = [name for name in maker.scope.floats if name not in maker.owned]
    if names and maker.loop_depth > 0 and maker.rng.random() < 0.6:
        write_update(maker, maker.rng.choice(names))
        return
    shape = maker.pick_shape()
    same = [name for name in names if maker.scope.floats[name] == shape]
    if same and maker.rng.random() < 0.25:
        name = maker.rng.choice(same)
    else:
        name = maker.writer.fresh("v")
    value = maker.expression(shape)
    if value in maker.owned:
        value = f"{value} * 1.0"  # a copy: an alias is the alias statement's job
    maker.writer.line(f"{name} = {value}")
    maker.bind(name, shape)


def write_update(maker: StatementMaker, name: str) -> None:
    """A damped new value for a name, as loops carry it: ``v = 0.5 * v + 0.5 * tanh(e)``."""
    shape = maker.scope.floats[name]
    template = maker.rng.choice(UPDATES)
    maker.writer.line(template.format(v=name, e=paren(maker.expression(shape, 2))))


def write_augmented(maker: StatementMaker) -> None:
    """``v += e``, ``v -= e``, ``v *= (1 + 0.1 tanh(e))``, ``v /= (1 + e ** 2)``, on a
    scalar or on an array that may be written into (in place)."""
    names = [n for n, shape in maker.scope.floats.items() if shape == () or n in maker.owned]
    if not names:
        write_assign(maker)
        return
    name = maker.rng.choice(names)
    e = paren(maker.expression(maker.scope.floats[name], 2))
    forms = (f"{name} += 0.5 * np.tanh({e})", f"{name} -= 0.25 * {e}")
    forms += (f"{name} *= 1.0 + 0.1 * np.tanh({e})", f"{name} /= 1.0 + {e} ** 2")
    maker.writer.line(maker.rng.choice(forms))


# --- branches -----------------------------------------------------------------------------


def write_if(maker: StatementMaker) -> None:
    """``if``/``elif``/``else`` on data; a branch may end in a jump."""
    count = 1 + maker.rng.choice((0, 0, 1, 2))
    has_else = maker.rng.random() < 0.6
    outcomes = []
    for index in range(count + has_else):
        keyword = "if" if index == 0 else "elif"
        header = "else:" if index == count else f"{keyword} {maker.expressions.condition(2)}:"
        maker.writer.line(header)
        may_end = any(not ended for _, ended in outcomes) or index < count
        outcomes.append(_branch(maker, may_end))
    if has_else:
        maker.scope.floats.update(_bound_after(maker.scope, outcomes))


def _branch(maker: StatementMaker, may_end: bool) -> tuple[dict[str, Shape], bool]:
    """One branch in a copy of the scope: (its names at the end, whether it jumped away)."""
    with maker.scoped(maker.scope.copy()) as scope, maker.nested():
        maker.block(maker.rng.randint(1, 2))
        ends = may_end and maker.rng.random() < 0.25
        if ends:
            _write_jump_statement(maker)
        return dict(scope.floats), ends


def _bound_after(scope: Scope, outcomes: list) -> dict[str, Shape]:
    """New names that every branch that falls through has bound, with one shape."""
    through = [names for names, ended in outcomes if not ended]
    if not through:
        return {}
    common = {name: shape for name, shape in through[0].items() if name not in scope.floats}
    for names in through[1:]:
        common = {name: shape for name, shape in common.items() if names.get(name) == shape}
    return common


def write_jump(maker: StatementMaker) -> None:
    """``if <cond>: [statement] break / continue / return <scalar>``. The kinds ``break``,
    ``continue`` and ``return`` all write such a guarded jump (their weights say how often;
    ``break`` and ``continue`` fit only inside loops); the jump is drawn among those that fit."""
    maker.writer.line(f"if {maker.expressions.condition(1)}:")
    with maker.scoped(maker.scope.copy()), maker.nested():
        if maker.rng.random() < 0.4:
            write_assign(maker)
        _write_jump_statement(maker)


def _write_jump_statement(maker: StatementMaker) -> None:
    choices = ["return"] + ["break", "continue"] * (maker.loop_depth > 0)
    kind = maker.rng.choice(choices)
    maker.jumps += 1
    if kind == "return":
        maker.final_return()
    else:
        maker.writer.line(kind)


# --- loops --------------------------------------------------------------------------------


def write_for(maker: StatementMaker) -> None:
    """A ``for`` loop over a range, the rows or elements of an array, ``enumerate``, ``zip``
    or a list of floats; its body's names stay bound after it when it surely runs."""
    header, loop_floats, loop_ints, runs = _for_header(maker)
    maker.writer.line(header)
    body = maker.scope.copy()
    body.floats.update(loop_floats)
    body.ints.update(loop_ints)
    bound = loop_body(maker, body)
    if runs:
        outer = maker.scope.floats
        outer.update({n: s for n, s in bound.items() if n not in outer and n not in loop_floats})


def write_for_else(maker: StatementMaker) -> None:
    """``for ... else``: the ``else`` block runs when the loop did not break."""
    header, loop_floats, loop_ints, _ = _for_header(maker)
    maker.writer.line(header)
    body = maker.scope.copy()
    body.floats.update(loop_floats)
    body.ints.update(loop_ints)
    loop_body(maker, body)
    maker.writer.line("else:")
    with maker.scoped(maker.scope.copy()), maker.nested():
        maker.block(1)


def loop_body(maker: StatementMaker, body: Scope) -> dict[str, Shape]:
    """The body of a loop whose header is written, in the scope ``body``."""
    maker.loop_depth += 1
    try:
        with maker.scoped(body), maker.nested():
            return maker.block(maker.rng.randint(1, 3))
    finally:
        maker.loop_depth -= 1


def _for_header(maker: StatementMaker) -> tuple[str, dict, dict, bool]:
    """(header line, float loop names, int loop names, whether it surely runs once)."""
    rng, writer = maker.rng, maker.writer
    arrays = [(n, s) for n, s in maker.scope.all_readable() if s != ()]
    kind = rng.choice(("range", "range", "items", "enumerate", "zip", "floats"))
    if kind in ("items", "enumerate", "zip") and arrays:
        name, shape = rng.choice(arrays)
        item = writer.fresh("row" if len(shape) == 2 else "e")
        floats = {item: shape[1:]}
        if kind == "items":
            return f"for {item} in {name}:", floats, {}, True
        if kind == "enumerate":
            index = writer.fresh("i")
            ints = {index: (0, shape[0] - 1)}
            return f"for {index}, {item} in enumerate({name}):", floats, ints, True
        other = maker.expression(shape, 1)
        second = writer.fresh("w")
        floats[second] = shape[1:]
        return f"for {item}, {second} in zip({name}, {other}):", floats, {}, True
    if kind == "floats":
        item = writer.fresh("c")
        values = [round(rng.uniform(-1.0, 1.5), 2) for _ in range(rng.randint(1, 3))]
        return f"for {item} in {values!r}:", {item: ()}, {}, True
    return _range_header(maker)


def _range_header(maker: StatementMaker) -> tuple[str, dict, dict, bool]:
    rng = maker.rng
    index = maker.writer.fresh("i")
    n = rng.choice(maker.sizes)
    vectors = [name for name, shape in maker.scope.all_readable() if shape == (n,)]
    stop = f"len({rng.choice(vectors)})" if vectors and rng.random() < 0.4 else str(n)
    forms = [
        (f"range({stop})", (0, n - 1)),
        (f"range(1, {stop})", (1, n - 1)),
        (f"range({n} - 1, -1, -1)", (0, n - 1)),
        (f"range(0, {stop}, 2)", (0, n - 1)),
    ]
    iterable, bounds = rng.choice(forms)
    runs = not iterable.startswith("range(1,") or n > 1
    return f"for {index} in {iterable}:", {}, {index: bounds}, runs


def write_while(maker: StatementMaker) -> None:
    """A ``while`` loop on data that stops after at most a few trips (a counter)."""
    rng, writer = maker.rng, maker.writer
    counter = writer.fresh("k")
    trips = rng.randint(1, 4)
    writer.line(f"{counter} = 0")
    form = rng.choice(("data", "data", "counter", "true"))
    if form == "data":
        writer.line(f"while ({maker.expressions.condition(1)}) and {counter} < {trips}:")
    elif form == "counter":
        writer.line(f"while {counter} < {trips}:")
    else:
        writer.line("while True:")
    body = maker.scope.copy()
    with writer.indented():
        writer.line(f"{counter} += 1")
        if form == "true":
            writer.line(f"if {counter} > {trips} or ({maker.expressions.condition(0)}):")
            with writer.indented():
                writer.line("break")
    body.ints[counter] = (1, trips)
    loop_body(maker, body)


STATEMENTS: dict[str, Callable[[StatementMaker], None]] = {
    "assign": write_assign,
    "augmented": write_augmented,
    "if": write_if,
    "for": write_for,
    "for_else": write_for_else,
    "while": write_while,
    "break": write_jump,
    "continue": write_jump,
    "return": write_jump,
    **mutations.STATEMENTS,
}
