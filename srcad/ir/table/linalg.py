"""The linear-algebra rows of the table: products (``matmul``, ``dot``, ``einsum``, ...),
``trace``, and ``np.linalg``'s ``inv det slogdet solve cholesky norm``, the decompositions
``eigh eigvalsh svd qr eig`` and ``pinv lstsq matrix_power``.

``np.linalg`` works on stacks of matrices (the last two axes), so most rows list a stacked
example too. Decompositions return NumPy's named results (``EighResult``: ``eigenvalues``,
``eigenvectors``), whose fields the rows name.
"""

from __future__ import annotations

import string

import numpy as np

from srcad.ir.primitive import LINALG, STAR, Example, Prim
from srcad.ir.spectra import real_spectrum
from srcad.ir.table.registry import register

MATMUL_EXAMPLES: tuple[Example, ...] = (
    (((3, 4), (4, 5)), {}),
    (((1, 4), (4, 5)), {}),  # one row, one column: outer products in the VJP
    (((3, 4), (4, 1)), {}),
    (((1, 4), (4, 1)), {}),
    (((3, 4), (4,)), {}),
    (((4,), (4, 5)), {}),
    (((4,), (4,)), {}),
    (((2, 3, 4), (4, 5)), {}),
    (((2, 3, 4), (2, 4, 5)), {}),
    (((4,), (2, 4, 5)), {}),
    (((2, 3, 4), (4,)), {}),
)
register(
    Prim("matmul", np.matmul, LINALG, 2, operator="@", examples=MATMUL_EXAMPLES), np.linalg.matmul
)
register(
    Prim(
        "dot",
        np.dot,
        LINALG,
        2,
        examples=(
            (((3, 4), (4, 5)), {}),
            (((3, 4), (4,)), {}),
            (((4,), (4,)), {}),
            (((), (3,)), {}),
            (((2, 3, 4), (4,)), {}),
            (((2, 3), (4, 3, 2)), {}),
        ),
    )
)
register(Prim("vdot", np.vdot, LINALG, 2, examples=((((3, 4), (3, 4)), {}), (((6,), (2, 3)), {}))))
register(
    Prim(
        "inner",
        np.inner,
        LINALG,
        2,
        examples=((((4,), (4,)), {}), (((2, 4), (3, 4)), {}), (((), (3,)), {})),
    )
)
register(
    Prim("outer", np.outer, LINALG, 2, examples=((((3,), (4,)), {}), (((2, 2), (3,)), {}))),
    np.linalg.outer,
)
register(
    Prim(
        "convolve",
        np.convolve,
        LINALG,
        2,
        ("mode",),
        examples=(
            (((5,), (3,)), {}),
            (((3,), (5,)), {"mode": "valid"}),
            (((6,), (3,)), {"mode": "same"}),
            (((4,), (7,)), {"mode": "same"}),
            (((4,), (4,)), {"mode": "valid"}),
        ),
    )
)
register(
    Prim(
        "tensordot",
        np.tensordot,
        LINALG,
        2,
        ("axes",),
        examples=(
            (((2, 3, 4), (3, 4, 5)), {}),
            (((3, 4), (4, 5)), {"axes": 1}),
            (((2, 3, 4), (4, 2)), {"axes": ((0, 2), (1, 0))}),
            (((2, 3), (4,)), {"axes": 0}),
        ),
    ),
    np.linalg.tensordot,
)


