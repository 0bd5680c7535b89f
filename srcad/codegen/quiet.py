"""Emission rule: the backward lines that compute values a mask drops run with NumPy's
warnings off.

Comes in: a block's lines, each marked quiet or not (``Eqn.quiet``: the backward lines of a
``np.where`` branch, ``srcad.reverse.masks``, or a line that spells one of them inline).
Goes out: the same lines, each run of quiet ones inside one ``with`` block::

    before                                          after
    dx = np.where(t1, dsqrt_x / (2.0 * sqrt_x), 0.0)    with np.errstate(all="ignore"):  # values a mask drops
                                                        dx = np.where(t1, dsqrt_x / (2.0 * sqrt_x), 0.0)

At ``x == 0`` the plain ``np.where(x > 0, np.sqrt(x), 0.0)`` warns of nothing; the backward
line divides by ``sqrt_x == 0`` where the mask then drops the quotient, and NumPy's "divide by
zero" warning (an error under ``-W error`` or ``np.seterr(all="raise")``) was about a value
no one sees. Other lines keep their warnings: an infinite slope where no mask drops it is
the gradient's own (``np.sqrt`` at 0 unmasked). A ``with`` block costs about 1 us.

The numba variant leaves such blocks out (``without_ignoring_blocks``): numba does not warn,
so a block that only silences warnings changes nothing there. The array-API variant keeps
them (``np.errstate`` silences NumPy under array-API-strict's arrays; CuPy does not warn).
"""

from __future__ import annotations

import ast

QUIET_COMMENT = "# values a mask drops"
QUIET_BLOCK = f'with np.errstate(all="ignore"):  {QUIET_COMMENT}'
INDENT = " " * 4


def grouped(items: list[tuple[bool | None, str]]) -> list[str]:
    """The lines of ``items`` (quiet, text), each run of quiet texts in one ``with`` block; a
    text whose quiet is None (a comment) joins the block when quiet texts follow it."""
    lines: list[str] = []
    waiting: list[str] = []  # comments met inside an open block, until the next statement
    is_open = False
    for quiet, text in items:
        if quiet is None:
            (waiting if is_open else lines).append(text)
            continue
        if quiet and not is_open:
            lines.append(QUIET_BLOCK)
        if not quiet:
            lines.extend(waiting)
        else:
            lines.extend(_indented(t) for t in [*waiting, text])
        waiting = []
        if not quiet:
            lines.append(text)
        is_open = quiet
    lines.extend(waiting)
    return lines


def _indented(text: str) -> str:
    return "\n".join(INDENT + line if line else line for line in text.split("\n"))


def without_ignoring_blocks(source: str, body_name: str) -> str:
    """``source`` with each ``with np.errstate(...)`` block in the body whose settings all say
    "ignore" replaced by its lines, line for line (the ``with`` line left blank)."""
    tree = ast.parse(source)
    body = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == body_name)
    return _without(
        source, [n for n in ast.walk(body) if isinstance(n, ast.With) and only_ignores(n)]
    )


def without_quiet_blocks(source: str) -> str:
    """``source`` with this rule's blocks replaced by their lines, line for line: a further
    derivative lowers the generated code, whose masks it finds again (a ``with`` block would
    hide them: a value under it is read by a block, which no mask reaches)."""
    if QUIET_COMMENT not in source:
        return source
    lines = source.split("\n")
    blocks = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.With) and lines[node.lineno - 1].rstrip().endswith(QUIET_COMMENT)
    ]
    return _without(source, blocks)


def _without(source: str, blocks: list[ast.With]) -> str:
    if not blocks:
        return source
    lines = source.split("\n")
    for block in sorted(blocks, key=lambda b: b.lineno, reverse=True):  # inner ones first
        first = block.body[0]
        width = first.col_offset - block.col_offset
        for number in range(block.lineno - 1, first.lineno - 1):
            lines[number] = ""  # the with line (and a comment under it)
        assert block.end_lineno is not None
        for number in range(first.lineno - 1, block.end_lineno):
            if lines[number][:width].strip() == "":
                lines[number] = lines[number][width:]
    return "\n".join(lines)


def only_ignores(block: ast.With) -> bool:
    """``with np.errstate(all="ignore"):`` and any other ``np.errstate`` of "ignore" only."""
    if len(block.items) != 1 or block.items[0].optional_vars is not None:
        return False
    call = block.items[0].context_expr
    if not isinstance(call, ast.Call) or call.args or not call.keywords:
        return False
    function = call.func
    is_errstate = (
        isinstance(function, ast.Attribute)
        and function.attr == "errstate"
        and isinstance(function.value, ast.Name)
        and function.value.id == "np"
    )
    settings = [k.value for k in call.keywords]
    return (
        is_errstate
        and all(isinstance(v, ast.Constant) and v.value == "ignore" for v in settings)
        and all(k.arg is not None for k in call.keywords)
    )
