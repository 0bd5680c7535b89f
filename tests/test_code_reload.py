"""Code reloaded in place: IPython's ``%autoreload`` (and other reloaders) edit a module's
functions by swapping their ``__code__``, keeping the function objects. A compile lowered
that code; its guard checks on every call that each function it lowered still runs the
code it ran then (``srcad.runtime.guard.make_world_guard``), so the next call compiles the
new code rather than returning the old gradient.

Checked, each against central differences of the plain function after the edit: the
differentiated function itself, a helper it calls, a function passed as an argument and a
method, on the NumPy backend; a compile reused from disk; scalar code on numba (whose lean
entry inlines the check).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from source_files import module_from_source, rewrite

import srcad
from srcad.runtime import cache

MODULE = textwrap.dedent("""
    import numpy as np


    def act(z):
        return np.tanh(z)


    def loss(x):
        return np.sum(act(x) * x)


    def apply(x, f):
        return np.sum(f(x) ** 2)


    class Model:
        def __init__(self, scale):
            self.scale = scale

        def __call__(self, x):
            return np.sum(act(x * self.scale))


    def scalar(x, y):
        return act(x) * y + x * x
    """)
EDITED = {"np.tanh(z)": "np.sin(z) * z", "np.sum(act(x) * x)": "np.sum(act(x) * x * x)"}


def _reload(module, path) -> None:
    """What ``%autoreload 2`` does: run the edited file, then give each old function the new
    code (and a class's methods the new methods' code)."""
    source = path.read_text()
    for old, new in EDITED.items():
        source = source.replace(old, new)
    path.write_text(source)
    fresh: dict = {"__name__": module.__name__}
    exec(compile(source, str(path), "exec"), fresh)  # noqa: S102 - the test's own source
    for name in ("act", "loss", "apply", "scalar"):
        getattr(module, name).__code__ = fresh[name].__code__
    module.Model.__call__.__code__ = fresh["Model"].__call__.__code__


@pytest.fixture
def module(tmp_path):
    m = module_from_source(MODULE, tmp_path, "reloaded")
    return m, tmp_path / f"{m.__name__}.py"


def _check(gradient, function, *args):
    np.testing.assert_allclose(
        gradient(*args), srcad.numerical_grad(function, *args), rtol=1e-6, atol=1e-9
    )


X = np.array([0.4, -0.7, 1.3])


def test_the_function_its_helper_an_argument_and_a_method_are_compiled_again(module):
    m, path = module
    model = m.Model(0.5)
    gradients = [
        (srcad.grad(m.loss), m.loss, (X,)),
        (srcad.grad(m.apply), m.apply, (X, m.act)),
        (srcad.grad(model), model, (X,)),
    ]
    for gradient, function, args in gradients:
        _check(gradient, function, *args)
    before = [gradient(*args) for gradient, _, args in gradients]
    _reload(m, path)
    for (gradient, function, args), old in zip(gradients, before, strict=True):
        _check(gradient, function, *args)
        assert not np.allclose(gradient(*args), old)  # the edit changed the derivative


def test_a_compile_reused_from_disk_notices_the_reload(module, tmp_path, monkeypatch):
    monkeypatch.setenv("SRCAD_GENERATED_DIR", str(tmp_path / "cache"))
    m, path = module
    srcad.grad(m.loss)(X)
    cache.clear()  # the next compile comes from disk
    gradient = srcad.grad(m.loss)
    _check(gradient, m.loss, X)
    _reload(m, path)
    _check(gradient, m.loss, X)


@pytest.mark.slow
def test_numba_scalar_code_notices_the_reload(module):
    pytest.importorskip("numba")
    m, path = module
    gradient = srcad.grad(m.scalar, argnums=(0, 1), backend="numba")
    for _ in range(3):  # the lean entry takes over after the first calls
        expected = srcad.numerical_grad(m.scalar, 0.3, 1.7, argnums=(0, 1))
        np.testing.assert_allclose(gradient(0.3, 1.7), expected, rtol=1e-6)
    _reload(m, path)
    for _ in range(3):
        expected = srcad.numerical_grad(m.scalar, 0.3, 1.7, argnums=(0, 1))
        np.testing.assert_allclose(gradient(0.3, 1.7), expected, rtol=1e-6)


# --- a file edited after the import, not reloaded -------------------------------------------
ON_DISK = textwrap.dedent("""
    import numpy as np


    def first(x):
        return np.sum(np.cos(x))


    def helper(x):
        return np.sin(x)


    def loss(x):
        return np.sum(helper(x) * x)
