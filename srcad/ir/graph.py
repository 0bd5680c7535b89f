"""The SSA graph: values (``Var``, ``Const``), equations (``Eqn``) and graphs (``Graph``).

Every ``Var`` is defined exactly once, either as a graph input or as the output of one
equation, and every use comes after its definition. Values carry an abstract value
(``AVal``: shape and dtype) because srcad compiles one graph per argument signature, as a jit
does: shapes are known statically, so rules and code generation can decide broadcasting
and matrix-product layouts at compile time.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import ClassVar, NamedTuple

import numpy as np


class AVal(NamedTuple):
    """Abstract value: the static shape and dtype of a runtime value.

    ``is_weak`` marks Python scalars, which take the dtype of the arrays they meet
    (NumPy's NEP 50 promotion), so ``2.0 * x`` keeps a float32 ``x`` in float32.
    """

    shape: tuple[int, ...]
    dtype: str
    is_weak: bool = False

    # A named tuple rather than a dataclass: one is made for every argument of every call.

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(math.prod(self.shape))

    @property
    def is_float(self) -> bool:
        return _kind(self.dtype) == "f"  # real floats: the rules assume real values

    def short(self) -> str:
        kind = {"float64": "f64", "float32": "f32", "int64": "i64", "bool": "bool"}
        dims = ",".join(str(n) for n in self.shape)
        weak = "~" if self.is_weak else ""
        return f"{weak}{kind.get(self.dtype, self.dtype)}[{dims}]"


@dataclass(frozen=True)
class Loc:
    """Where a value came from in the user's source."""

    file: str
    line: int
    text: str
    function: str = ""


@functools.cache
def _kind(dtype: str) -> str:
    """NumPy's kind letter of a dtype name (``f`` for float32), looked up once per name;
    ``U`` for a string constant (its name, ``str32``, is no dtype NumPy reads back)."""
    return "U" if dtype.startswith("str") else np.dtype(dtype).kind


def source_position(loc: Loc | None) -> tuple[str | None, int | None]:
    """``(file, line)`` of ``loc`` for an error message; ``(None, None)`` when unknown."""
    return (loc.file, loc.line) if loc is not None else (None, None)


class RoleKind(Enum):
    """What a derivative value is to the value it was derived from."""

    ADJOINT = "adjoint"  # d out / d value, accumulated by the backward sweep
    TANGENT = "tangent"  # d value / d inputs along the input tangents (forward mode)
    RESTORED = "restored"  # the value itself, popped from the tape in a backward loop
    PROBE = "probe"  # a zero added to the value, whose gradient is its adjoint (explain)


@dataclass(frozen=True)
class VarRole:
    """A fact about a value made by a transformation: it is the ``kind`` of value ``of``
    (``VarRole(RoleKind.ADJOINT, 12)``: the adjoint of var 12)."""

    kind: RoleKind
    of: int


@dataclass(frozen=True)
class Var:
    """An SSA value, named by a unique ``id``; ``hint`` is the user's name for it, if any;
    ``role`` says which value it is a derivative (or a restored copy) of, if any.

    Vars compare and hash by ``id``, ``hint`` and ``aval``: ``role`` takes no part, so a
    var keeps its identity in sets and dicts however its role is recorded.
    """

    id: int
    hint: str
    aval: AVal
    role: VarRole | None = field(default=None, compare=False)

    # A compile makes and looks up thousands of vars: written without the frozen
    # dataclass's per-field object.__setattr__ (3x faster), hashed by id alone (equal vars
    # have equal ids, so this agrees with ==).
    def __init__(self, id: int, hint: str, aval: AVal, role: VarRole | None = None):  # noqa: A002
        fields = self.__dict__
        fields["id"] = id
        fields["hint"] = hint
        fields["aval"] = aval
        fields["role"] = role

    def __hash__(self) -> int:
        return self.id  # an int: as good a hash as hash(id), one call fewer

    def __eq__(self, other: object) -> bool:  # the dataclass's, without building tuples
        if self is other:
            return True
        if not isinstance(other, Var):
            return NotImplemented
        return self.id == other.id and self.hint == other.hint and self.aval == other.aval

    @property
    def is_named(self) -> bool:
        """Whether the value has a name of its own: the user's, or one from its role."""
        return bool(self.hint) or self.role is not None

    def is_role(self, kind: RoleKind) -> bool:
        """Whether the value is the ``kind`` (adjoint, tangent, ...) of another value."""
        return self.role is not None and self.role.kind is kind

    def names_alike(self, other: Var) -> bool:
        """Whether both values would be named from the same facts (hint and role)."""
        return self.hint == other.hint and self.role == other.role


@dataclass(frozen=True, eq=False)
class Const:
    """A value known at compile time.

    Python scalars are written inline in generated code; arrays are referenced by ``name``
    (the user's global or closure name) and handed to the generated module at load time.
    Consts compare by identity because arrays do not have a usable ``==``.
    """

    value: object
    name: str = ""

    @property
    def aval(self) -> AVal:
        return aval_of(self.value)


Atom = Var | Const


@dataclass(frozen=True)
class Eqn:
    """``outputs = prim(*inputs, **params)``.

    ``role`` says which sweep produced the equation (``primal``, ``adjoint`` or ``tangent``);
    ``origin`` is, for a derivative equation, the id of the first output of the primal
    equation it differentiates (code generation uses it for comments). ``quiet``: the
    equation computes, at some elements, values a mask drops (the backward lines of a
    ``np.where`` branch); NumPy's warnings about those say nothing, and code generation
    silences them.
    """

    prim: str
    inputs: tuple[Atom, ...]
    outputs: tuple[Var, ...]
    params: tuple[tuple[str, object], ...] = ()
    loc: Loc | None = None
    role: str = "primal"
    origin: int | None = None
    quiet: bool = False

    def __init__(  # as Var's: without the frozen dataclass's per-field object.__setattr__
        self,
        prim: str,
        inputs: tuple[Atom, ...],
        outputs: tuple[Var, ...],
        params: tuple[tuple[str, object], ...] = (),
        loc: Loc | None = None,
        role: str = "primal",
        origin: int | None = None,
        quiet: bool = False,
    ):
        fields = self.__dict__
        fields["prim"] = prim
        fields["inputs"] = inputs
        fields["outputs"] = outputs
        fields["params"] = params
        fields["loc"] = loc
        fields["role"] = role
        fields["origin"] = origin
        fields["quiet"] = quiet
        # the sub-graphs in params (branches, loop body, condition): a walk asks every
        # equation for them, so they are found once, here (not a field: no part of ==)
        graphs: list[Graph] = []
        for _, value in params:
            if type(value) is Graph:
                graphs.append(value)
            elif type(value) is tuple:
                graphs.extend(v for v in value if type(v) is Graph)
        fields["graphs"] = tuple(graphs)

    graphs: ClassVar[tuple[Graph, ...]] = ()  # each equation's own, set by __init__

    @property
    def param_dict(self) -> dict[str, object]:
        return dict(self.params)


@dataclass(frozen=True)
class Graph:
    """A function: ``outputs = body(inputs)`` with equations in execution order."""

    name: str
    inputs: tuple[Var, ...]
    eqns: tuple[Eqn, ...]
    outputs: tuple[Atom, ...]


def aval_of(value: object) -> AVal:
    """The abstract value of a concrete Python or NumPy value."""
    if isinstance(value, bool):
        return AVal((), "bool", is_weak=True)
    if isinstance(value, int):
        return AVal((), "int64", is_weak=True)
    if isinstance(value, float) and not isinstance(value, np.generic):  # np.float64 is strong
        return AVal((), "float64", is_weak=True)
    array = np.asarray(value)
    return AVal(tuple(array.shape), array.dtype.name)
