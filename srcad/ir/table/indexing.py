"""The indexing-like rows of the table: ``take``, ``take_along_axis``, ``choose``,
``select``, ``nan_to_num``, the diagonals and the triangles.
"""

from __future__ import annotations

import numpy as np

from srcad.ir.primitive import INDEXING, LIST, Prim
from srcad.ir.table.registry import register

register(
    Prim(
        "take",
        np.take,
        INDEXING,
        2,
        ("axis", "out"),
        examples=(
            (((5,), np.array([0, 4, 2, 2])), {}),
            (((3, 4), np.array([[0, 3], [3, 3]])), {"axis": 1}),
            (((3, 4), np.array([5, 0, 11])), {}),
        ),
    )
)
register(
    Prim(
        "take_along_axis",
        np.take_along_axis,
        INDEXING,
        2,
        ("axis",),
        required_params=("axis",),
        examples=(
            (((3, 4), np.array([[0, 3], [3, 3], [1, 2]])), {"axis": 1}),
            (((3, 4), np.array([[2, 0, 1, 1]])), {"axis": 0}),
            (((3, 4), np.array([5, -1, 0])), {"axis": None}),
        ),
    )
)
register(
    Prim(
        "choose",
        np.choose,
        INDEXING,
        1,
        ("out",),
        variadic=LIST,
        examples=(((np.array([[0, 2, 1], [1, 1, 0]]), (2, 3), (2, 3), (3,)), {}),),
    )
)
register(
    Prim(
        "diag",
        np.diag,
        INDEXING,
        1,
        ("k",),
        examples=((((3,),), {}), (((3,),), {"k": -1}), (((3, 4),), {}), (((3, 4),), {"k": 1})),
        is_view=True,
    )
)
register(
    Prim(
        "diagonal",
        np.diagonal,
        INDEXING,
        1,
        ("offset", "axis1", "axis2"),
        examples=(
            (((3, 4),), {}),
            (((3, 4),), {"offset": -1}),
            (((2, 3, 4),), {"offset": 1, "axis1": 2, "axis2": 0}),
        ),
        is_view=True,
    )
)
for _name in ["triu", "tril"]:
    register(
        Prim(
            _name,
            getattr(np, _name),
            INDEXING,
            1,
            ("k",),
            examples=((((3, 4),), {}), (((2, 3, 3),), {"k": -1})),
        )
    )
# np.select(conditions, choices, default): the lists arrive stacked (one array each), as
# NumPy reads them too; the default is a constant.
register(
    Prim(
        "select",
        np.select,
        INDEXING,
        2,
        ("default",),
        examples=(
            ((np.array([[True, False, True], [True, True, False]]), (2, 3)), {}),
            ((np.array([[[True], [False]], [[False], [True]]]), (2, 2, 3)), {"default": 0.5}),
        ),
    )
)
register(
    Prim(
        "nan_to_num",
        np.nan_to_num,
        INDEXING,
        1,
        ("copy", "nan", "posinf", "neginf"),
        examples=(
            (((3, 4),), {}),
            ((np.array([1.5, np.nan, np.inf, -np.inf, -0.5]),), {"nan": 1.0, "posinf": 9.0}),
        ),
    )
)
