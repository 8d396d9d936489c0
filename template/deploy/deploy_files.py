"""The release copy: the app directory holds exactly the release's tracked files.

The files placed last time are listed in .deploy/files.json; a file the new release no longer
tracks is removed, so a file deleted from the repo disappears from the box too. The app
directory's own `.env` and `.deploy/` belong to the box: a release that tracks them is refused
before anything is written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath

from deploy_core import AppDir, UsageError, log, write_atomic

MANIFEST = "files.json"


def release_files(source: Path) -> list[str]:
    """Paths of the release: the commit's tracked files in a git checkout, else every file."""
    if (source / ".git").exists():
        proc = subprocess.run(
            ["git", "-C", str(source), "ls-tree", "-r", "-z", "--name-only", "HEAD"],
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            raise UsageError(
                "cannot list the commit's files", str(source), "run it from a git checkout"
            )
        names = [n.decode() for n in proc.stdout.split(b"\0") if n]
    else:
        names = [
            p.relative_to(source).as_posix()
            for p in sorted(source.rglob("*"))
            if p.is_file() or p.is_symlink()
        ]
        names = [n for n in names if not n.startswith(".git/")]
    for name in names:
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts:
            raise UsageError(f"unsafe path {name!r} in the release", str(source), "remove it")
        if parts[0] in (".env", ".deploy"):
            raise UsageError(
                f"the release tracks {parts[0]}, which belongs to the production box",
                name,
                f"git rm --cached {name} and commit; nothing was copied",
            )
    return names


def copy_release(app: AppDir, source: Path) -> None:
    names = release_files(source)
    manifest = app.deploy / MANIFEST
    before = set(json.loads(manifest.read_text())) if manifest.exists() else set()
    for name in names:
        src, dest = source / name, app.root / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        if src.is_symlink():
            os.symlink(os.readlink(src), tmp)
        else:
            shutil.copy2(src, tmp)
        os.replace(tmp, dest)
    gone = sorted(before - set(names))
    for name in gone:
        path = app.root / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        parent = path.parent
        while parent != app.root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    write_atomic(manifest, json.dumps(sorted(names), indent=0) + "\n")
    log(f"placed {len(names)} files of the release in {app.root}; removed {len(gone)}")
