"""doctor's backup check: every app's newest backup and restore drill, read from its status file.

deploy/backup.py records each backup and drill in <apps_dir>/<app>/.deploy/backup/status.json. A
backup counts as verified only when it uploaded and a later drill restored it; doctor fails when
the newest backup or the newest passing drill is older than the limits the app set, or when the
newest drill failed.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

OK, FAIL = "ok", "fail"


def _age_hours(stamp: str, now: dt.datetime) -> float:
    when = dt.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    return (now - when).total_seconds() / 3600


def app_checks(status_file: Path, now: dt.datetime | None = None) -> list[tuple[str, str, str]]:
    now = now or dt.datetime.now(dt.UTC)
    app = status_file.parents[2].name
    try:
        status = json.loads(status_file.read_text())
    except (OSError, json.JSONDecodeError) as error:
        return [(f"backup {app}", FAIL, f"cannot read {status_file}: {error}")]
    max_hours = float(status.get("max_age_hours", 26))
    drill_days = float(status.get("drill_max_age_days", 8))
    good = [b for b in status.get("backups", []) if b.get("ok")]
    drills = status.get("drills", [])
    passed = [d for d in drills if d.get("ok")]
    out = []
    if not good:
        out.append((f"backup {app}", FAIL, "no successful backup yet. Fix: python3 deploy/backup.py backup"))
    else:
        age = _age_hours(good[-1]["time"], now)
        last = status.get("backups", [])[-1]
        why = f"; the last run failed: {last.get('error')}" if not last.get("ok") else ""
        out.append(
            (
                f"backup {app}",
                OK if age <= max_hours else FAIL,
                f"newest backup {good[-1]['time']} ({age:.1f} h old, limit {max_hours:g} h){why}"
                + ("" if age <= max_hours else "; check `systemctl status devops-studio-backup.timer`"),
            )
        )
    if drills and not drills[-1].get("ok"):
        out.append((f"restore drill {app}", FAIL, f"the newest drill failed: {drills[-1].get('error')}"))
    elif not passed:
        out.append((f"restore drill {app}", FAIL, "no backup verified yet. Fix: python3 deploy/backup.py drill"))
    else:
        age = _age_hours(passed[-1]["time"], now) / 24
        out.append(
            (
                f"restore drill {app}",
                OK if age <= drill_days else FAIL,
                f"newest verified backup {passed[-1].get('backup_time', '?')[:19]} "
                f"(drill {age:.1f} days ago, limit {drill_days:g} days)",
            )
        )
    return out


def check_backups(apps_dir: Path, now: dt.datetime | None = None) -> list[tuple[str, str, str]]:
    """One row per app that has backups set up (deploy/backup.py in its directory)."""
    rows = []
    for script in sorted(apps_dir.glob("*/deploy/backup.py")):
        status = script.parents[1] / ".deploy" / "backup" / "status.json"
        if not status.exists():
            rows.append((f"backup {script.parents[1].name}", FAIL, "never backed up: python3 deploy/backup.py backup"))
        else:
            rows.extend(app_checks(status, now))
    return rows
