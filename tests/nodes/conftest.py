"""Shared fixtures of the node-setup tests: the GitHub and Ollama test servers live in tests/fakes."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))
