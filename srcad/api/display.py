"""How a transformed function shows itself in a Jupyter notebook (``_repr_html_``).

Part of the API stage: ``Transformed._repr_html_`` (``srcad.api.grad``) returns
``transformed_html(self)``: what was transformed and how (``srcad.grad(loss)``, the mode,
the arguments differentiated), the user's source, and, once the function has been called,
the generated gradient code as ``srcad.source`` gives it. Everything shown is escaped. The
HTML of the tools (grad tables, graph pictures) is made in ``srcad.tools.display``, above
this stage.

Nothing here compiles or raises: a notebook asks for the display of every cell's result.
"""

from __future__ import annotations

import html
import inspect
import textwrap
from typing import Protocol

from srcad.arguments import Wrt
from srcad.codegen.formatting import formatted
from srcad.pipeline import Compiled

PRE_STYLE = "font-size: 12px; line-height: 1.35; margin: 4px 0 8px 0;"


class Displayable(Protocol):
    """What the display reads of a transformed function."""

    @property
    def fun(self) -> object: ...

    @property
    def wrt(self) -> Wrt: ...

    @property
    def mode(self) -> str: ...

    @property
    def returns_value(self) -> bool: ...

    @property
    def last(self) -> Compiled | None: ...


def transformed_html(transformed: Displayable) -> str:
    """The transformed function as HTML: a title, the user's source, the generated code."""
    parts = [f"<div class='srcad-transformed'><p>{_title(transformed)}</p>"]
    user_source = _user_source(transformed.fun)
    if user_source:
        parts.append(_code_block(user_source))
    if transformed.last is None:
        parts.append("<p><i>not compiled yet: call it once to see the generated code</i></p>")
    else:
        parts.append("<details open><summary>generated code (<code>srcad.source</code>)</summary>")
        parts.append(_code_block(formatted(transformed.last.source)) + "</details>")
    return "\n".join(parts) + "</div>"


def _title(transformed: Displayable) -> str:
    transformation = "value_and_grad" if transformed.returns_value else "grad"
    name = getattr(transformed.fun, "__name__", type(transformed.fun).__name__)
    wrt = ", ".join(_parameter_names(transformed.fun, transformed.wrt.numbers))
    return (
        f"<code>srcad.{transformation}({html.escape(name)})</code>: {transformed.mode} mode, "
        f"with respect to <code>{html.escape(wrt)}</code>"
    )


def _parameter_names(fun: object, numbers: tuple[int, ...]) -> list[str]:
    try:
        names = list(inspect.signature(fun).parameters)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        names = []
    return [names[n] if n < len(names) else f"argument {n}" for n in numbers]


def _user_source(fun: object) -> str:
    try:
        return textwrap.dedent(inspect.getsource(fun)).rstrip()  # type: ignore[arg-type]
    except (OSError, TypeError):
        return ""


def _code_block(text: str) -> str:
    return f"<pre style='{PRE_STYLE}'><code>{html.escape(text)}</code></pre>"


__all__ = ["transformed_html"]
