"""The fast path of repeated calls: a generated guard accepts exactly the layout it was made
for, and a transformed function called with another layout compiles for that one."""

from __future__ import annotations

import numpy as np
import pytest

import srcad
from srcad.runtime.guard import make_guard

PARAMS = [(np.ones((3, 2)), np.zeros(2)), {"w": np.ones(4, dtype=np.float32)}]


def test_guard_accepts_the_same_layout_with_other_values():
    guard = make_guard((PARAMS, np.ones((5, 3)), 0.1, 2, None, "tanh"))
    other = [(np.full((3, 2), 7.0), np.ones(2)), {"w": np.zeros(4, dtype=np.float32)}]
    assert guard((other, np.zeros((5, 3)), 3.5, 2, None, "tanh"))


@pytest.mark.parametrize(
    "change",
    [
        lambda a: (a[0], np.ones((4, 3)), *a[2:]),  # shape
        lambda a: (a[0], np.ones((5, 3), dtype=np.float32), *a[2:]),  # dtype
        lambda a: (tuple(a[0]), *a[1:]),  # container type
        lambda a: (a[0][:1], *a[1:]),  # container length
        lambda a: ([a[0][0], {"v": a[0][1]["w"]}], *a[1:]),  # dict keys
        lambda a: (a[0], a[1], np.float64(0.1), *a[3:]),  # float type
        lambda a: (*a[:3], 3, *a[4:]),  # a compile-time constant's value
        lambda a: (*a[:3], 2.0, *a[4:]),  # its type
        lambda a: (*a[:4], 0, a[5]),  # None
        lambda a: (*a[:5], "relu"),  # a string constant
        lambda a: a[:-1],  # one argument fewer
        lambda a: (a[0], list(a[1]), *a[2:]),  # a list for an array
    ],
)
def test_guard_rejects_any_change_of_layout(change):
    args = (PARAMS, np.ones((5, 3)), 0.1, 2, None, "tanh")
    assert not make_guard(args)(change(args))


def test_guard_reads_dict_keys_in_order():
    guard = make_guard(({"a": np.ones(2), "b": np.ones(2)},))
    assert guard(({"a": np.zeros(2), "b": np.ones(2)},))
    assert not guard(({"b": np.ones(2), "a": np.ones(2)},))


def test_no_guard_for_values_it_cannot_check():
    assert make_guard((np.ones(3), object())) is None
    assert make_guard(({(1, 2): np.ones(3)},)) is None


def power_sum(x, n):
    return np.sum(x**n)


def test_calls_with_new_layouts_after_the_fast_path_are_right():
    gradient = srcad.grad(power_sum)
    x = np.array([0.5, 1.5, 2.0])
    for _ in range(2):  # the second round goes through the guard
        np.testing.assert_allclose(gradient(x, 2), 2 * x)
    np.testing.assert_allclose(gradient(x, 3), 3 * x**2)  # another constant
    np.testing.assert_allclose(gradient(x[:2], 3), 3 * x[:2] ** 2)  # another shape
    x32 = x.astype(np.float32)
    assert gradient(x32, 2).dtype == np.float32  # another dtype
    np.testing.assert_allclose(gradient(x, n=2), 2 * x)  # by keyword: the full path
    assert isinstance(srcad.grad(power_sum)(1.5, 2), float)


def test_repeated_calls_give_fresh_results_with_the_argument_structure():
    def loss(params, x):
        return np.sum(np.tanh(x @ params["W"] + params["b"]))

    value_and_grad = srcad.value_and_grad(loss)
    params = {"W": np.full((3, 2), 0.1), "b": np.zeros(2)}
    first = value_and_grad(params, np.ones((4, 3)))
    second = value_and_grad(params, 2 * np.ones((4, 3)))
    assert isinstance(second[0], float) and second[0] != first[0]
    assert set(second[1]) == {"W", "b"} and second[1]["W"] is not first[1]["W"]
    assert not np.allclose(second[1]["W"], first[1]["W"])


def test_alternating_layouts_reuse_their_guards(monkeypatch):
    import srcad.api.grad

    made = []
    original = srcad.api.grad.make_guard
    monkeypatch.setattr(srcad.api.grad, "make_guard", lambda args: made.append(1) or original(args))
    gradient = srcad.grad(power_sum)
    long, short = np.linspace(0.5, 2.0, 4), np.array([0.5, 1.5])
    for _ in range(3):
        np.testing.assert_allclose(gradient(long, 2), 2 * long)
        np.testing.assert_allclose(gradient(short, 2), 2 * short)
    assert len(made) == 2


GAIN = np.array([1.0, -2.0])  # read from outside by layer_loss on every call


def layer_loss(params, x, lam):
    W, b = params
    return np.sum(np.tanh(x @ W + b) * GAIN) + lam * np.sum(W * W)


