"""The layout of one call's arguments, and which of them are differentiated.

``ArgSignature`` is what a compiled function is compiled for (``srcad.api.signature`` works
it out from a call); ``Wrt`` is ``argnums`` checked once, in one meaning, for every
transformation. Both are data that every stage after the API may read.
"""

from __future__ import annotations

import enum
import random
import types
from dataclasses import dataclass, field

import numpy as np

from srcad.errors import ArgumentTypeError, ArgumentValueError
from srcad.ir import AVal
from srcad.pytree import TreeDef, fields_of, leaf_paths, spelled, unflatten

# Functions an argument may hold (``activation=np.tanh``, ``act=relu``, a lambda), Enum
# members (``mode=Mode.TRAIN``) and modules (``xp=np``, array-API code's namespace argument):
# constants of the signature, compared by identity. A
# function's own reads (its globals, closure cells, defaults) are staged when the lowering
# calls it, as a helper's are, and checked every call.
IDENTITY_CONSTANTS = (
    types.FunctionType,
    types.BuiltinFunctionType,
    np.ufunc,
    type(np.sum),  # NumPy's functions that dispatch on array types
    enum.Enum,
    types.ModuleType,
)


RANDOM_GENERATORS = (np.random.Generator, np.random.RandomState, random.Random)


@dataclass(frozen=True)
class GeneratorArgument:
    """A random generator passed as an argument (``loss(params, x, rng)``), compiled for
    its class: the generated code calls its drawing methods on the generator passed, on
    every call, as the plain function does."""

    cls: type

    def stand_in(self) -> object:
        """A generator of the same kind, to work out what a draw returns when compiling."""
        if issubclass(self.cls, np.random.Generator):
            return np.random.default_rng(0)
        if issubclass(self.cls, np.random.RandomState):
            return np.random.RandomState(0)
        return random.Random(0)

    def __repr__(self) -> str:
        return self.cls.__name__


def _constant_kind(value: object) -> str:
    return "Enum member" if isinstance(value, enum.Enum) else "function"


def constant_text(value: object) -> str:
    """A constant as a header or a message shows it: ``np.tanh``, ``mlp.relu``, ``3``."""
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if not isinstance(value, IDENTITY_CONSTANTS):
        return repr(value)
    module = getattr(value, "__module__", None) or ("numpy" if isinstance(value, np.ufunc) else "")
    module = "np" if module == "numpy" or module.startswith("numpy.") else module
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", repr(value))
    return f"{module}.{name}" if module and module != "builtins" else name


@dataclass(frozen=True)
class ArgSignature:
    """The abstract form of one call: per parameter, its structure and abstract leaves."""

    params: tuple[str, ...]
    treedefs: tuple[TreeDef, ...]
    leaves: tuple[tuple, ...]
    # the classes of the constant leaves: 1 == True, and they hash alike, yet a compile for
    # an int takes no bool (its guard checks the class)
    constant_classes: tuple[type, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        classes = tuple(type(leaf) for leaves in self.leaves for leaf in leaves)
        object.__setattr__(self, "constant_classes", classes)

    def trees(self) -> dict[str, object]:
        return {
            name: unflatten(treedef, list(leaves))
            for name, treedef, leaves in zip(self.params, self.treedefs, self.leaves, strict=True)
        }

    def describe(self) -> str:
        """The layout in one line, as generated files state it: ``W float64[3, 3], x float,
        params [(float64[4, 3], float64[4])], n=3`` (constants are fixed by value)."""
        parts = []
        for name, tree in self.trees().items():
            is_constant = (
                not isinstance(tree, (AVal, tuple, list, dict, GeneratorArgument))
                and fields_of(tree) is None
            )
            if is_constant:
                parts.append(f"{name}={constant_text(tree)}")
            else:
                parts.append(f"{name} {describe_tree(tree)}")
        return ", ".join(parts)


def describe_tree(tree: object) -> str:
    """``float64[3, 3]`` for an array, ``float`` for a Python float, containers spelled as
    Python spells them, constants by their ``repr``."""
    if isinstance(tree, AVal):
        return "float" if tree.is_weak else f"{tree.dtype}[{', '.join(map(str, tree.shape))}]"
    if isinstance(tree, GeneratorArgument):
        return repr(tree)
    fields = fields_of(tree)
    if fields is not None:
        items = ", ".join(f"{field}={describe_tree(getattr(tree, field))}" for field in fields)
        return f"{type(tree).__qualname__}({items})"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k!r}: {describe_tree(v)}" for k, v in tree.items()) + "}"
    if isinstance(tree, (tuple, list)):
        items = ", ".join(describe_tree(item) for item in tree)
        if isinstance(tree, list):
            return f"[{items}]"
        return f"({items},)" if len(tree) == 1 else f"({items})"
    return repr(tree)


@dataclass(frozen=True)
class Wrt:
    """``argnums`` checked: the positional arguments differentiated, in the order given, and
    whether one was named (an int: the gradient itself) or several (a tuple of gradients).

    ``Wrt.of(argnums)`` is the only place ``argnums`` is read; ``check`` then says, once for
    every transformation, that each named argument is made of floats only (an int inside a
    differentiated tuple is an error, not silently skipped)."""

    numbers: tuple[int, ...]
    is_single: bool
    every_float_argument: bool = False  # jvp's and vjp's: not named by argnums

    @classmethod
    def of(cls, argnums: object) -> Wrt:
        if _is_index(argnums):  # argnums=np.int64(1), as JAX takes it
            argnums = int(argnums)  # type: ignore[call-overload]
        if isinstance(argnums, bool) or not isinstance(argnums, (int, tuple, list)):
            raise ArgumentTypeError(f"argnums must be an int or a tuple of ints, not {argnums!r}")
        numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        if not all(map(_is_index, numbers)):
            raise ArgumentTypeError(f"argnums must be an int or a tuple of ints, not {argnums!r}")
        numbers = tuple(map(int, numbers))
        if len(set(numbers)) != len(numbers):
            raise ArgumentValueError(f"argnums={argnums!r} names an argument twice; list each once")
        return cls(numbers, isinstance(argnums, int))

    def check_given(self, given: int, function_name: str) -> None:
        """Refuse a call that passes fewer positional arguments than ``argnums`` names: one
        given by keyword, or left to its default, is not differentiated (as in JAX)."""
        if self.numbers and max(self.numbers) >= given:
            raise ArgumentTypeError(
                f"differentiating {function_name} with respect to argnums={self.argnums} "
                f"needs at least {max(self.numbers) + 1} positional arguments, but the call "
                f"gives {given}: pass the arguments to differentiate by position (arguments "
                "given by keyword, or left to their defaults, are not differentiated)"
            )

    def counted_from(self, count: int | None, function_name: str) -> Wrt:
        """Negative numbers counted back from ``count`` positional arguments, as JAX counts
        ``argnums=-1`` (the last); ``count`` None: a function taking ``*args``, whose count
        varies from call to call."""
        if all(n >= 0 for n in self.numbers):
            return self
        if count is None:
            raise ArgumentValueError(
                f"argnums={self} counts from the end, and {function_name} takes *args: its "
                "number of arguments varies; count argnums from the start (0 is the first)"
            )
        numbers = tuple(n + count if n < 0 else n for n in self.numbers)
        if any(n < 0 for n in numbers):
            raise ArgumentTypeError(
                f"argnums={self} does not name a positional argument of {function_name}, "
                f"which takes {count} positional arguments"
            )
        if len(set(numbers)) != len(numbers):
            raise ArgumentValueError(f"argnums={self} names an argument twice; list each once")
        return Wrt(numbers, self.is_single)

    @classmethod
    def floats_with_settings(cls, signature: ArgSignature, count: int) -> Wrt:
        """Every positional argument (among the first ``count``) that holds floats: what
        ``vjp`` and ``jvp`` differentiate. Its other leaves must be settings (ints, bools,
        strings, None: constants, as in ``grad``); ``check`` refuses any other (a function,
        an int array), which the tangents would otherwise leave out silently."""
        numbers = tuple(n for n in range(count) if _is_float_tree_part(signature, n))
        return cls(numbers, False, every_float_argument=True)

    def _left_out(self) -> str:
        if self.every_float_argument:
            return "(one holding no floats: jvp and vjp differentiate every one that does)"
        return "(leave it out of argnums)"

    def _subject(self, number: int, name: str) -> str:
        """How a refusal names a differentiated argument."""
        if self.every_float_argument:
            return f"argument {number} ('{name}') holds floats, so it is differentiated, and it"
        return f"argnums includes {number} (argument '{name}'), which"

    def __str__(self) -> str:
        return str(self.argnums)

    @property
    def argnums(self) -> int | tuple[int, ...]:
        """As a transformation takes it: an int, or a tuple."""
        return self.numbers[0] if self.is_single else self.numbers

    def pick(self, per_argument: object) -> object:
        """One result per differentiated argument, as the user asked: the only one for an
        int ``argnums``, else a tuple."""
        items = tuple(per_argument)  # type: ignore[call-overload]
        return items[0] if self.is_single else items

    def check(self, signature: ArgSignature, function_name: str) -> None:
        """Each differentiated argument exists and is made of floats only."""
        for number in self.numbers:
            if not 0 <= number < len(signature.params):
                raise ArgumentTypeError(
                    f"argnums={self} does not name a positional argument of "
                    f"{function_name}{tuple(signature.params)}"
                )
            name, tree = signature.params[number], signature.treedefs[number]
            paths = leaf_paths(tree)
            for leaf, path in zip(signature.leaves[number], paths, strict=True):
                at = f" at {spelled(name, path)}" if path else ""  # the field in a tree
                if isinstance(leaf, IDENTITY_CONSTANTS):
                    raise ArgumentTypeError(
                        f"{self._subject(number, name)} holds the "
                        f"{_constant_kind(leaf)} {constant_text(leaf)}{at}; pass "
                        "functions and Enum members in an argument that is not differentiated "
                        + self._left_out()
                    )
                if path and is_constant_leaf(leaf) and _is_float_tree_part(signature, number):
                    continue  # a setting among parameters: a constant (its gradient: zero)
                if not (isinstance(leaf, AVal) and leaf.is_float):
                    raise ArgumentTypeError(
                        f"{self._subject(number, name)} received "
                        f"{_kind_of(leaf)}{at}; differentiate with respect to floats "
                        f"or float arrays only, as JAX does: {_advice_for(leaf, bool(path))}"
                    )


