"""Rules of ``scipy.linalg``'s rows (``srcad.ir.table.scipy_linalg``), registered once the
user's code has imported ``scipy.linalg``.

``x = solve_triangular(a, b)`` solves ``T x = b`` with ``T`` the triangle of ``a`` that SciPy
reads (transposed where ``trans`` asks): ``db = T^-T g`` is one more triangular solve, and
``dT = -db x^T``, of which only the triangle read reaches ``a`` (not its diagonal where
``unit_diagonal``: those ones are not ``a``'s). The tangent is ``T^-1 (b_dot - T_dot x)``.

``expm``'s derivatives are Fréchet derivatives: the change of ``expm(A)`` along ``E`` is
the upper right block of ``expm([[A, E], [0, A]])``, and the cotangent of ``A`` is that
change at ``A^T`` along the output's cotangent. Written with ``expm`` itself, they are
differentiated again by these rules (a Hessian through ``expm``).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from srcad.ir.table.registry import call_primitive, when_imported
from srcad.rules.registry import defjvp, defvjp

TRANSPOSED = {0: 1, "N": 1, 1: 0, "T": 0, 2: 0, "C": 0}


def _transposed(trans: object) -> int:
    """The ``trans`` that solves with the other of ``T`` and its transpose."""
    if not (isinstance(trans, (int, str)) and trans in TRANSPOSED):
        raise NotImplementedError(
            f"scipy.linalg.solve_triangular with trans={trans!r}: srcad takes 0, 1, 2, 'N', "
            "'T' or 'C'"
        )
    return TRANSPOSED[trans]


def register_rules(linalg: ModuleType) -> None:
    """The rules, once ``scipy.linalg`` is imported (after its rows)."""

    def solve(a, b, trans, lower, unit_diagonal):
        return call_primitive(
            linalg.solve_triangular, a, b, trans, lower, unit_diagonal=unit_diagonal
        )

    @defvjp(linalg.solve_triangular)
    def solve_triangular_vjp(g, out, a, b, trans=0, lower=False, unit_diagonal=False, **_):
        db = solve(a, g, _transposed(trans), lower, unit_diagonal)
        if np.ndim(b) == 1:
            dt = -np.outer(db, out)
        else:
            dt = -(db @ np.swapaxes(out, -1, -2))
        if _transposed(trans) == 0:  # T was the transpose of a's triangle
            dt = np.swapaxes(dt, -1, -2)
        return _read_triangle(dt, lower, unit_diagonal), db

    @defjvp(linalg.solve_triangular)
    def solve_triangular_jvp(tangents, out, a, b, trans=0, lower=False, unit_diagonal=False, **_):
        a_dot, b_dot = tangents
        rhs = b_dot
        if a_dot is not None:
            t_dot = _read_triangle(a_dot, lower, unit_diagonal)
            if _transposed(trans) == 0:
                t_dot = np.swapaxes(t_dot, -1, -2)
            moved = t_dot @ out
            rhs = -moved if b_dot is None else b_dot - moved
        return solve(a, rhs, trans, lower, unit_diagonal)

    def frechet(a, direction):
        """The change of ``expm(a)`` along ``direction``: the upper right block of the
        exponential of ``[[a, direction], [0, a]]`` (expm's own rules differentiate it
        again)."""
        n = np.shape(a)[-1]
        top = np.concatenate([a, direction], axis=-1)
        bottom = np.concatenate([np.zeros_like(a), a], axis=-1)
        block = call_primitive(linalg.expm, np.concatenate([top, bottom], axis=-2))
        return block[..., :n, n:]

    @defvjp(linalg.expm)
    def expm_vjp(g, out, a):
        return frechet(np.swapaxes(a, -1, -2), g)

    @defjvp(linalg.expm)
    def expm_jvp(tangents, out, a):
        (a_dot,) = tangents
        return frechet(a, a_dot)


def _read_triangle(matrix, lower, unit_diagonal):
    """The part of ``matrix`` in the triangle SciPy reads."""
    offset = (-1 if lower else 1) if unit_diagonal else 0
    return np.tril(matrix, offset) if lower else np.triu(matrix, offset)


when_imported("scipy.linalg", register_rules)
