"""Test helper: modules from generated test source, written to real files so that srcad can
read their functions back with ``inspect.getsource``."""

from __future__ import annotations

import importlib.util
import itertools
import os
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


def rewrite(path: Path | str, text: str) -> None:
    """Write ``text`` over the file at ``path`` as a later edit would: its time moves two
    seconds on. Python takes a cached .pyc of the old text for a file whose size and time,
    in whole seconds, are those the .pyc recorded, as after an edit of the same length
    within the second of the first write."""
    Path(path).write_text(text)
    later = os.stat(path).st_mtime_ns + 2_000_000_000
    os.utime(path, ns=(later, later))
