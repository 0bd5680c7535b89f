"""Options of the transformations as API.md writes them."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

import srcad


def loss(w):
    return np.sum(np.tanh(w) ** 2)


W = np.array([0.5, -1.0])


def test_the_numpy_backend_is_the_default_and_can_be_named():
    expected = srcad.numerical_grad(loss, W)
    np.testing.assert_allclose(srcad.grad(loss, backend="numpy")(W), expected, rtol=1e-7)
    value, gradient = srcad.value_and_grad(backend="numpy")(loss)(W)
    assert value == pytest.approx(loss(W))
    np.testing.assert_allclose(gradient, expected, rtol=1e-7)


def test_an_unknown_backend_is_a_value_error_that_lists_the_known_ones():
    with pytest.raises(ValueError, match="backend='gpu' is not available.*'numpy'"):
        srcad.grad(loss, backend="gpu")


def test_help_of_grad_says_how_to_call_it():
    assert "argnums" in srcad.grad.__doc__ and "has_aux" in srcad.grad.__doc__


def with_labels(w, label):
    loss = np.sum(np.sin(w) ** 2)
    return loss, {"steps": 3, "label": label, "kind": "sine", "note": None, "ok": True}


@pytest.mark.parametrize(
    "options", [{}, {"mode": "forward"}, pytest.param({"backend": "numba"}, marks=pytest.mark.slow)]
)
def test_an_auxiliary_output_may_hold_strings_ints_and_none(options):
    if options.get("backend") == "numba":
        pytest.importorskip("numba")
    w = np.array([0.3, -1.1])
    gradient = srcad.value_and_grad(with_labels, has_aux=True, **options)
    for label in ("first", "second", "second"):  # a new string compiles again
        (loss, aux), grad = gradient(w, label)
        assert aux == {"steps": 3, "label": label, "kind": "sine", "note": None, "ok": True}
        assert loss == pytest.approx(with_labels(w, label)[0])
        np.testing.assert_allclose(
            grad, srcad.numerical_grad(lambda v, label=label: with_labels(v, label)[0], w)
        )
    assert "'kind': 'sine'" in srcad.source(gradient).replace('"', "'")  # written as it is


def test_an_unknown_keyword_lists_what_the_transformation_takes():
    with pytest.raises(TypeError, match=r"jacfwd\(\) .* 'has_aux'; it takes argnums and backend"):
        srcad.jacfwd(np.sin, has_aux=True)


def test_central_differences_of_float32_arguments_take_a_step_float32_can_resolve():
    """With a step of 1e-6 a float32 moves by a few units in its last place: the differences
    were rounding noise (0.6855 for cos(0.8) = 0.6967), and check_grad failed srcad."""
    x = np.array([0.3, -1.2, 0.8], dtype=np.float32)

    def sines(v):
        return np.sum(np.sin(v))

    np.testing.assert_allclose(srcad.numerical_grad(sines, x), np.cos(x), rtol=2e-5)
    srcad.check_grad(sines, x, rtol=1e-4, atol=1e-6)


def _curved(v):
    return np.sum(np.exp(v) + np.sin(v) * v) + 100.0 * np.sum(v**2)


def _half_wrong(v):  # srcad's gradient: 1.1 v + e^v; central differences: 2.1 v + e^v
    return np.sum(srcad.stop_gradient(v) * v + 0.05 * v * v + np.exp(v))


def _curved_wrong(v):  # 5e-5 relative off: what float64 tells and float32 cannot
    return _curved(v) + 1e-2 * np.sum(v * srcad.stop_gradient(v) - v * v / 2.0)


def test_check_grad_passes_right_float32_gradients_with_its_default_tolerances():
    """Central differences in float32 are good to ~2.4e-5 of the values: check_grad's
    default rtol of 1e-5 failed srcad's right gradient of exp (relative 5e-5; probe AS)."""
    x = np.array([0.5, -1.2, 2.0], dtype=np.float32)
    srcad.check_grad(_curved, x)
    srcad.check_grad(_sines, x)
    with pytest.raises(srcad.GradientMismatch):  # what float32 differences can tell: caught
        srcad.check_grad(_half_wrong, x)
    with pytest.raises(srcad.GradientMismatch):  # float64: the tolerances as given
        srcad.check_grad(_curved_wrong, x.astype(np.float64))


