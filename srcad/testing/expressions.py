"""Testing: random NumPy expressions of a requested shape, as source text.

In: a random source, a ``Scope`` (the names to read, with their shapes) and the axis lengths
to use. Out: the source text of an expression that, evaluated with float64 values of those
shapes, gives a float64 value of the requested shape without raising: logarithms and square
roots see ``1 + a ** 2``, exponentials see bounded arguments, matrices that are inverted are
diagonally dominant. Every operand is wrapped in parentheses; the caller normalizes the text
with ``ast.unparse``.

The *symbolic* palette (scalars only) uses just the operations that ``srcad.testing.symbolic``
can also evaluate on sympy symbols; the full palette adds broadcasting, reductions with
``axis``/``keepdims``, ``matmul``/``einsum``, indexing, ``where``/``maximum``/``clip``,
``sort``/``cumsum``/``diff``, joining and small linear algebra.
"""

from __future__ import annotations

import random

from srcad.testing.scope import Scope, Shape

UNARY = (
    "np.sin({a})",
    "np.cos({a})",
    "np.tanh({a})",
    "np.arctan({a})",
    "np.exp(np.tanh({a}))",
    "np.log(1.0 + {a} ** 2)",
    "np.sqrt(1.0 + {a} ** 2)",
    "np.log1p({a} ** 2)",
    "np.expm1(np.sin({a}))",
    "np.square({a})",
    "{a} ** 3",
    "-{a}",
    "np.abs({a})",
    "0.5 * {a}",
    "np.exp(-{a} ** 2)",
    "1.0 / (1.0 + np.exp(-{a}))",
    "np.maximum({a}, 0.0)",
    "np.clip({a}, -1.0, 1.0)",
    "np.sinh(np.tanh({a}))",
    "np.arcsinh({a})",
    "np.cosh(np.sin({a}))",
    "np.logaddexp({a}, 0.0)",
)
SCALAR_UNARY = (
    "math.sin({a})",
    "math.cos({a})",
    "math.exp(math.tanh({a}))",
    "math.sqrt(1.0 + {a} ** 2)",
    "math.log(1.0 + {a} ** 2)",
    "math.atan({a})",
    "abs({a})",
)
BINARY = (
    "{a} + {b}",
    "{a} - {b}",
    "{a} * {b}",
    "{a} / (1.0 + {b} ** 2)",
    "np.maximum({a}, {b})",
    "np.minimum({a}, {b})",
    "np.power(1.5 + np.tanh({a}), 2.0 * np.tanh({b}))",
    "np.where({a} > {b}, {a}, 0.5 * {b})",
    "np.where({a} > 0.1, np.sqrt({a}), {b})",  # a guard: sqrt of negatives not taken
    "np.where({a} < 1.5, {b}, np.log({a} - 1.0))",
    "np.hypot({a}, {b})",
    "np.arctan2({a}, 2.0 + np.tanh({b}))",
)
SCALAR_BINARY = (
    "max({a}, {b})",
    "min({a}, {b})",
    "({a} and {b})",  # Python's: b where a is not 0, else a
    "({a} or {b})",
    "{a} * round({b})",  # a step in b: no derivative through it
)
REDUCTIONS = ("np.sum", "np.mean", "np.max", "np.min", "np.std", "np.var")
COMPARISONS = ("<", ">", "<=", ">=")
CONSTANTS = (0.5, 1.5, -0.75, 2.0, 0.25, -1.25, 0.3, 1.0)
LONGEST = 320  # characters: a longer expression is replaced by a leaf, to keep programs readable


def paren(text: str) -> str:
    """``text`` as an operand."""
    return f"({text})"


