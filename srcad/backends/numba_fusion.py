"""One compiled pass per reused weight gradient in the numba variant: the scaled weights, the
product added to them, and the penalty's sum of squares of the same weights.

Comes in: the NumPy source of a generated module whose body writes weight gradients with
``srcad.codegen.reuse``'s statements, and its body's name. Goes out: the same source in which,
at the top level of the body, each pair that writes one gradient in two passes becomes one
compiled loop, and an earlier ``np.vdot(W1, W1)`` of the same weights (or ``(W1 ** 2).sum()``,
``np.sum(W1 * W1)``, ...) reads the sum of squares that loop computes on the way (the statement moves down to the loop; it is moved only when
nothing in between reads what it assigns or writes what it reads)::

    out = data_loss + lam * np.vdot(W1, W1)           (moved down)
    ...
    np.multiply(2.0 * dt11, W1, out=dW1)         ->   W1_squares = scale_add_outer(dW1, 2.0 * dt11, W1, x, dt1)
    add_outer(dW1, x, dt1)                            out = data_loss + lam * W1_squares

    add_scaled(dW1, 2.0 * dt11, W1)              ->   W1_squares = add_scaled_squares(dW1, 2.0 * dt11, W1)
    (with an np.vdot(W1, W1) to feed)

    np.multiply(2.0 * dt11, W1, out=dW1)         ->   np.matmul(x.T, dt1, out=dW1)
    add_matmul(dW1, x.T, dt1)                         W1_squares = add_scaled_squares(dW1, 2.0 * dt11, W1)

At batch 1 this reads the weights once and writes their gradient once, where NumPy's code
reads them three times and writes the gradient twice (float32 784x256: 24 us instead of 72).
Where the row before the weights needs its gradient too (a hidden layer's ``dh1 = dt2 @
W2.T``, earlier in the body), the same loop computes it from the rows it reads (the
statement moves down to the loop under the rules of the penalty's)::

    dh1 = dt2 @ W2.T                             ->   (moved down)
    np.multiply(2.0 * dt11, W2, out=dW2)              W2_squares, dh1 = scale_add_outer_product(
    add_outer(dW2, h1, dt2)                               dW2, 2.0 * dt11, W2, h1, dt2)

(784-256-256-10 MLP at batch 1: 193-195 us instead of 200-202 a call in float64, 74-77
instead of 76-80 in float32.)
The sums are reassociated (``fastmath={"reassoc"}``), as BLAS's own dot products are.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from srcad.backends.respelling import copied
from srcad.codegen.expressions import is_name
from srcad.codegen.reuse import ADD_PRODUCT, ADD_SCALED
from srcad.codegen.reuse import HELPERS as RUNTIME_HELPERS

# Loops over arrays whose shapes each helper checks first: no bounds check inside.
HELPER_OPTIONS = 'cache=True, error_model="numpy", fastmath={"reassoc"}'
HELPERS = {
    "scale_add_outer": [
        "def scale_add_outer(out, scale, array, u, v):",
        '    """out[...] = scale * array + np.outer(u, v) in one pass; np.vdot(array, array)."""',
        "    u, v = np.ravel(u), np.ravel(v)",
        "    if array.shape != out.shape or (u.size, v.size) != out.shape:",
        '        raise ValueError("scale_add_outer: the shapes do not match")',
        "    scale = np.full(1, scale, out.dtype)[0]  # in the array's precision, as NumPy",
        "    squares = np.zeros(1, array.dtype)[0]",
        "    for i in range(out.shape[0]):",
        "        ui = u[i]",
        "        for j in range(out.shape[1]):",
        "            w = array[i, j]",
        "            squares += w * w",
        "            out[i, j] = scale * w + ui * v[j]",
        "    return squares",
    ],
    "scale_add_outer_product": [
        "def scale_add_outer_product(out, scale, array, u, v):",
        '    """out[...] = scale * array + np.outer(u, v) in one pass; np.vdot(array, array)',
        '    and v @ array.T."""',
        "    rows, columns = out.shape",
        "    u, flat = np.ravel(u), np.ravel(v)",
        "    if array.shape != out.shape or (u.size, flat.size) != out.shape:",
        '        raise ValueError("scale_add_outer_product: the shapes do not match")',
        "    if v.shape[-1] != columns:",
        '        raise ValueError("scale_add_outer_product: the shapes do not match")',
        "    scale = np.full(1, scale, out.dtype)[0]  # in the array's precision, as NumPy",
        "    squares = np.zeros(1, array.dtype)[0]",
        "    zero = np.zeros(1, flat.dtype)[0] * squares  # in the product's dtype, as NumPy",
        "    product = np.full(rows, zero)",
        "    for i in range(rows):",
        "        ui = u[i]",
        "        total = zero",
        "        for j in range(columns):",
        "            w = array[i, j]",
        "            squares += w * w",
        "            total += flat[j] * w",
        "            out[i, j] = scale * w + ui * flat[j]",
        "        product[i] = total",
        "    return squares, product.reshape(v.shape[:-1] + (rows,))",
    ],
    "add_scaled_squares": [
        "def add_scaled_squares(out, scale, array):",
        '    """out += scale * array in one pass; np.vdot(array, array)."""',
        "    if array.shape != out.shape:",
        '        raise ValueError("add_scaled_squares: the shapes do not match")',
        "    scale = np.full(1, scale, out.dtype)[0]  # in the array's precision, as NumPy",
        "    squares = np.zeros(1, array.dtype)[0]",
        "    for i in range(out.shape[0]):",
        "        for j in range(out.shape[1]):",
        "            w = array[i, j]",
        "            squares += w * w",
        "            out[i, j] += scale * w",
        "    return squares",
    ],
}
# Methods of an array that do not write into it (any other method call may).
READING_METHODS = frozenset(
    "all any argmax argmin astype conj copy cumsum dot flatten item max mean min prod ravel "
    "reshape round std sum swapaxes transpose var".split()
)


