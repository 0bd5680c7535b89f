"""The primitive table's argument handling: ``Prim.bind`` (a call as written → flat inputs
and static params) and ``Prim.arrange`` / ``Prim.evaluate`` (back to NumPy's call); its
spellings, aliases and named results."""

from __future__ import annotations

import numpy as np
import pytest

from rules.cases import make_inputs
from srcad.ir.prims import PRIMS, prim_of


def test_lists_of_arrays_become_flat_inputs():
    a, b = np.ones((2, 3)), np.zeros((1, 3))
    arrays, params = PRIMS["concatenate"].bind(([a, b],), {"axis": 0})
    assert arrays == (a, b) and params == {"axis": 0}
    positional, keywords = PRIMS["concatenate"].arrange(list(arrays), params)
    assert positional == [[a, b]] and keywords == {"axis": 0}
    index = np.array([0, 1])
    arrays, params = PRIMS["choose"].bind((index, (a[0], b[0])), {})
    assert len(arrays) == 3 and arrays[0] is index


def test_leading_and_positional_params():
    a, b = np.ones((2, 3)), np.ones((3, 4))
    arrays, params = PRIMS["einsum"].bind(("ij,jk", a, b), {})
    assert arrays == (a, b) and params == {"subscripts": "ij,jk"}
    assert PRIMS["einsum"].evaluate(arrays, params).shape == (2, 4)
    arrays, params = PRIMS["full"].bind(((2, 3), 1.5), {})
    assert params == {"shape": (2, 3)}
    assert PRIMS["astype"].evaluate([a], {"dtype": np.dtype("float32")}).dtype == np.float32


def test_params_become_plain_values():
    x = np.ones((4, 2))
    _, params = PRIMS["split"].bind((x, [1, 3]), {"axis": np.int64(0)})
    assert params == {"indices_or_sections": (1, 3), "axis": 0}
    assert type(params["axis"]) is int
    _, params = PRIMS["sum"].bind((x,), {"dtype": np.float32, "keepdims": False})
    assert params == {"dtype": np.dtype("float32")}


def test_meaningful_none_is_kept():
    x = np.ones((2, 3))
    assert PRIMS["sort"].bind((x,), {"axis": None})[1] == {"axis": None}
    assert PRIMS["clip"].bind((x, None, 1.0), {})[1] == {"a_min": None, "a_max": 1.0}
    assert PRIMS["sum"].bind((x,), {"axis": None})[1] == {}


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "message"),
    [
        ("sum", (np.ones(3),), {"out": np.ones(())}, "a statement of its own"),
        ("sum", (np.ones(3),), {"where": True}, "does not support the argument 'where'"),
        ("exp", (np.ones(3), 2), {}, "too many arguments"),
        ("concatenate", (np.ones(3),), {}, "list or tuple of arrays"),
        ("reshape", (np.ones(3), object()), {}, "must be known when the function is compiled"),
        ("cross", (np.ones(3), np.ones(3), -1), {}, "too many arguments"),
    ],
)
def test_unsupported_calls_say_why(name, args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        PRIMS[name].bind(args, kwargs)


def test_spellings_and_aliases():
    assert PRIMS["inv"].spelling == "np.linalg.inv"
    assert prim_of(np.linalg.inv).name == "inv"
    assert prim_of(np.amax).name == "max"
    assert prim_of(np.radians).name == "deg2rad"
    assert prim_of(np.true_divide).name == "divide"
    for prim in PRIMS.values():
        is_users = prim.kind == "custom"  # a function given a rule by srcad.defvjp/defjvp
        # internal ones are srcad's functions (scipy's ufuncs have no __module__)
        is_internal = getattr(prim.fn, "__module__", "").startswith("srcad.")
        if not is_internal and not is_users:
            namespace: dict = {}
            exec(prim.import_line, namespace)
            # == for bound methods (scipy.stats.norm.logpdf is a new one on each read)
            assert eval(prim.spelling, namespace) == prim.fn, prim.name


def test_named_results_keep_numpy_field_names():
    """Where NumPy names a function's results (``SlogdetResult``), the row lists the same
    fields and ``Prim.results`` packs values into a named tuple of that name."""
    rng = np.random.default_rng(0)
    for name, prim in PRIMS.items():
        for specs, params in prim.examples[:1]:
            result = prim.evaluate(make_inputs(name, specs, rng), params)
            fields = getattr(result, "_fields", ())
            assert prim.result_fields == fields, name
            if fields:
                packed = prim.results(tuple(result))
                assert type(packed).__name__ == type(result).__name__
                assert packed._fields == fields
