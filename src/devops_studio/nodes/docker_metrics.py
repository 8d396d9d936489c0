"""`node setup` step "docker metrics": dockerd serves its Engine metrics on loopback for the stack.

Only on the node the monitoring stack runs on. The other keys of `/etc/docker/daemon.json` are kept
as they are; a file that is not valid JSON is left alone (dockerd would refuse it too), and an address
the owner set differently is reported, not overwritten.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from devops_studio.monitoring.targets import Endpoints
from devops_studio.nodes.report import CHANGED, DONE, FAILED, PLANNED, SKIPPED, Report

STEP = "docker metrics"
KEY = "metrics-addr"


def daemon_json() -> Path:
    return Path(os.environ.get("DEVOPS_STUDIO_DOCKER_DAEMON_JSON", "/etc/docker/daemon.json"))


def ensure_metrics_address(report: Report, dry_run: bool, address: str = Endpoints().docker) -> None:
    path = daemon_json()
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        settings = json.loads(text) if text.strip() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        report.add(STEP, FAILED, f"{path} cannot be read as JSON ({error}); it is left as it is. Fix it by hand")
        return
    if not isinstance(settings, dict):
        report.add(STEP, FAILED, f"{path} holds no JSON object; it is left as it is. Fix it by hand")
        return
    current = settings.get(KEY)
    if current == address:
        report.add(STEP, DONE, f"{path}: {KEY} is {address}")
        return
    if current:
        report.add(
            STEP,
            FAILED,
            f"{path}: {KEY} is {current}, but the stack scrapes {address}; it is left as it is. "
            f'Fix: set "{KEY}": "{address}" and restart Docker',
        )
        return
    if dry_run:
        report.add(STEP, PLANNED, f'add "{KEY}": "{address}" to {path} (dockerd reads it when it restarts)')
        return
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        report.add(STEP, SKIPPED, f"writing {path} needs root: run `sudo devops-studio node setup`")
        return
    settings[KEY] = address
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=".daemon.json.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(settings, out, indent=2)
            out.write("\n")
        os.chmod(staging, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(staging, path)  # dockerd reads the old file or the new one, never half of one
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    report.add(
        STEP,
        CHANGED,
        f'added "{KEY}": "{address}" to {path}. dockerd reads it when it restarts: run `systemctl restart '
        'docker` at a quiet moment (containers come back by their restart policy; "live-restore": true keeps '
        "them running)",
    )
