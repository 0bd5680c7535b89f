"""Algebraic simplification rules for one equation, and the key that finds it again (CSE).

The rules are applied twice over: by ``GraphBuilder.apply`` as each equation is made (so the
lowering and the derivative rules never see ``x * 1``), and by the passes
``srcad.passes.simplify`` and ``srcad.passes.cse`` over a whole graph. Both go through a
``Recorder``: what the rules need from whoever records equations.

Before:  %2 = broadcast_to %1 shape=(3,);  %3 = multiply %0 %2;  %4 = multiply 1.0 %3
After:   %3 = multiply %0 %1;  (%4 is %3)

- constant folding: every input a Python scalar constant (``2.0 - 1`` is ``1.0``);
- identity operands: ``x * 1``, ``1 * x``, ``x + 0``, ``x / 1``, ``x ** 1`` are ``x``, and
  ``-(-x)`` is ``x``, when the result has ``x``'s shape and dtype;
- ``np.abs(x) ** 2`` (an even power) is ``x ** 2``;
- ``x + x`` is ``2.0 * x`` for floats (a bool mask's ``m + m`` is ``m``, an int8's wraps); scalars first: ``s * (r * z)`` is ``(s * r) * z`` for scalars
  ``s``, ``r`` whose product has the result's precision (one pass over the array instead
  of two);
- a reduction of a 0-d array over axis 0 or -1, which NumPy's ufunc reductions take as no
  axis (``np.sum(np.float64(2.0), axis=0)`` is 2.0), is one with ``axis=None``;
- broadcasts: an elementwise operation reads the value a ``broadcast_to`` broadcast when it
  broadcasts by itself to the same result; reshaping a broadcast scalar is broadcasting it to
  the new shape; a reshape, ``broadcast_to`` or ``expand_dims`` to the same shape is its input.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from srcad.ir.graph import Atom, AVal, Const, Eqn, Var
from srcad.ir.prims import ELEMENTWISE, PRIMS

SHAPE_ONLY = ("reshape", "broadcast_to", "expand_dims")
UFUNC_REDUCTIONS = frozenset({"sum", "prod", "nansum", "max", "min", "nanmax", "nanmin", "ptp"})


class Recorder(Protocol):
    """What the rules need: which equation made a var, shapes, and a way to record one more
    equation (itself simplified) when a rule rewrites into two."""

    def producer(self, var: Var) -> Eqn | None: ...

    def infer(self, prim_name: str, atoms: list[Atom], params: dict) -> tuple[AVal, ...]: ...

    def apply_atom(self, prim_name: str, inputs: tuple, params: dict | None = None) -> Atom: ...


def canonical_params(prim_name: str, atoms: list[Atom], params: dict) -> dict:
    """``params`` as the rules expect them: ``axis=0`` or ``-1`` of a ufunc reduction of a
    0-d array is ``axis=None`` (its rules would give the cotangent an axis of length 1)."""
    if (
        prim_name in UFUNC_REDUCTIONS
        and atoms[0].aval.ndim == 0
        and type(params.get("axis")) is int
        and params["axis"] in (0, -1)
    ):
        return {**params, "axis": None}
    return params


def fold_constants(prim_name: str, atoms: list[Atom], params: dict) -> Const | None:
    """Compute ``prim`` now when every input is a Python scalar constant (``2.0 - 1``)."""
    values = [a.value for a in atoms if isinstance(a, Const)]
    if len(values) < len(atoms) or not all(_is_python_number(v) for v in values):
        return None
    with np.errstate(all="ignore"):
        result = PRIMS[prim_name].evaluate(values, params)
    if isinstance(result, np.bool_):
        return Const(bool(result))
    if isinstance(result, np.integer) or type(result) is int:
        return Const(int(result))
    return Const(float(result)) if isinstance(result, (np.floating, float)) else None


def simplify_equation(
    recorder: Recorder, prim_name: str, atoms: list[Atom], out: AVal
) -> Atom | None:
    """An atom equal to ``prim_name(*atoms)`` (whose first result is ``out``) that needs no
    equation of its own, or None. Rewrites ``atoms`` in place (reading through broadcasts)."""
    if PRIMS[prim_name].kind == ELEMENTWISE:
        _read_through_broadcasts(recorder, prim_name, atoms, out)
    if prim_name in SHAPE_ONLY:
        return _simplify_reshape(recorder, prim_name, atoms, out)
    if prim_name == "multiply":
        return _identity_operand(atoms, 1, out) or _scalars_first(recorder, atoms, out)
    if prim_name == "power" and isinstance(atoms[1], Const):
        even = _power_of_absolute(recorder, atoms)
        if even is not None:
            return even
    if prim_name in ("divide", "power") and isinstance(atoms[1], Const) and atoms[0].aval == out:
        return atoms[0] if _is_scalar_equal(atoms[1].value, 1) else None
    is_float = isinstance(atoms[0], Var) and np.dtype(atoms[0].aval.dtype).kind == "f"
    if prim_name == "add" and is_float and atoms[0] == atoms[1]:  # (m + m of a mask: m)
        return recorder.apply_atom("multiply", (2.0, atoms[0]))  # x + x
    if prim_name == "add":
        return _identity_operand(atoms, 0, out)
    if prim_name == "negative" and isinstance(atoms[0], Var):
        inner = recorder.producer(atoms[0])
        if inner is not None and inner.prim == "negative":
            return inner.inputs[0]
    return None


def cse_key(prim_name: str, atoms: list[Atom], params: dict) -> tuple | None:
    """A key under which an identical computation is found again, or None."""
    parts = tuple(a.id if isinstance(a, Var) else _const_key(a) for a in atoms)
    try:
        key = (prim_name, parts, tuple(sorted(params.items())))
        hash(key)
    except TypeError:
        return None
    return key


def _const_key(const: Const) -> tuple:
    """A constant's part of a key: a Python number by its type and value (``x > 0`` written
    twice is one computation; 0.0 and -0.0 differ, as 1 / x tells them apart), anything
    else by identity (arrays have no usable ``==``)."""
    value = const.value
    if not _is_python_number(value):
        return ("const", id(const))
    sign = math.copysign(1.0, value) if isinstance(value, float) else 1.0
    return ("number", type(value), value, sign)


def broadcast_source(recorder: Recorder, atom: Atom) -> Atom | None:
    """What ``atom`` is a broadcast of (through chains of broadcasts), or None."""
    source = None
    while isinstance(atom, Var):
        eqn = recorder.producer(atom)
        if eqn is None or eqn.prim != "broadcast_to":
            break
        source = atom = eqn.inputs[0]
    return source


def _read_through_broadcasts(
    recorder: Recorder, prim_name: str, atoms: list[Atom], out: AVal
) -> None:
    """Replace a broadcast input by what it broadcasts, where the result stays ``out``."""
    for i, atom in enumerate(atoms):
        source = broadcast_source(recorder, atom)
        if source is not None:
            trial = atoms[:i] + [source] + atoms[i + 1 :]
            if recorder.infer(prim_name, trial, {})[0] == out:
                atoms[i] = source


def _simplify_reshape(
    recorder: Recorder, prim_name: str, atoms: list[Atom], out: AVal
) -> Atom | None:
    if atoms[0].aval == out:
        return atoms[0]
    if prim_name == "broadcast_to":
        return None
    source = broadcast_source(recorder, atoms[0])
    if source is not None and source.aval.shape == ():
        # a broadcast scalar, reshaped: the scalar broadcast to the new shape
        return recorder.apply_atom("broadcast_to", (source,), {"shape": out.shape})
    return None


def _scalars_first(recorder: Recorder, atoms: list[Atom], out: AVal) -> Atom | None:
    """``s * (r * z)`` with scalars ``s``, ``r`` → ``(s * r) * z``: one pass over the
    array instead of two (``dout * (2 * W)`` becomes ``(dout * 2) * W``)."""
    if out.shape == ():
        return None
    for scalar, other in ((atoms[0], atoms[1]), (atoms[1], atoms[0])):
        if scalar.aval.shape != () or not isinstance(other, Var):
            continue
        inner = recorder.producer(other)
        if inner is None or inner.prim != "multiply":
            continue
        for r, z in ((inner.inputs[0], inner.inputs[1]), (inner.inputs[1], inner.inputs[0])):
            if r.aval.shape == () and z.aval.shape == out.shape:
                (product,) = recorder.infer("multiply", [scalar, r], {})
                if product.dtype != out.dtype:  # 3 * np.float32(0.1) rounds in float32
                    continue
                factor = recorder.apply_atom("multiply", (scalar, r))
                result = recorder.apply_atom("multiply", (factor, z))
                if result.aval == out:
                    return result
    return None


def _power_of_absolute(recorder: Recorder, atoms: list[Atom]) -> Atom | None:
    """``np.abs(x) ** 2`` (an even whole power) is ``x ** 2``: the same values, and a
    derivative whose own derivative is right at 0 (through abs, the slope sign(x) gave a
    second derivative of 0 there, where it is 2)."""
    power, base = atoms[1], atoms[0]
    exponent = power.value if isinstance(power, Const) else None
    if not (_is_python_number(exponent) and float(exponent) % 2 == 0):  # type: ignore[arg-type]
        return None
    inner = recorder.producer(base) if isinstance(base, Var) else None
    if inner is None or inner.prim != "absolute" or exponent == 0:
        return None
    return recorder.apply_atom("power", (inner.inputs[0], atoms[1]))


def _identity_operand(atoms: list[Atom], unit: float, out: AVal) -> Atom | None:
    """For ``x * 1`` or ``x + 0``: the operand ``x``, when the result has its aval."""
    for here, other in ((0, 1), (1, 0)):
        atom = atoms[here]
        if isinstance(atom, Const) and _is_scalar_equal(atom.value, unit):
            if atoms[other].aval == out:
                return atoms[other]
    return None


def _is_python_number(value: object) -> bool:
    """A Python int, float or bool: weak in NumPy's promotion (np.float64, a subclass of
    float, is not: it keeps its dtype)."""
    return isinstance(value, (int, float)) and not isinstance(value, np.generic)


def _is_scalar_equal(value: object, unit: float) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == unit
