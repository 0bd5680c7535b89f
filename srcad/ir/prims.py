"""The primitive operations of the IR: one table entry per NumPy function srcad knows.

Each ``Prim`` names the NumPy callable that computes it (used to evaluate, to infer shapes
and to spell it in generated code), how many array inputs it takes, which static parameters
follow them, and, for elementwise primitives, its sympy counterpart (used by the exact rule
checks). ``CALLABLES`` maps every Python object a user may call (``np.exp``, ``math.exp``,
``abs``, ``np.linalg.inv``) to its primitive. The table is filled at import time and only
read afterwards.

In the IR an equation's inputs are always a flat tuple of arrays and its params a set of
static keyword values. ``Prim.bind`` turns a call as the user wrote it into that form and
``Prim.arrange`` turns it back into the call NumPy expects: ``np.concatenate([a, b],
axis=0)`` is the equation ``concatenate a b axis=0``, and ``np.einsum("ij,jk", a, b)`` is
``einsum a b subscripts='ij,jk'``.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ELEMENTWISE = "elementwise"  # broadcasting functions of arrays, no params
PARAMETRIC = "parametric"  # elementwise with static params (clip, round)
REDUCTION = "reduction"
LINALG = "linalg"
SHAPE = "shape"
INDEXING = "indexing"
CONSTRUCTOR = "constructor"
COMPARISON = "comparison"

LIST = "list"  # the inputs after the fixed ones are passed as one list: np.stack([a, b])
STAR = "star"  # the inputs after the fixed ones are passed as more arguments: np.einsum(s, a, b)

# A rule-test case: the inputs (each a shape or a concrete array) and the static params.
Example = tuple[tuple[object, ...], dict[str, object]]


# Primitives whose result may share memory with their first input (NumPy views).
VIEW_PRIMS = frozenset(
    {"getitem", "reshape", "transpose", "broadcast_to", "expand_dims", "swapaxes", "ravel"}
    | {"squeeze", "moveaxis", "asarray", "matrix_transpose", "atleast_1d", "atleast_2d"}
    | {"atleast_3d", "flip", "flipud", "fliplr", "rot90", "diagonal", "diag"}
    | {"split", "array_split", "hsplit", "vsplit"}
)


def shares_memory(eqn) -> bool:
    """Whether NumPy's result of ``eqn`` may share memory with its first input: a view.
    Reading one element (a 0-d result) or with integer arrays (fancy indexing) copies."""
    if eqn.prim == "getitem":
        if eqn.outputs[0].aval.ndim == 0:
            return False
        return all(a.aval.ndim == 0 for a in eqn.inputs[1:])
    return eqn.prim in VIEW_PRIMS


@dataclass(frozen=True)
class Prim:
    """A primitive: ``fn(*inputs, **params)`` computed by NumPy.

    ``params`` are the static parameters in NumPy's positional order after the arrays and
    ``keyword_params`` those accepted by keyword only. ``leading_params`` come before the
    arrays (``np.full(shape, fill_value)``) and ``positional_params`` right after them, for
    functions that take them only so (``np.astype(x, dtype)``). ``required_params`` are kept
    even when None (``np.clip(x, None, 1.0)``). ``variadic`` says how a variable number of
    array inputs after the first ``n_inputs`` is passed (``LIST`` or ``STAR``), and
    ``module`` where the function lives (``np.linalg``).

    ``domain`` is an interval where every input is away from poles and kinks,
    ``structure`` what the first input must be for the function to be defined
    (``"invertible"`` or ``"spd"`` matrices), and ``examples`` lists ``(inputs, params)``
    cases, where each input is a shape or a concrete (integer) array; the rule tests draw
    inputs from them (elementwise primitives get broadcasting shapes by default).
    """

    name: str
    fn: Callable
    kind: str
    n_inputs: int
    params: tuple[str, ...] = ()
    sympy: str | None = None
    operator: str | None = None
    is_differentiable: bool = True
    domain: tuple[float, float] = (-2.0, 2.0)
    examples: tuple[Example, ...] = ()
    module: str = "np"
    leading_params: tuple[str, ...] = ()
    positional_params: tuple[str, ...] = ()
    keyword_params: tuple[str, ...] = ()
    required_params: tuple[str, ...] = ()
    variadic: str | None = None
    structure: str | None = None
    returns_list: bool = False

    @property
    def spelling(self) -> str:
        """How generated code calls it, e.g. ``np.exp`` or ``np.linalg.inv``."""
        return f"{self.module}.{self.fn.__name__}"

    def bind(self, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Split a call's arguments into the flat array inputs and the static params.

        Raises ValueError, with a message for the user, when the call does not fit.
        """
        rest = list(args)
        if len(rest) < len(self.leading_params) + self.n_inputs:
            raise ValueError(f"{self.spelling} needs more arguments")
        params = {name: rest.pop(0) for name in self.leading_params}
        arrays = [rest.pop(0) for _ in range(self.n_inputs)]
        if self.variadic == STAR:
            arrays += rest
            rest = []
        elif self.variadic == LIST:
            if not rest or not isinstance(rest[0], (list, tuple)):
                raise ValueError(f"{self.spelling} takes a list or tuple of arrays")
            arrays += list(rest.pop(0))
        if len(rest) > len(self.params):
            raise ValueError(f"too many arguments for {self.spelling}")
        params.update(zip(self.params, rest, strict=False))
        for key, value in kwargs.items():
            if key not in self.params + self.keyword_params + self.leading_params:
                allowed = ", ".join(self.params + self.keyword_params) or "none"
                raise ValueError(
                    f"{self.spelling} does not support the argument {key!r} "
                    f"(supported keywords: {allowed})"
                )
            if key in params:
                raise ValueError(f"{self.spelling} got the argument {key!r} twice")
            params[key] = value
        return tuple(arrays), self._static_params(params)

    def _static_params(self, params: dict) -> dict:
        """Params as plain Python values; defaults that need no spelling are dropped."""
        static = {}
        for key, value in params.items():
            if key == "out" and value is not None:
                raise ValueError(f"{self.spelling}: 'out=' (writing in place) is not supported")
            value = static_value(value)
            if value is _NOT_STATIC:
                raise ValueError(
                    f"the argument {key!r} of {self.spelling} must be known when the function "
                    "is compiled (an int, a tuple, a constant), not a value computed from the "
                    "differentiated arguments"
                )
            if (value is None and key not in self.required_params) or (
                key == "keepdims" and value is False
            ):
                continue
            static[key] = value
        return static

    def arrange(self, inputs: list, params: dict) -> tuple[list, dict]:
        """The positional and keyword arguments of the NumPy call, from flat inputs and
        params (of any kind: values, or ``ast`` nodes in code generation). A positional
        argument that is a list stands for a list of arrays."""
        keywords = dict(params)
        positional = [keywords.pop(name) for name in self.leading_params]
        positional += inputs[: self.n_inputs]
        if self.variadic == LIST:
            positional.append(list(inputs[self.n_inputs :]))
        else:
            positional += inputs[self.n_inputs :]
        positional += [keywords.pop(name) for name in self.positional_params if name in keywords]
        return positional, keywords

    def evaluate(self, inputs: list | tuple, params: dict) -> object:
        """``fn`` applied to flat ``inputs`` and ``params``, as NumPy wants to be called."""
        positional, keywords = self.arrange(list(inputs), params)
        return self.fn(*positional, **keywords)


