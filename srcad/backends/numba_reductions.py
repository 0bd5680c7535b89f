"""Reductions along an axis, respelled in the numba variant where numba has no typing for
NumPy's spelling.

Comes in: the NumPy source of a generated module and its body's name. Goes out: the same
source, line for line, in which

    x.sum(axis=1, keepdims=True)   ->  np.expand_dims(np.sum(x, axis=1), 1)
    m.sum(axis=0, dtype=np.float64) -> np.sum(m, axis=0, dtype=np.float64)
    np.max(x, axis=0)              ->  max_axis0(x)
    s.max(-1, keepdims=True)       ->  np.expand_dims(max_axis_last(s), -1)
    x.mean(axis=1)                 ->  (np.sum(x, axis=1) / x.shape[1])
    x.mean(axis=-1, keepdims=True) ->  np.expand_dims(np.sum(x, axis=-1) / x.shape[-1], -1)
    x.var(axis=1)                  ->  np.sum((x - mean_kept) ** 2, axis=1) / x.shape[1]
                                       (mean_kept: np.expand_dims(np.sum(x, axis=1) / x.shape[1], 1))
    x.std(axis=0, ddof=1)          ->  np.sqrt(np.sum((x - mean_kept) ** 2, axis=0) / (x.shape[0] - 1))
    x.std(ddof=1)                  ->  np.sqrt(np.sum((x - np.sum(x) / x.size) ** 2) / (x.size - 1))

numba's ``np.sum`` takes an axis but no ``keepdims``; its ``max``, ``min``, ``mean``,
``var`` and ``std`` take no axis at all (``var`` and ``std`` no ``ddof`` either), so
``max_axis0`` and the others are small compiled loops over a 2-d array, ``max_axis_last``
over the rows of the last axis of any array (``HELPERS``; on another number of dimensions
numba refuses the 2-d ones and srcad falls back to NumPy, naming the line). A sum or mean over several axes counted from the start is one sum per axis, the
last axis first: ``x.mean(axis=(0, 2))`` is ``np.sum(np.sum(x, axis=2), axis=0) /
(x.shape[0] * x.shape[2])``; other reductions over several axes are left as they are.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from srcad.backends.respelling import literal_int, operand_arguments, respelled_values

REDUCTIONS = ("sum", "max", "min", "mean", "amax", "amin", "var", "std")
SPREADS = ("var", "std")  # of a named array: it is read twice
LOOPED = {"max": "max", "amax": "max", "min": "min", "amin": "min"}
# keywords a reduction takes besides axis and keepdims, where given as NumPy names them
EXTRA_OPTIONS = {"sum": {"dtype"}, "var": {"ddof"}, "std": {"ddof"}}


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
            return _over_several_axes(node) or node
        name, array, axis = reduction.name, reduction.array, reduction.axis
        if name in LOOPED:
            helper = f"{LOOPED[name]}_axis{'_last' if axis == -1 else axis}"
            self.helpers.add(helper)
            reduced: ast.expr = ast.Call(ast.Name(helper, ast.Load()), [array], [])
        elif name in SPREADS:
            reduced = _variance(array, axis, reduction.ddof)
            if name == "std":
                reduced = _np_call("sqrt", [reduced], None)
        else:
            reduced = _np_call("sum", [array], axis)
            if reduction.dtype is not None:
                reduced.keywords.append(ast.keyword("dtype", reduction.dtype))
            if name == "mean":
                reduced = _mean(reduced, array, axis)
        if reduction.keepdims:
            reduced = _np_call("expand_dims", [reduced, ast.Constant(axis)], None)
        return reduced


def _over_several_axes(node: ast.Call) -> ast.expr | None:
    """``x.sum(axis=(0, 2))`` or ``x.mean(...)`` (keepdims too) over literal axes counted
    from the start: one axis at a time, the last first, so the others keep their place."""
    function = node.func
    if not (isinstance(function, ast.Attribute) and function.attr in ("sum", "mean")):
        return None
    options = operand_arguments(node, ("axis", "dtype", "out", "keepdims"))
    if options is None:
        return None
    array, axes = options.pop("a"), options.pop("axis", None)
    keepdims = options.pop("keepdims", ast.Constant(False))
    if options or not isinstance(axes, ast.Tuple) or not isinstance(keepdims, ast.Constant):
        return None
    literal = [literal_int(item) for item in axes.elts]
    given = sorted({a for a in literal if a is not None and a >= 0})
    if len(given) != len(literal) or not given or not isinstance(keepdims.value, bool):
        return None
    reduced: ast.expr = array
    for axis in reversed(given):
        reduced = _np_call("sum", [reduced], axis)
    if function.attr == "mean":
        sizes = [
            ast.Subscript(ast.Attribute(array, "shape", ast.Load()), ast.Constant(a)) for a in given
        ]
        count: ast.expr = sizes[0]
        for size in sizes[1:]:
            count = ast.BinOp(count, ast.Mult(), size)
        reduced = ast.BinOp(reduced, ast.Div(), count)
    if keepdims.value:  # np.asarray: over every axis, the sum is a number
        reduced = _np_call("asarray", [reduced], None)
    for axis in given if keepdims.value else []:
        reduced = _np_call("expand_dims", [reduced, ast.Constant(axis)], None)
    return reduced


def _mean(total: ast.expr, array: ast.expr, axis: int | None, ddof: int = 0) -> ast.expr:
    size: ast.expr = ast.Attribute(array, "size", ast.Load())
    if axis is not None:
        size = ast.Subscript(ast.Attribute(array, "shape", ast.Load()), ast.Constant(axis))
    if ddof:
        size = ast.BinOp(size, ast.Sub(), ast.Constant(ddof))
    return ast.BinOp(total, ast.Div(), size)


def _variance(array: ast.expr, axis: int | None, ddof: int = 0) -> ast.expr:
    """``np.var(x, axis=k, ddof=d)`` as NumPy computes it: the sum of the squared deviations
    from the mean (kept along ``k``, where there is one), divided by the count less ``d``."""
    mean = _mean(_np_call("sum", [array], axis), array, axis)
    kept = mean if axis is None else _np_call("expand_dims", [mean, ast.Constant(axis)], None)
    squares = ast.BinOp(ast.BinOp(array, ast.Sub(), kept), ast.Pow(), ast.Constant(2))
    return _mean(_np_call("sum", [squares], axis), array, axis, ddof)


class _Reduction(NamedTuple):
    """A reduction along one literal axis, as NumPy's call gives it."""

    name: str  # sum, max, var, ...
    array: ast.expr
    axis: int | None  # None: over all axes (var and std with a ddof only)
    keepdims: bool
    dtype: ast.expr | None  # a sum's
    ddof: int  # var's and std's


