"""The inputs the rule tests run on: the cases each primitive's table entry lists (and
broadcasting shapes for elementwise primitives that list none), with inputs drawn from its
domain. SciPy's rows are registered once SciPy is imported: it is imported here, where
installed, so that its rules are tested too."""

from __future__ import annotations

import importlib.util

import numpy as np

from srcad.ir.prims import ELEMENTWISE, PRIMS, load_deferred
from srcad.rules import VJP_RULES

if importlib.util.find_spec("scipy") is not None:
    import scipy.linalg  # noqa: F401  (registers SciPy's rows and rules)
    import scipy.signal  # noqa: F401
    import scipy.special  # noqa: F401
    import scipy.stats  # noqa: F401

    load_deferred()

# The rules srcad ships; users' rules (``srcad.defvjp``, kind "custom") may be registered
# while the tests run.
BUILTIN_RULES = sorted(name for name in VJP_RULES if PRIMS[name].kind != "custom")
ELEMENTWISE_SHAPES = {
    1: [((3, 4),), ((),)],
    2: [((3, 4), (3, 4)), ((3, 1), (4,)), ((), (2, 3)), ((2, 3), ())],
    3: [((3, 4), (3, 4), (3, 4)), ((3, 1), (4,), ())],
    4: [((3, 4), (3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (), (3, 4))],
    5: [((3, 4), (3, 4), (3, 4), (3, 4), (3, 4)), ((3, 1), (4,), (), (3, 4), ())],
}


def cases_of(name):
    prim = PRIMS[name]
    if prim.kind == ELEMENTWISE and not prim.examples:
        return [(shapes, {}) for shapes in ELEMENTWISE_SHAPES[prim.n_inputs]]
    return list(prim.examples)


def without_derivative(name):
    """The inputs (by position) whose derivative the primitive's rules refuse: a cdf's
    shape parameters (``NamedArgumentsPrim.no_derivative``)."""
    prim = PRIMS[name]
    names = getattr(prim, "no_derivative", ())
    return {
        i for i, input_name in enumerate(getattr(prim, "input_names", ())) if input_name in names
    }


ALL_CASES = [(name, case) for name in BUILTIN_RULES for case in cases_of(name)]


def case_id(value):
    if isinstance(value, str):
        return value
    specs, params = value
    shapes = ",".join(str(s.shape if isinstance(s, np.ndarray) else s) for s in specs)
    return f"{shapes}{params or ''}".replace(" ", "")


def _structured(structure, shape, rng):
    """A well-conditioned (``invertible``) or symmetric positive definite (``spd``) batch."""
    size = shape[-1]
    a = rng.uniform(-1, 1, size=shape)
    if structure == "spd":
        return a @ np.swapaxes(a, -1, -2) + size * np.eye(size)
    return a + size * np.eye(size)


def make_inputs(name, specs, rng):
    """Inputs for one case: concrete arrays as given, floats drawn from the domain."""
    prim = PRIMS[name]
    low, high = prim.domain
    values = []
    for index, spec in enumerate(specs):
        if isinstance(spec, np.ndarray):
            values.append(spec)
        elif index == 0 and name == "where":
            values.append(rng.uniform(size=spec) > 0.5)
        elif index == 0 and prim.structure:
            values.append(_structured(prim.structure, spec, rng))
        else:
            value = rng.uniform(low, high, size=spec)
            values.append(np.float64(value) if np.ndim(value) == 0 else value)
    return values


def is_float(value):
    return np.asarray(value).dtype.kind == "f"


def outputs(value):
    """A primitive's outputs as a tuple (several for ``split``, ``slogdet``)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)
