"""Acceptance tests: bugs in srcad, tracebacks, and errors that used to have no line.

An exception inside srcad that srcad did not raise on purpose reaches the user as
`srcad.InternalError` at the line being compiled, with a reproduction file. Errors srcad raises
on purpose leave the public transformations with the user's frames only (`SRCAD_DEBUG=1`
keeps srcad's). Line numbers are found from the marker comment `# <- here`, never hard-coded.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import os
import re
import runpy
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import numpy as np
import pytest

import srcad
from srcad.ir import builder
from srcad.runtime import generated_dir

THIS_FILE = os.path.basename(__file__)
PACKAGE_DIR = Path(srcad.__file__).resolve().parent


def line_of_marker(fun):
    """Absolute line number of the single line in `fun`'s source marked `# <- here`."""
    lines, start = inspect.getsourcelines(fun)
    hits = [start + offset for offset, line in enumerate(lines) if "# <- here" in line]
    assert len(hits) == 1, f"{fun.__name__} needs exactly one marker"
    return hits[0]


def assert_points_at(error, fun):
    message = str(error)
    assert re.search(rf"{THIS_FILE}:{line_of_marker(fun)}: ", message), message


def srcad_frames(error):
    """The frames of the error's traceback that run srcad's own code."""
    return [
        frame
        for frame, _ in traceback.walk_tb(error.__traceback__)
        if Path(frame.f_code.co_filename).resolve().is_relative_to(PACKAGE_DIR)
    ]


def last_frame_file(error):
    frames = list(traceback.walk_tb(error.__traceback__))
    return os.path.basename(frames[-1][0].f_code.co_filename)


# The public transformations, each called the way a user would on one float array.
TRANSFORMATIONS = {
    "grad": lambda f, x: srcad.grad(f)(x),
    "value_and_grad": lambda f, x: srcad.value_and_grad(f)(x),
    "grad-forward": lambda f, x: srcad.grad(f, mode="forward")(x),
    "jacrev": lambda f, x: srcad.jacrev(f)(x),
    "jacfwd": lambda f, x: srcad.jacfwd(f)(x),
    "hessian": lambda f, x: srcad.hessian(f)(x),
    "jvp": lambda f, x: srcad.jvp(f, (x,), (np.ones_like(x),)),
    "vjp": lambda f, x: srcad.vjp(f, x),
    "hvp": lambda f, x: srcad.hvp(f, (x,), (np.ones_like(x),)),
}


# --- a bug inside srcad ------------------------------------------------------------------------


def sine_loss(x):
    y = np.sin(x)  # <- here
    return np.sum(y * 2.0)


@pytest.fixture
def broken_sine(monkeypatch):
    """Inject a bug: shape inference of np.sin raises a KeyError."""
    working = builder.infer_avals

    def infer_avals(prim_name, avals, params):
        if prim_name == "sin":
            raise KeyError("injected")
        return working(prim_name, avals, params)

    monkeypatch.setattr(builder, "infer_avals", infer_avals)
    return monkeypatch


def test_internal_error_is_public_and_a_srcad_error():
    assert "InternalError" in srcad.__all__
    assert issubclass(srcad.InternalError, srcad.SrcadError)


@pytest.mark.parametrize("transform", TRANSFORMATIONS.values(), ids=TRANSFORMATIONS.keys())
def test_a_bug_in_srcad_is_an_internal_error_at_the_users_line(broken_sine, transform):
    with pytest.raises(srcad.InternalError) as info:
        transform(sine_loss, np.ones(3))

    message = str(info.value)
    assert_points_at(info.value, sine_loss)
    assert "bug in srcad" in message and "KeyError" in message and "y = np.sin(x)" in message
    assert info.value.repro and info.value.repro in message
    assert srcad_frames(info.value) == []
    assert last_frame_file(info.value) == THIS_FILE


def test_the_reproduction_file_repeats_the_compilation(broken_sine):
    with pytest.raises(srcad.InternalError) as info:
        srcad.grad(sine_loss)(np.ones(3))

    repro = Path(info.value.repro)
    assert repro.parent == generated_dir() and repro.exists()
    text = repro.read_text()
    assert f"srcad {importlib.metadata.version('srcad')}" in text
    assert "def sine_loss(x):" in text  # the function's source
    assert "np.full((3,), 0.5, dtype='float64')" in text  # the signature compiled for
    assert "KeyError: 'injected'" in text and "Traceback (most recent call last)" in text
    broken_sine.undo()
    runpy.run_path(str(repro))  # without the injected bug, the same compilation succeeds


def test_srcad_debug_keeps_the_original_exception(broken_sine):
    broken_sine.setenv("SRCAD_DEBUG", "1")
    with pytest.raises(srcad.InternalError) as info:
        srcad.grad(sine_loss)(np.ones(3))

    assert isinstance(info.value.__cause__, KeyError)
    assert len(srcad_frames(info.value)) > 3


# --- tracebacks of errors srcad raises on purpose ----------------------------------------------


def unknown_attribute(x):
    return np.sum(np.no_such_function(x))  # <- here


@pytest.mark.parametrize("transform", TRANSFORMATIONS.values(), ids=TRANSFORMATIONS.keys())
def test_a_srcad_error_shows_the_users_frames_only(transform):
    with pytest.raises(srcad.SrcadError) as info:
        transform(unknown_attribute, np.ones(3))

    assert_points_at(info.value, unknown_attribute)
    assert srcad_frames(info.value) == []
    assert last_frame_file(info.value) == THIS_FILE


def refused_in_a_loop(x):
    y = x * 1.0
    z = y
    for s in range(3):
        z[s] += 1.0  # <- here
    return np.sum(y)


