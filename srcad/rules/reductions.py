"""Rules of the reductions and scans: ``sum mean prod max min nanmax nanmin ptp std var
nansum nanmean average cumsum cumprod diff gradient sort partition median quantile
percentile nanmedian nanquantile nanpercentile`` (with ``axis`` and ``keepdims`` where NumPy has them).

The cotangent of a reduction is spread back over the reduced axes: evenly for ``sum`` and
``mean``, onto the positions that attain the extremum for ``max`` and ``min`` (split evenly
between ties), and weighted by the product of the other elements for ``prod`` (computed
without dividing, so zeros are fine). The tangent of a reduction is the same reduction of
a weighted tangent.
"""

from __future__ import annotations

import math

import numpy as np

from srcad.rules.registry import defjvp, deflinear, defvjp, expand_reduced, normalize_axes


def _spread(g, x, axis, keepdims):
    """The reduction's cotangent, back in the shape of ``x``."""
    return np.broadcast_to(expand_reduced(g, axis, keepdims), np.shape(x))


def _group_size(x, out):
    """How many elements of ``x`` each element of ``out`` reduces."""
    return np.size(x) // max(np.size(out), 1)


@defvjp(np.sum)
def sum_vjp(g, out, x, axis=None, dtype=None, keepdims=False):
    return _spread(g, x, axis, keepdims)


deflinear(np.sum)


@defvjp(np.mean)
def mean_vjp(g, out, x, axis=None, dtype=None, keepdims=False):
    # divide before spreading: one division of the (smaller) cotangent
    return _spread(g / _group_size(x, out), x, axis, keepdims)


deflinear(np.mean)


@defvjp(np.average)
def average_vjp(g, out, x, axis=None, keepdims=False):
    return _spread(g, x, axis, keepdims) / _group_size(x, out)


deflinear(np.average)


@defvjp(np.nansum)
def nansum_vjp(g, out, x, axis=None, dtype=None, keepdims=False):
    return np.where(np.isnan(x), 0.0, _spread(g, x, axis, keepdims))


@defjvp(np.nansum)
def nansum_jvp(tangents, out, x, axis=None, dtype=None, keepdims=False):
    (x_dot,) = tangents
    return np.sum(np.where(np.isnan(x), 0.0, x_dot), axis=axis, dtype=dtype, keepdims=keepdims)


def _nan_free_count(x, axis):
    is_number = np.logical_not(np.isnan(x))
    return is_number, np.sum(is_number, axis=axis, keepdims=True, dtype=x.dtype)


@defvjp(np.nanmean)
def nanmean_vjp(g, out, x, axis=None, dtype=None, keepdims=False):
    is_number, count = _nan_free_count(x, axis)
    return np.where(is_number, expand_reduced(g, axis, keepdims) / count, 0.0)


@defjvp(np.nanmean)
def nanmean_jvp(tangents, out, x, axis=None, dtype=None, keepdims=False):
    (x_dot,) = tangents
    is_number, count = _nan_free_count(x, axis)
    return np.sum(np.where(is_number, x_dot / count, 0.0), axis=axis, keepdims=keepdims)


# --- extrema --------------------------------------------------------------------------------
def _extremum_weights(out, x, axis, keepdims):
    """The positions of ``x`` that attain the reduced extremum ``out``, and how many a
    slice has: at least 1, for a slice whose extremum is NaN attains it nowhere (its
    cotangent, 0 where a mask drops the slice, stays 0 rather than 0 / 0)."""
    is_extremum = x == expand_reduced(out, axis, keepdims)
    ties = np.sum(is_extremum, axis=axis, keepdims=True, dtype=x.dtype)  # keep float32
    return is_extremum, np.maximum(ties, 1)


def _extremum_vjp(g, out, x, axis, keepdims):
    is_extremum, ties = _extremum_weights(out, x, axis, keepdims)
    return np.where(is_extremum, expand_reduced(g, axis, keepdims), 0.0) / ties


