"""The public function of a generated module: it checks the layout compiled for.

A generated function computes the right thing only for arguments laid out as the ones it was
compiled for (``srcad.arguments.ArgSignature``: containers, the type, dtype and shape of each
array or float, the value of each constant): loop bounds, shapes and constants are fixed in
its code. srcad's guard checks the layout before srcad calls it, so the module keeps that
function as ``<name>_unchecked`` (srcad calls it directly) and puts in front of it the public
``<name>``, for anyone who imports the file: plain conditions on the layout, then a
``ValueError`` that says what it was compiled for, what it received and what to do:

    def rnn_grad(W, h, xs, dout=1.0):
        \"\"\"Value of rnn(W, h, xs) and its gradient ... others raise ValueError.\"\"\"
        if not (
            (isinstance(W, np.ndarray) and W.shape == (3, 3) and W.dtype == np.float64)
            and ...
        ):
            received = ", ".join(...)  # "W float64[3, 3], h float64[3], xs float64[7, 3]"
            raise ValueError(
                "rnn_grad was compiled for W float64[3, 3], h float64[3], xs float64[5, 3] and "
                f"cannot take {received}: differentiate rnn with srcad.grad or ..."
            )
        return rnn_grad_unchecked(W, h, xs, dout)
"""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

import numpy as np

from srcad.arguments import IDENTITY_CONSTANTS, GeneratorArgument
from srcad.codegen.formatting import formatted
from srcad.codegen.scalar_math import fallback_call
from srcad.ir import AVal
from srcad.pytree import fields_of, has_open_attributes

if TYPE_CHECKING:
    from srcad.arguments import ArgSignature

LINE_LENGTH = 100
MESSAGE_WIDTH = 84  # a piece of the message, quoted and indented, fits in 100 columns


# the longest checking function black lays out (its time grows faster than the lines: a tuple
# nested 100 deep took 6.6 s, a dict of 2,000 leaves 7.9 s); longer ones keep long lines
BLACK_AT_MOST = 60


def checked_function(
    name: str,
    parameters: list[str],
    signature: ArgSignature,
    docstring: list[str],
    has_math: bool = False,
) -> str:
    """The source of ``def name(parameters)``, which checks that the arguments are laid out
    as ``signature`` says, then returns what ``<name>_unchecked`` returns.

    Written as black writes it: black would take as long over the conditions as over all the
    rest of the module, so it is asked only when a line would not fit (or a string has an
    escape)."""
    arguments = ", ".join(p.split("=")[0] for p in parameters)
    lines = [
        f"def {name}({', '.join(parameters)}):",
        *docstring,
        *_test_lines(signature),
        *_raise_lines(name, signature),
    ]
    if has_math:  # scalar code: the math body first (srcad.codegen.scalar_math)
        names = [p.split("=")[0] for p in parameters]
        trees = signature.trees()
        floats = {n for n in names if n not in trees or _is_float_leaf(trees[n])}
        lines += fallback_call(name, names, floats)
    else:
        lines.append(f"    return {name}_unchecked({arguments})")
    source = "\n".join(lines) + "\n"
    needs_black = any(len(line) > LINE_LENGTH or "\\" in line for line in lines)
    if needs_black and len(lines) <= BLACK_AT_MOST:
        return formatted(source)
    return source  # a check of a pytree of hundreds of leaves: black would take seconds


def function_constants(signature: ArgSignature) -> dict[str, object]:
    """The functions the arguments held (``activation=np.tanh``), by the names the checks
    compare them with (``activation is expected_activation``): bound at load time."""
    found: dict[str, object] = {}
    for param, tree in signature.trees().items():
        _collect_functions(param, tree, found)
    return found


def _collect_functions(path: str, tree: object, found: dict[str, object]) -> None:
    if isinstance(tree, IDENTITY_CONSTANTS):
        found[_expected_name(path)] = tree
    elif fields_of(tree) is not None:
        for field in fields_of(tree) or ():
            _collect_functions(f"{path}.{field}", getattr(tree, field), found)
    elif isinstance(tree, dict):
        for key, item in tree.items():
            _collect_functions(f"{path}[{_literal(key)}]", item, found)
    elif isinstance(tree, (tuple, list)):
        for k, item in enumerate(tree):
            _collect_functions(f"{path}[{k}]", item, found)


def _expected_name(path: str) -> str:
    """``expected_cfg_act`` for the function at ``cfg["act"]``."""
    return "expected_" + re.sub(r"\W+", "_", path).strip("_")


def _is_float_leaf(tree: object) -> bool:
    """A Python float argument (the extra parameters, cotangents and tangents, are too)."""
    return isinstance(tree, AVal) and tree.shape == () and tree.dtype == "float64"


