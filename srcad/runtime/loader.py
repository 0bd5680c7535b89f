"""Loading generated source: write it to a real file, compile it, register it with linecache.

Generated code is compiled under its file name inside the generated-code directory
(``$SRCAD_GENERATED_DIR``, default ``~/.cache/srcad``), so tracebacks, ``inspect.getsource``
and pdb show its lines. If the directory cannot be written, the source still lives in
``linecache`` and everything but opening the file in an editor keeps working.
"""

from __future__ import annotations

import hashlib
import linecache
import os
from collections.abc import Callable
from pathlib import Path


def generated_dir() -> Path:
    """Where generated modules are written."""
    configured = os.environ.get("SRCAD_GENERATED_DIR")
    if configured:
        return Path(configured)
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache_home) / "srcad"


def load_function(source: str, function_name: str, stem: str, constants: dict) -> Callable:
    """Compile ``source`` as a module file named after ``stem`` and return its function."""
    return load_module(source, stem, constants)[function_name]


def load_module(source: str, stem: str, constants: dict | None = None) -> dict:
    """Compile ``source`` as a module file named after ``stem``; returns its namespace."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:10]
    path = generated_dir() / f"{stem}_{digest}.py"
    _write_if_changed(path, source)
    filename = str(path)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"__name__": f"srcad_generated.{stem}", "__file__": filename}
    namespace.update(constants or {})
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def _write_if_changed(path: Path, source: str) -> None:
    try:
        if path.exists() and path.read_text() == source:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(source)
        temporary.replace(path)
    except OSError:
        pass  # read-only location: linecache still serves the source
