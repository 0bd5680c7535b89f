"""Calls and reads whose result can change between calls with the same arguments: the
environment (``os.environ["SCALE"]``), the date (``datetime.now()``), files (``np.load(path)``,
``Path(p).exists()``). srcad would run them once, when compiling, and the guard could not
check what they gave: each is refused at the user's line, with what to do instead (read it
outside the function and pass the value in). The clocks that give numbers (``time.time()``,
``time.perf_counter()``) are not refused: the generated code reads them on every call.
"""

from __future__ import annotations

import ast
import datetime
import os
import pathlib
import sys
import uuid

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.lower.context import Lowering
from srcad.lower.world import is_hashable

STATE_OBJECTS = {id(os.environ): "os.environ", id(os.environb): "os.environb"}
STATE_OBJECTS |= {
    id(sys.argv): "sys.argv",
    id(sys.path): "sys.path",
    id(sys.modules): "sys.modules",
}
# (time.time() and the other clocks giving numbers run in the generated code: World)
CLOCK_READERS: list[object] = [
    datetime.datetime.now,
    datetime.datetime.today,
    datetime.datetime.utcnow,
]
CLOCK_READERS += [datetime.date.today]
FILE_READERS: list[object] = [
    open,
    input,
    np.load,
    np.loadtxt,
    np.genfromtxt,
    np.fromfile,
    os.getcwd,
]
FILE_READERS += [os.listdir, os.scandir, os.stat, os.path.exists, os.path.isfile, os.path.isdir]
FILE_READERS += [os.path.getmtime, os.path.getsize, uuid.uuid1, uuid.uuid4]
STATE_READERS = {f: "the clock" for f in CLOCK_READERS} | {f: "files" for f in FILE_READERS}
# Builtins that give the namespace they are called in: run when compiling, they would give
# srcad's (called without arguments, vars and dir are the same)
NAMESPACE_READERS = {globals: "module globals", locals: "local variables", vars: "", dir: ""}
# Builtins that run code given as text: srcad reads the function's source, not the text
TEXT_RUNNERS = (eval, exec)


def refuse_reading_state_of_the_machine(
    lowering: Lowering, function: object, node: ast.expr
) -> None:
    """``datetime.now()``, ``np.load("w.npy")``, ``Path(p).exists()``, ``os.environ["X"]``:
    what they give can change between calls with the same arguments; srcad would read it
    once, when compiling, and the guard could not check it."""
    owner = getattr(function, "__self__", None)
    if isinstance(owner, pathlib.PurePath):
        what: str | None = "files"
    elif id(owner) in STATE_OBJECTS or id(function) in STATE_OBJECTS:
        what = STATE_OBJECTS.get(id(owner), STATE_OBJECTS.get(id(function), ""))
    else:
        what = STATE_READERS.get(function) if is_hashable(function) else None
    if what is not None:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}' reads {what}, which can change between calls; srcad "
            "would read it once, when compiling: read it outside the function and pass the "
            "value in as an argument",
            node,
        )


def refuse_running_text(lowering: Lowering, function: object, node: ast.expr) -> None:
    """``eval("x * 3.0")``: code in a string, which srcad can neither read nor run when
    compiling (it would run in srcad's namespace, once)."""
    if not is_hashable(function) or function not in TEXT_RUNNERS:
        return
    raise lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' runs code given as text, which srcad does not differentiate "
        f"(it reads the function's source); write the code itself in the function",
        node,
    )


def refuse_reading_namespaces(
    lowering: Lowering, function: object, args: tuple, node: ast.expr
) -> None:
    """``globals()["ALPHA"]``, ``"{loss:.3f}".format(**locals())``: the namespace is the one
    srcad compiles in, not the user's; refused with the names to write instead."""
    if not is_hashable(function) or function not in NAMESPACE_READERS or args:
        return
    raise lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' reads the namespace it is called in, which srcad does not "
        "follow (it reads the names the code writes); write the names themselves (ALPHA, "
        "not globals()['ALPHA']; f\"{loss:.3f}\", not .format(**locals()))",
        node,
    )
