"""Loading generated source: write it to a real file, compile it, register it with linecache.

Generated code is compiled under its file name inside the generated-code directory
(``$SRCAD_GENERATED_DIR``, default ``~/.cache/srcad``; see ``srcad.runtime.store`` for its
size cap), so tracebacks, ``inspect.getsource`` and pdb show its lines. The source also
lives in ``linecache``: if the directory cannot be written, or the file is evicted while the
function is in use, everything but opening the file in an editor keeps working.
"""

from __future__ import annotations

import ast
import hashlib
import linecache
import types
from collections.abc import Callable
from pathlib import Path

from srcad.codegen.quiet import without_quiet_blocks
from srcad.codegen.reuse import plain_source
from srcad.runtime.store import generated_dir, write_file


def load_function(source: str, function_name: str, stem: str, constants: dict) -> Callable:
    """Compile ``source`` as a module file named after ``stem`` and return its function."""
    return load_module(source, stem, constants)[function_name]


def load_module(source: str, stem: str, constants: dict | None = None) -> dict:
    """Compile ``source`` as a module file named after ``stem`` and its content; returns its
    namespace."""
    path = module_path(source, stem)
    write_file(path, source)
    return exec_module(source, path, stem, constants)


def module_path(source: str, stem: str) -> Path:
    """The file of a generated module: named after ``stem`` and addressed by its content."""
    return generated_dir() / f"{stem}_{hashlib.sha256(source.encode()).hexdigest()[:10]}.py"


def exec_module(source: str, path: Path, stem: str, constants: dict | None = None) -> dict:
    """Run ``source`` (the text of the file at ``path``, which need not exist) as a module
    with ``constants`` in its namespace; returns the namespace."""
    filename = str(path)
    # mtime None: linecache.checkcache keeps the entry even when the file is evicted
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict = {"__name__": f"srcad_generated.{stem}", "__file__": filename}
    namespace.update(constants or {})
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - srcad's generated code
    plain = PlainDefinitions(source)
    for value in namespace.values():
        if isinstance(value, types.FunctionType) and value.__code__.co_filename == filename:
            value.srcad_plain_definitions = plain  # type: ignore[attr-defined]
    return namespace


class PlainDefinitions:
    """A further derivative lowers the generated functions themselves: where they write
    arrays in place (``codegen.reuse``, ``codegen.chains``) or silence warnings about values
    a mask drops (``codegen.quiet``), it reads each one's plain NumPy spelling
    (``plain_source``, line for line) instead of the file's text, made when first asked
    for (not on every load: 5 ms of a 200-line function's compile)."""

    def __init__(self, source: str):
        self.source = source
        self._definitions: dict[str, ast.FunctionDef] | None = None

    def definition(self, name: str) -> ast.FunctionDef | None:
        """The plain ``def`` of the module's function ``name``, or None where the file's
        own text is plain already."""
        if self._definitions is None:
            plain = without_quiet_blocks(plain_source(self.source))
            body = ast.parse(plain).body if plain != self.source else []
            self._definitions = {n.name: n for n in body if isinstance(n, ast.FunctionDef)}
        return self._definitions.get(name)


def bound_names(function: Callable, source: str) -> dict:
    """The names the generated module ``source`` of ``function`` was given when it was
    loaded (its namespace without what its own statements define or import): what a
    variant of it (numba, array API) must be given too."""
    tree = ast.parse(source)
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    defined |= {
        (alias.asname or alias.name).split(".")[0]
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    return {
        name: value
        for name, value in function.__globals__.items()  # type: ignore[attr-defined]
        if not name.startswith("__") and name not in defined
    }
