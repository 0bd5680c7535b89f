"""backend="numba": the generated gradient compiled with numba (srcad.backends).

The numba backend must give what the NumPy backend gives (to 1e-12 in float64) and what
central differences give; where numba cannot compile the code it runs the NumPy code with a
warning naming the generated line and the user's; without numba it says which extra to
install. numba compiles take seconds: the tests that compile more than a small function are
marked slow.
"""

from __future__ import annotations

import inspect
import math
import os
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

import srcad
from srcad.backends import BackendUnavailableError, NumbaFallbackWarning, numba_source

# numba compiles take seconds: the full suite runs them, the fast loop not
pytestmark = pytest.mark.slow


@pytest.fixture
def numba():
    return pytest.importorskip("numba")


def scalar(x, y, z):
    a = np.sin(x) * y + np.exp(-z * x)
    b = np.tanh(a * z) + np.log(1.0 + y * y)
    return a * b / (1.0 + np.cos(y) ** 2) - np.sqrt(x * x + z * z)


def arrays(w, x):
    h = np.tanh(x @ w + 0.5)
    return np.sum(h**2) + 0.1 * np.sum(w * w)


def rnn(W, h, x):
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + x[t])
    return np.sum(h**2)


def branches(x, y):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            s = s + x[i] * y
        else:
            s = s - np.sin(x[i]) * y * y
    return s


SCALE = np.array([1.0, 2.0, 3.0])


def reads_a_global(x):
    return np.sum(np.exp(x * SCALE))


def einsum_loss(A, x):
    y = A @ x
    z = np.einsum("...j,j->...", A, y)  # an ellipsis: the numba variant has no loops for it
    return np.sum(z**2)


RNG = np.random.default_rng(0)
CASES = {
    "scalar": (scalar, (0.3, 0.5, 0.7), (0, 1, 2)),
    "arrays": (arrays, (RNG.normal(size=(3, 2)), RNG.normal(size=(4, 3))), (0, 1)),
    "rnn": (rnn, (RNG.normal(size=(4, 4)) / 2, RNG.normal(size=4), RNG.normal(size=(6, 4))), 0),
    "branches": (branches, (np.array([0.5, -1.0, 2.0, -0.3]), 1.5), (0, 1)),
    "global": (reads_a_global, (np.array([0.1, -0.2, 0.3]),), 0),
}


def _compiled_with_numba(fun, args, argnums):
    """value_and_grad on the numba backend, checked to run numba-compiled code."""
    transformed = srcad.value_and_grad(fun, argnums=argnums, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        result = transformed(*args)
    assert transformed.numba.is_compiled(transformed.last)
    return transformed, result


def _assert_agrees(fun, args, argnums):
    transformed, (value, grads) = _compiled_with_numba(fun, args, argnums)
    expected_value, expected_grads = srcad.value_and_grad(fun, argnums=argnums)(*args)
    assert math.isclose(value, expected_value, rel_tol=1e-12)
    numerical = srcad.numerical_grad(fun, *args, argnums=argnums)
    singles = (grads, expected_grads, numerical)
    pairs = zip(*singles, strict=True) if isinstance(argnums, tuple) else [singles]
    for got, expected, central in pairs:
        assert type(got) is type(expected)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got, central, rtol=1e-6, atol=1e-8)
    # the second call takes the fast path, with the same result
    again = transformed(*args)[1]
    for got, expected in zip(
        *[g if isinstance(argnums, tuple) else [g] for g in (again, grads)], strict=True
    ):
        np.testing.assert_array_equal(got, expected)


def test_scalar_code_agrees_with_numpy_and_central_differences(numba):
    _assert_agrees(*CASES["scalar"])


@pytest.mark.slow
@pytest.mark.parametrize("case", ["arrays", "rnn", "branches", "global"])
def test_array_loop_and_branch_code_agrees(numba, case):
    _assert_agrees(*CASES[case])


def vector_valued(x, y):
    return np.tanh(x * y) + np.sin(x) ** 2 * y


