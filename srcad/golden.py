"""Golden files: the generated gradient of every function in ``examples/`` under ``generated/``.

An example module lists the functions to differentiate in ``EXAMPLE_ARGS`` (name → example
arguments) and optionally ``EXAMPLE_ARGNUMS``. ``python -m srcad generate`` rewrites
``generated/<module>/<function>_grad.py``; the test suite regenerates them in memory and
fails on any byte of difference.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import srcad
from srcad.cli import load_module_from_path

REPOSITORY = Path(__file__).resolve().parent.parent


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


def regenerate(write: bool = True, root: Path = REPOSITORY) -> list[Path]:
    """The golden files whose content differs (rewritten unless ``write`` is False)."""
    changed = []
    for relative, text in golden_sources(root).items():
        path = root / relative
        if not path.exists() or path.read_text() != text:
            changed.append(relative)
            if write:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    return changed
