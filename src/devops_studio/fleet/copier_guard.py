"""Run `copier update` inside a fleet worker process, with Copier's sharp edges guarded.

Copier 9.x renders the old template version into a temporary copy, renders the new version over
the repo, re-applies the owner's diff, and finally deletes every file the old version had and the
new one lacks. Two owner edits do not survive that on their own:

- a file the new version drops is deleted even when the owner edited it;
- an edited binary file is silently reset, because the owner's diff of a binary cannot be
  re-applied as a text patch.

Both need the old rendering to tell "edited by the owner" from "as generated", and Copier holds it
only while it runs. So `guarded_update` wraps Copier's internal `_remove_old_files` for the duration
of one update: right before the deletion it records, for every file of the old rendering, whether
it is binary and whether the new rendering changed it, and it keeps the owner's edited files that
would be deleted. The worker then restores or reports binary edits (see `checks`).

The worker process also memoises template checkouts (`install_checkout_cache`): a plain update
clones the template five times (new version, old version, old copy, current copy, new copy).
Every clone of the same template commit yields the same tree, so the first one per process is kept
and later ones are copied from it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from devops_studio.fleet.checks import looks_binary


@dataclass
class OldRendering:
    """What the guard learnt about the old rendering during one update."""

    # Relative path -> (sha256 of the old rendering, sha256 of the new rendering or None if dropped),
    # for binary files only.
    binary_files: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # Files the new version drops that the owner edited; kept in the repo.
    dropped_but_edited: list[str] = field(default_factory=list)
    # Files the new version drops that were as generated; Copier deleted them.
    dropped: list[str] = field(default_factory=list)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files_under(root: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            files[path.relative_to(root).as_posix()] = path
    return files


def guarded_update(dst: Path, vcs_ref: str) -> OldRendering:
    """Run `copier.run_update` in `dst` to `vcs_ref` with defaults; return what the guard saw.

    Raises whatever Copier raises (a failing `_tasks` command raises `TaskError`); the caller
    treats any exception as an `error` and throws the clone away.
    """
    import copier
    from copier import _main as copier_main

    seen = OldRendering()
    original = copier_main._remove_old_files
    depth = {"n": 0}

    def remove_old_files_keeping_edits(prefix, cmp, rm_common=False):  # noqa: ANN001, ANN202
        if depth["n"]:
            return original(prefix, cmp, rm_common)
        depth["n"] += 1
        try:
            old_files = _files_under(Path(cmp.left))
            new_files = _files_under(Path(cmp.right))
            kept: dict[str, bytes] = {}
            for rel, old_path in old_files.items():
                old_bytes = old_path.read_bytes()
                new_path = new_files.get(rel)
                if looks_binary(old_bytes):
                    new_digest = _digest(new_path) if new_path else None
                    seen.binary_files[rel] = (hashlib.sha256(old_bytes).hexdigest(), new_digest)
                if new_path is not None:
                    continue
                current = Path(prefix, rel)
                if current.is_file() and not current.is_symlink():
                    current_bytes = current.read_bytes()
                    if current_bytes != old_bytes:
                        kept[rel] = current_bytes
                        seen.dropped_but_edited.append(rel)
                    else:
                        seen.dropped.append(rel)
            result = original(prefix, cmp, rm_common)
            for rel, content in kept.items():
                target = Path(prefix, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            return result
        finally:
            depth["n"] -= 1

    copier_main._remove_old_files = remove_old_files_keeping_edits
    try:
        copier.run_update(
            dst_path=dst,
            vcs_ref=vcs_ref,
            defaults=True,
            overwrite=True,
            skip_answered=True,
            unsafe=True,
            quiet=True,
            conflict="inline",
        )
    finally:
        copier_main._remove_old_files = original
    seen.dropped_but_edited.sort()
    seen.dropped.sort()
    return seen


def install_checkout_cache(cache_root: Path) -> None:
    """Make Copier reuse one checkout per (template URL, ref) in this process.

    A clone is made once into `cache_root` with Copier's own `clone`, then copied for each later
    request; Copier deletes its copies as usual. Every URL reaches the run's mirror, fetched once
    before the workers start, so a ref names the same commit for the whole run.
    """
    from copier import _template as copier_template

    original_clone = copier_template.clone
    if getattr(original_clone, "__fleet_cached__", False):
        return
    cache_root.mkdir(parents=True, exist_ok=True)
    made: dict[tuple[str, str], Path] = {}

    def cached_clone(url: str, ref: str = "HEAD", location: str | None = None) -> str:
        if ref == "HEAD" or not ref:
            return original_clone(url, ref, location)
        key = (str(url), ref)
        cached = made.get(key)
        if cached is None:
            slot = cache_root / hashlib.sha256(repr(key).encode()).hexdigest()[:16]
            if slot.exists():
                shutil.rmtree(slot)
            slot.mkdir()
            original_clone(url, ref, str(slot))
            made[key] = cached = slot
        if location is None:
            import tempfile

            location = tempfile.mkdtemp(prefix="copier._vcs.clone.")
        shutil.copytree(cached, location, symlinks=True, dirs_exist_ok=True)
        return location

    cached_clone.__fleet_cached__ = True  # type: ignore[attr-defined]
    copier_template.clone = cached_clone
