"""Real Python (issue 11): functions and objects as people write them.

Lambdas (several on one line, inside a call spread over lines, one made per training step),
bound methods (``self``'s attributes read on every call), static and class methods,
``functools.partial`` (its arguments read on every call), NumPy functions as the function
itself, NamedTuples and dataclasses built inside the function, and srcad's transformations
called inside differentiated code. Each is checked against central differences of the plain
function, in reverse mode and, where it means something, forward mode, and again after the
world outside the function changed (a global, an attribute of ``self``).
"""

from __future__ import annotations

import dataclasses
import functools
import linecache
import math
import operator
import warnings
from functools import partial
from typing import NamedTuple

import numpy as np
import pytest
import scipy.special
from transformations import each_value

import srcad

RNG = np.random.default_rng(11)
X = RNG.normal(size=3)
W = RNG.normal(size=(3, 3))
DATA = [RNG.normal(size=3) for _ in range(3)]


def _check_everywhere(fun, *args, argnums=0, forward=True):
    """Reverse, value-and-gradient and (unless told not to) forward mode against central
    differences."""
    srcad.check_grad(fun, *args, argnums=argnums)
    value, grads = srcad.value_and_grad(fun, argnums=argnums)(*args)
    assert value == pytest.approx(fun(*args))
    expected = srcad.numerical_grad(fun, *args, argnums=argnums)
    _assert_close(grads, expected)
    if forward:
        _assert_close(srcad.grad(fun, argnums=argnums, mode="forward")(*args), expected)


