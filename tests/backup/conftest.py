"""Fixtures of the backup tests: the deploy tests' loopback box plus the SFTP backup target."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import base_dir, infra, nginx  # noqa: F401  (shared fixtures)

TARGET = Path("/var/lib/devops-studio/backup-target")
INFRA = Path(__file__).resolve().parents[1] / "infra" / "backup.sh"


@pytest.fixture(scope="session")
def backup_target(infra) -> Path:  # noqa: F811
    proc = subprocess.run(["bash", str(INFRA)], text=True, capture_output=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"tests/infra/backup.sh failed:\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return TARGET
