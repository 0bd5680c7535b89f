"""Generated gradients run on array_api_strict arrays (srcad.arrayapi): no NumPy-only call
slips into the array-API variant.

Every corpus function with array arguments is differentiated on NumPy arrays and on the same
values as ``array_api_strict`` arrays: the variant agrees with the NumPy gradient to 1e-10
(float64), or it is refused with an ``ArrayApiError`` naming why (``REFUSED``), or
array_api_strict itself refuses a NumPy habit the standard leaves out (``OUTSIDE_STANDARD``).
A case that starts passing fails here until its entry is removed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import srcad
from srcad.arrayapi import ArrayApiError
from srcad.pytree import flatten, unflatten

xp = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")

from corpus.test_corpus import ALL_CASES  # noqa: E402 - after the skips

# the corpus on array_api_strict, like tests/corpus: the full suite runs it, the fast loop not
pytestmark = pytest.mark.slow

ARRAY = type(xp.asarray(0.0))  # array_api_strict's array type

ADD_AT = "np.add.at"  # scatter-add at positions that may repeat: no array-API counterpart
# case id -> what the ArrayApiError names
REFUSED = {
    "setitem_mask": ADD_AT,
    "read_fancy_repeated": ADD_AT,
    "read_fancy_list_index": ADD_AT,
    "read_fancy_rows": ADD_AT,
    "read_fancy_pairs": ADD_AT,
    "read_bool_mask": ADD_AT,
    "read_fancy_columns_repeated": ADD_AT,
    "softmax_cross_entropy": ADD_AT,
    "diff_and_sort": "np.pad",
    "einsum_bilinear": "np.einsum",
    "diagonal_method": "np.diag",  # the gradient of a square matrix's diagonal
    "trace_diag": "np.diag",
    "array_methods_with_keywords": "order='F'",
}
FANCY_WRITE = "Fancy indexing __setitem__ is not supported"
# case id -> array_api_strict's reason, which the ArrayApiError quotes with the line: NumPy
# habits the standard leaves out (CuPy, which follows NumPy, runs these)
OUTSIDE_STANDARD = {
    "setitem_fancy": FANCY_WRITE,  # y[positions] = v
    "repeated_positions_last_write_wins": FANCY_WRITE,
    "repeated_positions_from_an_index_argument": FANCY_WRITE,
    # float * int array: mixing kinds is left to the library
    "swap_elements": "cannot be type promoted together",
    # a one-hot of booleans in tensordot (np.take's gradient)
    "take_with_a_list": "Only numeric dtypes are allowed in tensordot",
}


def _strict(tree: object) -> object:
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [xp.asarray(x) if isinstance(x, np.ndarray) else x for x in leaves])


def _has_arrays(args: tuple) -> bool:
    return any(isinstance(x, np.ndarray) for x in flatten(list(args))[0])


CASES = [
    pytest.param(*case, id=case_id)
    for _, case_id, case in ALL_CASES
    if _has_arrays(case[1](np.random.default_rng(0)))
]


@pytest.mark.parametrize(("fun", "make_args", "argnums"), CASES)
def test_corpus_gradient_on_array_api_strict(request, fun, make_args, argnums):
    case_id = request.node.callspec.id
    args = make_args(np.random.default_rng(0))
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    strict_args = [_strict(a) for a in args]
    transformed = srcad.value_and_grad(fun, argnums=numbers)
    if case_id in REFUSED:
        with pytest.raises(ArrayApiError, match=REFUSED[case_id].replace(".", r"\.")):
            transformed(*strict_args)
        return
    if case_id in OUTSIDE_STANDARD:
        with pytest.raises(ArrayApiError, match=OUTSIDE_STANDARD[case_id]) as refused:
            transformed(*strict_args)
        assert "cannot be written" not in str(refused.value)
        return
    value, grads = srcad.value_and_grad(fun, argnums=numbers)(*args)
    strict_value, strict_grads = transformed(*strict_args)
    np.testing.assert_allclose(np.asarray(strict_value), value, rtol=1e-10, atol=1e-12)
    expected_leaves, _ = flatten(grads)
    leaves, _ = flatten(strict_grads)
    assert len(leaves) == len(expected_leaves)
    for leaf, expected in zip(leaves, expected_leaves, strict=True):
        if isinstance(expected, float):
            assert isinstance(leaf, float)
        else:
            assert isinstance(leaf, ARRAY), type(leaf)
            assert leaf.shape == expected.shape and leaf.dtype == getattr(xp, expected.dtype.name)
        np.testing.assert_allclose(np.asarray(leaf), expected, rtol=1e-10, atol=1e-12)


def test_case_lists_name_corpus_cases():
    ids = {case.id for case in CASES}
    assert set(REFUSED) <= ids and set(OUTSIDE_STANDARD) <= ids


def mlp_loss(params, X, y):
    (W1, b1), (W2, b2) = params
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2 + b2 - y) ** 2)


def _mlp_args(dtype: str) -> tuple:
    rng = np.random.default_rng(1)
    params = [
        (rng.normal(size=(3, 5)).astype(dtype), np.zeros(5, dtype)),
        (rng.normal(size=(5, 1)).astype(dtype), np.zeros(1, dtype)),
    ]
    return params, rng.normal(size=(8, 3)).astype(dtype), rng.normal(size=(8, 1)).astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gradients_are_arrays_of_the_arguments_library(dtype):
    params, X, y = _mlp_args(dtype)
    expected = srcad.grad(mlp_loss)(params, X, y)
    grads = srcad.grad(mlp_loss)(_strict(params), xp.asarray(X), xp.asarray(y))
    assert type(grads) is list and all(type(layer) is tuple for layer in grads)
    for leaf, want in zip(flatten(grads)[0], flatten(expected)[0], strict=True):
        assert isinstance(leaf, ARRAY)
        assert leaf.dtype == getattr(xp, dtype) and leaf.shape == want.shape
        np.testing.assert_allclose(
            np.asarray(leaf), want, rtol=1e-5 if dtype == "float32" else 1e-12
        )


def test_value_and_float_arguments():
    def scaled(w, s):
        return s * np.sum(np.sin(w) ** 2)

    w = np.linspace(-1.0, 1.0, 4)
    value, (dw, ds) = srcad.value_and_grad(scaled, argnums=(0, 1))(xp.asarray(w), 1.5)
    expected_value, (want_w, want_s) = srcad.value_and_grad(scaled, argnums=(0, 1))(w, 1.5)
    assert isinstance(value, ARRAY) and isinstance(ds, float)
    np.testing.assert_allclose(float(value), expected_value, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(dw), want_w, rtol=1e-12)
    assert ds == pytest.approx(want_s, rel=1e-12)


def test_source_shows_both_variants():
    g = srcad.grad(mlp_loss)
    params, X, y = _mlp_args("float64")
    g(_strict(params), xp.asarray(X), xp.asarray(y))
    numpy_source = srcad.source(g)
    variant = srcad.source(g, backend="array_api")
    assert "np.tanh(" in numpy_source and "xp." not in numpy_source
    body = variant.split("def mlp_loss_grad_unchecked", 1)[1].split(":", 1)[1]
    code = re.sub(r"#.*", "", body)
    assert "xp.tanh(" in code and "np." not in code


def test_refusal_names_the_users_line():
    args = dict(ALL_CASES_BY_ID["einsum_bilinear"])
    with pytest.raises(ArrayApiError, match=r"functions_numpy\.py:\d+: .*np\.einsum"):
        srcad.grad(args["fun"])(*[_strict(a) for a in args["args"]])


ALL_CASES_BY_ID = {
    case_id: {"fun": case[0], "args": case[1](np.random.default_rng(0))}
    for _, case_id, case in ALL_CASES
}


def test_other_options_are_refused_clearly():
    w = xp.asarray(np.ones(3))
    with pytest.raises(ValueError, match="mode='reverse'"):
        srcad.grad(mlp_loss, mode="forward")([(w, w)], w, w)
