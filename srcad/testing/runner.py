"""Testing: one program through the oracle and through srcad, to one outcome.

In: a ``Program`` and a directory to write its module into. Out: an ``Outcome`` whose status
is one of

- ``passed``: srcad's value equals the plain function's and its gradient the reference;
- ``wrong``: srcad returned a value or gradient that differs (``kind`` says which);
- ``stale``: right at first, wrong after the module's globals changed (same shapes/dtypes);
- ``crashed``: srcad raised something that is not a ``SrcadError`` (or an ``InternalError``,
  srcad's own name for a bug in itself), or took longer than the time limit;
- ``rejected``: srcad refused the program with a ``SrcadError``;
- ``discarded``: the point is next to a kink or branch flip, or the program is invalid
  (decided from the plain function before srcad's answer is looked at).

Each program is imported from its own file, so ``inspect.getsource`` works and every run has
fresh function objects. The reference and srcad's call each run under a time limit
(``SIGALRM``, in the main thread) so that one pathological compile cannot hang a batch.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np

import srcad
from srcad.testing.oracle import (
    InvalidProgram,
    Reference,
    gradient_tolerance,
    reference_gradient,
    value_tolerance,
)
from srcad.testing.program import Program
from srcad.testing.symbolic import symbolic_gradient
from srcad.testing.trees import fresh_copy, leaf_shape, leaves

STATUSES = ("passed", "wrong", "stale", "crashed", "rejected", "discarded")
FAILURES = ("wrong", "stale", "crashed")
SRCAD_DIRECTORY = str(Path(srcad.__file__).parent)
# The plain function runs in milliseconds; a program whose reference takes longer than this
# loops forever (the minimizer makes such programs when it deletes a loop counter).
REFERENCE_SECONDS = 5.0


@dataclass(frozen=True)
class Outcome:
    """What happened to one program."""

    family: str
    seed: int
    status: str
    kind: str = ""  # which failure, rejection or discard: groups outcomes in reports
    detail: str = ""  # the traceback tail, or the mismatching numbers
    seconds: float = 0.0


class ProgramTimeout(Exception):
    """A program's reference or srcad call ran past the time limit."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``ProgramTimeout`` inside the block after ``seconds`` (main thread only)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise ProgramTimeout(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_program(program: Program, directory: Path) -> ModuleType:
    """Write the program's module to a new file in ``directory`` and import it."""
    prefix = f"fuzz_{program.family}_{program.seed}_"
    handle, path = tempfile.mkstemp(prefix=prefix, suffix=".py", dir=directory)
    with os.fdopen(handle, "w") as file:
        file.write(program.source)
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_program(program: Program, directory: Path, timeout: float = 30.0) -> Outcome:
    """Judge one program: see the module docstring for the statuses."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status, kind, detail = _judge(program, directory, timeout)
    return Outcome(program.family, program.seed, status, kind, detail, time.perf_counter() - start)


def _judge(program: Program, directory: Path, timeout: float) -> tuple[str, str, str]:
    try:
        module = load_program(program, directory)
    except Exception as error:
        return "discarded", "invalid", f"the module does not load: {error!r}"
    if not callable(getattr(module, "f", None)):
        return "discarded", "invalid", "the module defines no function f"
    wrt = tuple(index for index, arg in enumerate(program.args) if leaves(arg))
    reference = _reference(module.f, program, wrt, timeout)
    if not isinstance(reference, Reference):
        return reference
    exact = _exact(program, timeout)
    if isinstance(exact, tuple):
        return exact
    transformed = srcad.value_and_grad(module.f, argnums=wrt)
    verdict = _check_srcad(transformed, program.args, reference, exact, timeout)
    if verdict[0] != "passed" or not program.world_change:
        return verdict
    return _check_world_change(module, transformed, program, wrt, timeout)


def _reference(
    fn: Callable, program: Program, wrt: tuple, timeout: float
) -> Reference | tuple[str, str, str]:
    """The reference, or the verdict ``discarded`` with the reason."""
    try:
        with time_limit(min(timeout, REFERENCE_SECONDS)):
            reference = reference_gradient(fn, program.args, wrt)
    except InvalidProgram as error:
        return "discarded", "invalid", str(error)
    except ProgramTimeout as error:
        return "discarded", "slow", f"the plain function {error}"
    if reference.discard:
        return "discarded", "kink", reference.discard
    return reference


def _exact(program: Program, timeout: float) -> list | None | tuple[str, str, str]:
    """sympy's gradient for symbolic programs (None for the others)."""
    if not program.is_symbolic:
        return None
    try:
        with time_limit(timeout):
            return symbolic_gradient(program.source, program.args)
    except ProgramTimeout:
        return "discarded", "slow", "sympy took too long"
    except Exception as error:
        return "discarded", "no-sympy", f"{type(error).__name__}: {error}"


def _check_srcad(
    transformed: Callable, args: tuple, reference: Reference, exact: list | None, timeout: float
) -> tuple[str, str, str]:
    """Call srcad's ``value_and_grad`` and compare its answer with the reference."""
    try:
        with time_limit(timeout):
            value, grads = transformed(*fresh_copy(args))
    except ProgramTimeout as error:
        return "crashed", "timeout", f"srcad {error}"
    except srcad.SrcadError as error:
        if type(error).__name__ == "InternalError":
            return "crashed", crash_kind(error), _traceback_tail(error)
        return "rejected", rejection_kind(error), str(error)
    except Exception as error:
        return "crashed", crash_kind(error), _traceback_tail(error)
    mismatch = compare_answer(value, grads, reference, exact)
    return ("wrong", *mismatch) if mismatch else ("passed", "", "")


