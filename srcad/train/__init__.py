"""Training helper: MLP losses written as Python source, differentiated by srcad.

Uses only the public API (``srcad.value_and_grad``).
"""

from __future__ import annotations

from srcad.train.mlp import init_params, make_loss, predict

__all__ = ["init_params", "make_loss", "predict"]