class _NotStatic:
    """Marks a param value that is not a compile-time constant."""


_NOT_STATIC = _NotStatic()


def static_value(value: object) -> object:
    """``value`` as a plain, hashable Python value (lists and arrays become tuples), or
    ``_NOT_STATIC`` when it is not one (a traced array)."""
    if isinstance(value, np.generic):
        return value.item()  # np.int64(1) -> 1, np.str_("fro") -> "fro"
    if value is None or isinstance(value, (bool, int, float, str, np.dtype)):
        return value
    if isinstance(value, type) and (value in (float, int, bool) or issubclass(value, np.generic)):
        return np.dtype(value)  # dtype=float or dtype=np.float32
    if isinstance(value, np.ndarray):
        return static_value(value.tolist())
    if isinstance(value, (list, tuple, range)):
        items = tuple(static_value(v) for v in value)
        return _NOT_STATIC if any(v is _NOT_STATIC for v in items) else items
    return _NOT_STATIC


PRIMS: dict[str, Prim] = {}
CALLABLES: dict[object, str] = {}


def _add(prim: Prim, *aliases: object) -> None:
    PRIMS[prim.name] = prim
    for target in (prim.fn, *aliases):
        CALLABLES[target] = prim.name


def prim_of(target: object) -> Prim | None:
    """The primitive a callable stands for, or None."""
    try:
        name = CALLABLES.get(target)
    except TypeError:  # unhashable callables are never primitives
        return None
    return PRIMS[name] if name else None


POSITIVE = (0.2, 3.0)
UNIT = (-0.9, 0.9)


