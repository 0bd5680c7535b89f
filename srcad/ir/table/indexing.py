"""The indexing-like rows of the table: ``take``, ``take_along_axis``, ``choose``,
``select``, ``nan_to_num``, the diagonals and the triangles.
"""

from __future__ import annotations

from typing import Any

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


def _select_arguments(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """``np.select(conditions, choices, default=d)`` with the default as its third argument
    (NumPy's 0 where none is given), an array input that may depend on data; and the items
    of the two lists broadcast to one shape, as NumPy broadcasts them, so that each list
    stacks into one array."""
    arguments: list[Any] = list(args)
    keywords = dict(kwargs)
    if len(arguments) == 2:
        arguments.append(keywords.pop("default", 0))
    lists = [a for a in arguments[:2] if isinstance(a, (list, tuple))]
    if lists:
        shape = np.broadcast_shapes(*(np.shape(item) for items in lists for item in items))
        for k in range(2):
            if isinstance(arguments[k], (list, tuple)):
                arguments[k] = [_broadcast(item, shape) for item in arguments[k]]
    return tuple(arguments), keywords


def _broadcast(item: Any, shape: tuple[int, ...]) -> Any:
    """``item`` (an array, a traced value or a number) broadcast to ``shape``."""
    return item if np.shape(item) == shape else np.broadcast_to(item, shape)


# np.select(conditions, choices, default): the lists arrive stacked (one array each), as
# NumPy reads them too.
register(
    Prim(
        "select",
        np.select,
        INDEXING,
        3,
        examples=(
            ((np.array([[True, False, True], [True, True, False]]), (2, 3), ()), {}),
            ((np.array([[[True], [False]], [[False], [True]]]), (2, 2, 3), (2, 1)), {}),
        ),
        rewrite_call=_select_arguments,
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
# positions in a sorted array: integers, which pass no gradient (a spline's intervals)
register(Prim("searchsorted", np.searchsorted, INDEXING, 2, ("side",), is_differentiable=False))
register(Prim("digitize", np.digitize, INDEXING, 2, ("right",), is_differentiable=False))
