"""The fleet's loss matrix: every kind of file x what the template did x what the owner did.

One template holds one path per cell (`cells/<kind>-<template>-<owner>`), so a single update of a
single app repo exercises every cell at once; `outcome()` then says for each cell whether the
owner's work is in the result (`kept`), flagged so the owner can act on it (`flagged`: the path is
named in the report and the owner's version is still on the base branch), or gone without a word
(`LOST`). The same cells are run through plain `copier update` for comparison.

Kinds: a text file, a binary file, an empty file, an executable script, a symlink, a text file
with CRLF line endings and one without a final newline. Template events between v1 and v2: the
path is left alone, changed, deleted, renamed (moved to `<path>.moved`) or added. Owner events: the
owner leaves it alone, edits it, deletes it, flips its executable bit (text and script only) or,
where the template adds the path, adds the same path first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.fleet.template_factory import GIT_ENV, git

KINDS = ("text", "binary", "empty", "script", "symlink", "crlf", "no-eol")
TEMPLATE_EVENTS = ("unchanged", "changed", "deleted", "renamed", "added")
OWNER_EVENTS = ("untouched", "edited", "deleted", "chmod", "added")

KEPT, FLAGGED, LOST, NOT_APPLICABLE = "kept", "flagged", "LOST", "n/a"

COPIER_YML = """\
_subdirectory: template
_templates_suffix: .jinja
_preserve_symlinks: true

app_name:
  type: str
  default: demo
"""
ANSWERS_TEMPLATE = "# Changes here will be overwritten by Copier\n{{ _copier_answers|to_nice_yaml }}"
ANSWERS_JINJA = "template/{{ _copier_conf.answers_file }}.jinja"
TEXT_LINES = [f"line {n} of the template's file" for n in range(1, 9)]


@dataclass(frozen=True)
class Cell:
    kind: str
    template: str
    owner: str

    @property
    def path(self) -> str:
        return f"cells/{self.kind}-{self.template}-{self.owner}"

    @property
    def owner_edits_content(self) -> bool:
        return self.owner in ("edited", "added")


def cells() -> list[Cell]:
    """Every meaningful cell: the owner can add a path only where v1 did not have it."""
    found = []
    for kind in KINDS:
        for template in TEMPLATE_EVENTS:
            for owner in OWNER_EVENTS:
                if template == "added":
                    possible = owner in ("untouched", "added")
                else:
                    possible = owner != "added" and (owner != "chmod" or kind in ("text", "script"))
                if possible:
                    found.append(Cell(kind, template, owner))
    return found


# ---- contents ---------------------------------------------------------------------------------


def _text(lines: list[str], eol: str = "\n", final: bool = True) -> bytes:
    return (eol.join(lines) + (eol if final else "")).encode()


def template_content(kind: str, version: int) -> bytes | str:
    """The file as the template ships it in `version` (1 or 2); a str is a symlink target."""
    first = "line 1 of the template's file" if version == 1 else "line 1, as version 2 words it"
    lines = [first, *TEXT_LINES[1:]]
    if kind in ("text", "script"):
        head = ["#!/bin/sh"] if kind == "script" else []
        return _text(head + lines)
    if kind == "crlf":
        return _text(lines, eol="\r\n")
    if kind == "no-eol":
        return _text(lines, final=False)
    if kind == "binary":
        return b"\x89BIN\x00" + bytes(range(256)) + bytes([version])
    if kind == "empty":
        return b"" if version == 1 else b"now with content\n"
    if kind == "symlink":
        return f"target-{version}"
    raise ValueError(kind)


def owner_content(kind: str, cell: Cell) -> bytes | str:
    """What the owner writes: an edit of the last line (text kinds), or their own bytes."""
    marker = f"the owner's own line for {cell.path}"
    if kind in ("text", "script", "crlf", "no-eol"):
        base = template_content(kind, 1)
        assert isinstance(base, bytes)
        eol = b"\r\n" if kind == "crlf" else b"\n"
        lines = base.split(eol)
        if kind == "no-eol":
            return eol.join([*lines[:-1], marker.encode()])
        return eol.join([*lines[:-2], marker.encode(), b""])
    if kind == "binary":
        return b"\x89BIN\x00owner" + cell.path.encode() + bytes(32)
    if kind == "empty":
        return (marker + "\n").encode()
    if kind == "symlink":
        return "target-owner"
    raise ValueError(kind)


def owner_marker(cell: Cell) -> bytes | str:
    """What must be found in the result for the owner's edit to count as kept."""
    content = owner_content(cell.kind, cell)
    if cell.kind in ("text", "script", "crlf", "no-eol"):
        marker = f"the owner's own line for {cell.path}".encode()
        return marker + (b"\r\n" if cell.kind == "crlf" else b"" if cell.kind == "no-eol" else b"\n")
    return content


def _place(path: Path, content: bytes | str, executable: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    if isinstance(content, str):
        path.symlink_to(content)
        return
    path.write_bytes(content)
    path.chmod(0o755 if executable else 0o644)


# ---- the template and the app repo -----------------------------------------------------------


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)