# --- elementwise functions of one argument, with their sympy counterparts -----------------
def _unary(name: str, sympy: str, *aliases: object, domain=(-2.0, 2.0)) -> None:
    _add(Prim(name, getattr(np, name), ELEMENTWISE, 1, sympy=sympy, domain=domain), *aliases)


_add(Prim("negative", np.negative, ELEMENTWISE, 1, sympy="lambda x: -x", operator="-"))
_unary("positive", "lambda x: x")
_unary("exp", "exp", math.exp)
_unary("exp2", "lambda x: 2**x", math.exp2)
_unary("expm1", "lambda x: exp(x) - 1", math.expm1)
_unary("log", "log", math.log, domain=POSITIVE)
_unary("log2", "lambda x: log(x, 2)", math.log2, domain=POSITIVE)
_unary("log10", "lambda x: log(x, 10)", math.log10, domain=POSITIVE)
_unary("log1p", "lambda x: log(1 + x)", math.log1p, domain=(-0.5, 3.0))
_unary("sqrt", "sqrt", math.sqrt, domain=POSITIVE)
_unary("cbrt", "cbrt", math.cbrt, domain=POSITIVE)
_unary("square", "lambda x: x**2")
_unary("reciprocal", "lambda x: 1 / x", domain=POSITIVE)
_unary("sin", "sin", math.sin)
_unary("cos", "cos", math.cos)
_unary("tan", "tan", math.tan, domain=(-1.2, 1.2))
_unary("arcsin", "asin", math.asin, domain=UNIT)
_unary("arccos", "acos", math.acos, domain=UNIT)
_unary("arctan", "atan", math.atan)
_unary("sinh", "sinh", math.sinh)
_unary("cosh", "cosh", math.cosh)
_unary("tanh", "tanh", math.tanh)
_unary("arcsinh", "asinh", math.asinh)
_unary("arccosh", "acosh", math.acosh, domain=(1.2, 3.0))
_unary("arctanh", "atanh", math.atanh, domain=UNIT)
_unary("absolute", "Abs", builtins.abs)
_unary("fabs", "Abs", math.fabs)
_unary("deg2rad", "lambda x: x * pi / 180", np.radians, math.radians)
_unary("rad2deg", "lambda x: x * 180 / pi", np.degrees, math.degrees)


# --- elementwise functions of two arguments (all broadcast) -------------------------------
def _binary(
    name: str, sympy: str, *aliases: object, operator: str | None = None, domain=(-2.0, 2.0)
) -> None:
    fn = getattr(np, name)
    _add(Prim(name, fn, ELEMENTWISE, 2, sympy=sympy, operator=operator, domain=domain), *aliases)


_binary("add", "lambda x, y: x + y", operator="+")
_binary("subtract", "lambda x, y: x - y", operator="-")
_binary("multiply", "lambda x, y: x * y", operator="*")
_binary("divide", "lambda x, y: x / y", operator="/", domain=POSITIVE)  # also np.true_divide
_binary("power", "lambda x, y: x**y", math.pow, builtins.pow, operator="**", domain=POSITIVE)
_binary("float_power", "lambda x, y: x**y", domain=POSITIVE)
_binary("maximum", "Max")
_binary("minimum", "Min")
_binary("fmax", "Max")
_binary("fmin", "Min")
_binary("arctan2", "atan2", math.atan2)
_binary("hypot", "lambda x, y: sqrt(x**2 + y**2)", math.hypot)
_binary("logaddexp", "lambda x, y: log(exp(x) + exp(y))")
_binary("logaddexp2", "lambda x, y: log(2**x + 2**y, 2)")
_binary("copysign", "lambda x, y: Abs(x) * sign(y)", math.copysign)
# x mod y = x - y floor(x / y) (np.mod, Python's %) and fmod(x, y) = x - y trunc(x / y). sympy
# cannot differentiate floor, so the counterparts use the sawtooth identity, exact wherever
# x / y is not an integer: frac(z) = 1/2 - atan(cot(pi z)) / pi. The domain keeps y away from 0.
_binary(
    "remainder",
    "lambda x, y: y * (S.Half - atan(cot(pi * x / y)) / pi)",
    operator="%",
    domain=POSITIVE,
)
_binary(
    "fmod",
    "lambda x, y: y * (sign(x / y) / 2 - atan(cot(pi * x / y)) / pi)",
    math.fmod,
    domain=POSITIVE,
)

# where(condition, x, y): differentiable in x and y.
_add(Prim("where", np.where, ELEMENTWISE, 3))