@dataclass(frozen=True)
class _Fusion:
    """Statements ``first``..``last`` of the body write a gradient from ``weights``; the
    compiled call that does it in one pass (``call``, of the helper ``helper``), after the
    statement ``before`` where there is one (a matrix product written into the array)."""

    first: int
    last: int
    weights: str
    helper: str
    call: str
    before: str = ""
    product: ast.Assign | None = None  # ``dh = v @ W.T``, moved down to the loop


def fused_weight_gradients(source: str, body_name: str) -> tuple[str, set[str]]:
    """``source`` with its weight gradients written in one compiled pass each (see the module
    docstring); the ``HELPERS`` it now calls."""
    tree = ast.parse(source)
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == body_name)
    statements = body.body
    fusions = [f for k in range(len(statements)) if (f := _fusion(statements, k)) is not None]
    if not fusions:
        return source, set()
    squares = _squares_names(tree, fusions)
    moves = _moves(statements, fusions, squares)
    lines = source.splitlines()
    helpers: set[str] = set()
    for fusion in fusions:
        fed = [move for move in moves if move.after is fusion]
        feeds = any(fusion.weights in move.weights for move in moves)
        if fusion.helper == "add_scaled_squares" and not feeds and not fusion.before:
            continue  # numba_reuse's add_scaled_compiled does the same without the sum
        helpers.add(fusion.helper)
        indent = " " * statements[fusion.first].col_offset
        target = _named_sum(fed, squares[fusion.weights])
        if target is not None:  # W1_vdot = np.vdot(W1, W1): the loop's sum is W1_vdot
            fed = [move for move in fed if move.statement.targets[0] is not target]
        name = squares[fusion.weights] if target is None else target.id
        call = f"{name} = {fusion.call}" if feeds else fusion.call
        if fusion.product is not None:  # the loop computes dh = v @ W.T too
            product = ast.unparse(fusion.product.targets[0])
            call = f"{name}, {product} = {fusion.call}" if feeds else f"{product} = {call}[1]"
            _replace(lines, fusion.product, fusion.product, "")
        new = [indent + fusion.before] if fusion.before else []
        new += [indent + call] + [indent + ast.unparse(move.statement) for move in fed]
        _replace(lines, statements[fusion.first], statements[fusion.last], "\n".join(new))
    for move in moves:
        _replace(lines, move.original, move.original, "")
    return "\n".join(_without_empty_sections(lines)) + "\n", helpers


