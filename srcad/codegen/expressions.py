"""Spelling IR equations as Python expressions (``ast`` nodes).

Operators become infix expressions (``a * b``, ``W @ x``, ``-g``), reductions and reshapes
of arrays the array's own methods (``t.sum(axis=1, keepdims=True)``, ``g.reshape((10,))``,
which skip NumPy's Python-level dispatch), other primitives NumPy calls with their static
params as keywords (``np.tanh(z)``), and a 2-d transpose the familiar ``x.T``.
``ast.unparse`` adds exactly the parentheses needed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import numpy as np

from srcad.ir import Atom, Const, Eqn, Var
from srcad.ir.index import Index
from srcad.ir.prims import PRIMS, Prim

BINARY_AST = {
    "+": ast.Add,
    "-": ast.Sub,
    "*": ast.Mult,
    "/": ast.Div,
    "**": ast.Pow,
    "@": ast.MatMult,
    "//": ast.FloorDiv,
    "%": ast.Mod,
}
COMPARE_AST = {
    ">": ast.Gt,
    ">=": ast.GtE,
    "<": ast.Lt,
    "<=": ast.LtE,
    "==": ast.Eq,
    "!=": ast.NotEq,
}


def eqn_expression(eqn: Eqn, operand: Callable[[Atom], ast.expr]) -> ast.expr:
    """The right-hand side of ``eqn``; ``operand`` spells each input atom."""
    prim = PRIMS[eqn.prim]
    args = [operand(atom) for atom in eqn.inputs]
    if prim.operator in FLOAT_LITERAL_OPERATORS and eqn.outputs[0].aval.is_float:
        args = [_float_literal(atom) or arg for atom, arg in zip(eqn.inputs, args, strict=True)]
    if prim.operator == "-" and len(args) == 1:
        return ast.UnaryOp(ast.USub(), args[0])
    if eqn.prim in SCALAR_LOGIC and eqn.outputs[0].aval.shape == ():
        return _scalar_logic(eqn.prim, args)  # not / and / or read better on single values
    if prim.operator in BINARY_AST:
        return ast.BinOp(args[0], BINARY_AST[prim.operator](), args[1])
    if prim.operator in COMPARE_AST:
        return ast.Compare(args[0], [COMPARE_AST[prim.operator]()], [args[1]])
    if eqn.prim == "getitem":
        return ast.Subscript(args[0], index_expression(static_index(eqn), args[1:]))
    if eqn.prim == "transpose" and not eqn.params and eqn.inputs[0].aval.ndim == 2:
        return ast.Attribute(args[0], "T", ast.Load())
    if eqn.prim == "format_string":
        return _f_string(eqn, args)
    if eqn.prim == "absolute" and _is_python_int(eqn.inputs[0]):
        return ast.Call(ast.Name("abs", ast.Load()), args, [])  # a Python int stays one
    if prim.kind == "custom":
        if prim.arguments_tree is not None:  # its leaves, put back into dicts, lists, tuples
            tree, settings = prim.arguments_tree
            fixed, given = dict(settings), iter(args)
            leaves = [
                _setting(prim, fixed[k]) if k in fixed else next(given)
                for k in range(tree.n_leaves)
            ]
            rebuilt = _tree_expression(tree, iter(leaves))
            args = list(rebuilt.elts) if isinstance(rebuilt, ast.Tuple) else [rebuilt]
        call = ast.Call(ast.Name(prim.called_as or prim.fn.__name__, ast.Load()), args, [])
        if prim.output_tree is not None:  # a dict (NamedTuple, nested tuples): its leaves
            taken = ast.Call(ast.Name("leaves_of", ast.Load()), [call], [])
            return ast.Subscript(taken, ast.Constant(0)) if len(eqn.outputs) == 1 else taken
        return call
    if eqn.prim in METHODS and _is_array(eqn.inputs[0]) and len(args) == 1:
        return _method_call(eqn, args[0])
    # the call as NumPy takes it: np.einsum("ij,jk", a, b), np.stack([a, b], axis=0)
    positional, keywords = prim.arrange(args, {k: literal(v) for k, v in eqn.params})
    positional = [ast.List(a, ast.Load()) if isinstance(a, list) else a for a in positional]
    function = _spelled(prim.spelling)
    return ast.Call(function, positional, [ast.keyword(k, v) for k, v in keywords.items()])


def _is_python_int(atom: Atom) -> bool:
    """A value that is a Python int when the code runs (np.abs would make it np.int64, whose
    power of -1 raises and whose products wrap)."""
    return isinstance(atom, Var) and atom.aval.is_weak and atom.aval.dtype.startswith("int")


def setting_name(prim: Prim, value: object) -> str:
    """The name generated code gives a function passed as a setting to a function with a
    rule of the user's: ``solve_step`` for ``step`` passed to ``solve``."""
    name = getattr(value, "__name__", "setting")
    return f"{prim.called_as}_{name if name.isidentifier() else 'setting'}"