# clip(x, a_min, a_max) with constant bounds (either may be None).
_add(
    Prim(
        "clip",
        np.clip,
        PARAMETRIC,
        1,
        params=("a_min", "a_max", "out"),
        required_params=("a_min", "a_max"),
        examples=(
            (((3, 4),), {"a_min": -0.5, "a_max": 0.7}),
            (((3, 4),), {"a_min": None, "a_max": 0.3}),
            (((5,),), {"a_min": -0.1, "a_max": None}),
        ),
    )
)

# Comparisons and other elementwise functions that pass no gradient.
for _name, _symbol in [
    ("greater", ">"),
    ("greater_equal", ">="),
    ("less", "<"),
    ("less_equal", "<="),
    ("equal", "=="),
    ("not_equal", "!="),
]:
    _add(Prim(_name, getattr(np, _name), COMPARISON, 2, operator=_symbol, is_differentiable=False))
for _name in ["logical_and", "logical_or", "logical_xor"]:
    _add(Prim(_name, getattr(np, _name), COMPARISON, 2, is_differentiable=False))
for _name in ["logical_not", "isnan", "isinf", "isfinite", "signbit"]:
    _add(Prim(_name, getattr(np, _name), COMPARISON, 1, is_differentiable=False))
_add(Prim("sign", np.sign, ELEMENTWISE, 1, sympy="sign", is_differentiable=False))
for _name, _sympy in [
    ("floor", "floor"),
    ("ceil", "ceiling"),
    ("trunc", "lambda x: sign(x) * floor(Abs(x))"),
    ("rint", None),
]:
    _add(Prim(_name, getattr(np, _name), ELEMENTWISE, 1, sympy=_sympy, is_differentiable=False))
_add(Prim("fix", np.fix, ELEMENTWISE, 1, is_differentiable=False))
_add(Prim("floor_divide", np.floor_divide, ELEMENTWISE, 2, operator="//", is_differentiable=False))
_add(Prim("heaviside", np.heaviside, ELEMENTWISE, 2, is_differentiable=False))
_add(Prim("round", np.round, PARAMETRIC, 1, ("decimals", "out"), is_differentiable=False))
_add(Prim("around", np.around, PARAMETRIC, 1, ("decimals", "out"), is_differentiable=False))

# --- reductions ---------------------------------------------------------------------------
REDUCTION_EXAMPLES: tuple[Example, ...] = (
    (((3, 4),), {}),
    (((3, 4),), {"axis": 1}),
    (((3, 4),), {"axis": 0, "keepdims": True}),
    (((2, 3, 4),), {"axis": (0, 2)}),
    (((2, 3, 4),), {"axis": -1, "keepdims": True}),
)
SCAN_EXAMPLES: tuple[Example, ...] = (
    (((3, 4),), {}),
    (((3, 4),), {"axis": 0}),
    (((2, 3, 4),), {"axis": -1}),
)
WITH_DTYPE = ("axis", "dtype", "out", "keepdims")
for _name, _params, _aliases in [
    ("sum", WITH_DTYPE, ()),
    ("mean", WITH_DTYPE, ()),
    ("prod", WITH_DTYPE, ()),
    ("nansum", WITH_DTYPE, ()),
    ("nanmean", WITH_DTYPE, ()),
    ("max", ("axis", "out", "keepdims"), (np.amax,)),
    ("min", ("axis", "out", "keepdims"), (np.amin,)),
    ("ptp", ("axis", "out", "keepdims"), ()),
    ("std", ("axis", "dtype", "out", "ddof", "keepdims"), ()),
    ("var", ("axis", "dtype", "out", "ddof", "keepdims"), ()),
]:
    _add(
        Prim(_name, getattr(np, _name), REDUCTION, 1, _params, examples=REDUCTION_EXAMPLES),
        *_aliases,
    )
_add(
    Prim(
        "average",
        np.average,
        REDUCTION,
        1,
        ("axis",),
        keyword_params=("keepdims",),
        examples=REDUCTION_EXAMPLES,
    )
)
for _name in ["cumsum", "cumprod"]:
    _add(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            ("axis", "dtype", "out"),
            examples=SCAN_EXAMPLES,
        )
    )
_add(
    Prim(
        "diff",
        np.diff,
        REDUCTION,
        1,
        ("n", "axis"),
        examples=((((3, 5),), {}), (((4, 3),), {"n": 2, "axis": 0})),
    )
)
_add(
    Prim(
        "sort",
        np.sort,
        REDUCTION,
        1,
        ("axis", "kind"),
        keyword_params=("stable",),
        required_params=("axis",),  # axis=None sorts the flattened array
        examples=((((3, 4),), {}), (((3, 4),), {"axis": 0}), (((3, 4),), {"axis": None})),
    )
)
for _name in ["argmax", "argmin"]:
    _add(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            ("axis", "out"),
            is_differentiable=False,
            keyword_params=("keepdims",),
        )
    )
