"""The transformation family: jvp, vjp, jacfwd, jacrev, hessian, hvp, and grad of grad.

Hessians are compared with sympy's Hessian and with central differences of the gradient,
on functions with loops and branches too; Jacobians by forward and reverse mode are
compared with each other on maps from R^n to R^m of several shapes; hvp is checked not to
form the Hessian (its memory stays linear in the input size).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import sympy

import srcad

X = sympy.symbols("x0:3", real=True)


def f_poly(x):
    return x[0] ** 2 * x[1] + 3.0 * x[1] * x[2] ** 3


def f_trig(x):
    return np.sin(x[0] * x[1]) + np.cos(x[2]) * x[0]


def f_exp(x):
    return np.exp(0.3 * x[0] - x[1]) * x[2]


def f_log(x):
    return np.log(1.0 + x[0] ** 2 + x[1] ** 2) * x[2]


def f_tanh(x):
    return np.sum(np.tanh(x) ** 2)


def f_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-(x[0] * 2.0 - x[1] + 0.5 * x[2])))


def f_sqrt(x):
    return np.sqrt(1.0 + np.sum(x * x))


def f_quotient(x):
    return x[0] / (1.5 + x[1] ** 2) + x[2] ** 3


def f_power(x):
    return (2.0 + x[0] ** 2) ** x[1] + x[2]


def f_softplus(x):
    return np.sum(np.logaddexp(0.0, x)) * x[0]


def f_arctan(x):
    return np.arctan(x[0] * x[1] - x[2])


def f_matrix(x):
    a = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 3.0]])
    return x @ a @ x + np.sum(np.sin(x))


def f_loop(x):
    s = 0.0
    for i in range(3):
        s = s + np.sin(x[i]) * x[(i + 1) % 3]
    return s


def f_while(x):
    y = x[0]
    k = 0.0
    while k < 3.0:
        y = y * x[1] + x[2]
        k = k + 1.0
    return y


def f_branch(x):
    if x[0] > 0.0:
        return x[0] ** 3 * x[1]
    return x[1] * x[2] ** 2


def f_branch_negative(x):
    if x[0] > 0.0:
        return x[0] ** 3 * x[1]
    return x[1] * x[2] ** 2


def f_helper(x):
    return _energy(x[0], x[1]) + _energy(x[1], x[2])


def _energy(a, b):
    return (a - b) ** 2 * a


def f_product(x):
    return np.prod(x) + np.sum(x**3)


def f_cumulative(x):
    return np.sum(np.cumsum(x) ** 2)


def f_norm(x):
    return np.linalg.norm(x) ** 3


def f_mixed(x):
    y = x * x
    y = np.where(y > 0.5, y, -y)
    return np.sum(y * x)


SYMPY = {
    f_poly: X[0] ** 2 * X[1] + 3 * X[1] * X[2] ** 3,
    f_trig: sympy.sin(X[0] * X[1]) + sympy.cos(X[2]) * X[0],
    f_exp: sympy.exp(sympy.Rational(3, 10) * X[0] - X[1]) * X[2],
    f_log: sympy.log(1 + X[0] ** 2 + X[1] ** 2) * X[2],
    f_tanh: sum(sympy.tanh(v) ** 2 for v in X),
    f_sigmoid: 1 / (1 + sympy.exp(-(2 * X[0] - X[1] + X[2] / 2))),
    f_sqrt: sympy.sqrt(1 + sum(v * v for v in X)),
    f_quotient: X[0] / (sympy.Rational(3, 2) + X[1] ** 2) + X[2] ** 3,
    f_power: (2 + X[0] ** 2) ** X[1] + X[2],
    f_softplus: sum(sympy.log(1 + sympy.exp(v)) for v in X) * X[0],
    f_arctan: sympy.atan(X[0] * X[1] - X[2]),
    f_matrix: sympy.Matrix(X).T
    @ sympy.Matrix([[2, 0.5, 0], [0.5, 1, 0.3], [0, 0.3, 3]])
    @ sympy.Matrix(X)
    + sympy.Matrix([[sum(sympy.sin(v) for v in X)]]),
    f_loop: sum(sympy.sin(X[i]) * X[(i + 1) % 3] for i in range(3)),
    f_while: ((X[0] * X[1] + X[2]) * X[1] + X[2]) * X[1] + X[2],
    f_branch: X[0] ** 3 * X[1],
    f_branch_negative: X[1] * X[2] ** 2,
    f_helper: (X[0] - X[1]) ** 2 * X[0] + (X[1] - X[2]) ** 2 * X[1],
    f_product: X[0] * X[1] * X[2] + sum(v**3 for v in X),
    f_cumulative: X[0] ** 2 + (X[0] + X[1]) ** 2 + (X[0] + X[1] + X[2]) ** 2,
    f_norm: sympy.sqrt(sum(v * v for v in X)) ** 3,
}
POINTS = {f_branch_negative: np.array([-0.7, 1.1, 0.4])}
DEFAULT_POINT = np.array([0.6, -0.8, 1.3])


def _sympy_hessian(expr, point):
    expr = expr[0, 0] if isinstance(expr, sympy.MatrixBase) else expr
    subs = dict(zip(X, point, strict=True))
    return np.array(sympy.hessian(expr, X).evalf(subs=subs), dtype=float)


@pytest.mark.sampled(4)
@pytest.mark.parametrize("fun", list(SYMPY), ids=lambda f: f.__name__)
def test_hessian_matches_sympy_and_differences_of_the_gradient(fun):
    point = POINTS.get(fun, DEFAULT_POINT)
    hessian = srcad.hessian(fun)(point)
    assert hessian.shape == (3, 3)
    expected = _sympy_hessian(SYMPY[fun], point)
    np.testing.assert_allclose(hessian, expected, rtol=1e-9, atol=1e-9)
    gradient = srcad.grad(fun)
    differences = np.array(
        [(gradient(point + 1e-6 * e) - gradient(point - 1e-6 * e)) / 2e-6 for e in np.eye(3)]
    )
    np.testing.assert_allclose(hessian, differences.T, rtol=1e-5, atol=1e-6)


def test_hessian_of_several_arguments_has_jax_layout():
    def f(a, b):
        return np.sum(a**2) * np.sum(b) + np.sum(b**3)

    a, b = np.array([1.0, 2.0]), np.array([0.5, -1.0, 2.0])
    hessian = srcad.hessian(f, argnums=(0, 1))(a, b)
    assert hessian[0][0].shape == (2, 2) and hessian[0][1].shape == (2, 3)
    assert hessian[1][0].shape == (3, 2) and hessian[1][1].shape == (3, 3)
    np.testing.assert_allclose(hessian[0][0], np.diag(2 * np.full(2, np.sum(b))))
    np.testing.assert_allclose(hessian[1][1], np.diag(6 * b))
    np.testing.assert_allclose(hessian[0][1], np.outer(2 * a, np.ones(3)))


def test_grad_of_grad_differentiates_generated_code():
    def f(x):
        return x**3 * np.sin(x)

    second = srcad.grad(srcad.grad(f))
    for x in (-1.2, 0.3, 2.0):
        exact = 6 * x * np.sin(x) + 6 * x**2 * np.cos(x) - x**3 * np.sin(x)
        assert np.isclose(second(x), exact, rtol=1e-12)
    assert "def grad_f_grad" in srcad.source(second)


def test_grad_of_value_and_grad_component():
    def f(x):
        return np.sum(np.exp(x) * x)

    def first_component(x):
        value, gradient = srcad.value_and_grad(f)(x)
        return gradient

    x = np.array([0.2, -0.4])
    hessian = srcad.jacfwd(srcad.grad(f))(x)
    np.testing.assert_allclose(hessian, np.diag(np.exp(x) * (x + 2)), rtol=1e-12)
    np.testing.assert_allclose(first_component(x), np.exp(x) * (x + 1), rtol=1e-12)


SHAPES = [((3,), (2,)), ((4,), (3, 2)), ((2, 3), (4,)), ((2, 2), (3, 1))]


@pytest.mark.parametrize(("in_shape", "out_shape"), SHAPES, ids=str)
def test_jacfwd_and_jacrev_agree(in_shape, out_shape):
    rng = np.random.default_rng(3)
    size_in, size_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    a = rng.normal(size=(size_out, size_in))

    def f(x):
        y = np.tanh(a @ np.reshape(x, (size_in,))) * 2.0
        return np.reshape(y * y + np.sin(y), out_shape)

    x = rng.normal(size=in_shape)
    forward, reverse = srcad.jacfwd(f)(x), srcad.jacrev(f)(x)
    assert forward.shape == out_shape + in_shape == reverse.shape
    np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-12)
    column = (f(x + 1e-6 * _unit(in_shape, 0)) - f(x - 1e-6 * _unit(in_shape, 0))) / 2e-6
    np.testing.assert_allclose(
        forward.reshape(size_out, size_in)[:, 0], column.ravel(), rtol=1e-5, atol=1e-7
    )


def _unit(shape, index):
    e = np.zeros(int(np.prod(shape)))
    e[index] = 1.0
    return e.reshape(shape)


def test_jvp_and_vjp_are_transposes():
    rng = np.random.default_rng(4)

    def f(x, y):
        return np.tanh(x[:, None] * y[None, :]) + x[:, None]

    x, y = rng.normal(size=3), rng.normal(size=2)
    tx, ty = rng.normal(size=3), rng.normal(size=2)
    out, out_dot = srcad.jvp(f, (x, y), (tx, ty))
    np.testing.assert_allclose(out, f(x, y))
    value, vjp_fn = srcad.vjp(f, x, y)
    u = rng.normal(size=out.shape)
    gx, gy = vjp_fn(u)
    assert np.isclose(np.sum(u * out_dot), np.sum(gx * tx) + np.sum(gy * ty), rtol=1e-12)


def test_hvp_matches_hessian_times_vector():
    rng = np.random.default_rng(5)
    x, v = rng.normal(size=3), rng.normal(size=3)
    for fun in (f_trig, f_loop, f_matrix):
        np.testing.assert_allclose(
            srcad.hvp(fun, (x,), (v,)), srcad.hessian(fun)(x) @ v, rtol=1e-10, atol=1e-12
        )


def test_hvp_of_ten_thousand_inputs_never_forms_the_hessian():
    n = 10_000

    def f(x):
        return np.sum(np.log1p(x**2)) + np.sum(x[1:] * x[:-1])

    rng = np.random.default_rng(6)
    x, v = rng.normal(size=n), rng.normal(size=n)
    srcad.hvp(f, (x,), (v,))  # compile outside the measurement
    tracemalloc.start()
    product = srcad.hvp(f, (x,), (v,))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (
        peak < 50 * n * 8
    ), f"hvp used {peak / 1e6:.1f} MB; a Hessian would be {n * n * 8 / 1e6} MB"
    second = (2 - 2 * x**2) / (1 + x**2) ** 2
    expected = second * v
    expected[1:] += v[:-1]
    expected[:-1] += v[1:]
    np.testing.assert_allclose(product, expected, rtol=1e-10, atol=1e-12)


def test_forward_mode_gradient_and_source():
    def f(x, w):
        return np.sum(np.tanh(w * x))

    x, w = np.array([0.1, -0.3, 0.7]), 0.8
    forward = srcad.value_and_grad(f, argnums=(0, 1), mode="forward")
    value, (gx, gw) = forward(x, w)
    _, (rx, rw) = srcad.value_and_grad(f, argnums=(0, 1))(x, w)
    np.testing.assert_allclose(gx, rx, rtol=1e-12)
    assert isinstance(gw, float) and np.isclose(gw, rw, rtol=1e-12)
    code = srcad.source(forward)
    assert "def f_jvp(x, w, x_dot, w_dot)" in code
    assert "x_dot" in code and "dout" not in code


def _weighted_sums(x, y):
    return np.sum(x) * 2.0 + np.sum(y**2) * 3.0


@pytest.mark.parametrize(
    "transform",
    [
        srcad.grad,
        lambda f, argnums: srcad.grad(f, argnums=argnums, mode="forward"),
        lambda f, argnums: (lambda *a: srcad.value_and_grad(f, argnums=argnums)(*a)[1]),
        srcad.jacrev,
        srcad.jacfwd,
    ],
)
def test_gradients_come_in_the_order_argnums_lists_them(transform):
    x, y = np.ones(2), np.array([1.0, 2.0, 3.0])
    dy, dx = transform(_weighted_sums, argnums=(1, 0))(x, y)
    np.testing.assert_allclose(dy, 6.0 * y)
    np.testing.assert_allclose(dx, [2.0, 2.0])
    dy, dx = transform(_weighted_sums, argnums=(1, 0))(1.0, 1.0)  # same shapes: no crash to
    assert np.isclose(dy, 6.0) and np.isclose(dx, 2.0)  # give a swap away


def test_an_argument_named_twice_in_argnums_is_an_error():
    with pytest.raises(ValueError, match="twice"):
        srcad.grad(_weighted_sums, argnums=(0, 0))(1.0, 2.0)


def _squared_column_maxima(x):
    return np.sum(np.max(x, axis=0) ** 2)


def test_second_order_through_reductions_with_keywords():
    """The gradient's code spells t.sum(axis=0, dtype=..., keepdims=True); srcad reads it."""
    x = np.array([[0.3, 1.2], [0.9, -0.4], [0.1, 0.5]])
    product = srcad.hvp(_squared_column_maxima, (x,), (x,))
    expected = np.zeros_like(x)
    expected[1, 0], expected[0, 1] = 2 * 0.9, 2 * 1.2
    np.testing.assert_allclose(product, expected)


