"""Appends to lists from outside the function (``srcad.lower.outside_lists``): a global
``history.append(float(loss))``, ``self.losses.append(loss)``, ``LOG["loss"].extend(...)``,
a ``deque``'s ``append``.

Checked: every transformation appends what the plain function appends, once per call (also
those that run the code several times for one call: jacfwd, hessian, a vjp pullback), in
loops and branches too; the gradients agree with central differences of the plain function;
after the world changed (the global rebound to a new list, a global the loss reads) the
next call appends to the list there and differentiates the new loss; an appended array is a
copy the generated code never writes into; a list both appended to and read (by any path)
is refused at the line; the numba backend falls back to the NumPy code saying why; the disk
cache keeps such code.
"""

from __future__ import annotations

import collections
import inspect
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from transformations import TRANSFORMATIONS, assert_gradient

import srcad

X = np.array([0.3, 1.6, -0.4, 2.1])
history: list = []
LOG: dict = {"loss": []}
WINDOW: collections.deque = collections.deque(maxlen=2)
SCALE = 1.5


def logged_loss(w):
    loss = SCALE * np.sum(np.sin(w) * w)
    history.append(float(loss))
    return loss


def _appends(call, target=None) -> list:
    """What ``call()`` appends to ``target`` (by default the global ``history``)."""
    target = history if target is None else target
    target.clear()
    call()
    found = list(target)
    target.clear()
    return found


@pytest.mark.parametrize("name", sorted(set(TRANSFORMATIONS) - {"hessian"}))
def test_each_transformation_appends_once_per_call_what_the_plain_function_does(name):
    transformation = TRANSFORMATIONS[name]
    plain = _appends(lambda: logged_loss(X))
    assert len(plain) == 1
    for x in (X, 2.0 * X):  # a second call, at another point
        got: list = []
        appended = _appends(lambda x=x, got=got: got.append(transformation(logged_loss, x)))
        assert appended == pytest.approx(_appends(lambda x=x: logged_loss(x)))
        assert_gradient(logged_loss, x, got[0])


def test_hessian_and_hvp_append_once_per_call():
    """hessian differentiates the generated gradient again (its once_per_call call)."""
    plain = _appends(lambda: logged_loss(X))
    assert _appends(lambda: srcad.hessian(logged_loss)(X)) == pytest.approx(plain)
    assert _appends(lambda: srcad.hvp(logged_loss, (X,), (X,))) == pytest.approx(plain)
    assert _appends(lambda: srcad.grad(lambda w: srcad.grad(logged_loss)(w)[0])(X)) == plain


def test_the_next_call_appends_to_the_list_the_global_names_then(monkeypatch):
    gradient = srcad.grad(logged_loss)
    first = _appends(lambda: gradient(X))
    replacement: list = []
    monkeypatch.setattr(sys.modules[__name__], "history", replacement)
    monkeypatch.setattr(sys.modules[__name__], "SCALE", 3.0)  # the world changed
    got = gradient(X)
    assert replacement == pytest.approx([2.0 * first[0]])
    assert_gradient(logged_loss, X, got)


def unrolled_steps(w):
    x = w
    for _ in range(3):
        x = np.tanh(x) * 1.5
        history.append(x)  # an array: the list keeps a copy
    return np.sum(x * x)


def carried_steps(w):
    x = w
    for _ in range(40):  # a loop srcad keeps a loop
        x = np.tanh(x) * 1.5
        history.append(float(np.sum(x)))
    return np.sum(x * x)


def branching(w):
    loss = np.sum(w**2)
    if loss > 8.0:
        history.append(loss)
    return loss


@pytest.mark.parametrize("fun", [unrolled_steps, carried_steps, branching])
def test_appends_in_loops_and_branches_follow_the_plain_function(fun):
    for x in (X, 0.5 * X):  # the branch taken, then not
        got: list = []
        appended = _appends(lambda x=x, got=got: got.append(srcad.grad(fun)(x)))
        plain = _appends(lambda x=x: fun(x))
        assert len(appended) == len(plain)
        for mine, theirs in zip(appended, plain, strict=True):
            np.testing.assert_allclose(mine, theirs, rtol=1e-12)
        assert_gradient(fun, x, got[0])