_add(
    Prim(
        "argsort",
        np.argsort,
        REDUCTION,
        1,
        ("axis", "kind"),
        keyword_params=("stable",),
        required_params=("axis",),
        is_differentiable=False,
    )
)
for _name in ["all", "any"]:
    _add(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            ("axis", "out", "keepdims"),
            is_differentiable=False,
        )
    )
_add(
    Prim(
        "count_nonzero",
        np.count_nonzero,
        REDUCTION,
        1,
        ("axis",),
        keyword_params=("keepdims",),
        is_differentiable=False,
    )
)

# --- linear algebra -----------------------------------------------------------------------
MATMUL_EXAMPLES: tuple[Example, ...] = (
    (((3, 4), (4, 5)), {}),
    (((1, 4), (4, 5)), {}),  # one row, one column: outer products in the VJP
    (((3, 4), (4, 1)), {}),
    (((1, 4), (4, 1)), {}),
    (((3, 4), (4,)), {}),
    (((4,), (4, 5)), {}),
    (((4,), (4,)), {}),
    (((2, 3, 4), (4, 5)), {}),
    (((2, 3, 4), (2, 4, 5)), {}),
    (((4,), (2, 4, 5)), {}),
    (((2, 3, 4), (4,)), {}),
)
_add(Prim("matmul", np.matmul, LINALG, 2, operator="@", examples=MATMUL_EXAMPLES), np.linalg.matmul)
_add(
    Prim(
        "dot",
        np.dot,
        LINALG,
        2,
        examples=(
            (((3, 4), (4, 5)), {}),
            (((3, 4), (4,)), {}),
            (((4,), (4,)), {}),
            (((), (3,)), {}),
            (((2, 3, 4), (4,)), {}),
            (((2, 3), (4, 3, 2)), {}),
        ),
    )
)
_add(Prim("vdot", np.vdot, LINALG, 2, examples=((((3, 4), (3, 4)), {}), (((6,), (2, 3)), {}))))
_add(
    Prim(
        "inner",
        np.inner,
        LINALG,
        2,
        examples=((((4,), (4,)), {}), (((2, 4), (3, 4)), {}), (((), (3,)), {})),
    )
)
_add(
    Prim("outer", np.outer, LINALG, 2, examples=((((3,), (4,)), {}), (((2, 2), (3,)), {}))),
    np.linalg.outer,
)
_add(
    Prim(
        "tensordot",
        np.tensordot,
        LINALG,
        2,
        ("axes",),
        examples=(
            (((2, 3, 4), (3, 4, 5)), {}),
            (((3, 4), (4, 5)), {"axes": 1}),
            (((2, 3, 4), (4, 2)), {"axes": ((0, 2), (1, 0))}),
            (((2, 3), (4,)), {"axes": 0}),
        ),
    ),
    np.linalg.tensordot,
)
_add(
    Prim(
        "einsum",
        np.einsum,
        LINALG,
        0,
        leading_params=("subscripts",),
        variadic=STAR,
        examples=(
            (((3, 4), (4, 5)), {"subscripts": "ij,jk->ik"}),
            (((3, 4), (4, 5)), {"subscripts": "ij,jk"}),
            (((2, 3, 4), (2, 4)), {"subscripts": "bij,bj->bi"}),
            (((3, 4),), {"subscripts": "ij->j"}),
            (((3, 4),), {"subscripts": "ij->ji"}),
            (((2, 3, 4), (4, 5)), {"subscripts": "...j,jk->...k"}),
            (((3,), (4,), (5,)), {"subscripts": "i,j,k->ijk"}),
            (((3, 4), (4,)), {"subscripts": "ij,j->"}),
        ),
    )
)
_add(Prim("kron", np.kron, LINALG, 2, examples=((((2, 3), (3, 2)), {}), (((3,), (2, 2)), {}))))
_add(
    Prim(
        "cross",
        np.cross,
        LINALG,
        2,
        keyword_params=("axis",),
        examples=((((4, 3), (3,)), {}), (((3, 2), (3, 2)), {"axis": 0})),
    )
)
_add(
    Prim(
        "vecdot",
        np.vecdot,
        LINALG,
        2,
        keyword_params=("axis",),
        examples=((((3, 4), (4,)), {}), (((3, 4), (3, 1)), {"axis": 0})),
    ),
    np.linalg.vecdot,
)
_add(
    Prim(
        "trace",
        np.trace,
        LINALG,
        1,
        ("offset", "axis1", "axis2", "dtype", "out"),
        examples=(
            (((3, 3),), {}),
            (((3, 4),), {"offset": 1}),
            (((2, 3, 4),), {"offset": -1, "axis1": 2, "axis2": 1}),
        ),
    )
)
SQUARE_EXAMPLES: tuple[Example, ...] = ((((3, 3),), {}), (((2, 3, 3),), {}))
for _name in ["inv", "det"]:
    _add(
        Prim(
            _name,
            getattr(np.linalg, _name),
            LINALG,
            1,
            module="np.linalg",
            structure="invertible",
            examples=SQUARE_EXAMPLES,
        )
    )