def _assert_close(got, expected, rtol=1e-5):
    got_leaves, expected_leaves = _leaves(got), _leaves(expected)
    assert len(got_leaves) == len(expected_leaves)
    for g, e in zip(got_leaves, expected_leaves, strict=True):
        np.testing.assert_allclose(g, e, rtol=rtol, atol=1e-8)


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in _leaves(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _body(transformed) -> str:
    """The generated function that computes (after the one checking the layout)."""
    return srcad.source(transformed).split("_unchecked(")[-1]


# --- lambdas ----------------------------------------------------------------------------------
SCALE = 1.5
act = lambda v: np.tanh(v) * SCALE  # noqa: E731 - a module-level lambda, as people write them
objective = lambda params: np.sum(params**3) + np.sum(np.sin(params))  # noqa: E731
first, second = (lambda v: np.sum(v**2)), (lambda v: np.sum(np.exp(v)))  # one line, two lambdas


def test_a_lambda_is_differentiated_in_both_modes():
    _check_everywhere(lambda x: np.sum(np.tanh(x) ** 2), X)
    _check_everywhere(lambda x, y: np.sum(x * y**2), X, W[0], argnums=(0, 1))


def test_a_lambda_assigned_to_a_name_names_the_generated_function():
    transformed = srcad.value_and_grad(objective)
    value, grads = transformed(X)
    assert value == pytest.approx(objective(X))
    _assert_close(grads, srcad.numerical_grad(objective, X))
    assert "def objective_grad(params" in srcad.source(transformed)


def test_lambdas_on_one_line_are_told_apart():
    _assert_close(srcad.grad(first)(X), 2 * X)
    _assert_close(srcad.grad(second)(X), np.exp(X))
    inner_and_outer = lambda v: (lambda u: np.sum(u**3))(v * 2.0)  # noqa: E731
    _check_everywhere(inner_and_outer, X)


def test_a_lambda_inside_a_call_spread_over_lines():
    assert np.allclose(
        srcad.grad(
            lambda v: np.sum(
                np.sin(v) * 2.0,
            )
        )(X),
        2.0 * np.cos(X),
    )


def test_a_module_level_lambda_reads_its_global_on_every_call():
    global SCALE
    fun = lambda x: np.sum(act(x))  # noqa: E731
    transformed = srcad.grad(fun)
    _assert_close(transformed(X), srcad.numerical_grad(fun, X))
    SCALE, before = 4.0, SCALE
    try:
        _assert_close(transformed(X), srcad.numerical_grad(fun, X))
        _assert_close(transformed(X), 4.0 * (1 - np.tanh(X) ** 2))
    finally:
        SCALE = before


def loss(w, inputs, targets):
    return np.mean((inputs @ w - targets) ** 2)


def test_a_lambda_per_training_step_uses_that_step_s_data():
    w = np.zeros(3)
    for _ in range(3):
        inputs, targets = RNG.normal(size=(5, 3)), RNG.normal(size=5)
        g = srcad.grad(lambda w: loss(w, inputs, targets))(w)  # noqa: B023 - made per step
        expected = 2 * inputs.T @ (inputs @ w - targets) / 5
        _assert_close(g, expected)
        w = w - 0.1 * g


scaled_tanh = lambda v, slope=SCALE: np.tanh(v) * slope  # noqa: E731 - a default read per call


def calls_a_lambda_with_a_default(x):
    return np.sum(scaled_tanh(x))


def test_a_lambda_helper_with_a_default_reads_it_on_every_call():
    transformed = srcad.grad(calls_a_lambda_with_a_default)
    _check_everywhere(calls_a_lambda_with_a_default, X)
    scaled_tanh.__defaults__ = (3.0,)
    try:
        _assert_close(transformed(X), 3.0 * (1 - np.tanh(X) ** 2))
    finally:
        scaled_tanh.__defaults__ = (SCALE,)


def test_the_hessian_of_a_lambda():
    hessian = srcad.hessian(lambda v: np.sum(v**3))(X)
    _assert_close(hessian, np.diag(6 * X))


def test_a_lambda_with_a_closure_reads_the_cell_on_every_call():
    scale = np.array([1.0, 2.0, 3.0])
    fun = lambda x: np.sum(np.sin(x) * scale)  # noqa: E731
    transformed = srcad.grad(fun)
    _assert_close(transformed(X), np.cos(X) * scale)
    scale[:] = [4.0, 5.0, 6.0]
    _assert_close(transformed(X), np.cos(X) * scale)


# --- bound methods, static and class methods -----------------------------------------------
class Model:
    offset = 0.25

    def __init__(self, weights, scale):
        self.W = weights
        self.scale = scale

    def forward(self, x):
        return np.tanh(self.W @ x)

    def loss(self, x):
        return np.sum(self.forward(x) ** 2) * self.scale + self.offset

    @staticmethod
    def squared(x):
        return np.sum(x * x)

    @classmethod
    def shifted(cls, x):
        return np.sum((x - cls.offset) ** 2)


def test_a_bound_method_reads_self_on_every_call():
    model = Model(W.copy(), 2.0)
    transformed = srcad.grad(model.loss)
    _check_everywhere(model.loss, X)
    model.W = W * 3.0  # a new array, and a new scale: both read on the next call
    model.scale = 0.5
    _assert_close(transformed(X), srcad.numerical_grad(model.loss, X))
    model.W *= -1.0  # changed in place
    _assert_close(transformed(X), srcad.numerical_grad(model.loss, X))
    assert "W = self.W" in _body(transformed)


class Scaled:
    """A callable object: differentiated through its __call__, self read on every call."""

    def __init__(self, weights):
        self.W = weights
        self.act = lambda v: np.tanh(v) * 2.0  # a lambda held by the object

    def __call__(self, x):
        return np.sum(self.act(self.W @ x))


def test_a_callable_object_reads_self_on_every_call():
    scaled = Scaled(W.copy())
    transformed = srcad.grad(scaled)
    _check_everywhere(scaled, X)
    scaled.W = W.T * 2.0
    _assert_close(transformed(X), srcad.numerical_grad(scaled, X))


def test_a_lambda_of_a_notebook_cell(tmp_path):
    """A notebook registers each cell's source with linecache under the cell's name."""
    cell = "import numpy as np\npair = (lambda v: np.sum(v**3)), (lambda v: np.sum(np.cos(v)))\n"
    name = f"<ipython-input-{tmp_path.name}>"
    linecache.cache[name] = (len(cell), None, cell.splitlines(True), name)
    namespace: dict = {}
    exec(compile(cell, name, "exec"), namespace)  # noqa: S102 - a cell, as IPython runs it
    cubes, cosines = namespace["pair"]
    _assert_close(srcad.grad(cubes)(X), 3 * X**2)
    _assert_close(srcad.grad(cosines)(X), -np.sin(X))


def test_a_lambda_without_source_is_refused_with_a_reason():
    made = eval("lambda v: v * 2.0")  # noqa: S307 - no file holds its source
    with pytest.raises(srcad.SrcadError, match="cannot read the source"):
        srcad.grad(made)(1.0)


def test_static_and_class_methods():
    _check_everywhere(Model.squared, X)
    _check_everywhere(Model.shifted, X)
    transformed = srcad.grad(Model.shifted)
    Model.offset, before = 1.0, Model.offset
    try:
        _assert_close(transformed(X), 2 * (X - 1.0))
    finally:
        Model.offset = before


def test_methods_called_inside_a_function():
    model = Model(W.copy(), 1.0)

    def outer(x):
        return model.loss(x) + Model.squared(x) + Model.shifted(x)

    _check_everywhere(outer, X)


class WeightsParser:
    """autograd's examples' helper: named slices of one parameter vector, their bounds
    computed with ``np.prod`` (NumPy integers, not ints)."""

    def __init__(self):
        self.slices_and_shapes = {}
        self.size = 0

    def add(self, name, shape):
        start = self.size
        self.size += np.prod(shape)
        self.slices_and_shapes[name] = (slice(start, self.size), shape)

    def get(self, vector, name):
        positions, shape = self.slices_and_shapes[name]
        return np.reshape(vector[positions], shape)


def test_slices_with_numpy_integer_bounds_from_an_object_follow_the_object():
    parser = WeightsParser()
    parser.add("W", (2, 3))
    parser.add("b", (3,))

    def loss(vector):
        return np.sum(np.tanh(parser.get(vector, "W")) @ parser.get(vector, "b"))

    vector = RNG.normal(size=9)
    _check_everywhere(loss, vector)
    parser.slices_and_shapes["W"] = (slice(np.int64(3), np.int64(9)), (2, 3))
    parser.slices_and_shapes["b"] = (slice(np.int64(0), np.int64(3)), (3,))
    _assert_close(srcad.grad(loss)(vector), srcad.numerical_grad(loss, vector))


# --- functools.partial and map ----------------------------------------------------------------
def weighted(w, inputs, targets, decay=0.0):
    return np.sum((inputs @ w - targets) ** 2) + decay * np.sum(w**2)


def test_a_partial_with_keywords():
    inputs, targets = W.copy(), X.copy()
    fun = functools.partial(weighted, inputs=inputs, targets=targets, decay=0.1)
    _check_everywhere(fun, X)


def test_a_partial_reads_its_arguments_on_every_call():
    inputs = W.copy()
    fun = partial(weighted, X, inputs)  # w and inputs bound: argnums counts (targets, decay)
    transformed = srcad.grad(fun)
    targets = DATA[0]
    _assert_close(transformed(targets), srcad.numerical_grad(fun, targets))
    inputs *= 2.0
    _assert_close(transformed(targets), srcad.numerical_grad(fun, targets))
    _assert_close(transformed(targets), -2 * (inputs @ X - targets))


def elementwise(theta, x):
    return np.sum(np.tanh(theta * x))


def summed_over_data(theta):
    return sum(map(partial(elementwise, theta), DATA))


def summed_with_a_lambda(theta):
    return sum(map(lambda d: elementwise(theta, d), DATA))


OUTSIDE_PARTIAL = partial(elementwise, np.array([1.0, 2.0, 3.0]))


def through_an_outside_partial(x):
    return OUTSIDE_PARTIAL(x) * 2.0


@pytest.mark.parametrize("fun", [summed_over_data, summed_with_a_lambda])
def test_map_of_a_partial_or_lambda(fun):
    _check_everywhere(fun, X)


def test_a_partial_from_outside_reads_its_arguments_on_every_call():
    transformed = srcad.grad(through_an_outside_partial)
    _assert_close(transformed(X), srcad.numerical_grad(through_an_outside_partial, X))
    OUTSIDE_PARTIAL.args[0][:] = [-1.0, 0.5, 2.0]
    _assert_close(transformed(X), srcad.numerical_grad(through_an_outside_partial, X))


# --- NumPy functions as the function ----------------------------------------------------------
@pytest.mark.parametrize(
    ("fun", "x"),
    [(np.sqrt, 2.0), (np.tanh, 0.3), (scipy.special.gammaln, 2.5), (math.sin, 0.4)],
    ids=["sqrt", "tanh", "gammaln", "math.sin"],
)
def test_a_numpy_function_is_the_function(fun, x):
    _check_everywhere(fun, x)


def test_numpy_functions_of_arrays_and_of_two_arguments():
    _check_everywhere(np.sum, X)
    _check_everywhere(np.add, 1.0, 2.0, argnums=(0, 1))
    assert srcad.hessian(np.sin)(0.3) == pytest.approx(-np.sin(0.3))


# --- NamedTuples and dataclasses built inside -------------------------------------------------
class Layer(NamedTuple):
    W: np.ndarray
    b: np.ndarray


@dataclasses.dataclass
class Params:
    w: np.ndarray
    b: float = 0.5


@dataclasses.dataclass(frozen=True)
class Frozen:
    w: np.ndarray
    tags: list = dataclasses.field(default_factory=list)


def built_inside(x):
    layer = Layer(x * COEFFICIENTS, np.sin(x))
    params = Params(w=layer.W, b=3.0)
    defaulted = Params(layer.b)
    frozen = Frozen(layer.b * x)
    return (
        np.sum(params.w * params.b)
        + np.sum(defaulted.w) * defaulted.b
        + np.sum(layer[1] ** 2)
        + np.sum(frozen.w)
    )


def returns_a_layer(x):
    return Layer(np.tanh(x), x**2)


def test_records_built_inside_the_function():
    _check_everywhere(built_inside, X)
    transformed = srcad.grad(built_inside)
    COEFFICIENTS[:] = [2.0, -1.0, 0.25]  # a global its fields are computed from
    try:
        _assert_close(transformed(X), srcad.numerical_grad(built_inside, X))
    finally:
        COEFFICIENTS[:] = [1.0, 2.0, 0.5]


def test_a_record_built_inside_is_returned():
    jacobians = srcad.jacrev(returns_a_layer)(X)
    assert isinstance(jacobians, Layer)
    _assert_close(jacobians.W, np.diag(1 - np.tanh(X) ** 2))
    _assert_close(jacobians.b, np.diag(2 * X))
    value, pull = srcad.vjp(returns_a_layer, X)
    _assert_close(pull(Layer(np.ones(3), np.ones(3)))[0], 1 - np.tanh(X) ** 2 + 2 * X)


POST_INIT = {"scale": 2.0}


@dataclasses.dataclass
class Checked:
    w: np.ndarray
    scale: float = dataclasses.field(default_factory=lambda: POST_INIT["scale"])

    def __post_init__(self):
        if self.w.ndim != 1:
            raise ValueError("w must be a vector")
        self.w = self.w * POST_INIT["scale"]
        self.norm = np.sqrt(np.sum(self.w**2))


@dataclasses.dataclass(frozen=True)
class FrozenChecked:
    w: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "w", self.w * 2.0)


