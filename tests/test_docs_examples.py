"""Every ```python block of the documentation runs, and every output shown is what it prints.

The blocks of one page run in order in one namespace, each from a file of its own (srcad
reads a function's source, so it must come from a file), in a temporary working directory.
A ```text block that follows a python block (with only blank lines between) is that block's
expected output, compared exactly. Shell commands go in ```bash blocks, which are not run;
there is no other way to skip a block.

When srcad's output changes on purpose (generated code, a table), rewrite the shown outputs
with ``python tests/test_docs_examples.py --update`` and read the diff, as for golden files.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)[^\n]*$")


@dataclass
class Block:
    """A fenced code block: its language, its text, and where its lines are in the page."""

    language: str
    code: str
    start: int  # index of the opening fence line
    stop: int  # index of the closing fence line


@dataclass
class Example:
    """A python block and, when the page shows one, the text block of its output."""

    code: Block
    output: Block | None


def read_blocks(lines: list[str]) -> list[Block]:
    blocks, opened = [], None
    for number, line in enumerate(lines):
        match = FENCE.match(line)
        if match is None:
            continue
        if opened is None:
            opened = (match[1], number)
        elif line.strip() == "```":
            language, start = opened
            blocks.append(Block(language, "".join(lines[start + 1 : number]), start, number))
            opened = None
    assert opened is None, f"a code fence opened on line {opened[1] + 1} is never closed"
    return blocks


def examples_of(lines: list[str]) -> list[Example]:
    blocks = read_blocks(lines)
    examples = []
    for k, block in enumerate(blocks):
        if block.language != "python":
            continue
        following = blocks[k + 1] if k + 1 < len(blocks) else None
        between = lines[block.stop + 1 : following.start] if following else []
        is_output = (
            following is not None
            and following.language == "text"
            and all(not line.strip() for line in between)
        )
        examples.append(Example(block, following if is_output else None))
    return examples


def pages() -> list[Path]:
    return sorted(path for path in DOCS.rglob("*.md") if "```python" in path.read_text())


def run_page(page: Path, workdir: Path) -> list[tuple[Example, str]]:
    """Run every python block of ``page``; each example with what it printed."""
    lines = page.read_text().splitlines(keepends=True)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    results = []
    previous = Path.cwd()
    os.chdir(workdir)
    sys.path.insert(0, str(ROOT))
    try:
        for k, example in enumerate(examples_of(lines)):
            path = workdir / f"{page.stem.replace('-', '_')}_block{k}.py"
            path.write_text(example.code.code)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(example.code.code, str(path), "exec"), namespace)  # noqa: S102
            results.append((example, printed.getvalue()))
    finally:
        os.chdir(previous)
        sys.path.remove(str(ROOT))
    return results


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest.mark.slow
@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_code_block_runs_and_prints_what_the_page_shows(page, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for example, printed in run_page(page, tmp_path):
        if example.output is not None:
            line = example.code.start + 1
            assert _normal(printed) == _normal(example.output.code), (
                f"{page.name}:{line}: the block prints something else than the page shows "
                "(python tests/test_docs_examples.py --update rewrites the outputs)"
            )


def test_pages_have_code_and_no_skipped_python():
    assert len(pages()) >= 15
    for page in pages():
        for block in read_blocks(page.read_text().splitlines(keepends=True)):
            assert block.language in ("python", "text", "bash", ""), (page, block.language)


def test_an_output_that_differs_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nprint(1 + 1)\n```\n\n```text\n3\n```\n")
    [(example, printed)] = run_page(page, tmp_path)
    assert example.output is not None and _normal(printed) != _normal(example.output.code)


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    "module",
    ["srcad.api.grad", "srcad.api.transforms", "srcad.api.checking", "srcad.tools.explain"],
)
def test_docstring_examples_of_the_api_reference_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


def update_outputs() -> None:
    """Rewrite the text block after each python block with what the block prints now."""
    import tempfile

    for page in pages():
        with tempfile.TemporaryDirectory() as workdir:
            results = run_page(page, Path(workdir))
        lines = page.read_text().splitlines(keepends=True)
        for example, printed in reversed(results):
            if example.output is not None:
                body = [line + "\n" for line in _normal(printed).splitlines()]
                lines[example.output.start + 1 : example.output.stop] = body
        page.write_text("".join(lines))
        print(f"updated {page.relative_to(ROOT)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        raise SystemExit("usage: python tests/test_docs_examples.py --update")
    update_outputs()