_add(
    Prim(
        "slogdet",
        np.linalg.slogdet,
        LINALG,
        1,
        module="np.linalg",
        structure="invertible",
        examples=SQUARE_EXAMPLES,
    )
)
_add(
    Prim(
        "solve",
        np.linalg.solve,
        LINALG,
        2,
        module="np.linalg",
        structure="invertible",
        examples=(
            (((3, 3), (3,)), {}),
            (((3, 3), (3, 2)), {}),
            (((2, 3, 3), (2, 3, 1)), {}),
            (((2, 3, 3), (3, 2)), {}),
        ),
    )
)
_add(
    Prim(
        "cholesky",
        np.linalg.cholesky,
        LINALG,
        1,
        keyword_params=("upper",),
        module="np.linalg",
        structure="spd",
        examples=((((3, 3),), {}), (((2, 3, 3),), {}), (((3, 3),), {"upper": True})),
    )
)
_add(
    Prim(
        "norm",
        np.linalg.norm,
        LINALG,
        1,
        ("ord", "axis", "keepdims"),
        module="np.linalg",
        examples=(
            (((5,),), {}),
            (((3, 4),), {}),
            (((3, 4),), {"axis": 1}),
            (((3, 4),), {"ord": 1, "axis": 0, "keepdims": True}),
            (((5,),), {"ord": 3}),
            (((5,),), {"ord": float("inf")}),
            (((3, 4),), {"ord": "fro"}),
            (((2, 3, 4),), {"axis": (1, 2)}),
        ),
    )
)

# --- shape manipulation -------------------------------------------------------------------
_add(
    Prim(
        "transpose",
        np.transpose,
        SHAPE,
        1,
        ("axes",),
        examples=((((3, 4),), {}), (((2, 3, 4),), {"axes": (2, 0, 1)})),
    ),
    np.permute_dims,
)
_add(
    Prim("matrix_transpose", np.matrix_transpose, SHAPE, 1, examples=((((2, 3, 4),), {}),)),
    np.linalg.matrix_transpose,
)
_add(
    Prim(
        "reshape",
        np.reshape,
        SHAPE,
        1,
        ("shape", "order"),
        examples=(
            (((3, 4),), {"shape": (2, 6)}),
            (((3, 4),), {"shape": (-1,)}),
            (((3, 4),), {"shape": (4, 3), "order": "F"}),
        ),
    )
)
_add(
    Prim(
        "ravel",
        np.ravel,
        SHAPE,
        1,
        ("order",),
        examples=((((3, 4),), {}), (((3, 4),), {"order": "F"})),
    )
)
_add(Prim("copy", np.copy, SHAPE, 1, ("order",), examples=((((3, 4),), {}),)))
_add(
    Prim(
        "asarray",
        np.asarray,
        SHAPE,
        1,
        ("dtype", "order"),
        examples=((((3, 4),), {}), (((3,),), {"dtype": np.dtype("float64")})),
    )
)
_add(
    Prim(
        "astype",
        np.astype,
        SHAPE,
        1,
        ("dtype",),
        positional_params=("dtype",),
        keyword_params=("copy",),
        examples=((((3, 4),), {"dtype": np.dtype("float64")}),),
    )
)
_add(
    Prim(
        "broadcast_to",
        np.broadcast_to,
        SHAPE,
        1,
        ("shape",),
        examples=((((3, 1),), {"shape": (2, 3, 4)}),),
    )
)
_add(
    Prim(
        "expand_dims",
        np.expand_dims,
        SHAPE,
        1,
        ("axis",),
        examples=((((3, 4),), {"axis": 1}), (((3,),), {"axis": (0, 2)})),
    )
)
_add(
    Prim(
        "squeeze",
        np.squeeze,
        SHAPE,
        1,
        ("axis",),
        examples=((((3, 1, 4, 1),), {}), (((3, 1, 4, 1),), {"axis": 1})),
    )
)
_add(
    Prim(
        "swapaxes",
        np.swapaxes,
        SHAPE,
        1,
        ("axis1", "axis2"),
        examples=((((2, 3, 4),), {"axis1": 0, "axis2": 2}),),
    )
)
_add(
    Prim(
        "moveaxis",
        np.moveaxis,
        SHAPE,
        1,
        ("source", "destination"),
        examples=(
            (((2, 3, 4),), {"source": 0, "destination": -1}),
            (((2, 3, 4),), {"source": (0, 1), "destination": (2, 0)}),
        ),
    )
)
for _name in ["atleast_1d", "atleast_2d", "atleast_3d"]:
    _add(
        Prim(_name, getattr(np, _name), SHAPE, 1, examples=((((),), {}), (((3,),), {}))),
    )
