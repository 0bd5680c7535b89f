"""Lowering: the checked ``ast`` of a function → an SSA ``Graph``.

``function`` lowers statements and expressions; ``control`` lowers ``if``, ``for`` and
``while`` into structured control-flow equations whose bodies are sub-graphs.
"""

from __future__ import annotations

from srcad.lower.function import LoweredFunction, lower_function

__all__ = ["LoweredFunction", "lower_function"]
