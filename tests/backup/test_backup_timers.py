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


def test_the_inventory_names_the_machine_that_keeps_the_backups(tmp_path, monkeypatch):
    from devops_studio.inventory import load_inventory
    from tests.conftest import REPO_ROOT

    inventory = load_inventory(REPO_ROOT / "examples" / "studio.yml")
    assert inventory.backup is not None and inventory.backup.node == "astraeus"
    monkeypatch.setenv("DEVOPS_STUDIO_SYSTEMD_DIR", str(tmp_path))
    production.ensure_backup_timers(inventory.node("chronos"), Report("setup"), dry_run=False, target=inventory.backup)
    service = (tmp_path / "devops-studio-backup.service").read_text()
    assert "Environment=DEPLOY_BACKUP_REPOSITORY=sftp://studio-backup@astraeus.lan:22//srv/backups/{app}\n" in service


@pytest.mark.parametrize(
    ("section", "key", "words"),
    [
        ("backup: {node: chronos}", "backup.node", "production machine"),
        ("backup: {node: nowhere}", "backup.node", "not a node"),
        ("backup: {node: astraeus, path: /srv/../etc}", "backup.path", "normalised"),
        ("backup: {node: astraeus, user: 'x; rm -rf /'}", "backup.user", "not valid"),
        ("backup: {node: astraeus, port: 0}", "backup.port", "at least 1"),
    ],
)
def test_a_backup_target_that_would_not_protect_anything_is_refused(tmp_path, section, key, words):
    from devops_studio.inventory import InventoryError, load_inventory
    from tests.conftest import REPO_ROOT

    text = (REPO_ROOT / "examples" / "studio.yml").read_text()
    start = text.index("\nbackup:")
    end = text.index("\n\n", start + 1) if "\n\n" in text[start + 1 :] else len(text)
    (tmp_path / "studio.yml").write_text(text[:start] + "\n" + section + "\n" + text[end:])
    with pytest.raises(InventoryError) as refused:
        load_inventory(tmp_path / "studio.yml")
    assert key in str(refused.value) and words in str(refused.value)