def _big_and_small(v):
    return 500.0 * v[0] ** 2 + 0.15 * v[1] ** 2


def _small_one_of_the_wrong_sign(v):  # srcad: 0.3 for v[1]; central differences: 0.0
    return 500.0 * v[0] ** 2 - 0.3 * srcad.stop_gradient(v[1]) * v[1] + 0.3 * v[1] ** 2


def _float32_weights_and_a_python_float(p):
    return np.sum(p["w"] * np.float32(3.0)) * p["b"] ** 2 + p["b"]


def _cubed_by_data(s, data):
    return s**3 * float(np.sum(data))


def _item_of_a_numpy_number(s, x):
    return s.item() * np.sum(x) + s**2


def test_check_grad_tolerances_follow_the_precision_the_function_computes_in():
    """A small element of the wrong sign next to a big one passed in float32 (the atol
    grew with the largest element), and a Python float leaf of a float32 function failed
    (its steps were float64's: central differences gave 7.63 for 10; probe AU F6, F7); an
    np.float64 argument was given as a Python float (no .item(); probe AU F12)."""
    x = np.array([1.0, 1.0], dtype=np.float32)
    srcad.check_grad(_big_and_small, x)
    with pytest.raises(srcad.GradientMismatch, match=r"mismatch at v\[1\]"):
        srcad.check_grad(_small_one_of_the_wrong_sign, x)
    params = {"w": np.ones(3, np.float32), "b": 0.5}
    srcad.check_grad(_float32_weights_and_a_python_float, params)
    assert srcad.numerical_grad(_float32_weights_and_a_python_float, params)["b"] == (
        pytest.approx(10.0, rel=1e-4)
    )
    s = np.float64(0.7)
    srcad.check_grad(_item_of_a_numpy_number, s, np.ones(3))
    data = np.array([1.0, 2.0], np.float32)  # float32 data beside a Python float: float32's
    srcad.check_grad(_cubed_by_data, 0.3, data)  # steps, and float32's tolerances (AV F11)
    assert type(srcad.numerical_grad(_item_of_a_numpy_number, s, np.ones(3))) is np.float64


def test_check_grad_fails_a_nan_gradient():
    """``np.max(error) > 0`` is False when the error is NaN: a NaN gradient passed. (The
    chain rule gives sqrt(x * x) the slope 0 / 0 at x = 0; central differences give 0.)"""

    def distance(x):
        return np.sum(np.sqrt(x * x))

    with pytest.raises(srcad.GradientMismatch, match="nan"):
        srcad.check_grad(distance, np.array([0.0, 1.0]))
    srcad.check_grad(distance, np.array([0.5, 1.0]))  # agreeing gradients still pass


def _sines(v):
    return np.sum(np.sin(v))


def _nothing(v):
    return None


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda x: srcad.numerical_grad(_sines, x.astype(int)), TypeError, "pass 3.0 rather"),
        (lambda x: srcad.numerical_grad(_sines, x, argnums=3), TypeError, "argnums=3 does not"),
        (lambda x: srcad.numerical_grad(_sines, x, eps=0), ValueError, "positive float; got 0"),
        (lambda x: srcad.numerical_grad(_sines, x, eps=-1e-3), ValueError, "positive float"),
        (lambda x: srcad.numerical_grad(_sines, x, eps="a"), TypeError, "positive float"),
        (lambda x: srcad.numerical_grad(_nothing, x), TypeError, "returned NoneType None"),
        (lambda x: srcad.check_grad(_sines, x, rtol=-1.0), ValueError, "rtol is a tolerance"),
    ],
    ids=["int array", "argnums", "eps 0", "eps negative", "eps text", "None", "rtol"],
)
def test_central_differences_refuse_what_they_cannot_difference(call, error, message):
    """An int array took the steps cut off to ints: (f(1) - f(0)) / 2e-6 silently (420735
    for cos(1) = 0.54); eps=0 divided by zero, a None result failed inside NumPy."""
    with pytest.raises(error, match=message):
        call(np.array([1.0, 2.0, 3.0]))