@pytest.mark.slow
@pytest.mark.parametrize("transformation", ["jacfwd", "jacrev", "hessian"])
def test_jacobians_and_hessians_on_numba_agree(numba, transformation):
    if transformation == "hessian":
        fun, args, argnums = scalar, (0.3, 0.5, 0.7), 0
    else:
        fun, args, argnums = vector_valued, (np.array([0.3, -0.5]), 0.7), (0, 1)
    make = getattr(srcad, transformation)
    compiled = make(fun, argnums, backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        got = compiled(*args)
    assert compiled.numba.is_compiled(compiled.last)
    expected = make(fun, argnums)(*args)
    pairs = zip(got, expected, strict=True) if isinstance(got, tuple) else [(got, expected)]
    for mine, theirs in pairs:
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.slow
def test_a_global_is_read_on_every_call(numba):
    x = np.array([0.1, -0.2, 0.3])
    transformed, (_, before) = _compiled_with_numba(reads_a_global, (x,), 0)
    SCALE[1] = 5.0  # changed in place: numba must not have frozen the old values
    try:
        after = transformed(x)[1]
        np.testing.assert_allclose(after, srcad.grad(reads_a_global)(x), rtol=1e-12)
        assert not np.allclose(after, before)
    finally:
        SCALE[1] = 2.0


def test_grad_returns_the_argument_layout(numba):
    fun, args, argnums = CASES["scalar"]
    grads = srcad.grad(fun, argnums=argnums, backend="numba")(*args)
    assert isinstance(grads, tuple) and all(type(g) is float for g in grads)


def test_what_numba_cannot_compile_runs_on_numpy_with_a_warning_naming_the_line(numba):
    A, x = RNG.normal(size=(3, 3)), RNG.normal(size=3)
    transformed = srcad.grad(einsum_loss, backend="numba")
    with pytest.warns(NumbaFallbackWarning) as caught:
        got = transformed(A, x)
    message = str(caught[0].message)
    line = inspect.getsourcelines(einsum_loss)[1] + 2  # z = np.einsum(...)
    assert "einsum_loss" in message and "einsum" in message
    assert f"from line {line}: " in message, message
    np.testing.assert_allclose(got, srcad.grad(einsum_loss)(A, x), rtol=1e-12)
    assert not transformed.numba.is_compiled(transformed.last)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, not on every call
        np.testing.assert_array_equal(transformed(A, x), got)
    assert "numba could not compile" in srcad.source(transformed, backend="numba")


def test_random_draws_stay_on_numpy(numba):
    def noisy(w):
        return np.sum(w * np.random.normal(size=3))

    transformed = srcad.grad(noisy, backend="numba")
    np.random.seed(3)
    with pytest.warns(NumbaFallbackWarning, match="random"):
        got = transformed(np.ones(3))
    np.random.seed(3)
    np.testing.assert_array_equal(got, np.random.normal(size=3))


RATES = {"dt": 0.01}


def predator_prey(theta, x0):
    """A list appended to in a loop: unrolled, 80 steps make 3,600 statements."""
    a, b, c, d = theta
    states = [x0]
    x = x0
    for _ in range(80):
        prey, predators = x[0], x[1]
        change = np.array([a * prey - b * prey * predators, d * prey * predators - c * predators])
        x = x + RATES["dt"] * change
        states.append(x)
    return np.sum(np.stack(states) ** 2)


@pytest.mark.slow
def test_code_too_long_for_numba_to_compile_soon_stays_on_numpy(numba):
    theta, x0 = np.array([1.0, 0.5, 0.7, 0.3]), np.array([1.0, 0.8])
    transformed = srcad.grad(predator_prey, backend="numba")
    started = time.perf_counter()
    with pytest.warns(NumbaFallbackWarning, match="quickly: it has .* statements"):
        got = transformed(theta, x0)
    assert time.perf_counter() - started < 30  # numba itself took 60 s
    for dt in (0.01, 0.02):  # a global the loop reads changes
        RATES["dt"] = dt
        got = transformed(theta, x0)
        expected = srcad.numerical_grad(predator_prey, theta, x0)
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    RATES["dt"] = 0.01


def test_code_numba_would_take_minutes_to_compile_stays_on_numpy(numba):
    """Elementwise arithmetic on 4-d arrays costs numba about 9 s of compiling each (an
    unrolled loop of convolutions: minutes): the NumPy code runs, with the warning."""

    def filters(kernels, image):
        total = np.zeros(3)
        for i in range(3):
            window = image[:, i : i + 2, 0:2]
            total = total + np.sum(np.tanh(kernels * window + 0.1 * i), axis=(1, 2, 3))
        return np.sum(total**2)

    kernels = np.linspace(-1.0, 1.0, 24).reshape(3, 2, 2, 2)
    image = np.linspace(0.5, -0.5, 2 * 4 * 2).reshape(2, 4, 2)
    transformed = srcad.grad(filters, argnums=(0, 1), backend="numba")
    with pytest.warns(NumbaFallbackWarning, match="quickly: it computes .* 4 or more dimensions"):
        got = transformed(kernels, image)
    expected = srcad.grad(filters, argnums=(0, 1))(kernels, image)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)


def test_a_missing_numba_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    with pytest.raises(BackendUnavailableError, match=r'pip install "srcad\[numba\]"'):
        srcad.grad(scalar, backend="numba")
    with pytest.raises(ImportError):
        srcad.value_and_grad(scalar, backend="numba")
    assert srcad.grad(scalar, argnums=(0, 1, 2))(0.3, 0.5, 0.7)  # NumPy needs no numba


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend='jax'"):
        srcad.grad(scalar, backend="jax")


def test_source_shows_the_numpy_code_and_the_numba_variant():
    transformed = srcad.grad(scalar, argnums=(0, 1, 2))
    transformed(0.3, 0.5, 0.7)
    numpy_code = srcad.source(transformed)
    numba_code = srcad.source(transformed, backend="numba")
    assert "njit" not in numpy_code
    assert "@numba.njit(cache=True" in numba_code
    assert "def scalar_grad_unchecked(x, y, z, dout=1.0):" in numba_code
    assert "# forward  (line" in numba_code  # the comments travel with the statements


