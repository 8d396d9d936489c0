"""What a check is, what it reports, and how it finds the tools it drives."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ruamel.yaml import YAML


@dataclass(frozen=True)
class Finding:
    tool: str
    path: str
    line: int | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"tool": self.tool, "path": self.path, "line": self.line, "message": self.message}


class ToolMissing(Exception):
    """A linter the check needs is not installed."""


def find_tool(name: str) -> str:
    """A linter's executable: next to this Python first (the [lint] extra), then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise ToolMissing(f"{name} is not installed: pip install 'devops-studio[lint]' (or install {name})")
    return found


@dataclass
class LintContext:
    """The rendered repo under check, with its answers."""

    root: Path
    answers: dict[str, object] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> LintContext:
        answers_file = root / ".copier-answers.yml"
        answers = {}
        if answers_file.is_file():
            answers = dict(YAML(typ="safe").load(answers_file.read_text()) or {})
        return cls(root=root, answers=answers)

    def files(self, *patterns: str) -> list[Path]:
        found: set[Path] = set()
        for pattern in patterns:
            found.update(p for p in self.root.glob(pattern) if p.is_file() and not _ignored(p, self.root))
        return sorted(found)

    def rel(self, path: Path | str) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        env.update(kwargs.pop("env", {}))
        for name in kwargs.pop("drop_env", ()):
            env.pop(name, None)
        return subprocess.run(argv, cwd=self.root, capture_output=True, text=True, env=env, check=False, **kwargs)


_IGNORED_DIRS = {".git", "node_modules", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache"}


def _ignored(path: Path, root: Path) -> bool:
    return any(part in _IGNORED_DIRS for part in path.relative_to(root).parts)


class Check:
    """A check of a rendered repo. Subclasses document what they check in their docstring."""

    name: ClassVar[str]

    def applies(self, ctx: LintContext) -> bool:
        return True

    def run(self, ctx: LintContext) -> list[Finding]:
        raise NotImplementedError

    def finding(self, path: Path | str, line: int | None, message: str, ctx: LintContext) -> Finding:
        return Finding(self.name, ctx.rel(path) if path else "", line, message.strip())

    def failed_run(self, proc: subprocess.CompletedProcess[str], ctx: LintContext, path: str = "") -> Finding:
        output = (proc.stdout + proc.stderr).strip() or f"exit status {proc.returncode}"
        return self.finding(path, None, output[-2000:], ctx)
