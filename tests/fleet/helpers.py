"""Helpers for fleet tests: git, app repos made from the test template, running the command."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from devops_studio.commands import fleet as fleet_command
from tests.fleet.template_factory import GIT_ENV


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
        env={**os.environ, **GIT_ENV},
    ).stdout



class Apps:
    """Makes app repos from the test template, each with a bare remote `origin`."""

    def __init__(self, root: Path, template: Path) -> None:
        self.root = root
        self.template = template
        (root / "apps").mkdir()
        (root / "remotes").mkdir()

    def make(self, name: str, version: str = "v1.0.0", edits: Callable[[Path], None] | None = None,
             skip_tasks: bool = False, **data: object) -> Path:
        import copier

        path = self.root / "apps" / name
        cwd = os.getcwd()
        try:
            copier.run_copy(str(self.template), path, data={"app_name": name, **data}, vcs_ref=version,
                            defaults=True, unsafe=True, quiet=True, skip_tasks=skip_tasks)
        finally:
            os.chdir(cwd)
        git(path, "init", "-q", "-b", "main")
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"Generate {name} from the template {version}")
        if edits:
            edits(path)
            git(path, "add", "-A")
            git(path, "commit", "-q", "-m", "Owner's edits")
        remote = self.remote(name)
        git(self.root, "init", "-q", "--bare", str(remote))
        git(path, "remote", "add", "origin", str(remote))
        git(path, "push", "-q", "origin", "main")
        return path

    def remote(self, name: str) -> Path:
        return self.root / "remotes" / f"{name}.git"


def run_fleet(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict | list | None, str]:
    """Run `devops-studio fleet ...` in-process; returns (exit code, parsed JSON or None, stderr)."""
    parser = argparse.ArgumentParser(prog="devops-studio")
    fleet_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["fleet", *argv])
    capsys.readouterr()
    code = args.func(args)
    out, err = capsys.readouterr()
    data = json.loads(out) if "--json" in argv and out.strip() else None
    return code, data, out + err


def remote_refs(remote: Path) -> dict[str, str]:
    out = git(remote, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ", 1) for line in out.splitlines())


def inventory_for(owner: str, repos: list[str]) -> str:
    """The example studio.yml, naming `owner` and `repos` as its app repos (runners scoped to the first)."""
    from tests.conftest import REPO_ROOT

    text = (REPO_ROOT / "examples" / "studio.yml").read_text()
    text = text.replace("owner: chronos-lab", f"owner: {owner}", 1)
    text = text.replace("    - todo-auth-app\n    - some-api\n", "".join(f"    - {r}\n" for r in repos), 1)
    return text.replace("repo: todo-auth-app", f"repo: {repos[0]}")
