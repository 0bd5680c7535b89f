"""HTML for Jupyter: how grad tables and graph pictures show themselves in a notebook.

A tool on top of the public API. ``Explanation._repr_html_`` (``srcad.tools.explain``)
gives its cells to ``table_html``; ``GraphPicture._repr_html_`` (``srcad.tools.graph``)
gives its DOT text to ``picture_html``, which draws it as inline SVG with Graphviz's ``dot``
when it is installed and otherwise shows the DOT text with how to get pictures. Every text
shown is escaped. (A transformed function's display is part of the API:
``srcad.api.display``.)
"""

from __future__ import annotations

import html
import shutil
import subprocess
from collections.abc import Sequence

TABLE_STYLE = "border-collapse: collapse; font-size: 12px;"
CELL_STYLE = "padding: 2px 8px; text-align: left; font-family: monospace; white-space: pre;"
PRE_STYLE = "font-size: 11px; max-height: 24em; overflow: auto;"


def table_html(
    caption: str, header: Sequence[str], rows: Sequence[Sequence[str]], right: int = -1
) -> str:
    """An HTML table: ``caption`` above, one ``<tr>`` per row; column ``right`` (the line
    numbers) aligned right."""
    head = "".join(f"<th style='{CELL_STYLE}'>{html.escape(cell)}</th>" for cell in header)
    body = [
        "<tr>" + "".join(_cell(cell, column == right) for column, cell in enumerate(row)) + "</tr>"
        for row in rows
    ]
    return "\n".join(
        [
            f"<table style='{TABLE_STYLE}'>",
            f"<caption style='text-align: left'>{html.escape(caption)}</caption>",
            f"<thead><tr>{head}</tr></thead>",
            "<tbody>",
            *body,
            "</tbody></table>",
        ]
    )


def _cell(text: str, is_right: bool) -> str:
    style = CELL_STYLE.replace("text-align: left", "text-align: right") if is_right else CELL_STYLE
    return f"<td style='{style}'>{html.escape(text)}</td>"


def svg_of(dot_text: str) -> str | None:
    """The picture as SVG text drawn by Graphviz's ``dot``, or None without Graphviz."""
    executable = shutil.which("dot")
    if executable is None:
        return None
    result = subprocess.run(
        [executable, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


def picture_html(dot_text: str) -> str:
    """The picture as inline SVG, or, without Graphviz, its DOT text and how to draw it."""
    svg = svg_of(dot_text)
    if svg is not None:
        start = svg.find("<svg")  # the XML prolog and doctype do not belong inside HTML
        return f"<div class='srcad-graph'>{svg[max(start, 0):]}</div>"
    return (
        "<div class='srcad-graph'><p>Graphviz's <code>dot</code> is not installed, so here is "
        "the DOT text (install Graphviz, or paste it into an online Graphviz viewer, to see "
        f"the picture):</p><pre style='{PRE_STYLE}'>{html.escape(dot_text)}</pre></div>"
    )


__all__ = ["picture_html", "svg_of", "table_html"]
