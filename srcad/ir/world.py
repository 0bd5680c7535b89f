"""The world: values a function reads from outside itself, and calls with effects.

srcad compiles once per argument signature, but a function also reads things that are not
arguments: module globals, closure cells, attributes of objects, elements of containers,
the default arguments of its helpers, random number generators. The staging model says
which of them are *fixed* when compiling and which are *read* on every call:

- read on every call (``WorldPath`` graph inputs): floats and float arrays. Generated code
  reads them at its top (``X = main_globals["X"]``), exactly as the plain function would.
- fixed (``WorldRead`` facts): ints, bools, strings, None, integer and boolean arrays, and
  which function, module or class each name refers to. The runtime guard checks every
  fixed read on every call; a change recompiles, it never runs old code.

A read of a float or array is also a ``WorldRead`` (``check="layout"``): its value is read
on every call, but its type, shape and dtype are fixed, so the guard checks those.

``outside_call`` is the primitive for calls whose effects matter (``print``, logging,
warnings) and for random draws (``np.random.*``, ``Generator`` methods, ``random.*``): they
are executed by the generated forward code once per call, in program order, never merged
with an equal-looking call, never removed, and the backward pass reuses their results.

    t = np.random.rand(3)           # outside_call  callee=np.random.rand  args=(3,)
    print("loss", loss)             # outside_call  callee=print  (an effect; result unused)
    history.append(loss)            # outside_call  callee=history.append  once=True

The statements that run in the generated code without computing data have primitives of
their own. ``raise`` raises an exception there (nothing after it in its block runs);
``format_string`` is an f-string of values computed from data, a string the generated code
formats (strings are never differentiated); a ``with`` block is a ``cond`` whose condition
is a ``Context`` constant: always entered, spelled ``with np.errstate(...):`` (its backward
and tangent branches too, so that they run inside the same context).

    raise ValueError(f"{s} < 0")    # raise  exception="ValueError"  args=(input 0,)
    label = f"{s:.2f}"              # format_string  pieces=((0, "", ".2f"),)
    with np.errstate(all="ignore"): # cond(Context(np.errstate, all="ignore"))

A ``try``/``except`` is a ``cond`` whose condition is a ``Catching`` constant: spelled
``try:`` (the first branch) ``except np.linalg.LinAlgError:`` (the second). Each branch
ends by setting a flag, an output of the ``cond``, which says which one ran; the backward
``cond`` tests it.

    try: L = np.linalg.cholesky(K)  # cond(Catching(("np.linalg.LinAlgError",), "_try1"))
"""

from __future__ import annotations

import logging
import pickle
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from srcad.ir.control import CONTROL
from srcad.ir.graph import Const, Eqn
from srcad.ir.prims import Prim, _add
from srcad.ir.walk import walk_eqns, with_sub_graphs

OUTSIDE = "outside"


@dataclass(frozen=True, eq=False)
class WorldPath:
    """Where a value lives outside the function: a root object then attribute and item steps.

    ``root`` is the object the path starts from (a module's globals dict, a closure cell, a
    function for its defaults, a module); generated code and guards receive it under
    ``root_name``. ``steps`` are ``("attr", name)`` or ``("item", key)``; ``text`` is the
    expression as the user wrote it (``cfg.scale``), for names and messages.
    """

    root: object
    root_name: str
    steps: tuple[tuple[str, object], ...]
    text: str

    @property
    def key(self) -> tuple:
        """Identifies the place read: the same root object and the same steps."""
        return (id(self.root), self.steps)

    def child(self, kind: str, key: object, text: str) -> WorldPath:
        return WorldPath(self.root, self.root_name, (*self.steps, (kind, key)), text)

    def value(self) -> object:
        """The value found at the path now (as generated code reads it on a call)."""
        if isinstance(self.root, ArgumentRoot):
            raise TypeError(f"{self.text} is read from an argument, not from outside")
        value = self.root
        for kind, key in self.steps:
            value = getattr(value, key) if kind == "attr" else value[key]  # type: ignore
        return value

    def expression(
        self, root_name: str | None = None, key_name: Callable[[object], str] | None = None
    ) -> str:
        """Python source that reads the value, with ``root_name`` (by default
        ``self.root_name``) bound to ``root``. A key that is not a literal (an object used
        as a dict key: ``self.shapes[layer]``) is spelled ``key_name(key)``, a name the code
        binds to it."""
        parts = [root_name or self.root_name]
        for kind, key in self.steps:
            if kind == "attr":
                parts.append(f".{key}")
            elif key_name is not None and not is_literal_key(key):
                parts.append(f"[{key_name(key)}]")
            else:
                parts.append(f"[{key!r}]")
        return "".join(parts)

    @property
    def name_hint(self) -> str:
        """A variable name for the value: the text where it is a name (``w`` of
        ``partial.args[0]``), else the last key that is a name, else the last name in the
        text (``cfg.scale`` → ``scale``)."""
        if self.text.isidentifier() and not self.text.startswith("__"):
            return self.text
        for _, key in reversed(self.steps):
            if isinstance(key, str) and key.isidentifier() and not key.startswith("__"):
                if key != "cell_contents":
                    return key
        words = "".join(c if c.isalnum() or c == "_" else " " for c in self.text).split()
        names = [w for w in words if w.isidentifier()]
        return names[-1] if names else "outside"


