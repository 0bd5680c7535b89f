"""``np.einsum`` with a literal subscripts string, written out as loops numba compiles (numba
has no ``einsum``).

Comes in: the NumPy source of a generated module and its body's name. Goes out: the same
source, line for line, with each ``np.einsum('i,ij,j->', x, a, y)`` of explicit subscripts
(letters only, no ``...``, no options) calling a compiled function written for it, and those
functions' source::

    out = np.einsum('i,ij,j->', x, a, y)   ->   out = einsum_i_ij_j(x, a, y)

    def einsum_i_ij_j(x0, x1, x2):
        \"\"\"np.einsum('i,ij,j->', x0, x1, x2) as loops.\"\"\"
        x0 = np.asarray(x0)  # (each operand: a number, too)
        n_i = size_of((x0.shape[0], x1.shape[0]))
        n_j = size_of((x1.shape[1], x2.shape[0]))
        out = x0.dtype.type(0) * x1.dtype.type(0) * x2.dtype.type(0)
        for i in range(n_i):
            for j in range(n_j):
                out += x0[i * (x0.shape[0] > 1)] * x1[...] * x2[...]
        return out

An axis of length 1 stretches to the others, as NumPy's einsum does (its index is then 0);
lengths that differ otherwise raise ValueError, as in NumPy. The sums run in the loops'
order: they agree with NumPy's to rounding.
"""

from __future__ import annotations

import ast
import string

from srcad.backends.respelling import respelled_values
from srcad.codegen.expressions import is_name

SIZE_HELPER = [
    "",
    "",
    "@numba.njit({options})",
    "def size_of(lengths):",
    '    """The length an einsum subscript stands for: the longest, the others 1 or equal."""',
    "    size = 1",
    "    for length in lengths:",
    "        if length != 1:",
    "            if size != 1 and length != size:",
    '                raise ValueError("einsum: operands could not be broadcast together")',
    "            size = length",
    "    return size",
]


def respelled_einsums(source: str, body_name: str) -> tuple[str, dict[str, str]]:
    """``source`` with the body's einsums of literal subscripts calling compiled loops; the
    helpers it now calls, by name, with their subscripts."""
    rewriter = _Einsums()
    return respelled_values(source, body_name, rewriter), rewriter.helpers


class _Einsums(ast.NodeTransformer):
    def __init__(self) -> None:
        self.helpers: dict[str, str] = {}

    def visit_Call(self, node: ast.Call) -> ast.expr:  # noqa: N802 - ast's visitor name
        node = self.generic_visit(node)  # type: ignore[assignment]
        function = node.func
        if not (isinstance(function, ast.Attribute) and is_name(function.value, "np")):
            return node
        if function.attr != "einsum" or node.keywords or len(node.args) < 2:
            return node
        spec = node.args[0]
        if not (isinstance(spec, ast.Constant) and isinstance(spec.value, str)):
            return node
        parsed = parse_subscripts(spec.value, len(node.args) - 1)
        if parsed is None:
            return node
        inputs, output = parsed
        name = "einsum_" + "_".join(inputs) + (f"_to_{output}" if output else "")
        self.helpers[name] = spec.value
        return ast.Call(ast.Name(name, ast.Load()), node.args[1:], [])


def parse_subscripts(spec: str, operands: int) -> tuple[list[str], str] | None:
    """The inputs' subscripts and the output's of an explicit einsum (``'ij,jk->ik'``; with
    no ``->``, NumPy's output: the letters seen once, in alphabetical order); None for
    ellipses, other characters, or a count that differs from ``operands``."""
    text = spec.replace(" ", "")
    left, arrow, output = text.partition("->")
    inputs = left.split(",")
    letters = set("".join(inputs))
    if len(inputs) != operands or not letters <= set(string.ascii_letters):
        return None
    if not arrow:
        output = "".join(sorted(c for c in letters if left.count(c) == 1))
    if not set(output) <= letters or len(set(output)) != len(output):
        return None
    return inputs, output


def helper_lines(helpers: dict[str, str], options: str) -> list[str]:
    """The source of each helper (and of ``size_of``, which they call)."""
    if not helpers:
        return []
    lines = [line.format(options=options) for line in SIZE_HELPER]
    for name, spec in sorted(helpers.items()):
        lines += ["", "", f"@numba.njit({options})", *_loops(name, spec)]
    return lines


def _loops(name: str, spec: str) -> list[str]:
    parsed = parse_subscripts(spec, spec.partition("->")[0].count(",") + 1)
    assert parsed is not None
    inputs, output = parsed
    operands = [f"x{k}" for k in range(len(inputs))]
    listed = ", ".join(operands)
    lines = [f"def {name}({listed}):", f'    """np.einsum({spec!r}, {listed}) as loops."""']
    lines += [f"    {operand} = np.asarray({operand})" for operand in operands]  # numbers too
    order = _loop_order(inputs, output)
    lines += _sizes(operands, inputs, order)
    zero = " * ".join(f"{operand}.dtype.type(0)" for operand in operands)
    shape = _tuple([f"n_{letter}" for letter in output]) if output else ""
    lines.append(f"    out = np.full({shape}, {zero})" if output else f"    out = {zero}")
    return lines + _nested_sum(operands, inputs, output, order) + ["    return out"]


def _sizes(operands: list[str], inputs: list[str], order: list[str]) -> list[str]:
    """``n_i = size_of((x0.shape[0], x1.shape[0]))``: each letter's length."""
    lines = []
    for letter in order:
        lengths = [
            f"{operand}.shape[{axis}]"
            for operand, subscripts in zip(operands, inputs, strict=True)
            for axis, seen in enumerate(subscripts)
            if seen == letter
        ]
        lines.append(f"    n_{letter} = size_of({_tuple(lengths)})")
    return lines


def _nested_sum(operands: list[str], inputs: list[str], output: str, order: list[str]) -> list[str]:
    """One loop per letter in ``order``; innermost, the product added to the output."""
    lines, indent = [], "    "
    for letter in order:
        lines.append(f"{indent}for {letter} in range(n_{letter}):")
        indent += "    "
    factors = [_element(x, subscripts) for x, subscripts in zip(operands, inputs, strict=True)]
    target = f"out[{', '.join(output)}]" if output else "out"
    return lines + [f"{indent}{target} += {' * '.join(factors)}"]


def _loop_order(inputs: list[str], output: str) -> list[str]:
    """The output's letters, then the summed ones, except that the letter most often last in
    an operand or the output runs innermost: the loop then walks rows, not columns
    (``'ij,jk->ik'``: k innermost, 3x faster than j at 200x200)."""
    order = list(output) + sorted(set("".join(inputs)) - set(output))
    last = [subscripts[-1] for subscripts in [*inputs, output] if subscripts]
    if last:
        innermost = max(order, key=lambda letter: (last.count(letter), letter == output[-1:]))
        order.remove(innermost)
        order.append(innermost)
    return order


def _element(operand: str, subscripts: str) -> str:
    """``x1[i * (x1.shape[0] > 1), j * ...]``: an axis of length 1 is read at 0."""
    if not subscripts:
        return f"{operand}[()]"
    items = [f"{letter} * ({operand}.shape[{axis}] > 1)" for axis, letter in enumerate(subscripts)]
    return f"{operand}[{', '.join(items)}]"


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
