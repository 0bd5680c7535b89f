"""NumPy spellings numba has no typing for, respelled in the numba variant
(``srcad.backends.numba_spellings``, ``srcad.runtime.numba_arrays``; ``var``, ``std`` and
axes counted from the end in ``numba_reductions``; einsums in ``numba_einsum``).

Checked: what each form becomes on text and what is left alone, lines kept; the compiled
runtime functions give NumPy's values exactly (``np.add.at`` with each kind of index,
repeated and negative positions, out-of-bounds positions raising IndexError as NumPy does;
``cumprod``, ``roll`` and ``prod`` along either axis of a strided matrix; ``squeeze``
and ``tile`` raising ValueError where NumPy does; ``stack`` of numbers; a matrix's
diagonal; einsum's loops, with a number,
an implicit output, a stretched axis); and two functions whose gradients scatter through fancy indices (scores
picked by integer labels, an embedding lookup, a mask), take a product, a cumulative sum,
an einsum, tile a vector and stack columns compile on the numba backend without falling back, agree with
the NumPy backend to 1e-12 and with central differences, also on a second call after a
global they read changed; so does a third with a layer norm, row norms, a product along an
axis, a mean over two axes and a stack of numbers (three functions only: numba's compile is
the cost).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import srcad
from srcad.backends.numba_reductions import respelled_reductions
from srcad.backends.numba_source import numba_source
from srcad.backends.numba_spellings import respelled_spellings

MODULE = '''import numpy as np


def f_grad_unchecked(x, idx, dout=1.0):
    """docstring"""
    np.add.at(dx, idx, dt1)  # line 3: comment kept
    a = np.flip(x, axis=0) + np.flip(x, axis=1) + np.flip(x * 2.0, axis=-2)
    t5, t6 = np.split(dm, axis=0, indices_or_sections=(1,))
    t7, t8, t9 = np.split(dm, (1, 3), axis=-1)
    b = dout / t7.sum(dtype=np.float64, keepdims=True) + np.mean(x, keepdims=True)
    c = x.cumprod(axis=-1) * np.roll(x, axis=0, shift=1) + np.cumprod(x, axis=1)
    d = np.expand_dims(dout * out, axis=(-2, -1)) + np.expand_dims(x, axis=(0, 2)) + np.expand_dims(dout, axis=-1)
    e = x.squeeze(axis=-1) + np.squeeze(x, axis=0)
    f = x.prod(axis=1) + np.prod(x, axis=-1) + np.linalg.norm(x, axis=1) + x.prod()
    s = np.stack([x.mean(), x.sum()]) + np.stack((x,)) + np.stack(rows) + np.stack([x], axis=1)
    left = np.flip(x, axis=k) + np.flip(x) + np.split(x * 2.0, (1,)) + x.sum(keepdims=False)
    also = np.roll(x, 1) + x.cumprod() + np.expand_dims(x, axis=(0, -1)) + x.squeeze()
    t = np.tile(x, reps=2) + np.tile(x, 3) + A.diagonal() + np.diagonal(A * 2.0)
    kept = np.linalg.diagonal(A) + A.diagonal(1) + np.tile(x)
    r = x.reshape((3, -1), order="F") + np.reshape(x * 2.0, (3, 2), order="F") + x.reshape((6,))
    g = dv.reshape(4, 4) + np.reshape(dv, (16,)) + np.clip(t2, a_max=1.0, a_min=-1.0) + x.clip(0.0)
    h = np.inner(c, v) + np.sort(x, axis=0) + np.sort(x) + np.sort(x, axis=k) + np.clip(x, out=y)
    p = np.pad(g, pad_width=((1, 0),)) + np.pad(g, (1, 1)) + np.pad(g, 1, mode="edge") + np.diff(x)
    q = np.diff(A, axis=0) + np.diff(A, axis=-1) + np.diff(A, 2, axis=0) + np.diff(A, axis=k)
    o = np.argsort(np.argsort(x, axis=-1, kind="stable"), axis=-1) + np.argsort(x, stable=True)
    w = np.where(t23, v0, 0.5) + np.where(t23) + np.argsort(x, kind="mergesort") + np.argsort(x)
    return a
'''


def test_each_form_is_respelled_and_the_lines_stay():
    source, called = respelled_spellings(MODULE, "f_grad_unchecked")
    lines = source.splitlines()
    assert len(lines) == len(MODULE.splitlines())
    assert lines[5] == "    add_at(dx, idx, detached(dt1, dx))  # line 3: comment kept"
    flips = "np.asarray(x)[::-1] + np.asarray(x)[:, ::-1] + np.asarray(x * 2.0)[..., ::-1, :]"
    assert lines[6] == f"    a = {flips}"
    assert lines[7] == "    t5, t6 = (np.asarray(dm)[:1], np.asarray(dm)[1:])"
    assert lines[8] == (
        "    t7, t8, t9 = (np.ascontiguousarray(np.asarray(dm)[..., :1]), "
        "np.ascontiguousarray(np.asarray(dm)[..., 1:3]), "
        "np.ascontiguousarray(np.asarray(dm)[..., 3:]))"
    )
    assert lines[9] == (
        "    b = dout / keepdims_all(np.sum(t7.astype(np.float64)), t7) + "
        "keepdims_all(mean_values(x), x)"
    )
    assert lines[10] == "    c = cumprod_along(x, -1) * roll_along(x, 1, 0) + cumprod_along(x, 1)"
    assert lines[11] == (
        "    d = np.expand_dims(np.expand_dims(np.asarray(dout * out), -1), -1) + "
        "np.expand_dims(np.expand_dims(np.asarray(x), 0), 2) + np.expand_dims(np.asarray(dout), -1)"
    )
    assert lines[12] == "    e = squeeze_axis(x, -1) + squeeze_axis(x, 0)"
    assert lines[13] == (
        "    f = prod_along(x, 1) + prod_along(x, -1) + "
        "np.sqrt(np.sum((x * np.conj(x)).real, axis=1)) + x.prod()"
    )
    stacked = "stack_items([mean_values(x), sum_values(x)]) + stack_items((x,))"
    assert lines[14] == f"    s = {stacked} + np.stack(rows) + np.stack([x], axis=1)"
    variant = numba_source(MODULE, "f_grad_unchecked")  # its joins take tuples
    assert "s = stack_items((mean_values(x), sum_values(x))) + stack_items((x,))" in variant
    assert lines[15:17] == MODULE.splitlines()[15:17]  # not literal, not named, no axis
    tiles = "tile_vector(x, 2) + tile_vector(x, 3)"
    assert lines[17] == f"    t = {tiles} + diagonal_of(A) + diagonal_of(A * 2.0)"
    assert lines[18] == MODULE.splitlines()[18]  # the last two axes, an offset, no reps
    fortran = "np.ascontiguousarray(np.asarray(x).T).reshape((-1, 3)).T"
    doubled = "np.ascontiguousarray(np.asarray(x * 2.0).T).reshape((2, 3)).T"
    assert lines[19] == f"    r = {fortran} + {doubled} + reshaped(x, (6,))"
    clips = "clip_values(t2, -1.0, 1.0) + clip_values(x, 0.0, None)"
    assert lines[20] == f"    g = reshaped(dv, (4, 4)) + reshaped(dv, (16,)) + {clips}"
    sorts = "sort_along(x, 0) + np.sort(x) + np.sort(x, axis=k)"  # numba's own; no literal axis
    assert lines[21] == f"    h = inner_product(c, v) + {sorts} + np.clip(x, out=y)"
    pads = "padded(g, ((1, 0),)) + padded(g, (1, 1))"
    assert lines[22] == f"    p = {pads} + np.pad(g, 1, mode='edge') + np.diff(x)"
    differences = "differences_along(A, 0) + differences_along(A, -1)"
    assert lines[23] == f"    q = {differences} + np.diff(A, 2, axis=0) + np.diff(A, axis=k)"
    ranks = "np.argsort(argsort_along(x, -1), axis=-1)"  # NumPy's own order where not stable
    assert lines[24] == f"    o = {ranks} + argsort_along(x, -1)"
    stable = "argsort_along(x, -1) + np.argsort(x)"
    assert lines[25] == f"    w = where_values(t23, v0, 0.5) + np.where(t23) + {stable}"
    assert called == {
        "reshaped",
        "clip_values",
        "inner_product",
        "sort_along",
        "padded",
        "differences_along",
        "argsort_along",
        "where_values",
        "add_at",
        "detached",
        "keepdims_all",
        "mean_values",
        "sum_values",
        "cumprod_along",
        "roll_along",
        "prod_along",
        "squeeze_axis",
        "stack_items",
        "tile_vector",
        "diagonal_of",
    }


def test_a_number_of_a_zero_d_array_is_read_through_item_of():
    module = MODULE.replace(
        "    return a\n", "    n = np.where(b > a, b, a)[()] + x[()]\n    x[()] = n\n    return a\n"
    )
    source, called = respelled_spellings(module, "f_grad_unchecked")
    lines = source.splitlines()
    assert lines[-3:-1] == [
        "    n = item_of(where_values(b > a, b, a)) + item_of(x)",
        "    x[()] = n",  # written: numba's own
    ]
    assert "item_of" in called


def test_var_std_and_axes_from_the_end_are_respelled():
    module = MODULE.replace(
        "    return a\n",
        "    v = x.var(axis=-1, keepdims=True) + np.std(x, axis=0) + x.mean(axis=-1)\n"
        "    w = (x * 2.0).var(axis=0) + x.var(axis=-1, ddof=1) + x.var(axis=0, ddof=k)\n"
        "    u = x.std(ddof=1) + np.var(x, ddof=2) + x.var(ddof=1, keepdims=True) + x.var()\n"
        "    return a\n",
    )
    source, _ = respelled_reductions(module, "f_grad_unchecked")
    lines = source.splitlines()
    mean = "np.sum(x, axis=-1) / x.shape[-1]"
    variance = f"np.sum((x - np.expand_dims({mean}, -1)) ** 2, axis=-1) / x.shape[-1]"
    std = "np.sqrt(np.sum((x - np.expand_dims(np.sum(x, axis=0) / x.shape[0], 0)) ** 2, axis=0)"
    assert lines[26] == f"    v = np.expand_dims({variance}, -1) + {std} / x.shape[0]) + {mean}"
    unbiased = f"np.sum((x - np.expand_dims({mean}, -1)) ** 2, axis=-1) / (x.shape[-1] - 1)"
    assert lines[27] == f"    w = (x * 2.0).var(axis=0) + {unbiased} + x.var(axis=0, ddof=k)"
    squares = "np.sum((x - np.sum(x) / x.size) ** 2)"  # over all axes: numba's takes no ddof
    over_all = f"np.sqrt({squares} / (x.size - 1)) + {squares} / (x.size - 2)"
    assert lines[28] == f"    u = {over_all} + x.var(ddof=1, keepdims=True) + x.var()"


@pytest.mark.slow
def test_add_at_gives_numpys_values_for_each_kind_of_index():
    numba = pytest.importorskip("numba")
    from srcad.runtime.numba_arrays import add_at

    @numba.njit(boundscheck=True)
    def scatter(a, index, values):
        add_at(a, index, values)
        return a

    @numba.njit
    def scatter_columns(a, columns, values):
        add_at(a, (slice(None), columns), values)
        return a

    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(4, 3))
    mask = rng.normal(size=(4, 3)) > 0
    cases = [
        (matrix, np.array([1, 1, 3, -4]), 2.5),  # negative, repeated; one number for all
        (matrix, mask, rng.normal(size=(4, 3))[mask]),
        (matrix, (np.array([0, 2, 0]), np.array([1, -1, 1])), rng.normal(size=3)),
        (matrix, (np.array([2]), np.array([0, 1, 1])), rng.normal(size=3)),  # broadcast
        (matrix, (np.array([2]), np.array([], dtype=np.int64)), np.ones(0)),  # to nothing
    ]
    for a, index, values in cases:
        expected = a.copy()
        np.add.at(expected, index, values)
        np.testing.assert_array_equal(scatter(a.copy(), index, values), expected)
    columns, values = np.array([0, 0, 2]), rng.normal(size=(4, 3))
    expected = matrix.copy()
    np.add.at(expected, (slice(None), columns), values)
    np.testing.assert_array_equal(scatter_columns(matrix.copy(), columns, values), expected)
    for index in (np.array([5]), (np.array([0]), np.array([3]))):
        with pytest.raises(IndexError):
            np.add.at(matrix.copy(), index, 1.0)
        with pytest.raises(IndexError):
            scatter(matrix.copy(), index, 1.0)


@pytest.mark.slow
def test_the_functions_along_an_axis_give_numpys_values():
    numba = pytest.importorskip("numba")
    from srcad.runtime import numba_arrays as arrays

    @numba.njit
    def along(x):
        return (
            arrays.cumprod_along(x, 0),
            arrays.cumprod_along(x, -1),
            arrays.roll_along(x, 1, -1),
            arrays.roll_along(x, -2, 0),
            arrays.prod_along(x, 1),
            arrays.keepdims_all(np.sum(x), x),
        )

    x = np.random.default_rng(6).normal(size=(3, 4))[:, ::-1]  # a strided view too
    first, last, rolled, back, product, total = along(x)
    np.testing.assert_array_equal(first, np.cumprod(x, axis=0))
    np.testing.assert_array_equal(last, np.cumprod(x, axis=-1))
    np.testing.assert_array_equal(rolled, np.roll(x, 1, axis=-1))
    np.testing.assert_array_equal(back, np.roll(x, -2, axis=0))
    np.testing.assert_allclose(product, np.prod(x, axis=1), rtol=1e-14)
    assert product.shape == (3,) and last.flags.c_contiguous and rolled.flags.c_contiguous
    assert total.shape == (1, 1) and total[0, 0] == pytest.approx(np.sum(x), rel=1e-14)
    stack = numba.njit(
        lambda a: (arrays.stack_items((a[0, 0], a[1, 1])), arrays.stack_items((a, a)))
    )
    numbers, matrices = stack(x)
    np.testing.assert_array_equal(numbers, np.stack((x[0, 0], x[1, 1])))
    np.testing.assert_array_equal(matrices, np.stack((x, x)))
    column = x[:, :1]  # one column: its axis 1 squeezes, its axis 0 does not, as in NumPy
    squeeze = numba.njit(lambda a: arrays.squeeze_axis(a, -1))
    np.testing.assert_array_equal(squeeze(column), np.squeeze(column, axis=-1))
    with pytest.raises(ValueError):
        np.squeeze(column, axis=0)
    with pytest.raises(ValueError):
        numba.njit(lambda a: arrays.squeeze_axis(a, 0))(column)
    with pytest.raises(numba.core.errors.TypingError):  # NumPy widens an int32 product
        numba.njit(lambda a: arrays.cumprod_along(a, 0))(np.arange(3, dtype=np.int32))
    tile = numba.njit(lambda v, n: arrays.tile_vector(v, n))
    for reps in (0, 1, 3):
        np.testing.assert_array_equal(tile(x[0], reps), np.tile(x[0], reps))
    with pytest.raises(ValueError):  # as NumPy's
        tile(x[0], -1)
    with pytest.raises(numba.core.errors.TypingError):  # a matrix: NumPy's code runs
        tile(x, 2)
    diagonal = numba.njit(lambda a: arrays.diagonal_of(a))
    np.testing.assert_array_equal(diagonal(x), np.diagonal(x))
    with pytest.raises(numba.core.errors.TypingError):  # np.diagonal of a vector is an error
        diagonal(x[0])


STRIDED = np.random.default_rng(8).normal(size=(3, 4))[:, ::-1]  # a strided view


@pytest.mark.slow
def test_reshapes_and_clips_give_numpys_values():
    numba = pytest.importorskip("numba")
    from srcad.runtime import numba_arrays as arrays

    x = STRIDED
    reshape = numba.njit(lambda a, shape: arrays.reshaped(a, shape))
    for array in (x.T, np.broadcast_to(x[0], (3, 4)), np.ascontiguousarray(x)):
        np.testing.assert_array_equal(reshape(array, (2, 6)), array.reshape((2, 6)))
    np.testing.assert_array_equal(reshape(x, -1), x.reshape(-1))
    contiguous = np.ascontiguousarray(x)
    assert np.shares_memory(reshape(contiguous, (2, 6)), contiguous)  # a view, as NumPy's
    assert reshape(x[:1, :1], ()) == x[0, 0]  # a number, as NumPy's 0-d array acts
    with pytest.raises(ValueError):  # as NumPy's
        reshape(x[0], ())
    clip = numba.njit(lambda a, lo, hi: arrays.clip_values(a, lo, hi))
    for value in (2.5, -3.0, np.nan, 7, np.arange(-3, 4)):
        for lo, hi in ((-1.0, 1.0), (2.0, -2.0), (None, 0.5), (0.0, None)):
            want = np.clip(value, lo, hi)
            have = clip(value, lo, hi)
            np.testing.assert_array_equal(have, want)
            assert np.asarray(have).dtype == np.asarray(want).dtype, (value, lo, hi)
    integers, low = np.arange(-3, 4), np.full(7, 0.5)  # float bounds: a float result, as NumPy's
    np.testing.assert_array_equal(clip(integers, low, 2.5), np.clip(integers, low, 2.5))
    assert clip(integers, low, 2.5).dtype == np.float64


@pytest.mark.slow
def test_inner_products_sorts_argsorts_and_wheres_give_numpys_values():
    numba = pytest.importorskip("numba")
    from srcad.runtime import numba_arrays as arrays

    x = STRIDED
    inner = numba.njit(lambda a, b: arrays.inner_product(a, b))
    y = np.random.default_rng(9).normal(size=(5, 4))
    for a, b in ((x[0], x[1]), (x, x[0]), (x[0], y), (x, y), (2.0, x)):
        np.testing.assert_allclose(inner(a, b), np.inner(a, b), rtol=1e-14)
        assert np.shape(inner(a, b)) == np.shape(np.inner(a, b))
    with pytest.raises(numba.core.errors.TypingError):  # 3-d: NumPy's code runs
        inner(np.ones((2, 2, 4)), x)
    tied = np.array([[2.0, np.nan, 1.0, 2.0], [1.0, 1.0, np.nan, 0.0], [2.0, 1.0, 1.0, 2.0]])
    sort = numba.njit(lambda a: (arrays.sort_along(a, 0), arrays.sort_along(a, -1)))
    argsort = numba.njit(lambda a: (arrays.argsort_along(a, 0), arrays.argsort_along(a, -1)))
    for array in (tied, tied[0]):  # NaNs last, ties in order, as NumPy's (axis 0: columns)
        first, last = sort(array)
        np.testing.assert_array_equal(first, np.sort(array, axis=0))
        np.testing.assert_array_equal(last, np.sort(array, axis=-1))
        first, last = argsort(array)
        np.testing.assert_array_equal(first, np.argsort(array, axis=0, kind="stable"))
        np.testing.assert_array_equal(last, np.argsort(array, axis=-1, kind="stable"))
    where = numba.njit(lambda c, a, b: arrays.where_values(c, a, b))
    assert where(True, 2, 0.5) == 2.0 and np.ndim(where(False, 2, 0.5)) == 0
    np.testing.assert_array_equal(where(x > 0, x, 0.5), np.where(x > 0, x, 0.5))
    vdot = numba.njit(lambda a, b: arrays.vdot_values(a, b))
    single = y.astype(np.float32)
    for a, b in ((x, x), (y, single), (single, y), (single, single.T)):  # any shape, dtype
        want = np.vdot(a, b)
        assert vdot(a, b) == pytest.approx(want, rel=1e-6 if a.dtype == b.dtype else 1e-14)


@pytest.mark.slow
def test_pads_and_differences_give_numpys_values():
    numba = pytest.importorskip("numba")
    from srcad.runtime import numba_arrays as arrays

    x = STRIDED
    pad = numba.njit(lambda a, widths: arrays.padded(a, widths))
    for array, widths in (
        (x, 1),
        (x, ((1, 0),)),
        (x.T, ((2, 1), (0, 3))),
        (x[0], (1, 2)),
        (x[0], ((2, 1),)),
    ):
        have, want = pad(array, widths), np.pad(array, widths)
        np.testing.assert_array_equal(have, want)
        assert have.dtype == want.dtype
    with pytest.raises(ValueError):  # as NumPy's
        pad(x[0], (-1, 0))
    differences = numba.njit(
        lambda a: (arrays.differences_along(a, 0), arrays.differences_along(a, -1))
    )
    for array in (x, x > 0, np.arange(5) ** 2):
        first, last = differences(array)
        for have, want in ((first, np.diff(array, axis=0)), (last, np.diff(array, axis=-1))):
            np.testing.assert_array_equal(have, want)
            assert have.dtype == want.dtype


WORLD = {"scale": 1.0}


def scatters(logits, labels, E, idx, mask):
    """Scores picked by integer labels, as a cross-entropy picks them (the gradient scatters
    through a pair of index arrays), repeated rows of a table, a mask. A layer norm (``var`` along the last axis)
    and row norms compile for long: benchmarks/numba_corpus.py runs them."""
    picked = np.tanh(logits * WORLD["scale"])[np.arange(logits.shape[0]), labels]
    loss = -np.mean(picked)
    rows = E[idx] * WORLD["scale"]
    return loss + np.sum(np.tanh(rows) ** 2) + np.sum(np.sin(E[mask]))


def products(x, a):
    """A product (its gradient rolls cumulative products), a cumulative sum along an axis
    (flipped), the max of all, a bilinear einsum, a tiled vector, columns stacked (the gradient splits along the second
    axis). A determinant (which expands a number's dimensions) and a product along an axis
    compile for long: benchmarks/numba_corpus.py runs them."""
    spread = np.sum(np.cumsum(a, axis=1) * a) + np.prod(x) * WORLD["scale"] + np.max(x * a[0])
    spread = spread + np.einsum("i,ij,j->", x, a, x) + np.sum(np.tile(x, 2) * np.arange(6.0))
    m = np.stack([x, a[1] * WORLD["scale"], x * a[2]], axis=1)
    return spread + np.sum(m @ m.T)


def reductions(E):
    """A layer norm (``var`` along the last axis), row norms, a product along an axis, a mean
    over both axes, a stack of numbers (a moving average's window means), an unbiased
    ``std`` along an axis and over all, a reshape in Fortran order."""
    scaled = E * WORLD["scale"]
    mu = np.mean(scaled, axis=-1, keepdims=True)
    normed = (scaled - mu) / np.sqrt(np.var(scaled, axis=-1, keepdims=True) + 1e-5)
    spread = np.sum(normed**3) + np.sum(np.linalg.norm(E, axis=1)) + np.sum(np.prod(E, axis=0))
    windows = np.stack([np.mean(E[0, 0:2]), np.mean(E[1, 1:3])])
    spread = spread + np.sum(E.std(axis=0, ddof=1)) + np.sum(E.reshape((4, 3), order="F") ** 3)
    spread = spread + np.std(scaled, ddof=1)
    return (
        spread
        + np.sum((E - np.mean(scaled, axis=(0, 1), keepdims=True)) ** 2)
        + windows @ [1.0, 2.0]
    )


def shaped(x, A, c):
    """A reshape then a transpose (the gradient reshapes a transposed array), a clipped
    number with its bounds given by keyword, an inner product, a sort along the first axis
    of an argument that is not differentiated, differences of a vector and along a matrix's
    first axis (their gradients pad), a median, a sort and a percentile of the input (their
    gradients rank it stably), a number picked by np.where in one branch only, a matrix
    flattened (``ravel(order="C")`` in the NumPy code: numba takes ``ravel()`` only)."""
    v = np.tanh(A @ x).reshape(2, 3).T
    s = np.clip(np.sum(x) * WORLD["scale"], a_max=1.0, a_min=-1.0)
    edges = np.sort(c, axis=0)
    steps = np.sum(np.diff(x) ** 2) + np.sum(np.diff(A, axis=0) ** 2) * WORLD["scale"]
    ranked = np.median(x) * np.sum(np.sort(A, axis=1)[:, 0]) + np.percentile(A, 30.0)
    if x[1] > 0.0:
        picked = np.maximum(x[0], x[1])
    else:
        picked = np.where(x[0] > 0.0, x[0], 0.5)  # a number, as the other branch's
    other = s * np.inner(x, A[0]) + np.sum(edges[0] * x[:3]) + steps + ranked + picked
    return np.sum(v * x[:2]) + other + np.sum(A.T.flatten()[:4] ** 2)


@pytest.mark.slow
def test_tied_elements_get_the_same_gradient_on_both_backends():
    """Ties ranked in their order on both backends (stable argsorts): the gradients of a
    sort, a median and a partition at tied elements agree exactly, and follow the order in
    x."""
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    x = np.array([1.0, 0.0, 1.0, 2.0, 1.0])
    weights = np.arange(10.0, 60.0, 10.0)
    on_numpy = srcad.grad(ranked_ties)(x, weights)
    # stable order 1, 0, 2, 4, 3: the sort's weights, the median's rank 2, the partition's
    # two smallest (ranks 0 and 1)
    np.testing.assert_array_equal(on_numpy[[1, 0, 2, 4, 3]], weights + [1.0, 1.0, 1.0, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        on_numba = srcad.grad(ranked_ties, backend="numba")(x, weights)
    np.testing.assert_array_equal(on_numba, on_numpy)


DECAY = {"target": np.linspace(-1.0, 1.0, 12).reshape(3, 4)}  # float64, read on every call


def pulled_to_a_target(W):
    return np.sum(np.tanh(W) ** 2) - np.vdot(W, DECAY["target"])


@pytest.mark.slow
def test_float32_weights_and_a_float64_global_in_one_vdot_compile():
    """``np.vdot`` of a float32 and a float64 array is computed in float64, as NumPy's
    (numba's own takes one dtype: the variant fell back to the NumPy code)."""
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    W = np.random.default_rng(4).normal(size=(3, 4)).astype(np.float32)
    compiled = srcad.value_and_grad(pulled_to_a_target, backend="numba")
    kept = DECAY["target"]
    try:
        for target in (kept, -2.0 * kept):  # the global changes
            DECAY["target"] = target
            with warnings.catch_warnings():
                warnings.simplefilter("error", NumbaFallbackWarning)
                value, grad = compiled(W)
            want_value, want_grad = srcad.value_and_grad(pulled_to_a_target)(W)
            assert value == pytest.approx(want_value, rel=1e-6) and grad.dtype == want_grad.dtype
            np.testing.assert_allclose(grad, want_grad, rtol=1e-5, atol=1e-6)
            central = srcad.numerical_grad(pulled_to_a_target, W.astype(np.float64))
            np.testing.assert_allclose(grad, central, rtol=1e-3, atol=1e-4)
    finally:
        DECAY["target"] = kept


ORDER = np.array([2, 0, 1, 3])


# A signal added to itself reversed or permuted, a matrix to its flip, an in-place add of a
# reversed copy: the backward lines add a gradient into itself through a view
# (``dt[::-1] += dt``, ``add_at(dt, order, dt)``), which numba read as it wrote (wrong
# gradients; found by a probe).
def reversed_sum(x):
    return np.sum((x + x[::-1]) * np.arange(1.0, 5.0) * WORLD["scale"])


def permuted_sum(x):
    return np.sum((x + x[ORDER]) * np.arange(1.0, 5.0) * WORLD["scale"])


def flipped_matrix(A):
    return np.sum((A + A[::-1, ::-1]) * np.arange(9.0).reshape(3, 3) * WORLD["scale"])


def reversed_in_place(x):
    z = np.tanh(x) * WORLD["scale"]
    z += z[::-1]
    return np.sum(z * np.arange(1.0, 5.0))


def picked_by_python(x):
    """Python's max and min of numbers (the NumPy code takes ``np.where(b > a, b, a)[()]``,
    whose ``[()]`` numba has no typing for on a number: the variant fell back)."""
    scaled = x * WORLD["scale"]
    return (
        max(scaled[0], scaled[1], 0.1)
        + min(scaled[0], scaled[2]) ** 2
        + abs(x[1]) * max(x[0], x[1])
    )


def ranked_ties(x, weights):
    return np.sort(x) @ weights + np.median(x) + np.sum(np.partition(x, 2)[:2])


def _kernel(theta, X):
    squared = np.sum((X[:, None] - X[None]) ** 2, -1)
    return np.exp(theta[0]) * np.exp(-0.5 * squared) + (0.1 + WORLD["scale"]) * np.eye(len(X))


def gp_by_lower_factor(theta, X, y):
    """A GP's negative log likelihood as people write it (probe AT F5: it fell back at
    cholesky's upper=False, solve_triangular and the gradient of np.diag)."""
    import scipy.linalg as sla

    L = sla.cholesky(_kernel(theta, X), lower=True)
    a = sla.solve_triangular(L, y, lower=True)
    return 0.5 * a @ a + np.log(np.diag(L)).sum()


def gp_by_upper_factor(theta, X, Y):
    import scipy.linalg as sla

    U = sla.cholesky(_kernel(theta, X))
    A = sla.solve_triangular(U, Y, trans="T")  # U^T A = Y, two columns
    B = sla.solve_triangular(U, A, unit_diagonal=True)
    return 0.5 * np.sum(A * A) + np.sum(B) * 1e-2 + np.sum(np.log(np.diagonal(U)))


def _inputs():
    rng = np.random.default_rng(7)
    labels, idx = np.array([0, 3, 3, 1, 2, 0]), np.array([4, 0, 4, 2])
    mask = rng.normal(size=(5, 4)) > 0
    return {
        scatters: ((rng.normal(size=(6, 4)), labels, rng.normal(size=(5, 4)), idx, mask), (0, 2)),
        products: ((rng.uniform(0.5, 1.5, size=3), rng.normal(size=(3, 3))), (0, 1)),
        reductions: ((rng.normal(size=(3, 4)),), (0,)),
        picked_by_python: ((np.array([0.4, -0.3, 0.7]),), (0,)),
        reversed_sum: ((np.array([0.3, -0.5, 0.8, 1.2]),), (0,)),
        permuted_sum: ((np.array([0.3, -0.5, 0.8, 1.2]),), (0,)),
        flipped_matrix: ((rng.normal(size=(3, 3)),), (0,)),
        reversed_in_place: ((np.array([0.3, -0.5, 0.8, 1.2]),), (0,)),
        shaped: (
            (rng.uniform(-0.2, 0.2, 4), rng.normal(size=(6, 4)), rng.normal(size=(3, 3))),
            (0, 1),
        ),
        gp_by_lower_factor: (
            (np.array([0.1]), rng.normal(size=(6, 2)), rng.normal(size=6)),
            (0, 2),
        ),
        gp_by_upper_factor: (
            (np.array([-0.2]), rng.normal(size=(5, 2)), rng.normal(size=(5, 2))),
            (0, 2),
        ),
    }


@pytest.mark.slow
@pytest.mark.parametrize("function", list(_inputs()), ids=lambda f: f.__name__)
def test_the_variant_compiles_and_agrees_also_after_the_world_changed(function):
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    args, argnums = _inputs()[function]
    compiled = srcad.value_and_grad(function, argnums=argnums, backend="numba")
    for scale in (1.0, 0.7):  # the second call reads the changed global
        WORLD["scale"] = scale
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", NumbaFallbackWarning)
                value, grads = compiled(*args)
            want_value, want_grads = srcad.value_and_grad(function, argnums=argnums)(*args)
            numeric = srcad.numerical_grad(function, *args, argnums=argnums)
        finally:
            WORLD["scale"] = 1.0
        assert value == pytest.approx(want_value, rel=1e-12)
        for have, want, central in zip(grads, want_grads, numeric, strict=True):
            np.testing.assert_allclose(have, want, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(have, central, rtol=1e-5, atol=1e-7)


EINSUM_MODULE = '''import numpy as np


def f_grad_unchecked(x, a, dout=1.0):
    """docstring"""
    out = np.einsum("i,ij,j->", x, a, x) + np.einsum("ij", a).sum()
    da = np.einsum(",i,j->ij", dout, x, x)
    left = np.einsum("...i,i", a, x) + np.einsum(spec, x) + np.einsum("ij,j", a, x, optimize=True)
    return out, da
'''


def test_einsums_of_literal_subscripts_call_loops_written_for_them():
    from srcad.backends.numba_einsum import parse_subscripts, respelled_einsums

    source, helpers = respelled_einsums(EINSUM_MODULE, "f_grad_unchecked")
    lines = source.splitlines()
    assert lines[5] == "    out = einsum_i_ij_j(x, a, x) + einsum_ij_to_ij(a).sum()"
    assert lines[6] == "    da = einsum__i_j_to_ij(dout, x, x)"
    assert lines[7] == EINSUM_MODULE.splitlines()[7]  # an ellipsis, a name, an option
    assert helpers == {
        "einsum_i_ij_j": "i,ij,j->",
        "einsum_ij_to_ij": "ij",
        "einsum__i_j_to_ij": ",i,j->ij",
    }
    assert parse_subscripts("ji,jk", 2) == (["ji", "jk"], "ik")  # NumPy's implicit output
    assert parse_subscripts("ii", 1) == (["ii"], "")
    assert parse_subscripts("ij,jk->ik", 1) is None and parse_subscripts("i1->i", 1) is None


@pytest.mark.slow
def test_the_einsum_loops_give_numpys_values():
    numba = pytest.importorskip("numba")
    from srcad.backends.numba_einsum import helper_lines, parse_subscripts

    rng = np.random.default_rng(8)
    a, b, x = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=4)
    square, row = rng.normal(size=(3, 3)), rng.normal(size=(1, 4))
    cases = {
        "i,ij,j->": (x[:3], a, x),
        "ij,jk": (a, b),  # implicit output: ik
        "ii->i": (square,),
        "ij,ij->ij": (row, a),  # an axis of length 1 stretches, as in NumPy
        ",i,j->ji": (2.5, x[:3], x),  # a number
    }
    helpers = {}
    for spec in cases:
        inputs, output = parse_subscripts(spec, len(cases[spec]))
        helpers["einsum_" + "_".join(inputs) + (f"_to_{output}" if output else "")] = spec
    namespace = {"np": np, "numba": numba}
    exec("\n".join(helper_lines(helpers, "")), namespace)  # noqa: S102 - the helpers' source
    for name, spec in helpers.items():
        got = namespace[name](*cases[spec])
        np.testing.assert_allclose(got, np.einsum(spec, *cases[spec]), rtol=1e-13, atol=1e-14)
        assert np.shape(got) == np.einsum(spec, *cases[spec]).shape
    with pytest.raises(ValueError):
        np.einsum("ij,ij->ij", a[:2], a)
    with pytest.raises(ValueError):
        namespace["einsum_ij_ij_to_ij"](a[:2], a)


def powers_of_two(x):
    """2 ** i of a loop's counter from -2: numba's int power gave 0 for 2 ** -1 (a silent
    wrong value and gradient; found by a probe)."""
    total = 0.0
    for i in range(-2, 3):
        total += x[i + 2] ** 2 * 2**i * WORLD["scale"]
    return total


def pow_of_a_count(x):
    k = int(np.sum(x > 0)) - 3
    return np.sum(x**2) * math.pow(2, k)


def huge_count(x):
    return x[1] * int(x[0])  # beyond int64 where x[0] is 9.3e18


def counted_powers(x):
    total = 0.0
    for i in range(3):
        total += x[i] * 2**i * WORLD["scale"]
    return total


@pytest.mark.slow
@pytest.mark.parametrize(
    "function, x",
    [
        (powers_of_two, np.array([0.5, -1.0, 2.0, 0.3, 0.7])),
        (pow_of_a_count, np.array([0.5, -1.0, 2.0])),
        (huge_count, np.array([9.3e18, 1.0])),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_python_ints_that_numba_cannot_hold_get_the_numpy_codes_answer(function, x):
    """An int power with a negative exponent (a float in Python) or beyond int64, an int of a
    float beyond int64: the compiled code raises, and the NumPy code answers."""
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    for scale in (1.0, 0.5):  # the second call reads the changed global
        WORLD["scale"] = scale
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NumbaFallbackWarning)
                value, grad = srcad.value_and_grad(function, backend="numba")(x)
            want_value, want_grad = srcad.value_and_grad(function)(x)
            plain = function(x)
        finally:
            WORLD["scale"] = 1.0
        assert value == want_value and value == pytest.approx(plain, rel=1e-15)
        np.testing.assert_array_equal(grad, want_grad)


@pytest.mark.slow
def test_int_powers_numba_can_hold_are_compiled():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    x = np.array([0.5, -1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        got = srcad.grad(counted_powers, backend="numba")(x)
    np.testing.assert_array_equal(got, [1.0, 2.0, 4.0])


def spread_of_float32(x):
    """Sums, means, variances and standard deviations of a million float32 numbers: numba's
    own added them one by one in float32 (4e-4 off; the variance's gradient 23 % off where
    NumPy's pairwise sums are within 1e-7; found by a probe)."""
    centred = x - np.float32(0.2)
    return np.mean(centred**2) + np.sum(x) * np.float32(1e-6) + np.var(x) + x.std()


@pytest.mark.slow
def test_float32_reductions_of_all_elements_keep_numpys_digits():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    x = np.random.default_rng(3).random(1_000_000).astype(np.float32) * 0.2 + 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        value, grad = srcad.value_and_grad(spread_of_float32, backend="numba")(x)
    exact_value, exact_grad = srcad.value_and_grad(spread_of_float32)(x.astype(np.float64))
    assert value.dtype == grad.dtype == np.float32
    assert value == pytest.approx(exact_value, rel=1e-6)
    scale = np.max(np.abs(exact_grad))
    assert np.max(np.abs(grad - exact_grad)) <= 1e-5 * scale


def plain_norm(x):
    return np.linalg.norm(x) * WORLD["scale"]


@pytest.mark.slow
def test_a_norm_whose_square_underflows_or_overflows_is_numpys_on_both_backends():
    """numba's np.linalg.norm of a vector scales it: 5e-170 where NumPy's square root of
    the sum of squares gives 0.0 (and 5e160 for its inf), so the backends disagreed (probe
    Y); the norm is spelled as NumPy computes it."""
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    for x in (np.array([3e-170, 4e-170]), np.array([3e160, 4e160]), np.array([0.3, -0.4])):
        expected = srcad.value_and_grad(plain_norm)(x)
        assert expected[0] == plain_norm(x)
        with warnings.catch_warnings():
            warnings.simplefilter("error", NumbaFallbackWarning)
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's inf, on both
            got = srcad.value_and_grad(plain_norm, backend="numba")(x)
        assert got[0] == expected[0]
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-12)


def test_lstsq_gets_numpys_cutoff_for_small_singular_values():
    """numba's lstsq keeps singular values down to machine precision where NumPy cuts at
    eps * max(M, N): a solution of 1e15 for NumPy's 1.3 (probe AG)."""
    module = MODULE.replace(
        "    return a\n",
        "    l1 = np.linalg.lstsq(A, b)\n    l2 = np.linalg.lstsq(A, b, rcond=None)\n"
        "    l3 = np.linalg.lstsq(A, b, rcond=0.1)\n    return a\n",
    )
    lines = respelled_spellings(module, "f_grad_unchecked")[0].splitlines()
    cutoff = "rcond=np.finfo(A.dtype).eps * max(A.shape[0], A.shape[1])"
    assert lines[-4:-1] == [
        f"    l1 = np.linalg.lstsq(A, b, {cutoff})",
        f"    l2 = np.linalg.lstsq(A, b, {cutoff})",
        "    l3 = np.linalg.lstsq(A, b, rcond=0.1)",
    ]


@pytest.mark.slow
def test_lstsq_on_numba_agrees_with_numpy_on_a_nearly_singular_matrix():
    pytest.importorskip("numba")

    def solved(A, b):
        return np.sum(np.linalg.lstsq(A, b)[0] ** 2)

    A = np.array([[1.0, 0, 0], [0, 1e-15, 0], [0, 0, 1], [1, 0, 1]])
    b = np.array([1.0, 1.0, 1.0, 0.5])
    expected = srcad.value_and_grad(solved, argnums=1)(A, b)
    got = srcad.value_and_grad(solved, argnums=1, backend="numba")(A, b)
    assert got[0] == pytest.approx(expected[0], rel=1e-12) == solved(A, b)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-12)


def column_model(W, x, y):
    """A one-output linear model: its value is a size-1 array, as grad takes it."""
    return (x @ W - y) ** 2 * WORLD["scale"]


def single_number(x):
    return x * x + np.sin(x) * 0.5 * WORLD["scale"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("function", "args"),
    [
        (column_model, (np.array([[0.3], [-1.0], [2.0]]), np.array([1.0, 0.5, -0.2]), 0.5)),
        (single_number, (np.float32(2.0),)),
        (single_number, (np.array([1.5]),)),
    ],
    ids=["size-1 output", "np.float32 number", "size-1 argument"],
)
def test_a_size_one_output_and_a_float32_number_compile(function, args):
    """Both fell back: ``reshaped(dout, (1,))`` of a number had no typing, and an
    np.float32 argument was taken for float32 code mixed with float64 (probe AT F3, F4)."""
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    compiled = srcad.value_and_grad(function, backend="numba")
    for scale in (1.0, -0.5):
        WORLD["scale"] = scale
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", NumbaFallbackWarning)
                value, grad = compiled(*args)
            want_value, want_grad = srcad.value_and_grad(function)(*args)
        finally:
            WORLD["scale"] = 1.0
        assert type(value) is type(want_value) and value == pytest.approx(want_value, rel=1e-6)
        assert np.asarray(grad).dtype == np.asarray(want_grad).dtype
        np.testing.assert_allclose(grad, want_grad, rtol=1e-6)