def is_literal_key(key: object) -> bool:
    """Whether ``repr(key)`` is Python source for an equal key."""
    if key is None or type(key) in (bool, int, float, str):
        return True
    return type(key) is tuple and all(map(is_literal_key, key))


@dataclass(frozen=True, eq=False)
class ArgumentRoot:
    """The root of a path into an argument of the function (``rng.normal`` of a generator
    passed in): generated code reads it from the parameter ``name``, on every call."""

    name: str


@dataclass(frozen=True)
class Context:
    """A context manager that generated code enters around a block (``with``): the call
    that makes it, with literal arguments; ``module`` is the one ``callee`` is found in."""

    callee: str
    module: str
    arguments: tuple[object, ...] = ()
    keywords: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        parts = [repr(value) for value in self.arguments]
        parts += [f"{name}={value!r}" for name, value in self.keywords]
        return f"{self.callee}({', '.join(parts)})"


@dataclass(frozen=True)
class Catching:
    """A ``try`` whose ``except`` catches ``exceptions`` (as generated code spells them:
    ``np.linalg.LinAlgError``); ``flag`` is the hint of the ``cond``'s output that is True
    where the ``try`` block ran to its end, False where the handler ran."""

    exceptions: tuple[str, ...]
    flag: str

    def __str__(self) -> str:
        return f"try ... except ({', '.join(self.exceptions)})"


def catching_of(eqn: Eqn) -> Catching | None:
    """What a ``cond`` that is a ``try`` statement catches; None for any other equation."""
    test = eqn.inputs[0] if eqn.prim == "cond" and eqn.inputs else None
    return test.value if isinstance(test, Const) and isinstance(test.value, Catching) else None


@dataclass(frozen=True, eq=False)
class WorldRead:
    """A fact the compiled code relies on, checked on every call.

    ``check`` is ``"layout"`` (a float or array read on every call: ``expected`` is its
    ``(type, shape, dtype)``), ``"identity"`` (``expected`` is the very object: a function,
    a module, a class), ``"equal"`` (``expected`` is a snapshot of a value fixed when
    compiling: an int, a string, an integer array), ``"length"``/``"keys"`` (a container's
    type and length or keys), ``"has"`` (whether the object before the path's last step
    has that attribute: ``hasattr(cfg, "decay")``; ``expected`` is True or False) or
    ``"absent"`` (the dict before the path's last step does not hold its key: a module's
    globals do not shadow the builtin ``abs`` the code called; ``expected`` is True).
    """

    path: WorldPath
    check: str
    expected: object


def _never_evaluated(*args, **kwargs):
    raise RuntimeError("outside calls are executed by generated code only")


# ``outside_call``: inputs are the traced arguments; params ``callee`` (a WorldPath or a
# spelling such as "np.random.rand"), ``arguments`` (the call's positional arguments: an int
# k for input k, or ("value", literal)) and ``keywords`` ((name, same), ...); ``once`` (only
# where true): skipped by the later passes of one call, the generated code calling it through
# ``once_per_call(history.append, loss)``, imported from ``srcad.runtime.passes``.
# ``once_per_call(update_attribute, model, "calls", "+=", 1)`` writes outside names,
# attributes and items (``srcad.lower.outside_writes``), by the kind of the last step.
ONCE_PER_CALL, ONCE_PER_CALL_MODULE = "once_per_call", "srcad.runtime.passes"
OUTSIDE_UPDATES = {"attr": "update_attribute", "item": "update_item"}
# ``refuse_changed_arguments((history, model), {"w": w, "h": h})`` first in such code: an
# argument holding an object the code changes was read before the change (a ValueError).
REFUSE_CHANGED_ARGUMENTS = "refuse_changed_arguments"
# the runtime's functions such calls name (imported from ONCE_PER_CALL_MODULE; effects only)
RUNTIME_CALLEES = frozenset({*OUTSIDE_UPDATES.values(), REFUSE_CHANGED_ARGUMENTS})
# ``at_line`` (param, where given): a warning or a log call, made through
# ``at_line((file, line, function, module), warnings.warn, "...")`` so that it names the
# user's line, not the generated file's
AT_LINE, AT_LINE_MODULE = "at_line", "srcad.runtime.located"
# A logger's methods (and logging's functions of the same names) that make a record at the
# caller's line, by the level of the record (``log`` takes it as its first argument)
LOGGING_LEVELS: dict[str, int | None] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
    "log": None,
}
_add(Prim("outside_call", _never_evaluated, OUTSIDE, 0, is_differentiable=False, has_effect=True))