def test_a_mismatch_names_the_worst_element_and_the_sizes_of_the_errors():
    def wrong_rule(v):
        return np.sum(srcad.stop_gradient(v) * v)  # srcad: v; central differences: 2 v

    with pytest.raises(srcad.GradientMismatch) as caught:
        srcad.check_grad(wrong_rule, np.array([1.0, 3.0]))
    message = str(caught.value)
    assert "mismatch at v[1]:" in message and "error 3, relative 0.5" in message
    assert "2 of the 2 elements of v differ" in message and "np.float64" not in message
    # an error about the user's code (API.md), at the function's line; and a failed assertion
    assert isinstance(caught.value, srcad.SrcadError) and isinstance(caught.value, AssertionError)
    assert message.startswith(f"{__file__}:{wrong_rule.__code__.co_firstlineno}: gradient mismatch")


@pytest.mark.parametrize("argument", [np.array([0.5, -1.5], np.float32), np.float32(0.5)])
def test_numerical_grad_of_a_float32_argument_is_float32_as_the_gradient(argument):
    def cubes(v):
        return np.sum(v**3)

    numerical = srcad.numerical_grad(cubes, argument)
    exact = srcad.grad(cubes)(argument)
    assert type(numerical) is type(exact) and numerical.dtype == exact.dtype == np.float32
    np.testing.assert_allclose(numerical, 3.0 * np.asarray(argument, float) ** 2, rtol=1e-3)


# --- argnums counted from the end, keywords to the Jacobians, as JAX takes them ------------------
OFFSET = 0.5


def scaled_sines(x, y):
    return np.sum(np.sin(x) * y) + OFFSET * np.sum(y**2)


@pytest.mark.parametrize(
    "transformation",
    [
        lambda argnums: srcad.grad(scaled_sines, argnums=argnums),
        lambda argnums: srcad.grad(scaled_sines, argnums=argnums, mode="forward"),
        lambda argnums: (lambda *a: srcad.value_and_grad(scaled_sines, argnums=argnums)(*a)[1]),
        lambda argnums: srcad.jacrev(scaled_sines, argnums=argnums),
        lambda argnums: srcad.jacfwd(scaled_sines, argnums=argnums),
        lambda argnums: (lambda *a: srcad.numerical_grad(scaled_sines, *a, argnums=argnums)),
    ],
    ids=["grad", "forward", "value_and_grad", "jacrev", "jacfwd", "numerical_grad"],
)
def test_a_negative_argnums_counts_back_from_the_last_argument(transformation):
    global OFFSET
    x, y = np.array([0.3, -1.2]), np.array([2.0, 0.5])
    last, both = transformation(-1), transformation((-1, 0))
    for offset in (0.5, 2.0):  # a global read on every call
        OFFSET = offset
        try:
            dy = srcad.numerical_grad(scaled_sines, x, y, argnums=1)
            dx = srcad.numerical_grad(scaled_sines, x, y, argnums=0)
            np.testing.assert_allclose(last(x, y), dy, rtol=1e-6)
            got_y, got_x = both(x, y)
            np.testing.assert_allclose(got_y, dy, rtol=1e-6)
            np.testing.assert_allclose(got_x, dx, rtol=1e-6)
        finally:
            OFFSET = 0.5
    srcad.check_grad(scaled_sines, x, y, argnums=-2)


def test_a_negative_argnums_past_the_first_or_naming_one_twice_is_refused():
    with pytest.raises(TypeError, match=r"argnums=-3 does not name .* takes 2 positional"):
        srcad.grad(scaled_sines, argnums=-3)
    with pytest.raises(ValueError, match="names an argument twice"):
        srcad.jacrev(scaled_sines, argnums=(1, -1))

    def summed(*values):
        return sum(np.sum(v) for v in values)

    with pytest.raises(ValueError, match="takes \\*args.*count argnums from the start"):
        srcad.grad(summed, argnums=-1)