def _extremum_jvp(x_dot, out, x, axis, keepdims):
    is_extremum, ties = _extremum_weights(out, x, axis, keepdims)
    return np.sum(np.where(is_extremum, x_dot, 0.0) / ties, axis=axis, keepdims=keepdims)


def _extremum_rules(target):
    """The rules of ``target``, a max or a min: the cotangent goes to the positions that
    attain it (a NaN equals no extremum, so nanmax's and nanmin's NaNs get no share)."""

    @defvjp(target)
    def extremum_vjp(g, out, x, axis=None, keepdims=False):
        return _extremum_vjp(g, out, x, axis, keepdims)

    @defjvp(target)
    def extremum_jvp(tangents, out, x, axis=None, keepdims=False):
        return _extremum_jvp(tangents[0], out, x, axis, keepdims)


for _extremum in (np.max, np.min, np.nanmax, np.nanmin):
    _extremum_rules(_extremum)


@defvjp(np.ptp)
def ptp_vjp(g, out, x, axis=None, keepdims=False):
    high = np.max(x, axis=axis, keepdims=keepdims)
    low = np.min(x, axis=axis, keepdims=keepdims)
    return _extremum_vjp(g, high, x, axis, keepdims) - _extremum_vjp(g, low, x, axis, keepdims)


@defjvp(np.ptp)
def ptp_jvp(tangents, out, x, axis=None, keepdims=False):
    (x_dot,) = tangents
    high = np.max(x, axis=axis, keepdims=keepdims)
    low = np.min(x, axis=axis, keepdims=keepdims)
    return _extremum_jvp(x_dot, high, x, axis, keepdims) - _extremum_jvp(
        x_dot, low, x, axis, keepdims
    )


# --- variance -------------------------------------------------------------------------------
def _centered(x, axis, ddof, out):
    """``x - mean`` and the divisor ``N - ddof`` of the variance."""
    return x - np.mean(x, axis=axis, keepdims=True), _group_size(x, out) - ddof


@defvjp(np.var)
def var_vjp(g, out, x, axis=None, dtype=None, ddof=0, keepdims=False):
    centered, divisor = _centered(x, axis, ddof, out)
    return expand_reduced(g, axis, keepdims) * centered * (2.0 / divisor)


@defjvp(np.var)
def var_jvp(tangents, out, x, axis=None, dtype=None, ddof=0, keepdims=False):
    (x_dot,) = tangents
    centered, divisor = _centered(x, axis, ddof, out)
    return np.sum(centered * x_dot, axis=axis, keepdims=keepdims) * (2.0 / divisor)


def _spread_or_inf(out, x, axis, keepdims):
    """``std`` where the values differ by more than rounding, else inf: where they are equal
    up to rounding (the computed std is rounding noise, the true one may be 0) the rules
    take the subgradient 0 of the kink instead of noise / noise."""
    rounding = 8.0 * np.finfo(x.dtype).eps * np.max(np.abs(x), axis=axis, keepdims=keepdims)
    return np.where(out <= rounding, np.inf, out)


@defvjp(np.std)
def std_vjp(g, out, x, axis=None, dtype=None, ddof=0, keepdims=False):
    # d sqrt(var) = d var / (2 std)
    centered, divisor = _centered(x, axis, ddof, out)
    scale = expand_reduced(g / _spread_or_inf(out, x, axis, keepdims), axis, keepdims)
    return scale * centered / divisor


@defjvp(np.std)
def std_jvp(tangents, out, x, axis=None, dtype=None, ddof=0, keepdims=False):
    (x_dot,) = tangents
    centered, divisor = _centered(x, axis, ddof, out)
    spread = _spread_or_inf(out, x, axis, keepdims)
    return np.sum(centered * x_dot, axis=axis, keepdims=keepdims) / (spread * divisor)


# --- products -------------------------------------------------------------------------------
@defvjp(np.prod)
def prod_vjp(g, out, x, axis=None, dtype=None, keepdims=False):
    return expand_reduced(g, axis, keepdims) * _product_of_others(x, axis)