def _test_lines(signature: ArgSignature) -> list[str]:
    """``if not (...):``, the conditions on one line, or one per line as black splits them."""
    groups = [group for param, tree in signature.trees().items() for group in _checks(param, tree)]
    if len(groups) == 1:
        operands = groups[0]
    else:
        operands = [f"({' and '.join(g)})" if len(g) > 1 else g[0] for g in groups]
    if len(operands) == 1:
        return [f"    if not {operands[0]}:"]
    one_line = f"    if not ({' and '.join(operands)}):"
    if len(one_line) <= LINE_LENGTH:
        return [one_line]
    lines = ["    if not ("]
    for k, operand in enumerate(operands):
        prefix = "        and " if k else "        "
        group = groups[k] if len(groups) > 1 else [operand]
        if len(prefix + operand) <= LINE_LENGTH or len(group) == 1:
            lines.append(prefix + operand)
        else:  # the group on lines of its own
            lines.append(prefix + "(")
            lines += [f"            {'and ' if j else ''}{atom}" for j, atom in enumerate(group)]
            lines.append("        )")
    return lines + ["    ):"]


def _raise_lines(name: str, signature: ArgSignature) -> list[str]:
    """What was received, then the ``ValueError`` saying what to do."""
    named = ", ".join(f"{_literal(p)}: {p}" for p in signature.params)
    target, kind = name.rsplit("_", 1)
    how = "srcad.jvp" if kind == "jvp" else "srcad.grad or srcad.value_and_grad"
    message = (
        f"{name} was compiled for {signature.describe()} and cannot take {{received}}: "
        f"differentiate {target} with {how} instead (srcad compiles for each layout), or "
        "regenerate this file for these arguments"
    )
    pieces = textwrap.wrap(message, MESSAGE_WIDTH, drop_whitespace=False)
    return [
        '        received = ", ".join(',
        '            f"{p} " + (f"{v.dtype}{list(v.shape)}" if hasattr(v, "dtype") else '
        "type(v).__name__)",
        f"            for p, v in {{{named}}}.items()",
        "        )",
        "        raise ValueError(",
        *(f"            {_message_piece(piece)}" for piece in pieces),
        "        )",
    ]


def _message_piece(text: str) -> str:
    """``text`` as a string literal; an f-string where it reads ``{received}``."""
    if "{received}" not in text:
        return _literal(text)
    escaped = text.replace("{", "{{").replace("}", "}}").replace("{{received}}", "{received}")
    return "f" + _literal(escaped)


def _literal(value: object) -> str:
    """``repr(value)``, with strings in double quotes where black would put them."""
    text = repr(value)
    if isinstance(value, str) and text.startswith("'") and '"' not in value:
        return f'"{text[1:-1]}"'
    return text


def _checks(path: str, tree: object) -> list[list[str]]:
    """Conditions that the value at ``path`` is laid out like ``tree``, grouped by the value
    they are about, outer values first (a container before the items that index it)."""
    if isinstance(tree, AVal):
        if tree.is_weak:
            return [[f"type({path}) is float"]]
        kind = f"type({path}) is np.ndarray"  # not a subclass: np.matrix's * is a product
        if not tree.shape:
            kind = f"({kind} or isinstance({path}, np.generic))"
        dtype = f"np.{tree.dtype}" if hasattr(np, tree.dtype) else f"np.dtype({tree.dtype!r})"
        shape = f"{path}.shape == {tree.shape!r}"
        return [[kind, shape, f"{path}.dtype == {dtype}"]]
    fields = fields_of(tree)
    if fields is not None:  # a NamedTuple or dataclass: its class by name, then its fields
        name = type(tree).__qualname__
        groups = [[f"type({path}).__qualname__ == {name!r}"]]
        if has_open_attributes(tree):  # attributes come and go: exactly these
            names = ", ".join(_literal(field) for field in fields)
            groups[0].append(f"list(vars({path})) == [{names}]")
        for field in fields:
            groups += _checks(f"{path}.{field}", getattr(tree, field))
        return groups
    if isinstance(tree, dict):
        keys = ", ".join(_literal(key) for key in tree)  # in order: code may loop over them
        groups = [[f"type({path}) is dict", f"list({path}) == [{keys}]"]]
        for key, item in tree.items():
            groups += _checks(f"{path}[{_literal(key)}]", item)
        return groups
    if isinstance(tree, (tuple, list)):
        groups = [[f"type({path}) is {type(tree).__name__}", f"len({path}) == {len(tree)}"]]
        for k, item in enumerate(tree):
            groups += _checks(f"{path}[{k}]", item)
        return groups
    if tree is None or isinstance(tree, bool):
        return [[f"{path} is {tree!r}"]]
    if isinstance(tree, IDENTITY_CONSTANTS):
        return [[f"{path} is {_expected_name(path)}"]]
    if isinstance(tree, GeneratorArgument):
        return [[f"type({path}).__qualname__ == {tree.cls.__qualname__!r}"]]
    return [[f"type({path}) is {type(tree).__name__}", f"{path} == {_literal(tree)}"]]