def test_the_jacobians_and_the_hessian_take_keyword_arguments():
    x, w = np.array([0.3, -1.2]), np.array([1.0, 2.0])

    def weighted(x, w, power=2.0):
        return w * x**power

    expected = np.diag(w * 3.0 * x**2)
    np.testing.assert_allclose(srcad.jacrev(weighted)(x, w=w, power=3.0), expected, rtol=1e-12)
    np.testing.assert_allclose(srcad.jacfwd(weighted)(x, power=3.0, w=w), expected, rtol=1e-12)
    hessian = srcad.hessian(lambda x, w: np.sum(weighted(x, w)))(x, w=w)
    np.testing.assert_allclose(hessian, np.diag(2.0 * w), rtol=1e-12)


# --- pickling -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "transform",
    [
        srcad.grad,
        srcad.value_and_grad,
        lambda f: srcad.grad(f, argnums=-1, mode="forward"),
        srcad.jacrev,
        srcad.hessian,
    ],
    ids=["grad", "value_and_grad", "forward", "jacrev", "hessian"],
)
def test_a_transformed_function_pickles_as_the_transformation_of_its_function(transform):
    """pickle said "Can't pickle <class 'srcad.api.grad.Transformed'>: it's not the same
    object" (after a call, the object's class is its lean entry's); a hessian's deepcopy
    after a call, "cannot pickle 'module' object": a Pool.map could not take one."""
    import copy
    import pickle

    transformed = transform(loss)
    expected = transformed(W)
    gradient = expected[1] if isinstance(expected, tuple) else expected
    for copied in (pickle.loads(pickle.dumps(transformed)), copy.deepcopy(transformed)):
        got = copied(W)
        np.testing.assert_allclose(got[1] if isinstance(got, tuple) else got, gradient, rtol=1e-12)


def test_an_unknown_mode_is_a_value_error_without_srcads_frames():
    """It showed four of srcad's frames (found by a probe)."""
    import traceback

    with pytest.raises(ValueError, match="mode must be 'reverse' or 'forward', not 'fwd'") as err:
        srcad.grad(loss, mode="fwd")
    assert [frame.filename for frame in traceback.extract_tb(err.tb)] == [__file__]


def _transformed_by_fft(x):
    return np.sum(np.fft.fft(x).real)


@pytest.mark.parametrize("check", [srcad.check_grad, srcad.numerical_grad])
def test_check_grad_and_numerical_grad_raise_without_srcads_frames(check):
    """check_grad's refusal of the function showed srcad/api/checking.py (probe AB)."""
    import traceback

    def unknown_argnums():
        check(loss, np.ones(3), argnums=5)

    calls = [unknown_argnums]
    if check is srcad.check_grad:  # srcad's gradient of it: refused
        calls.append(lambda: check(_transformed_by_fft, np.ones(4)))
    for call in calls:
        with pytest.raises((srcad.SrcadError, TypeError, ValueError)) as err:
            call()
        frames = [frame.filename for frame in traceback.extract_tb(err.tb)]
        assert all("/srcad/" not in name for name in frames), frames


def _shifted(b):
    return b * 1.0


def test_a_mismatch_in_a_tree_names_the_leaf_as_python_spells_it():
    """A dict argument's leaf was 'argument 0, leaf 1, element (0,)' (probe AB)."""

    def tree(p, x):
        return np.sum(np.tanh(p["W"] @ x + srcad.stop_gradient(p["b"]) * p["b"]) ** 2)

    params = {"W": np.full((2, 3), 0.1), "b": np.array([0.5, -0.2])}
    with pytest.raises(srcad.GradientMismatch, match=r"mismatch at p\['b'\]\[\d\]:"):
        srcad.check_grad(tree, params, np.ones(3))


def slightly_off_square(x):
    return x**2


def far_off_cube(x):
    return x**3


