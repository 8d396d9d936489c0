"""A rendered repo installs its dependencies and passes its own lint and unit tests, with the same
commands its CI workflow runs (read from the rendered workflow, not repeated here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from ruamel.yaml import YAML

from .helpers import answers


def _ci_commands(repo, stack: str) -> list[str]:
    """The `run:` commands of the CI test job, in order."""
    workflow = YAML(typ="safe").load((repo / f".github/workflows/ci-{stack}.yml").read_text())
    return [step["run"] for step in workflow["jobs"]["test"]["steps"] if "run" in step]


def _run_ci(repo, commands: list[str], env: dict[str, str]) -> None:
    for command in commands:
        proc = subprocess.run(
            ["bash", "-eo", "pipefail", "-c", command], cwd=repo, env=env, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, f"CI step failed: {command}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def test_python_app_passes_its_own_ci(copie, tmp_path):
    result = copie.copy(extra_answers=answers(stack="python", database="postgres", e2e=True))
    repo = result.project_dir
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    commands = _ci_commands(repo, "python")
    assert any("pytest" in c for c in commands) and any("ruff check" in c for c in commands)
    _run_ci(repo, commands, env)


@pytest.mark.skipif(shutil.which("npm") is None and os.environ.get("CI") != "true", reason="needs Node.js")
def test_node_app_passes_its_own_ci(copie):
    result = copie.copy(extra_answers=answers(stack="node", database="postgres", e2e=True))
    repo = result.project_dir
    commands = _ci_commands(repo, "node")
    assert commands == ["npm ci --no-audit --no-fund", "npm run lint", "npm run typecheck", "npm test"]
    _run_ci(repo, commands, dict(os.environ))