_add(
    Prim(
        "concatenate",
        np.concatenate,
        SHAPE,
        0,
        ("axis", "out"),
        variadic=LIST,
        required_params=("axis",),  # axis=None joins the flattened arrays
        examples=(
            (((2, 3), (4, 3)), {}),
            (((2, 3), (2, 1), (2, 2)), {"axis": 1}),
            (((2, 3), (4,)), {"axis": None}),
        ),
    )
)
_add(
    Prim(
        "stack",
        np.stack,
        SHAPE,
        0,
        ("axis", "out"),
        variadic=LIST,
        examples=((((2, 3), (2, 3)), {}), (((2, 3), (2, 3), (2, 3)), {"axis": -1})),
    )
)
for _name in ["hstack", "vstack", "dstack", "column_stack"]:
    _add(
        Prim(
            _name,
            getattr(np, _name),
            SHAPE,
            0,
            variadic=LIST,
            examples=((((3,), (3,)), {}), (((2, 3), (2, 3), (2, 3)), {})),
        )
    )
_add(
    Prim(
        "append",
        np.append,
        SHAPE,
        2,
        ("axis",),
        examples=((((2, 3), (4,)), {}), (((2, 3), (1, 3)), {"axis": 0})),
    )
)
_add(
    Prim(
        "split",
        np.split,
        SHAPE,
        1,
        ("indices_or_sections", "axis"),
        returns_list=True,
        examples=(
            (((6, 2),), {"indices_or_sections": 3}),
            (((6, 2),), {"indices_or_sections": (1, 4)}),
            (((2, 6),), {"indices_or_sections": 2, "axis": 1}),
        ),
    )
)
_add(
    Prim(
        "array_split",
        np.array_split,
        SHAPE,
        1,
        ("indices_or_sections", "axis"),
        returns_list=True,
        examples=((((7, 2),), {"indices_or_sections": 3}),),
    )
)
for _name, _shape in [("hsplit", (2, 6)), ("vsplit", (6, 2))]:
    _add(
        Prim(
            _name,
            getattr(np, _name),
            SHAPE,
            1,
            ("indices_or_sections",),
            returns_list=True,
            examples=(((_shape,), {"indices_or_sections": 2}),),
        )
    )
_add(
    Prim(
        "tile",
        np.tile,
        SHAPE,
        1,
        ("reps",),
        examples=(
            (((2, 3),), {"reps": 2}),
            (((2, 3),), {"reps": (2, 1, 2)}),
            (((3,),), {"reps": (2, 2)}),
        ),
    )
)
_add(
    Prim(
        "repeat",
        np.repeat,
        SHAPE,
        1,
        ("repeats", "axis"),
        examples=(
            (((2, 3),), {"repeats": 2}),
            (((2, 3),), {"repeats": 3, "axis": 1}),
            (((2, 3),), {"repeats": (1, 3), "axis": 0}),
        ),
    )
)
_add(
    Prim(
        "flip",
        np.flip,
        SHAPE,
        1,
        ("axis",),
        examples=((((2, 3),), {}), (((2, 3, 4),), {"axis": (0, 2)})),
    )
)
for _name in ["fliplr", "flipud"]:
    _add(Prim(_name, getattr(np, _name), SHAPE, 1, examples=((((2, 3),), {}),)))