CHECKED = {"shift": 0.0}


def test_check_grad_names_the_worst_element_of_all_the_arguments():
    """It named the first leaf that failed (a's error 0.002), not the worst (b's, 108):
    found by a probe."""
    srcad.defvjp(slightly_off_square, lambda g, out, x: g * 2.001 * x)
    srcad.defvjp(far_off_cube, lambda g, out, x: g * 30.0 * x**2)

    def f(a, b):
        return np.sum(slightly_off_square(a)) + np.sum(far_off_cube(b)) + CHECKED["shift"]

    a = b = np.array([1.0, 2.0])
    for shift in (0.0, 5.0):  # a global the function reads, changed
        CHECKED["shift"] = shift
        try:
            with pytest.raises(srcad.GradientMismatch, match=r"at b\[1\]: srcad gives 120,") as err:
                srcad.check_grad(f, a, b, argnums=(0, 1))
        finally:
            CHECKED["shift"] = 0.0
        assert "(and 1 other leaf of the arguments)" in str(err.value)


class LossAndStats(NamedTuple):
    value: float
    aux: dict


AUX_SCALE = {"c": 1.0}


def loss_and_stats(x):
    return LossAndStats(np.sum(x**2) * AUX_SCALE["c"], {"doubled": x * 2.0, "n": 3})


def test_has_aux_takes_a_named_tuple_pair_as_jax_does():
    """'has_aux=True requires ... to return a pair' for a NamedTuple of two fields, which
    JAX unpacks as a pair (found by a probe)."""
    x = np.array([0.5, -1.5])
    for c in (1.0, 3.0):  # a global the loss reads, changed
        AUX_SCALE["c"] = c
        try:
            grads, aux = srcad.grad(loss_and_stats, has_aux=True)(x)
            (value, aux_again), _ = srcad.value_and_grad(loss_and_stats, has_aux=True)(x)
            central = srcad.numerical_grad(lambda v: loss_and_stats(v).value, x)
        finally:
            AUX_SCALE["c"] = 1.0
        np.testing.assert_allclose(grads, central, rtol=1e-7)
        assert value == pytest.approx(np.sum(x**2) * c) and aux["n"] == aux_again["n"] == 3
        np.testing.assert_array_equal(aux["doubled"], x * 2.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: srcad.hvp(None, (np.ones(2),), (np.ones(2),)),
        lambda: srcad.hessian(None)(np.ones(2)),
    ],
    ids=["hvp", "hessian"],
)
def test_hvp_and_hessian_of_no_function_say_to_pass_the_function(call):
    """They spoke of 'a decorator's wrapper' and a partial (found by a probe)."""
    with pytest.raises(TypeError, match="pass the function itself .* not NoneType None"):
        call()


def test_a_custom_vjp_without_its_rule_says_to_give_it_one():
    """'srcad can differentiate Python functions ..., not custom_vjp' (found by a probe)."""

    @srcad.custom_vjp
    def cube(x):
        return x**3

    with pytest.raises(srcad.NoDerivativeRule, match=r"cube.defvjp\(cube_fwd, cube_bwd\)"):
        srcad.grad(cube)(2.0)


SIZE_ONE_SCALE = {"c": 1.0}
MODES = ("reverse", "forward")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_size_one_value_is_a_scalar_in_both_modes(dtype):
    """Reverse mode gave 9.0, forward mode array([9.]) (found by a probe)."""

    def squared(x):
        return x**2 * SIZE_ONE_SCALE["c"]

    x = np.array([3.0], dtype)
    for c in (1.0, 2.0):  # a global the function reads, changed
        SIZE_ONE_SCALE["c"] = c
        try:
            results = [srcad.value_and_grad(squared, mode=mode)(x) for mode in MODES]
        finally:
            SIZE_ONE_SCALE["c"] = 1.0
        for value, grad in results:
            assert np.ndim(value) == 0 and value == pytest.approx(9.0 * c)
            assert type(value) is type(results[0][0])
            np.testing.assert_allclose(grad, [6.0 * c], rtol=1e-6)