def test_the_variant_rewrites_reversed_ranges_and_lifts_reads_in_place():
    source = textwrap.dedent('''\
        import numpy as np


        def f_grad_unchecked(x, y, dout=1.0):
            """Doc."""
            # read on every call: values from outside f
            C = main_globals['C']
            # forward  (line 3: for i in range(x.shape[0]):)
            s = 0.0
            for i in reversed(range(1, x.shape[0] + 1)):
                s = s + x[i - 1] * C[0]
            dy = np.zeros_like(y)
            return s, {'x': s, 'y': dy}
        ''')
    variant = numba_source(source, "f_grad_unchecked", frozenset({"y"}))
    assert "    for i in range((x.shape[0] + 1) - 1, 1 - 1, -1):" in variant
    assert "    dy = 0.0" in variant  # a 0-d array in NumPy, a float for numba
    wrapper, core = variant.split("@numba.njit(")
    assert "    C = main_globals['C']\n    s, dy, = f_grad_unchecked_core(x, y, C)\n" in wrapper
    assert "    return s, {'x': s, 'y': dy}" in wrapper  # the dict is built in Python
    assert "def f_grad_unchecked_core(x, y, C):" in core
    assert "    # forward  (line 3: for i in range(x.shape[0]):)" in core
    assert core.rstrip().endswith("return s, dy,")
    # it computes what the NumPy code computes
    namespace = {"main_globals": {"C": np.array([2.0])}}
    plain: dict = dict(namespace)
    exec(compile(source, "<plain>", "exec"), plain)
    checked: dict = dict(namespace, numba=_NoNumba())
    exec(compile(variant.replace("import numba\n", ""), "<variant>", "exec"), checked)
    x = np.array([1.0, 2.0, 3.0])
    assert checked["f_grad_unchecked"](x, 1.5) == (12.0, {"x": 12.0, "y": 0.0})
    assert plain["f_grad_unchecked"](x, 1.5)[0] == 12.0


class _NoNumba:
    """Stands in for the numba module: ``njit(...)`` returns the function itself."""

    @staticmethod
    def njit(*args, **kwargs):
        return lambda fn: fn


@pytest.mark.slow
def test_a_second_process_loads_numba_s_disk_cache(numba, tmp_path):
    script = textwrap.dedent("""\
        import sys
        sys.path.insert(0, {directory!r})
        import numpy as np, srcad
        from test_backend_numba import scalar, CASES
        _, args, argnums = CASES["scalar"]
        g = srcad.value_and_grad(scalar, argnums=argnums, backend="numba")
        g(*args)
        print(sum(g.numba.function(g.last).stats.cache_hits.values()))
        """).format(directory=os.path.dirname(__file__))
    # (level 0, the suite's, leaves references numba cannot cache: level 1 caches)
    environment = {**os.environ, "SRCAD_GENERATED_DIR": str(tmp_path), "NUMBA_OPT": "1"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=environment, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    assert [run.stdout.split()[-1] for run in runs] == ["0", "1"]


def with_sine(x):
    return np.sum(np.sin(x) * x)


def with_exponential(x):
    return np.sum(np.exp(x) * x)


@pytest.mark.slow
def test_code_two_processes_cached_runs_right_when_a_third_loads_both(numba, tmp_path):
    """numba names a compiled function by a counter of the process that compiled it, and
    srcad's helpers make np.sin's and np.exp's loops under one name: each process below
    compiles one of them, and the third, loading both from the disk cache, computed the
    second with the first's loop (np.exp as np.sin) until the counter started at random."""
    script = textwrap.dedent("""\
        import sys
        sys.path.insert(0, {directory!r})
        import numpy as np, srcad
        import test_backend_numba as here
        x = np.linspace(-1.0, 1.0, 5)
        for name in sys.argv[1:]:
            f = getattr(here, name)
            got = srcad.value_and_grad(f, backend="numba")(x)
            want = srcad.value_and_grad(f)(x)
            right = np.isclose(got[0], want[0]) and np.allclose(got[1], want[1], rtol=1e-12)
            print(name, "right" if right else "wrong")
        """).format(directory=os.path.dirname(__file__))
    environment = {**os.environ, "SRCAD_GENERATED_DIR": str(tmp_path), "NUMBA_OPT": "1"}
    calls = (["with_sine"], ["with_exponential"], ["with_sine", "with_exponential"])
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, *names], env=environment, capture_output=True, text=True
        )
        for names in calls
    ]
    assert [run.returncode for run in runs] == [0, 0, 0], "".join(run.stderr for run in runs)
    assert runs[2].stdout.split() == ["with_sine", "right", "with_exponential", "right"]


def tiny(x):
    return x * x + np.sin(x)


def test_a_generated_directory_that_cannot_be_written_compiles_without_the_cache(
    numba, monkeypatch, tmp_path
):
    from srcad.backends import numba_backend

    monkeypatch.setenv("SRCAD_GENERATED_DIR", str(tmp_path / "missing"))
    monkeypatch.setattr(numba_backend, "write_file", lambda path, data: False)
    transformed, (value, grad) = _compiled_with_numba(tiny, (0.5,), 0)
    assert "cache=False" in transformed.numba.source(transformed.last)
    assert math.isclose(grad, srcad.grad(tiny)(0.5), rel_tol=1e-12)