def _setting(prim: Prim, value: object) -> ast.expr:
    if isinstance(value, (str, bytes, type(None))):
        return ast.Constant(value)
    return ast.Name(setting_name(prim, value), ast.Load())


def _tree_expression(tree, leaves) -> ast.expr:
    """The expression of a tree of dicts, lists and tuples (a ``srcad.pytree.TreeDef``) with
    the expressions ``leaves`` in order: ``(x, {"a": a, "b": b})``."""
    if tree.kind == "leaf":
        return next(leaves)
    items = [_tree_expression(child, leaves) for child in tree.children]
    if tree.kind == "dict":
        return ast.Dict([ast.Constant(k) for k in tree.keys], items)
    if tree.kind == "list":
        return ast.List(items, ast.Load())
    return ast.Tuple(items, ast.Load())


def _spelled(spelling: str) -> ast.expr:
    """The expression of a function's spelling, ``np.linalg.norm``: built from its dotted
    names without parsing where it is one (a new tree each time: callers may change it)."""
    names = spelling.split(".")
    if not all(name.isidentifier() for name in names):
        return ast.parse(spelling, mode="eval").body
    node: ast.expr = ast.Name(names[0], ast.Load())
    for name in names[1:]:
        node = ast.Attribute(node, name, ast.Load())
    return node


SCALAR_LOGIC = {"logical_not", "logical_and", "logical_or"}

# ``1 - h**2`` on a float array reads as ``1.0 - h**2``: NumPy turns a float literal into
# its scalar faster than an int (0.3 µs an operation). Exponents stay ints (``h**2``).
FLOAT_LITERAL_OPERATORS = {"+", "-", "*", "/"}


def _float_literal(atom: Atom) -> ast.expr | None:
    """An int constant of a float operation, spelled as the float it equals exactly (a
    Python int only: NumPy's ints promote, ``x32 * np.int64(2)`` is float64)."""
    value = atom.value if isinstance(atom, Const) else None
    if type(value) is not int or abs(value) > 2**53:
        return None
    return literal(float(value))


# NumPy functions spelled as a method of their array operand: name -> the params the method
# takes by position only (``a.reshape(shape, order=...)``); the others go by keyword.
METHODS = {
    "sum": (),
    "mean": (),
    "prod": (),
    "max": (),
    "min": (),
    "std": (),
    "var": (),
    "cumsum": (),
    "cumprod": (),
    "copy": (),
    "ravel": (),
    "squeeze": (),
    "astype": ("dtype",),
    "reshape": ("shape",),
    "transpose": ("axes",),
    "swapaxes": ("axis1", "axis2"),
}


def _is_array(atom: object) -> bool:
    """Whether ``atom`` is an ndarray when the code runs: a computed value with dimensions
    (a 0-d value may be a Python float, which has no such methods)."""
    return isinstance(atom, Var) and atom.aval.ndim >= 1


def _method_call(eqn: Eqn, array: ast.expr) -> ast.Call:
    params = eqn.param_dict
    positional = [literal(params.pop(name)) for name in METHODS[eqn.prim] if name in params]
    keywords = [ast.keyword(key, literal(value)) for key, value in params.items()]
    return ast.Call(ast.Attribute(array, eqn.prim, ast.Load()), positional, keywords)


