"""Helpers of the LLM review tests: both API test servers, real git repos, scripted model answers.

A module with its own name (not conftest) so test files import it unambiguously."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "template" / ".github" / "scripts" / "[% if llm_review %]llm_review.py[% endif %]"
sys.path.insert(0, str(ROOT / "tests" / "fakes"))

from github_api import FakeGitHub, parse_diff  # noqa: E402,F401 - parse_diff re-exported for the tests
from ollama_api import ChatReply, OllamaServer, count_tokens  # noqa: E402,F401 - re-exported for the tests

TOKEN = "ghs_review_fixture_token_0123456789"
BOT = "github-actions[bot]"
OWNER, REPO = "octo", "app"
MODEL = "qwen3:14b"
SUMMARY_MARKER = "<!-- devops-studio:llm-review:summary -->"
# A secret the runner has in its environment; it must never reach the model.
RUNNER_SECRET = "s3cr3t-deploy-value-that-must-not-leak"


class ReviewGitHub(FakeGitHub):
    """GitHub as the review sees it, also recording the event of every review submitted.

    The base server already answers 422 "Pull request review thread line must be part of the diff"
    for an inline comment outside the diff once a diff is set. The recorded events let tests check
    that the bot only ever comments (never APPROVE or REQUEST_CHANGES), whatever the model says.
    """

    def create_review(self, req):  # type: ignore[override]
        body = req.body if isinstance(req.body, dict) else {}
        self.review_events = getattr(self, "review_events", []) + [body.get("event")]
        return super().create_review(req)


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "PATH": os.environ["PATH"],
        "HOME": str(cwd),
    }
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


@dataclass
class PullRequest:
    repo_dir: Path
    number: int
    base_sha: str
    head_sha: str


class Workspace:
    """A real git repository with a `main` base and a `feature` head, published as a PR on the fake."""

    def __init__(self, root: Path, github: ReviewGitHub) -> None:
        self.dir = root / "repo"
        self.dir.mkdir()
        self.github = github
        git(self.dir, "init", "-q", "-b", "main")
        git(self.dir, "config", "commit.gpgsign", "false")

    def write(self, files: dict[str, str | bytes]) -> None:
        for name, content in files.items():
            path = self.dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")

    def commit(self, message: str) -> str:
        git(self.dir, "add", "-A")
        git(self.dir, "commit", "-q", "-m", message)
        return git(self.dir, "rev-parse", "HEAD").strip()

    def open_pull(
        self,
        base_files: dict,
        head_files: dict,
        *,
        title: str = "Add a feature",
        body: str = "Adds a feature.",
        head_owner: str = OWNER,
    ) -> PullRequest:
        self.write(base_files)
        base_sha = self.commit("base")
        git(self.dir, "checkout", "-q", "-b", "feature")
        self.write(head_files)
        head_sha = self.commit("feature")
        head = f"{head_owner}:feature" if head_owner != OWNER else "feature"
        pr = self.github.add_pull(OWNER, REPO, head=head, base="main", title=title, body=body)
        self._sync(pr["number"], base_sha, head_sha)
        return PullRequest(self.dir, pr["number"], base_sha, head_sha)

    def push(self, pull: PullRequest, files: dict) -> PullRequest:
        self.write(files)
        head_sha = self.commit("more")
        self._sync(pull.number, pull.base_sha, head_sha)
        return PullRequest(self.dir, pull.number, pull.base_sha, head_sha)

    def _sync(self, number: int, base_sha: str, head_sha: str) -> None:
        with self.github.lock:
            pr = self.github.pulls[f"{OWNER}/{REPO}"][number]
            pr["base"]["sha"], pr["head"]["sha"] = base_sha, head_sha
        # As GitHub shows it: file names unquoted, renames detected.
        diff = git(self.dir, "-c", "core.quotepath=false", "diff", "--find-renames", f"{base_sha}...{head_sha}")
        self.github.set_pull_diff(OWNER, REPO, number, diff)


# ---- helpers for assertions and scripted model answers


def summary_comments(github: FakeGitHub) -> list[dict]:
    return [c for c in github.comments.values() if SUMMARY_MARKER in c["body"]]


def reviews(github: FakeGitHub, number: int = 1) -> list[dict]:
    return github.reviews.get((f"{OWNER}/{REPO}", number), [])


def envelope_lines(body: dict) -> list[tuple[str, int, str]]:
    """(path, new line number, mark) of every diff line the model was shown in a chat request."""
    text = body["messages"][-1]["content"] if body["messages"][-1]["role"] == "user" else ""
    for message in body["messages"]:
        if message["role"] == "user" and "### File:" in message["content"]:
            text = message["content"]
            break
    found, path = [], None
    for line in text.splitlines():
        if line.startswith("### File: "):
            path = line[len("### File: ") :].split(" (renamed", 1)[0]
            continue
        match = re.match(r"^\s*(\d+) ([+ ]) ", line)
        if match and path:
            found.append((path, int(match.group(1)), match.group(2)))
    return found


def answer_with_findings(body: dict) -> str:
    """A good reviewer: one finding on the first added line it was shown, one on a line not in the diff."""
    shown = [(p, n) for p, n, mark in envelope_lines(body) if mark == "+"]
    findings = []
    if shown:
        path, line = shown[0]
        findings.append({"path": path, "line": line, "severity": "warning", "comment": f"Check {path}:{line}."})
        findings.append({"path": path, "line": 100000, "severity": "info", "comment": "Outside the diff."})
    return json.dumps({"summary": "Looks reasonable.", "findings": findings})