def is_constant_leaf(leaf: object) -> bool:
    """An int, a bool, a string or None in a tree of parameters: a constant (API.md), whose
    gradient is the zero of its type (``False``, ``0``; itself for a string or None)."""
    return leaf is None or type(leaf) in (int, bool, str, np.str_)


def constant_gradient(leaf: object) -> object:
    return type(leaf)() if type(leaf) in (int, bool) else leaf


def _is_float_tree_part(signature: ArgSignature, number: int) -> bool:
    """Whether argument ``number`` holds some float (the constants are its settings)."""
    return any(isinstance(leaf, AVal) and leaf.is_float for leaf in signature.leaves[number])


def _is_index(number: object) -> bool:
    """An int or NumPy's integer scalar (not a bool)."""
    return isinstance(number, (int, np.integer)) and not isinstance(number, (bool, np.bool_))


def _is_float_tree(leaves: tuple) -> bool:
    return bool(leaves) and all(isinstance(leaf, AVal) and leaf.is_float for leaf in leaves)


def _advice_for(leaf: object, is_in_a_tree: bool = False) -> str:
    """What to do about a leaf that is not a float in a differentiated argument (an int in
    a tree of parameters is a setting more often than a number to differentiate)."""
    if isinstance(leaf, AVal) and leaf.shape == () and is_in_a_tree:  # {"k": np.int64(2)}
        return (
            "a NumPy int or bool among parameters is a number to differentiate for srcad: "
            "pass a Python int or bool (int(k)), which is a setting, or 3.0 rather than 3"
        )
    if isinstance(leaf, AVal) and is_in_a_tree:  # {"idx": np.array([0, 2])}
        return (
            "keep index arrays and other settings out of the differentiated argument (in "
            "another argument, or as attributes of a model object), or cast numbers to "
            "differentiate with .astype(float)"
        )
    if isinstance(leaf, AVal) or type(leaf) is int and not is_in_a_tree:
        return "pass 3.0 rather than 3, or cast with .astype(float)"
    return (
        "keep settings (strings, ints, None, functions) out of the differentiated argument: "
        "as class attributes of a model object, or in an argument left out of argnums"
    )


def _kind_of(leaf: object) -> str:
    if isinstance(leaf, AVal):
        return f"an array of dtype {leaf.dtype}"
    kind = type(leaf).__name__
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} ({leaf!r})"
