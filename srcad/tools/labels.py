"""What a node of a picture says: an operation as the user would write it, kept short.

Used by ``srcad.tools.dot`` (the picture) and ``srcad.tools.explain`` (the table), on top of
the public inspection API. A label names the operation (``*``, ``tanh``, ``sum axis=0``,
``[t] +=``), never srcad's machinery: the tape a loop keeps for its backward sweep is not an
operation of the user's (``TAPE_OPERATIONS``: its pushes are hidden, its pops become the
saved values they restore), and an array filled in place is spelled as the statement that
fills it. Every label line stays short: parameters are clipped, arrays are summarized by
their shape and a few entries (``short_value``), so that no picture becomes a strip of
numbers.
"""

from __future__ import annotations

import numpy as np

from srcad.api.inspect import is_statement, operator_of
from srcad.ir import AVal, Const, Eqn, Graph

LABEL_WIDTH = 24  # characters of one label line, at most
TAPE_DTYPE = "object"  # a loop's tape: a Python list, not a value of the user's
# The tape operations, as a picture shows them: None is not drawn at all.
TAPE_OPERATIONS: dict[str, str | None] = {
    "tape_new": None,
    "tape_push": None,
    "tape_pop": None,  # its outputs are drawn: the saved values it restores
    "tape_nonempty": "steps left?",
    "tape_stack": "stack",
}
# Arrays filled in place, as the statement that fills them.
STATEMENT_SPELLING = {"setitem": "=", "index_add": "+=", "add_at": "+="}


def is_tape(aval: AVal) -> bool:
    """Whether a value is a loop's tape (never drawn)."""
    return aval.dtype == TAPE_DTYPE


def const_text(const: Const) -> str:
    """A constant as written in a label: its name, a short number, or a short summary."""
    if const.name:
        return clip(const.name)
    value = const.value
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) or getattr(value, "ndim", 1) == 0:
        return f"{float(value):g}"  # type: ignore[arg-type]
    return short_value(value) if isinstance(value, np.ndarray) else clip(type(value).__name__)


def short_value(value: object, precision: int = 2) -> str:
    """A value in a few characters: ``0.37``, ``[0.10, -0.20]``, or for a larger array its
    shape and as many of its first two entries as fit: ``(4, 3) [0.11, -0.12, …]``."""
    array = np.asarray(value)
    if array.ndim == 0:
        return _number(array.item(), precision)
    entries = [_number(x, precision) for x in array.ravel()[:2].tolist()]
    if array.size <= 2 and array.ndim == 1 and len(", ".join(entries)) + 2 <= LABEL_WIDTH:
        return "[" + ", ".join(entries) + "]"
    shape = str(tuple(array.shape))
    for count in (2, 1):
        text = f"{shape} [" + ", ".join(entries[:count]) + ", …]"
        if len(text) <= LABEL_WIDTH:
            return text
    return clip(shape)


def _number(number: object, precision: int) -> str:
    if not isinstance(number, (float, complex)):
        return str(number)
    if number == 0 or 1e-3 <= abs(number) < 1e5:
        return f"{number:.{precision}f}"
    return f"{number:.{precision}e}"


def format_index(index: tuple, array_names: list[str]) -> str:
    """The static index encoding of ``getitem``/``setitem`` as Python subscript text."""
    parts = []
    for item in index:
        if isinstance(item, tuple) and item and item[0] == "slice":
            start, stop, step = (("" if v is None else str(v)) for v in item[1:])
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif isinstance(item, tuple) and item and item[0] == "array":
            parts.append(array_names[item[1]] if item[1] < len(array_names) else "?")
        elif item == "...":
            parts.append("...")
        else:
            parts.append("None" if item is None else str(item))
    return ", ".join(parts)


def op_symbol(eqn: Eqn, index_names: list[str] | None = None) -> str:
    """The operation as drawn: ``+``, ``exp``, ``sum axis=0``, ``[1:3]``, ``[t] +=``.

    ``index_names`` name the arrays an index reads (``·`` where not given)."""
    params = eqn.param_dict
    if eqn.prim in TAPE_OPERATIONS:
        return TAPE_OPERATIONS[eqn.prim] or ""
    if eqn.prim == "getitem" or is_statement(eqn):
        first = 1 if eqn.prim == "getitem" or eqn.prim == "add_at" else 2
        names = index_names or ["·"] * len(eqn.inputs)
        text = "[" + format_index(params.get("index", ()), names[first:]) + "]"
        spelled = STATEMENT_SPELLING.get(eqn.prim)
        return clip(text if spelled is None else f"{text} {spelled}")
    if eqn.prim == "negative":
        return "neg"  # not "-", which is subtraction
    operator = operator_of(eqn)
    if operator:
        return operator
    shown = [_param_text(k, v) for k, v in eqn.params if not _holds_graphs(v)]
    return clip(" ".join([eqn.prim, *(s for s in shown if s)]))


def _param_text(key: str, value: object) -> str:
    """A static parameter in a label: ``axis=0``, ``keepdims``; nothing for a dtype (the
    values' own) or an option left off."""
    if value is None or value is False or isinstance(value, np.dtype) or key == "dtype":
        return ""
    if value is True:
        return key
    if key == "shape":
        return repr(value)
    text = value if isinstance(value, str) else repr(value)
    return f"{key}={text}"


def _holds_graphs(value: object) -> bool:
    return isinstance(value, Graph) or (
        isinstance(value, tuple) and any(isinstance(v, Graph) for v in value)
    )


def clip(text: str, width: int = LABEL_WIDTH) -> str:
    """``text`` cut to ``width`` characters, ending in ``…`` when cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


__all__ = [
    "LABEL_WIDTH",
    "clip",
    "const_text",
    "format_index",
    "is_tape",
    "op_symbol",
    "short_value",
]