def runs_post_init(x):
    checked = Checked(x)
    return np.sum(checked.w) * checked.scale + checked.norm


def test_a_dataclasss_post_init_and_default_factory_are_lowered_and_read_the_world():
    """__post_init__ was refused; a field's default_factory ran as Python when compiling,
    freezing the global it read (a stale gradient, found this session)."""
    compiled = srcad.grad(runs_post_init)
    try:
        for scale in (2.0, -0.5):
            POST_INIT["scale"] = scale
            _assert_close(compiled(X), srcad.numerical_grad(runs_post_init, X))
    finally:
        POST_INIT["scale"] = 2.0
    with pytest.raises(ValueError, match="w must be a vector"):  # as the plain function
        srcad.grad(runs_post_init)(np.ones((2, 2)))


def test_a_frozen_dataclass_with_post_init_is_refused_at_the_line():
    with pytest.raises(srcad.UnsupportedSyntax, match="__post_init__"):
        srcad.grad(lambda x: np.sum(FrozenChecked(x).w))(X)


# --- transformations inside differentiated code ---------------------------------------------
COEFFICIENTS = np.array([1.0, 2.0, 0.5])
POWER = 3


def cubic(x):
    return np.sum(np.sin(x) * COEFFICIENTS) + np.sum(x**4) / 4


def powered(x):
    return x ** (POWER + 1)


def newton_step(t):
    derivative = srcad.grad(lambda s: s**3 + 2 * s)
    second = srcad.grad(srcad.grad(lambda s: s**3 + 2 * s))
    return t - derivative(t) / second(t)


def elementwise_grad(fun):
    def gradient(v):
        out, pull = srcad.vjp(fun, v)
        return pull(np.ones_like(out))[0]

    return gradient


def through_elementwise_grad(v):
    return np.sum(elementwise_grad(np.tanh)(v) * COEFFICIENTS)


