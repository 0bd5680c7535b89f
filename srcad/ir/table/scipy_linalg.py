"""The rows of ``scipy.linalg`` with rules of their own: ``solve_triangular`` (the step of a
Gaussian process's likelihood after its Cholesky factor) and ``expm``.

``cholesky``, ``cho_factor``, ``cho_solve``, ``solve``, ``inv`` and ``det`` need no row: they
are lowered as the NumPy and ``solve_triangular`` calls they are made of
(``srcad.lower.compositions``). Like ``special``, the rows are registered once the user's
code has imported ``scipy.linalg``.

``solve_triangular(a, b, trans, lower, unit_diagonal)`` reads one triangle of ``a`` (without
its diagonal where ``unit_diagonal``) and solves with it or its transpose (``trans``: 0 or
"N", 1 or "T", 2 or "C", the same for real matrices); ``b`` is a vector or a matrix.
"""

from __future__ import annotations

from types import ModuleType

from srcad.ir.primitive import LINALG, Prim
from srcad.ir.table.registry import register, when_imported

MODULE = "scipy.linalg"


def register_rows(linalg: ModuleType) -> None:
    register(
        Prim(
            "solve_triangular",
            linalg.solve_triangular,
            LINALG,
            2,
            ("trans", "lower", "unit_diagonal"),
            keyword_params=("check_finite",),
            module=MODULE,
            structure="invertible",
            examples=(
                (((3, 3), (3,)), {}),
                (((3, 3), (3,)), {"lower": True}),
                (((3, 3), (3, 2)), {"trans": "T"}),
                (((4, 4), (4, 2)), {"lower": True, "trans": 1}),
                (((3, 3), (3,)), {"lower": True, "unit_diagonal": True}),
                (((3, 3), (3, 2)), {"trans": "C", "unit_diagonal": True}),
            ),
        )
    )
    register(
        Prim(
            "expm",
            linalg.expm,
            LINALG,
            1,
            module=MODULE,
            domain=(-1.0, 1.0),
            examples=((((3, 3),), {}), (((2, 2),), {})),
        )
    )


when_imported(MODULE, register_rows)
