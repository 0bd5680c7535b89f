"""Lowering the displays that hold no data to differentiate: f-strings and sets.

An f-string whose values are all known at compile time (text, ints, shapes: fixed and
checked on every call) is formatted now; one that formats values computed from data is a
``format_string`` equation, a string the generated code formats where the user's code does
(``print(f"loss {loss:.3f}")`` stays an f-string). Strings are never differentiated.

Before:  print(f"x {x.shape}: {np.sum(x):.2f}")
After:   s = sum(x); t = format_string(s, pieces=("x (3,): ", (0, "", ".2f"))); print(t)

Old-style and ``str.format`` formatting of values from data become the same equation when
they translate exactly to format specs: ``"loss %.3f" % loss`` and ``"loss {:.3f}".format(loss)``
are ``f"loss {loss:.3f}"``. Conversions with another meaning for floats (``%d`` truncates) and
named or nested fields are refused with a clear error.

A set display of compile-time values (``len({1, 2})``) is a Python set; a set of values
computed from data is refused (which of them are equal depends on the data).
"""

from __future__ import annotations

import ast
import re
import string
import types
from typing import TYPE_CHECKING

from srcad.errors import UnsupportedSyntax
from srcad.ir import AVal, Const, Eqn
from srcad.ir.builder import StaticValueNeeded, Tracer
from srcad.lower.dispatch import STRING_FORMATS, evaluate, lowers_expression
from srcad.lower.expressions import run_static
from srcad.lower.fixed_floats import fixed_when_needed
from srcad.lower.operator_methods import own_methods_among
from srcad.lower.world import Outside
from srcad.pytree import flatten

if TYPE_CHECKING:
    from srcad.lower.context import Lowering, Node

STRING = AVal((), "object")
CONVERSIONS = {-1: "", ord("s"): "s", ord("r"): "r", ord("a"): "a"}
# A piece of an f-string: literal text, or (value, conversion, format spec).
Piece = str | tuple[object, str, str]


@lowers_expression(ast.JoinedStr)
def evaluate_f_string(lowering: Lowering, node: ast.JoinedStr) -> object:
    pieces = [_piece(lowering, part, node) for part in node.values]
    if all(isinstance(piece, str) for piece in pieces):
        return "".join(str(piece) for piece in pieces)
    return format_string(lowering, pieces)


def _piece(lowering: Lowering, part: ast.expr, node: ast.JoinedStr) -> Piece:
    """Text as it is, a value known now formatted now, a value from data left to format."""
    if isinstance(part, ast.Constant):
        return str(part.value)
    if not isinstance(part, ast.FormattedValue):
        raise lowering.located(UnsupportedSyntax, f"'{ast.unparse(node)}' is not supported", node)
    value = evaluate(lowering, part.value)
    conversion = CONVERSIONS[part.conversion]
    spec = "" if part.format_spec is None else evaluate(lowering, part.format_spec)
    if not isinstance(spec, str):
        raise lowering.located(
            UnsupportedSyntax,
            f"the format of '{ast.unparse(part)}' depends on values computed from data; "
            "give it a format known when compiling (ints, strings)",
            node,
        )
    if isinstance(value, Outside):  # an object: formatted as it is when the code runs
        return (lowering.world.unwrap(value), conversion, spec)
    if isinstance(value, Tracer):
        return (value, conversion, spec)
    if any(isinstance(leaf, Tracer) for leaf in flatten(value)[0]):
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(part.value)}' holds values computed from data; format them one "
            "by one (f'{a} {b}') or stack them into an array first",
            node,
        )
    return _formatted_now(lowering, value, conversion, spec, node)


def _formatted_now(
    lowering: Lowering, value: object, conversion: str, spec: str, node: Node
) -> str:
    """A value known when compiling, formatted then; not an object whose class formats it
    with a method of the user's (it would read what it reads once)."""
    own = own_methods_among(value, ("__format__", "__str__", "__repr__"))
    if own:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' formats an object of {type(value).__name__}, whose class "
            f"formats it with its own {own[0]}: that would run as Python when compiling and "
            "read its values once; format the numbers it holds (f'{obj.value:.3f}')",
            node,
        )
    return str(run_static(lowering, lambda: _format_now(value, conversion, spec), node))