def _named_sum(moves: list[_Move], squares: str) -> ast.Name | None:
    """The target of a moved statement that only names the sum of squares (``W1_vdot =
    W1_squares``), which the fused loop can assign itself."""
    for move in moves:
        value = move.statement.value
        if isinstance(value, ast.Name) and value.id == squares:
            target = move.statement.targets[0]
            return target if isinstance(target, ast.Name) else None
    return None


def _without_empty_sections(lines: list[str]) -> list[str]:
    """``lines`` without the section comments (``# forward  (line 15: ...)``) whose
    statements all moved away (those followed by another section comment, blank lines aside),
    and without a repeat of the section comment in force."""
    kept: list[str] = []
    for line in reversed(lines):
        if _is_section(line) and kept:
            following = next((k for k in reversed(kept) if k.strip()), "")
            if _is_section(following) or not following.strip():
                continue
        kept.append(line)
    current = None  # the section comment in force: a repeat of it says nothing
    result = []
    for line in reversed(kept):
        if _is_section(line):
            if line == current:
                continue
            current = line
        result.append(line)
    return result


def _is_section(line: str) -> bool:
    return line.lstrip().startswith(("# forward  (", "# backward  ("))


def helper_lines(names: set[str]) -> list[str]:
    lines: list[str] = []
    for name in sorted(names):
        lines += ["", "", f"@numba.njit({HELPER_OPTIONS})", *HELPERS[name]]
    return lines


def _fusion(statements: list[ast.stmt], k: int) -> _Fusion | None:
    """The fusion starting at statement ``k``, if it starts one."""
    call = _call(statements[k])
    if call is None:
        return None
    if _is_helper(call, ADD_SCALED) and len(call.args) == 3:
        out, scale, array = call.args
        if _names(out, array) and not _reads(scale, out):
            text = f"add_scaled_squares({_texts(out, scale, array)})"
            return _Fusion(k, k, array.id, "add_scaled_squares", text)  # type: ignore
        return None
    if k + 1 == len(statements) or not _is_scaled_copy(call):
        return None
    added = _call(statements[k + 1])
    products = (ADD_PRODUCT["outer"], ADD_PRODUCT["matmul"])
    if added is None or not any(_is_helper(added, h) for h in products) or len(added.args) != 3:
        return None
    scale, array = call.args
    out = call.keywords[0].value
    target, u, v = added.args
    if not (_names(out, array, target) and out.id == target.id):  # type: ignore[attr-defined]
        return None
    if any(_reads(operand, out) for operand in (scale, u, v)):
        return None
    if _is_helper(added, ADD_PRODUCT["outer"]):
        moved = _product_to_move(statements, k, array, v)
        if moved is not None and any(_reads(a, moved.targets[0]) for a in added.args):
            moved = None  # the loop reads what the product assigns
        helper = "scale_add_outer" if moved is None else "scale_add_outer_product"
        text = f"{helper}({_texts(out, scale, array, u, v)})"
        return _Fusion(k, k + 1, array.id, helper, text, product=moved)  # type: ignore
    # dW = c * W, then dW += a @ b  ->  dW = a @ b written into it, then one pass adds c * W
    product = f"np.matmul({_texts(u, v)}, out={ast.unparse(out)})"
    text = f"add_scaled_squares({_texts(out, scale, array)})"
    return _Fusion(k, k + 1, array.id, "add_scaled_squares", text, product)  # type: ignore