@defjvp(np.prod)
def prod_jvp(tangents, out, x, axis=None, dtype=None, keepdims=False):
    (x_dot,) = tangents
    return np.sum(_product_of_others(x, axis) * x_dot, axis=axis, keepdims=keepdims)


def _product_of_others(x, axis):
    """For every element of ``x``, the product of the others reduced with it.

    Along the reduced axes (moved last and flattened into one), the product of the others
    is (product of those before) * (product of those after), from two cumulative products,
    so no element is divided by.
    """
    rows, restore = _reduced_last(x, axis)
    before = _exclusive_cumprod(rows)
    after = np.flip(_exclusive_cumprod(np.flip(rows, -1)), -1)
    return restore(before * after)


def _reduced_last(x, axis):
    """``x`` with the reduced axes moved last and flattened into one: ``(rows, restore)``,
    ``restore`` putting an array of the rows' shape back in ``x``'s."""
    ndim = np.ndim(x)
    reduced = normalize_axes(axis, ndim)
    kept = tuple(a for a in range(ndim) if a not in reduced)
    order = kept + reduced
    moved = x if order == tuple(range(ndim)) else np.transpose(x, order)
    shape = np.shape(moved)
    length = math.prod(shape[len(kept) :])  # written out: -1 is ambiguous for empty arrays
    rows = moved if len(reduced) == 1 else np.reshape(moved, (*shape[: len(kept)], length))
    back = tuple(int(a) for a in np.argsort(order))

    def restore(d_rows):
        d_moved = d_rows if len(reduced) == 1 else np.reshape(d_rows, shape)
        return d_moved if order == tuple(range(ndim)) else np.transpose(d_moved, back)

    return rows, restore


def _exclusive_cumprod(rows):
    """Products of the elements strictly before each one along the last axis."""
    return _exclusive_cumprod_along(rows, np.ndim(rows) - 1)


# --- scans and differences ------------------------------------------------------------------
def _reverse_cumsum(g, axis):
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


@defvjp(np.cumsum)
def cumsum_vjp(g, out, x, axis=None, dtype=None):
    if axis is None or np.ndim(x) == 0:  # cumsum of the flattened array (a 0-d one's: (1,))
        return np.reshape(_reverse_cumsum(g, 0), np.shape(x))
    return _reverse_cumsum(g, axis)


deflinear(np.cumsum)


@defvjp(np.cumprod)
def cumprod_vjp(g, out, x, axis=None, dtype=None):
    if axis is None or np.ndim(x) == 0:  # cumprod of the flattened array (a 0-d one's: (1,))
        return np.reshape(_cumprod_vjp(g, np.reshape(x, (-1,)), 0), np.shape(x))
    return _cumprod_vjp(g, x, axis % np.ndim(x))


def _cumprod_vjp(g, x, axis):
    # d out_i / d x_j is the product of x_k, k <= i, k != j: dx_j = P_j S_j with P_j the
    # product before j and S_j = g_j + x_{j+1} S_{j+1}, a scan from the end. No division, so
    # zeros in x are fine, for every order of derivative.
    following = np.concatenate(
        (_along(x, axis, slice(1, None)), np.ones_like(_along(x, axis, slice(0, 1)))), axis=axis
    )
    from_end = _linear_scan(np.flip(following, axis), np.flip(g, axis), axis)
    return _exclusive_cumprod_along(x, axis) * np.flip(from_end, axis)


@defjvp(np.cumprod)
def cumprod_jvp(tangents, out, x, axis=None, dtype=None):
    # out_dot_i = x_i out_dot_{i-1} + x_dot_i P_i, P_i the product before i
    (x_dot,) = tangents
    if axis is None or np.ndim(x) == 0:  # the flattened array's (a 0-d one's: (1,))
        x, x_dot, axis = np.reshape(x, (-1,)), np.reshape(x_dot, (-1,)), 0
    axis = axis % np.ndim(x)
    return _linear_scan(x, x_dot * _exclusive_cumprod_along(x, axis), axis)


