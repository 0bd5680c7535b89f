"""Generated code reads like the STYLE.md §6 example: short, no helper calls, no zero arrays,
names taken from the source, a comment tying each backward line to what it differentiates."""

from __future__ import annotations

import numpy as np

import srcad


def layer(x, W):
    return np.sum(np.tanh(W @ x))


def test_tanh_layer_gradient_is_as_short_as_the_style_example():
    gradient = srcad.value_and_grad(layer, argnums=(0, 1))
    gradient(np.ones(3), np.full((4, 3), 0.1))
    code = srcad.source(gradient)
    unchecked = code.split("def layer_grad_unchecked")[1]  # after layer_grad's layout check
    body = unchecked.split('"""')[2]  # after the docstring
    statements = [line.strip() for line in body.splitlines()]
    statements = [s for s in statements if s and not s.startswith("#")]
    assert len(statements) <= 6, code
    assert "import numpy as np" in code and "import srcad" not in code and "from srcad" not in code
    assert "zeros" not in code and "broadcast_to" not in code, code
    assert "def layer_grad(x, W, dout=1.0):" in code
    assert "dW = np.outer(" in code and "dx = " in code, code
    backward = body.split("# backward")[1]
    code_lines = [line for line in backward.splitlines()[1:] if line.strip()]
    for line in code_lines[:-1]:  # every backward line but the return says what it undoes
        assert "  # " in line, line
    assert statements[-1].startswith("return out, (dx, dW)")


def test_loop_gradient_keeps_the_loop_with_its_reverse_beneath():
    from pathlib import Path

    golden = Path(__file__).parent.parent.parent / "generated" / "loops" / "sum_of_squares_grad.py"
    code = golden.read_text()
    statements = [line.strip() for line in code.splitlines() if not line.strip().startswith("#")]
    forward, backward = "for i in range(x.shape[0]):", "for i in reversed(range(x.shape[0])):"
    assert statements.count(forward) == 1 and statements.count(backward) == 1
    assert statements.index(forward) < statements.index(backward)
    assert "tape.append(" in code and "tape.pop()" in code


def penalized_layer(W, x, lam):
    return np.sum(np.tanh(W @ x)) + lam * np.sum(W**2)


def test_a_second_contribution_is_summed_where_it_arrives():
    """The penalty's term of dW is computed in the statement that adds the data term, which
    names both primal lines it differentiates, and the gradient is still right."""
    gradient = srcad.grad(penalized_layer)
    W, x = np.linspace(-1.0, 1.0, 12).reshape(4, 3), np.array([0.5, -0.2, 0.3])
    dW = gradient(W, x, 0.1)
    code = srcad.source(gradient)
    sums = [line.strip() for line in code.splitlines() if line.strip().startswith("dW = ")]
    assert len(sums) == 1 and " + np.outer(" in sums[0], code
    assert "W ** 2" in sums[0] and "W @ x" in sums[0], sums[0]  # both origins in its comment
    assert np.allclose(dW, srcad.numerical_grad(penalized_layer, W, x, 0.1), atol=1e-7)
