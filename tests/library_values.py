"""A check for functions that call a library srcad lowers as the calls it is made of
(SciPy's splines and interpolants): the value is the library's own, to rounding, and the
gradient agrees with central differences of the plain function."""

from __future__ import annotations

import numpy as np

import srcad


def agrees_with_the_library(f, *args, argnums=0):
    value, got = srcad.value_and_grad(f, argnums=argnums)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)  # the library's own, to rounding
    expected = srcad.numerical_grad(f, *args, argnums=argnums)
    pairs = zip(got, expected, strict=True) if isinstance(argnums, tuple) else [(got, expected)]
    for g, e in pairs:
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
