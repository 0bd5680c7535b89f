"""Golden files: the generated gradient of every function in ``examples/`` under ``generated/``.

An example module lists the functions to differentiate in ``EXAMPLE_ARGS`` (name → example
arguments) and optionally ``EXAMPLE_ARGNUMS``. ``python tests/golden/regenerate.py`` rewrites
``generated/<module>/<function>_grad.py`` and, for each function and for one function per
structured construct (``ir_cases.py``), ``tests/golden/ir/<module>.<function>.txt``: the
stages of its compilation as text (source, lowered IR, gradient IR, generated code).
``--check`` only lists the differences; the test
suite regenerates them in memory and fails on any byte of difference. Development tooling:
it needs a checkout (``examples/``, ``generated/``), so it is not part of the package.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import srcad
from srcad.api.signature import bind_call, signature_of
from srcad.cli import load_module_from_path
from srcad.codegen.emit import name_values
from srcad.ir.printer import format_graph
from srcad.lower.function import lower_function
from srcad.pipeline import plain_function

REPOSITORY = Path(__file__).resolve().parents[2]


@contextmanager
def _inside(directory: Path) -> Iterator[None]:
    previous = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(previous)


def golden_sources(root: Path = REPOSITORY) -> dict[Path, str]:
    """Golden path (relative to ``root``) → generated source, for every example function."""
    sources = {}
    with _inside(root):
        for example in sorted(Path("examples").glob("*.py")):
            module = load_module_from_path(example)
            argnums = getattr(module, "EXAMPLE_ARGNUMS", {})
            for name, args in getattr(module, "EXAMPLE_ARGS", {}).items():
                gradient = srcad.value_and_grad(getattr(module, name), argnums=argnums.get(name, 0))
                gradient(*args)
                sources[Path("generated") / example.stem / f"{name}_grad.py"] = srcad.source(
                    gradient
                )
    return sources


IR_DIRECTORY = Path("tests") / "golden" / "ir"
IR_CASES = Path("tests") / "golden" / "ir_cases.py"


def ir_sources(root: Path = REPOSITORY) -> dict[Path, str]:
    """Golden path → the stages of compiling one function, as text: its source, the lowered
    IR, the gradient IR and the generated code; for ``ir_cases.py`` (one function per
    structured construct) and every example function."""
    sources = {}
    with _inside(root):
        for path in [IR_CASES, *sorted(Path("examples").glob("*.py"))]:
            module = load_module_from_path(path)
            argnums = getattr(module, "EXAMPLE_ARGNUMS", {})
            for name, args in getattr(module, "EXAMPLE_ARGS", {}).items():
                function = getattr(module, name)
                text = stages_text(function, args, argnums.get(name, 0))
                sources[IR_DIRECTORY / f"{path.stem}.{name}.txt"] = text
    return sources


def stages_text(function, args: tuple, argnums) -> str:
    """``function``'s source, lowered IR, gradient IR and generated code, one section each."""
    signature = signature_of(bind_call(function, args, {}), function)
    lowered = lower_function(plain_function(function, signature), signature.trees())
    gradient = srcad.value_and_grad(function, argnums=argnums)
    gradient(*args)
    sections = {
        "source": inspect.getsource(function),
        "lowered IR": format_graph(lowered.graph) + "\n",
        "gradient IR": _named_graph_text(gradient.last.derive_graph()),
        "generated code": srcad.source(gradient),
    }
    return "".join(f"# ==== {title} ====\n{text}\n" for title, text in sections.items())


def _named_graph_text(graph) -> str:
    """The gradient IR with the names the generated code gives its values."""
    return format_graph(graph, names=name_values(graph).names) + "\n"


def all_sources(root: Path = REPOSITORY) -> dict[Path, str]:
    return {**golden_sources(root), **ir_sources(root)}


def regenerate(write: bool = True, root: Path = REPOSITORY) -> list[Path]:
    """The golden files whose content differs (rewritten unless ``write`` is False)."""
    changed = []
    for relative, text in all_sources(root).items():
        path = root / relative
        if not path.exists() or path.read_text() != text:
            changed.append(relative)
            if write:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the golden files in generated/.")
    parser.add_argument("--check", action="store_true", help="only report differences")
    parser.add_argument("--update", action="store_true", help="rewrite them (the default)")
    options = parser.parse_args(argv)
    changed = regenerate(write=not options.check)
    for path in changed:
        print(("differs: " if options.check else "wrote: ") + str(path))
    return 1 if options.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
