"""``python -m srcad`` runs the command line."""

from __future__ import annotations

import sys

from srcad.cli import main

sys.exit(main())