def test_a_variant_srcad_cannot_write_runs_on_numpy(numba, monkeypatch):
    from srcad.backends import numba_backend

    def refuse(*args):
        raise ValueError("a module of a new shape")

    monkeypatch.setattr(numba_backend, "numba_source", refuse)
    transformed = srcad.grad(tiny, backend="numba")
    with pytest.warns(NumbaFallbackWarning, match="a module of a new shape"):
        assert transformed(0.5) == srcad.grad(tiny)(0.5)


def test_a_list_of_arrays_stacked_after_a_loop_is_stacked_by_a_helper():
    source = textwrap.dedent("""\
        import numpy as np


        def f_grad_unchecked(x, dout=1.0):
            rows = []
            for t in range(x.shape[0]):
                rows.append(x[t] * 2.0)
            stacked = np.array(rows)
            return stacked.sum(), stacked
        """)
    variant = numba_source(source, "f_grad_unchecked")
    assert "    stacked = stack_rows(rows)" in variant
    namespace: dict = {"numba": _NoNumba()}
    exec(compile(variant.replace("import numba\n", ""), "<variant>", "exec"), namespace)
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(namespace["f_grad_unchecked"](x)[1], 2.0 * x)


def power_sine(x, y, n):
    return np.sin(x) * y**n


def test_later_calls_of_scalar_code_take_the_lean_entry_that_checks_what_srcad_fixed(numba):
    transformed, first = _compiled_with_numba(power_sine, (0.3, 0.5, 2), (0, 1))
    assert transformed._entry is not None  # numba's compiled entry point, without dispatch
    assert (
        transformed(0.3, 0.5, 2) == first == srcad.value_and_grad(power_sine, (0, 1))(0.3, 0.5, 2)
    )
    # what the entry's conditions fix: each argument's type, the int's value
    expected = srcad.value_and_grad(power_sine, (0, 1))(0.3, 0.5, 3)
    assert transformed(0.3, 0.5, 3) == expected  # another n compiles again
    with pytest.raises(TypeError):  # an int to differentiate, as on NumPy (numba would take it)
        transformed(1, 0.5, 2)
    value, grads = transformed(np.float64(0.3), 0.5, 2)
    expected_value, expected_grads = srcad.value_and_grad(power_sine, (0, 1))(
        np.float64(0.3), 0.5, 2
    )
    assert value == expected_value and grads == expected_grads
    assert [type(g) for g in grads] == [type(g) for g in expected_grads]
    assert transformed(0.3, 0.5, n=2) == first  # a keyword takes srcad's own path
    with pytest.raises(TypeError, match="positional arguments"):  # argnums by keyword: JAX's
        transformed(y=0.5, x=0.3, n=2)


def test_grad_of_scalar_code_takes_the_lean_entry_too(numba):
    transformed = srcad.grad(power_sine, argnums=1, backend="numba")
    first = transformed(0.3, 0.5, 2)
    assert transformed._entry is not None
    assert transformed(0.3, 0.5, 2) == first == srcad.grad(power_sine, 1)(0.3, 0.5, 2)
    assert type(transformed(0.3, 0.5, 2)) is float


def scaled(x):
    return x * x


def through_a_helper(x, y):
    return scaled(np.sin(x)) * y


def test_the_lean_entry_sees_a_global_function_replaced(numba):
    global scaled
    transformed, first = _compiled_with_numba(through_a_helper, (0.3, 0.5), (0, 1))
    assert transformed._entry is not None
    original = scaled
    try:

        def scaled(x):  # noqa: F811 (the function the gradient must now follow)
            return x * x * x

        again = transformed(0.3, 0.5)
        assert again == srcad.value_and_grad(through_a_helper, (0, 1))(0.3, 0.5)
        assert again != first
    finally:
        scaled = original


def _regression_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3))
    return x, np.sin(x @ np.array([[1.0], [-0.5], [0.3]]))


@pytest.mark.slow
def test_fit_trains_on_numba_as_on_numpy(numba):
    from srcad.train import MLP, fit

    model, (x, y) = MLP((3, 8, 1), loss="mse", lam=1e-3), _regression_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)  # the whole loss compiled
        on_numba = fit(model, x, y, epochs=3, batch_size=16, progress=False, backend="numba")
    on_numpy = fit(model, x, y, epochs=3, batch_size=16, progress=False)
    np.testing.assert_allclose(on_numba.history.objective, on_numpy.history.objective, rtol=1e-10)
    for mine, theirs in zip(on_numba.params, on_numpy.params, strict=True):
        np.testing.assert_allclose(mine[0], theirs[0], rtol=1e-9, atol=1e-12)


def test_fit_refuses_what_its_backend_cannot_run(numba):
    from srcad.train import MLP, fit

    (x, y), options = _regression_data(), {"epochs": 1, "progress": False}
    with pytest.raises(ValueError, match="backend='jax'"):
        fit(MLP((3, 4, 1), loss="mse"), x, y, backend="jax", **options)
    with pytest.raises(ValueError, match="checkpointed model"):
        fit(MLP((3, 4, 4, 1), loss="mse", checkpoint=1), x, y, backend="numba", **options)


