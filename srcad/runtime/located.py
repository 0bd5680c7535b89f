"""Warnings and log records of the user's function, reported at the user's line.

Comes in: a call the generated code makes for the function (``warnings.warn``, a logger's
``info``/``warning``/..., ``logging.warning``), with the line of the user's it stands for.
Goes out: the same warning or record, located at that line, as the plain function's would
be: a warning's file and line (also what the ``default`` filter shows once per place), a log
record's ``pathname``, ``lineno`` and ``funcName``. Called directly, they would name the
generated file's line::

    at_line(("/home/me/model.py", 12, "loss", "model"), warnings.warn, "lr is large")

A warning's ``stacklevel=2`` names the line that called the transformed function, as the
plain function's would name its caller's. Later runs of one call (``silenced()``) show
nothing: warnings are ignored and logging is disabled there.
"""

from __future__ import annotations

import logging
import sys
import traceback
import warnings
from collections.abc import Callable

from srcad.ir.world import LOGGING_LEVELS
from srcad.runtime.errors import is_srcads
from srcad.runtime.store import generated_dir

UsersLine = tuple[str, int, str, str]  # file, line, function, module


def at_line(where: UsersLine, effect: Callable, *args: object, **kwargs: object) -> None:
    """``effect(*args, **kwargs)`` as if called at the user's line ``where``."""
    if effect is warnings.warn:
        _warn(where, *args, **kwargs)
        return
    logger = getattr(effect, "__self__", None)
    if not isinstance(logger, logging.Logger):  # logging.warning(...): the root logger's
        logger = logging.getLogger()
        if not logger.handlers:
            logging.basicConfig()  # as logging's own functions do
    name = effect.__name__
    level, args = (args[0], args[1:]) if name == "log" else (LOGGING_LEVELS[name], args)
    if not isinstance(level, int) or not logger.isEnabledFor(level):
        return
    _log(logger, level, where, args, kwargs, name == "exception")


def _log(logger, level, where, args, kwargs, is_exception) -> None:
    file, line, function, _ = where
    exc_info = kwargs.get("exc_info", is_exception)
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    elif exc_info and not isinstance(exc_info, tuple):
        exc_info = sys.exc_info()
    stack = None
    if kwargs.get("stack_info"):
        stack = "Stack (most recent call last):\n" + "".join(traceback.format_stack())
    msg, *rest = args
    extra = kwargs.get("extra")
    record = logger.makeRecord(
        logger.name, level, file, line, msg, tuple(rest), exc_info or None, function, extra, stack
    )
    logger.handle(record)


def _warn(where: UsersLine, message, category=None, stacklevel=1, source=None) -> None:
    file, line, _, module = where
    if isinstance(message, Warning):
        category = type(message)
    namespace = getattr(sys.modules.get(module), "__dict__", None)
    if stacklevel > 1:  # a line outside the function: its caller's, outside srcad
        frame = _outer_frame(stacklevel - 1)
        if frame is not None:
            file, line, namespace = frame.f_code.co_filename, frame.f_lineno, frame.f_globals
            module = namespace.get("__name__", module)
    registry = namespace.setdefault("__warningregistry__", {}) if namespace is not None else None
    warnings.warn_explicit(
        message,
        category or UserWarning,
        file,
        line,
        module=module,
        registry=registry,
        module_globals=namespace,
        source=source,
    )


def _outer_frame(levels: int):
    """The frame ``levels`` callers out from the user's function, counting only frames of
    code outside srcad and its generated code."""
    frame = sys._getframe(3)  # at_line's caller's caller: past the generated function
    while frame is not None:
        if not _is_srcads(frame.f_code.co_filename):
            levels -= 1
            if levels == 0:
                return frame
        frame = frame.f_back
    return None


def _is_srcads(filename: str) -> bool:
    """srcad's own code, a function it compiled (``<srcad entry>``), or its generated code."""
    return is_srcads(filename) or filename.startswith(str(generated_dir()))
