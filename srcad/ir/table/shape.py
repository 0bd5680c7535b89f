"""The shape rows of the table: reshapes, transposes, joins, splits, tiles, flips, rolls and
pads: functions that move elements without computing new values; and ``real``,
``real_if_close`` and ``conjugate``, which on the real arrays srcad differentiates return
their input's values unchanged.
"""

from __future__ import annotations

import numpy as np

from srcad.ir.primitive import LIST, SHAPE, Prim
from srcad.ir.table.registry import register

register(
    Prim(
        "transpose",
        np.transpose,
        SHAPE,
        1,
        ("axes",),
        examples=((((3, 4),), {}), (((2, 3, 4),), {"axes": (2, 0, 1)})),
        is_view=True,
    ),
    np.permute_dims,
)
register(
    Prim(
        "matrix_transpose",
        np.matrix_transpose,
        SHAPE,
        1,
        examples=((((2, 3, 4),), {}),),
        is_view=True,
    ),
    np.linalg.matrix_transpose,
)
register(
    Prim(
        "reshape",
        np.reshape,
        SHAPE,
        1,
        ("shape", "order"),
        examples=(
            (((3, 4),), {"shape": (2, 6)}),
            (((3, 4),), {"shape": (-1,)}),
            (((3, 4),), {"shape": (4, 3), "order": "F"}),
        ),
        is_view=True,
    )
)
register(
    Prim(
        "ravel",
        np.ravel,
        SHAPE,
        1,
        ("order",),
        examples=((((3, 4),), {}), (((3, 4),), {"order": "F"})),
        is_view=True,
    )
)
register(Prim("copy", np.copy, SHAPE, 1, ("order",), examples=((((3, 4),), {}),)))
# on real arrays: the values themselves (complex values are not differentiated)
register(Prim("real", np.real, SHAPE, 1, examples=((((3, 4),), {}),), is_view=True))
register(
    Prim(
        "real_if_close",
        np.real_if_close,
        SHAPE,
        1,
        ("tol",),
        examples=((((3, 4),), {}),),
        is_view=True,
    )
)
register(Prim("conjugate", np.conjugate, SHAPE, 1, examples=((((3, 4),), {}),)), np.conj)
register(
    Prim(
        "asarray",
        np.asarray,
        SHAPE,
        1,
        ("dtype", "order"),
        examples=((((3, 4),), {}), (((3,),), {"dtype": np.dtype("float64")})),
        is_view=True,
    ),
    np.asanyarray,  # the same values: a view where NumPy can give one, else a copy
    np.ascontiguousarray,
    np.asfortranarray,
)
register(
    Prim(
        "astype",
        np.astype,
        SHAPE,
        1,
        ("dtype",),
        positional_params=("dtype",),
        keyword_params=("copy",),
        examples=((((3, 4),), {"dtype": np.dtype("float64")}),),
    )
)
register(
    Prim(
        "broadcast_to",
        np.broadcast_to,
        SHAPE,
        1,
        ("shape",),
        examples=((((3, 1),), {"shape": (2, 3, 4)}),),
        is_view=True,
    )
)
register(
    Prim(
        "expand_dims",
        np.expand_dims,
        SHAPE,
        1,
        ("axis",),
        examples=((((3, 4),), {"axis": 1}), (((3,),), {"axis": (0, 2)})),
        is_view=True,
    )
)
register(
    Prim(
        "squeeze",
        np.squeeze,
        SHAPE,
        1,
        ("axis",),
        examples=((((3, 1, 4, 1),), {}), (((3, 1, 4, 1),), {"axis": 1})),
        is_view=True,
    )
)
register(
    Prim(
        "swapaxes",
        np.swapaxes,
        SHAPE,
        1,
        ("axis1", "axis2"),
        examples=((((2, 3, 4),), {"axis1": 0, "axis2": 2}),),
        is_view=True,
    )
)
register(
    Prim(
        "rollaxis",
        np.rollaxis,
        SHAPE,
        1,
        ("axis", "start"),
        examples=(
            (((2, 3, 4),), {"axis": 2}),
            (((2, 3, 4),), {"axis": 0, "start": 2}),
            (((2, 3, 4),), {"axis": 1, "start": 3}),
        ),
        is_view=True,
    )
)
register(
    Prim(
        "moveaxis",
        np.moveaxis,
        SHAPE,
        1,
        ("source", "destination"),
        examples=(
            (((2, 3, 4),), {"source": 0, "destination": -1}),
            (((2, 3, 4),), {"source": (0, 1), "destination": (2, 0)}),
        ),
        is_view=True,
    )
)
for _name in ["atleast_1d", "atleast_2d", "atleast_3d"]:
    register(
        Prim(
            _name, getattr(np, _name), SHAPE, 1, examples=((((),), {}), (((3,),), {})), is_view=True
        ),
    )