def _einsum_subscripts(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """``np.einsum(a, [0, 1], b, [1, 2], [0, 2])`` (each operand followed by the numbers of
    its axes, then optionally the output's) as ``np.einsum("ab,bc->ac", a, b)``.
    ``optimize`` (the order NumPy contracts in) is dropped: the value is the same, and srcad
    writes each product its own way."""
    kwargs = {key: value for key, value in kwargs.items() if key != "optimize"}
    if not args or isinstance(args[0], str):
        return args, kwargs
    pairs = len(args) // 2
    operands = [args[2 * k] for k in range(pairs)]
    terms = [_einsum_letters(args[2 * k + 1]) for k in range(pairs)]
    subscripts = ",".join(terms)
    if len(args) % 2 == 1:  # the output's axes
        subscripts += "->" + _einsum_letters(args[-1])
    return (subscripts, *operands), kwargs


def _einsum_letters(axes: object) -> str:
    """An interleaved einsum's list of axis numbers (and ``...``) as subscript letters."""
    if not isinstance(axes, (list, tuple)):
        raise ValueError(
            "np.einsum: each operand must be followed by the list of its axes (ints and ...)"
        )
    return "".join("..." if k is Ellipsis else string.ascii_letters[int(k)] for k in axes)


register(
    Prim(
        "einsum",
        np.einsum,
        LINALG,
        0,
        leading_params=("subscripts",),
        variadic=STAR,
        rewrite_call=_einsum_subscripts,
        examples=(
            (((3, 4), (4, 5)), {"subscripts": "ij,jk->ik"}),
            (((3, 4), (4, 5)), {"subscripts": "ij,jk"}),
            (((2, 3, 4), (2, 4)), {"subscripts": "bij,bj->bi"}),
            (((3, 4),), {"subscripts": "ij->j"}),
            (((3, 4),), {"subscripts": "ij->ji"}),
            (((2, 3, 4), (4, 5)), {"subscripts": "...j,jk->...k"}),
            (((3,), (4,), (5,)), {"subscripts": "i,j,k->ijk"}),
            (((3, 4), (4,)), {"subscripts": "ij,j->"}),
            (((3, 3),), {"subscripts": "ii->i"}),  # repeated letters: diagonals
            (((3, 3), (3, 4), (4, 4, 2)), {"subscripts": "ii,ij,jjk->k"}),
        ),
    )
)
register(Prim("kron", np.kron, LINALG, 2, examples=((((2, 3), (3, 2)), {}), (((3,), (2, 2)), {}))))
register(
    Prim(
        "cross",
        np.cross,
        LINALG,
        2,
        keyword_params=("axisa", "axisb", "axisc", "axis"),
        examples=((((4, 3), (3,)), {}), (((3, 2), (3, 2)), {"axis": 0})),
    )
)
register(
    Prim(
        "vecdot",
        np.vecdot,
        LINALG,
        2,
        keyword_params=("axis",),
        examples=((((3, 4), (4,)), {}), (((3, 4), (3, 1)), {"axis": 0})),
    ),
    np.linalg.vecdot,
)
register(
    Prim(
        "trace",
        np.trace,
        LINALG,
        1,
        ("offset", "axis1", "axis2", "dtype", "out"),
        examples=(
            (((3, 3),), {}),
            (((3, 4),), {"offset": 1}),
            (((2, 3, 4),), {"offset": -1, "axis1": 2, "axis2": 1}),
        ),
    )
)
SQUARE_EXAMPLES: tuple[Example, ...] = (
    (((3, 3),), {}),
    (((2, 3, 3),), {}),
    (((2, 2, 3, 3),), {}),  # any number of stacking axes
)
for _name in ["inv", "det"]:
    register(
        Prim(
            _name,
            getattr(np.linalg, _name),
            LINALG,
            1,
            module="numpy.linalg",
            structure="invertible",
            examples=SQUARE_EXAMPLES,
        )
    )
register(
    Prim(
        "slogdet",
        np.linalg.slogdet,
        LINALG,
        1,
        module="numpy.linalg",
        structure="invertible",
        examples=SQUARE_EXAMPLES,
        result_fields=("sign", "logabsdet"),
    )
)
register(
    Prim(
        "solve",
        np.linalg.solve,
        LINALG,
        2,
        module="numpy.linalg",
        structure="invertible",
        examples=(
            (((3, 3), (3,)), {}),
            (((3, 3), (3, 2)), {}),
            (((2, 3, 3), (2, 3, 1)), {}),
            (((2, 3, 3), (3, 2)), {}),
        ),
    )
)
register(
    Prim(
        "cholesky",
        np.linalg.cholesky,
        LINALG,
        1,
        keyword_params=("upper",),
        module="numpy.linalg",
        structure="spd",
        examples=((((3, 3),), {}), (((2, 3, 3),), {}), (((3, 3),), {"upper": True})),
    )
)
register(
    Prim(
        "norm",
        np.linalg.norm,
        LINALG,
        1,
        ("ord", "axis", "keepdims"),
        module="numpy.linalg",
        examples=(
            (((5,),), {}),
            (((3, 4),), {}),
            (((3, 4),), {"axis": 1}),
            (((3, 4),), {"ord": 1, "axis": 0, "keepdims": True}),
            (((5,),), {"ord": 3}),
            (((5,),), {"ord": float("inf")}),
            (((3, 4),), {"ord": "fro"}),
            (((2, 3, 4),), {"axis": (1, 2)}),
            (((3, 4),), {"ord": "nuc"}),
            (((3, 4),), {"ord": 2}),
            (((4, 3),), {"ord": -2}),
            (((3, 4),), {"ord": 1}),
            (((3, 4),), {"ord": -1}),
            (((3, 4),), {"ord": float("inf")}),
            (((3, 4),), {"ord": -float("inf")}),
            (((2, 3, 4),), {"ord": "nuc", "axis": (2, 0)}),
            (((2, 3, 4),), {"ord": 2, "axis": (1, 2), "keepdims": True}),
        ),
    )
)

# --- decompositions --------------------------------------------------------------------------
# eigh and eigvalsh read one triangle of the matrix (UPLO), so any square matrix will do.
for _name, _fields in [("eigh", ("eigenvalues", "eigenvectors")), ("eigvalsh", ())]:
    register(
        Prim(
            _name,
            getattr(np.linalg, _name),
            LINALG,
            1,
            ("UPLO",),
            module="numpy.linalg",
            examples=((((3, 3),), {}), (((2, 3, 3),), {}), (((4, 4),), {"UPLO": "U"})),
            result_fields=_fields,
        )
    )
register(
    Prim(
        "svd",
        np.linalg.svd,
        LINALG,
        1,
        ("full_matrices", "compute_uv", "hermitian"),
        module="numpy.linalg",
        examples=(  # the first two also go through srcad.grad (tests/rules/test_traced.py)
            (((3, 3),), {}),
            (((4, 3),), {"compute_uv": False}),
            (((4, 3),), {"full_matrices": False}),
            (((3, 5),), {"full_matrices": False}),
            (((2, 4, 3),), {"full_matrices": False}),
            (((2, 3, 3),), {}),
            (((2, 3, 4),), {"compute_uv": False}),
        ),
        result_fields=("U", "S", "Vh"),
    )
)
register(
    Prim(
        "qr",
        np.linalg.qr,
        LINALG,
        1,
        ("mode",),
        module="numpy.linalg",
        examples=(
            (((4, 3),), {}),
            (((3, 5),), {"mode": "r"}),
            (((3, 3),), {}),
            (((3, 5),), {}),
            (((2, 4, 3),), {}),
            (((4, 3),), {"mode": "r"}),
            (((3, 5),), {"mode": "complete"}),
        ),
        result_fields=("Q", "R"),
    )
)
# eig of a real matrix with real, distinct eigenvalues (complex ones are refused).
_REAL_SPECTRUM = np.array([[2.0, 0.3, -0.4], [0.5, 1.0, 0.2], [0.1, -0.3, -0.5]])
register(
    Prim(
        "eig",
        np.linalg.eig,
        LINALG,
        1,
        module="numpy.linalg",
        examples=(
            ((_REAL_SPECTRUM,), {}),
            ((np.stack([_REAL_SPECTRUM, _REAL_SPECTRUM.T + np.eye(3)]),), {}),
        ),
        result_fields=("eigenvalues", "eigenvectors"),
    )
)
# eig's result passed through the check that its eigenvalues are real (srcad.ir.spectra)
_EIG = np.linalg.eig(_REAL_SPECTRUM)
register(
    Prim(
        "real_spectrum",
        real_spectrum,
        LINALG,
        2,
        module="srcad.ir.spectra",
        examples=(((_EIG.eigenvalues, _EIG.eigenvectors), {}),),
        result_fields=("eigenvalues", "eigenvectors"),
    )
)
register(
    Prim(
        "pinv",
        np.linalg.pinv,
        LINALG,
        1,
        ("rcond", "hermitian"),
        keyword_params=("rtol",),
        module="numpy.linalg",
        examples=((((5, 3),), {}), (((3, 5),), {}), (((2, 4, 3),), {}), (((3, 3),), {})),
    )
)
register(
    Prim(
        "lstsq",
        np.linalg.lstsq,
        LINALG,
        2,
        ("rcond",),
        module="numpy.linalg",
        examples=(
            (((5, 1), (5,)), {}),
            (((3, 3), (3, 2)), {}),
            (((5, 3), (5, 2)), {}),
            (((5, 3), (5,)), {}),
            (((3, 5), (3,)), {}),
        ),
    )
)
register(
    Prim(
        "matrix_power",
        np.linalg.matrix_power,
        LINALG,
        1,
        ("n",),
        module="numpy.linalg",
        structure="invertible",  # for negative powers
        examples=(
            (((3, 3),), {"n": 3}),
            (((2, 3, 3),), {"n": 2}),
            (((3, 3),), {"n": -2}),
            (((3, 3),), {"n": 1}),
            (((3, 3),), {"n": 0}),
        ),
        is_view=True,  # matrix_power(a, 1) is a itself
    )
)