@pytest.mark.slow
def test_an_appended_array_is_never_written_afterwards():
    gradient = srcad.grad(unrolled_steps)
    appended = _appends(lambda: gradient(X))
    plain = _appends(lambda: unrolled_steps(X))
    assert all(a is not b for a, b in zip(appended[:-1], appended[1:], strict=True))
    np.testing.assert_allclose(np.array(appended), np.array(plain), rtol=1e-12)
    assert '["history"].append, x.copy())' in srcad.source(gradient)


class Model:
    def __init__(self):
        self.losses: list = []
        self.scale = 2.0

    def loss(self, w):
        value = self.scale * np.sum(np.cos(w) * w)
        self.losses.append(value)
        return value


def test_a_method_appends_to_its_objects_list():
    model = Model()
    gradient = srcad.grad(model.loss)
    got = gradient(X)
    model.scale = 0.5  # the world changed
    got_again = gradient(X)
    assert model.losses == pytest.approx([2.0 * np.sum(np.cos(X) * X), 0.5 * np.sum(np.cos(X) * X)])
    assert_gradient(lambda w: Model().loss(w), X, got)
    np.testing.assert_allclose(got_again, 0.25 * got, rtol=1e-12)


def test_a_list_in_a_dict_and_a_deque():
    def extended(w):
        parts = np.sin(w)
        LOG["loss"].extend([np.sum(parts), np.sum(w)])
        WINDOW.append(float(np.sum(parts * w)))
        return np.sum(parts * w)

    gradient = srcad.grad(extended)
    points = [X + k for k in range(3)]
    got = [gradient(x) for x in points]
    logged, window = list(LOG["loss"]), list(WINDOW)
    LOG["loss"].clear()
    assert logged == pytest.approx([v for x in points for v in (np.sum(np.sin(x)), np.sum(x))])
    assert window == pytest.approx([np.sum(np.sin(x) * x) for x in points[1:]])
    for x, gradient_at_x in zip(points, got, strict=True):
        assert_gradient(extended, x, gradient_at_x)
    LOG["loss"].clear()


def reads_too(w):
    history.append(float(np.sum(w)))
    return np.sum(w**2) * len(history)


ALIAS = history


def reads_through_another_name(w):
    history.append(float(np.sum(w)))
    return np.sum(w**2) * len(ALIAS)


SETTINGS = {"losses": [], "weight": 2.0}


def reads_the_dict_around_it(w):
    loss = SETTINGS["weight"] * np.sum(w**2)
    SETTINGS["losses"].append(loss)
    return loss


EMPTY: list = []


def reads_back_its_first_append(w):
    EMPTY.append(2.0)
    return np.sum(w**2) * EMPTY[-1]  # (srcad's read, of the list as it was: IndexError)


@pytest.mark.parametrize(
    "fun",
    [reads_too, reads_through_another_name, reads_the_dict_around_it, reads_back_its_first_append],
)
def test_a_list_appended_to_and_read_is_refused_at_the_append(fun):
    with pytest.raises(srcad.UnsupportedSyntax, match="appended to here and also read") as caught:
        srcad.grad(fun)(X)
    lines, first = inspect.getsourcelines(fun)
    assert caught.value.line == first + next(
        k for k, line in enumerate(lines) if ".append(" in line
    )
    assert history == [] and SETTINGS["losses"] == [] and EMPTY == []


def test_an_argument_list_is_still_refused():
    def appends_to_argument(w, seen):
        seen.append(np.sum(w))
        return np.sum(w**2)

    with pytest.raises(srcad.UnsupportedSyntax, match="changes a container from outside"):
        srcad.grad(appends_to_argument)(X, [])


def test_numba_falls_back_saying_why():
    pytest.importorskip("numba")
    from srcad.backends import NumbaFallbackWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        appended = _appends(lambda: srcad.grad(carried_steps, backend="numba")(X))
    assert appended == pytest.approx(_appends(lambda: carried_steps(X)))
    messages = [str(w.message) for w in caught if w.category is NumbaFallbackWarning]
    assert messages and "appends to a list from outside the function" in messages[0]


@pytest.mark.slow
def test_a_second_process_reuses_the_stored_code(tmp_path):
    script = tmp_path / "appending.py"
    script.write_text(textwrap.dedent("""
            import numpy as np, srcad
            history = []
            def loss(w):
                value = np.sum(np.sin(w) * w)
                history.append(float(value))
                return value
            print(srcad.grad(loss)(np.array([0.5, 1.5])).tolist(), history)
            """))
    environment = {"SRCAD_GENERATED_DIR": str(tmp_path / "cache"), "SRCAD_CACHE_LOG": "1"}
    runs = [
        subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            env={**os.environ, **environment},
            check=True,
        )
        for _ in range(2)
    ]
    assert "stored" in runs[0].stderr and "reused" in runs[1].stderr
    value = float(np.sum(np.sin([0.5, 1.5]) * [0.5, 1.5]))
    assert runs[0].stdout == runs[1].stdout and f"[{value!r}]" in runs[1].stdout


