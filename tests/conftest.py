"""Settings shared by every test: a headless matplotlib backend and a fast hypothesis profile."""

from __future__ import annotations

import os

from hypothesis import settings

# No display in CI or on a server: matplotlib must never try to open a window.
os.environ.setdefault("MPLBACKEND", "Agg")

# Random-input tests stay quick and never fail on timing (2 shared cores).
settings.register_profile("labkit", deadline=None, max_examples=50)
settings.load_profile("labkit")
