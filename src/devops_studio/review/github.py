"""The reviewer's only door to GitHub: a small adapter over the CLI's GitHub client facade.

Every call is a REST call with JSON in and out; nothing is cloned or checked out. The adapter knows
the reviewer's own login (GET /user), which is what makes a marker count (`markers.ours`).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from devops_studio import github_api
from devops_studio.review import markers

GitHubError = github_api.GitHubError
# The facade is `GitHubClient(token, base_url)` with `.request` and `.paginate`; older releases of
# the module call the same class `GitHub`.
_Client = getattr(github_api, "GitHubClient", None) or github_api.GitHub

WRITE_PERMISSIONS = ("admin", "maintain", "write")
STATUS_CONTEXT = "llm-review"


class ReviewGitHub:
    def __init__(self, token: str, base_url: str) -> None:
        self._client = _Client(token, base_url)
        self._login: str | None = None

    def __repr__(self) -> str:
        return "ReviewGitHub()"

    def login(self) -> str:
        if self._login is None:
            self._login = str((self._client.request("GET", "/user") or {}).get("login") or "")
            if not self._login:
                raise GitHubError("GET /user gave no login; the token cannot identify the reviewer")
        return self._login

    def open_pulls(self, repo: str) -> list[dict[str, Any]]:
        return self._client.paginate(f"/repos/{repo}/pulls?state=open")

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        return self._client.request("GET", f"/repos/{repo}/pulls/{number}")

    def files(self, repo: str, number: int) -> list[dict[str, Any]]:
        return self._client.paginate(f"/repos/{repo}/pulls/{number}/files")

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        return self._client.paginate(f"/repos/{repo}/issues/{number}/comments")

    def can_write(self, repo: str, user: str) -> bool:
        """Whether `user` may push to `repo`: only they may ask for a review with /review."""
        path = f"/repos/{repo}/collaborators/{urllib.parse.quote(user, safe='')}/permission"
        try:
            answer = self._client.request("GET", path) or {}
        except GitHubError as error:
            if error.status in (403, 404):
                return False
            raise
        return answer.get("permission") in WRITE_PERMISSIONS

    def our_summary(self, repo: str, number: int) -> dict[str, Any] | None:
        for comment in self.comments(repo, number):
            if markers.ours(comment, markers.SUMMARY_MARKER, self.login()):
                return comment
        return None

    def upsert_summary(self, repo: str, number: int, body: str) -> str:
        existing = self.our_summary(repo, number)
        if existing:
            self._client.request("PATCH", f"/repos/{repo}/issues/comments/{existing['id']}", {"body": body})
            return "updated"
        self._client.request("POST", f"/repos/{repo}/issues/{number}/comments", {"body": body})
        return "created"

    def reviewed_inline(self, repo: str, number: int, head_sha: str) -> bool:
        marker = markers.inline_marker(head_sha)
        reviews = self._client.paginate(f"/repos/{repo}/pulls/{number}/reviews")
        return any(markers.ours(review, marker, self.login()) for review in reviews)

    def post_review(self, repo: str, number: int, head_sha: str, body: str, comments: list[dict[str, Any]]) -> None:
        payload = {"commit_id": head_sha, "event": "COMMENT", "body": body, "comments": comments}
        self._client.request("POST", f"/repos/{repo}/pulls/{number}/reviews", payload)

    def set_status(self, repo: str, sha: str, state: str, description: str) -> None:
        payload = {"state": state, "context": STATUS_CONTEXT, "description": description[:140]}
        self._client.request("POST", f"/repos/{repo}/statuses/{sha}", payload)
