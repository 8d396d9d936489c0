"""Small helpers for render tests: answer sets, rendering and linting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devops_studio.lint import ALL_CHECKS, LintContext, run_checks

BASE_ANSWERS = {"app_name": "sample-app", "github_owner": "studio-tests"}


def answers(**overrides: object) -> dict[str, object]:
    return {**BASE_ANSWERS, **overrides}


def lint(path: Path) -> dict[str, list[str]]:
    """Findings per check, as readable strings (empty lists when clean)."""
    results = run_checks(LintContext.load(path), ALL_CHECKS)
    return {name: [f"{f.path}:{f.line}: {f.message}" for f in found] for name, found in results.items()}


def all_findings(path: Path) -> list[str]:
    return [f"[{name}] {line}" for name, lines in lint(path).items() for line in lines]


def studio(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the devops-studio CLI as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "devops_studio", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def run(argv: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False, **kwargs)
    assert proc.returncode == 0, f"{' '.join(argv)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}"
    return proc
