"""``srcad demo``, the README's main job: it shows a gradient and trains an MLP."""

from __future__ import annotations

import re

from srcad.cli import main


def test_srcad_demo_shows_the_generated_gradient_and_trains(capsys):
    assert main(["demo", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "def " in out and "# backward" in out  # the generated gradient, with its comments
    accuracy = float(re.search(r"test accuracy ([0-9.]+)%", out).group(1))
    assert accuracy > 80.0, out[-400:]