def test_an_error_met_again_when_a_loop_is_unrolled_shows_no_srcad_frames():
    """Met in the loop's body lowered once, then again unrolled: the second error was raised
    while srcad handled the first, and Python showed that one's frames too ("During
    handling of the above exception")."""
    with pytest.raises(srcad.UnsupportedSyntax) as info:
        srcad.grad(refused_in_a_loop)(np.ones(3))

    assert_points_at(info.value, refused_in_a_loop)
    shown = "".join(traceback.format_exception(info.value))
    assert "During handling" not in shown and "srcad/lower" not in shown, shown


def test_srcad_debug_shows_every_frame(monkeypatch):
    monkeypatch.setenv("SRCAD_DEBUG", "1")
    with pytest.raises(srcad.SrcadError) as info:
        srcad.grad(unknown_attribute)(np.ones(3))

    assert len(srcad_frames(info.value)) > 5


@pytest.mark.slow
def test_a_script_ends_its_traceback_at_the_users_lines(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent("""\
            import numpy as np
            import srcad

            def loss(x):
                return np.sum(np.no_such_function(x))

            srcad.grad(loss)(np.ones(3))
            """))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )

    lines = result.stderr.strip().splitlines()
    # np.no_such_function: Python's AttributeError, as srcad's error (srcad.errors.raised_as)
    assert lines[-1].startswith(f"srcad.errors.SrcadAttributeError: {script}:5: "), result.stderr
    frames = [line for line in lines if line.lstrip().startswith('File "')]
    assert frames == [f'  File "{script}", line 7, in <module>'], result.stderr


# --- recursion on data -------------------------------------------------------------------------


def halves(x):
    if x > 1.0:
        return halves(x / 2.0)  # <- here
    return x


def nested_halves(x):
    total = 0.0
    for _ in range(2):
        for _ in range(2):
            if np.sum(x) > 1.0:
                if np.sum(x) > 2.0:
                    total = total + nested_halves(x / 2.0)  # <- here
            else:
                total = total + np.sum(x)
    return total


@pytest.mark.parametrize(
    ("fun", "x"), [(halves, 5.0), (nested_halves, np.full(3, 5.0))], ids=["simple", "nested"]
)
def test_recursion_on_data_is_a_short_located_error(fun, x):
    with pytest.raises(srcad.UnsupportedSyntax) as info:
        srcad.grad(fun)(x)

    assert_points_at(info.value, fun)
    assert "recurs" in str(info.value)
    assert len(list(traceback.walk_tb(info.value.__traceback__))) <= 2


# --- errors that used to have no file and line -------------------------------------------------


def loss_and_prediction(x):
    prediction = x * 2.0
    return np.sum(prediction), prediction  # <- here


def test_a_tuple_returned_without_has_aux_names_the_return_line():
    with pytest.raises(TypeError) as info:
        srcad.grad(loss_and_prediction)(np.ones(3))

    assert_points_at(info.value, loss_and_prediction)
    assert "has_aux=True" in str(info.value)
    assert srcad_frames(info.value) == []


class Opaque:
    """Neither an array, a float nor a container srcad knows (an object of the user's class
    is a tree of its attributes; this one keeps its state in slots)."""

    __slots__ = ("state",)


def opaque_loss(params):  # <- here
    return np.sum(params)


def test_an_argument_of_an_unknown_type_names_the_function_and_what_to_pass():
    with pytest.raises(TypeError) as info:
        srcad.grad(opaque_loss)(Opaque())

    assert_points_at(info.value, opaque_loss)
    message = str(info.value)
    assert "'params'" in message and "Opaque" in message and "NumPy arrays" in message
    assert srcad_frames(info.value) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda f: srcad.grad(f, argnums=(0, 0)),
        lambda f: srcad.value_and_grad(f, argnums=1.0),
        lambda f: srcad.jacrev(f, argnums="x"),
        lambda f: srcad.jacfwd(f, argnums=(0, 0)),
        lambda f: srcad.hessian(f, argnums=[0, 0]),
        lambda f: srcad.grad(f, backend="nonsense"),
    ],
    ids=["grad", "value_and_grad", "jacrev", "jacfwd", "hessian", "backend"],
)
def test_a_wrong_option_of_a_transformation_ends_its_traceback_at_the_users_call(make):
    """Raised when the transformation is made, these errors showed 2 to 5 of srcad's frames."""
    with pytest.raises((TypeError, ValueError)) as info:
        make(opaque_loss)
    assert srcad_frames(info.value) == []


LIMIT_OF_SUMS = {"high": 1.0}


def refuses_large_sums(x):
    if np.sum(x) > LIMIT_OF_SUMS["high"]:
        raise ValueError("too big")
    return np.sum(x**2)


def test_an_error_the_users_code_raises_names_the_users_line():
    """A ValueError the user's code raised came through srcad's frames from srcad's generated
    file, naming neither the user's file nor its line (found by a probe)."""
    gradient = srcad.grad(refuses_large_sums)
    small, large = np.array([0.1, 0.2, 0.1]), np.array([0.3, 0.7, 1.1])
    for _ in range(2):  # the first call's path, then the fast path's
        np.testing.assert_allclose(gradient(small), 2.0 * small)
    for high in (1.0, 1.5):  # a global read on every call
        LIMIT_OF_SUMS["high"] = high
        try:
            with pytest.raises(ValueError, match="too big") as raised:
                gradient(large)
        finally:
            LIMIT_OF_SUMS["high"] = 1.0
        line = refuses_large_sums.__code__.co_firstlineno + 2
        assert f"srcad: raised by {__file__}:{line}" in "\n".join(raised.value.__notes__)
        frames = [entry.filename for entry in traceback.extract_tb(raised.tb)]
        assert not any("srcad/api" in f or "srcad/runtime" in f for f in frames), frames
