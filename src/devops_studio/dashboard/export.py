"""`dashboard --export DIR`: the same page written as static files, for a web server to publish.

Everything is written into a fresh temporary folder beside DIR, which then replaces DIR in one
rename (the old export is moved aside first and removed after): a reader sees the old export or the
new one, never a half-written mix, and a failed export leaves the old one in place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from devops_studio.dashboard.app import STATIC
from devops_studio.dashboard.lab import Lab
from devops_studio.dashboard.model import Snapshot
from devops_studio.dashboard.render import render_history, render_index
from devops_studio.dashboard.views import build_page
from devops_studio.redact import redact_data


def write_files(root: Path, lab: Lab, snapshot: Snapshot, lang: str, refresh: int, secrets=()) -> None:
    page = build_page(lab, snapshot)
    (root / "index.html").write_text(render_index(page, lang, refresh), encoding="utf-8")
    for app in lab.apps:
        folder = root / "apps" / app
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "history.html").write_text(render_history(page, app, lang, refresh), encoding="utf-8")
    (root / "facts.json").write_text(
        json.dumps(redact_data(snapshot.as_json(), secrets), indent=2) + "\n", encoding="utf-8"
    )
    shutil.copytree(STATIC, root / "static")


def export(target: Path, lab: Lab, snapshot: Snapshot, *, lang: str = "en", refresh: int = 0, secrets=()) -> Path:
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=target.parent))
    old = None
    try:
        write_files(staging, lab, snapshot, lang, refresh, secrets)
        os.chmod(staging, 0o755)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.rename(target, old / "export")
        os.rename(staging, target)
    except BaseException:
        if old is not None and not target.exists() and (old / "export").exists():
            os.rename(old / "export", target)  # put the previous export back
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target