def _format_now(value: object, conversion: str, spec: str) -> str:
    """``f"{value!conversion:spec}"`` as Python formats it."""
    if conversion == "s":
        value = str(value)
    elif conversion == "r":
        value = repr(value)
    elif conversion == "a":
        value = ascii(value)
    return format(value, spec)


def format_string(lowering: Lowering, pieces: list[Piece]) -> Tracer:
    """The equation formatting ``pieces`` in the generated code; adjacent texts merged."""
    inputs: list = []
    spelled: list[object] = []  # text, or (input k, conversion, spec)
    for piece in pieces:
        if isinstance(piece, str):
            if spelled and isinstance(spelled[-1], str):
                spelled[-1] += piece
            elif piece:
                spelled.append(piece)
            continue
        value, conversion, spec = piece
        inputs.append(value.atom if isinstance(value, Tracer) else Const(value))
        spelled.append((len(inputs) - 1, conversion, spec))
    builder = lowering.builder
    out = builder.new_var("", STRING)
    params = (("pieces", tuple(spelled)),)
    builder.emit(Eqn("format_string", tuple(inputs), (out,), params, builder.loc, builder.role))
    return builder.tracer(out)


# %[(key)][flags][width][.precision]type, as str % values reads it (no *)
PERCENT = re.compile(r"%(?:\(([^)]*)\))?([-+ #0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])")
PERCENT_TYPES = set("eEfFgGsr")
PERCENT_FLAGS = {"-": "<", "+": "+", " ": " ", "#": "#", "0": "0"}


def percent_formatted(lowering: Lowering, template: str, values: object, node: Node) -> object:
    """``template % values`` where the values hold data: an f-string's equation."""
    named = values if isinstance(values, dict) else None  # "%(loss).3f" % {"loss": loss}
    items = [] if named is not None else list(values) if isinstance(values, tuple) else [values]
    pieces: list[Piece] = []
    position = 0
    for match in PERCENT.finditer(template):
        pieces.append(template[position : match.start()])
        position = match.end()
        key, flags, width, precision, kind = match.groups()
        if kind == "%":
            pieces.append("%")
            continue
        if (key is None) != (named is None) or (named is not None and key not in named):
            raise _unformattable(
                lowering, "%(name) of a dict, or a count of values that does not match", node
            )
        candidates = [named[key]] if named is not None and key is not None else items
        if kind in INTEGER_TYPES and candidates and _is_integer(candidates[0]):
            kind = "d"  # %d, %i, %u of an int (a loop's counter): the same as format's d
        elif kind not in PERCENT_TYPES or not candidates:
            raise _unformattable(lowering, f"%{kind}", node)
        spec = "".join(PERCENT_FLAGS[f] for f in flags) + width
        spec += f".{precision}" if precision else ""
        value = candidates[0] if named is not None else items.pop(0)
        if kind in "sr":  # %10s pads on the left, format() pads text on the right
            spec = ("<" if "-" in flags else ">") + width if width else ""
            pieces.append(_value_piece(lowering, value, kind, spec, node))
        else:
            pieces.append(_value_piece(lowering, value, "", spec + kind, node))
    if items:
        raise _unformattable(lowering, "a count of values that does not match", node)
    pieces.append(template[position:])
    return _formatted(lowering, pieces)


STRING_FORMATS[ast.Mod] = percent_formatted
INTEGER_TYPES = "diu"  # %d of a float truncates, format's d refuses one: ints only


def _is_integer(value: object) -> bool:
    """An int (a loop's counter, a count), not a float that %d would truncate."""
    if isinstance(value, Tracer):
        return value.aval.dtype.startswith(("int", "uint"))
    return isinstance(value, int) and not isinstance(value, bool)


def concatenated(lowering: Lowering, left: object, right: object, node: Node) -> Tracer:
    """``"loss " + str(loss)``: one string the generated code formats, ``f"loss {t}"``."""
    pieces: list[Piece] = [p if isinstance(p, str) else (p, "", "") for p in (left, right)]
    return format_string(lowering, pieces)


STRING_FORMATS[ast.Add] = concatenated