def test_the_variant_calls_a_vdot_that_flattens_its_arguments():
    pytest.importorskip("numba")  # the variant imports vdot_values, which imports numba
    source = textwrap.dedent("""\
        import numpy as np


        def f_grad_unchecked(W, lam, dout=1.0):
            out = lam * np.vdot(W, W)
            return out, 2.0 * lam * W
        """)
    variant = numba_source(source, "f_grad_unchecked")
    assert "    out = lam * vdot_values(W, W)" in variant
    assert "from srcad.runtime.numba_arrays import vdot_values" in variant
    namespace: dict = {"numba": _NoNumba()}
    exec(compile(variant.replace("import numba\n", ""), "<variant>", "exec"), namespace)
    W = np.arange(6.0).reshape(2, 3)
    assert namespace["f_grad_unchecked"](W, 0.5)[0] == 0.5 * np.vdot(W, W)


def test_a_reversed_range_with_a_step_runs_the_same_positions():
    source = textwrap.dedent("""\
        import numpy as np


        def f_grad_unchecked(a, b, dout=1.0):
            positions = []
            for i in reversed(range(a, b, 3)):
                positions.append(i)
            for i in reversed(range(b, a, -2)):
                positions.append(i)
            return positions
        """)
    variant = numba_source(source, "f_grad_unchecked")
    assert "reversed" not in variant
    namespace: dict = {"numba": _NoNumba()}
    exec(compile(variant.replace("import numba\n", ""), "<variant>", "exec"), namespace)
    for a in range(-4, 5):
        for b in range(-4, 5):
            expected = [*reversed(range(a, b, 3)), *reversed(range(b, a, -2))]
            assert namespace["f_grad_unchecked"](a, b) == expected, (a, b)


def test_lists_written_in_a_join_become_tuples():
    source = textwrap.dedent("""\
        import numpy as np


        def f_grad_unchecked(x, y, dout=1.0):
            c = np.concatenate([x, y * 2.0])
            s = np.stack([np.hstack([x]), y], axis=1)
            return c.sum() + s.sum(), c
        """)
    variant = numba_source(source, "f_grad_unchecked")
    assert "    c = np.concatenate((x, y * 2.0))" in variant
    assert "    s = np.stack((np.hstack((x,)), y), axis=1)" in variant
    namespace: dict = {"numba": _NoNumba()}
    exec(compile(variant.replace("import numba\n", ""), "<variant>", "exec"), namespace)
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_array_equal(namespace["f_grad_unchecked"](x, y)[1], [1.0, 2.0, 6.0, 8.0])


def stops_at_a_large_entry(x):
    acc = 0.0
    for i in range(x.shape[0]):
        if x[i] > 1.5:
            break
        acc = acc + x[i] * x[i]
    return acc


def test_a_zero_of_a_number_is_a_number_for_numba(numba):
    """The NumPy code starts a number's adjoint as np.zeros_like(t) (a 0-d array), to which
    numba could not add a float; the variant takes the number out of it."""
    x = np.array([0.5, -1.0, 2.0, 0.3])
    transformed, _ = _compiled_with_numba(stops_at_a_large_entry, (x,), 0)
    assert "[()]" in transformed.numba.source(transformed.last)
    _assert_agrees(stops_at_a_large_entry, (x,), 0)


def test_the_lean_entry_passes_other_calls_on_whole(numba):
    """After the lean entry takes a function's calls, a call by keyword (one named like the
    entry's own parameters too), with another type or too few arguments takes the full path
    and gets the right result or the usual error."""

    def scaled(a0, y):
        return math.sin(a0) * y

    gradient = srcad.grad(scaled, argnums=(0, 1), backend="numba")
    expected = (math.cos(0.5) * 2.0, math.sin(0.5))
    for _ in range(3):  # the lean entry is made on a later call
        np.testing.assert_allclose(gradient(0.5, 2.0), expected, rtol=1e-12)
    first_only = srcad.grad(scaled, argnums=0, backend="numba")
    for _ in range(3):
        assert first_only(0.5, 2.0) == pytest.approx(expected[0], rel=1e-12)
    assert first_only(0.5, y=2.0) == pytest.approx(expected[0], rel=1e-12)  # a keyword
    np.testing.assert_allclose(gradient(np.float64(0.5), 2.0), expected, rtol=1e-12)
    for call in (
        lambda: gradient(0.5),
        lambda: gradient(0.5, y=2.0),
        lambda: first_only(a0=0.5, y=2.0),
    ):
        with pytest.raises(TypeError):  # argnums naming an argument given by keyword: JAX's
            call()


def noisy_loss(x):
    return np.sum((x + np.random.normal(size=x.shape)) ** 2)


def test_a_fallback_warning_names_the_callers_line_not_srcads(numba):
    import os

    with pytest.warns(NumbaFallbackWarning, match="draws random numbers") as seen:
        srcad.grad(noisy_loss, backend="numba")(np.array([0.5, 1.0]))
    package = os.path.dirname(srcad.__file__)  # the suite's conftest may wrap the call
    assert not seen[0].filename.startswith(package), seen[0].filename


