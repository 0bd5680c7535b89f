"""The reduction rows of the table: sums, means, extrema, spreads, scans, ``diff``,
``gradient``, ``sort``, ``partition`` and the index-valued reductions (``argmax``) that pass
no gradient.
"""

from __future__ import annotations

import numpy as np

from srcad.ir.primitive import REDUCTION, Example, Prim
from srcad.ir.table.registry import register

REDUCTION_EXAMPLES: tuple[Example, ...] = (
    (((3, 4),), {}),
    (((3, 4),), {"axis": 1}),
    (((3, 4),), {"axis": 0, "keepdims": True}),
    (((2, 3, 4),), {"axis": (0, 2)}),
    (((2, 3, 4),), {"axis": -1, "keepdims": True}),
)
SCAN_EXAMPLES: tuple[Example, ...] = (
    (((3, 4),), {}),
    (((3, 4),), {"axis": 0}),
    (((2, 3, 4),), {"axis": -1}),
)
WITH_DTYPE = ("axis", "dtype", "out", "keepdims")


def _sum_where(a, axis=None, dtype=None, out=None, keepdims=False, initial=0, where=True):
    """``np.sum(a, where=mask)``: the sum of ``np.where(mask, a, 0)``, plus ``initial``."""
    if out is not None:
        raise ValueError("np.sum with where= and out= is not supported; use the sum it returns")
    total = np.sum(np.where(where, a, 0), axis=axis, dtype=dtype, keepdims=keepdims)
    return total if isinstance(initial, int) and initial == 0 else total + initial


def _mean_where(a, axis=None, dtype=None, out=None, keepdims=False, *, where=True):
    """``np.mean(a, where=mask)``: that sum over the count of the mask, in the mean's dtype
    (float64 for integers), as NumPy divides."""
    if out is not None:
        raise ValueError("np.mean with where= and out= is not supported; use the mean it returns")
    if dtype is None:
        dtype = np.float64 if np.dtype(a.dtype).kind in "biu" else a.dtype
    count = np.sum(np.broadcast_to(where, np.shape(a)), axis=axis, keepdims=keepdims)
    total = _sum_where(a, axis, dtype, keepdims=keepdims, where=where)
    return (total / count).astype(dtype)


def _extremum_with(extremum, pairwise):
    """``np.max(a, initial=c, where=mask)`` (``np.min``): the extremum of ``c`` and the
    elements the mask keeps (the others read as ``c``)."""

    def composed(a, axis=None, out=None, keepdims=False, initial=None, where=True):
        if out is not None or initial is None:
            raise ValueError(
                f"np.{extremum.__name__} with where= needs initial= (as NumPy's does), "
                "and takes no out="
            )
        kept = np.where(where, a, initial)
        return pairwise(extremum(kept, axis=axis, keepdims=keepdims), initial)

    return composed


def _prod_initial(a, axis=None, dtype=None, out=None, keepdims=False, initial=1):
    """``np.prod(a, initial=c)``: the product times ``c``."""
    if out is not None:
        raise ValueError("np.prod with initial= and out= is not supported; use the product")
    return np.prod(a, axis=axis, dtype=dtype, keepdims=keepdims) * initial