def text_of(lowering: Lowering, function: object, args: list) -> object | None:
    """``str(v)``, ``repr(v)``, ``format(v, spec)`` of a value from data: the text the
    generated code formats, as ``f"{v}"``, ``f"{v!r}"``, ``f"{v:spec}"``; None for others."""
    if not args or not isinstance(args[0], Tracer):
        return None
    if function is str and len(args) == 1:
        return format_string(lowering, [(args[0], "", "")])
    if function is repr and len(args) == 1:
        return format_string(lowering, [(args[0], "r", "")])
    if function is format and len(args) in (1, 2) and all(isinstance(a, str) for a in args[1:]):
        return format_string(lowering, [(args[0], "", args[1] if len(args) == 2 else "")])
    return None


def method_formatted(
    lowering: Lowering, template: str, args: list, kwargs: dict, node: Node
) -> object:
    """``template.format(*args, **kwargs)`` where the values hold data."""
    pieces: list[Piece] = []
    automatic, numbering = 0, set()
    for text, field, spec, conversion in string.Formatter().parse(template):
        pieces.append(text)
        if field is None:
            continue
        if field == "":
            field, automatic = str(automatic), automatic + 1
            numbering.add("automatic")
        elif field.isdigit():
            numbering.add("manual")
        if len(numbering) > 1:  # Python's ValueError too
            raise _unformattable(lowering, "mixing {} and {0}", node)
        if field.isdigit() and int(field) < len(args):
            value = args[int(field)]
        elif field.isidentifier() and field in kwargs:
            value = kwargs[field]
        else:
            raise _unformattable(lowering, "{" + field + "}", node)
        if spec and "{" in spec:
            raise _unformattable(lowering, "a nested format spec", node)
        pieces.append(_value_piece(lowering, value, conversion or "", spec or "", node))
    return _formatted(lowering, pieces)


def _value_piece(
    lowering: Lowering, value: object, conversion: str, spec: str, node: Node
) -> Piece:
    if isinstance(value, Tracer):
        return (value, conversion, spec)
    if isinstance(value, Outside):
        return (lowering.world.unwrap(value), conversion, spec)
    return _formatted_now(lowering, value, conversion, spec, node)


def _formatted(lowering: Lowering, pieces: list[Piece]) -> object:
    if all(isinstance(piece, str) for piece in pieces):
        return "".join(str(piece) for piece in pieces)
    return format_string(lowering, pieces)


def _unformattable(lowering: Lowering, what: str, node: Node) -> UnsupportedSyntax:
    return lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}': {what} has no exact f-string spelling for values computed "
        "from data; write an f-string (f'{loss:.3f}', f'{int(n)}')",
        node,
    )


@lowers_expression(ast.Set)
def evaluate_set(lowering: Lowering, node: ast.Set) -> set[object]:
    elements = [lowering.world.unwrap(evaluate(lowering, element)) for element in node.elts]
    traced = tuple(leaf for leaf in flatten(elements)[0] if isinstance(leaf, Tracer))
    if traced and fixed_when_needed(lowering, traced):  # {K, 1.0} of a global K: K fixed
        raise StaticValueNeeded(
            f"the set '{ast.unparse(node)}' needs its values when compiling",
            lowering.builder.loc,
            traced,
        )
    if traced:
        raise lowering.located(
            UnsupportedSyntax,
            f"the set '{ast.unparse(node)}' holds values computed from data, and which of "
            "them are equal depends on the data; use a tuple or list, or np.unique",
            node,
        )
    constant = _frozen_constant(lowering, elements)
    if constant is not None:  # Python's own: {"alpha", "beta", "gamma"} of constants
        return set(constant)
    return run_static(lowering, lambda: set(elements), node)  # type: ignore[return-value]


def _frozen_constant(lowering: Lowering, elements: list) -> frozenset | None:
    """The frozenset constant of the function's code that Python makes a set literal of
    constants from (and copies, keeping its order): a set of strings iterates in an order
    that depends on the process's hash salt and on how that constant was built (compiling
    the source, or loading a .pyc), which ``set(elements)`` need not reproduce."""
    code = getattr(lowering.parsed.fn, "__code__", None)
    try:
        wanted = frozenset(elements)
    except TypeError:
        return None
    for constant in _constants(code) if code is not None else ():
        if isinstance(constant, frozenset) and constant == wanted:
            return constant
    return None


def _constants(code: types.CodeType) -> list:
    """The constants of ``code`` and of the code nested in it (lambdas, comprehensions)."""
    found = list(code.co_consts)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            found += _constants(constant)
    return found