def _f_string(eqn: Eqn, args: list[ast.expr]) -> ast.JoinedStr:
    """``f"loss {loss:.3f}"``: text pieces, and ``(k, conversion, spec)`` for input k."""
    pieces = eqn.param_dict["pieces"]
    if not isinstance(pieces, tuple):
        raise TypeError("an f-string without its pieces")
    values: list[ast.expr] = []
    for piece in pieces:
        if isinstance(piece, str):
            values.append(ast.Constant(piece))
            continue
        k, conversion, spec = piece
        format_spec = ast.JoinedStr([ast.Constant(spec)]) if spec else None
        value = args[k]
        aval = eqn.inputs[k].aval
        if conversion in ("r", "a") and aval.is_weak and aval.dtype == "float64":
            # a Python float in the user's code, which NumPy may compute as np.float64:
            # repr shows it as Python does (0.5, not np.float64(0.5))
            value = ast.Call(ast.Name("float", ast.Load()), [value], [])
        values.append(ast.FormattedValue(value, ord(conversion) if conversion else -1, format_spec))
    return ast.JoinedStr(values)


def _scalar_logic(prim: str, args: list[ast.expr]) -> ast.expr:
    if prim == "logical_not":
        return ast.UnaryOp(ast.Not(), args[0])
    return ast.BoolOp(ast.And() if prim == "logical_and" else ast.Or(), args)


def static_index(eqn: Eqn) -> Index:
    """The static part of the index of a subscript equation (see ``srcad.ir.index``)."""
    index = eqn.param_dict["index"]
    if not isinstance(index, tuple):
        raise TypeError(f"a {eqn.prim} equation without a static index")
    return index


def index_expression(static: Index, arrays: list[ast.expr]) -> ast.expr:
    """The subscript ``1:3, i`` of an encoded index (see ``srcad.ir.index``)."""
    items: list[ast.expr] = []
    for item in static:
        if isinstance(item, tuple) and item[0] == "slice":
            bounds = [None if b is None else literal(b) for b in item[1:]]
            items.append(ast.Slice(*bounds))
        elif isinstance(item, tuple):
            items.append(arrays[item[1]])
        elif item == "...":
            items.append(ast.Constant(Ellipsis))
        else:
            items.append(literal(item))
    return items[0] if len(items) == 1 else ast.Tuple(items, ast.Load())


def index_argument(index: ast.expr) -> ast.expr:
    """A subscript as a value to pass to a function (``np.add.at(a, (slice(None), i), g)``):
    ``:`` is only valid inside brackets."""
    if isinstance(index, ast.Slice):
        given = [index.lower, index.upper, index.step]
        bounds = [ast.Constant(None) if b is None else b for b in given]
        if _is_none(bounds[2]):  # slice(a, b): no step
            bounds.pop()
            if _is_none(bounds[0]) and _is_none(bounds[1]):
                bounds.pop()  # slice(None); never slice(a), which means slice(None, a)
        return ast.Call(ast.Name("slice", ast.Load()), bounds, [])
    if isinstance(index, ast.Tuple):
        return ast.Tuple([index_argument(item) for item in index.elts], ast.Load())
    return index


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


# NumPy scalar types that the generated code spells as they are: unlike Python numbers,
# they keep their dtype next to arrays (np.float32(2.0) * x64 is float64, x32 * np.float64(2.0)
# is float64 too)
KEPT_SCALAR_TYPES = frozenset(
    "float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64".split()
)


def strong_scalar(value: np.number) -> ast.expr:
    """``np.float64(1.5)``: a NumPy scalar as a call of its type on its value."""
    function = ast.Attribute(ast.Name("np", ast.Load()), type(value).__name__, ast.Load())
    return ast.Call(function, [literal(value.item())], [])


def literal(value: object) -> ast.expr:
    """A Python literal as an expression; negative numbers as unary minus for precedence."""
    if isinstance(value, bool) or value is None:
        return ast.Constant(value)
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return ast.Attribute(ast.Name("np", ast.Load()), np.dtype(value).name, ast.Load())
    if isinstance(value, (int, float)):
        if value < 0:
            return ast.UnaryOp(ast.USub(), ast.Constant(-value))
        return ast.Constant(value)
    if isinstance(value, tuple):
        return ast.Tuple([literal(v) for v in value], ast.Load())
    if isinstance(value, list):
        return ast.List([literal(v) for v in value], ast.Load())
    return ast.parse(repr(value), mode="eval").body


def is_name(node: ast.AST, name: str) -> bool:
    """Whether ``node`` is the name ``name``."""
    return isinstance(node, ast.Name) and node.id == name


def reads_name(node: ast.AST, name: str) -> bool:
    """Whether the expression ``node`` reads the name ``name`` anywhere in it."""
    return any(is_name(n, name) for n in ast.walk(node))
