"""Shared test settings. Each area (render, deploy, nodes, fleet, review) has its own folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    # pytest-copie renders the template at --template (default "."): make it this repo wherever
    # pytest was started from.
    if getattr(config.option, "template", None) in (None, "."):
        config.option.template = str(REPO_ROOT)