# with where= or initial=: the reductions NumPy makes, composed of others
COMPOSED = {
    "sum": _sum_where,
    "mean": _mean_where,
    "prod": _prod_initial,
    "max": _extremum_with(np.max, np.maximum),
    "min": _extremum_with(np.min, np.minimum),
}
COMPOSED_FOR = {
    "sum": ("where", "initial"),
    "mean": ("where",),
    "prod": ("initial",),
    "max": ("where", "initial"),
    "min": ("where", "initial"),
}
for _name, _params, _aliases in [
    ("sum", WITH_DTYPE, ()),
    ("mean", WITH_DTYPE, ()),
    ("prod", WITH_DTYPE, ()),
    ("nansum", WITH_DTYPE, ()),
    ("nanmean", WITH_DTYPE, ()),
    ("max", ("axis", "out", "keepdims"), (np.amax,)),
    ("min", ("axis", "out", "keepdims"), (np.amin,)),
    ("nanmax", ("axis", "out", "keepdims"), ()),
    ("nanmin", ("axis", "out", "keepdims"), ()),
    ("ptp", ("axis", "out", "keepdims"), ()),
    ("std", ("axis", "dtype", "out", "ddof", "keepdims"), ()),
    ("var", ("axis", "dtype", "out", "ddof", "keepdims"), ()),
]:
    register(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            _params,
            examples=REDUCTION_EXAMPLES,
            composed=COMPOSED.get(_name),
            composed_for=COMPOSED_FOR.get(_name, ()),
        ),
        *_aliases,
    )
register(
    Prim(
        "average",
        np.average,
        REDUCTION,
        1,
        ("axis",),
        keyword_params=("keepdims",),
        examples=REDUCTION_EXAMPLES,
    )
)
for _name in ["cumsum", "cumprod"]:
    register(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            ("axis", "dtype", "out"),
            examples=SCAN_EXAMPLES,
        )
    )


def _diff_with_ends(a, n=1, axis=-1, prepend=None, append=None):
    """``np.diff`` with ``prepend``/``append``: the ends joined along ``axis`` first (a
    number as a slice of length 1 along it), as NumPy joins them."""
    ends = []
    for end in (prepend, append):
        if end is not None and np.ndim(end) == 0:
            shape = list(np.shape(a))
            shape[axis] = 1
            end = np.broadcast_to(end, tuple(shape))
        ends.append(end)
    parts = [part for part in (ends[0], a, ends[1]) if part is not None]
    return np.diff(np.concatenate(parts, axis=axis), n=n, axis=axis)


register(
    Prim(
        "diff",
        np.diff,
        REDUCTION,
        1,
        ("n", "axis"),
        composed=_diff_with_ends,
        composed_for=("prepend", "append"),
        examples=(
            (((3, 5),), {}),
            (((4, 3),), {"n": 2, "axis": 0}),
            (((3, 1),), {}),  # length-1 axes: empty differences
            (((2, 3),), {"n": 3, "axis": 0}),
        ),
    )
)


def _gradient_by_steps(f, *spacings, axis=None, edge_order=1):
    """``np.gradient(f, dx)`` with steps read when the code runs (a global float): the
    differences for unit steps, each divided by its axis's step (equal to NumPy's values up
    to rounding). Coordinates read then are refused."""
    unit = np.gradient(f, axis=axis, edge_order=edge_order)
    parts = list(unit) if isinstance(unit, (list, tuple)) else [unit]
    steps = spacings * len(parts) if len(spacings) == 1 else spacings
    if len(steps) != len(parts) or any(np.ndim(step) != 0 for step in steps):
        raise ValueError(
            "np.gradient takes coordinates known when compiling (constants), and steps "
            "read when the code runs only as numbers: one for every axis or one per axis"
        )
    scaled = [part / step for part, step in zip(parts, steps, strict=True)]
    return scaled if isinstance(unit, (list, tuple)) else scaled[0]


