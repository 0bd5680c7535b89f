"""Shape and dtype inference: the abstract value each primitive produces.

Elementwise primitives broadcast their inputs and promote dtypes the way NumPy does (weak
Python scalars included). Every other primitive is evaluated once on stand-in arrays of the
right shape and dtype that occupy no memory (zero strides), which keeps the rules of NumPy
itself as the single source of truth; Python's functions of a number (``Prim.takes_numbers``:
``int(v)``) get NumPy's scalars, and a Python number they give is weak.
"""

from __future__ import annotations

import functools

import numpy as np

from srcad.ir.graph import AVal
from srcad.ir.prims import COMPARISON, ELEMENTWISE, PRIMS


def infer_avals(prim_name: str, avals: list[AVal], params: dict) -> tuple[AVal, ...]:
    """The output avals of ``prim_name`` applied to inputs with ``avals``.

    Raises ValueError (with NumPy's message) when the shapes do not fit together. The
    answer for the same primitive, avals and params is remembered (a loop body or a long
    function asks the same question many times).
    """
    prim = PRIMS[prim_name]
    if prim.kind in (ELEMENTWISE, COMPARISON):
        same = (prim_name, *avals)  # no params
        known = _KNOWN.get(same)
        if known is None:
            known = _KNOWN[same] = (_elementwise_aval(prim.name, avals),)
        return known
    try:
        key = (prim_name, tuple(avals), tuple(sorted(params.items())))
        hash(key)
    except TypeError:  # a param NumPy takes as a list or an array
        return _evaluated_avals(prim_name, avals, params)
    known = _KNOWN.get(key)
    if known is None:
        known = _KNOWN[key] = _evaluated_avals(prim_name, avals, params)
    return known


_KNOWN: dict[tuple, tuple[AVal, ...]] = {}  # (prim_name, avals..., [params]) -> avals


def evaluated_output(prim_name: str, avals: list[AVal], params: dict) -> object:
    """What the primitive's function returns on stand-ins of ``avals``."""
    prim = PRIMS[prim_name]
    full_rank = prim_name in FULL_RANK
    stand_ins = [_stand_in(a, full_rank) for a in avals]
    if prim.takes_numbers:  # round(np.float64(1.0)), as generated code calls it
        stand_ins = [_number(s) for s in stand_ins]
    positional, keywords = prim.arrange(stand_ins, params)
    return prim.fn(*positional, **keywords)


def _evaluated_avals(prim_name: str, avals: list[AVal], params: dict) -> tuple[AVal, ...]:
    """The avals of the primitive evaluated on stand-ins."""
    prim = PRIMS[prim_name]
    out = evaluated_output(prim_name, avals, params)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    # Python's function of a number gives a Python number (int(v)): weak, as NumPy
    # promotes it; NumPy's functions give NumPy's scalars and arrays
    return tuple(
        AVal(
            tuple(np.shape(o)),
            np.asarray(o).dtype.name,
            prim.takes_numbers and type(o) in PYTHON_NUMBERS,
        )
        for o in outs
    )


PYTHON_NUMBERS = (bool, int, float)


def _elementwise_aval(prim_name: str, avals: list[AVal]) -> AVal:
    shapes = [a.shape for a in avals]
    shape = shapes[0] if all(s == shapes[0] for s in shapes) else np.broadcast_shapes(*shapes)
    is_weak = all(a.is_weak for a in avals) and shape == ()
    return AVal(
        shape, _elementwise_dtype(prim_name, tuple((a.dtype, a.is_weak) for a in avals)), is_weak
    )


@functools.lru_cache(maxsize=4096)
def _elementwise_dtype(prim_name: str, kinds: tuple[tuple[str, bool], ...]) -> str:
    """The dtype of an elementwise primitive on inputs of these (dtype, is_weak) kinds."""
    stand_ins = [_scalar_stand_in(AVal((), dtype, is_weak)) for dtype, is_weak in kinds]
    with np.errstate(all="ignore"):
        out = PRIMS[prim_name].fn(*stand_ins)
    return np.asarray(out).dtype.name


def _scalar_stand_in(aval: AVal) -> object:
    if aval.is_weak:
        return {"float64": 0.5, "int64": 0, "bool": True}.get(
            aval.dtype, 0.5
        )  # 0: a valid position
    return (
        np.ones((), dtype=aval.dtype)
        if np.dtype(aval.dtype).kind not in "iu"
        else np.zeros((), dtype=aval.dtype)
    )


# Primitives whose outputs' shapes depend on the rank of a matrix: NumPy's lstsq returns the
# residuals of a tall matrix only at full rank. Their stand-ins have full rank (the shapes
# of the common case; the rules check the run-time shapes).
FULL_RANK = frozenset({"lstsq"})


def _number(stand_in: object) -> object:
    """A 0-d array's number (NumPy's scalar); anything else as it is."""
    return stand_in[()] if isinstance(stand_in, np.ndarray) and stand_in.ndim == 0 else stand_in


def _stand_in(aval: AVal, full_rank: bool = False) -> object:
    """A read-only array of the right shape and dtype backed by a single element (or an
    identity matrix: square, or with ``full_rank`` rectangular too)."""
    if aval.is_weak:
        return _scalar_stand_in(aval)
    shape = aval.shape
    if full_rank and len(shape) >= 2 and max(shape[-2:]) <= MAX_IDENTITY:
        return np.broadcast_to(np.eye(shape[-2], shape[-1], dtype=aval.dtype), shape)
    if len(shape) >= 2 and shape[-1] == shape[-2] and shape[-1] <= MAX_IDENTITY:
        # identity matrices: invertible and positive definite, as np.linalg wants
        return np.broadcast_to(np.eye(shape[-1], dtype=aval.dtype), shape)
    fill = 0 if np.dtype(aval.dtype).kind in "iu" else 1  # index arrays: valid positions
    return np.broadcast_to(np.full((), fill, dtype=aval.dtype), shape)


MAX_IDENTITY = 2048