def halves_while_large(w):
    """A while loop decided by data: hessian runs forward-mode code once per element."""
    loss = np.sum(np.exp(w))
    steps = 0
    while loss > 1.0:
        loss = loss / 2
        history.append(steps)
        steps += 1
    print("halved", steps, "times")
    return loss


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hessian", "hvp", "jacfwd of grad"])
def test_second_derivatives_of_a_data_dependent_while_loop_append_and_print_once(name, capsys):
    runs = {
        "hessian": lambda x: srcad.hessian(halves_while_large)(x),
        "hvp": lambda x: srcad.hvp(halves_while_large, (x,), (np.ones_like(x),)),
        "jacfwd of grad": lambda x: srcad.jacfwd(srcad.grad(halves_while_large))(x),
    }
    for x in (X[:3], 2.0 * X[:3]):  # another point: another number of halvings
        capsys.readouterr()
        plain = _appends(lambda x=x: halves_while_large(x))
        printed = capsys.readouterr().out
        assert _appends(lambda x=x: runs[name](x)) == plain
        assert capsys.readouterr().out == printed


class Recorder:
    def __init__(self):
        self.items: list = []

    def append(self, value):
        self.items.append(value)


def test_the_generated_code_appends_to_whatever_the_name_holds_then(monkeypatch):
    """Compiled while ``history`` is a list, then given an object with an ``append``:
    Python calls its method; so do the gradient and hessian (which differentiates the
    gradient's code again), once per call, never while compiling."""
    gradient = srcad.grad(logged_loss)
    _appends(lambda: gradient(X))
    recorder = Recorder()
    monkeypatch.setattr(sys.modules[__name__], "history", recorder)
    gradient(X)
    srcad.hessian(logged_loss)(X)
    assert recorder.items == pytest.approx(
        [logged_loss.__globals__["SCALE"] * np.sum(np.sin(X) * X)] * 2
    )


def appends_python_numbers(w):
    loss = np.sum(w**2)
    history.append(round(float(loss), 2))
    history.append(w.tolist())
    history.append(int(loss))
    return loss


def test_python_numbers_are_appended_as_python_numbers():
    """round(float) and x.tolist() give Python floats, as in the plain function."""
    x = np.array([0.5, 1.25])
    appended = _appends(lambda: srcad.grad(appends_python_numbers)(x))
    plain = _appends(lambda: appends_python_numbers(x))
    assert appended == plain
    types = [type(v) for v in appended], [type(v) for v in appended[1]]
    assert types == ([type(v) for v in plain], [type(v) for v in plain[1]])


def appends_booleans(w):
    history.append((w > 0).tolist())
    return np.sum(w**2)


def test_booleans_are_appended_as_python_booleans():
    appended = _appends(lambda: srcad.grad(appends_booleans)(X))
    assert appended == _appends(lambda: appends_booleans(X))
    assert {type(v) for v in appended[0]} == {bool}


LAMBDA_LOG: list = []
LAMBDA_SCALE = {"c": 1.0}
log_to_the_list = lambda value: LAMBDA_LOG.append(float(value))  # noqa: E731 - as users write


def logged_through_a_lambda(x):
    loss = np.sum(x**2) * LAMBDA_SCALE["c"]
    log_to_the_list(loss)
    return loss


def test_an_append_in_a_lambda_helper_is_made_on_every_call():
    """Refused ('changes a container from outside the function') where the same append in
    a def helper was made on every call (found by a probe)."""
    x = np.array([0.5, -1.5])
    gradient = srcad.value_and_grad(logged_through_a_lambda)
    LAMBDA_LOG.clear()
    for c in (1.0, 3.0):  # a global the loss reads, changed
        LAMBDA_SCALE["c"] = c
        try:
            value, grad = gradient(x)
        finally:
            LAMBDA_SCALE["c"] = 1.0
        np.testing.assert_allclose(grad, 2.0 * x * c)
        assert LAMBDA_LOG[-1] == pytest.approx(value)
    assert len(LAMBDA_LOG) == 2
