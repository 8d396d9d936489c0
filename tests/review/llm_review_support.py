"""Helpers of the review tests: both API test servers, real git repos for the diffs, scripted answers.

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
sys.path.insert(0, str(ROOT / "tests" / "fakes"))

from github_api import REPO as REPO_ROUTE  # noqa: E402
from github_api import ApiError, FakeGitHub, Request, Response, parse_diff  # noqa: E402,F401
from ollama_api import ChatReply, OllamaServer, count_tokens  # noqa: E402,F401 - re-exported for the tests

from devops_studio.review.markers import SUMMARY_MARKER  # noqa: E402,F401

TOKEN = "ghs_review_fixture_token_0123456789"
BOT = "selene-reviewer"
OWNER, REPO = "octo", "app"
FULL = f"{OWNER}/{REPO}"
MODEL = "qwen3:14b"
BODY_LIMIT = 65_536


class ReviewGitHub(FakeGitHub):
    """GitHub as the reviewer sees it: commit statuses, collaborator permissions, body limits.

    Follows GitHub's REST docs: `POST /repos/{o}/{r}/statuses/{sha}` (state error|failure|pending|
    success, context, description), `GET /repos/{o}/{r}/collaborators/{user}/permission` (404 for a
    user who is no collaborator), and 422 for a comment or review body over 65,536 characters.
    """

    ROUTES = FakeGitHub.ROUTES + [
        ("POST", REPO_ROUTE + r"/statuses/(?P<sha>[0-9a-f]{40})", "create_status"),
        ("GET", REPO_ROUTE + r"/collaborators/(?P<user>[^/]+)/permission", "get_permission"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[dict] = []
        self.permissions: dict[str, str] = {}
        self.review_events: list = []

    @staticmethod
    def _check_body(req: Request, name: str = "body") -> None:
        body = req.body if isinstance(req.body, dict) else {}
        if isinstance(body.get(name), str) and len(body[name]) > BODY_LIMIT:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "IssueComment",
                        "code": "custom",
                        "field": name,
                        "message": "body is too long (maximum is 65536 characters)",
                    }
                ],
            )

    def create_issue_comment(self, req):  # type: ignore[override]
        self._check_body(req)
        return super().create_issue_comment(req)

    def update_issue_comment(self, req):  # type: ignore[override]
        self._check_body(req)
        return super().update_issue_comment(req)

    def create_review(self, req):  # type: ignore[override]
        self._check_body(req)
        body = req.body if isinstance(req.body, dict) else {}
        self.review_events.append(body.get("event"))
        return super().create_review(req)

    def create_status(self, req: Request) -> Response:
        self.require_repo(req)
        body = req.body if isinstance(req.body, dict) else {}
        if body.get("state") not in ("error", "failure", "pending", "success"):
            raise ApiError(
                422, "Validation Failed", errors=[{"resource": "Status", "field": "state", "code": "invalid"}]
            )
        status = {"sha": req.params["sha"], "creator": {"login": req.login}, **body}
        self.statuses.append(status)
        return Response(201, status)

    def get_permission(self, req: Request) -> Response:
        self.require_repo(req)
        permission = self.permissions.get(req.params["user"])
        if permission is None:
            raise ApiError(404, f"{req.params['user']} is not a user")
        return Response(200, {"permission": permission, "user": {"login": req.params["user"]}})

    def comment(self, number: int, login: str, body: str) -> int:
        with self.lock:
            comment_id = self.next_id()
            self.comments[comment_id] = {
                "id": comment_id,
                "body": body,
                "user": {"login": login},
                "author_association": self.association(FULL, login),
                "_repo": FULL,
                "_number": number,
            }
        return comment_id


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com", "GIT_COMMITTER_NAME": "Dev",
           "GIT_COMMITTER_EMAIL": "dev@example.com", "PATH": os.environ["PATH"], "HOME": str(cwd)}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


@dataclass
class PullRequest:
    number: int
    base_sha: str
    head_sha: str


class Workspace:
    """A real git repository whose `main`...`feature` diff is published on the fake as a pull request.

    git only makes the diff the fake serves (as GitHub would); the reviewer never sees this folder."""

    def __init__(self, root: Path, github: ReviewGitHub) -> None:
        self.dir = root / "repo"
        self.dir.mkdir()
        self.github = github
        git(self.dir, "init", "-q", "-b", "main")

    def write(self, files: dict[str, str | bytes]) -> None:
        for name, content in files.items():
            path = self.dir / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content, encoding="utf-8")

    def commit(self, message: str) -> str:
        git(self.dir, "add", "-A")
        git(self.dir, "-c", "commit.gpgsign=false", "commit", "-q", "-m", message)
        return git(self.dir, "rev-parse", "HEAD").strip()

    def open_pull(
        self,
        base_files: dict,
        head_files: dict,
        *,
        title: str = "Add a feature",
        body: str = "Adds a feature.",
        head_owner: str = OWNER,
        association: str = "OWNER",
        draft: bool = False,
    ) -> PullRequest:
        self.write(base_files)
        base_sha = self.commit("base")
        git(self.dir, "checkout", "-q", "-b", "feature")
        self.write(head_files)
        head_sha = self.commit("feature")
        head = f"{head_owner}:feature" if head_owner != OWNER else "feature"
        self.github.attach_git(OWNER, REPO, self.dir)
        pr = self.github.add_pull(OWNER, REPO, head=head, base="main", title=title, body=body, draft=draft)
        with self.github.lock:
            self.github.pulls[FULL][pr["number"]]["author_association"] = association
        self._sync(pr["number"], base_sha, head_sha)
        return PullRequest(pr["number"], base_sha, head_sha)

    def push(self, pull: PullRequest, files: dict) -> PullRequest:
        self.write(files)
        head_sha = self.commit("more")
        self._sync(pull.number, pull.base_sha, head_sha)
        return PullRequest(pull.number, pull.base_sha, head_sha)

    def _sync(self, number: int, base_sha: str, head_sha: str) -> None:
        # The fake computes the diff GitHub would show from the repository itself (base...head of
        # the branches); nothing here tells it what the diff is.
        with self.github.lock:
            pr = self.github.pulls[FULL][number]
            self.github._follow_refs(FULL, pr)
            assert (pr["base"]["sha"], pr["head"]["sha"]) == (base_sha, head_sha)


def summary_comments(github: FakeGitHub) -> list[dict]:
    return [c for c in github.comments.values() if SUMMARY_MARKER in c["body"] and c["user"]["login"] == BOT]


def reviews(github: FakeGitHub, number: int = 1, login: str = BOT) -> list[dict]:
    return [r for r in github.reviews.get((FULL, number), []) if r["user"]["login"] == login]


def envelope_lines(body: dict) -> list[tuple[str, int, str]]:
    """(path, new line number, mark) of every diff line the model was shown in a chat request."""
    text = next((m["content"] for m in body["messages"] if m["role"] == "user" and "### File:" in m["content"]), "")
    found, path = [], None
    for line in text.splitlines():
        if line.startswith("### File: "):
            path = re.split(r" \(renamed| \[CI/CD", line[len("### File: ") :], maxsplit=1)[0]
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