# np.gradient(f, *spacings, axis=None, edge_order=1): one spacing for all axes or one per
# axis (scalars, or coordinates as constants); one result per axis differentiated.
_SPACINGS = ("spacing", "spacing_1", "spacing_2", "spacing_3")
register(
    Prim(
        "gradient",
        np.gradient,
        REDUCTION,
        1,
        _SPACINGS,
        positional_params=_SPACINGS,
        keyword_params=("axis", "edge_order"),
        composed=_gradient_by_steps,
        examples=(
            (((6,),), {}),
            (((4, 5),), {}),
            (((4, 5),), {"spacing": 0.5, "axis": 1}),
            (((5, 4),), {"spacing": 2.0, "spacing_1": 0.5, "edge_order": 2}),
            (((2, 3, 4),), {"axis": (0, 2)}),
            (((5,),), {"spacing": (0.0, 0.5, 1.5, 2.0, 3.5)}),
            (((2,),), {}),
        ),
    )
)
register(
    Prim(
        "sort",
        np.sort,
        REDUCTION,
        1,
        ("axis", "kind"),
        keyword_params=("stable",),
        required_params=("axis",),  # axis=None sorts the flattened array
        examples=((((3, 4),), {}), (((3, 4),), {"axis": 0}), (((3, 4),), {"axis": None})),
    )
)
# Order statistics: the median, and quantiles (percentiles) at static positions q.
_ORDER_PARAMS = ("axis", "out", "overwrite_input", "method", "keepdims")
# the methods that pick elements (or halfway between two) rather than interpolate
_METHOD_CASES: dict[str, tuple[Example, ...]] = {
    name: tuple(
        (((6,),), {"q": q, "method": m}) for m in ("lower", "higher", "nearest", "midpoint")
    )
    for name, q in (("quantile", (0.1, 0.5, 1.0)), ("percentile", (0, 50, 90)))
}
# np.median and np.nanmedian; quantiles and percentiles, NaN-skipping or not (the NaN forms
# take each slice's numbers only; the rules' examples hold none, the tests put NaNs in)
_MEDIAN_EXAMPLES: tuple[Example, ...] = (
    (((7,),), {}),
    (((3, 4),), {"axis": 1}),
    (((4, 3),), {"axis": 0, "keepdims": True}),
    (((2, 3, 4),), {"axis": (0, 2)}),
)
for _name in ("median", "nanmedian"):
    register(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            ("axis", "out", "overwrite_input", "keepdims"),
            examples=_MEDIAN_EXAMPLES,
        )
    )
for _name, _q, _q_array in [
    ("quantile", 0.3, (0.1, 0.5, 1.0)),
    ("percentile", 30.0, (0, 50, 90)),
    ("nanquantile", 0.3, (0.1, 0.5, 1.0)),
    ("nanpercentile", 30.0, (0, 50, 90)),
]:
    register(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            ("q", *_ORDER_PARAMS),
            required_params=("q",),
            examples=(
                (((7,),), {"q": _q}),
                (((3, 5),), {"q": _q, "axis": 1}),
                (((4, 3),), {"q": _q_array, "axis": 0, "keepdims": True}),
                (((2, 3, 4),), {"q": _q_array, "axis": (0, 2)}),
                *_METHOD_CASES[_name.removeprefix("nan")],
            ),
        )
    )
register(
    Prim(
        "partition",
        np.partition,
        REDUCTION,
        1,
        ("kth", "axis", "kind"),
        required_params=("axis",),  # axis=None partitions the flattened array
        examples=(
            (((7,),), {"kth": 2}),
            (((5, 3),), {"kth": (1, 3), "axis": 0}),
            (((3, 4),), {"kth": 5, "axis": None}),
        ),
    )
)
for _name in ["argmax", "argmin"]:
    register(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            ("axis", "out"),
            is_differentiable=False,
            keyword_params=("keepdims",),
        )
    )
register(
    Prim(
        "argsort",
        np.argsort,
        REDUCTION,
        1,
        ("axis", "kind"),
        keyword_params=("stable",),
        required_params=("axis",),
        is_differentiable=False,
    )
)
for _name in ["all", "any"]:
    register(
        Prim(
            _name,
            getattr(np, _name),
            REDUCTION,
            1,
            ("axis", "out", "keepdims"),
            is_differentiable=False,
        )
    )
register(
    Prim(
        "count_nonzero",
        np.count_nonzero,
        REDUCTION,
        1,
        ("axis",),
        keyword_params=("keepdims",),
        is_differentiable=False,
    )
)
