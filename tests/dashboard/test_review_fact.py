"""The repo's last LLM review, read from the GitHub test server as the reviewer leaves it there."""

from __future__ import annotations

import time

import pytest

from devops_studio.dashboard import readers
from devops_studio.github_api import GitHubClient
from devops_studio.review.markers import SUMMARY_MARKER, result_marker

from .lab_support import OWNER, DashGitHub

REPO = "shop"
SLUG = f"{OWNER}/{REPO}"
OWNER_TOKEN = "ghp_" + "O" * 36
REVIEWER_TOKEN = "ghp_" + "R" * 36
STRANGER_TOKEN = "ghp_" + "X" * 36
HEAD = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"


@pytest.fixture
def github():
    server = DashGitHub()
    server.add_token(OWNER_TOKEN, login=OWNER)
    server.add_token(REVIEWER_TOKEN, login="selene-reviewer")
    server.add_token(STRANGER_TOKEN, login="stranger")
    server.add_repo(OWNER, REPO, private=False)
    server.add_collaborator(OWNER, REPO, "selene-reviewer")
    with server:
        yield server


def comment(github: DashGitHub, token: str, number: int, body: str) -> None:
    GitHubClient(token, github.url).request("POST", f"/repos/{SLUG}/issues/{number}/comments", {"body": body})


def summary(outcome: str = "reviewed", findings: int = 2) -> str:
    return f"{SUMMARY_MARKER}\n{result_marker(outcome, findings, HEAD, 'qwen3:14b')}\n### 🤖 LLM review\n"


def read(github: DashGitHub) -> dict:
    return readers.last_review(GitHubClient(OWNER_TOKEN, github.url), SLUG)


def test_the_newest_summary_by_the_reviewer_gives_pull_findings_commit_and_model(github):
    old = github.add_pull(OWNER, REPO, head="feature/old", title="Old change")
    new = github.add_pull(OWNER, REPO, head="feature/new", title="New change")
    comment(github, REVIEWER_TOKEN, new["number"], summary(findings=0))
    time.sleep(1.1)  # GitHub's times have whole seconds
    comment(github, REVIEWER_TOKEN, old["number"], summary(findings=3))  # the old pull request is updated last
    fact = read(github)
    assert fact["state"] == "reviewed" and fact["pull"] == old["number"] and fact["findings"] == 3
    assert fact["commit"] == HEAD[:7] and fact["model"] == "qwen3:14b" and fact["author"] == "selene-reviewer"
    assert fact["title"] == "Old change" and fact["url"].startswith("https://github.com/")


def test_a_summary_typed_by_a_stranger_is_not_believed(github):
    reviewed = github.add_pull(OWNER, REPO, head="feature/a")
    forged = github.add_pull(OWNER, REPO, head="feature/b")
    comment(github, REVIEWER_TOKEN, reviewed["number"], summary(findings=4))
    time.sleep(1.1)
    comment(github, STRANGER_TOKEN, forged["number"], summary(findings=0))  # newer, on a public repo
    fact = read(github)
    assert fact["pull"] == reviewed["number"] and fact["findings"] == 4


def test_a_review_the_model_could_not_make_says_so(github):
    pull = github.add_pull(OWNER, REPO, head="feature/a")
    comment(github, REVIEWER_TOKEN, pull["number"], summary("unavailable", 0))
    assert read(github)["state"] == "unavailable"


def test_no_review_on_the_newest_pull_requests(github):
    for n in range(readers.REVIEW_PULLS_LOOKED_AT + 1):
        github.add_pull(OWNER, REPO, head=f"feature/{n}")
    assert read(github) == {"state": "none", "looked_at": readers.REVIEW_PULLS_LOOKED_AT}