def _linear_scan(a, b, axis):
    """``t_i = b_i + a_i t_{i-1}`` along ``axis`` (``t_{-1} = 0``), in log2(n) steps that
    each fold in the terms twice as far back (products and sums only)."""
    length, step = np.shape(b)[axis], 1
    while step < length:
        head, tail, back = slice(0, step), slice(step, None), slice(0, length - step)
        b = np.concatenate(
            (
                _along(b, axis, head),
                _along(b, axis, tail) + _along(a, axis, tail) * _along(b, axis, back),
            ),
            axis=axis,
        )
        a = np.concatenate(
            (_along(a, axis, head), _along(a, axis, tail) * _along(a, axis, back)), axis=axis
        )
        step *= 2
    return b


def _along(x, axis, part):
    """``x[..., part, ...]`` with ``part`` on ``axis``."""
    return x[(slice(None),) * axis + (part,)]


def _exclusive_cumprod_along(x, axis):
    """The product of the elements before each one along ``axis`` (1 for the first)."""
    ones = np.ones_like(_along(x, axis, slice(0, 1)))
    before = np.concatenate((ones, _along(x, axis, slice(0, -1))), axis=axis)
    return np.cumprod(before, axis=axis)


@defvjp(np.diff)
def diff_vjp(g, out, x, n=1, axis=-1):
    # the adjoint of one difference y_i = x_{i+1} - x_i is dx_j = g_{j-1} - g_j
    axis = axis % np.ndim(x)
    if n > np.shape(x)[axis]:  # more differences than elements: an empty result
        return None
    before = ((0, 0),) * axis + ((1, 0),) + ((0, 0),) * (np.ndim(x) - axis - 1)
    after = ((0, 0),) * axis + ((0, 1),) + ((0, 0),) * (np.ndim(x) - axis - 1)
    for _ in range(n):
        g = np.pad(g, before) - np.pad(g, after)
    return g


deflinear(np.diff, defaults={"n": 1, "axis": -1})


@defvjp(np.gradient)
def gradient_vjp(g, out, x, axis=None, edge_order=1, **spacings):
    # along each axis, out = D x for a banded matrix D (central differences, one-sided at
    # the ends): the cotangent is D^T g, added up band by band
    cotangents = g if isinstance(g, tuple) else (g,)
    total = None
    for axis_k, spacing, g_k in zip(*_gradient_axes(x, axis, spacings), cotangents, strict=True):
        bands = _difference_bands(np.shape(x)[axis_k], spacing, edge_order)
        for offset, band in bands.items():
            term = _band_transpose(g_k, band, offset, axis_k)
            total = term if total is None else total + term
    return total


deflinear(np.gradient)


def _gradient_axes(x, axis, spacings):
    """The axes ``np.gradient`` differentiates, and the spacing along each (a step or
    coordinates): none given is 1, one given is for every axis."""
    if axis is None:
        axes = tuple(range(np.ndim(x)))
    else:
        axes = tuple(a % np.ndim(x) for a in (axis if isinstance(axis, tuple) else (axis,)))
    given = tuple(spacings[name] for name in sorted(spacings))
    if len(given) <= 1:
        return axes, (given[0] if given else 1.0,) * len(axes)
    return axes, given


def _difference_bands(length, spacing, edge_order):
    """The bands of the matrix D that ``np.gradient`` applies along an axis, as
    ``{offset: band}`` with ``band[i] = D[r, r + offset]`` over the rows r where that column
    exists. D has at most two bands on either side of its diagonal, so ``np.gradient`` of
    five combs (the sums of the unit vectors of the columns j = c mod 5) shows every entry.
    Computed when compiling: the bands are constants of the generated code."""
    positions = np.arange(length)
    combs = (positions % 5 == np.arange(5)[:, None]).astype(float)
    applied = np.gradient(combs, spacing, axis=1, edge_order=edge_order)
    bands = {}
    for offset in range(-2, 3):
        rows = positions[max(-offset, 0) : length - max(offset, 0)]
        band = applied[(rows + offset) % 5, rows]
        if np.any(band):
            bands[offset] = band
    return bands


