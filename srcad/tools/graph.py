"""Drawing the computation: ``srcad.graph`` and the images of ``srcad graph``.

Sits on top of the pipeline, beside ``api`` and ``cli``, and uses only the public inspection
API: ``srcad.make_graph`` lowers a function (and, when asked, differentiates it) exactly as
``grad`` does, and ``srcad.tools.dot`` turns the graph it gets into Graphviz DOT text (see
there for what the picture shows). This module renders that text to SVG/PNG/PDF through
Graphviz's ``dot`` binary, which is needed only for images.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from srcad.api.inspect import make_graph, value_names
from srcad.errors import SrcadError
from srcad.ir import Graph
from srcad.tools.display import picture_html
from srcad.tools.dot import to_dot

IMAGE_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
INSTALL_HINT = (
    "install Graphviz to draw images (Debian/Ubuntu: `sudo apt install graphviz`, "
    "macOS: `brew install graphviz`), or render the .dot file at https://dreampuf.github.io/"
    "GraphvizOnline"
)


class GraphvizNotFoundError(SrcadError):
    """An image was requested but Graphviz's ``dot`` is not installed (the DOT was written)."""


class GraphPicture:
    """A drawable graph: ``to_dot()`` gives DOT text, ``save(path)`` writes .dot/.svg/.png."""

    def __init__(
        self,
        graph: Graph,
        lines: bool = False,
        annotations: dict[int, tuple[str, str]] | None = None,
        output_names: tuple[str, ...] = (),
    ):
        self.graph = graph
        self.lines = lines
        self.annotations = annotations or {}
        self.output_names = output_names

    def to_dot(self) -> str:
        return to_dot(self.graph, self.lines, self.annotations, self.output_names)

    def save(self, path: str | Path) -> Path:
        """Write the picture; the format follows the suffix (.dot, .gv, .svg, .png, .pdf)."""
        return save_dot(self.to_dot(), path)

    def _repr_html_(self) -> str:
        """Inline SVG for Jupyter (the DOT text without Graphviz): ``tools.display``."""
        return picture_html(self.to_dot())

    def __str__(self) -> str:
        return self.to_dot()


def graph(
    fun: Callable,
    *example_args,
    argnums: int | tuple = 0,
    backward: bool = False,
    lines: bool = False,
) -> GraphPicture:
    """The computation graph of ``fun`` called with ``example_args`` (floats 1.0 if none).

    ``backward=True`` draws the gradient graph (forward and backward sweep) with respect to
    ``argnums``; ``lines=True`` groups the equations of each source line in a box.
    """
    graph_ir, output_names = lower_for_drawing(fun, example_args, argnums, backward)
    return GraphPicture(graph_ir, lines=lines, output_names=output_names)


def lower_for_drawing(
    fun: Callable, args: tuple, argnums: int | tuple, backward: bool
) -> tuple[Graph, tuple[str, ...]]:
    """The graph ``grad`` would start from (or, with ``backward``, the one it emits), and the
    names of its outputs (``dw`` for the gradient of ``w``; empty for the primal ones)."""
    if not args:
        args = default_args(fun)
    view = make_graph(fun, argnums, backward=backward)(*args)
    if view.gradient is None:
        return view.graph, ()
    return view.gradient, view.gradient_output_names


def default_args(fun: Callable) -> tuple:
    """The float 1.0 for every parameter without a default."""
    if isinstance(getattr(fun, "nin", None), int):  # a ufunc: one float per input
        return (1.0,) * fun.nin  # type: ignore[attr-defined]
    params = inspect.signature(fun).parameters.values()
    return tuple(1.0 for p in params if p.default is p.empty)


def save_dot(dot_text: str, path: str | Path) -> Path:
    """Write DOT text to ``path``, rendering it with ``dot`` for image suffixes.

    Without Graphviz, the DOT text goes next to ``path`` (same name, suffix .dot) and
    ``GraphvizNotFoundError`` says so.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (*IMAGE_FORMATS, ".dot", ".gv", ".txt"):
        raise ValueError(
            f"{path}: {suffix or 'no suffix'} names no format srcad writes; name a .dot file "
            f"(DOT text) or an image: {', '.join(IMAGE_FORMATS)}"
        )
    if suffix not in IMAGE_FORMATS:
        path.write_text(dot_text)
        return path
    executable = shutil.which("dot")
    if executable is None:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(dot_text)
        raise GraphvizNotFoundError(
            f"Graphviz is not installed, so {path} could not be drawn; the graph was written "
            f"as DOT text to {dot_path} instead. To get images, {INSTALL_HINT}."
        )
    result = subprocess.run(
        [executable, f"-T{IMAGE_FORMATS[suffix]}", "-o", str(path)],
        input=dot_text,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SrcadError(f"Graphviz failed to draw {path}: {result.stderr.strip()}")
    return path


# ``value_names`` (the names a picture shows) and ``to_dot`` are still importable from here.
__all__ = [
    "GraphPicture",
    "GraphvizNotFoundError",
    "graph",
    "save_dot",
    "to_dot",
    "value_names",
]