def without_effects(eqns: tuple[Eqn, ...]) -> tuple[Eqn, ...]:
    """``eqns`` without the calls made only for their effects (``print``, logging, appends
    and writes outside), in branches and loop bodies too: code for the passes of one call
    after the first, run where ``silenced()`` cannot reach (as a function's own Python)."""
    kept = (eqn for eqn in eqns if not _is_effect_only(eqn))
    return tuple(with_sub_graphs(eqn, without_effects) for eqn in kept)


def has_effects(eqns: tuple[Eqn, ...]) -> bool:
    """Whether ``eqns`` make calls only for their effects (see ``without_effects``)."""
    return any(_is_effect_only(eqn) for eqn in walk_eqns(eqns))


def _is_effect_only(eqn: Eqn) -> bool:
    return eqn.prim == "outside_call" and eqn.outputs[0].aval.dtype == "object"


def is_random_draw(eqn: Eqn) -> bool:
    """An ``outside_call`` drawing random numbers: from a generator object the function reads
    (``rng.normal``), NumPy's global one (``np.random.rand``) or Python's (``random.gauss``)."""
    if eqn.prim != "outside_call":
        return False
    callee = eqn.param_dict.get("callee")
    if isinstance(callee, WorldPath):  # a generator's method (integers, choice too): a value
        return any(out.aval.dtype != "object" for out in eqn.outputs)  # not a logger's effect
    return isinstance(callee, str) and callee.startswith(("np.random.", "random."))


def _raised_by_generated_code(*args, **kwargs):
    raise RuntimeError("'raise' is executed by generated code only")


def formatted(*args, **kwargs):
    """An f-string's value (named so that a formatted ``loss`` is ``formatted_loss``)."""
    raise RuntimeError("f-strings of traced values are formatted by generated code only")


# ``raise``: params ``exception`` (a builtin's name, or ``("input", k)`` for a class given to
# the module), ``arguments`` and ``keywords`` as for ``outside_call`` (absent for ``raise
# ValueError``, the class alone) and ``is_from_none`` (``raise ... from None``). Its output
# is never read: effects have one so that dead-code elimination can keep them.
_add(Prim("raise", _raised_by_generated_code, CONTROL, 0, is_differentiable=False, has_effect=True))
# ``format_string``: an f-string; params ``pieces``: literal text (a str) or ``(k,
# conversion, spec)`` for input k formatted as ``{value!conversion:spec}``.
_add(Prim("format_string", formatted, OUTSIDE, 0, is_differentiable=False))


# --- random generators' states --------------------------------------------------------------
GENERATORS = (np.random.Generator, np.random.RandomState, random.Random)


def generator_state(owner: object) -> object:
    """The state of a random generator (NumPy's ``Generator`` or ``RandomState``, Python's
    ``random.Random``) as ``set_generator_state`` takes it back; None for anything else."""
    if isinstance(owner, np.random.Generator):
        return owner.bit_generator.state
    if isinstance(owner, np.random.RandomState):
        return owner.get_state()
    if isinstance(owner, random.Random):
        return owner.getstate()
    return None


def set_generator_state(owner: object, state: object) -> None:
    if isinstance(owner, np.random.Generator):
        owner.bit_generator.state = state  # type: ignore[assignment]
    elif isinstance(owner, np.random.RandomState):
        owner.set_state(state)  # type: ignore[arg-type]
    elif isinstance(owner, random.Random):
        owner.setstate(state)  # type: ignore[arg-type]


def same_generator_state(first: object, second: object) -> bool:
    """Whether two states are one (they hold arrays, which ``==`` does not compare whole)."""
    return pickle.dumps(first) == pickle.dumps(second)
