"""Runtime: what an error looks like when it leaves srcad.

Comes in: an exception escaping a compilation, or escaping a public transformation.
Goes out, at two boundaries:

- ``compile_errors(...)`` surrounds one compilation (``compile_reverse``,
  ``compile_forward``). Errors srcad raises on purpose (``RAISED_ON_PURPOSE``: ``SrcadError``
  and the documented ``TypeError``/``ValueError`` about API arguments) pass unchanged. A
  ``RecursionError`` from a recursion that srcad keeps inlining becomes ``UnsupportedSyntax``
  at the call that recurses. Any other exception is a bug in srcad: it becomes
  ``InternalError`` at the user's line being compiled, and a reproduction file (the
  function's source, the argument signature, the versions, the original traceback) is written
  to the generated-code directory.
- ``hide_internal_frames(error)`` trims the traceback of an error on its way out of a public
  transformation to the user's frames, the way JAX filters its tracebacks: the last frame
  shown is the user's call that raised, and the message names the line srcad refused. The
  caller re-raises with a bare ``raise``, which adds no frame of its own. (srcad never runs
  the user's function, so there is no frame of it to show; the frame in srcad that raised
  says nothing the message does not, and would end a pytest report with srcad's file.)

Two helpers name the user's line of an error found elsewhere: ``users_line`` (the innermost
frame of the user's code in a traceback: a rule of theirs running on traced values) and
``users_line_of_generated`` (the line of srcad's generated code a further derivative failed
on, as the comment above it names it).

``SRCAD_DEBUG=1`` keeps every frame and chains the original exception to ``InternalError``.

The user's line being compiled is read from the traceback itself: the innermost frame that
holds a ``Loc`` (the statement being lowered) or an ``Eqn`` (the equation being
differentiated or emitted). No stage records anything for this purpose.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import inspect
import linecache
import os
import platform
import re
import sys
import sysconfig
import textwrap
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from srcad.errors import RAISED_ON_PURPOSE, InternalError, UnsupportedSyntax
from srcad.ir import AVal, Eqn, Loc
from srcad.runtime.cells import name_notebook_cell
from srcad.runtime.loader import generated_dir

PACKAGE_DIR = str(Path(__file__).resolve().parent.parent) + os.sep
# A comment of generated code naming the user's line a statement came from: ``# line 5:
# ...``, ``# forward  (line 4 in helper: ...)``.
SOURCE_COMMENT = re.compile(r"^#\s*(?:forward|backward)?\s*\(?line (\d+)(?: in ([\w.]+))?: ")
# srcad's internals pass through contextlib and functools; user code does not live there
# (but installed packages, which may hold the user's code, can live below the stdlib).
STDLIB_DIR = str(Path(os.__file__).resolve().parent) + os.sep
SITE_DIRS = tuple({sysconfig.get_paths()[key] + os.sep for key in ("purelib", "platlib")})


def user_stacklevel() -> int:
    """The ``stacklevel`` at which a warning raised by srcad's caller of this function
    names the user's line, not srcad's (the first frame outside the package and the
    functions srcad compiles for itself: ``<srcad entry>``)."""
    return _users_frame()[1]


def callers_line() -> tuple[str | None, int | None]:
    """The file and line of the innermost frame outside srcad: the user's call."""
    frame = _users_frame()[0]
    return (frame.f_code.co_filename, frame.f_lineno) if frame else (None, None)