def test_float32_code_with_an_infinite_constant_compiles(numba):
    """The float32 variant spelled the constant np.float32(inf), a NameError: every
    logaddexp (softplus, logistic loss) ran on NumPy."""

    def softplus_clipped(x):
        return np.sum(np.logaddexp(0.0, x)) + np.sum(np.clip(x, -np.inf, 0.5) ** 2)

    x = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = srcad.grad(softplus_clipped, backend="numba")(x)
    np.testing.assert_allclose(got, srcad.grad(softplus_clipped)(x), rtol=1e-5)


NORMS = {"weight": 1.0}


def nuclear(z):
    return np.linalg.norm(z, "nuc") * NORMS["weight"] + np.sum(z**2)


def frobenius_and_nuclear(z):
    return np.linalg.norm(z, "fro") * np.linalg.norm(z, ord="nuc")


@pytest.mark.parametrize("fun", [nuclear, frobenius_and_nuclear])
def test_a_norm_numba_lacks_runs_on_numpy_with_a_warning_naming_the_line(numba, fun):
    """numba compiles np.linalg.norm(z, "nuc") and raises ValueError when it runs (it has
    no 'fro' or 'nuc' norm): the NumPy code runs instead, the warning names the line; also
    after the weight it reads changed."""
    z = np.arange(6.0).reshape(2, 3) / 7
    transformed = srcad.grad(fun, backend="numba")
    with pytest.warns(NumbaFallbackWarning, match="numba has no '(nuc|fro)' norm") as caught:
        got = transformed(z)
    line = inspect.getsourcelines(fun)[1] + 1
    assert f"from line {line}: " in str(caught[0].message)
    try:
        for weight in (1.0, -2.0):
            NORMS["weight"] = weight
            np.testing.assert_allclose(transformed(z), srcad.numerical_grad(fun, z), rtol=1e-6)
            np.testing.assert_allclose(transformed(z), srcad.grad(fun)(z), rtol=1e-12)
    finally:
        NORMS["weight"] = 1.0
    np.testing.assert_allclose(got, srcad.grad(fun)(z), rtol=1e-12)


