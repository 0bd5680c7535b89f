"""The differential tester (``srcad.testing``) on a few hundred seeded random programs, and
checks of the tester itself: the oracle discards kinks and branch flips before it looks at
srcad's answer, notices wrong values and gradients, a changed global is checked again, and
the minimizer shrinks a failing program. ``benchmarks/fuzz.py`` runs any number of programs.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from srcad.testing import FAMILIES, Program, generate_program, read_program, record_text
from srcad.testing.minimize import minimize
from srcad.testing.oracle import reference_gradient
from srcad.testing.runner import (
    FAILURES,
    ProgramTimeout,
    compare_answer,
    run_program,
    time_limit,
)

PROGRAMS_PER_FAMILY = 50

# Programs among the first PROGRAMS_PER_FAMILY of each family that srcad gets wrong or
# crashes on today, each a bug reported in issue 9 (minimized there). Delete an entry once
# its bug is fixed: the test then checks that program too.
_USED_BEFORE_DEFINITION = (
    "crashes: a name assigned in a loop that also breaks or returns is used before its "
    "definition in the adjoint loop (VerifyError; KeyError in codegen/names.py without it)"
)
KNOWN_FAILURES: dict[tuple[str, int], str] = {
    ("control", 14): _USED_BEFORE_DEFINITION,
    ("control", 26): _USED_BEFORE_DEFINITION,
    ("control", 37): _USED_BEFORE_DEFINITION,
    ("control", 43): _USED_BEFORE_DEFINITION,
    ("control", 44): _USED_BEFORE_DEFINITION,
    ("control", 46): _USED_BEFORE_DEFINITION,
    ("mutation", 41): _USED_BEFORE_DEFINITION,
    ("mutation", 1): "wrong value: a return inside nested loops returns a later iteration's value",
}

HEADER = "import math\n\nimport numpy as np\n\n\n"


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_random_programs_of_one_family(family, tmp_path):
    outcomes = [
        run_program(generate_program(family, seed), tmp_path, timeout=30.0)
        for seed in range(PROGRAMS_PER_FAMILY)
        if (family, seed) not in KNOWN_FAILURES
    ]
    failures = [o for o in outcomes if o.status in FAILURES or o.kind == "no-sympy"]
    assert not failures, "\n\n".join(
        f"{family} seed {o.seed}: {o.status} {o.kind}\n{o.detail}" for o in failures
    )
    discarded = sum(o.status == "discarded" for o in outcomes)
    passed = sum(o.status == "passed" for o in outcomes)
    assert discarded <= 0.1 * len(outcomes)
    assert passed >= 0.7 * len(outcomes)  # the family tests srcad, not only its refusals


def test_the_same_seed_gives_the_same_program():
    for family in FAMILIES:
        first, second = generate_program(family, 7), generate_program(family, 7)
        assert first.source == second.source
        assert record_text(first, "", "") == record_text(second, "", "")


def _kink(x):
    return np.abs(x - 0.3) + x


def _jump(x):
    if x > 0.3:
        return x
    return x + 1.0


def _smooth(x, y):
    return np.sum(np.sin(x) * y["w"])


@pytest.mark.parametrize("fn", [_kink, _jump])
def test_points_next_to_a_kink_or_a_branch_flip_are_discarded(fn):
    assert reference_gradient(fn, (0.3 + 3e-5,), (0,)).discard
    assert not reference_gradient(fn, (0.35,), (0,)).discard


def test_central_differences_match_the_derivative():
    x, y = np.array([0.3, -1.2]), {"w": np.array([2.0, 0.5])}
    reference = reference_gradient(_smooth, (x, y), (0, 1))
    np.testing.assert_allclose(reference.gradient[0], np.cos(x) * y["w"], rtol=1e-10)
    np.testing.assert_allclose(reference.gradient[1], np.sin(x), rtol=1e-10)


def test_a_wrong_value_or_gradient_is_noticed():
    x, y = np.array([0.3, -1.2]), {"w": np.array([2.0, 0.5])}
    reference = reference_gradient(_smooth, (x, y), (0, 1))
    right = (np.cos(x) * y["w"], {"w": np.sin(x)})
    wrong = (np.cos(x) * y["w"], {"w": np.sin(x) * 1.001})
    assert compare_answer(reference.value, right, reference, None) is None
    assert compare_answer(reference.value, wrong, reference, None)[0] == "gradient"
    assert compare_answer(reference.value + 1e-3, right, reference, None)[0] == "value"
    assert compare_answer(reference.value, right[:1], reference, None)[0] == "structure"


def test_a_refusal_is_rejected_not_a_failure(tmp_path):
    source = (
        HEADER
        + "def f(x):\n    try:\n        return x * 2.0\n    except ValueError:\n        return x\n"
    )
    outcome = run_program(Program("control", 0, source, (0.5,)), tmp_path)
    assert outcome.status == "rejected"
    assert outcome.kind.startswith("UnsupportedSyntax")


def test_a_changed_global_is_checked_again(tmp_path):
    source = HEADER + "G = np.array([1.0, 2.0])\n\n\ndef f(x):\n    return np.sum(G * x ** 2)\n"
    for change in ({"G": np.array([10.0, -3.0])}, {"G[...]": np.array([10.0, -3.0])}):
        program = Program("functions", 0, source, (np.array([0.5, 0.25]),), change)
        assert run_program(program, tmp_path).status == "passed"


def test_a_record_file_gives_back_the_program(tmp_path):
    program = generate_program("functions", 3)
    path = tmp_path / "record.py"
    path.write_text(record_text(program, "wrong", "gradient\ndetail"))
    again, status, detail = read_program(path)
    assert (again.source, status, detail) == (program.source, "wrong", "gradient\ndetail")
    assert record_text(again, status, detail) == path.read_text()


def test_the_minimizer_keeps_the_failure_and_drops_the_rest():
    program = generate_program("control", 11)

    def still_fails(candidate: Program) -> bool:  # a stand-in failure: "uses np.tanh"
        return "np.tanh" in candidate.source

    assert still_fails(program)
    smallest = minimize(program, still_fails, budget_seconds=30.0)
    assert still_fails(smallest)
    assert len(smallest.source) < len(program.source) / 2


def test_a_step_that_runs_too_long_is_stopped():
    start = time.perf_counter()
    with pytest.raises(ProgramTimeout), time_limit(0.05):
        time.sleep(2.0)
    assert time.perf_counter() - start < 1.0