def _users_frame() -> tuple[types.FrameType | None, int]:
    """The innermost frame outside srcad (``is_srcads``) above the caller of the function
    that asks, and how many levels up it is from that caller."""
    frame, level = sys._getframe(2), 1
    while frame is not None and is_srcads(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return frame, level


def is_srcads(filename: str) -> bool:
    """A file of srcad's package, or a function srcad compiled for itself (its entries and
    guards: ``<srcad entry>``, ``<srcad guard>``)."""
    return filename.startswith((PACKAGE_DIR, "<srcad "))


def is_debugging() -> bool:
    """Whether ``SRCAD_DEBUG`` asks for srcad's own frames and original exceptions."""
    return os.environ.get("SRCAD_DEBUG", "") not in ("", "0")


@contextlib.contextmanager
def compile_errors(fun: Callable, signature: object, entry: str, *options: object) -> Iterator:
    """Turn what escapes the compilation ``entry(fun, signature, *options)`` into an error
    about the user's line: on purpose errors unchanged, anything else ``InternalError``."""
    try:
        yield
    except RAISED_ON_PURPOSE:
        raise
    except RecursionError as error:
        loc = recursing_call(error.__traceback__)
        if loc is None:
            raise internal_error(error, fun, signature, entry, options) from _cause(error)
        raise UnsupportedSyntax(
            f"'{loc.text}' recurses deeper than srcad can inline: srcad unrolls every call "
            "while compiling, so a recursion must stop after a number of steps fixed by ints "
            "or shapes, not by array values; rewrite it as a 'while' loop on the value",
            loc.file,
            loc.line,
        ) from _cause(error)
    except Exception as error:  # noqa: BLE001 - every other exception is a bug in srcad
        raise internal_error(error, fun, signature, entry, options) from _cause(error)


def _cause(error: BaseException) -> BaseException | None:
    """The original exception to chain (printed) only when debugging."""
    return error if is_debugging() else None


def internal_error(
    error: BaseException, fun: Callable, signature: object, entry: str, options: tuple
) -> InternalError:
    """The ``InternalError`` for ``error``, after writing its reproduction file."""
    loc = compiling_location(error.__traceback__)
    file, line = (loc.file, loc.line) if loc else definition_line(fun)
    what = f"'{loc.text}' in {loc.function or _name(fun)}" if loc else _name(fun)
    original = type(error).__name__
    if str(error).strip():
        original += f": {str(error).strip().splitlines()[0]}"
    repro = reproduction_source(error, fun, signature, entry, options, loc)
    try:
        path = write_reproduction(fun, repro)
        report = f"please report it with the reproduction file {path}"
    except OSError as write_error:
        path = None
        report = (
            f"could not write a reproduction file ({write_error}); please report it with "
            "the traceback that SRCAD_DEBUG=1 shows"
        )
    message = (
        f"internal error in srcad while compiling {what} ({original}). This is a "
        f"bug in srcad, not in your code; {report}. Until it is fixed, writing "
        f"{'this line' if loc else 'the function'} differently may avoid it (SRCAD_DEBUG=1 "
        "shows srcad's own traceback)"
    )
    return InternalError(message, file, line, str(path) if path else None)


# --- where in the user's code ------------------------------------------------------------
def compiling_location(tb: types.TracebackType | None) -> Loc | None:
    """The user's line being compiled when ``tb`` was raised: the innermost frame holding a
    ``Loc`` or an ``Eqn`` that has one."""
    locations = frame_locations(tb)
    return locations[-1] if locations else None


def recursing_call(tb: types.TracebackType | None) -> Loc | None:
    """The user's call that starts over a sequence of statements being lowered again (the
    recursion), or None when no user statement repeats (a recursion inside srcad)."""
    seen: set[Loc] = set()
    previous = None
    for loc in frame_locations(tb):
        if loc in seen:
            return previous
        seen.add(loc)
        previous = loc
    return None


def frame_locations(tb: types.TracebackType | None) -> list[Loc]:
    """The user locations held by the frames of ``tb``, outermost first, each run of frames
    holding the same one counted once."""
    locations: list[Loc] = []
    for frame, _ in traceback.walk_tb(tb):
        loc = _location_in(frame)
        if loc is not None and (not locations or locations[-1] != loc):
            locations.append(loc)
    return locations


def _location_in(frame: types.FrameType) -> Loc | None:
    for value in frame.f_locals.values():
        if isinstance(value, Eqn):
            value = value.loc
        if isinstance(value, Loc):
            return value
    return None


def definition_line(fun: Callable) -> tuple[str | None, int | None]:
    """The file and ``def`` line of ``fun`` (of the function it wraps, for a partial or a
    function made by srcad), or ``(None, None)``."""
    target = fun.func if isinstance(fun, functools.partial) else inspect.unwrap(fun)
    code = getattr(target, "__code__", None)
    return (code.co_filename, code.co_firstlineno) if code else (None, None)


def users_line_of_generated(file: str, line: int, function: Callable) -> tuple[str, int] | None:
    """The user's line that line ``line`` of srcad's generated code ``file`` came from (the
    comment above it names it: ``# line 5: ...``, ``# forward  (line 4 in helper: ...)``),
    in the file of ``function``, the function that code differentiates, or of the helper the
    comment names (a function ``function`` reads by that name); None where it names none."""
    for text in reversed(linecache.getlines(file)[:line]):
        match = SOURCE_COMMENT.match(text.strip())
        if match is None:
            continue
        target: object = function
        if match.group(2):  # a helper the function reads: helper, Model.forward
            first, *rest = match.group(2).split(".")
            target = _read_by_name(function, first)
            for part in rest:
                target = getattr(target, part, None)
        user_file, _ = definition_line(target) if callable(target) else (None, None)
        return (user_file, int(match.group(1))) if user_file else None
    return None


def _read_by_name(function: object, name: str, depth: int = 3) -> object:
    """The function ``function`` reads as ``name``: a global of its module, or a value it
    closes over (``f`` passed to a helper that defines a lambda: ``f.__name__``), also
    through the functions it closes over, ``depth`` deep."""
    found = getattr(function, "__globals__", {}).get(name)
    if found is not None:
        return found
    code, cells = getattr(function, "__code__", None), getattr(function, "__closure__", None)
    named = {}
    for free, cell in zip(code.co_freevars if code else (), cells or (), strict=False):
        with contextlib.suppress(ValueError):  # a cell not filled yet
            named[free] = cell.cell_contents
    if name in named:
        return named[name]
    closed = list(named.values())
    for value in closed:  # f, called by the comment's name (f.__name__)
        if callable(value) and getattr(value, "__name__", None) == name:
            return value
    for value in closed if depth else ():
        if inspect.isfunction(value) and (found := _read_by_name(value, name, depth - 1)):
            return found
    return None


def _name(fun: Callable) -> str:
    return getattr(fun, "__qualname__", None) or type(fun).__name__


# --- the reproduction file -----------------------------------------------------------------
def reproduction_source(
    error: BaseException,
    fun: Callable,
    signature: object,
    entry: str,
    options: tuple,
    loc: Loc | None,
) -> str:
    """A Python file that repeats the failed compilation ``entry(fun, signature, *options)``
    (``signature`` an ``ArgSignature``), with what a bug report needs in its header."""
    name = getattr(fun, "__name__", "fun")
    arguments = signature.trees()
    values = ", ".join(f"{key!r}: {_argument_source(tree)}" for key, tree in arguments.items())
    call = ", ".join([name, "signature_of(arguments)", *map(repr, options)])
    return "\n".join(
        [
            *(f"# {text}".rstrip() for text in _report(error, fun, entry, loc)),
            "import numpy as np",
            "",
            f"from srcad.pipeline import {entry}",
            "from srcad.api.signature import signature_of",
            "from srcad.arguments import Wrt",
            "",
            "",
            _function_source(fun),
            "",
            "",
            f"arguments = {{{values}}}  # the structure, shapes and dtypes compiled for",
            f"{entry}({call})",
            "",
        ]
    )


def _report(error: BaseException, fun: Callable, entry: str, loc: Loc | None) -> list[str]:
    """The header of a reproduction file: versions, where, and the original traceback."""
    file, line = definition_line(fun)
    where = f"{loc.file}:{loc.line}: {loc.text}" if loc else f"{file}:{line}"
    return [
        "Reproduction of an internal error in srcad (a bug in srcad).",
        f"srcad {_srcad_version()}, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, {platform.platform()}",
        f"Compiling: {entry} of {_name(fun)} (defined at {file}:{line})",
        f"At: {where}",
        "",
        "Runs the compilation that failed. If the function calls helpers or reads globals,",
        f"copy them from {file} as well.",
        "",
        *_made_by_srcad_note(fun),
        "Original traceback:",
        *"".join(traceback.format_exception(error)).splitlines(),
    ]


def _made_by_srcad_note(fun: Callable) -> list[str]:
    if not hasattr(fun, "srcad_plain_function"):
        return []
    return [
        f"The function compiled was made by srcad from {_name(fun)} (a {type(fun).__name__},",
        f"such as srcad.grad({_name(fun)})): wrap it the same way in the last line.",
        "",
    ]


def _srcad_version() -> str:
    try:
        return importlib.metadata.version("srcad")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def _function_source(fun: Callable) -> str:
    try:
        return textwrap.dedent(inspect.getsource(fun)).rstrip()
    except (OSError, TypeError) as error:
        return f"# the source of {_name(fun)} could not be read: {error}\n{_name(fun)} = None"


def _argument_source(tree: object) -> str:
    """Python source for an argument with this structure, shape and dtype."""
    if isinstance(tree, AVal):
        fill = "0.5" if tree.is_float else "1"
        if tree.shape == ():
            return fill if tree.is_weak else f"np.{tree.dtype}({fill})"
        return f"np.full({tree.shape!r}, {fill}, dtype={tree.dtype!r})"
    if isinstance(tree, dict):
        items = ", ".join(f"{key!r}: {_argument_source(value)}" for key, value in tree.items())
        return f"{{{items}}}"
    if isinstance(tree, (list, tuple)):
        items = [_argument_source(value) for value in tree]
        if isinstance(tree, list):
            return f"[{', '.join(items)}]"
        return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
    return repr(tree)


def write_reproduction(fun: Callable, source: str) -> Path:
    """Write ``source`` to the generated-code directory, named after the function and the
    content (the same bug gives the same file); returns its path."""
    stem = f"{getattr(fun, '__module__', None)}.{_name(fun)}"
    stem = "".join(c if c.isalnum() or c in "._" else "_" for c in stem)
    digest = hashlib.sha256(source.encode()).hexdigest()[:10]
    path = generated_dir() / f"srcad_bug_{stem}_{digest}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(source)
    temporary.replace(path)
    return path


# --- tracebacks ------------------------------------------------------------------------------
def hide_internal_frames(error: BaseException) -> None:
    """Trim ``error``'s traceback to the user's frames, unless ``SRCAD_DEBUG`` is set, and
    name the notebook cell it is located in (``srcad.runtime.cells``). Re-raise it with a
    bare ``raise`` afterwards."""
    name_notebook_cell(error)
    if is_debugging():
        return
    context = error.__context__
    if context is not None and all(
        _is_internal(tb.tb_frame) for tb in _entries(context.__traceback__)
    ):
        error.__suppress_context__ = True  # raised while srcad handled its own exception
    kept = [tb for tb in _entries(error.__traceback__) if not _is_internal(tb.tb_frame)]
    trimmed = None
    for tb in reversed(kept):
        trimmed = types.TracebackType(trimmed, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    error.__traceback__ = trimmed


def locate_users_error(error: BaseException, fun: Callable) -> None:
    """An exception the user's code raised while srcad's generated code ran it (``raise
    ValueError(...)``, an IndexError, a LinAlgError): a note naming the user's line it
    comes from, and srcad's own frames hidden, as for srcad's errors (not under
    ``SRCAD_DEBUG``). Re-raise it with a bare ``raise`` afterwards."""
    if is_debugging():
        return
    generated = str(generated_dir())
    innermost = None
    for entry in _entries(error.__traceback__):
        if entry.tb_frame.f_code.co_filename.startswith(generated):
            innermost = entry
    if innermost is not None:
        found = users_line_of_generated(
            innermost.tb_frame.f_code.co_filename, innermost.tb_lineno, fun
        )
        if found is not None and hasattr(error, "add_note"):
            error.add_note(f"srcad: raised by {found[0]}:{found[1]}, run by srcad's generated code")
    hide_internal_frames(error)


def users_line(tb: types.TracebackType | None) -> tuple[str, int] | None:
    """The file and line of the innermost frame of ``tb`` in the user's code: not srcad's,
    the standard library's, an installed library's (NumPy's) or srcad's generated code."""
    generated = str(generated_dir())
    found = None
    for entry in _entries(tb):
        filename = entry.tb_frame.f_code.co_filename
        is_library = filename.startswith(SITE_DIRS) or filename.startswith(generated)
        if not _is_internal(entry.tb_frame) and not is_library:
            found = (filename, entry.tb_lineno)
    return found


def raised_in_users_code(tb: types.TracebackType | None) -> bool:
    """Whether the innermost frame of ``tb`` is the user's (``users_line``)."""
    entries = list(_entries(tb))
    found = users_line(tb)
    return bool(entries) and found == (
        entries[-1].tb_frame.f_code.co_filename,
        entries[-1].tb_lineno,
    )


def _entries(tb: types.TracebackType | None) -> Iterator[types.TracebackType]:
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _is_internal(frame: types.FrameType) -> bool:
    """A frame of srcad itself, or of the standard library modules srcad calls through."""
    filename = frame.f_code.co_filename
    if is_srcads(filename):
        return True
    return filename.startswith(STDLIB_DIR) and not filename.startswith(SITE_DIRS)


def public_api(fun: Callable) -> Callable:
    """``fun`` as a public transformation: errors srcad raises on purpose leave it with
    srcad's internal frames hidden."""

    @functools.wraps(fun)
    def boundary(*args, **kwargs):
        try:
            return fun(*args, **kwargs)
        except RAISED_ON_PURPOSE as error:
            hide_internal_frames(error)
            raise

    return boundary