def _check_world_change(
    module: ModuleType, transformed: Callable, program: Program, wrt: tuple, timeout: float
) -> tuple[str, str, str]:
    """Give the globals new values, then check the same transformed function again."""
    for key, value in program.world_change.items():
        if key.endswith("[...]"):
            getattr(module, key.removesuffix("[...]"))[...] = value
        else:
            setattr(module, key, fresh_copy((value,))[0])
    reference = _reference(module.f, program, wrt, timeout)
    if not isinstance(reference, Reference):
        return "passed", "", "the changed world was not checked: " + reference[2]
    status, kind, detail = _check_srcad(transformed, program.args, reference, None, timeout)
    if status == "wrong":
        changed = ", ".join(program.world_change)
        return "stale", kind, f"after {changed} changed: {detail}"
    return status, kind, detail


def compare_answer(
    value: object, grads: tuple, reference: Reference, exact: list | None
) -> tuple[str, str] | None:
    """(kind, detail) of the first difference from the reference, or None."""
    plain = reference.value
    if abs(float(value) - plain) > value_tolerance(plain):
        return "value", f"srcad's value {float(value)!r}, the plain function's {plain!r}"
    got = leaves(tuple(grads))
    shapes = [leaf_shape(leaf) for leaf in got]
    expected = [leaf_shape(leaf) for leaf in reference.gradient]
    if shapes != expected:
        return "structure", f"gradient leaves of shapes {shapes}, expected {expected}"
    rows = _mismatches(got, reference)
    if exact is not None:
        rows += _symbolic_mismatches(got, exact)
    if rows:
        kind = "gradient (nan)" if any(" srcad nan," in row for row in rows) else "gradient"
        return kind, "\n".join(rows[:8])
    return None


def _mismatches(got: list, reference: Reference) -> list[str]:
    rows = []
    for index, (leaf, expected) in enumerate(zip(got, reference.gradient, strict=True)):
        actual = np.asarray(leaf, dtype=float)
        for element in np.ndindex(expected.shape):
            a, e = float(actual[element]), float(expected[element])
            if not abs(a - e) <= gradient_tolerance(e, reference.scale):
                rows.append(f"leaf {index} {element}: srcad {a!r}, central differences {e!r}")
    return rows


def _symbolic_mismatches(got: list, exact: list) -> list[str]:
    rows = []
    for index, (leaf, expected) in enumerate(zip(got, exact, strict=True)):
        if not abs(float(leaf) - expected) <= 1e-7 * (1 + abs(expected)):
            rows.append(f"argument {index}: srcad {float(leaf)!r}, sympy {expected!r}")
    return rows


def rejection_kind(error: Exception) -> str:
    """``UnsupportedSyntax: 'for ... else' is not supported``: the error's type and the start
    of its message without the location, with quoted code and numbers blanked."""
    message = getattr(error, "detail", str(error)).splitlines()[0]
    return f"{type(error).__name__}: {_blank(message)[:70]}"


def crash_kind(error: BaseException) -> str:
    """``KeyError at srcad/codegen/names.py:name: N``: the error's type, the innermost
    srcad frame it passed through and its message with numbers blanked, to group crashes.
    An ``InternalError`` is described by the exception it wraps: its cause (``SRCAD_DEBUG=1``)
    or else the type and message its own message quotes."""
    if type(error).__name__ == "InternalError":
        if error.__cause__ is None:
            return "InternalError: " + _blank(_wrapped_error(str(error)))
        error = error.__cause__
    frames = traceback.extract_tb(error.__traceback__)
    inside = [frame for frame in frames if _is_srcad_frame(frame.filename)]
    where = "outside srcad"
    if inside:
        relative = os.path.relpath(inside[-1].filename, os.path.dirname(SRCAD_DIRECTORY))
        where = f"{relative}:{inside[-1].name}"
    if frames and not _is_srcad_frame(frames[-1].filename):
        where += " (then in generated or user code)"
    message = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__} at {where}: {_blank(message)}"


def _is_srcad_frame(filename: str) -> bool:
    inside = filename.startswith(SRCAD_DIRECTORY)
    return inside and not filename.startswith(os.path.join(SRCAD_DIRECTORY, "testing"))


def _wrapped_error(message: str) -> str:
    """``KeyError: 201`` out of "internal error in srcad while compiling ... (KeyError: 201)."""
    found = re.search(
        r"\(([A-Za-z_.]+(?:Error|Exception)\b[^()]*(?:\([^()]*\)[^()]*)*)\)\.", message
    )
    return found.group(1) if found else message.splitlines()[0]


def _blank(message: str) -> str:
    """Numbers as N, quoted code as '...', no IR dump, at most 90 characters: a message as a
    group key."""
    message = message.split(" in: ")[0]
    message = re.sub(r"'[^']*'", "'...'", message)
    return re.sub(r"[0-9]+", "N", message)[:90]


def _traceback_tail(error: BaseException) -> str:
    text = "".join(traceback.format_exception(error))
    return "\n".join(text.splitlines()[-24:])
