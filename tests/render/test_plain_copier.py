"""A new user's `copier copy` works exactly as the README documents it (Copier run through uvx with the
extension package beside it), against this checkout as the template."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

from .helpers import run


def documented_uvx_command() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"^uvx --with copier-template-extensions copier copy .*$", readme, re.M)
    assert match, "README.md no longer documents the uvx command"
    return shlex.split(match[0])


def uvx() -> str:
    beside = Path(sys.executable).parent / "uvx"
    found = str(beside) if beside.is_file() else shutil.which("uvx")
    assert found, "uvx is missing: pip install -e '.[test]' installs uv"
    return found


def test_documented_uvx_command_renders_the_template(tmp_path):
    argv = documented_uvx_command()
    dest = tmp_path / "my-app"
    argv = [uvx() if a == "uvx" else str(REPO_ROOT) if a.startswith("gh:") else str(dest) if a == "my-app" else a
            for a in argv]  # fmt: skip
    run([*argv, "--defaults", "--data", "app_name=plain-copier-app", "--vcs-ref", "HEAD"], cwd=tmp_path)
    assert (dest / ".copier-answers.yml").is_file()
    assert "plain-copier-app" in (dest / "deploy" / "deploy.json").read_text()
