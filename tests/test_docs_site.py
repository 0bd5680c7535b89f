"""The documentation site builds with ``mkdocs build --strict``: no warning, no broken link,
every page in the navigation, every API docstring rendered (mkdocstrings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
def test_site_builds_without_warnings(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", site],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert (site / "tutorial" / "01-perturbation" / "index.html").exists()
    api = (site / "reference" / "api" / "index.html").read_text()
    for name in ("srcad.grad", "srcad.explain", "srcad.numerical_grad", "srcad.hvp"):
        assert name in api, name
