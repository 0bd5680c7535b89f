"""Runs of generated code after the first for one call: its effects silenced.

``jacfwd`` runs the code once per input element, ``jacrev`` once per output element, a
``vjp`` pullback once more for each cotangent. The user's ``print``, ``logging`` and
``warnings`` in the function happen once per call, as the plain function's do: the first
run shows them, later runs of the same call run under ``silenced()``, which sends standard
output and standard error nowhere, disables logging and ignores warnings for the run.
(Random draws are replayed for those runs by ``srcad.runtime.draws``.) Appends to lists from
outside the function, and writes of outside names and attributes (``update_attribute``,
``update_item``), go through ``once_per_call``, which skips them in a silenced run.

    with silenced():
        compiled.fn(*values, *tangents)      # a second pass: no second print, no append
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import logging
import operator
import types
import warnings
from collections.abc import Callable, Iterator

_SILENCED = contextvars.ContextVar("srcad_silenced", default=False)
# objects whose attributes are not an argument's data (``xp=np``, a callback, a library's)
LIBRARIES = frozenset({"builtins", "numpy", "scipy", "pandas", "srcad", "collections", "functools"})
NOT_HOLDERS = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.MethodType,
    types.BuiltinFunctionType,
)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Standard output and error, logging and warnings off while the block runs."""
    sink = io.StringIO()
    disabled = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    token = _SILENCED.set(True)
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
    finally:
        _SILENCED.reset(token)
        logging.disable(disabled)


def once_per_call(method: Callable, *args: object) -> None:
    """``method(*args)`` (``history.append(loss)``), except in a silenced run: generated
    code calls it for effects on objects from outside the function."""
    if not _SILENCED.get():
        method(*args)


def silenced_after_first(run: int) -> contextlib.AbstractContextManager[None]:
    """``silenced()`` for every run but the first (``run`` counts from 0)."""
    return silenced() if run > 0 else contextlib.nullcontext()


# The operators of updates, by how the generated code spells them, and the functions of
# ``operator`` that apply them: ``+`` (``calls = calls + 1``: a new value), ``+=`` (Python's
# in-place ``__iadd__``: into an array), ``r+`` (``total = loss + total``: the new one first).
OPERATOR_NAMES = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "truediv",
    "//": "floordiv",
    "%": "mod",
    "**": "pow",
    "@": "matmul",
    "|": "or_",
    "&": "and_",
    "^": "xor",
    "<<": "lshift",
    ">>": "rshift",
}


def _reversed(combine: Callable[[object, object], object]) -> Callable[[object, object], object]:
    return lambda current, value: combine(value, current)


UPDATES: dict[str, Callable[[object, object], object]] = {}
for _spelled, _name in OPERATOR_NAMES.items():
    UPDATES[_spelled] = getattr(operator, _name)
    UPDATES[f"{_spelled}="] = getattr(operator, f"i{_name.rstrip('_')}")
    UPDATES[f"r{_spelled}"] = _reversed(UPDATES[_spelled])


def update_attribute(owner: object, name: str, how: str, value: object) -> None:
    """``owner.name = value`` (``how`` is ``"="``), ``owner.name += value`` and the other
    augmented assignments, or ``owner.name = owner.name + value`` (``"+"``...), as Python
    runs them."""
    if how != "=":
        value = UPDATES[how](getattr(owner, name), value)
    setattr(owner, name, value)


def update_item(owner: dict, key: object, how: str, value: object) -> None:
    """``owner[key] = value``, ``owner[key] += value`` or ``owner[key] = owner[key] + value``
    (see ``update_attribute``)."""
    if how != "=":
        if key not in owner and "__name__" in owner:  # a module's globals: as Python says
            raise NameError(f"name {key!r} is not defined")
        value = UPDATES[how](owner[key], value)
    owner[key] = value


def refuse_changed_arguments(changed: tuple, arguments: dict, where: tuple) -> None:
    """Raise ValueError where an argument is, or holds, an object that the code changes
    through a global or an attribute (``history.append(loss)`` with ``history`` also passed
    in): the code read the argument when the call began, before the change, where Python
    reads it after. ``where`` says where each object in ``changed`` is changed."""
    wanted = {id(value): k for k, value in enumerate(changed)}
    for name, argument in arguments.items():
        for held in _objects_in(argument):
            if id(held) in wanted:
                raise ValueError(
                    f"the argument '{name}' is, or holds, a {type(held).__name__} that the "
                    f"function changes ({where[wanted[id(held)]]}); srcad reads arguments when "
                    "the call begins, so it would not see the change: pass a copy, or change "
                    "it through the argument"
                )


def _objects_in(value: object) -> list:
    """``value`` and the lists, tuples, dicts, arrays and objects of the user's classes it
    holds, at any depth (not the insides of library objects, modules or functions)."""
    found, pending, seen = [], [value], set()
    while pending:
        item = pending.pop()
        if id(item) in seen or isinstance(item, (int, float, str, bytes, bool, type(None))):
            continue
        seen.add(id(item))
        found.append(item)
        if isinstance(item, (list, tuple, set, frozenset)):
            pending += list(item)
        elif isinstance(item, dict):
            pending += list(item.values())
        elif _is_users_object(item):
            pending += list(vars(item).values())
    return found


def _is_users_object(item: object) -> bool:
    """An object of a class of the user's (its attributes are the user's data)."""
    module = type(item).__module__.split(".")[0]
    return (
        hasattr(item, "__dict__") and not isinstance(item, NOT_HOLDERS) and module not in LIBRARIES
    )
