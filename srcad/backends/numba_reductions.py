"""Reductions along an axis, respelled in the numba variant where numba has no typing for
NumPy's spelling.

Comes in: the NumPy source of a generated module and its body's name. Goes out: the same
source, line for line, in which

    x.sum(axis=1, keepdims=True)   ->  np.expand_dims(np.sum(x, axis=1), 1)
    m.sum(axis=0, dtype=np.float64) -> np.sum(m, axis=0, dtype=np.float64)
    np.max(x, axis=0)              ->  max_axis0(x)
    x.mean(axis=1)                 ->  (np.sum(x, axis=1) / x.shape[1])

numba's ``np.sum`` takes an axis but no ``keepdims``; its ``max``, ``min`` and ``mean`` take
no axis at all, so ``max_axis0`` and the others are small compiled loops over a 2-d array
(``HELPERS``; on another number of dimensions numba refuses them and srcad falls back to
NumPy, naming the line). A reduction over several axes at once is left as it is.
"""

from __future__ import annotations

import ast

from srcad.backends.respelling import respelled_values

REDUCTIONS = ("sum", "max", "min", "mean", "amax", "amin")
LOOPED = {"max": "max", "amax": "max", "min": "min", "amin": "min"}


def respelled_reductions(source: str, body_name: str) -> tuple[str, set[str]]:
    """``source`` with the body's reductions along an axis respelled; the names of the
    ``HELPERS`` it now calls."""
    rewriter = _Reductions()
    return respelled_values(source, body_name, rewriter), rewriter.helpers


class _Reductions(ast.NodeTransformer):
    def __init__(self) -> None:
        self.helpers: set[str] = set()

    def visit_Call(self, node: ast.Call) -> ast.expr:  # noqa: N802 - ast's visitor name
        node = self.generic_visit(node)  # type: ignore[assignment]
        reduction = _reduction(node)
        if reduction is None:
            return node
        name, array, axis, keepdims, dtype = reduction
        if name in LOOPED:
            helper = f"{LOOPED[name]}_axis{axis}"
            self.helpers.add(helper)
            reduced: ast.expr = ast.Call(ast.Name(helper, ast.Load()), [array], [])
        else:
            reduced = _np_call("sum", [array], axis)
            if dtype is not None:
                reduced.keywords.append(ast.keyword("dtype", dtype))
            if name == "mean":
                size = ast.Subscript(
                    ast.Attribute(array, "shape", ast.Load()), ast.Constant(axis), ast.Load()
                )
                reduced = ast.BinOp(reduced, ast.Div(), size)
        if keepdims:
            reduced = _np_call("expand_dims", [reduced, ast.Constant(axis)], None)
        return reduced


def _reduction(node: ast.Call) -> tuple[str, ast.expr, int, bool, ast.expr | None] | None:
    """(reduction, array, axis, keepdims, dtype) of ``x.sum(axis=1)`` or ``np.sum(x,
    axis=1)`` with literal options (and a ``dtype`` for a sum) and nothing else; None
    otherwise."""
    function = node.func
    if not isinstance(function, ast.Attribute) or function.attr not in REDUCTIONS:
        return None
    is_numpy = isinstance(function.value, ast.Name) and function.value.id == "np"
    arguments = list(node.args)
    if is_numpy:
        if not arguments:
            return None
        array = arguments.pop(0)
    elif function.attr in ("amax", "amin"):
        return None
    else:
        array = function.value
    options = {k.arg: k.value for k in node.keywords}
    allowed = {"axis", "keepdims", "dtype"} if function.attr == "sum" else {"axis", "keepdims"}
    if arguments or set(options) - allowed or "axis" not in options:
        return None
    axis, keepdims = options["axis"], options.get("keepdims", ast.Constant(False))
    if not (isinstance(axis, ast.Constant) and type(axis.value) is int and axis.value >= 0):
        return None
    if not (isinstance(keepdims, ast.Constant) and isinstance(keepdims.value, bool)):
        return None
    if function.attr in LOOPED and axis.value > 1:
        return None
    return function.attr, array, axis.value, keepdims.value, options.get("dtype")


def _np_call(name: str, arguments: list[ast.expr], axis: int | None) -> ast.Call:
    keywords = [] if axis is None else [ast.keyword("axis", ast.Constant(axis))]
    return ast.Call(
        ast.Attribute(ast.Name("np", ast.Load()), name, ast.Load()), arguments, keywords
    )


def helper_lines(names: set[str], options: str) -> list[str]:
    """The source of the helpers ``names``: the maximum or minimum of a 2-d array along
    axis 0 or 1, as NumPy gives it (the array's dtype, NaN wherever a NaN is reduced)."""
    lines: list[str] = []
    for name in sorted(names):
        kind, axis = name.split("_axis")
        along, other = ("x[:, k]", 1) if axis == "0" else ("x[k]", 0)
        lines += [
            "",
            "",
            f"@numba.njit({options})",
            f"def {name}(x):",
            f'    """np.{kind}(x, axis={axis}) of a 2-d array."""',
            f"    out = np.empty(x.shape[{other}], x.dtype)",
            f"    for k in range(x.shape[{other}]):",
            f"        out[k] = {along}.{kind}()",
            "    return out",
        ]
    return lines