""")


def _edit(module, old: str, new: str, prefix: str = "") -> None:
    with open(module.__file__) as file:
        text = file.read()
    rewrite(module.__file__, prefix + text.replace(old, new))


@pytest.mark.parametrize(
    "edit",
    [
        ("np.sin(x)", "np.exp(x)", ""),  # the helper's body, the same length
        ("* x)", "+ x)", ""),  # an operator: the same names and constants
        ("", "", "# two lines\n# added above\n"),  # the lines shifted: loss's line is another's
    ],
    ids=["helper body", "operator", "lines shifted"],
)
def test_a_file_edited_after_the_import_is_refused_not_differentiated(tmp_path, edit):
    """srcad read the edited file and returned the gradient of code Python does not run
    (or, with the lines shifted, of the function next to it)."""
    module = module_from_source(ON_DISK, tmp_path, "edited")
    x = np.array([0.3, -0.2, 0.7])
    np.testing.assert_allclose(srcad.grad(module.loss)(x), srcad.numerical_grad(module.loss, x))
    _edit(module, *edit)
    with pytest.raises(srcad.SrcadError, match="changed after its module was imported"):
        srcad.grad(module.loss)(np.array([0.3, -0.2, 0.7, 0.1]))  # a new shape: a compile
    module.__spec__.loader.exec_module(module)  # reloaded: the code runs what the file says
    y = np.array([0.3, -0.2, 0.7, 0.1])
    np.testing.assert_allclose(
        srcad.grad(module.loss)(y), srcad.numerical_grad(module.loss, y), rtol=1e-6
    )


SETS_AND_DEAD_CODE = textwrap.dedent("""
    import numpy as np


    class Layer:
        def __init__(self, act):
            self.act = act

        def __call__(self, x):
            if self.act in {"relu", "tanh", "sigmoid", "softplus", "elu"}:
                return np.sum([np.tanh(v) for v in x])
            return np.sum(x)


    def early(w):
        return np.sum(w**2)  # an early return while debugging
        print("unreachable")
""")

RUN_FROM_THE_PYC = textwrap.dedent("""
    import sys
    import numpy as np
    import srcad
    sys.path.insert(0, {directory!r})
    import sets_and_dead_code as m
    x = np.array([0.3, -0.7, 1.2])
    print(srcad.grad(m.Layer("tanh"))(x).tolist(), srcad.grad(m.early)(x).tolist())
""")


@pytest.mark.slow
def test_unchanged_code_from_a_pyc_of_another_hash_seed_and_dead_code_are_not_refused(tmp_path):
    """A set constant loaded from a .pyc keeps the order of the process that wrote it (its
    repr differs from a fresh compile's), and a return leaves the dead code's names in the
    code object: both were refused as "the file changed"."""
    import os
    import subprocess
    import sys

    (tmp_path / "sets_and_dead_code.py").write_text(SETS_AND_DEAD_CODE)
    script = tmp_path / "run.py"
    script.write_text(RUN_FROM_THE_PYC.format(directory=str(tmp_path)))
    outputs = []
    for seed in ("1", "2", "3", "4", "5"):  # the first writes the .pyc, the others read it
        environment = {**os.environ, "PYTHONHASHSEED": seed, "SRCAD_CACHE_REUSE": "0"}
        environment["PYTHONPATH"] = os.pathsep.join(sys.path)
        done = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=environment
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(done.stdout)
    x = np.array([0.3, -0.7, 1.2])
    assert set(outputs) == {f"{(1 - np.tanh(x) ** 2).tolist()} {(2 * x).tolist()}\n"}


@pytest.mark.slow
def test_asserts_stripped_by_python_O_are_stripped_from_the_generated_code(tmp_path):
    import os
    import subprocess
    import sys

    script = tmp_path / "optimized.py"
    script.write_text(
        "import numpy as np, srcad\n"
        "def f(x):\n"
        "    assert np.all(x > 5.0), 'x too small'\n"
        "    return np.sum(x ** 2)\n"
        "print(srcad.grad(f)(np.array([0.3, 0.7])).tolist())\n"
    )
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-O", str(script)], capture_output=True, text=True, env=environment
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "[0.6, 1.4]\n"


def test_a_lambda_edited_in_its_file_after_the_import_is_refused(tmp_path):
    module = module_from_source(
        "import numpy as np\nobjective = lambda x: np.sum(x**2)  # noqa: E731\n", tmp_path, "lam"
    )
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(srcad.grad(module.objective)(x), 2.0 * x)
    _edit(module, "x**2", "x**4")
    with pytest.raises(srcad.SrcadError, match="changed after its module was imported"):
        srcad.grad(module.objective)(np.array([1.0, 2.0, 3.0]))
