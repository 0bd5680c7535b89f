"""Which axis of a value runs over the data's rows, and whether an equation keeps rows apart.

Part of ``srcad.distributed``'s recognition of a chunkable loss (``srcad.distributed.form``).
The graph is lowered with the data arguments given a *probe* number of rows, a number no other
dimension of the signature has: the row axis of a value is then the axis of that length. An
equation that reads data-dependent values keeps rows apart ("row-wise") when each row of its
result is computed from the same row of its inputs alone; this module answers that per
primitive from a table of the primitives it knows, and ``None`` (not known to be row-wise) for
every other, so an unknown operation is refused rather than guessed.

    %3:f64[P] = matmul %1(X):f64[P,3] %0(w):f64[3]      row-wise: X's rows are not contracted
    %4:f64[3] = matmul %0(w):f64[P] %1(X):f64[P,3]      mixes rows: P is contracted
"""

from __future__ import annotations

from srcad.ir import AVal, Eqn
from srcad.ir.facts import primitive_of

# Primitive kinds that act position by position on broadcast inputs.
BROADCASTING_KINDS = ("elementwise", "parametric", "comparison")
SHAPED_LIKE_INPUT = ("zeros_like", "ones_like", "empty_like", "full_like")
# Primitives that move or relabel axes without mixing positions along any of them.
RELABELLING = (
    "transpose",
    "matrix_transpose",
    "swapaxes",
    "moveaxis",
    "rollaxis",
    "expand_dims",
    "squeeze",
    "astype",
    "asarray",
    "copy",
    "real",
    "conjugate",
    "stop_gradient",
    "atleast_1d",
    "atleast_2d",
)
# Reductions and scans along ``axis``, and their axis when it is not given (None: all axes).
ALONG_AXIS = {
    "sum": None,
    "mean": None,
    "prod": None,
    "max": None,
    "min": None,
    "ptp": None,
    "std": None,
    "var": None,
    "all": None,
    "any": None,
    "argmax": None,
    "argmin": None,
    "norm": None,
    "cumsum": None,
    "cumprod": None,
    "sort": -1,
    "argsort": -1,
    "diff": -1,
    "vecdot": -1,
}
# The reductions a chunkable loss may end with: their totals come from the chunks' ones.
FINAL_REDUCTIONS = ("sum", "mean")


def row_axes(aval: AVal, rows: int) -> tuple[int, ...]:
    """The axes of a value that have the probe's number of rows."""
    return tuple(axis for axis, n in enumerate(aval.shape) if n == rows)


def keeps_rows_apart(eqn: Eqn, data_inputs: tuple[bool, ...], rows: int) -> bool:
    """Whether each row of ``eqn``'s outputs comes from the same row of its data-dependent
    inputs only (``data_inputs`` marks them; each has one row axis, checked before)."""
    prim = eqn.prim
    kind = primitive_of(eqn).kind
    if kind in BROADCASTING_KINDS or prim in SHAPED_LIKE_INPUT or prim == "broadcast_to":
        return _aligned(eqn, data_inputs, rows)
    if prim in RELABELLING:
        return True  # the output's single row axis (checked by the caller) is the input's
    if prim in ALONG_AXIS:
        return _row_axis(eqn.inputs[0].aval, rows) not in _acted_on(eqn)
    if prim in ("matmul", "dot"):
        return _product_keeps_rows(eqn, data_inputs, rows)
    if prim in ("reshape", "ravel"):
        return _reshape_keeps_rows(eqn.inputs[0].aval, eqn.outputs[0].aval, rows)
    if prim == "getitem":
        return _index_keeps_rows(eqn, data_inputs, rows)
    if prim == "concatenate":
        return _aligned(eqn, data_inputs, rows) and _concatenated_axis(eqn) != _row_axis(
            eqn.outputs[0].aval, rows
        )
    return False


def _row_axis(aval: AVal, rows: int) -> int:
    axes = row_axes(aval, rows)
    return axes[0] if len(axes) == 1 else -1


def _aligned(eqn: Eqn, data_inputs: tuple[bool, ...], rows: int) -> bool:
    """Broadcasting (aligned at the right) puts every data input's row axis on the output's,
    and no other input has a dimension of the rows' length."""
    out = eqn.outputs[0].aval
    out_axis = _row_axis(out, rows)
    for atom, is_data in zip(eqn.inputs, data_inputs, strict=True):
        aval = atom.aval
        if not is_data:
            if row_axes(aval, rows):
                return False
            continue
        if out.ndim - aval.ndim + _row_axis(aval, rows) != out_axis:
            return False
    return True


def _acted_on(eqn: Eqn) -> set[int]:
    """The axes (non-negative) a reduction or scan of the first input acts along."""
    ndim = eqn.inputs[0].aval.ndim
    params = eqn.param_dict
    axis = params["axis"] if "axis" in params else ALONG_AXIS[eqn.prim]
    if axis is None:
        return set(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not all(isinstance(a, int) for a in axes):
        return set(range(ndim))
    return {a % ndim for a in axes} if ndim else set()


def _product_keeps_rows(eqn: Eqn, data_inputs: tuple[bool, ...], rows: int) -> bool:
    """``a @ b`` contracts ``a``'s last axis with ``b``'s second-to-last (its only one when
    1-d): neither may be a row axis. ``np.dot`` is taken only where it is ``@``."""
    a, b = (atom.aval for atom in eqn.inputs[:2])
    if eqn.prim == "dot" and (a.ndim > 2 or b.ndim > 2):
        return False
    contracted = (a.ndim - 1, b.ndim - 2 if b.ndim > 1 else 0)
    for aval, is_data, axis in zip((a, b), data_inputs, contracted, strict=True):
        if is_data and _row_axis(aval, rows) == axis:
            return False
        if not is_data and row_axes(aval, rows):
            return False
    return True


def _reshape_keeps_rows(before: AVal, after: AVal, rows: int) -> bool:
    """A C-order reshape keeps each row's elements together when the axes before the row
    axis hold as many elements before and after it."""
    axis_before, axis_after = _row_axis(before, rows), _row_axis(after, rows)
    if axis_before < 0 or axis_after < 0:
        return False
    leading_before = AVal(before.shape[:axis_before], before.dtype).size
    leading_after = AVal(after.shape[:axis_after], after.dtype).size
    return leading_before == leading_after


def _index_keeps_rows(eqn: Eqn, data_inputs: tuple[bool, ...], rows: int) -> bool:
    """Basic indexing (ints, slices, None, ...) that takes the whole row axis (``:``)."""
    if any(data_inputs[1:]) or len(eqn.inputs) > 1:
        return False
    index = eqn.param_dict.get("index")
    entries = index if isinstance(index, tuple) else (index,)
    ndim = eqn.inputs[0].aval.ndim
    consumed = sum(1 for entry in entries if entry is not None and entry != "...")
    axis, row_axis = 0, _row_axis(eqn.inputs[0].aval, rows)
    for entry in entries:
        if entry == "...":
            axis += ndim - consumed
            continue
        if entry is None:
            continue
        is_slice = isinstance(entry, tuple) and len(entry) == 4 and entry[0] == "slice"
        if not is_slice and not isinstance(entry, int):
            return False  # an array index: advanced indexing moves and mixes positions
        if axis == row_axis:
            return is_slice and entry[1:] == (None, None, None)
        axis += 1
    return True  # the row axis is after the last entry: taken whole


def _concatenated_axis(eqn: Eqn) -> int:
    axis = eqn.param_dict.get("axis", 0)
    ndim = eqn.outputs[0].aval.ndim
    return axis % ndim if isinstance(axis, int) and ndim else -1