def _layer_args():
    rng = np.random.default_rng(3)
    return [rng.normal(size=(3, 2)), rng.normal(size=2)], rng.normal(size=(4, 3)), 0.1


def _plain_call(transformed, *args):
    """The result through ``Transformed.__call__`` (its guard function and conversions)."""
    from srcad.api.grad import Transformed

    return Transformed.__call__(transformed, *args)


def test_later_calls_of_array_code_take_a_lean_entry_with_the_same_results():
    """After the first call, a transformed function's class carries a lean ``__call__``
    with the guard inline (srcad.api.backend.lean_entry); it gives what the full path
    gives, follows a global that changed, and passes other layouts, keywords and missing
    arguments on to the full path."""
    global GAIN
    value_and_grad, gradient = srcad.value_and_grad(layer_loss), srcad.grad(layer_loss)
    params, x, lam = _layer_args()
    value_and_grad(params, x, lam), gradient(params, x, lam)
    assert value_and_grad._entry is not None and gradient._entry is not None
    value, grads = value_and_grad(params, x, lam)
    assert type(value) is float and value == _plain_call(value_and_grad, params, x, lam)[0]
    expected = srcad.numerical_grad(lambda W: layer_loss([W, params[1]], x, lam), params[0])
    np.testing.assert_allclose(grads[0], expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gradient(params, x, lam)[0], expected, rtol=1e-6, atol=1e-9)
    original = GAIN
    GAIN = np.array([0.5, 3.0])  # the world changed: the entry's world guard sees it
    try:
        moved = srcad.numerical_grad(lambda W: layer_loss([W, params[1]], x, lam), params[0])
        np.testing.assert_allclose(gradient(params, x, lam)[0], moved, rtol=1e-6, atol=1e-9)
        assert not np.allclose(moved, expected)
    finally:
        GAIN = original
    np.testing.assert_allclose(gradient(params, x=x, lam=lam)[0], expected, rtol=1e-6)
    shorter = gradient(params, x[:2], lam)[0]  # another layout compiles again
    np.testing.assert_allclose(shorter, _plain_call(srcad.grad(layer_loss), params, x[:2], lam)[0])
    with pytest.raises(TypeError):
        gradient(params, x)


def test_alternating_layouts_keep_one_entry_class_each():
    gradient = srcad.grad(power_sum)
    long, short = np.linspace(0.5, 2.0, 4), np.array([0.5, 1.5])
    classes = []
    for _ in range(3):
        np.testing.assert_allclose(gradient(long, 2), 2 * long)
        classes.append(type(gradient))
        np.testing.assert_allclose(gradient(short, 2), 2 * short)
        classes.append(type(gradient))
    assert classes[0] is not classes[1]
    assert classes[2:] == classes[:2] * 2  # made once per layout, not on every switch


def layers_in_dict_order(params, x):
    h = x
    for W in params.values():  # the dict's order is the network's
        h = np.tanh(h @ W)
    return np.sum(h**2)


@pytest.mark.parametrize("backend", ["numpy", pytest.param("numba", marks=pytest.mark.slow)])
def test_a_dict_with_its_keys_in_another_order_is_another_layout(backend):
    """The lean entry took {"l2": W2, "l1": W1} for the {"l1": W1, "l2": W2} it was made
    for: the value and the gradient of the layers applied in the first order."""
    if backend == "numba":
        pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    W1, W2, x = rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=(2, 3))
    value_and_grad = srcad.value_and_grad(layers_in_dict_order, backend=backend)
    for params in ({"l1": W1, "l2": W2}, {"l1": W1, "l2": W2}, {"l2": W2, "l1": W1}):
        value, grads = value_and_grad(params, x)
        assert value == pytest.approx(layers_in_dict_order(params, x), rel=1e-14)
        assert list(grads) == list(params)
        for key in params:

            def with_layer(W, key=key, params=params):
                return layers_in_dict_order({**params, key: W}, x)

            expected = srcad.numerical_grad(with_layer, params[key])
            np.testing.assert_allclose(grads[key], expected, rtol=1e-6, atol=1e-9)


def test_the_generated_layout_check_reads_dict_keys_in_order():
    gradient = srcad.grad(layers_in_dict_order)
    params = {"l1": np.eye(2), "l2": np.eye(2)}
    gradient(params, np.ones((1, 2)))
    namespace: dict = {}
    exec(srcad.source(gradient), namespace)  # noqa: S102 - our own generated code
    checked = namespace["layers_in_dict_order_grad"]
    checked(params, np.ones((1, 2)))
    with pytest.raises(ValueError, match="was compiled for"):
        checked({"l2": np.eye(2), "l1": np.eye(2)}, np.ones((1, 2)))
