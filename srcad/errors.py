"""Errors srcad raises about user code.

Every error about the user's function carries the user's file name and line number in its
message, so that an editor or terminal can jump straight to the offending construct. What
the plain function itself raises, found while compiling (an index past the end, 10 // 0),
is also of that error's class (``raised_as``: ``SrcadIndexError`` is a ``SrcadError`` and an
``IndexError``), so that the user's ``except IndexError`` catches it as it catches Python's.
"""

from __future__ import annotations


class SrcadError(Exception):
    """An error about user code, located at ``file:line``."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        self.file = file
        self.line = line
        self.detail = message
        super().__init__(f"{file}:{line}: {message}" if file else message)

    def __reduce__(self) -> tuple:
        """Pickled with its message, file and line (a worker's error sent back)."""
        return (type(self), (self.detail, self.file, self.line))

    def at(self, file: str | None, line: int | None) -> SrcadError:
        """This error at ``file:line``, where it names no place yet (one that a rule of the
        user's raised: its bwd returned a cotangent of another shape)."""
        return self if self.file is not None else type(self)(self.detail, file, line)


class UnsupportedSyntax(SrcadError):
    """The function uses a Python construct srcad cannot differentiate through."""


class NoDerivativeRule(SrcadError):
    """The function calls an operation that has no derivative rule."""


class ShapeError(SrcadError):
    """Operands whose shapes do not fit together (found while compiling)."""


class InternalError(SrcadError):
    """A bug in srcad, found while compiling the user's line named in the message; the
    message names a reproduction file to attach to a bug report."""

    def __init__(
        self,
        message: str,
        file: str | None = None,
        line: int | None = None,
        repro: str | None = None,
    ):
        super().__init__(message, file, line)
        self.repro = repro

    def __reduce__(self) -> tuple:
        return (type(self), (self.detail, self.file, self.line, self.repro))


# The plain function's errors srcad finds while compiling and raises as its own error of
# the same class too (``raised_as``): a user's ``except IndexError`` still catches them
# (not StopIteration, which Python turns into a RuntimeError inside a generator's frame)
PLAIN_ERRORS = frozenset(
    {
        IndexError,
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        ZeroDivisionError,
        OverflowError,
        ArithmeticError,
        FloatingPointError,
        RuntimeError,
        LookupError,
    }
)
_RAISED_AS: dict[type, type[SrcadError]] = {}


def raised_as(kind: type[BaseException]) -> type[SrcadError]:
    """``SrcadError`` that is also a ``kind`` (``SrcadIndexError``): what the plain function
    raises at the user's line, found while compiling, caught by ``except kind`` as Python's
    own would be. Classes outside ``PLAIN_ERRORS`` (and their subclasses, NumPy's
    ``LinAlgError``) get the nearest one among them; others plain ``SrcadError``."""
    base = next((k for k in getattr(kind, "__mro__", ()) if k in PLAIN_ERRORS), None)
    if base is None:
        return SrcadError
    if kind not in _RAISED_AS:
        chosen = kind if _takes_a_message(kind) else base
        made = _RAISED_AS[kind] = type(
            f"Srcad{chosen.__name__}",
            (SrcadError, chosen),
            {
                "__module__": __name__,
                "__doc__": f"{chosen.__name__}, found by srcad.",
                "__str__": Exception.__str__,  # KeyError's would quote the message
                "__reduce__": _reduce_raised_as,
                "plain_kind": kind,
            },
        )
        globals().setdefault(made.__name__, made)  # srcad.errors.SrcadIndexError, ...
    return _RAISED_AS[kind]


def _reduce_raised_as(error: SrcadError) -> tuple:
    """Pickled as the plain error's class (by reference) and the message, file and line: a
    process that has not made that class yet makes it when it unpickles one."""
    kind = type(error).plain_kind  # type: ignore[attr-defined]
    return (_remade, (kind, error.detail, error.file, error.line))


def _remade(kind: type[BaseException], message: str, file: str | None, line: int | None):
    return raised_as(kind)(message, file, line)


def _takes_a_message(kind: type) -> bool:
    """Whether exceptions of ``kind`` are made from a message alone (NumPy's and SciPy's
    errors derive from Python's without more fields; UnicodeDecodeError takes five)."""
    try:
        kind("message")
    except Exception:  # noqa: BLE001 - any class that cannot be made so
        return False
    return kind.__init__ in (BaseException.__init__, Exception.__init__) or all(
        "__init__" not in vars(k) for k in kind.__mro__ if k.__module__ != "builtins"
    )  # (NumPy's AxisError takes an axis: its nearest Python class is chosen)


def _made_ahead() -> None:
    """The classes ``raised_as`` makes for Python's errors and NumPy's LinAlgError, made at
    import: another process unpickles one by its name."""
    import numpy as np

    for kind in (*PLAIN_ERRORS, np.linalg.LinAlgError):
        raised_as(kind)


class ArgumentTypeError(TypeError):
    """A wrong argument to the API itself (documented as a ``TypeError``), raised on purpose;
    located at the user's function where that helps."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        self.file = file
        self.line = line
        super().__init__(f"{file}:{line}: {message}" if file else message)


class ArgumentValueError(ValueError):
    """A wrong argument value to the API itself (documented as a ``ValueError``)."""


# What srcad raises on purpose: everything else escaping a compilation is a bug in srcad.
RAISED_ON_PURPOSE = (SrcadError, ArgumentTypeError, ArgumentValueError)


class GradientMismatch(SrcadError, AssertionError):
    """``check_grad`` found a gradient that differs from finite differences: an error about
    the user's code (a rule of theirs, or a bug in srcad) and a failed assertion in a test."""


_made_ahead()