def _band_transpose(g, band, offset, axis):
    """One band's part of D^T g: ``g[r] * D[r, r + offset]`` goes to position
    ``r + offset``."""
    ndim = np.ndim(g)
    shape = [1] * ndim
    shape[axis] = len(band)
    rows = [slice(None)] * ndim
    rows[axis] = slice(max(-offset, 0), max(-offset, 0) + len(band))
    widths = [(0, 0)] * ndim
    widths[axis] = (max(offset, 0), max(-offset, 0))
    moved = g[tuple(rows)] * np.reshape(np.asarray(band, dtype=g.dtype), tuple(shape))
    return moved if offset == 0 else np.pad(moved, tuple(widths))


# --- sorting --------------------------------------------------------------------------------
# Every argsort here is stable: tied elements are ranked in their order, alike on every
# backend (numba's variant compiles stable argsorts). The inverse of a permutation has no
# ties, so any sort finds it; a stable one says so.
@defvjp(np.sort)
def sort_vjp(g, out, x, axis=-1, kind=None, stable=None):
    # out = x[order] along the axis, so dx = g[inverse of order]
    if axis is None:  # sorts the flattened array
        inverse = np.argsort(_sort_order(np.reshape(x, (-1,)), 0, kind, stable), kind="stable")
        return np.reshape(np.take(g, inverse), np.shape(x))
    inverse = np.argsort(_sort_order(x, axis, kind, stable), axis=axis, kind="stable")
    return np.take_along_axis(g, inverse, axis=axis)


@defjvp(np.sort)
def sort_jvp(tangents, out, x, axis=-1, kind=None, stable=None):
    (x_dot,) = tangents
    if axis is None:
        return np.take(x_dot, _sort_order(np.reshape(x, (-1,)), 0, kind, stable))
    return np.take_along_axis(x_dot, _sort_order(x, axis, kind, stable), axis=axis)


def _sort_order(x, axis, kind, stable):
    """``np.argsort`` with the sort's own options where they were given, else a stable one:
    tied elements keep their order, so every backend (numba's included) routes their
    cotangents alike."""
    options = {key: value for key, value in (("kind", kind), ("stable", stable)) if value}
    return np.argsort(x, axis=axis, **(options or {"kind": "stable"}))


@defvjp(np.partition)
def partition_vjp(g, out, x, kth, axis=-1, kind=None):
    # out = x[source] along the axis: dx = g[inverse of source]
    if axis is None:  # partitions the flattened array
        source = _partition_source(np.reshape(x, (-1,)), out, 0)
        return np.reshape(np.take(g, np.argsort(source, kind="stable")), np.shape(x))
    inverse = np.argsort(_partition_source(x, out, axis), axis=axis, kind="stable")
    return np.take_along_axis(g, inverse, axis=axis)


@defjvp(np.partition)
def partition_jvp(tangents, out, x, kth, axis=-1, kind=None):
    (x_dot,) = tangents
    if axis is None:
        return np.take(x_dot, _partition_source(np.reshape(x, (-1,)), out, 0))
    return np.take_along_axis(x_dot, _partition_source(x, out, axis), axis=axis)


def _partition_source(x, out, axis):
    """Where each element of ``out = np.partition(x)`` comes from along ``axis``. NumPy does
    not promise that ``np.argpartition`` arranges the other elements as ``np.partition``
    did, so the positions are matched by rank: the element of ``out`` of rank r is the
    element of ``x`` of rank r (ranked stably: equal elements in their order, alike on every
    backend)."""
    ranks_in_out = np.argsort(np.argsort(out, axis=axis, kind="stable"), axis=axis, kind="stable")
    return np.take_along_axis(np.argsort(x, axis=axis, kind="stable"), ranks_in_out, axis=axis)


