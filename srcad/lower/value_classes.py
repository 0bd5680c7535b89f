"""What class a value srcad traces has when the code runs, for the Python that asks:
``isinstance(lam, float)``, ``type(x) is np.ndarray``, ``hasattr(lam, "shape")``,
``getattr(v, "dtype", None)``, ``np.isscalar(lam)``.

A traced value stands for a number or an array, not for one Python class: a parameter the
guard lets through as a 0-d float64 may be a 0-d array or a ``np.float64`` on a later call,
and a number the code computes may be a ``float``, a NumPy scalar or a 0-d array depending on how
it was computed. Each traced value has the classes it may have (``possible_classes``):

- a parameter's: those its layout admits (``float`` for a float; an array, or the NumPy
  scalar of its dtype for a 0-d one); an array may be a subclass of ndarray that computes as
  ndarray does (``np.memmap``, a subclass carrying metadata), and so may arrays computed
  from it, so a question only such a subclass could answer otherwise is refused;
- a value read from outside (a global): its class, which the guard checks on every call;
- any other: an array where it has dimensions; else a Python number, the NumPy scalar of
  its dtype, or a 0-d array.

A question is answered when every possible class gives the same answer (``isinstance(x,
np.ndarray)`` of an array, ``isinstance(lam, float)`` of a float parameter), so the answer
holds on every call the guard lets through. Otherwise it is refused at the user's line,
with what to ask instead: srcad never guesses a branch.

Before: ``if isinstance(lam, float): scale = lam`` ran the ``else`` branch (a tracer is no
        float) and gave the gradient of the other function.
After:  the branch is taken, as in Python, on every call of this layout.
"""

from __future__ import annotations

import ast
import types
from collections.abc import Callable

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.ir import AVal, Var
from srcad.ir.builder import Tracer
from srcad.lower.context import Lowering

# The Python number of each dtype kind (a computed number may be one: ``float(v)``, ``v * 2.0``)
PYTHON_NUMBERS: dict[str, type] = {"f": float, "i": int, "u": int, "b": bool, "c": complex}


class ArraySubclass(np.ndarray):
    """Stands for a subclass of ndarray that an argument may be (``np.memmap``, one of the
    user's, see ``srcad.api.signature.behaves_as_ndarray``): arrays computed from it are one
    too. A question whose answer could differ for such a class is refused."""


ARRAYS: tuple[type, ...] = (np.ndarray, ArraySubclass)


def argument_classes(aval: AVal) -> tuple[type, ...]:
    """The classes a parameter's value of layout ``aval`` may have (what the guard admits)."""
    if aval.is_weak:
        return (float,)
    return ARRAYS if aval.shape else (*ARRAYS, np.dtype(aval.dtype).type)


def possible_classes(lowering: Lowering, value: Tracer) -> tuple[type, ...]:
    """The classes ``value`` may have when the code runs."""
    atom = value.atom
    known = lowering.world.input_classes.get(atom) if isinstance(atom, Var) else None
    if known is not None:
        return known
    if value.ndim:
        return ARRAYS
    number = PYTHON_NUMBERS.get(value.dtype.kind)
    scalar = value.dtype.type
    return (*ARRAYS, scalar) if number is None else (number, scalar, *ARRAYS)


def traced_isinstance(lowering: Lowering, value: Tracer, classinfo: object, node: ast.Call) -> bool:
    """``isinstance(value, classinfo)``; not of a subclass of ndarray (``np.memmap``, one of
    the user's), which an argument may or may not be."""
    if any(_is_array_subclass(cls) for cls in _classes_in(classinfo)):
        raise _refusal(lowering, node, value, possible_classes(lowering, value), ARRAY_INSTEAD)
    return _answer(lowering, value, lambda cls: issubclass(cls, classinfo), node)  # type: ignore[arg-type]


def traced_class(lowering: Lowering, value: Tracer, node: ast.Call) -> type:
    """``type(value)``, where the value has one possible class."""
    classes = possible_classes(lowering, value)
    if len(classes) == 1:
        return classes[0]
    raise _refusal(lowering, node, value, classes, "isinstance(v, float), or np.ndim(v) == 0,")


def traced_attribute_test(
    lowering: Lowering, function: object, value: Tracer, name: str, default: list, node: ast.Call
) -> object:
    """``hasattr(value, name)``; ``getattr(value, name[, default])`` where the value has the
    attribute (read as ``value.name``) or has it on no call (the default)."""
    classes = possible_classes(lowering, value)
    if ArraySubclass in classes and not hasattr(np.ndarray, name):  # a subclass's own
        raise _refusal(lowering, node, value, classes, ARRAY_INSTEAD)
    found = _answer(lowering, value, lambda cls: hasattr(cls, name), node)
    if function is hasattr:
        return found
    if not found and default:
        return default[0]
    try:
        return getattr(value, name)
    except AttributeError:
        raise lowering.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node)}': srcad cannot read .{name} of a value computed from data",
            node,
        ) from None


def traced_isscalar(lowering: Lowering, value: Tracer, node: ast.Call) -> bool:
    """``np.isscalar(value)``: a Python number or a NumPy scalar, not a 0-d array."""
    return _answer(lowering, value, lambda cls: not issubclass(cls, np.ndarray), node)


ARRAY_INSTEAD = "isinstance(v, np.ndarray), or pass what the subclass holds as arguments,"


def _classes_in(classinfo: object) -> list[object]:
    """The classes of ``isinstance``'s second argument: a class, a tuple, a union (``A | B``)."""
    if isinstance(classinfo, tuple):
        return [cls for item in classinfo for cls in _classes_in(item)]
    if isinstance(classinfo, types.UnionType):
        return list(classinfo.__args__)
    return [classinfo]


def _is_array_subclass(cls: object) -> bool:
    return isinstance(cls, type) and issubclass(cls, np.ndarray) and cls is not np.ndarray


def _answer(
    lowering: Lowering, value: Tracer, question: Callable[[type], bool], node: ast.Call
) -> bool:
    classes = possible_classes(lowering, value)
    answers = {bool(question(cls)) for cls in classes}
    if len(answers) == 1:
        return answers.pop()
    instead = "np.ndim(v) == 0, or pass a Python float (float(v)) where a float is meant,"
    raise _refusal(lowering, node, value, classes, instead)


def _refusal(
    lowering: Lowering, node: ast.Call, value: Tracer, classes: tuple[type, ...], instead: str
) -> Exception:
    names = [f"a {_class_name(cls)}" for cls in classes]
    either = ", ".join(names[:-1]) + f" or {names[-1]}"
    return lowering.located(
        UnsupportedSyntax,
        f"'{ast.unparse(node)}' asks about the class of a {value.aval.short()} value, which may "
        f"be {either} when the code runs, and the answer depends on which; ask {instead} "
        "instead",
        node,
    )


def _class_name(cls: type) -> str:
    if cls is ArraySubclass:
        return "subclass of numpy.ndarray"
    module = cls.__module__
    return cls.__name__ if module == "builtins" else f"{module.split('.')[0]}.{cls.__name__}"
