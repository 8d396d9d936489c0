"""`node setup`'s backup timers: written once, persistent, and accepted by systemd-analyze verify."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from devops_studio.nodes import production
from devops_studio.nodes.report import CHANGED, DONE, Report


class _Node:
    apps_dir = "/srv/apps"
    deploy_user = "root"


def test_timers_are_persistent_verified_and_idempotent(tmp_path, monkeypatch):
    monkeypatch.setenv("DEVOPS_STUDIO_SYSTEMD_DIR", str(tmp_path))
    report = Report("setup")
    production.ensure_backup_timers(_Node(), report, dry_run=False)
    assert report.outcomes[-1].status == CHANGED, report.outcomes[-1].detail
    for timer in production.BACKUP_UNITS:
        assert "Persistent=true" in (tmp_path / timer).read_text()
    service = (tmp_path / "devops-studio-backup.service").read_text()
    assert "/srv/apps/*/deploy/backup.py" in service and "backup --kind scheduled || rc=1" in service
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (apt-get install systemd)")
    proc = subprocess.run(
        ["systemd-analyze", "verify", *(str(p) for p in sorted(tmp_path.iterdir()))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    again = Report("setup")
    production.ensure_backup_timers(_Node(), again, dry_run=False)
    assert again.outcomes[-1].status == DONE
