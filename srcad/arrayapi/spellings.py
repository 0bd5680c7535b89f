"""The spelling table: how each NumPy call of generated code is written with the array API.

Read by ``srcad.arrayapi.translate``. Every entry is one of

- a plain rename: ``np.arctan(x)`` -> ``xp.atan(x)`` (same arguments, same meaning);
- a ``Form``: a rewrite of the call whose arguments or meaning differ (``np.clip(x, a_min=,
  a_max=)`` -> ``xp.clip(x, min=, max=)``, ``x.cumsum()`` -> ``xp.cumulative_sum`` of the
  flattened array), or a call to a helper of ``srcad.arrayapi.forms`` where the array API
  needs a few lines (``np.dot``: its meaning depends on the ranks of its operands);
- a refusal with its reason (``np.add.at``: the array API has no accumulating scatter).

A NumPy name not in the table is refused too: nothing is approximated.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field

# np.<name> -> xp.<name>: the same function under the same name
SAME = frozenset("""
    abs acosh add asinh atanh ceil clip cos cosh divide equal exp expm1 floor greater
    greater_equal hypot isfinite isinf isnan less less_equal log log10 log1p log2 logaddexp
    logical_and logical_not logical_or maximum minimum multiply negative not_equal
    reciprocal remainder round sign sin sinh sqrt square subtract tan tanh trunc
    where full_like broadcast_to expand_dims flip roll moveaxis take
    take_along_axis sort argsort tril triu matmul tensordot stack diff argmax argmin all any
    isin searchsorted
    """.split())
# np.<name> -> xp.<other name>, same arguments
RENAMED = {
    "absolute": "abs",
    "fabs": "abs",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "arcsinh": "asinh",
    "arccosh": "acosh",
    "arctanh": "atanh",
    "arctan2": "atan2",
    "power": "pow",
    "concatenate": "concat",
    "cross": "linalg.cross",  # of 3-vectors along the last axis (NumPy's default)
    "permute_dims": "permute_dims",
    "matrix_transpose": "matrix_transpose",
    "linalg.cholesky": "linalg.cholesky",
    "linalg.det": "linalg.det",
    "linalg.inv": "linalg.inv",
    "linalg.slogdet": "linalg.slogdet",
    "linalg.solve": "linalg.solve",
    "linalg.eigh": "linalg.eigh",
    "linalg.svd": "linalg.svd",
    "linalg.qr": "linalg.qr",
    "linalg.pinv": "linalg.pinv",
}
# np.<name> -> helper of srcad.arrayapi.forms, same arguments
HELPERS = frozenset(
    {
        "dot",
        "outer",
        "split",
        "hstack",
        "vstack",
        "trace",
        "diagonal",
        "cbrt",
        "full",
        "array",
        "vdot",
        "may_share_memory",
    }
)
HELPER_NAMES = HELPERS | {"transpose", "squeeze"}  # all that the variant imports from forms
# np.<name> with no counterpart: why
REFUSED = {
    "add.at": "np.add.at (adding at positions that may repeat) has no array-API counterpart",
    "einsum": "np.einsum has no array-API counterpart",
    "pad": "np.pad has no array-API counterpart",
    "diag": "np.diag has no array-API counterpart",
}
# NumPy names that are values, not functions: np.float64 -> xp.float64
VALUES = frozenset("""
    float64 float32 float16 int64 int32 int16 int8 uint8 bool complex64 complex128 pi e inf nan
    """.split())
# list and dict methods that generated code calls (a loop's tape, a dict of arguments)
CONTAINER_METHODS = frozenset({"append", "pop", "keys", "values", "items", "extend", "get"})
# attributes of arrays (and of the objects values are read from) that the array API keeps
ATTRIBUTES = frozenset({"shape", "ndim", "dtype", "size", "cell_contents", "__defaults__"})
ATTRIBUTES |= frozenset({"__kwdefaults__", "mT"})


@dataclass(frozen=True)
class Call:
    """A call's parts, already translated: the positional arguments and the keywords."""

    args: list[ast.expr]
    keywords: dict[str, ast.expr] = field(default_factory=dict)
    parameters: frozenset[str] = frozenset()  # the body's parameters (arrays or containers)


def xp(name: str) -> ast.expr:
    """``xp.<name>`` as an expression."""
    return ast.parse(f"xp.{name}", mode="eval").body


