"""Generated code states its specialization: the header names the layout it was compiled for,
the public function refuses any other layout with a clear error (instead of computing
something else), and loop bounds the source wrote as shapes stay shapes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import black
import numpy as np
import pytest

import srcad
from tests.source_files import module_from_source

REPOSITORY = Path(__file__).resolve().parents[1]

RNN_GRAD = REPOSITORY / "generated" / "loops" / "rnn_grad.py"


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def loops():
    return _import(REPOSITORY / "examples" / "loops.py")


@pytest.fixture(scope="module")
def rnn_grad():
    return _import(RNN_GRAD).rnn_grad


def test_the_committed_file_gives_what_srcad_gives_for_its_layout(loops, rnn_grad):
    args = loops.EXAMPLE_ARGS["rnn"]
    value, grads = rnn_grad(*args)
    expected_value, expected = srcad.value_and_grad(loops.rnn, argnums=(0, 1, 2))(*args)
    assert np.isclose(value, expected_value)
    for g, e in zip(grads, expected, strict=True):
        assert np.allclose(g, e)


def test_another_shape_is_a_clear_error_not_a_wrong_gradient(loops, rnn_grad):
    W, h, xs = loops.EXAMPLE_ARGS["rnn"]
    longer = np.concatenate([xs, xs[:2]])  # 7 steps instead of 5
    with pytest.raises(ValueError) as error:
        rnn_grad(W, h, longer)
    message = str(error.value)
    assert "compiled for W float64[3, 3], h float64[3], xs float64[5, 3]" in message
    assert "xs float64[7, 3]" in message  # what it received
    assert "srcad.grad" in message and "regenerate this file" in message  # what to do
    # srcad itself compiles for the new layout
    grads = srcad.grad(loops.rnn, argnums=(0, 1, 2))(W, h, longer)
    expected = srcad.numerical_grad(loops.rnn, W, h, longer, argnums=(0, 1, 2))
    for g, e in zip(grads, expected, strict=True):
        assert np.allclose(g, e, atol=1e-6)


@pytest.mark.parametrize(
    "change",
    [
        lambda W, h, xs: (W, h, np.arange(15).reshape(5, 3)),  # int64 for float64
        lambda W, h, xs: (W, h, xs.astype(np.float32)),
        lambda W, h, xs: (W.astype(np.float32), h.astype(np.float32), xs.astype(np.float32)),
        lambda W, h, xs: (W, 0.5, xs),  # a float where an array was
        lambda W, h, xs: (W, list(h), xs),  # a list where an array was
    ],
)
def test_another_dtype_or_type_is_a_clear_error(loops, rnn_grad, change):
    args = change(*loops.EXAMPLE_ARGS["rnn"])
    with pytest.raises(ValueError, match="rnn_grad was compiled for W float64"):
        rnn_grad(*args)


def test_the_header_names_the_signature_and_loops_keep_their_shape_bounds():
    code = RNN_GRAD.read_text()
    header = [line for line in code.splitlines() if line.startswith("#")][:3]
    assert header[2] == "# compiled for: W float64[3, 3], h float64[3], xs float64[5, 3]"
    assert "for t in range(xs.shape[0]):" in code
    assert "for t in reversed(range(xs.shape[0])):" in code
    assert "range(5)" not in code


CONTAINERS = """
import numpy as np


def loss(params, x, n, act):
    total = 0.0
    for W, b in params:
        x = np.tanh(W @ x + b) if act == "tanh" else np.maximum(W @ x + b, 0.0)
        total = total + n * np.sum(x)
    return total
"""


def test_containers_and_constants_are_part_of_the_layout(tmp_path):
    module = module_from_source(CONTAINERS, tmp_path, "containers")
    params = [(np.ones((2, 3)), np.zeros(2)), (np.ones((2, 2)), np.zeros(2))]
    gradient = srcad.value_and_grad(module.loss)
    gradient(params, np.ones(3), 2, "tanh")
    code = srcad.source(gradient)
    header = " ".join(line[1:].strip() for line in code.split("import numpy")[0].splitlines())
    assert (
        "compiled for: params [(float64[2, 3], float64[2]), (float64[2, 2], float64[2])], "
        "x float64[3], n=2, act='tanh'" in header
    )
    assert all(len(line) <= 100 for line in code.splitlines()[2:])  # after file names
    path = tmp_path / "saved_loss_grad.py"
    path.write_text(code)
    loss_grad = _import(path).loss_grad
    value, grads = loss_grad(params, np.ones(3), 2, "tanh")
    assert np.isclose(value, module.loss(params, np.ones(3), 2, "tanh"))
    for bad in [
        (params[:1], np.ones(3), 2, "tanh"),  # another container length
        ([tuple(params[0]), list(params[1])], np.ones(3), 2, "tanh"),  # another container
        (params, np.ones(3), 3, "tanh"),  # another constant
        (params, np.ones(3), 2, "relu"),
    ]:
        with pytest.raises(ValueError, match="loss_grad was compiled for params"):
            loss_grad(*bad)


REASSIGNED = """
import numpy as np