def _product_to_move(
    statements: list[ast.stmt], k: int, weights: ast.expr, row: ast.expr
) -> ast.Assign | None:
    """An earlier ``dh = row @ weights.T`` that can move down to statement ``k`` (nothing in
    between reads ``dh``, assigns it or writes what it reads)."""
    if not _names(weights, row):
        return None
    for j in range(k - 1, -1, -1):
        statement = statements[j]
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            continue
        value = statement.value
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult)):
            continue
        right = value.right
        if not (is_name(value.left, row.id) and isinstance(right, ast.Attribute)):  # type: ignore[attr-defined]
            continue
        if right.attr == "T" and is_name(right.value, weights.id):  # type: ignore[attr-defined]
            if isinstance(statement.targets[0], ast.Name):
                return statement if _can_move(statement, statements[j + 1 : k]) else None
    return None


def _is_scaled_copy(call: ast.Call) -> bool:
    """``np.multiply(scale, W, out=dW)``."""
    function = call.func
    return (
        isinstance(function, ast.Attribute)
        and is_name(function.value, "np")
        and function.attr == "multiply"
        and len(call.args) == 2
        and [k.arg for k in call.keywords] == ["out"]
    )


@dataclass(frozen=True)
class _Move:
    """``original`` (a top-level ``name = ...`` reading ``np.vdot(W, W)`` of ``weights``)
    becomes ``statement``, which reads the sums of squares, after the fusion ``after``."""

    original: ast.stmt
    statement: ast.Assign
    weights: frozenset[str]
    after: _Fusion


def _moves(
    statements: list[ast.stmt], fusions: list[_Fusion], squares: dict[str, str]
) -> list[_Move]:
    """The statements that read ``np.vdot(W, W)`` of weights a later fusion reads, where
    moving them down to it is safe: each ``np.vdot(W, W)`` is fed once."""
    moves: list[_Move] = []
    fed: set[str] = set()
    for j, statement in enumerate(statements):
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            continue
        later = {f.weights: f for f in fusions if f.first > j and f.weights not in fed}
        weights = {w for w in later if _reads_squares(statement.value, w)}
        if not weights or not isinstance(statement.targets[0], ast.Name):
            continue
        after = max((later[w] for w in weights), key=lambda f: f.last)
        between = statements[j + 1 : after.last + 1]
        if not _can_move(statement, between):
            continue
        value = _SquaresRead(weights, squares).visit(copied(statement.value))
        moved = ast.fix_missing_locations(ast.Assign(statement.targets, value))
        moves.append(_Move(statement, moved, frozenset(weights), after))
        fed |= weights
    return moves


def _can_move(statement: ast.Assign, between: list[ast.stmt]) -> bool:
    """Nothing in ``between`` reads what ``statement`` assigns, assigns it, or writes a name
    it reads."""
    target = statement.targets[0]
    assert isinstance(target, ast.Name)
    reads = {n.id for n in ast.walk(statement.value) if isinstance(n, ast.Name)}
    for other in between:
        if _reads(other, target) or (_written(other) & (reads | {target.id})):
            return False
    return True


def _written(statement: ast.stmt) -> set[str]:
    """The names ``statement`` may assign or write into (generous: any method call other
    than ``READING_METHODS``, any call's first argument when it is a runtime helper or a
    ufunc's ``.at``, any ``out=``)."""
    written: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            written.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, ast.Store):
            written |= _roots(node)
        elif isinstance(node, ast.Call):
            written |= _call_writes(node)
    return written


def _call_writes(call: ast.Call) -> set[str]:
    written: set[str] = set()
    for keyword in call.keywords:
        if keyword.arg == "out":
            written |= _roots(keyword.value)
    function = call.func
    in_place = isinstance(function, ast.Name) and function.id in RUNTIME_HELPERS
    in_place = in_place or (isinstance(function, ast.Attribute) and function.attr == "at")
    if in_place and call.args:
        written |= _roots(call.args[0])
    if isinstance(function, ast.Attribute) and function.attr not in READING_METHODS:
        if not is_name(function.value, "np") and not function.attr == "at":
            written |= _roots(function.value)
    return written