class ExpressionMaker:
    """Random expressions over the names of one scope."""

    def __init__(
        self, rng: random.Random, scope: Scope, sizes: tuple[int, ...], is_symbolic: bool = False
    ):
        self.rng = rng
        self.scope = scope
        self.sizes = sizes
        self.is_symbolic = is_symbolic

    # --- entry points ---------------------------------------------------------------------

    def make(self, shape: Shape, depth: int) -> str:
        """An expression of ``shape``, nested about ``depth`` operations deep."""
        if depth <= 0 or self.rng.random() < 0.2:
            return self.leaf(shape)
        productions = self._productions(shape)
        weights = [weight for weight, _ in productions]
        for _ in range(8):
            _, production = self.rng.choices(productions, weights)[0]
            text = production(shape, depth - 1)
            if text is not None and len(text) <= LONGEST:
                return text
        return self.leaf(shape)

    def scalar(self, depth: int = 2) -> str:
        """A scalar float expression."""
        return self.make((), depth)

    def condition(self, depth: int = 1) -> str:
        """A bool expression on the data, with ``and``/``or``/``not``."""
        roll = self.rng.random()
        if depth <= 0 or roll < 0.55:
            return self.comparison()
        if roll < 0.7:
            return f"not {paren(self.condition(depth - 1))}"
        joiner = self.rng.choice((" and ", " or "))
        return joiner.join(paren(self.condition(depth - 1)) for _ in range(2))

    def comparison(self) -> str:
        """One comparison of a scalar with a constant, another scalar or a counter."""
        op = self.rng.choice(COMPARISONS)
        ints = list(self.scope.ints)
        roll = self.rng.random()
        if ints and roll < 0.15:
            name = self.rng.choice(ints)
            return self.rng.choice((f"{name} % 2 == 0", f"{name} > 0", f"{name} == 1"))
        if not self.is_symbolic and roll < 0.3:
            shape = self.rng.choice(self.shapes())
            if shape != ():
                test = self.rng.choice(("np.any", "np.all"))
                return f"{test}({paren(self.make(shape, 1))} {op} {self.number()})"
        left = self.make((), self.rng.randint(0, 2))
        right = self.number() if self.rng.random() < 0.6 else self.make((), 1)
        return f"{paren(left)} {op} {paren(right)}"

    # --- leaves ---------------------------------------------------------------------------

    def leaf(self, shape: Shape) -> str:
        """A name of this shape, a value adapted from another name, or a constant."""
        names = self.scope.readable(shape)
        roll = self.rng.random()
        if names and roll < 0.85:
            return self.rng.choice(names)
        if roll < 0.95:
            others = self.scope.all_readable()
            if others:
                return self.adapt(*self.rng.choice(others), shape)
        if shape == () and self.scope.ints and not self.is_symbolic and roll < 0.97:
            return f"{self.rng.choice(list(self.scope.ints))} * 0.25"
        return self.constant(shape)

    def number(self) -> str:
        """A float literal."""
        if self.rng.random() < 0.5:
            return repr(self.rng.choice(CONSTANTS))
        return repr(round(self.rng.uniform(-2.0, 2.0), 2))

    def constant(self, shape: Shape) -> str:
        """A constant expression of this shape."""
        low, high = sorted(round(self.rng.uniform(-1.5, 1.5), 2) for _ in range(2))
        if shape == ():
            return self.number()
        if len(shape) == 1:
            return self.rng.choice(
                (f"np.linspace({low}, {high}, {shape[0]})", f"np.arange({shape[0]}) * {high}")
            )
        rows, columns = shape
        if rows == columns and self.rng.random() < 0.3:
            return f"np.eye({rows}) * {high}"
        return f"np.linspace({low}, {high}, {rows * columns}).reshape({rows}, {columns})"

    def adapt(self, name: str, have: Shape, want: Shape) -> str:
        """A value of shape ``want`` computed from ``name`` (of shape ``have``)."""
        if have == want:
            return name
        special = self._adapt_related(name, have, want)
        if special is not None:
            return special
        scalar = name if have == () else f"np.{self.rng.choice(('sum', 'mean'))}({name})"
        if want == ():
            return scalar
        return f"{paren(scalar)} * {paren(self.constant(want))}"

    def _adapt_related(self, name: str, have: Shape, want: Shape) -> str | None:
        """Adapters between related shapes: a row, a column, a slice, a transpose."""
        if len(have) == 2 and len(want) == 1:
            if have[1] == want[0]:
                return f"{name}[{self.rng.randrange(have[0])}]"
            if have[0] == want[0]:
                return f"{name}[:, {self.rng.randrange(have[1])}]"
        if len(have) == 1 and len(want) == 1 and have[0] > want[0]:
            start = self.rng.randint(0, have[0] - want[0])
            return f"{name}[{start}:{start + want[0]}]"
        if len(have) == 2 and have[::-1] == want:
            return f"{name}.T"
        if len(have) == 1 and want == (have[0], 1):
            return f"{name}.reshape({have[0]}, 1)"
        return None

    # --- productions ----------------------------------------------------------------------

    def shapes(self) -> list[Shape]:
        """The shapes expressions are made of: scalars, vectors, matrices."""
        if self.is_symbolic:
            return [()]
        sizes = self.sizes
        return [(), (sizes[0],), (sizes[-1],), (sizes[0], sizes[-1]), (sizes[-1], sizes[0])]

    def _productions(self, shape: Shape) -> list:
        if self.is_symbolic:
            return [(3, self._unary), (3, self._binary)]
        table = [(3, self._unary), (3, self._binary)]
        if shape == ():
            table += [(2, self._reduce_all), (1, self._contract), (1, self._index_scalar)]
            table += [(0.3, self._linalg_scalar), (0.4, self._conditional)]
            table += [(0.2, self._chosen_by_truth)]
        elif len(shape) == 1:
            table += [(1.5, self._reduce_axis), (1.5, self._matvec), (2, self._reorder)]
            table += [(1, self._row_or_column), (1, self._join), (0.3, self._solve)]
        elif shape[1] == 1:
            table += [(2, self._reduce_keepdims)]
        else:
            table += [(1.5, self._matmul), (1, self._outer), (1, self._reshape_2d)]
            table += [(0.7, self._cumulative_2d), (0.3, self._inverse)]
        return table

    def _unary(self, shape: Shape, depth: int) -> str:
        templates = UNARY + SCALAR_UNARY if shape == () else UNARY
        template = self.rng.choice(templates)
        return template.format(a=paren(self.make(shape, depth)))

    def _binary(self, shape: Shape, depth: int) -> str:
        scalar_forms = SCALAR_BINARY[:2] if self.is_symbolic else SCALAR_BINARY  # sympy: no and/or
        templates = BINARY + scalar_forms if shape == () else BINARY
        template = self.rng.choice(templates)
        partner = self.rng.choice(self._broadcast_partners(shape))
        a, b = paren(self.make(shape, depth)), paren(self.make(partner, depth))
        if self.rng.random() < 0.5 and not template.startswith(("max", "min")):
            a, b = b, a
        return template.format(a=a, b=b)

    def _broadcast_partners(self, shape: Shape) -> list[Shape]:
        if len(shape) == 2 and shape[1] != 1:
            return [shape, shape, (), (shape[1],), (shape[0], 1)]
        return [shape, shape, ()]

    def _any_array_shape(self) -> Shape:
        return self.rng.choice([s for s in self.shapes() if s != ()])

    # scalars

    def _reduce_all(self, shape: Shape, depth: int) -> str:
        operand = paren(self.make(self._any_array_shape(), depth))
        forms = [f"{reduction}({operand})" for reduction in REDUCTIONS]
        forms += [f"{operand}.sum()", f"{operand}.mean()", f"np.linalg.norm({operand})"]
        forms += [f"np.prod(np.cos({operand}))", f"sum({operand}.ravel())"]
        return self.rng.choice(forms)

    def _contract(self, shape: Shape, depth: int) -> str:
        if self.rng.random() < 0.3:
            matrix = self._any_array_shape()
            if len(matrix) == 2:
                a, b = (paren(self.make(matrix, depth)) for _ in range(2))
                if matrix[0] == matrix[1] and self.rng.random() < 0.5:
                    return f"np.trace({a})"
                return f'np.einsum("ij,ij->", {a}, {b})'
        n = self.rng.choice(self.sizes)
        u, v = (paren(self.make((n,), depth)) for _ in range(2))
        forms = (f"np.dot({u}, {v})", f"{u} @ {v}", f'np.einsum("i,i->", {u}, {v})')
        return self.rng.choice(forms + (f"np.inner({u}, {v})", f"np.vdot({u}, {v})"))

    def _index_scalar(self, shape: Shape, depth: int) -> str | None:
        arrays = [(name, known) for name, known in self.scope.all_readable() if known != ()]
        if not arrays:
            return None
        name, known = self.rng.choice(arrays)
        indices = [self._index_for(length) for length in known]
        if len(indices) == 2 and self.rng.random() < 0.3:
            return f"{name}[{indices[0]}][{indices[1]}]"
        return f"{name}[{', '.join(indices)}]"

    def _index_for(self, length: int) -> str:
        """An int literal, or an int name in scope, that is a valid index for this length."""
        names = self.scope.int_indices(length)
        if names and self.rng.random() < 0.6:
            return self.rng.choice(names)
        return str(self.rng.randint(-length, length - 1))

    def _well_conditioned(self, n: int, depth: int) -> str:
        """A diagonally dominant ``n`` by ``n`` matrix: ``3 I + tanh(A)``."""
        return f"np.eye({n}) * 3.0 + np.tanh({paren(self.make((n, n), depth))})"

    def _linalg_scalar(self, shape: Shape, depth: int) -> str:
        matrix = self._well_conditioned(self.rng.choice(self.sizes), depth)
        return self.rng.choice((f"np.linalg.det({matrix})", f"np.linalg.slogdet({matrix})[1]"))

    def _conditional(self, shape: Shape, depth: int) -> str:
        a, b = (paren(self.make((), depth)) for _ in range(2))
        return f"{a} if {paren(self.condition(0))} else {b}"

    def _chosen_by_truth(self, shape: Shape, depth: int) -> str:
        """``cond and a or b``, Python's older conditional: ``b`` also where ``a`` is 0."""
        a, b = (paren(self.make((), depth)) for _ in range(2))
        return f"({paren(self.condition(0))} and {a} or {b})"

    # vectors

    def _reduce_axis(self, shape: Shape, depth: int) -> str:
        n, k = shape[0], self.rng.choice(self.sizes)
        reduction = self.rng.choice(("np.sum", "np.mean", "np.max", "np.min"))
        if self.rng.random() < 0.5:
            operand = paren(self.make((k, n), depth))
            return self.rng.choice((f"{reduction}({operand}, axis=0)", f"{operand}.sum(axis=0)"))
        operand = paren(self.make((n, k), depth))
        return self.rng.choice((f"{reduction}({operand}, axis=1)", f"{operand}.mean(axis=-1)"))

    def _matvec(self, shape: Shape, depth: int) -> str:
        n, k = shape[0], self.rng.choice(self.sizes)
        vector = paren(self.make((k,), depth))
        if self.rng.random() < 0.3:
            matrix = paren(self.make((k, n), depth))
            return self.rng.choice(
                (f"{vector} @ {matrix}", f'np.einsum("j,ji->i", {vector}, {matrix})')
            )
        matrix = paren(self.make((n, k), depth))
        forms = (f"{matrix} @ {vector}", f"np.dot({matrix}, {vector})")
        return self.rng.choice(forms + (f'np.einsum("ij,j->i", {matrix}, {vector})',))

    def _reorder(self, shape: Shape, depth: int) -> str:
        n = shape[0]
        roll = self.rng.random()
        if roll < 0.15:
            return f"np.diff({paren(self.make((n + 1,), depth))})"
        if roll < 0.3:
            return self._gather(n, depth)
        vector = paren(self.make(shape, depth))
        forms = (f"np.sort({vector})", f"np.cumsum({vector})", f"{vector}[::-1]")
        forms += (f"np.flip({vector})", f"np.roll({vector}, 1)")
        return self.rng.choice(forms + (f"np.cumprod(1.0 + 0.5 * np.tanh({vector}))",))

    def _gather(self, n: int, depth: int) -> str:
        """``n`` elements of a longer vector: a slice, or an index array (repeats allowed)."""
        length = n + self.rng.randint(0, 2)
        vector = paren(self.make((length,), depth))
        if self.rng.random() < 0.4:
            start = self.rng.randint(0, length - n)
            return f"{vector}[{start}:{start + n}]"
        positions = [self.rng.randrange(length) for _ in range(n)]
        if self.rng.random() < 0.3:
            return f"np.take({vector}, {positions})"
        return f"{vector}[np.array({positions})]"

    def _row_or_column(self, shape: Shape, depth: int) -> str:
        n, k = shape[0], self.rng.choice(self.sizes)
        if self.rng.random() < 0.5:
            return f"{paren(self.make((k, n), depth))}[{self._index_for(k)}]"
        return f"{paren(self.make((n, k), depth))}[:, {self._index_for(k)}]"

    def _join(self, shape: Shape, depth: int) -> str | None:
        n = shape[0]
        roll = self.rng.random()
        if n >= 2 and roll < 0.4:
            first = self.rng.randint(1, n - 1)
            parts = (self.make((first,), depth), self.make((n - first,), depth))
            return f"np.concatenate([{', '.join(parts)}])"
        if n <= 4 and roll < 0.8:
            scalars = ", ".join(self.make((), max(depth - 1, 0)) for _ in range(n))
            return self.rng.choice((f"np.stack([{scalars}])", f"np.array([{scalars}])"))
        if n % 2 == 0:
            half = paren(self.make((n // 2,), depth))
            return self.rng.choice((f"np.tile({half}, 2)", f"np.repeat({half}, 2)"))
        return None

    def _solve(self, shape: Shape, depth: int) -> str:
        matrix = self._well_conditioned(shape[0], depth)
        return f"np.linalg.solve({matrix}, {paren(self.make(shape, depth))})"

    # columns (m, 1) and matrices

    def _reduce_keepdims(self, shape: Shape, depth: int) -> str:
        m, k = shape[0], self.rng.choice(self.sizes)
        if self.rng.random() < 0.3:
            return f"{paren(self.make((m,), depth))}[:, None]"
        reduction = self.rng.choice(("np.sum", "np.mean", "np.max"))
        return f"{reduction}({paren(self.make((m, k), depth))}, axis=1, keepdims=True)"

    def _matmul(self, shape: Shape, depth: int) -> str:
        m, n = shape
        if self.rng.random() < 0.25:
            return f"{paren(self.make((n, m), depth))}.T"
        k = self.rng.choice(self.sizes)
        a, b = paren(self.make((m, k), depth)), paren(self.make((k, n), depth))
        forms = (f"{a} @ {b}", f"np.matmul({a}, {b})", f'np.einsum("ik,kj->ij", {a}, {b})')
        return self.rng.choice(forms + (f"np.dot({a}, {b})",))

    def _outer(self, shape: Shape, depth: int) -> str:
        u, v = paren(self.make(shape[:1], depth)), paren(self.make(shape[1:], depth))
        forms = (f"np.outer({u}, {v})", f"{u}[:, None] * {v}", f'np.einsum("i,j->ij", {u}, {v})')
        return self.rng.choice(forms)

    def _reshape_2d(self, shape: Shape, depth: int) -> str:
        m, n = shape
        if m <= 3 and self.rng.random() < 0.5:
            rows = ", ".join(self.make((n,), max(depth - 1, 0)) for _ in range(m))
            return f"np.stack([{rows}])"
        return f"{paren(self.make((m * n,), depth))}.reshape({m}, {n})"

    def _cumulative_2d(self, shape: Shape, depth: int) -> str:
        matrix = paren(self.make(shape, depth))
        axis = self.rng.randint(0, 1)
        forms = (f"np.cumsum({matrix}, axis={axis})", f"np.sort({matrix}, axis={axis})")
        return self.rng.choice(forms + (f"np.flip({matrix}, axis={axis})",))

    def _inverse(self, shape: Shape, depth: int) -> str | None:
        if shape[0] != shape[1]:
            return None
        return f"np.linalg.inv({self._well_conditioned(shape[0], depth)})"
