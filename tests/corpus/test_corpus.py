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

# Why srcad fails today, one reason per root cause; "then" names a second failure seen once
# the first one is worked around.
LEN = "len() of an array or list: NoDerivativeRule 'len'"
CHAINED = "chained comparison 'a < x < b': UnsupportedSyntax"
RANGE_OF_COUNTER = "range() bounded by an outer loop counter: NoDerivativeRule 'range'"
WHILE_INT = "while loop counting with a Python int: SrcadError 'counts with a Python int'"
RETURN_IN_LOOP = "'return' inside a loop: UnsupportedSyntax"
METHODS = "array methods .copy/.std/.ravel: NoDerivativeRule 'array attribute'"
CONST_MASK = "module-level constant boolean mask rejected as 'boolean masks computed from data'"
VARIADIC = (
    "np.stack/concatenate/hstack/vstack([...]) and 3-operand np.einsum: "
    "builder.bind_arguments ignores Prim.variadic (TypeError / 'too many arguments')"
)
BUILTINS = "builtins sum/max/float on traced values: NoDerivativeRule"
SLICE_OF_COUNTER = "slice bounds from a loop counter (x[:k], x[i:i + 3]): SrcadError 'slice bounds'"
MOD_OF_COUNTER = "'i % 3' on a loop counter: UnsupportedSyntax 'allowed on ints and shapes only'"
LINALG_STAND_IN = (
    "shape inference runs np.linalg on all-ones stand-ins: 'Singular matrix' / "
    "'not positive definite'"
)
NESTED_LOOP_ADJOINT = (
    "WRONG CODE: the backward of an inner loop reads the pre-loop name of an adjoint that the "
    "outer loop carries (UnboundLocalError, or a silently wrong gradient)"
)
APPEND_IN_BRANCH = (
    "WRONG CODE: list.append inside if/else runs at compile time for both branches "
    "(UnboundLocalError, or a zero gradient)"
)
LOG_BASE = "math.log(x, base): 'too many arguments for np.log'"
IS_NONE = "'bias is None' with an array bias: UnsupportedSyntax"
STARRED = "starred assignment target 'first, *rest = ...': UnsupportedSyntax"

# Case id -> why srcad fails on it today (strict xfail: remove an entry once it passes).
KNOWN_FAILURES: dict[str, str] = {
    # control
    "chained_comparison": CHAINED,
    "chained_comparison-2": CHAINED,
    "for_range_accumulate": LEN,
    "nested_loops_triangular": RANGE_OF_COUNTER,
    "nested_loop_reads_outer_state": NESTED_LOOP_ADJOINT,
    "while_counter": WHILE_INT,
    "while_data_dependent_array": WHILE_INT,
    "while_accumulate_until": WHILE_INT,
    "while_true_break": WHILE_INT,
    "while_break_on_data": WHILE_INT,
    "while_with_continue": WHILE_INT,
    "early_return_in_loop": RETURN_IN_LOOP,
    "early_return_in_loop-2": RETURN_IN_LOOP,
    "early_return_in_while": RETURN_IN_LOOP,
    "early_return_in_while-2": RETURN_IN_LOOP,
    # mutation
    "augassign_array": METHODS,
    "swap_elements": METHODS,
    "setitem_in_loop": LEN,
    "accumulate_into_bins": f"{LEN}; then {MOD_OF_COUNTER}",
    "setitem_mask": CONST_MASK,
    "read_bool_mask": CONST_MASK,
    "list_append_stack": VARIADIC,
    "list_append_array_stack_axis1": VARIADIC,
    "list_literal_stack": VARIADIC,
    "list_append_sum": BUILTINS,
    "list_append_in_if": f"{BUILTINS}; then {APPEND_IN_BRANCH}",
    "list_append_in_branch": APPEND_IN_BRANCH,
    "list_append_in_branch-2": APPEND_IN_BRANCH,
    "list_append_concatenate": f"{SLICE_OF_COUNTER}; then {VARIADIC}",
    # calls
    "helper_with_early_return": RETURN_IN_LOOP,
    "recursion_horner": LEN,
    # numpy
    "reductions_var_std": METHODS,
    "squeeze_expand": METHODS,
    "einsum_bilinear": VARIADIC,
    "trace_diag": f"np.diag's vjp calls a 3-operand np.einsum: {VARIADIC}",
    "concatenate_stack": VARIADIC,
    "hstack_vstack": VARIADIC,
    "linalg_inv": LINALG_STAND_IN,
    "linalg_det": f"det's vjp calls np.linalg.inv: {LINALG_STAND_IN}",
    "linalg_slogdet": f"slogdet's vjp calls np.linalg.inv: {LINALG_STAND_IN}",
    "linalg_solve": LINALG_STAND_IN,
    "linalg_solve_matrix": LINALG_STAND_IN,
    "linalg_cholesky": LINALG_STAND_IN,
    # python
    "math_log_base": LOG_BASE,
    "builtin_abs_max_min": BUILTINS,
    "builtin_sum_pow": BUILTINS,
    "builtin_float_of_array": BUILTINS,
    "list_of_floats": BUILTINS,
    "list_len_and_index": LEN,
    "none_argument-2": IS_NONE,
    "tuple_unpack_star": STARRED,
    # combined
    "rk2_ode_while": WHILE_INT,
    "bubble_sort_weighted": METHODS,
    "gram_schmidt": f"{RANGE_OF_COUNTER}; then {NESTED_LOOP_ADJOINT}",
    "conv1d_loops": SLICE_OF_COUNTER,
    "bezier_length": LEN,
    "moving_average_lists": f"{LEN}; then {SLICE_OF_COUNTER}",
    "cumulative_product_early_stop": RETURN_IN_LOOP,
    "cumulative_product_early_stop-2": RETURN_IN_LOOP,
}


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
