"""Every corpus function passes a float64 central-difference check for its differentiable
arguments; ``value_and_grad`` returns the function's own value and gradients shaped like the
arguments.

Cases that srcad cannot handle yet are listed in ``KNOWN_FAILURES`` (case id -> reason) and
marked strict xfail, so that a case starts failing the suite as soon as it passes: then
remove it from the list.
"""

from __future__ import annotations

import numpy as np
import pytest

import srcad

from . import (
    functions_calls,
    functions_combined,
    functions_control,
    functions_mutation,
    functions_numpy,
    functions_python,
)

# Hundreds of cases (the whole corpus): the full suite runs them; the fast
# loop (-m "not slow") leaves them out.
pytestmark = pytest.mark.slow

FAMILIES = {
    "control": functions_control,
    "mutation": functions_mutation,
    "calls": functions_calls,
    "numpy": functions_numpy,
    "python": functions_python,
    "combined": functions_combined,
}

MIN_CASES = 120
MIN_CASES_PER_FAMILY = 10


# Case id -> why srcad fails on it today (strict xfail: remove an entry once it passes).
KNOWN_FAILURES: dict[str, str] = {}


def _all_cases() -> list[tuple[str, tuple]]:
    cases = []
    seen: dict[str, int] = {}
    for family, module in FAMILIES.items():
        for case in module.CASES:
            name = case[0].__name__
            seen[name] = seen.get(name, 0) + 1
            case_id = name if seen[name] == 1 else f"{name}-{seen[name]}"
            cases.append((family, case_id, case))
    return cases


ALL_CASES = _all_cases()


def _params() -> list:
    params = []
    for _, case_id, case in ALL_CASES:
        marks = ()
        if case_id in KNOWN_FAILURES:
            marks = pytest.mark.xfail(reason=KNOWN_FAILURES[case_id], strict=True)
        params.append(pytest.param(*case, id=case_id, marks=marks))
    return params


def _assert_like(grad: object, arg: object, where: str) -> None:
    """``grad`` has the structure of ``arg``, and each leaf its type, shape and dtype."""
    if isinstance(arg, dict):
        assert isinstance(grad, dict), f"{where}: expected a dict, got {type(grad).__name__}"
        assert list(grad) == list(arg), f"{where}: keys {list(grad)} != {list(arg)}"
        for key in arg:
            _assert_like(grad[key], arg[key], f"{where}[{key!r}]")
    elif isinstance(arg, (tuple, list)):
        assert type(grad) is type(arg), f"{where}: expected {type(arg).__name__}, got {grad!r}"
        assert len(grad) == len(arg), f"{where}: length {len(grad)} != {len(arg)}"
        for i, (g, a) in enumerate(zip(grad, arg, strict=True)):
            _assert_like(g, a, f"{where}[{i}]")
    elif isinstance(arg, np.ndarray):
        assert isinstance(grad, np.ndarray), f"{where}: expected an array, got {type(grad)}"
        assert grad.shape == arg.shape, f"{where}: shape {grad.shape} != {arg.shape}"
        assert grad.dtype == arg.dtype, f"{where}: dtype {grad.dtype} != {arg.dtype}"
    else:
        assert isinstance(arg, float)
        assert isinstance(grad, float) and not isinstance(
            grad, np.ndarray
        ), f"{where}: expected a float, got {type(grad).__name__}"


@pytest.mark.parametrize(("fun", "make_args", "argnums"), _params())
def test_gradient_matches_central_differences(fun, make_args, argnums):
    args = make_args(np.random.default_rng(0))
    numbers = (argnums,) if isinstance(argnums, int) else tuple(argnums)

    srcad.check_grad(fun, *args, argnums=numbers, rtol=1e-5, atol=1e-7)

    value, grads = srcad.value_and_grad(fun, argnums=numbers)(*args)
    expected = fun(*args)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=0)
    assert isinstance(grads, tuple) and len(grads) == len(numbers)
    for number, g in zip(numbers, grads, strict=True):
        _assert_like(g, args[number], f"gradient of argument {number}")


def test_corpus_size_and_coverage():
    assert len(ALL_CASES) >= MIN_CASES
    functions = {case[0] for _, _, case in ALL_CASES}
    assert len(functions) >= MIN_CASES, f"only {len(functions)} distinct functions"
    for family, module in FAMILIES.items():
        assert len(module.CASES) >= MIN_CASES_PER_FAMILY, family


def test_known_failures_name_corpus_cases():
    ids = {case_id for _, case_id, _ in ALL_CASES}
    assert set(KNOWN_FAILURES) <= ids, set(KNOWN_FAILURES) - ids
