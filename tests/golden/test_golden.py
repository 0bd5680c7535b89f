"""The committed files in generated/ are exactly what srcad generates today.

On a difference, run ``python tests/golden/regenerate.py``, read the diff, and commit it with a note
saying why the generated code changed.
"""

from __future__ import annotations

import difflib

from regenerate import IR_DIRECTORY, REPOSITORY, golden_sources, ir_sources


def test_generated_files_match_examples():
    _assert_matches(golden_sources())


def test_ir_files_match_each_stage():
    sources = ir_sources()
    assert any("ir_cases.loop_while" in str(path) for path in sources)
    _assert_matches(sources)
    committed = {p.relative_to(REPOSITORY) for p in (REPOSITORY / IR_DIRECTORY).glob("*.txt")}
    assert committed <= set(sources), f"stale files: {sorted(committed - set(sources))}"


def _assert_matches(sources: dict) -> None:
    assert sources, "examples/ lists no EXAMPLE_ARGS"
    for relative, text in sources.items():
        path = REPOSITORY / relative
        assert path.exists(), f"{relative} is missing: run python tests/golden/regenerate.py"
        committed = path.read_text()
        if committed != text:
            diff = "".join(
                difflib.unified_diff(
                    committed.splitlines(True), text.splitlines(True), str(relative), "now"
                )
            )
            raise AssertionError(f"{relative} differs from what srcad generates:\n{diff}")


def test_generation_is_deterministic():
    assert golden_sources() == golden_sources()


def test_no_stale_golden_files():
    expected = set(golden_sources())
    committed = {p.relative_to(REPOSITORY) for p in (REPOSITORY / "generated").rglob("*.py")}
    assert committed <= expected, f"stale files: {sorted(committed - expected)}"