def f(xs, W):
    total = 0.0
    for t in range(xs.shape[0]):
        total = total + np.sum(np.tanh(W @ xs[t]))
    xs = xs[1:]
    for t in range(len(xs)):
        total = total + np.sum(xs[t] ** 2)
    for row in W:
        total = total + np.sum(row * 2.0)
    return total
"""


def test_a_bound_is_spelled_as_a_shape_only_when_it_is_the_parameters(tmp_path):
    """``xs`` rebound to ``xs[1:]``: its loop runs over the new value, whose length the
    generated code states as a number; the parameter's own loops use its shape."""
    module = module_from_source(REASSIGNED, tmp_path, "reassigned")
    rng = np.random.default_rng(0)
    xs, W = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    gradient = srcad.grad(module.f, argnums=(0, 1))
    grads = gradient(xs, W)
    expected = srcad.numerical_grad(module.f, xs, W, argnums=(0, 1))
    for g, e in zip(grads, expected, strict=True):
        assert np.allclose(g, e, atol=1e-6)
    code = "\n".join(line.split("#")[0] for line in srcad.source(gradient).splitlines())
    assert code.count("range(xs.shape[0])") == 2  # forward and backward of the first loop
    assert code.count("range(3)") == 2  # the rebound xs
    assert code.count("range(W.shape[0])") == 2  # for row in W


MANY = """
def many(alpha_parameter, beta_parameter, gamma_parameter, delta_parameter, epsilon, label):
    return alpha_parameter * beta_parameter + gamma_parameter * delta_parameter + epsilon
"""


@pytest.mark.slow
def test_the_checked_function_is_written_as_black_writes_it(tmp_path):
    """srcad writes the layout check itself (black would double the time it takes to format
    a module); black would not change a character of it."""
    mode = black.Mode(line_length=100)
    sources = [path.read_text() for path in sorted((REPOSITORY / "generated").rglob("*.py"))]
    containers = module_from_source(CONTAINERS, tmp_path, "containers")
    gradient = srcad.grad(containers.loss)
    gradient([(np.ones((2, 3)), np.zeros(2)), (np.ones((2, 2)), np.zeros(2))], np.ones(3), 2, "a")
    sources.append(srcad.source(gradient))
    many = module_from_source(MANY, tmp_path, "many").many  # a long line, a quote: black's
    gradient = srcad.grad(many, argnums=(0, 1))
    gradient(1.0, 2.0, 3.0, 4.0, 5.0, 'say "hi"')
    sources.append(srcad.source(gradient))
    for source in sources:
        assert black.format_str(source, mode=mode) == source


def test_srcad_calls_the_unchecked_function(loops):
    """The layout is already checked by srcad's guard: the fast path does not check again."""
    gradient = srcad.value_and_grad(loops.rnn, argnums=(0, 1, 2))
    gradient(*loops.EXAMPLE_ARGS["rnn"])
    assert gradient.last.fn.__name__ == "rnn_grad_unchecked"
    assert gradient._fast.fn is gradient.last.fn


def nested_sum(tree):
    total = 0.0
    while isinstance(tree, tuple):
        leaf, tree = tree
        total = total + np.sum(leaf**2)
    return total + np.sum(tree)


def test_the_check_of_a_deeply_nested_argument_is_not_given_to_black(monkeypatch):
    """Its long lines went to black, whose time grows faster than the lines: a tuple nested
    100 deep compiled in 6.6 s, 150 deep in 22 s (0.2 s and 0.4 s without)."""
    from srcad.codegen import layout

    asked = []
    monkeypatch.setattr(layout, "formatted", lambda source: asked.append(source) or source)
    tree = np.ones(2)
    for k in range(100):
        tree = (np.full(2, 0.1 * k), tree)
    gradient = srcad.grad(nested_sum)(tree)
    assert asked == []
    np.testing.assert_allclose(gradient[0], 0.2 * 99 * np.ones(2))


def scaled(a, b):
    return a * b if b is not True else -a  # a bool and an int of one value differ in Python


def test_a_bool_constant_is_another_layout_than_the_int_of_its_value():
    """1 == True and they hash alike: the compile for b=1 was taken for b=True, whose guard
    then raised ValueError (probe AG); a new transformation shared it too."""
    gradient = srcad.value_and_grad(scaled)
    assert gradient(1.5, 1) == (1.5, 1.0)
    assert gradient(1.5, True) == (-1.5, -1.0)
    assert srcad.value_and_grad(scaled)(1.5, True) == (-1.5, -1.0)
    assert gradient(1.5, 0) == (0.0, 0.0) and gradient(1.5, False) == (0.0, 0.0)
