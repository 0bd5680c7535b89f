"""``srcad check`` reports error sizes in plain numbers; ``srcad show --mode forward``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from srcad.cli import main

ROOT = Path(__file__).parent.parent
WRONG_RULE = """
import numpy as np
import srcad

@srcad.custom_vjp
def square_sum(x):
    return np.sum(x * x)

def square_sum_fwd(x):
    return square_sum(x), x

def square_sum_bwd(x, g):
    return (g * 3.0 * x,)  # wrong on purpose: the derivative is 2 x

square_sum.defvjp(square_sum_fwd, square_sum_bwd)

def loss(weights):
    return square_sum(weights)

EXAMPLE_ARGS = {"loss": (np.array([1.0, -2.0, 4.0]),)}
"""


def test_check_prints_error_sizes_and_worst_element(capsys):
    assert main(["check", f"{ROOT / 'examples' / 'loops.py'}:rnn"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"max absolute error (\S+), max relative error (\S+);", out)
    assert match and float(match[1].rstrip(",")) < 1e-6, out
    assert re.search(r"worst element (W|h|xs)\[\d+(, \d+)?\]: srcad -?\d", out), out
    assert "np.float64" not in out and "leaf" not in out


def test_check_failure_names_the_argument_and_plain_values(tmp_path, capsys):
    module = tmp_path / "wrong.py"
    module.write_text(WRONG_RULE)
    assert main(["check", f"{module}:loss"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL"), out
    # the worst element is the largest x: srcad 3 * 4 = 12, central differences 2 * 4 = 8
    assert "worst element weights[2]: srcad 12, central differences 8" in out, out
    assert "max absolute error 4.00e+00, max relative error 5.00e-01" in out, out
    assert "np.float64" not in out and "leaf" not in out


def test_show_forward_mode_prints_tangent_code(capsys):
    target = f"{ROOT / 'examples' / 'basics.py'}:tanh_layer"
    assert main(["show", target, "--mode", "forward"]) == 0
    out = capsys.readouterr().out
    assert "mode=forward" in out and "_jvp(" in out and "_dot" in out
    assert main(["show", target]) == 0
    assert "mode=reverse" in capsys.readouterr().out


TARGETS = """
import functools
import numpy as np

def power_sum(x, n=2):
    return np.sum(x ** n)

cubes = functools.partial(power_sum, n=3)

class Model:
    @staticmethod
    def loss(x):
        return np.sum(x ** 2)

def broken(x):
    raise ValueError("not ready")
"""


def test_a_partial_and_a_static_method_are_targets(tmp_path, capsys):
    module = tmp_path / "targets.py"
    module.write_text(TARGETS)
    assert main(["check", f"{module}:cubes", "--args", "np.ones(3)"]) == 0
    assert main(["check", f"{module}:Model.loss", "--args", "np.ones(3)"]) == 0
    assert capsys.readouterr().out.count("ok ") == 2


def test_errors_in_the_arguments_or_the_users_code_are_one_line(tmp_path, capsys):
    """A NameError in --args or a function that raises printed a raw traceback."""
    module = tmp_path / "targets.py"
    module.write_text(TARGETS)
    for argv, said in [
        (["check", f"{module}:power_sum", "--args", "np.ones(n)"], "name 'n' is not defined"),
        (["check", f"{module}:power_sum", "--args", "1 / 0"], "ZeroDivisionError"),
        (["check", f"{module}:broken", "--args", "1.0"], "not ready (ValueError"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and said in err and "Traceback" not in err, err
    (tmp_path / "bad.py").write_text("def f(x)\n    return x\n")
    assert main(["check", f"{tmp_path / 'bad.py'}:f"]) == 2
    assert "bad.py:1:" in capsys.readouterr().err


def test_the_regenerate_command_of_a_decorated_function_works(tmp_path, capsys):
    """``@srcad.grad def f``: the header's 'srcad show m.py:f' differentiated the gradient
    ('grad requires grad_f to return a scalar')."""
    module = tmp_path / "decorated.py"
    module.write_text(
        "import numpy as np\nimport srcad\n\n\n@srcad.grad\ndef f(x):\n"
        "    return np.sum(np.sin(x) ** 2)\n"
    )
    assert main(["show", f"{module}:f", "--args", "np.ones(3)"]) == 0
    assert "def f_grad(" in capsys.readouterr().out


def test_check_of_a_function_that_draws_says_why_the_differences_disagree(tmp_path, capsys):
    module = tmp_path / "noisy.py"
    module.write_text(
        "import numpy as np\n\n\ndef noisy(x):\n"
        "    return np.sum(x * np.random.normal(size=x.shape))\n"
    )
    assert main(["check", f"{module}:noisy", "--args", "np.ones(3)"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL") and "random draws?" in out and "seed" in out, out


def test_example_args_that_are_not_a_dict_are_named_with_what_to_write(tmp_path, capsys):
    """A tuple EXAMPLE_ARGS failed every command with "'tuple' object has no attribute
    'get' (AttributeError)"; a usage error, as a missing function (they exited with status 1
    and 'srcad:' where other usage errors exit with 2 and 'error:')."""
    module = tmp_path / "tupled.py"
    module.write_text(
        "import numpy as np\nEXAMPLE_ARGS = (np.ones(3),)\n\n\ndef f(x):\n    return np.sum(x)\n"
    )
    for command in ["show", "check", "graph", "explain", "compare"]:
        assert main([command, f"{module}:f"]) == 2
        assert capsys.readouterr().err == (
            f"error: {module}: EXAMPLE_ARGS must be a dict {{function name: tuple of "
            "arguments}, got a tuple; write EXAMPLE_ARGS = {'f': ...}, one entry per function\n"
        )
    module.write_text(
        "import numpy as np\nEXAMPLE_ARGS = {'f': np.ones(3)}\n\n\ndef f(x):\n    pass\n"
    )
    assert main(["check", f"{module}:f"]) == 2
    err = capsys.readouterr().err
    assert "EXAMPLE_ARGS['f'] must be a tuple of arguments, got a ndarray" in err
    assert "{'f': (value,)}" in err
    for target, said in [(f"{module}:g", "has no function 'g'"), ("f", "expected MODULE:FUNCTION")]:
        assert main(["show", target]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and said in err, err


def test_check_of_a_function_returning_no_float_says_so_at_its_line(tmp_path, capsys):
    """numpy's "ufunc 'isnan' not supported for the input types" came first."""
    module = tmp_path / "returns.py"
    module.write_text(
        "import numpy as np\n\n\ndef nothing(x):\n    y = np.sum(x)\n\n\n"
        "def text(x):\n    return 'hello'\n"
    )
    for name, line, returned in [("nothing", 4, "None"), ("text", 9, "text (a str)")]:
        # an error about the user's function, as srcad's own errors (2 is for usage errors)
        assert main(["check", f"{module}:{name}", "--args", "np.ones(3)"]) == 1
        err = capsys.readouterr().err
        assert f"{module}:{line}: grad requires {name} to return floats" in err, err
        assert f"it returned {returned}" in err and "isnan" not in err, err


