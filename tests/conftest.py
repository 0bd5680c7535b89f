"""Test settings: the IR verifier runs after every pass, generated code goes to a temp dir."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("SRCAD_VERIFY", "1")
os.environ.setdefault("SRCAD_GENERATED_DIR", tempfile.mkdtemp(prefix="srcad-tests-"))
sys.path.insert(0, str(Path(__file__).parent))