def _reduction(node: ast.Call) -> _Reduction | None:
    """The reduction of ``x.sum(axis=1)`` or ``np.sum(x, axis=1)`` with literal options (a
    ``dtype`` for a sum, a ``ddof`` for ``var`` and ``std``) and nothing else; None
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
    allowed = {"axis", "keepdims"} | EXTRA_OPTIONS.get(function.attr, set())
    over_all = function.attr in SPREADS and "ddof" in options and "axis" not in options
    if arguments or set(options) - allowed or not ("axis" in options or over_all):
        return None
    if function.attr in SPREADS and not isinstance(array, ast.Name):
        return None
    axis, keepdims = options.get("axis"), options.get("keepdims", ast.Constant(False))
    # numba's np.sum, np.expand_dims and shape take -1 too
    axis_value = None if axis is None else literal_int(axis)
    if axis_value is None and not over_all:
        return None
    if not (isinstance(keepdims, ast.Constant) and isinstance(keepdims.value, bool)):
        return None
    if over_all and keepdims.value:
        return None
    if function.attr in LOOPED and axis_value not in (0, 1, -1):
        return None
    ddof = literal_int(options.get("ddof", ast.Constant(0)))
    if ddof is None:
        return None
    return _Reduction(function.attr, array, axis_value, keepdims.value, options.get("dtype"), ddof)


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
        if axis == "_last":
            lines += _last_axis_helper(name, kind, options)
            continue
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


def _last_axis_helper(name: str, kind: str, options: str) -> list[str]:
    """``np.max(x, axis=-1)`` (``min``) of an array of any number of axes: each row of the
    array seen as rows of its last axis."""
    return [
        "",
        "",
        f"@numba.njit({options})",
        f"def {name}(x):",
        f'    """np.{kind}(x, axis=-1)."""',
        "    rows = np.ascontiguousarray(x).reshape((-1, x.shape[-1]))",
        "    out = np.empty(rows.shape[0], x.dtype)",
        "    for k in range(rows.shape[0]):",
        f"        out[k] = rows[k].{kind}()",
        "    return out.reshape(x.shape[:-1])",
    ]