def build_matrix_template(root: Path, all_cells: list[Cell]) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "copier.yml").write_text(COPIER_YML)
    answers = root / ANSWERS_JINJA
    answers.parent.mkdir(parents=True)
    answers.write_text(ANSWERS_TEMPLATE)
    tree = root / "template"
    # Symlinks point at real files beside them (Copier stats a path both sides added, so a dangling
    # owner symlink there stops `copier update` itself).
    for version in (1, 2):
        _place(tree / "cells" / f"target-{version}", f"symlink target {version}\n".encode(), False)
    for cell in all_cells:
        if cell.template != "added":
            _place(tree / cell.path, template_content(cell.kind, 1), cell.kind == "script")
    _commit_all(root, "v1")
    git(root, "tag", "-a", "v1.0.0", "-m", "v1.0.0")
    for cell in all_cells:
        target = tree / cell.path
        if cell.template == "changed":
            _place(target, template_content(cell.kind, 2), cell.kind == "script")
        elif cell.template == "deleted":
            target.unlink()
        elif cell.template == "renamed":
            target.rename(target.with_name(target.name + ".moved"))
        elif cell.template == "added":
            _place(target, template_content(cell.kind, 2), cell.kind == "script")
    _commit_all(root, "v2")
    git(root, "tag", "-a", "v2.0.0", "-m", "v2.0.0")
    return root


def make_owner_repo(template: Path, dest: Path, all_cells: list[Cell]) -> Path:
    """The app repo at v1 with every owner event applied and committed, pushed to a bare remote."""
    import copier

    copier.run_copy(
        str(template), dest, data={"app_name": "matrix"}, vcs_ref="v1.0.0", defaults=True, unsafe=True, quiet=True
    )
    git(dest, "init", "-q", "-b", "main")
    _commit_all(dest, "Generate from v1.0.0")
    _place(dest / "cells" / "target-owner", b"the owner's symlink target\n", False)
    for cell in all_cells:
        path = dest / cell.path
        if cell.owner in ("edited", "added"):
            _place(path, owner_content(cell.kind, cell), cell.kind == "script")
        elif cell.owner == "deleted":
            path.unlink()
        elif cell.owner == "chmod":
            path.chmod(0o644 if cell.kind == "script" else 0o755)
    _commit_all(dest, "The owner's edits")
    remote = dest.parent / f"{dest.name}.git"
    git(dest.parent, "init", "-q", "--bare", str(remote))
    git(dest, "remote", "add", "origin", str(remote))
    git(dest, "push", "-q", "origin", "main")
    return dest


def plain_copier_update(repo: Path) -> None:
    """What a person gets from `copier update` on a clean tree (inline conflict markers)."""
    env = {**os.environ, **GIT_ENV}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "update",
            "--defaults",
            "--trust",
            "--vcs-ref",
            "v2.0.0",
            "--conflict",
            "inline",
            ".",
        ],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    _commit_all(repo, "copier update")


# ---- reading the outcome ---------------------------------------------------------------------


@dataclass
class Tree:
    """A committed tree: path -> (content or symlink target, executable)."""

    files: dict[str, tuple[bytes | str, bool]]

    @classmethod
    def at(cls, repo: Path, ref: str) -> Tree:
        out = subprocess.run(["git", "ls-tree", "-r", "-z", ref], cwd=repo, check=True, capture_output=True).stdout
        files: dict[str, tuple[bytes | str, bool]] = {}
        for entry in out.split(b"\0"):
            if not entry:
                continue
            meta, path = entry.split(b"\t", 1)
            mode, _, sha = meta.split(b" ")
            blob = subprocess.run(["git", "cat-file", "blob", sha], cwd=repo, check=True, capture_output=True).stdout
            content: bytes | str = blob.decode() if mode == b"120000" else blob
            files[path.decode()] = (content, mode == b"100755")
        return cls(files)


def _holds(found: tuple[bytes | str, bool] | None, cell: Cell) -> bool:
    if found is None:
        return False
    content, executable = found
    marker = owner_marker(cell)
    if isinstance(marker, str) or cell.kind in ("binary", "empty"):
        same = content == marker
    else:
        same = isinstance(content, bytes) and marker in content
    want_exec = cell.kind == "script"
    return same and (cell.kind == "symlink" or executable == want_exec)


def outcome(cell: Cell, result: Tree, flagged_paths: set[str]) -> str:
    """kept, flagged or LOST for the owner's side of `cell` (n/a when the owner did nothing)."""
    found = result.files.get(cell.path)
    if found is None and cell.template == "renamed" and cell.owner != "deleted":
        # The owner's edit may follow the move; a deletion is of the old path, which must stay gone
        # (the moved file is the template's new file).
        found = result.files.get(cell.path + ".moved")
    if cell.owner == "untouched":
        return NOT_APPLICABLE
    if cell.owner_edits_content:
        if _holds(found, cell):
            return KEPT
    elif cell.owner == "deleted":
        if found is None:
            return KEPT
    elif cell.owner == "chmod":
        want = cell.kind != "script"  # the owner made the text executable, or the script not
        if found is not None and found[1] == want:
            return KEPT
    return FLAGGED if cell.path in flagged_paths else LOST
