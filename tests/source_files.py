"""Test helper: modules from generated test source, written to real files so that srcad can
read their functions back with ``inspect.getsource``."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

_counter = itertools.count()


def module_from_source(source: str, directory: Path, prefix: str) -> ModuleType:
    """Write ``source`` to a fresh module file in ``directory`` and import it."""
    path = directory / f"{prefix}_{next(_counter)}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
