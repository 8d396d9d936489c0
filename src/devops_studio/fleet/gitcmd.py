"""Run git quietly and non-interactively, with clear errors."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path


class GitError(RuntimeError):
    """A git command failed; the message carries the command and git's own words."""

    def __init__(self, args: list[str], returncode: int, stderr: str) -> None:
        self.returncode = returncode
        self.stderr = stderr.strip()
        super().__init__(redact(f"git {' '.join(args)} failed ({returncode}): {self.stderr}"))


def quiet_git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every git call of the fleet uses.

    No prompts (a missing credential must fail, not hang a worker), no automatic maintenance
    (each `git commit` would otherwise spawn `git maintenance run --auto`), and a fallback
    identity so commits work on a fresh CI machine. `GIT_OPTIONAL_LOCKS=0` stops `git status` from
    refreshing the index of the owner's repo: reading a repo must not write to it.
    """
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env.setdefault("GIT_AUTHOR_NAME", "devops-studio")
    env.setdefault("GIT_AUTHOR_EMAIL", "devops-studio@localhost")
    env.setdefault("GIT_COMMITTER_NAME", env["GIT_AUTHOR_NAME"])
    env.setdefault("GIT_COMMITTER_EMAIL", env["GIT_AUTHOR_EMAIL"])
    if extra:
        env.update(extra)
    return env


def git(
    *args: str,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    input_text: str | None = None,
) -> str:
    """Run `git args...` and return its stdout; raise GitError when `check` and it fails."""
    cmd = ["git", "-c", "maintenance.auto=false", "-c", "gc.auto=0", *args]
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=dict(env) if env is not None else quiet_git_env(),
        capture_output=True,
        text=True,
        input=input_text,
    )
    if check and proc.returncode != 0:
        raise GitError(list(args), proc.returncode, proc.stderr)
    return proc.stdout


def git_ok(*args: str, cwd: Path | str | None = None) -> bool:
    """Run a git predicate (`merge-base --is-ancestor`, ...) and return whether it held."""
    proc = subprocess.run(["git", *args], cwd=cwd, env=quiet_git_env(), capture_output=True, text=True)
    return proc.returncode == 0


def git_bytes(*args: str, cwd: Path | str | None = None, env: Mapping[str, str] | None = None) -> bytes:
    """Run git and return raw stdout (for blobs that may be binary)."""
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=dict(env) if env is not None else quiet_git_env(),
        capture_output=True,
    )
    if proc.returncode != 0:
        raise GitError(list(args), proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout


_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s]+@")


def redact(text: str) -> str:
    """Hide credentials embedded in URLs (`https://user:token@host/...`) before text is shown."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def is_url(location: str) -> bool:
    """Tell a remote git URL (https://, ssh://, git@host:path, file://) from a local path."""
    return "://" in location or (location.startswith("git@") and ":" in location)