def test_code_numba_compiles_but_raises_in_runs_on_numpy_where_numpy_computes(numba, monkeypatch):
    """A value numba's implementation refuses when it runs, which srcad does not know of
    beforehand: the first call's error is not the user's (NumPy computes), so the NumPy code
    runs, with the warning; where the NumPy code raises too, its error is raised."""
    from srcad.backends import numba_values

    monkeypatch.setattr(numba_values, "LACKED", {})
    z = np.arange(6.0).reshape(2, 3) / 7
    transformed = srcad.grad(nuclear, backend="numba")
    with pytest.warns(NumbaFallbackWarning, match="raised ValueError .* where NumPy computes"):
        got = transformed(z)
    np.testing.assert_allclose(got, srcad.grad(nuclear)(z), rtol=1e-12)

    def inverse_sum(a):
        return np.sum(np.linalg.inv(a))

    inverted = srcad.grad(inverse_sum, backend="numba")
    with pytest.raises(np.linalg.LinAlgError, match="Singular matrix"):  # NumPy's message
        inverted(np.ones((2, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)  # numba runs the next call
        np.testing.assert_allclose(inverted(np.eye(2)), -np.ones((2, 2)), rtol=1e-12)
    assert inverted.numba.is_compiled(inverted.last)


def taylor_sine(x):
    ans = currterm = x
    for i in range(1000):
        currterm = -currterm * x**2 / ((2 * i + 3) * (2 * i + 2))
        ans = ans + currterm
        if np.abs(currterm) < 1e-12:
            break
    return ans


def test_the_second_derivative_of_a_long_loop_compiles_with_its_loops(numba):
    """grad(grad(f)) of a 1000-step loop that breaks: the gradient read back keeps its loops
    (its tapes arrays), and numba compiles the result (its memory grew past 8 GB)."""
    second = srcad.grad(srcad.grad(taylor_sine), backend="numba")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NumbaFallbackWarning)
        for x in (0.3, 2.3):
            assert second(x) == pytest.approx(-np.sin(x), rel=1e-9)
            assert second(x) == pytest.approx(srcad.grad(srcad.grad(taylor_sine))(x), rel=1e-12)
    assert second.numba.is_compiled(second.last)


def squares_in_float32(x):
    return np.sum(x.astype(np.float32) ** 2)


@pytest.mark.slow  # a numba compile
def test_a_float32_value_is_numpys_float32_as_on_the_numpy_backend():
    """numba returns a float32 number as a Python float: the value's type differed from
    the plain function's np.float32."""
    x = np.array([0.3, -1.2, 2.0])
    transformed = srcad.value_and_grad(squares_in_float32, backend="numba")
    value, gradient = transformed(x)
    assert type(value) is np.float32 and value == squares_in_float32(x)
    np.testing.assert_allclose(gradient, 2.0 * x, rtol=1e-6)
    for _ in range(2):  # later calls take the compiled function directly
        again, _ = transformed(x * 2.0)
        assert type(again) is np.float32 and again == squares_in_float32(x * 2.0)


def counted_by_a_float(x):
    s = 0.0
    for i in range(int(x * 3)):
        s = s + x * i
    return s + round(x) * x + math.floor(x) * x


def inverse_power(x, n):
    return x**n + x


def test_ints_of_nan_or_infinity_raise_as_python_does(numba):
    """numba's int(nan) is some int: the loop ran 0 times and gave (0.0, 0.0) silently."""
    transformed = srcad.value_and_grad(counted_by_a_float, backend="numba")
    assert transformed(1.5) == srcad.value_and_grad(counted_by_a_float)(1.5)
    for value, error in [(math.nan, ValueError), (math.inf, OverflowError)]:
        with pytest.raises(error, match="cannot convert float"):
            transformed(value)
        with pytest.raises(error, match="cannot convert float"):
            counted_by_a_float(value)


def test_a_compiled_variant_that_raises_on_a_later_call_lets_numpy_decide(numba):
    """After a first call numba ran, numba's error on a later one (0.0 ** -1, where NumPy
    gives inf; an array of another byte order numba has no type for) left srcad raw; the
    NumPy code now decides for that call, and numba runs the next."""
    transformed = srcad.value_and_grad(inverse_power, backend="numba")
    assert transformed(2.0, -1) == (2.5, 0.75)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's division by zero
        assert transformed(0.0, -1) == srcad.value_and_grad(inverse_power)(0.0, -1)
    assert transformed(4.0, -1) == (4.25, 1.0 - 1.0 / 16.0)
    assert transformed.numba.is_compiled(transformed.last)
    squared = srcad.grad(arrays, backend="numba")
    w, x = np.linspace(-1.0, 1.0, 6).reshape(3, 2), np.ones((4, 3))
    expected = srcad.grad(arrays)(w, x)
    np.testing.assert_allclose(squared(w, x), expected, rtol=1e-12)
    np.testing.assert_allclose(squared(w.astype(">f8"), x), expected, rtol=1e-12)
    np.testing.assert_allclose(squared(w, x), expected, rtol=1e-12)
    assert squared.numba.is_compiled(squared.last)


def float32_total(x):
    total = 0.0
    for i in range(len(x)):
        total += x[i] * x[i]
    return total


def test_a_python_float_carried_through_a_float32_loop_is_summed_in_float32(numba):
    """srcad typed the carried total float64 (NumPy makes it float32 at the first term):
    numba's variant summed in float64 and gave a Python float."""
    x = (np.arange(1, 40, dtype=np.float32) / 7.0) ** 3
    value, gradient = srcad.value_and_grad(float32_total, backend="numba")(x)
    expected = float32_total(x)
    assert type(value) is np.float32 and value == expected  # NumPy's float32 sum, bit for bit
    assert gradient.dtype == np.float32
    np.testing.assert_allclose(gradient, 2.0 * x, rtol=1e-6)


def summed_sines_in_a_loop(x):
    s = 0.0
    for i in range(3):
        s = s + np.sum(np.sin(x * i)) * WEIGHTS["scale"]
    return s


WEIGHTS = {"scale": 1.0}


def test_the_hessian_of_a_loop_carrying_a_python_float_compiles_with_numba(numba):
    """The tangent of a Python float carried through the loop started as
    np.zeros_like(0.0), a 0-d array numba cannot unify with a number: the hessian fell back
    to NumPy with a warning naming srcad's generated file."""
    x = np.array([0.4, -1.1])
    hessian = srcad.hessian(summed_sines_in_a_loop, backend="numba")
    for scale in (1.0, -2.0):  # a global read on every call
        WEIGHTS["scale"] = scale
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", NumbaFallbackWarning)
                got = hessian(x)
            expected = srcad.hessian(summed_sines_in_a_loop)(x)
        finally:
            WEIGHTS["scale"] = 1.0
        np.testing.assert_allclose(got, expected, rtol=1e-12)
        diagonal = -scale * sum(i * i * np.sin(x * i) for i in range(3))
        np.testing.assert_allclose(np.diag(got), diagonal, rtol=1e-12)


def squared_by_a_rule(x):
    return x * x


def loss_through_a_rule(x):
    return np.sum(squared_by_a_rule(x))


def logs_warning_of_zeros(x):
    with np.errstate(divide="warn"):
        y = np.log(x)
    return np.sum(y)


def logs_without_warnings(x):
    with np.errstate(divide="ignore"):
        y = np.log(x + 1.0)
    return np.sum(np.where(x > 0.1, np.sqrt(x), 0.0) * y)


def test_refusals_numba_gives_without_a_line_name_the_users_line(numba):
    """'Untyped global name' (a function with a rule of the user's) and 'Unsupported context
    manager' name no line: the warning said neither the generated line nor the user's."""
    srcad.defvjp(squared_by_a_rule, lambda g, out, x: (2.0 * x * g,))  # removed by conftest
    x = np.array([0.5, 2.0])
    for fun, line in [(loss_through_a_rule, 1), (logs_warning_of_zeros, 1)]:
        with pytest.warns(NumbaFallbackWarning) as seen:
            got = srcad.grad(fun, backend="numba")(x)
        np.testing.assert_allclose(got, srcad.numerical_grad(fun, x), rtol=1e-7)
        message = str(seen[0].message)
        assert f"from line {fun.__code__.co_firstlineno + line}:" in message, message


def test_blocks_that_only_silence_warnings_compile_as_their_lines(numba):
    """numba does not warn: a ``with np.errstate`` of "ignore" only (the user's, and the one
    around backward lines a mask drops) is left out of the variant (numba refused it: the
    NumPy code ran). At 0 the masked backward lines divide by zero."""
    x = np.array([0.0, 0.5, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = srcad.grad(logs_without_warnings, backend="numba")(x)
    want = srcad.grad(logs_without_warnings)(x)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    central = srcad.numerical_grad(logs_without_warnings, x[1:])  # 0.1 away from the kink
    np.testing.assert_allclose(got[1:], central, rtol=1e-6)
    assert got[0] == 0.0


def test_threads_making_their_first_calls_at_once_get_numbas_results(numba):
    """Threads calling a new numba-backed gradient at once raised SystemError ('AST
    constructor recursion depth mismatch': ast.parse of the variant is not thread-safe)."""
    import threading

    x = np.linspace(-1.0, 1.0, 6).reshape(3, 2)
    w = np.ones((4, 3))
    expected = srcad.grad(arrays)(x, w)
    for _trial in range(3):
        gradient = srcad.grad(arrays, backend="numba")
        barrier, results, errors = threading.Barrier(6), [], []

        def call(gradient=gradient, barrier=barrier, results=results, errors=errors):
            barrier.wait()
            try:
                results.append(gradient(x, w))
            except Exception as error:  # noqa: BLE001 - what the test counts
                errors.append(repr(error))

        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and len(results) == 6
        for result in results:
            np.testing.assert_allclose(result, expected, rtol=1e-12)


def reports_its_loss(x):
    loss = np.sum(x**2)
    print(f"loss {loss} first {x[0]}")
    return loss


def test_an_f_string_of_values_prints_as_python_formats_it(numba, capsys):
    """numba formatted them as '<object type:float64>' (found by a probe): the NumPy code
    runs the function, with the warning that says why."""
    x = np.array([0.5, 1.0])
    with pytest.warns(NumbaFallbackWarning, match="an f-string formats a value"):
        got = srcad.grad(reports_its_loss, backend="numba")(x)
    printed = capsys.readouterr().out
    reports_its_loss(x)
    assert printed == capsys.readouterr().out == "loss 1.25 first 0.5\n"
    np.testing.assert_array_equal(got, 2 * x)


SHIFT = {"offset": 1e8 + 0.5}


def in_float64_from_float32(A):
    x = A.astype(np.float64)
    return np.sum(x * 1e-50) * 1e50 + np.sum((x - 0.1) ** 2)


def python_floats_beside_float32(A, s):
    return np.sum(A) * (s - 1.0) * 1e10 + np.sum(A) * (SHIFT["offset"] - 1e8)


def test_float32_code_that_also_computes_in_float64_runs_the_numpy_code(numba):
    """Single-precision code spelled every Python float as float32: (s - 1.0) * 1e10 of
    s = 1.0000000001 was 0, x * 1e-50 of float64 x nan (found by a probe)."""
    A = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    cases = [(in_float64_from_float32, (A,)), (python_floats_beside_float32, (A, 1.0000000001))]
    for function, args in cases:
        compiled = srcad.value_and_grad(function, backend="numba")
        try:
            for offset in (1e8 + 0.5, 1e8 + 0.25):  # the second call reads the changed global
                SHIFT["offset"] = offset
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", NumbaFallbackWarning)
                    value, grad = compiled(*args)
                want_value, want_grad = srcad.value_and_grad(function)(*args)
                assert value == want_value and grad.dtype == want_grad.dtype == np.float32
                np.testing.assert_array_equal(grad, want_grad)
                assert want_value == pytest.approx(function(*args), rel=1e-6)
                central = srcad.numerical_grad(
                    function,
                    *(a.astype(np.float64) if isinstance(a, np.ndarray) else a for a in args),
                )
                np.testing.assert_allclose(grad, central, rtol=1e-3)
        finally:
            SHIFT["offset"] = 1e8 + 0.5
        with pytest.warns(NumbaFallbackWarning, match="float64 as well as float32"):
            srcad.value_and_grad(function, backend="numba")(*args)


def filled_in_a_loop(x):
    """np.copyto and y.fill in a loop: the derivative reads all of an adjoint as dy[...],
    which numba cannot index (it fell back to NumPy)."""
    y = x * 1.0
    scratch = np.zeros_like(x)
    for _ in range(3):
        np.copyto(scratch, np.sin(y) * 0.5)
        y.fill(np.sum(y * scratch) * 0.3)
    return np.sum(y**2) + np.sum(scratch * x)


def test_fills_in_a_loop_run_compiled():
    _assert_agrees(filled_in_a_loop, (np.array([0.3, -0.5, 0.9]),), 0)