# --- order statistics -----------------------------------------------------------------------
# np.quantile(x, q) with the default method="linear" interpolates between the elements of
# ranks lo = floor(q (n - 1)) and lo + 1 of each reduced slice, with weights 1 - frac and
# frac: the cotangent goes to those two elements (ties: ranked in their order in x).
# np.median is the quantile at 0.5, np.percentile at q / 100.
@defvjp(np.quantile)
def quantile_vjp(g, out, x, q, axis=None, overwrite_input=False, method="linear", keepdims=False):
    return _order_statistic_vjp(g, x, q, axis, method, keepdims)


@defjvp(np.quantile)
def quantile_jvp(
    tangents, out, x, q, axis=None, overwrite_input=False, method="linear", keepdims=False
):
    return _order_statistic_jvp(tangents[0], out, x, q, axis, method)


@defvjp(np.percentile)
def percentile_vjp(g, out, x, q, axis=None, overwrite_input=False, method="linear", keepdims=False):
    return _order_statistic_vjp(g, x, np.asarray(q) / 100.0, axis, method, keepdims)


@defjvp(np.percentile)
def percentile_jvp(
    tangents, out, x, q, axis=None, overwrite_input=False, method="linear", keepdims=False
):
    return _order_statistic_jvp(tangents[0], out, x, np.asarray(q) / 100.0, axis, method)


@defvjp(np.median)
def median_vjp(g, out, x, axis=None, overwrite_input=False, keepdims=False):
    return _order_statistic_vjp(g, x, 0.5, axis, "linear", keepdims)


@defjvp(np.median)
def median_jvp(tangents, out, x, axis=None, overwrite_input=False, keepdims=False):
    return _order_statistic_jvp(tangents[0], out, x, 0.5, axis, "linear")


def _order_statistic_vjp(g, x, q, axis, method, keepdims, skips_nans=False):
    rows, restore = _reduced_last(x, axis)
    ranks, positions = _ranks(rows, q, method, skips_nans)
    kept = np.shape(rows)[:-1]
    if np.ndim(q) == 0 and (not keepdims or np.shape(g) == kept):
        per_q = [g]
    else:  # one cotangent per position in q, without keepdims' axes
        per_q = list(np.reshape(g, (len(positions), *kept)))
    d_rows = None
    for per, (lo, frac) in zip(per_q, positions, strict=True):
        g_j = np.expand_dims(per, -1) if kept else per
        share = np.where(ranks == lo, g_j * (1.0 - frac), 0.0)
        if skips_nans or frac > 0.0:
            share = share + np.where(ranks == lo + 1, g_j * frac, 0.0)
        d_rows = share if d_rows is None else d_rows + share
    return restore(d_rows)


def _order_statistic_jvp(x_dot, out, x, q, axis, method, skips_nans=False):
    rows, _ = _reduced_last(x, axis)
    dot_rows, _ = _reduced_last(x_dot, axis)
    ranks, positions = _ranks(rows, q, method, skips_nans)
    tangents = []
    for lo, frac in positions:
        at_lo = np.sum(np.where(ranks == lo, dot_rows, 0.0), axis=-1)
        tangent = at_lo * np.squeeze(1.0 - frac, -1) if skips_nans else at_lo * (1.0 - frac)
        if skips_nans or frac > 0.0:
            at_next = np.sum(np.where(ranks == lo + 1, dot_rows, 0.0), axis=-1)
            tangent = tangent + at_next * (np.squeeze(frac, -1) if skips_nans else frac)
        tangents.append(tangent)
    return np.reshape(np.stack(tangents), np.shape(out))


# np.nanquantile(x, q) is np.quantile of each slice's numbers: NaNs sort last (their ranks
# are never those the positions name), and each slice's positions follow from its count of
# numbers (ranks -1 for a slice of NaNs only: its cotangent goes nowhere)
@defvjp(np.nanquantile)
def nanquantile_vjp(
    g, out, x, q, axis=None, overwrite_input=False, method="linear", keepdims=False
):
    return _order_statistic_vjp(g, x, q, axis, method, keepdims, skips_nans=True)