def call(function: ast.expr | str, args: list[ast.expr], **keywords: ast.expr) -> ast.Call:
    function = xp(function) if isinstance(function, str) else function
    return ast.Call(function, args, [ast.keyword(k, v) for k, v in keywords.items()])


def constant(value: object) -> ast.expr:
    return ast.Constant(value)


def flattened(x: ast.expr) -> ast.Call:
    """``xp.reshape(x, (-1,))``: NumPy's flattening of an array when no axis is given."""
    return call("reshape", [x, ast.Tuple([constant(-1)], ast.Load())])


def _reduction(name: str) -> Callable[[Call], ast.expr]:
    """``np.sum(x, axis=, keepdims=, dtype=)``: the dtype as a cast first (the array API's
    sum takes no booleans, and a float64 sum of float32 values is the sum of their casts)."""

    def form(c: Call) -> ast.expr:
        x, *rest = c.args
        if rest:
            c.keywords.setdefault("axis", rest.pop(0))
        if rest:
            raise Refusal(f"np.{name} with more than one positional argument")
        dtype = c.keywords.pop("dtype", None)
        if dtype is not None:
            x = call("astype", [x, dtype])
        if "ddof" in c.keywords:
            c.keywords["correction"] = c.keywords.pop("ddof")
        unknown = set(c.keywords) - {"axis", "keepdims", "correction"}
        if unknown:
            raise Refusal(f"np.{name} with {', '.join(sorted(unknown))}")
        return call(name, [x], **c.keywords)

    return form


def _cumulative(name: str) -> Callable[[Call], ast.expr]:
    """``np.cumsum(x)`` flattens ``x`` first; with an axis it is ``xp.cumulative_sum``."""

    def form(c: Call) -> ast.expr:
        x, *rest = c.args
        axis = rest[0] if rest else c.keywords.pop("axis", None)
        if set(c.keywords) or len(rest) > 1:
            raise Refusal(f"np.{name.split('_')[1]} with {', '.join(c.keywords) or 'a dtype'}")
        if axis is None or (isinstance(axis, ast.Constant) and axis.value is None):
            return call(name, [flattened(x)])
        return call(name, [x], axis=axis)

    return form


class Refusal(Exception):
    """A call that the array API cannot express (the message says which and why)."""


def _creation(name: str) -> Callable[[Call], ast.expr]:
    """``np.zeros(shape)``: NumPy's default dtype is float64, the array API's the library's
    default float (float32 in some), so the dtype is spelled out."""

    def form(c: Call) -> ast.expr:
        c.keywords.setdefault("dtype", xp("float64"))
        if name == "full" and len(c.args) > 2:
            c.keywords["dtype"] = c.args.pop()
        return call(name, c.args, **c.keywords)

    return form


def _clip(c: Call) -> ast.expr:
    x, *rest = c.args
    low = rest[0] if rest else c.keywords.pop("a_min", None)
    high = rest[1] if len(rest) > 1 else c.keywords.pop("a_max", None)
    return call("clip", [x], min=low or constant(None), max=high or constant(None))


def _reshape(c: Call) -> ast.expr:
    order = c.keywords.pop("order", None)
    if order is not None and not (isinstance(order, ast.Constant) and order.value == "C"):
        raise Refusal("a reshape in Fortran order (order='F')")
    shape = c.args[1] if len(c.args) == 2 else ast.Tuple(c.args[1:], ast.Load())
    named = c.keywords.pop("shape", None) or c.keywords.pop("newshape", None)  # shape=(3, 1)
    return call("reshape", [c.args[0], named or shape])


def _transpose(c: Call) -> ast.expr:
    axes = c.args[1:] or ([c.keywords["axes"]] if "axes" in c.keywords else [])
    if not axes:
        return call(ast.Name("transpose", ast.Load()), [c.args[0]])
    if len(axes) > 1:  # x.transpose(1, 0, 2)
        return call("permute_dims", [c.args[0], ast.Tuple(axes, ast.Load())])
    return call("permute_dims", [c.args[0], axes[0]])


def _squeeze(c: Call) -> ast.expr:
    axis = c.args[1] if len(c.args) > 1 else c.keywords.get("axis")
    if axis is None:
        return call(ast.Name("squeeze", ast.Load()), [c.args[0]])
    return call("squeeze", [c.args[0]], axis=axis)