def _roots(node: ast.expr) -> set[str]:
    """The names under subscripts and attributes: ``W`` of ``W[0].T``."""
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return set().union(*(_roots(e) for e in node.elts))
    return {node.id} if isinstance(node, ast.Name) else set()


class _SquaresRead(ast.NodeTransformer):
    """``np.vdot(W, W)`` (or another sum of ``W``'s squares) -> ``W_squares`` for the
    ``weights`` given."""

    def __init__(self, weights: set[str], squares: dict[str, str]) -> None:
        self.weights = weights
        self.squares = squares

    def visit_Call(self, node: ast.Call) -> ast.expr:  # noqa: N802 - ast's visitor name
        node = self.generic_visit(node)  # type: ignore[assignment]
        weights = _sum_of_squares(node)
        if weights in self.weights:
            self.weights = self.weights - {weights}  # one read each: the first
            return ast.Name(self.squares[weights], ast.Load())
        return node


def _reads_squares(node: ast.expr, weights: str) -> bool:
    return any(_sum_of_squares(n) == weights for n in ast.walk(node))


def _sum_of_squares(node: ast.AST) -> str | None:
    """``W`` of ``np.vdot(W, W)``, ``(W * W).sum()``, ``np.sum(W ** 2)`` and the like (all
    of an array, no options)."""
    if not isinstance(node, ast.Call) or node.keywords:
        return None
    function = node.func
    if not isinstance(function, ast.Attribute):
        return None
    if is_name(function.value, "np") and function.attr == "vdot" and len(node.args) == 2:
        left, right = node.args
        same = _names(left, right) and left.id == right.id  # type: ignore[attr-defined]
        return left.id if same else None  # type: ignore[attr-defined]
    if is_name(function.value, "np") and function.attr == "sum" and len(node.args) == 1:
        return _squared(node.args[0])
    if function.attr == "sum" and not node.args:
        return _squared(function.value)
    return None


def _squared(node: ast.expr) -> str | None:
    """``W`` of ``W * W`` or ``W ** 2``."""
    if not isinstance(node, ast.BinOp) or not isinstance(node.left, ast.Name):
        return None
    if isinstance(node.op, ast.Mult) and is_name(node.right, node.left.id):
        return node.left.id
    power = node.right
    if isinstance(node.op, ast.Pow) and isinstance(power, ast.Constant) and power.value == 2:
        return node.left.id if type(power.value) in (int, float) else None
    return None


def _squares_names(tree: ast.Module, fusions: list[_Fusion]) -> dict[str, str]:
    """``W1_squares`` for each fused ``W1``: a name the module does not use."""
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names: dict[str, str] = {}
    for fusion in fusions:
        name = f"{fusion.weights}_squares"
        while name in taken:
            name += "_"
        taken.add(name)
        names[fusion.weights] = name
    return names


def _call(statement: ast.stmt) -> ast.Call | None:
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return statement.value
    return None


def _is_helper(call: ast.Call, name: str) -> bool:
    return isinstance(call.func, ast.Name) and call.func.id == name and not call.keywords


def _names(*nodes: ast.expr) -> bool:
    return all(isinstance(node, ast.Name) for node in nodes)


def _reads(node: ast.AST, name: ast.expr) -> bool:
    assert isinstance(name, ast.Name)
    return any(isinstance(n, ast.Name) and n.id == name.id for n in ast.walk(node))


def _texts(*nodes: ast.expr) -> str:
    return ", ".join(ast.unparse(node) for node in nodes)


def _replace(lines: list[str], first: ast.stmt, last: ast.stmt, text: str) -> None:
    """The lines of statements ``first`` to ``last`` hold ``text`` (blank lines after it)."""
    assert last.end_lineno is not None
    start, end = first.lineno - 1, last.end_lineno - 1
    lines[start : end + 1] = [text] + [""] * (end - start)