def vjp_in_two_statements(v, w):
    value, vjp_fn = srcad.vjp(lambda u: np.sin(u) * COEFFICIENTS, v)
    return np.sum(vjp_fn(w)[0] ** 2) + np.sum(value)


def jvp_inside(v, t):
    return np.sum(srcad.jvp(cubic, (v,), (t,))[1] ** 2)


def hvp_inside(v):
    return np.sum(srcad.hvp(cubic, (v,), (COEFFICIENTS,)) ** 2)


def hessian_inside(v):
    return np.sum(srcad.hessian(cubic)(v))


def jacobians_inside(v):
    forward = srcad.jacfwd(np.sin)(v)
    backward = srcad.jacrev(lambda u: np.sin(u) * COEFFICIENTS)(v)
    return np.sum(forward**2) + np.sum(backward * 0.5)


def value_and_grad_inside(v):
    value, gradient = srcad.value_and_grad(cubic)(v)
    return value + np.sum(gradient**2)


def late_binding_default(theta):
    inputs = np.cos(theta)
    inner = lambda w, inputs=inputs, a=3.0: np.sum((w * inputs) ** 2) * a  # noqa: E731
    return np.sum(srcad.grad(inner)(theta) ** 2) + np.sum(srcad.grad(inner)(theta, inputs, 1.0))


def helper_with_a_default(theta):
    scaled = lambda v, a=2.0: v * a  # noqa: E731
    gradient = srcad.grad(lambda w: np.sum(scaled(w)) + np.sum(scaled(w, 3.0) ** 2))
    return np.sum(gradient(theta) * theta)


def meta_learning(theta):
    inner = lambda w: np.sum((w - COEFFICIENTS) ** 2 * theta)  # noqa: E731 - reads theta
    adapted = theta - 0.1 * srcad.grad(inner)(theta)
    return np.sum(adapted**2)


GRADIENT = srcad.grad(cubic)
SECOND = srcad.grad(srcad.grad(powered))