def _total(x):
    return np.sum(x)


def _column_means(x):
    return np.sum(np.mean(x, axis=(0, 2)))


@pytest.mark.parametrize(
    ("fun", "x"),
    [(_total, np.ones(3, dtype=np.float32)), (_column_means, np.ones((2, 3, 2)))],
)
def test_gradients_are_writable_arrays_of_the_argument_dtype(fun, x):
    gradient = srcad.grad(fun)(x)
    assert gradient.flags.writeable and gradient.dtype == x.dtype
    gradient *= 2.0  # a caller may update it in place
    expected = srcad.numerical_grad(fun, x.astype(np.float64))
    np.testing.assert_allclose(gradient, 2.0 * expected, rtol=1e-5)


def _cube(x):
    return x**3


def test_numpy_scalar_arguments_get_gradients_of_their_type():
    gradient = srcad.grad(_cube)(np.float32(2.0))
    assert type(gradient) is np.float32 and gradient == np.float32(12.0)


def _branch_in_loop_with_int_index(x):
    s = 0.0
    for i in range(2):
        if x[i] > 0:
            s = s + x[i + 1] ** 2 * x[i]
    return s


def _nested_loops_with_counter_condition(x):
    s = 0.0
    for i in range(2):
        for j in range(3):
            if j > i:
                s = s + x[j - 1] * x[i] ** 2
    return s


