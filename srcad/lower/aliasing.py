"""Writes into an array that another name still in use shares: rejected with a clear error.

srcad lowers ``y[i] = v`` and ``y += v`` to a new value of ``y``. NumPy writes into the array
itself, so every other name for it changes too: a second name (``z = y``), a slice or
reshape of it (``v = y[1:]``), the array it is a slice of, or, inside a helper, the caller's
argument. When such a name is read afterwards, the two meanings differ, and srcad would
compute something else than NumPy. Rather than a silently wrong value and gradient, the
write is refused with advice (make the copy explicit). Names that are not read again
(``row = B[i]; B[i] = row / s``) are fine. "Read again" comes from ``srcad.lower.liveness``.

Arrays are told apart by their tracers: binding a name to another (``z = y``) shares the
tracer, every computation makes a new one (even when the IR simplifies ``x * 1.0`` to ``x``),
and a view shares memory with the array its IR equation reads.
"""

from __future__ import annotations

import ast

import numpy as np

from srcad.errors import UnsupportedSyntax
from srcad.ir import Const, Var
from srcad.ir.builder import Tracer
from srcad.ir.prims import shares_memory
from srcad.lower.liveness import assigned


class AliasChecks:
    """Mixin for the function lowerer: ``live`` (names read after each statement),
    ``statement`` (the one being lowered), ``env``, ``builder``, ``context.outside`` and
    ``loop_origin`` (loop-carried var id -> the value it started from)."""

    def check_write(self, name: str, value: object, node: ast.AST) -> None:
        """Refuse writing into ``value`` (the array ``name`` holds) while another name that
        shares its memory is read afterwards."""
        if not isinstance(value, (Tracer, np.ndarray)):
            return
        live = self.live.get(id(self.statement), frozenset())
        for other, held in self.env.items():
            if other == name or other not in live:
                continue
            if any(self._same_memory(array, value) for array in _arrays_in(held)):
                raise self._shared_write(name, f"'{other}'", node)
        if any(self._same_memory(held, value) for held in self.context.outside):
            raise self._shared_write(name, "the caller's argument", node)

    def live_values(self, call: ast.Call) -> tuple:
        """The values this function, or a caller, reads after ``call`` returns: a helper
        called there must not write into them."""
        names = self.live.get(id(self.statement), frozenset()) - assigned(
            self.statement
        )  # later reads: new value
        names |= _reads_after(self.statement, call)
        values = tuple(array for n in sorted(names) for array in _arrays_in(self.env.get(n)))
        return values + self.context.outside

    def _same_memory(self, held: object, value: object) -> bool:
        """Whether NumPy's arrays for ``held`` and ``value`` (tracers, or constant arrays the
        function made, such as ``np.zeros(3)``) share memory."""
        if held is value:
            return True  # z = y
        both_traced = isinstance(held, Tracer) and isinstance(value, Tracer)
        if both_traced and not (self._is_view(held) or self._is_view(value)):
            return False
        first, second = self._memory(held), self._memory(value)
        if isinstance(first, np.ndarray) and isinstance(second, np.ndarray):
            return np.may_share_memory(first, second)
        return first is second

    def _memory(self, array: object) -> object:
        """What holds ``array``'s memory: a constant array, a var, or a fresh tracer."""
        if not isinstance(array, Tracer):
            return array
        root = self._memory_root(array)
        return root.value if isinstance(root, Const) else root

    def _is_view(self, tracer: Tracer) -> bool:
        if tracer.fresh:
            return False
        eqn = self.builder.producer(tracer.atom) if isinstance(tracer.atom, Var) else None
        return eqn is not None and shares_memory(eqn)

    def _memory_root(self, tracer: Tracer) -> object:
        """The array a view's memory belongs to, as an atom. A value a loop carries counts as
        the array it started from (it may still be that array, written in place)."""
        if tracer.fresh:
            return tracer  # its own array
        atom = tracer.atom
        while isinstance(atom, Var):
            eqn = self.builder.producer(atom)
            if eqn is not None and shares_memory(eqn):
                atom = eqn.inputs[0]
            elif atom.id in self.loop_origin and isinstance(self.loop_origin[atom.id], Tracer):
                atom = self.loop_origin[atom.id].atom
            else:
                break
        return atom

    def _shared_write(self, name: str, other: str, node: ast.AST) -> UnsupportedSyntax:
        return self.located(
            UnsupportedSyntax,
            f"'{ast.unparse(node).splitlines()[0]}' writes into an array that {other} also "
            f"refers to, and {other} is used afterwards: NumPy would change both, srcad "
            f"changes only '{name}'. Write '{name} = {name}.copy()' first (or compute the new "
            "array with an expression) so that both mean the same",
            node,
        )


def _arrays_in(value: object) -> list:
    """The arrays (traced or constant) a value holds, also inside lists, tuples and dicts."""
    if isinstance(value, (Tracer, np.ndarray)):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [array for item in value for array in _arrays_in(item)]
    return []


def _reads_after(statement: ast.stmt | None, call: ast.Call) -> frozenset[str]:
    """Names ``statement`` reads once ``call`` has returned: those written after it, and
    those in assignment targets (``y[i] = ...`` reads ``y`` last)."""
    if statement is None:
        return frozenset()
    end = (call.end_lineno, call.end_col_offset)
    targets = statement.targets if isinstance(statement, ast.Assign) else []
    if isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        targets = [statement.target]
    late = {id(n) for target in targets for n in ast.walk(target)}
    return frozenset(
        n.id
        for n in ast.walk(statement)
        if isinstance(n, ast.Name)
        and isinstance(n.ctx, ast.Load)
        and (id(n) in late or (n.lineno, n.col_offset) >= end)
    )
