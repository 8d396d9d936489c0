"""Fixtures of the monitoring tests: the stack rendered for examples/studio.yml, and the real tools.

Prometheus, Alertmanager and the exporters come from Debian's packages (tests/infra/monitoring.sh).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devops_studio.monitoring import config, render
from tests.conftest import IN_CI, REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "studio.yml"
TOOLS = {
    "promtool": "promtool",
    "amtool": "amtool",
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "blackbox": "prometheus-blackbox-exporter",
    "node_exporter": "prometheus-node-exporter",
}


def tool(name: str) -> str:
    """The path of a Debian monitoring tool; missing fails in CI and skips elsewhere."""
    found = shutil.which(TOOLS[name])
    if found:
        return found
    message = f"{TOOLS[name]} is not installed; run: sudo bash tests/infra/monitoring.sh"
    if IN_CI:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def studio() -> config.Studio:
    return config.load(EXAMPLE)


@pytest.fixture(scope="session")
def rendered(studio, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("monitoring")
    render.render(studio, out)
    return out