def _cast(dtype: str) -> Callable[[Call], ast.expr]:
    """``np.float64(x)``: ``x`` as an array of that dtype."""

    def form(c: Call) -> ast.expr:
        return call("astype", [call("asarray", c.args), xp(dtype)])

    return form


def _norm(c: Call) -> ast.expr:
    """``np.linalg.norm(x)`` (no ``ord``) is the 2-norm of the flattened array (Frobenius for
    a matrix), and with an int ``axis`` the vector norm along it."""
    if len(c.args) > 1 or "ord" in c.keywords:
        raise Refusal("np.linalg.norm with an ord")
    axis = c.keywords.get("axis")
    if isinstance(axis, ast.Tuple):
        raise Refusal("np.linalg.norm over a tuple of axes")
    return call("linalg.vector_norm", c.args, **c.keywords)


def _copy(c: Call) -> ast.expr:
    return call("asarray", c.args[:1], copy=constant(True))


def _astype(c: Call) -> ast.expr:
    if len(c.args) != 2 or c.keywords:
        raise Refusal("astype with options")
    return call("astype", c.args)


def _ravel(c: Call) -> ast.expr:
    if len(c.args) != 1 or c.keywords:
        raise Refusal("ravel in another order")
    return flattened(c.args[0])


def _tile(c: Call) -> ast.expr:
    x, reps = c.args if len(c.args) == 2 else (c.args[0], c.keywords["reps"])
    if isinstance(reps, ast.Constant):
        reps = ast.Tuple([reps], ast.Load())
    return call("tile", [x, reps])


def _power_of_two(c: Call) -> ast.expr:
    return ast.BinOp(constant(2.0), ast.Pow(), c.args[0])


def _scaled(factor: str) -> Callable[[Call], ast.expr]:
    def form(c: Call) -> ast.expr:
        return ast.BinOp(c.args[0], ast.Mult(), ast.parse(factor, mode="eval").body)

    return form


def _repeat(c: Call) -> ast.expr:
    """``np.repeat(x, repeats=2)``: the array API takes ``repeats`` by position only."""
    args = [*c.args, *([c.keywords.pop("repeats")] if "repeats" in c.keywords else [])]
    return call("repeat", args, **c.keywords)


def _like(name: str) -> Callable[[Call], ast.expr]:
    """``np.zeros_like(x)``: of a parameter (an array: srcad passes floats as 0-d arrays) as
    it is, of another value through ``xp.asarray`` (it may be a Python float)."""

    def form(c: Call) -> ast.expr:
        x, *rest = c.args
        if not (isinstance(x, ast.Name) and x.id in c.parameters):
            x = call("asarray", [x])
        return call(name, [x, *rest], **c.keywords)

    return form


FORMS: dict[str, Callable[[Call], ast.expr]] = {
    **{name: _reduction(name) for name in ("sum", "mean", "max", "min", "prod", "std", "var")},
    "amax": _reduction("max"),
    "amin": _reduction("min"),
    "cumsum": _cumulative("cumulative_sum"),
    "cumprod": _cumulative("cumulative_prod"),
    **{name: _creation(name) for name in ("zeros", "ones", "empty", "eye")},
    "zeros_like": _like("zeros_like"),
    "ones_like": _like("ones_like"),
    "clip": _clip,
    "reshape": _reshape,
    "transpose": _transpose,
    "squeeze": _squeeze,
    "float64": _cast("float64"),
    "float32": _cast("float32"),
    "int64": _cast("int64"),
    "linalg.norm": _norm,
    "copy": _copy,
    "array_copy": _copy,
    "ravel": _ravel,
    "tile": _tile,
    "exp2": _power_of_two,
    "deg2rad": _scaled("(xp.pi / 180)"),
    "rad2deg": _scaled("(180 / xp.pi)"),
    "repeat": _repeat,
}
# array methods -> the NumPy function of the same meaning (the receiver first)
METHODS: dict[str, str] = {
    **{name: name for name in ("sum", "mean", "max", "min", "prod", "std", "var", "cumsum")},
    **{name: name for name in ("cumprod", "reshape", "transpose", "squeeze", "ravel", "repeat")},
    "copy": "array_copy",
    "astype": "astype",
    "dot": "dot",
    "clip": "clip",
    "flatten": "ravel",
    "diagonal": "diagonal",
    "trace": "trace",
}
FORMS["astype"] = _astype