@defjvp(np.nanquantile)
def nanquantile_jvp(
    tangents, out, x, q, axis=None, overwrite_input=False, method="linear", keepdims=False
):
    return _order_statistic_jvp(tangents[0], out, x, q, axis, method, skips_nans=True)


@defvjp(np.nanpercentile)
def nanpercentile_vjp(
    g, out, x, q, axis=None, overwrite_input=False, method="linear", keepdims=False
):
    q = np.asarray(q) / 100.0
    return _order_statistic_vjp(g, x, q, axis, method, keepdims, skips_nans=True)


@defjvp(np.nanpercentile)
def nanpercentile_jvp(
    tangents, out, x, q, axis=None, overwrite_input=False, method="linear", keepdims=False
):
    q = np.asarray(q) / 100.0
    return _order_statistic_jvp(tangents[0], out, x, q, axis, method, skips_nans=True)


@defvjp(np.nanmedian)
def nanmedian_vjp(g, out, x, axis=None, overwrite_input=False, keepdims=False):
    return _order_statistic_vjp(g, x, 0.5, axis, "linear", keepdims, skips_nans=True)


@defjvp(np.nanmedian)
def nanmedian_jvp(tangents, out, x, axis=None, overwrite_input=False, keepdims=False):
    return _order_statistic_jvp(tangents[0], out, x, 0.5, axis, "linear", skips_nans=True)


# np.quantile's methods: the rank a virtual position (q times n - 1) starts from, and the
# fraction of the way to the next rank that its value takes
RANKS_OF_METHODS = {
    "linear": lambda v: (int(math.floor(v)), v - math.floor(v)),
    "lower": lambda v: (int(math.floor(v)), 0.0),
    "higher": lambda v: (int(math.ceil(v)), 0.0),
    "nearest": lambda v: (int(np.around(v)), 0.0),  # halves to the even rank, as NumPy
    "midpoint": lambda v: (int(math.floor(v)), 0.0 if v == math.floor(v) else 0.5),
}


def _ranks(rows, q, method, skips_nans=False):
    """The rank of each element of the slices ``rows`` (reduced along the last axis), and
    for each position in the static ``q`` the rank ``lo`` it starts from and the fraction
    ``frac`` of the way to rank ``lo + 1``: numbers, or with ``skips_nans`` arrays with one
    entry per slice (shape ``rows.shape[:-1] + (1,)``), from each slice's count of numbers."""
    if method not in RANKS_OF_METHODS:
        raise NotImplementedError(f"np.quantile's method={method!r}")
    order = _sort_order(rows, -1, None, None)  # stable: ties in order, on every backend
    ranks = np.argsort(order, axis=-1, kind="stable")
    if skips_nans:
        counts = np.sum(~np.isnan(rows), axis=-1, keepdims=True, dtype=rows.dtype)  # float32
        return ranks, [_slice_positions(p, counts, method) for p in _positions_of(q)]
    n = np.shape(rows)[-1]
    positions = []
    for position in _positions_of(q):
        virtual = position * (n - 1)
        lo, frac = RANKS_OF_METHODS[method](virtual)
        positions.append((min(lo, n - 1), frac if lo < n - 1 else 0.0))
    return ranks, positions


def _positions_of(q):
    return np.reshape(np.asarray(q, dtype=float), (-1,)).tolist()


def _slice_positions(position, counts, method):
    """``(lo, frac)`` of one position in ``q`` for each slice of ``counts`` numbers."""
    virtual = position * (counts - 1.0)
    lo = np.floor(virtual)
    frac = virtual - lo
    if method in ("lower", "midpoint"):
        frac = np.where(frac > 0.0, 0.5, 0.0) if method == "midpoint" else 0.0 * frac
    elif method in ("higher", "nearest"):
        lo = np.ceil(virtual) if method == "higher" else np.around(virtual)
        frac = 0.0 * frac
    is_last = lo >= counts - 1
    return np.where(is_last, counts - 1.0, lo), np.where(is_last, 0.0, frac)
