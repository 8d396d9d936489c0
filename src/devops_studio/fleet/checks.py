"""Inspect an updated clone: conflicts, changed files, binary edits.

Copier exits 0 even when it leaves conflicts, so conflicts are found here, from the tree itself:
unmerged index entries, `*.rej` files and conflict markers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from devops_studio.fleet.gitcmd import git, git_bytes

UNMERGED_CODES = {"DD", "AU", "UD", "UA", "DU", "AA", "UU"}
CONFLICT_START = b"<<<<<<< "
CONFLICT_END = b">>>>>>> "


def looks_binary(content: bytes) -> bool:
    """git's own rule: a NUL byte in the first 8000 bytes makes a file binary."""
    return b"\x00" in content[:8000]


@dataclass(frozen=True)
class Change:
    """One path changed by the update, as `git status` reports it (A, M, D)."""

    status: str
    path: str


def changed_paths(clone: Path) -> list[Change]:
    """Paths the update changed in the work tree, untracked files included."""
    out = git("status", "--porcelain=v1", "-z", "--untracked-files=all", cwd=clone)
    changes: list[Change] = []
    entries = out.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if not entry:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":
            i += 1  # the rename source follows as its own entry
        if code in UNMERGED_CODES:
            changes.append(Change("U", path))
        elif code == "??" or "A" in code:
            changes.append(Change("A", path))
        elif "D" in code:
            changes.append(Change("D", path))
        else:
            changes.append(Change("M", path))
    return sorted(changes, key=lambda c: c.path)


def find_conflicts(clone: Path, changes: list[Change]) -> list[str]:
    """Every changed path that holds a conflict: unmerged, a `.rej` file, or conflict markers."""
    conflicts: set[str] = set()
    for change in changes:
        if change.status == "U":
            conflicts.add(change.path)
            continue
        if change.path.endswith(".rej"):
            conflicts.add(change.path[: -len(".rej")])
            continue
        if change.status == "D":
            continue
        path = clone / change.path
        if not path.is_file():
            continue
        content = path.read_bytes()
        if looks_binary(content):
            continue
        lines = content.splitlines()
        if any(line.startswith(CONFLICT_START) for line in lines) and any(
            line.startswith(CONFLICT_END) for line in lines
        ):
            conflicts.add(change.path)
    return sorted(conflicts)


def head_blob(clone: Path, path: str) -> bytes | None:
    """The content of `path` at HEAD, or None if HEAD has no such file."""
    listed = git("ls-tree", "HEAD", "--", path, cwd=clone).strip()
    if not listed:
        return None
    return git_bytes("show", f"HEAD:{path}", cwd=clone)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