def test_argnums_that_are_not_ints_are_a_usage_error(capsys):
    """--argnums x gave "invalid literal for int() with base 10: 'x' (ValueError ...)"."""
    target = f"{ROOT / 'examples' / 'basics.py'}:product"
    for argnums in ["x", "0,", "0.5"]:
        with pytest.raises(SystemExit) as exit:
            main(["show", target, "--argnums", argnums])
        assert exit.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: srcad show"), err
        assert f"argument --argnums: takes ints like 0 or 0,1, not {argnums!r}" in err, err
    assert main(["show", target, "--argnums", "0,1"]) == 0
    assert "wrt=(a, b)" in capsys.readouterr().out


NAN_SLOPE = """
import numpy as np

EXAMPLE_ARGS = {"distance": (np.array([0.0, 1.0]),)}


def distance(x):
    return np.sum(np.sqrt(x * x))
"""


def test_check_of_a_nan_gradient_reports_an_infinite_error(tmp_path, capsys):
    """The chain rule gives sqrt(x * x) the slope 0 / 0 at 0; the check failed but said
    'max absolute error 0.00e+00' (max(0.0, nan) is 0.0)."""
    module = tmp_path / "kink.py"
    module.write_text(NAN_SLOPE)
    assert main(["check", f"{module}:distance"]) == 1
    out = capsys.readouterr().out
    assert "max absolute error inf" in out and "worst element x[0]: srcad nan" in out, out


def test_an_exception_the_users_code_raises_is_named_at_its_line(tmp_path, capsys):
    """'error: boom (RuntimeError; ...)' named no place: the line that raised it (in the
    user's file, also where srcad's generated code raised it for them)."""
    module = tmp_path / "raising.py"
    module.write_text(
        "import numpy as np\n\n\ndef refuses(x):\n    raise ValueError('boom')\n\n\n"
        "def helper(x):\n    return np.sum(x)\n\n\nraise_at_import = False\n"
    )
    assert main(["check", f"{module}:refuses", "--args", "np.ones(3)"]) == 2
    err = capsys.readouterr().err
    assert "raising.py:5: boom (ValueError" in err, err
    broken = tmp_path / "broken_import.py"
    broken.write_text("import numpy as np\nraise ImportError('missing piece')\n")
    assert main(["show", f"{broken}:f"]) == 2
    assert f"{broken}:2: missing piece (ImportError" in capsys.readouterr().err


def test_no_command_prints_the_help_and_fails(capsys):
    assert main([]) == 2
    assert "commands:" in capsys.readouterr().err


def test_args_in_parentheses_are_one_tuple_and_the_message_says_so(tmp_path, capsys):
    """--args "(a, b)" gave "missing a required argument: 'xs'" (probe AT F11)."""
    module = tmp_path / "pair.py"
    module.write_text("import numpy as np\n\n\ndef f(w, xs):\n    return np.sum(w * xs)\n")
    for command in ["show", "check"]:
        assert main([command, f"{module}:f", "--args", "(np.ones(3), np.ones(3))"]) == 2
        error = capsys.readouterr().err
        assert "gives f 1 argument(s)" in error and "write 'a, b'" in error, error
    assert main(["check", f"{module}:f", "--args", "np.ones(3), np.ones(3)"]) == 0
