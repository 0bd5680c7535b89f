"""The user's source, sent with a function to the workers, where srcad reads it again.

Part of ``srcad.distributed``. srcad compiles from source (``inspect.getsourcelines``), and a
function sent to a worker by value (cloudpickle: one defined in ``__main__``, a notebook or a
file the worker cannot import) arrives with its file name replaced by ``<dynamic-code>`` and
no source. ``FunctionSources.of(fun)`` records, on the client, the file of ``fun`` and of every
function it reaches through its globals and closure, with those files' lines; ``restore`` gives
the arrived functions their file names back and puts the lines in the worker's ``linecache``,
so srcad compiles there exactly what it compiles on the client.
"""

from __future__ import annotations

import linecache
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass

DYNAMIC = "<dynamic-code>"  # cloudpickle's file name for code it sends by value


@dataclass(frozen=True)
class FunctionSources:
    """Where each reachable function was defined, and the lines of those files."""

    files: dict[tuple[str, int], str]  # (name, first line) -> file
    lines: dict[str, list[str]]  # file -> its lines

    @classmethod
    def of(cls, fun: Callable) -> FunctionSources:
        files, lines = {}, {}
        for function in _reachable(fun):
            for code in _codes(function.__code__):
                files[(code.co_name, code.co_firstlineno)] = code.co_filename
            file = function.__code__.co_filename
            if file not in lines:
                lines[file] = linecache.getlines(file, function.__globals__)
        return cls(files, lines)

    def restore(self, fun: Callable) -> None:
        """Give ``fun`` and the functions it reaches their files and sources back."""
        for file, file_lines in self.lines.items():
            if file_lines and not linecache.getlines(file):
                text = "".join(file_lines)
                linecache.cache[file] = (len(text), None, file_lines, file)
        for function in _reachable(fun):
            if function.__code__.co_filename == DYNAMIC:
                function.__code__ = self._renamed(function.__code__)

    def _renamed(self, code: types.CodeType) -> types.CodeType:
        consts = tuple(
            self._renamed(c) if isinstance(c, types.CodeType) else c for c in code.co_consts
        )
        file = self.files.get((code.co_name, code.co_firstlineno), code.co_filename)
        return code.replace(co_filename=file, co_consts=consts)


def _reachable(fun: Callable) -> Iterator[types.FunctionType]:
    """``fun`` (unwrapped from a bound method or partial) and the Python functions it names
    as globals or holds in its closure, transitively."""
    seen: set[int] = set()
    stack = [_plain(fun)]
    while stack:
        function = stack.pop()
        if not isinstance(function, types.FunctionType) or id(function) in seen:
            continue
        seen.add(id(function))
        yield function
        names = {name for code in _codes(function.__code__) for name in code.co_names}
        stack += [function.__globals__[n] for n in names if n in function.__globals__]
        stack += [_cell_value(cell) for cell in function.__closure__ or ()]


def _plain(fun: object) -> object:
    fun = getattr(fun, "__func__", fun)  # a bound method
    return getattr(fun, "func", fun)  # functools.partial


def _cell_value(cell: types.CellType) -> object:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)