register(
    Prim(
        "concatenate",
        np.concatenate,
        SHAPE,
        0,
        ("axis", "out"),
        variadic=LIST,
        required_params=("axis",),  # axis=None joins the flattened arrays
        examples=(
            (((2, 3), (4, 3)), {}),
            (((2, 3), (2, 1), (2, 2)), {"axis": 1}),
            (((2, 3), (4,)), {"axis": None}),
        ),
    )
)
register(
    Prim(
        "stack",
        np.stack,
        SHAPE,
        0,
        ("axis", "out"),
        variadic=LIST,
        examples=((((2, 3), (2, 3)), {}), (((2, 3), (2, 3), (2, 3)), {"axis": -1})),
    )
)


def _rows_for_one_array(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """``np.vstack(x)`` of one array (not a list of them) joins the rows of ``x``, as NumPy
    reads any sequence: the call with the list of its rows."""
    if args and not isinstance(args[0], (list, tuple)) and np.ndim(args[0]) > 0:
        return (list(args[0]), *args[1:]), kwargs
    return args, kwargs


for _name, _aliases in [
    ("hstack", ()),
    ("vstack", (np.row_stack,)),  # row_stack: vstack's old name
    ("dstack", ()),
    ("column_stack", ()),
]:
    register(
        Prim(
            _name,
            getattr(np, _name),
            SHAPE,
            0,
            variadic=LIST,
            examples=((((3,), (3,)), {}), (((2, 3), (2, 3), (2, 3)), {})),
            rewrite_call=_rows_for_one_array,
        ),
        *_aliases,
    )
register(
    Prim(
        "append",
        np.append,
        SHAPE,
        2,
        ("axis",),
        examples=((((2, 3), (4,)), {}), (((2, 3), (1, 3)), {"axis": 0})),
    )
)
register(
    Prim(
        "split",
        np.split,
        SHAPE,
        1,
        ("indices_or_sections", "axis"),
        returns_list=True,
        examples=(
            (((6, 2),), {"indices_or_sections": 3}),
            (((6, 2),), {"indices_or_sections": (1, 4)}),
            (((2, 6),), {"indices_or_sections": 2, "axis": 1}),
        ),
        is_view=True,
    )
)
register(
    Prim(
        "array_split",
        np.array_split,
        SHAPE,
        1,
        ("indices_or_sections", "axis"),
        returns_list=True,
        examples=((((7, 2),), {"indices_or_sections": 3}),),
        is_view=True,
    )
)
for _name, _shape in [("hsplit", (2, 6)), ("vsplit", (6, 2)), ("dsplit", (2, 2, 6))]:
    register(
        Prim(
            _name,
            getattr(np, _name),
            SHAPE,
            1,
            ("indices_or_sections",),
            returns_list=True,
            examples=(((_shape,), {"indices_or_sections": 2}),),
            is_view=True,
        )
    )
register(
    Prim(
        "tile",
        np.tile,
        SHAPE,
        1,
        ("reps",),
        examples=(
            (((2, 3),), {"reps": 2}),
            (((2, 3),), {"reps": (2, 1, 2)}),
            (((3,),), {"reps": (2, 2)}),
        ),
    )
)
register(
    Prim(
        "repeat",
        np.repeat,
        SHAPE,
        1,
        ("repeats", "axis"),
        examples=(
            (((2, 3),), {"repeats": 2}),
            (((2, 3),), {"repeats": 3, "axis": 1}),
            (((2, 3),), {"repeats": (1, 3), "axis": 0}),
        ),
    )
)
register(
    Prim(
        "flip",
        np.flip,
        SHAPE,
        1,
        ("axis",),
        examples=((((2, 3),), {}), (((2, 3, 4),), {"axis": (0, 2)})),
        is_view=True,
    )
)
for _name in ["fliplr", "flipud"]:
    register(Prim(_name, getattr(np, _name), SHAPE, 1, examples=((((2, 3),), {}),), is_view=True))
register(
    Prim(
        "roll",
        np.roll,
        SHAPE,
        1,
        ("shift", "axis"),
        examples=(
            (((2, 3),), {"shift": 2}),
            (((2, 3),), {"shift": -1, "axis": 1}),
            (((2, 3, 4),), {"shift": (1, 2), "axis": (0, 2)}),
        ),
    )
)
register(
    Prim(
        "rot90",
        np.rot90,
        SHAPE,
        1,
        ("k", "axes"),
        examples=((((2, 3),), {}), (((2, 3, 4),), {"k": 3, "axes": (2, 0)})),
        is_view=True,
    )
)
register(
    Prim(
        "pad",
        np.pad,
        SHAPE,
        1,
        ("pad_width", "mode"),
        keyword_params=("constant_values",),
        examples=(
            (((2, 3),), {"pad_width": 1}),
            (((2, 3),), {"pad_width": ((1, 0), (2, 3)), "constant_values": 0.5}),
        ),
    )
)