def made_outside(v):
    return np.sum(GRADIENT(v) ** 2) + SECOND(v[0])


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("fun", "args", "argnums"),
    [
        (newton_step, (1.3,), 0),
        (through_elementwise_grad, (X,), 0),
        (vjp_in_two_statements, (X, W[0]), (0, 1)),
        (jvp_inside, (X, W[1]), (0, 1)),
        (hvp_inside, (X,), 0),
        (hessian_inside, (X,), 0),
        (jacobians_inside, (X,), 0),
        (value_and_grad_inside, (X,), 0),
        (meta_learning, (X,), 0),
        (late_binding_default, (X,), 0),
        (helper_with_a_default, (X,), 0),
        (made_outside, (X,), 0),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_a_function_calling_a_transformation_is_differentiated(fun, args, argnums):
    _check_everywhere(fun, *args, argnums=argnums)


def make_vjp_function(target):
    """What autograd's check_grads builds for its second order (benchmarks/external)."""

    def vjp_target(x0, v):
        return srcad.vjp(target, x0)[1](v)[0]

    return vjp_target


def test_a_vjp_function_in_both_modes_and_again():
    vjp_cubic = make_vjp_function(lambda u: np.sin(u) * COEFFICIENTS)
    v = W[2]
    _, pull = srcad.vjp(vjp_cubic, X, v)
    cotangent = W[0]
    x_dot, v_dot = W[1], DATA[0]
    exact = np.sum(x_dot * pull(cotangent)[0]) + np.sum(v_dot * pull(cotangent)[1])
    _, tangent = srcad.jvp(vjp_cubic, (X, v), (x_dot, v_dot))
    eps = 1e-6
    numeric = (vjp_cubic(X + eps * x_dot, v + eps * v_dot) - vjp_cubic(X, v)) / eps
    np.testing.assert_allclose(tangent, numeric, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(exact, np.sum(cotangent * numeric), rtol=1e-4, atol=1e-6)


def test_nested_code_follows_the_world():
    global POWER
    transformed = srcad.grad(made_outside)
    _assert_close(transformed(X), srcad.numerical_grad(made_outside, X))
    COEFFICIENTS[:] = [3.0, -1.0, 1.5]  # read on every call, through the inner code
    _assert_close(transformed(X), srcad.numerical_grad(made_outside, X))
    POWER, before = 4, POWER  # an int the inner compile fixed: both recompile
    try:
        assert SECOND(2.0) == pytest.approx(5 * 4 * 2.0**3)
        _assert_close(transformed(X), srcad.numerical_grad(made_outside, X))
    finally:
        POWER = before
        COEFFICIENTS[:] = [1.0, 2.0, 0.5]


def jacobian_of_a_pair(v):
    return np.sum(srcad.jacfwd(lambda u: (u, u * 2.0))(v)[0])


def test_a_jacobian_of_a_pytree_inside_is_refused_at_the_line():
    with pytest.raises(srcad.UnsupportedSyntax, match="one array"):
        srcad.grad(jacobian_of_a_pair)(X)


# --- second derivatives through loops with a data-dependent exit -----------------------------
THRESHOLD = 10.0


def grows_until(x):
    """A while loop whose trip count depends on the data: its reverse-mode code keeps a tape
    of unknown length, so derivatives of its gradient come from forward-mode code."""
    s = x
    steps = 0
    while np.sum(s) < THRESHOLD and steps < 50:
        s = s * 1.5 + np.sin(s)
        steps += 1
    return np.sum(s * COEFFICIENTS[: s.shape[0]])


def gradient_norm(x):
    return np.sum(srcad.grad(grows_until)(x) ** 2)


def pulled_back(x, w):
    return np.sum(srcad.vjp(lambda z: np.sin(z) * grows_until(z), x)[1](w)[0] ** 2)


def jacobian_of_a_loop(x):
    return np.sum(srcad.jacrev(lambda z: z * grows_until(z))(x) ** 2)


@pytest.mark.slow
def test_second_derivatives_through_a_while_loop():
    x = np.array([1.0, 0.5])
    gradient, eps = srcad.grad(grows_until), 1e-6
    columns = [(gradient(x + eps * e) - gradient(x - eps * e)) / (2 * eps) for e in np.eye(2)]
    _assert_close(srcad.hessian(grows_until)(x), np.stack(columns, axis=1), rtol=1e-4)
    _check_everywhere(gradient_norm, x)
    _check_everywhere(pulled_back, x, np.array([0.3, -0.2]), argnums=(0, 1))
    _check_everywhere(jacobian_of_a_loop, x)


def test_second_derivatives_through_a_while_loop_follow_the_world():
    global THRESHOLD
    x = np.array([1.0, 0.5])
    transformed = srcad.grad(gradient_norm)
    _assert_close(transformed(x), srcad.numerical_grad(gradient_norm, x), rtol=1e-4)
    THRESHOLD, before = 30.0, THRESHOLD  # read on every call: more trips
    try:
        _assert_close(transformed(x), srcad.numerical_grad(gradient_norm, x), rtol=1e-4)
    finally:
        THRESHOLD = before


# --- NumPy functions without a rule, of values not differentiated ---------------------------
REFERENCE = RNG.normal(size=6)


def robust_scaled(w):
    center = np.median(REFERENCE)
    spread = np.percentile(REFERENCE, 75) - np.percentile(REFERENCE, 25)
    return np.sum(((w - center) / spread) ** 2) + np.nanmean(REFERENCE) * w[0]


def distinct_values_of_the_input(w):
    return np.sum(np.unique(w)) * 2.0


def test_a_numpy_function_without_a_rule_runs_on_constants_read_every_call():
    global REFERENCE
    w = RNG.normal(size=3)
    _check_everywhere(robust_scaled, w)
    saved = REFERENCE
    REFERENCE = RNG.normal(size=6) * 3.0 + 1.0
    try:
        _assert_close(srcad.grad(robust_scaled)(w), srcad.numerical_grad(robust_scaled, w))
    finally:
        REFERENCE = saved


def test_a_numpy_function_without_a_rule_of_the_input_is_refused_at_its_line():
    with pytest.raises(
        srcad.NoDerivativeRule, match=r"test_real_python_functions.py:\d+: 'np.unique'"
    ):
        srcad.grad(distinct_values_of_the_input)(np.array([1.0, 3.0, 2.0]))


# --- order statistics of the input --------------------------------------------------------------
OUTLIER_SCALE = 1.0


def robust_loss(w, X):
    """Residuals around their median (one of them scaled by a global, read on every call),
    the spread between two percentiles, a quantile per column, the largest finite entry."""
    residuals = (X @ w) * np.array([OUTLIER_SCALE] + [1.0] * (len(X) - 1))
    centered = residuals - np.median(residuals)
    spread = np.percentile(centered, 75.0) - np.percentile(centered, 25.0)
    per_column = np.quantile(X * w, [0.1, 0.6], axis=0)
    return np.sum(centered**2) / spread + np.sum(per_column**2) + np.nanmax(X * w)


def test_medians_percentiles_and_quantiles_of_the_input_have_gradients():
    global OUTLIER_SCALE
    w, X = RNG.normal(size=3), RNG.normal(size=(9, 3))
    _check_everywhere(robust_loss, w, X, argnums=(0, 1))
    transformed = srcad.grad(robust_loss, argnums=(0, 1))
    OUTLIER_SCALE = 40.0  # read on every call: the first residual moves to the top rank
    try:
        expected = srcad.numerical_grad(robust_loss, w, X, argnums=(0, 1))
        _assert_close(transformed(w, X), expected)
    finally:
        OUTLIER_SCALE = 1.0


MISSING_LEVEL = 25.0


def robust_loss_with_missing_values(w, X):
    """Rows with missing entries (NaN): medians and percentiles of the numbers only, one row
    all NaN (its median NaN, replaced), each method of picking ranks; the level is a global
    read on every call."""
    products = X * w
    per_row = np.nan_to_num(np.nanmedian(products, axis=1), nan=0.0)
    low, high = np.nanpercentile(products, [MISSING_LEVEL, 100.0 - MISSING_LEVEL])
    picked = np.nanquantile(products, 0.4, axis=0, method="nearest", keepdims=True)
    between = np.nanquantile(products, 0.4, axis=0, method="midpoint")
    return np.sum(per_row**2) + (high - low) ** 2 + np.sum(picked * between)


def test_nan_medians_percentiles_and_quantiles_skip_the_missing_values():
    global MISSING_LEVEL
    w, X = RNG.normal(size=4), RNG.normal(size=(6, 4))
    X[0, 1] = X[2, 0] = X[2, 3] = X[4, 2] = np.nan
    X[5] = np.nan
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "All-NaN slice"
        _check_everywhere(robust_loss_with_missing_values, w, X)
        transformed = srcad.grad(robust_loss_with_missing_values)
        MISSING_LEVEL = 10.0  # read on every call
        try:
            expected = srcad.numerical_grad(robust_loss_with_missing_values, w, X)
            _assert_close(transformed(w, X), expected)
        finally:
            MISSING_LEVEL = 25.0


def test_a_quantile_position_must_be_known_when_compiling():
    def moving(w, level):
        return np.percentile(w, level)

    with pytest.raises(srcad.SrcadError, match="'q' of np.percentile must be known"):
        srcad.grad(moving)(np.array([1.0, 3.0, 2.0]), 50.0)


def test_a_quantile_method_without_a_rule_is_refused():
    def hazen(w):
        return np.quantile(w, 0.4, method="hazen")

    with pytest.raises(srcad.SrcadError, match="method='hazen'") as refused:
        srcad.grad(hazen)(np.array([1.0, 3.0, 2.0]))
    assert "derivative of the derivative" not in str(refused.value)


# --- casts with NumPy's scalar types ----------------------------------------------------------
def rows_picked_by_a_cast(W):
    picks = np.int64(W[:, -1])  # positions stored in the last column (autograd's test)
    return np.sum(W[:, :-1][picks] ** 2) + np.sum(np.float64(W[:, 0]) * 3.0)


def test_casts_with_numpy_scalar_types():
    W = RNG.normal(size=(5, 4))
    for positions in ([0.5, 1.5, 2.5, 1.5, 0.5], [4.5, 3.5, 0.5, 0.5, 2.5]):
        W[:, -1] = positions  # away from the integers, where the cast jumps
        _check_everywhere(rows_picked_by_a_cast, W)


ROOT_OF = {"value": 2}  # an int a key function reads: fixed when compiling, checked


def with_library_callbacks(w):
    from scipy.optimize import brentq

    names = sorted(["bb", "a", "ccc"], key=lambda name: len(name) * ROOT_OF["value"])
    root = brentq(lambda t: t**2 - ROOT_OF["value"], 0.0, 3.0)  # runs when compiling
    return np.sum(np.sin(w)) * root + len(names[0]) * np.sum(w**2)


def test_a_lambda_given_to_a_library_function_runs_on_constants_when_compiling():
    w = np.array([0.3, -0.7])
    gradient = srcad.grad(with_library_callbacks)
    for value in (2, 5):  # the int changed: compiled again, never a stale root
        ROOT_OF["value"] = value
        np.testing.assert_allclose(
            gradient(w), srcad.numerical_grad(with_library_callbacks, w), rtol=1e-6
        )
    ROOT_OF["value"] = 2


def test_a_lambda_of_data_given_to_a_library_function_is_refused_at_the_call():
    from scipy.integrate import quad

    def integral(w):
        return quad(lambda t: t * w[0], 0.0, 1.0)[0]

    with pytest.raises(srcad.UnsupportedSyntax, match=r"'quad\(.*reads values computed from"):
        srcad.grad(integral)(np.array([0.5]))


def pairwise_energy(w):
    import itertools

    close = sum(np.exp(-((a - b) ** 2)) for a, b in itertools.combinations(w, 2))
    steps = sum((b - a) ** 2 for a, b in itertools.pairwise(w))
    mixed = sum(np.sin(a * b) for a, b in itertools.product(w[:2], w[2:]))
    return close * ROOT_OF["value"] + steps + mixed


def test_itertools_rearranging_traced_values_matches_differences():
    w = np.array([0.3, -1.1, 0.7, 1.4])
    gradient = srcad.grad(pairwise_energy)
    for value in (2, 3):  # an int the function reads: compiled again
        ROOT_OF["value"] = value
        np.testing.assert_allclose(
            gradient(w), srcad.numerical_grad(pairwise_energy, w), rtol=1e-6, atol=1e-9
        )
    ROOT_OF["value"] = 2


WEIGHTS = {"w": np.array([1.0, 2.0, -1.0]), "order": [3, 1, 2]}


def starmapped_and_ordered(x):
    import heapq
    import itertools

    total = 0.0
    for t in itertools.starmap(lambda a, b: a * b, zip(x, WEIGHTS["w"], strict=True)):
        total = total + t
    order = sorted(range(3), key=functools.cmp_to_key(lambda a, b: b - a))  # ints only
    ranked = sum(x[i] * (j + 1) for j, i in enumerate(order))
    top = heapq.nlargest(1, range(3), key=lambda i: WEIGHTS["order"][i])[0]
    return total + ranked + 5.0 * x[top]


@pytest.mark.slow
def test_starmap_cmp_to_key_and_heapq_keys_known_when_compiling():
    """itertools.starmap of a lambda, a key made by functools.cmp_to_key and a lambda key
    given to heapq.nlargest (each an internal error) follow Python, also after the weights
    and the ints that order the items changed."""
    x = np.array([0.3, -1.2, 0.8])
    kept = dict(WEIGHTS)
    try:
        for call in range(2):
            if call == 1:
                WEIGHTS["w"], WEIGHTS["order"] = np.array([0.5, -2.0, 3.0]), [1, 2, 3]
            _check_everywhere(starmapped_and_ordered, x)
    finally:
        WEIGHTS.update(kept)


def ranked_by_floats(x):
    import heapq

    return x[heapq.nlargest(1, range(3), key=lambda i: WEIGHTS["w"][i])[0]]


def test_a_library_key_that_reads_floats_is_refused_at_the_call():
    with pytest.raises(srcad.UnsupportedSyntax, match=r"'heapq.nlargest\(.*reads values comp"):
        srcad.grad(ranked_by_floats)(np.array([0.3, -1.2, 0.8]))


SERIES = {"scale": 1.0}


@functools.lru_cache(maxsize=8)
def coefficient(k):
    return SERIES["scale"] / (k + 1)  # a loop's counter: followed as itself


@functools.cache
def table(n):
    return tuple(float(i) for i in range(n))  # float() of a loop's counter


def with_standard_library_helpers(x):
    series = sum(coefficient(k) * x**k for k in range(4)) + table(3)[2] * x
    second = operator.itemgetter(1)
    pairs = [(0.5, np.sin(x)), (2.0, x * x)]
    kept = list(filter(lambda v: v is not None, [x, None, 2.0 * x]))
    items = iter(kept)
    first = next(items)
    return np.sum(series + sum(second(p) for p in pairs) + first * next(items))


def test_cached_helpers_itemgetter_filter_iter_and_next():
    """A functools.lru_cache or cache helper is followed as the function it wraps; filter,
    iter, next and operator.itemgetter of items holding computed values run as Python
    (each was refused as having no derivative rule)."""
    _check_everywhere(with_standard_library_helpers, X)


def _check_after_the_scale_changed(fun, x, scales):
    """``_check_everywhere`` with each of ``scales`` in ``SERIES``, read on every call."""
    for _ in each_value(SERIES, "scale", scales):
        _check_everywhere(fun, x)


def pairs_of_an_iterator(M):
    rows = iter(M * SERIES["scale"])  # an array's rows, handed out one by one
    first = next(rows)
    return sum(np.sum(row * first) for row in rows) + np.sum(next(iter(M[0])) * first)


def written_while_iterated(x):
    y = x * 1.0
    it = iter(y)
    y[1] = 5.0  # NumPy's iterator hands out the row as written
    return next(it) * next(it)


def test_iter_and_next_over_an_array_hand_out_its_rows():
    """iter(x) of an array was refused as having no derivative rule (probe Y); a write
    into the array while the iterator still has rows to hand out is refused."""
    M = np.array([[0.3, -1.2], [0.8, 1.5], [-0.4, 0.9]])
    _check_after_the_scale_changed(pairs_of_an_iterator, M, (1.0, -2.5))
    with pytest.raises(srcad.UnsupportedSyntax, match="'it' also refers to"):
        srcad.grad(written_while_iterated)(np.array([0.3, -1.2, 0.8]))


LABELS = {"y": np.array([0, 2, 1])}


def indexes_by_range_and_factorials(p):
    picked = -np.sum(np.log(p[range(3), LABELS["y"]]))  # cs231n's probs[range(N), y]
    series = sum(p[0, 0] ** k / math.factorial(k) for k in range(6))  # ints of a counter
    return picked + series + sum(math.comb(4, k) * p[1, 1] ** k for k in range(3))


def test_a_range_as_an_index_and_math_of_a_loops_counter():
    """``probs[range(N), y]`` was refused ('cannot use a range as an array'), and
    ``math.factorial(k)`` of a loop's counter as having no derivative rule."""
    probabilities = np.array([[0.3, 0.5, 0.2], [0.1, 0.6, 0.3], [0.25, 0.25, 0.5]])
    _check_everywhere(indexes_by_range_and_factorials, probabilities)
    LABELS["y"] = np.array([2, 0, 0])
    try:
        _check_everywhere(indexes_by_range_and_factorials, probabilities)
    finally:
        LABELS["y"] = np.array([0, 2, 1])


QUANTILE = {"method": "lower", "q": 0.3}


def robust_spread(x):
    q = QUANTILE["q"]
    method = QUANTILE["method"]
    return np.quantile(x, 1.0 - q, method=method) - np.percentile(x**2, 100.0 * q, method=method)


def test_quantiles_by_every_method_follow_the_method_read_on_every_call():
    """method='lower', 'higher', 'nearest' and 'midpoint' had no derivative ("no derivative
    for the derivative of a quantile", found by a probe); the method and q are read on
    every call."""
    x = np.array([0.3, 1.2, 2.6, -0.4, 5.0, 0.9])
    compiled = srcad.grad(robust_spread)
    try:
        for method in ("lower", "higher", "nearest", "midpoint", "linear"):
            for q in (0.3, 0.5):
                QUANTILE.update(method=method, q=q)
                _assert_close(compiled(x), srcad.numerical_grad(robust_spread, x))
    finally:
        QUANTILE.update(method="lower", q=0.3)


# --- positions from np.unravel_index ----------------------------------------------------------
POOL_SCALE = 1.0


def max_pool_by_positions(x):
    """cs231n's naive max pooling: each window's largest element, picked by the position
    np.unravel_index gives (a tuple of ints), also in Fortran order and of several indices."""
    out = np.zeros((2, 2))
    for a in range(2):
        for b in range(2):
            window = x[2 * a : 2 * a + 2, 2 * b : 2 * b + 2]
            idx = np.unravel_index(np.argmax(window), window.shape)
            out[a, b] = window[idx] * POOL_SCALE
    i, j = np.unravel_index(np.argmin(x), x.shape, order="F")
    rows, cols = np.unravel_index(np.array([1, 5, 14]), x.shape)
    return np.sum(out**2) + x[i, j] * 3.0 + np.sum(x[rows, cols])


def test_positions_from_unravel_index_pick_elements():
    """srcad took np.unravel_index's result for one int array of shape (ndim,): x[idx]
    indexed rows (a raw ValueError, or 'returned an array of shape (4, 4)')."""
    global POOL_SCALE
    x = RNG.normal(size=(4, 4))
    _check_everywhere(max_pool_by_positions, x)
    transformed = srcad.grad(max_pool_by_positions)
    POOL_SCALE = -2.0  # read on every call
    try:
        expected = srcad.numerical_grad(max_pool_by_positions, x)
        _assert_close(transformed(x), expected)
    finally:
        POOL_SCALE = 1.0
    with pytest.raises(srcad.SrcadError, match="index 20 is out of bounds"):
        srcad.grad(lambda v: np.sum(v[np.unravel_index(20, v.shape)]))(x)


def first_large_by_next(x):
    it = iter(x * SERIES["scale"])
    while True:
        v = next(it, None)
        if v is None or v > 0.8:
            break
    return v


def steps_through_rows_in_a_counted_loop(x):
    it = iter(x)
    total = 0.0
    for _ in range(3):
        total = total + next(it) * SERIES["scale"]
    return total


def test_next_inside_a_loop_takes_one_item_per_iteration_or_is_refused():
    """next(it) in a loop's body lowered once took the same item for every iteration: a
    'while True' over next(it, None) ran forever in the generated code (probe AC). A
    counted loop is unrolled, one item per iteration; a loop whose end the data decide is
    refused."""
    x = np.array([0.7, 0.35, 0.2, 0.9])
    _check_after_the_scale_changed(steps_through_rows_in_a_counted_loop, x, (1.0, 2.0))
    with pytest.raises(srcad.UnsupportedSyntax, match="next\\(\\) of an iterator"):
        srcad.grad(first_large_by_next)(x)


def pairs_from_enumerate(x):
    e = enumerate(x * SERIES["scale"])
    i, v = next(e)
    j, w = next(e)
    return v * w * (i + j + 1)


def first_then_the_rest(x):
    pairs = zip(x * SERIES["scale"], x[::-1], strict=True)
    a, b = next(pairs)
    s = 0.0
    for c, d in pairs:  # the rest: three pairs
        s = s + a * c + b * d
    for c, _ in pairs:  # used up: none
        s = s + 100.0 * c
    numbered = enumerate(x)
    _, first = next(numbered)
    return s + sum(first * v * k for k, v in numbered)


def test_next_of_an_enumerate_or_a_zip_of_arrays_hands_out_its_items():
    """It was refused: "'Enumerated' object is not an iterator (the plain function raises
    here too)" (probe AC); a loop over the rest after next() was refused as a second pass
    (probe AE)."""
    x = np.array([0.7, 0.35, 0.2, 0.9])
    _check_after_the_scale_changed(pairs_from_enumerate, x, (1.0, -0.5))
    _check_after_the_scale_changed(first_then_the_rest, x, (1.0, -0.5))


CACHED_SCALE = {"value": 1.0}


@functools.cache
def cached_coefficient(n):
    return CACHED_SCALE["value"] * n


def with_a_cached_coefficient(x):
    return cached_coefficient(2) * np.sum(x**2)


def test_a_cached_helper_with_constant_arguments_reads_what_it_reads_on_every_call():
    """Run once when compiling, its value was frozen: a global it reads changed (and the
    cache cleared) went unseen (found by a probe)."""
    x = np.array([0.5, -1.5, 2.0])
    gradient = srcad.grad(with_a_cached_coefficient)
    for scale in (1.0, -3.0):
        CACHED_SCALE["value"] = scale
        cached_coefficient.cache_clear()
        try:
            expected = srcad.numerical_grad(with_a_cached_coefficient, x)
            np.testing.assert_allclose(gradient(x), expected, rtol=1e-7)
        finally:
            CACHED_SCALE["value"] = 1.0
            cached_coefficient.cache_clear()


GLOBAL_SERIES = np.polynomial.Polynomial([1.0, 2.0, 3.0])
OLD_STYLE = np.poly1d([3.0, 2.0, 1.0])


def derivative_of_a_global_series(x):
    return np.sum(GLOBAL_SERIES.deriv()(x) * x) + np.sum(GLOBAL_SERIES.integ()(x))


def value_then_derivative_of_a_global_series(x):
    """P(x) first read P.coef on every call; P.deriv() then did not fix it (probe BA)."""
    return np.sum(GLOBAL_SERIES(x)) + np.sum(GLOBAL_SERIES.deriv()(x))


def derivative_of_a_global_poly1d(x):
    return np.sum(OLD_STYLE.deriv()(x) * x)


@pytest.mark.parametrize(
    "fun",
    [
        derivative_of_a_global_series,
        derivative_of_a_global_poly1d,
        value_then_derivative_of_a_global_series,
    ],
)
def test_a_method_of_a_global_polynomial_run_when_compiling_sees_its_coefficients_change(fun):
    """P.deriv() ran once, when compiling: P.coef[2] = 10.0 (or new coefficients) went
    unseen, on the value and the gradient (found by a probe)."""
    x = np.array([0.5, -1.5, 2.3])
    gradient = srcad.value_and_grad(fun)
    saved = GLOBAL_SERIES.coef.copy(), OLD_STYLE.coeffs.copy()
    try:
        for change in range(3):
            if change == 1:  # in place
                GLOBAL_SERIES.coef[2] = 10.0
                OLD_STYLE.c[0] = 10.0
            if change == 2:  # rebound
                GLOBAL_SERIES.coef = np.array([1.0, -2.0, 5.0])
            value, grad = gradient(x)
            assert value == pytest.approx(fun(x), rel=1e-12)
            np.testing.assert_allclose(grad, srcad.numerical_grad(fun, x), rtol=1e-6)
    finally:
        GLOBAL_SERIES.coef = saved[0]
        OLD_STYLE.c[:] = saved[1]


FROM_PYTHON = np.frompyfunc(lambda i: i * 2.0, 1, 1)


def through_frompyfunc(x):
    return float(FROM_PYTHON(2)) * np.sum(x**2)


def test_a_ufunc_made_by_frompyfunc_is_refused_saying_what_to_do():
    """Run once when compiling, it froze what its function read (found by a probe)."""
    with pytest.raises(srcad.UnsupportedSyntax, match="np.frompyfunc made of a Python function"):
        srcad.grad(through_frompyfunc)(np.ones(2))


def with_a_nested_cached_helper(x):
    @functools.lru_cache(maxsize=4)
    def coefficient(n):
        return n * CACHED_SCALE["value"]

    @functools.cache
    def offset(n):
        return n + 0.5

    return coefficient(3) * np.sum(x**2) + offset(1) * np.sum(x)


def test_a_nested_helper_with_a_cache_decorator_is_followed():
    """'decorators on nested functions are not supported' for functools.cache and
    lru_cache, which a module-level helper may carry (found by a probe)."""
    x = np.array([0.5, -1.5, 2.0])
    gradient = srcad.grad(with_a_nested_cached_helper)
    for scale in (1.0, -2.0):  # a global the helper reads, changed
        CACHED_SCALE["value"] = scale
        try:
            expected = srcad.numerical_grad(with_a_nested_cached_helper, x)
            np.testing.assert_allclose(gradient(x), expected, rtol=1e-7)
        finally:
            CACHED_SCALE["value"] = 1.0
