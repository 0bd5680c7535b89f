"""Primitives from outside NumPy: ``scipy.special.expit``, ``logit`` and ``erf`` (rows of
``srcad/ir/table/special.py``) differentiated in user code, in reverse and forward mode,
against central differences; the generated module imports ``scipy.special`` and calls them
by that name. Without SciPy srcad still imports and works, without those rows (the tests
that need SciPy are skipped there).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from source_files import module_from_source

import srcad
from srcad.ir.prims import PRIMS, import_statement, module_spelling

USER_CODE = """
import numpy as np
import scipy.special
from scipy import special
from scipy.special import erf, expit

X = np.array([[0.1, 0.4, -0.3], [1.2, -0.7, 0.2]])


def loss(w, x):
    return np.sum(scipy.special.expit(x @ w) ** 2)


def loss_at_x(w):
    return loss(w, X)


def mixed(p):
    return np.sum(special.logit(p) * expit(p) + erf(p))


def shadowing(x):
    scipy = expit(x) * 2.0  # a variable named like the module the code imports
    return np.sum(scipy * x)


def numpy_only(x):
    return np.sum(np.tanh(x))
"""

W = np.array([0.3, -0.2, 0.5])
X = np.array([[0.1, 0.4, -0.3], [1.2, -0.7, 0.2]])
P = np.array([0.2, 0.45, 0.9])
EPS = 1e-6


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    pytest.importorskip("scipy.special")
    return module_from_source(USER_CODE, tmp_path_factory.mktemp("scipy"), "scipy_user")


def _differences(f, x):
    """Central differences of scalar ``f`` at ``x``, element by element."""
    gradient = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = EPS
        gradient[index] = (f(x + step) - f(x - step)) / (2 * EPS)
    return gradient


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_expit_gradient_matches_differences(user, mode):
    gradient = srcad.grad(user.loss, mode=mode)
    expected = _differences(lambda w: user.loss(w, X), W)
    np.testing.assert_allclose(gradient(W, X), expected, rtol=1e-6, atol=1e-9)
    code = srcad.source(gradient)
    assert "import scipy.special" in code.splitlines()
    assert "scipy.special.expit(" in code


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_each_spelling_of_the_functions_is_the_primitive(user, mode):
    """``special.logit``, ``expit`` and ``erf`` imported by name are the same primitives."""
    gradient = srcad.grad(user.mixed, mode=mode)
    np.testing.assert_allclose(gradient(P), _differences(user.mixed, P), rtol=1e-6, atol=1e-9)
    code = srcad.source(gradient)
    for name in ("expit", "logit", "erf"):
        assert f"scipy.special.{name}(" in code


def test_jvp_and_hessian(user):
    tangent = np.array([1.0, -0.5, 2.0])
    value, derivative = srcad.jvp(user.loss_at_x, (W,), (tangent,))
    assert np.isclose(value, user.loss_at_x(W))
    expected = np.dot(_differences(user.loss_at_x, W), tangent)
    assert np.isclose(derivative, expected, rtol=1e-6)
    hessian = srcad.hessian(user.mixed)(P)
    gradient = srcad.grad(user.mixed)
    columns = [_differences(lambda p, i=i: gradient(p)[i], P) for i in range(P.size)]
    np.testing.assert_allclose(hessian, np.array(columns), rtol=1e-5, atol=1e-7)


def test_a_variable_does_not_take_the_imported_name(user):
    gradient = srcad.grad(user.shadowing)
    np.testing.assert_allclose(gradient(P), _differences(user.shadowing, P), rtol=1e-6)
    code = _code_lines(gradient)
    assert not [line for line in code if line.strip().startswith("scipy =")]
    assert any("scipy.special.expit(" in line for line in code)


def _code_lines(gradient) -> list[str]:
    """The generated module's lines but its header comments (which name the user's file)."""
    return [line for line in srcad.source(gradient).splitlines() if not line.startswith("#")]


def test_numpy_code_imports_only_numpy(user):
    gradient = srcad.grad(user.numpy_only)
    gradient(P)
    assert not [line for line in _code_lines(gradient) if "scipy" in line]


def test_modules_are_named_as_their_users_write_them():
    assert module_spelling("numpy") == "np"
    assert module_spelling("numpy.linalg") == "np.linalg"
    assert module_spelling("scipy.special") == "scipy.special"
    assert import_statement("numpy.linalg") == "import numpy as np"
    assert import_statement("scipy.special") == "import scipy.special"
    assert PRIMS["inv"].spelling == "np.linalg.inv"
    if "expit" in PRIMS:  # SciPy is installed
        assert PRIMS["expit"].spelling == "scipy.special.expit"


WITHOUT_SCIPY = """
import sys
sys.modules["scipy"] = None  # import scipy raises ImportError

import numpy as np

import srcad
from srcad.ir.prims import PRIMS


def f(x):
    return np.sum(np.tanh(x))


assert "expit" not in PRIMS and "tanh" in PRIMS
print(srcad.grad(f)(np.zeros(2)))
"""


def test_srcad_works_without_scipy(tmp_path):
    script = tmp_path / "without_scipy.py"
    script.write_text(WITHOUT_SCIPY)
    env = {**os.environ, "SRCAD_GENERATED_DIR": str(tmp_path / "generated")}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1. 1.]"


def test_a_global_read_by_the_scipy_loss_is_read_again_after_it_changes(user):
    gradient = srcad.grad(user.loss_at_x)
    original = user.X
    try:
        for x in (original, original * -2.0 + 0.3, np.ones((4, 3)) * 0.25):  # values, shape
            user.X = x
            expected = _differences(user.loss_at_x, W)
            np.testing.assert_allclose(gradient(W), expected, rtol=1e-6, atol=1e-9)
    finally:
        user.X = original
