"""`dashboard --export DIR`: the same page as static files, written whole or not at all."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from devops_studio.dashboard.page import render
from devops_studio.dashboard.sources import Snapshot

STATIC = Path(__file__).parent / "static"


def export(snapshot: Snapshot, dest: Path, *, lang: str = "en") -> Path:
    """Write index.html and static/ into a sibling temp folder, then swap it in for `dest`."""
    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        (staging / "index.html").write_text(render(snapshot, lang=lang, refresh_seconds=None), encoding="utf-8")
        shutil.copytree(STATIC, staging / "static")
        staging.chmod(0o755)
        old = None
        if dest.exists():
            old = dest.with_name(f".{dest.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            dest.rename(old)
        staging.rename(dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest
