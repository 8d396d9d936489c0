"""A rendered repo installs its dependencies and passes its own lint and unit tests, with the same
commands its CI workflow runs (read from the rendered workflow, not repeated here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata

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
    # The runner's Python stands in for setup-python's; uv builds the app's .venv from it.
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "UV_PYTHON": sys.executable}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"):
        env.pop(name, None)
    commands = _ci_commands(repo, "python")
    assert commands[0].startswith('python -m pip install "uv==')
    assert "uv lock --check" in commands and "uv sync --locked --extra postgres" in commands
    for tool in ("ruff check", "ruff format --check", "mypy", "pytest"):
        assert any(c.startswith("uv run --no-sync ") and tool in c for c in commands), tool
    _run_ci(repo, commands, env)
    # Installed from the lock: the app's .venv holds exactly the versions uv.lock pins.
    _assert_matches_lock(repo)


def _assert_matches_lock(repo) -> None:
    locked = {p["name"]: p["version"] for p in tomllib.loads((repo / "uv.lock").read_text())["package"]}
    site = next((repo / ".venv/lib").glob("python3*/site-packages"))
    distributions = metadata.distributions(path=[str(site)])
    installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in distributions}
    assert installed, "nothing installed in the app's .venv"
    for name, version in installed.items():
        assert locked.get(name) == version, f"{name} {version} is not the locked {locked.get(name)}"


@pytest.mark.skipif(shutil.which("npm") is None and os.environ.get("CI") != "true", reason="needs Node.js")
def test_node_app_passes_its_own_ci(copie):
    result = copie.copy(extra_answers=answers(stack="node", database="postgres", e2e=True))
    repo = result.project_dir
    commands = _ci_commands(repo, "node")
    assert commands == ["npm ci --no-audit --no-fund", "npm run lint", "npm run typecheck", "npm test"]
    _run_ci(repo, commands, dict(os.environ))