_add(
    Prim(
        "roll",
        np.roll,
        SHAPE,
        1,
        ("shift", "axis"),
        examples=(
            (((2, 3),), {"shift": 2}),
            (((2, 3),), {"shift": -1, "axis": 1}),
            (((2, 3, 4),), {"shift": (1, 2), "axis": (0, 2)}),
        ),
    )
)
_add(
    Prim(
        "rot90",
        np.rot90,
        SHAPE,
        1,
        ("k", "axes"),
        examples=((((2, 3),), {}), (((2, 3, 4),), {"k": 3, "axes": (2, 0)})),
    )
)
_add(
    Prim(
        "pad",
        np.pad,
        SHAPE,
        1,
        ("pad_width", "mode"),
        keyword_params=("constant_values",),
        examples=(
            (((2, 3),), {"pad_width": 1}),
            (((2, 3),), {"pad_width": ((1, 0), (2, 3)), "constant_values": 0.5}),
        ),
    )
)

# --- indexing-like functions --------------------------------------------------------------
_add(
    Prim(
        "take",
        np.take,
        INDEXING,
        2,
        ("axis", "out"),
        examples=(
            (((5,), np.array([0, 4, 2, 2])), {}),
            (((3, 4), np.array([[0, 3], [3, 3]])), {"axis": 1}),
            (((3, 4), np.array([5, 0, 11])), {}),
        ),
    )
)
_add(
    Prim(
        "take_along_axis",
        np.take_along_axis,
        INDEXING,
        2,
        ("axis",),
        required_params=("axis",),
        examples=(
            (((3, 4), np.array([[0, 3], [3, 3], [1, 2]])), {"axis": 1}),
            (((3, 4), np.array([[2, 0, 1, 1]])), {"axis": 0}),
            (((3, 4), np.array([5, -1, 0])), {"axis": None}),
        ),
    )
)
_add(
    Prim(
        "choose",
        np.choose,
        INDEXING,
        1,
        ("out",),
        variadic=LIST,
        examples=(((np.array([[0, 2, 1], [1, 1, 0]]), (2, 3), (2, 3), (3,)), {}),),
    )
)
_add(
    Prim(
        "diag",
        np.diag,
        INDEXING,
        1,
        ("k",),
        examples=((((3,),), {}), (((3,),), {"k": -1}), (((3, 4),), {}), (((3, 4),), {"k": 1})),
    )
)
_add(
    Prim(
        "diagonal",
        np.diagonal,
        INDEXING,
        1,
        ("offset", "axis1", "axis2"),
        examples=(
            (((3, 4),), {}),
            (((3, 4),), {"offset": -1}),
            (((2, 3, 4),), {"offset": 1, "axis1": 2, "axis2": 0}),
        ),
    )
)
for _name in ["triu", "tril"]:
    _add(
        Prim(
            _name,
            getattr(np, _name),
            INDEXING,
            1,
            ("k",),
            examples=((((3, 4),), {}), (((2, 3, 3),), {"k": -1})),
        )
    )

# --- constructors -------------------------------------------------------------------------
# Constant-valued ones pass no gradient; those with no array input are evaluated when the
# function is compiled and never reach the IR. ``full`` and ``full_like`` are
# differentiable in the fill value, ``linspace`` in its end points.
_LIKE_PARAMS = ("dtype", "order", "subok", "shape")
for _name in ["zeros_like", "ones_like", "empty_like"]:
    _add(Prim(_name, getattr(np, _name), CONSTRUCTOR, 1, _LIKE_PARAMS, is_differentiable=False))
for _name, _params in [
    ("zeros", ("shape", "dtype", "order")),
    ("ones", ("shape", "dtype", "order")),
    ("eye", ("N", "M", "k", "dtype", "order")),
    ("identity", ("n", "dtype")),
    ("arange", ("start", "stop", "step", "dtype")),
]:
    _add(Prim(_name, getattr(np, _name), CONSTRUCTOR, 0, _params, is_differentiable=False))
_add(
    Prim(
        "full_like",
        np.full_like,
        CONSTRUCTOR,
        2,
        _LIKE_PARAMS,
        examples=((((2, 3), ()), {}), (((2, 3), (3,)), {})),
    )
)
_add(
    Prim(
        "full",
        np.full,
        CONSTRUCTOR,
        1,
        ("dtype", "order"),
        leading_params=("shape",),
        examples=(
            (((),), {"shape": (2, 3)}),
            (((3,),), {"shape": (2, 3)}),
        ),
    )
)
_add(
    Prim(
        "linspace",
        np.linspace,
        CONSTRUCTOR,
        2,
        ("num", "endpoint"),
        keyword_params=("axis",),
        examples=(
            (((), ()), {"num": 5}),
            (((), ()), {"num": 4, "endpoint": False}),
            (((2,), (3, 2)), {"num": 3, "axis": 1}),
        ),
    )
)