@pytest.mark.parametrize(
    "fun", [_branch_in_loop_with_int_index, _nested_loops_with_counter_condition]
)
def test_hessian_through_branches_inside_loops(fun):
    """The generated gradient records branch values that start as typed zeros, so srcad can
    read it back; the Hessian matches differences of the gradient."""
    x = np.array([0.7, 0.3, 1.2])
    gradient = srcad.grad(fun)
    columns = [(gradient(x + 1e-6 * e) - gradient(x - 1e-6 * e)) / 2e-6 for e in np.eye(3)]
    np.testing.assert_allclose(srcad.hessian(fun)(x), np.array(columns).T, atol=1e-6)


def _doubling_until_large(x):
    s = x[0]
    while s < 10.0:
        s = s * 2.0 + x[1] ** 2
    return s * x[2]


def test_second_order_through_a_data_dependent_while():
    """The gradient's reverse-mode code keeps a tape in a while loop of unknown length,
    which is not differentiated again: the Hessian comes from forward-mode code, one pass
    per element, up to 64 elements; beyond, the refusal says what is unsupported."""
    x = np.array([0.7, 0.3, 1.2])
    gradient, eps = srcad.grad(_doubling_until_large), 1e-6
    columns = [(gradient(x + eps * e) - gradient(x - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(
        srcad.hessian(_doubling_until_large)(x), np.stack(columns, axis=1), rtol=1e-5, atol=1e-6
    )
    big = np.concatenate([x, np.zeros(62)])
    with pytest.raises(srcad.errors.SrcadError, match="further derivative .* not supported"):
        srcad.hessian(_doubling_until_large)(big)


def _periodic_neighbours(x):
    n = x.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = x[i] ** 2 + x[(i + 1) % n]
    return np.sum(out * np.arange(n))


def test_integer_arithmetic_on_the_counter_keeps_the_loop():
    """(i + 1) % n on a loop counter needs no derivative: the loop stays a loop (fast to
    compile), each write of out[i] reuses the adjoint array in place, and the gradient is
    right."""
    x = np.linspace(0.1, 1.0, 200)
    gradient = srcad.grad(_periodic_neighbours)
    np.testing.assert_allclose(
        gradient(x), srcad.numerical_grad(_periodic_neighbours, x), rtol=1e-6, atol=1e-5
    )
    code = srcad.source(gradient)
    assert "for i in range(200):" in code and "(i + 1) % 200" in code
    assert len(code.splitlines()) < 60 and ".copy()" not in code.split("# backward")[1]


def test_a_tangent_of_another_shape_than_its_primal_is_refused_with_both_shapes():
    def f(x, y):
        return np.sum(x * y)

    x, y = np.ones(3), np.arange(3.0)
    with pytest.raises(ValueError, match=r"argument 0 has shape \(2,\), its primal \(3,\)"):
        srcad.jvp(f, (x, y), (np.ones(2), np.ones(3)))
    value, tangent = srcad.jvp(f, (x, y), (np.ones(3), np.zeros(3)))  # the right shapes
    assert (value, tangent) == (f(x, y), np.sum(y))


def test_third_and_fourth_derivatives_of_a_lambda():
    """The wrapper around a lambda's gradient was named grad_<lambda>: not Python."""
    third = srcad.grad(srcad.grad(srcad.grad(lambda x: x**4)))
    fourth = srcad.grad(srcad.grad(srcad.grad(srcad.grad(lambda x: np.sin(x) * x**4))))
    assert third(2.0) == pytest.approx(24.0 * 2.0)
    x = 0.7  # d4/dx4 of sin(x) x^4, by the product rule
    expected = (
        np.sin(x) * x**4
        - 16 * np.cos(x) * x**3
        - 72 * np.sin(x) * x**2
        + 96 * np.cos(x) * x
        + 24 * np.sin(x)
    )
    assert fourth(x) == pytest.approx(expected, rel=1e-10)


SCALE = {"a": 1.5}


def curved_map(x):
    return np.sin(x) * x[0] * SCALE["a"] + x**3


@pytest.mark.parametrize("outer", [srcad.jacfwd, srcad.jacrev], ids=["jacfwd", "jacrev"])
@pytest.mark.parametrize("inner", [srcad.jacfwd, srcad.jacrev], ids=["jacfwd", "jacrev"])
def test_jacobians_of_jacobians(outer, inner):
    """``jacfwd(jacrev(f))`` was refused (a Jacobian object is not a Python function); the
    second derivatives of a vector function, laid out out.shape + in.shape + in.shape."""
    x = np.array([0.3, -0.5, 0.8])
    composed = outer(inner(curved_map))
    for a in (1.5, -0.5):  # a global the inner code reads
        SCALE["a"] = a
        jacobian = inner(curved_map)
        rows = [(jacobian(x + 1e-5 * e) - jacobian(x - 1e-5 * e)) / 2e-5 for e in np.eye(3)]
        np.testing.assert_allclose(composed(x), np.moveaxis(np.array(rows), 0, -1), atol=1e-6)
    SCALE["a"] = 1.5


def float32_loss(w, x):
    return np.sum(np.tanh(x @ w) ** 2)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_float32_loss_keeps_its_dtype_in_every_value_returned(mode):
    rng = np.random.default_rng(3)
    w, x = rng.normal(size=3).astype(np.float32), rng.normal(size=(4, 3)).astype(np.float32)
    expected = float32_loss(w, x)
    value, grad = srcad.value_and_grad(float32_loss, mode=mode)(w, x)
    primal, pull = srcad.vjp(float32_loss, w, x)
    tangent_value, _ = srcad.jvp(float32_loss, (w, x), (w, x))
    for got in (value, primal, tangent_value):
        assert type(got) is np.float32
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert grad.dtype == np.float32 and pull(np.float32(1.0))[0].dtype == np.float32
    np.testing.assert_allclose(
        grad, srcad.numerical_grad(float32_loss, w.astype(float), x.astype(float)), rtol=1e-3
    )
    assert type(srcad.value_and_grad(float32_loss)(w.astype(float), x.astype(float))[0]) is float


TAYLOR = {"tolerance": 1e-12}


def taylor_sine(x):
    """autograd's sinusoid example: a Taylor series that stops when its terms are small."""
    ans = currterm = x
    for i in range(1000):
        currterm = -currterm * x**2 / ((2 * i + 3) * (2 * i + 2))
        ans = ans + currterm
        if np.abs(currterm) < TAYLOR["tolerance"]:
            break
    return ans


def taylor_sine_of_an_array(x):
    return taylor_sine(x[0]) * x[1]


def counted_sine(x):
    ans = currterm = x[0]
    for i in range(400):
        currterm = -currterm * x[0] ** 2 / ((2 * i + 3) * (2 * i + 2))
        ans = ans + currterm
        if np.abs(currterm) < 1e-9:
            break
    return ans * x[1] ** 2


def nested_loops(x):
    s = 0.0
    for i in range(3):
        h = x
        for j in range(5):
            h = np.tanh(h * (i + 1) + 0.1 * j)
        s = s + np.sum(h**2)
    return s


def _gradient_differences(fun, x, eps=1e-6):
    gradient = srcad.grad(fun)
    return np.array(
        [(gradient(x + eps * e) - gradient(x - eps * e)) / (2 * eps) for e in np.eye(2)]
    )


@pytest.mark.slow
@pytest.mark.parametrize("fun", [taylor_sine_of_an_array, counted_sine, nested_loops])
def test_second_derivatives_of_long_loops_that_break_keep_their_loops(fun):
    """The gradient's loops keep tapes; read back for a second derivative, the tapes are
    arrays and the loops stay loops (they were unrolled, 1000 steps: a RecursionError).
    Forward over reverse (hessian), reverse over reverse and the forward-mode gradient of
    the gradient match central differences of the gradient, also after the world changed."""
    x = np.array([1.3, 0.7])
    hessian = srcad.hessian(fun)
    rows = [
        srcad.grad(lambda v, k=k: srcad.grad(fun)(v)[k], mode=m)
        for k in (0, 1)
        for m in ("reverse", "forward")
    ]
    for tolerance in (1e-12, 1e-3):  # the loop stops sooner: read on every call
        TAYLOR["tolerance"] = tolerance
        expected = _gradient_differences(fun, x)
        np.testing.assert_allclose(hessian(x), expected, rtol=1e-6, atol=1e-7)
        for k, row in enumerate(rows):
            np.testing.assert_allclose(row(x), expected[k // 2], rtol=1e-6, atol=1e-7)
    TAYLOR["tolerance"] = 1e-12
    assert len(srcad.source(rows[0]).splitlines()) < 300  # not one block per step


def test_grad_of_grad_of_the_taylor_series_of_a_float():
    second = srcad.grad(srcad.grad(taylor_sine))
    for x in (0.3, 2.3):
        gradient = srcad.grad(taylor_sine)
        expected = (gradient(x + 1e-6) - gradient(x - 1e-6)) / 2e-6
        assert second(x) == pytest.approx(expected, rel=1e-6)
        assert second(x) == pytest.approx(-np.sin(x), rel=1e-9)
        assert srcad.hessian(taylor_sine)(x) == pytest.approx(-np.sin(x), rel=1e-9)
    assert "for i in range(1000):" in srcad.source(second)


KERNEL = {"width": 1.0}


def laplace_kernel_sum(x):
    points = x.reshape(2, 2) / KERNEL["width"]
    squared = np.sum((points[:, None, :] - points[None, :, :]) ** 2, axis=-1)
    distances = np.sqrt(squared + np.eye(2) * 0.0)  # a diagonal of constant zeros
    return np.sum(np.exp(-np.sqrt(np.where(np.eye(2) > 0, 0.0, distances**2))))


def root_of_a_zero_filled_array(x):
    z = np.zeros(3)
    z[1:] = x[1:] ** 2 * KERNEL["width"]
    return np.sum(np.sqrt(z)) + np.sum(np.arcsin(np.minimum(z, 1.0)) * 0.0)


def power_of_a_negative_base(p):
    return p[0] ** p[1] + p[2] ** 0.5 * 0.0


@pytest.mark.parametrize(
    ("fun", "point"),
    [
        (laplace_kernel_sum, np.array([0.3, -0.2, 1.1, 0.4])),
        (root_of_a_zero_filled_array, np.array([0.7, 0.5, -1.5])),
        (power_of_a_negative_base, np.array([-2.0, 2.0, 0.0])),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_forward_mode_keeps_zero_tangents_where_the_slope_is_infinite(fun, point, monkeypatch):
    """Forward mode gave NaN for every element: a constant 0 under sqrt has tangent 0 and
    slope inf (0 * inf), which the sum spread; reverse mode was right."""
    transformed = srcad.grad(fun), srcad.grad(fun, mode="forward"), srcad.jacfwd(fun)
    for width in (1.0, 1.7):  # the world changed: read again
        monkeypatch.setitem(KERNEL, "width", width)
        reverse, forward, columns = (transform(point) for transform in transformed)
        finite = np.isfinite(reverse)
        assert finite.any()
        np.testing.assert_allclose(forward[finite], reverse[finite], rtol=1e-12)
        np.testing.assert_allclose(columns[finite], reverse[finite], rtol=1e-12)
        expected = srcad.numerical_grad(fun, point)
        np.testing.assert_allclose(reverse[finite], expected[finite], rtol=1e-6, atol=1e-8)


def weighted_sorted(x):
    return np.sum(np.sort(x) ** 3 * np.arange(1.0, x.size + 1))  # float64 weights


def test_the_hessian_of_a_float32_argument_is_float32_as_its_gradient_is():
    """It came back float64 where the function computes in float64 (the gradient is cast
    to its argument's dtype, the Jacobian of the gradient was not)."""
    x = np.array([0.3, -1.0, 2.0], dtype=np.float32)
    hessian = srcad.hessian(weighted_sorted)(x)
    assert hessian.dtype == np.float32 == srcad.grad(weighted_sorted)(x).dtype
    expected = srcad.hessian(weighted_sorted)(x.astype(np.float64))
    np.testing.assert_allclose(hessian, expected, rtol=1e-6)
    np.testing.assert_allclose(np.diag(expected), 6.0 * x * [2.0, 1.0, 3.0], rtol=1e-6)


DECAY = {"rate": 0.5}


def halved_until_small(x):
    s = np.sum(x**2)
    n = 0
    while s > 0.1:  # a data-dependent loop counting with a Python int
        s = s * DECAY["rate"] + np.sum(np.cos(x)) * 0.01
        n += 1
    return s * np.sum(x) + n


@pytest.mark.slow
@pytest.mark.parametrize(
    "second",
    [
        lambda f: srcad.jacfwd(srcad.jacrev(f)),
        lambda f: srcad.jacrev(srcad.jacrev(f)),
    ],
    ids=["jacfwd of jacrev", "jacrev of jacrev"],
)
def test_a_jacobian_of_jacrev_through_a_while_loop_counting_with_an_int(second):
    """Refused ('this while loop ... counts with a Python int') where hessian and
    jacrev(grad) worked: jacrev's code keeps a tape, which is not differentiated again."""
    x = np.array([0.7, 0.4, 1.1, 0.2])
    transformed = second(halved_until_small)
    for rate in (0.5, 0.6):  # the world changed: read again
        DECAY["rate"] = rate
        expected = srcad.numerical_grad(lambda v: srcad.grad(halved_until_small)(v)[1], x)
        result = transformed(x)
        np.testing.assert_allclose(result, srcad.hessian(halved_until_small)(x), rtol=1e-10)
        np.testing.assert_allclose(result[1], expected, rtol=1e-5, atol=1e-7)
    DECAY["rate"] = 0.5


def drawn_scale_squares(x):
    c = np.random.normal()
    return x**2 * c


def printed_cubes(v):
    print("called")
    return np.sum(v**3)


@pytest.mark.parametrize(
    "compose",
    [
        lambda f: srcad.jacfwd(srcad.jacrev(f)),
        lambda f: srcad.jacrev(srcad.jacfwd(f)),
        lambda f: srcad.jacfwd(srcad.jacfwd(f)),
    ],
    ids=["jacfwd of jacrev", "jacrev of jacfwd", "jacfwd of jacfwd"],
)
@pytest.mark.parametrize("fun", [drawn_scale_squares, printed_cubes], ids=["draws", "prints"])
def test_a_jacobian_of_a_function_that_draws_or_prints_is_not_differentiated_again(compose, fun):
    """Its passes, one per element, each drew anew (H[i, i, i] was 2c_i with a new c_i per
    column) and printed once per column (found by a probe): refused, saying what to do."""
    with pytest.raises(TypeError, match="draws random numbers or prints .* not differentiated"):
        compose(fun)(np.array([0.5, -1.0, 2.0]))


@pytest.mark.parametrize(
    "compose, fun, x, shape",
    [
        (lambda f: srcad.jacrev(srcad.jacfwd(f)), lambda v: np.sum(v**2), np.zeros(0), (0, 0)),
        (lambda f: srcad.jacfwd(srcad.jacfwd(f)), lambda v: np.sum(v**2), np.zeros(0), (0, 0)),
        (lambda f: srcad.jacfwd(srcad.jacrev(f)), lambda v: v[:0] * 2.0, np.ones(3), (0, 3, 3)),
    ],
    ids=["jacrev of jacfwd", "jacfwd of jacfwd", "an empty output"],
)
def test_a_jacobian_of_no_element_differentiated_again_is_empty(compose, fun, x, shape):
    """'np.stack(columns)' of no column raised ValueError, said to be the plain function's."""
    result = compose(fun)(x)
    assert result.shape == shape and result.dtype == np.float64


MIXED = {"shift": 0.0}


def mixed_products(a, b):
    return np.sum(a * b) + np.sum(a**2 * b) + MIXED["shift"] * np.sum(b)


def test_jacobian_and_hessian_blocks_have_jaxs_dtypes():
    """jacrev's blocks are cotangents of the argument (float32 for a float32 argument),
    jacfwd's tangents of the output, a hessian's rows those of its row's argument: jacrev
    and hessian with tuple argnums gave float64 for a float32 argument, jacfwd of an empty
    float32 array float64 (found by a probe against JAX)."""
    a, b = np.array([0.5, 1.0, -2.0], np.float32), np.array([1.5, -0.5, 2.0])
    for shift in (0.0, 3.0):  # a global read on every call
        MIXED["shift"] = shift
        try:
            rows = srcad.jacrev(mixed_products, (0, 1))(a, b)
            columns = srcad.jacfwd(mixed_products, (0, 1))(a, b)
            blocks = srcad.hessian(mixed_products, (0, 1))(a, b)
            pytree = srcad.hessian(lambda p: mixed_products(p["a"], p["b"]))({"a": a, "b": b})
        finally:
            MIXED["shift"] = 0.0
        assert [r.dtype for r in rows] == [np.float32, np.float64]
        assert [c.dtype for c in columns] == [np.float64, np.float64]
        assert [[h.dtype for h in row] for row in blocks] == [[np.float32] * 2, [np.float64] * 2]
        assert pytree["a"]["b"].dtype == np.float32 and pytree["b"]["a"].dtype == np.float64
        np.testing.assert_allclose(rows[1], a + a**2 + shift, rtol=1e-6)
        np.testing.assert_allclose(blocks[0][1], np.diag(1.0 + 2.0 * a), rtol=1e-6)
        np.testing.assert_allclose(pytree["b"]["a"], np.diag(1.0 + 2.0 * a), rtol=1e-6)
    empty = srcad.jacfwd(lambda v: v * 2.0)(np.zeros(0, np.float32))
    assert empty.shape == (0, 0) and empty.dtype == np.float32


@pytest.mark.parametrize(
    "fun",
    [lambda v: v, lambda v: v[1:], lambda v: (v, v * MIXED["shift"])],
    ids=["identity", "a view", "a pair"],
)
def test_jvps_output_tangent_is_never_the_callers_tangent(fun):
    """jvp of the identity returned the caller's tangent itself: writing into the result
    wrote into the tangent (JAX's arrays cannot be written; found by a probe)."""
    x, t = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    kept = t.copy()
    _, out = srcad.jvp(fun, (x,), (t,))
    for leaf in out if isinstance(out, tuple) else (out,):
        assert not np.shares_memory(leaf, t)
        leaf *= 10.0
    np.testing.assert_array_equal(t, kept)


@pytest.mark.parametrize(
    "fun",
    [lambda a, b: a + b, lambda a, b: (a - b)[::-1][::-1], lambda a, b: a * MIXED["shift"] + b],
    ids=["a sum", "views", "scaled"],
)
def test_a_vjp_fns_cotangents_are_never_the_callers_cotangent(fun):
    """vjp_fn of a + b returned the caller's cotangent itself as a's: writing into it
    changed the result (found by a probe)."""
    x, y = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 3.0])
    cotangent = np.array([1.0, -2.0, 0.5])
    _, vjp_fn = srcad.vjp(fun, x, y)
    grads = vjp_fn(cotangent)
    kept = [g.copy() for g in grads]
    for g in grads:
        assert not np.shares_memory(g, cotangent)
    cotangent *= 10.0
    for g, k in zip(grads, kept, strict=True):
        np.testing.assert_array_equal(g, k)
    jacobians = srcad.jacrev(fun, argnums=(0, 1))(x, y)
    for g, jac in zip(kept, jacobians, strict=True):
        np.testing.assert_allclose(g, np.array([1.0, -2.0, 0.5]) @ jac, rtol=1e-12)
