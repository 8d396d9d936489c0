"""The few GitHub REST API calls the fleet needs: find, create and update a pull request.

The API base comes from GITHUB_API_URL (default https://api.github.com, or a GitHub Enterprise
or test server URL); the token from GH_TOKEN or GITHUB_TOKEN. The token is sent only in the
Authorization header and never appears in messages or output.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"


class GitHubError(RuntimeError):
    """A GitHub API call failed; the message carries the status and GitHub's message."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


def token_from_env() -> str | None:
    return os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN") or None


def slug_from_url(url: str) -> str | None:
    """`owner/repo` from a GitHub remote URL (https, ssh or scp-like), else None."""
    match = re.search(r"github[^/:]*[:/]+(?:[^/]+@[^/]+/)?([^/:]+)/([^/]+?)(?:\.git)?/?$", url)
    if not match:
        return None
    return f"{match.group(1)}/{match.group(2)}"


class GitHub:
    def __init__(self, api_url: str | None = None, token: str | None = None, timeout: float = 30) -> None:
        self.api_url = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        self.token = token if token is not None else token_from_env()
        self.timeout = timeout

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> Any:
        url = f"{self.api_url}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode() if body is not None else None
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "devops-studio-fleet",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            raise GitHubError(f"{method} {path}: {exc.code} {_error_message(exc)}", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitHubError(f"{method} {path}: GitHub API at {self.api_url} unreachable ({reason})") from None
        return json.loads(payload) if payload else None

    def find_open_pull(self, repo: str, branch: str) -> dict[str, Any] | None:
        owner = repo.split("/", 1)[0]
        pulls = self.request("GET", f"/repos/{repo}/pulls", params={"head": f"{owner}:{branch}", "state": "open"})
        matching = [p for p in pulls or [] if p.get("head", {}).get("ref") == branch]
        return matching[0] if matching else None

    def open_template_pulls(self, repo: str, prefix: str) -> list[dict[str, Any]]:
        pulls = self.request("GET", f"/repos/{repo}/pulls", params={"state": "open", "per_page": "100"})
        return [p for p in pulls or [] if str(p.get("head", {}).get("ref", "")).startswith(prefix)]

    def create_pull(self, repo: str, *, head: str, base: str, title: str, body: str, draft: bool) -> dict[str, Any]:
        return self.request(
            "POST",
            f"/repos/{repo}/pulls",
            {"title": title, "head": head, "base": base, "body": body, "draft": draft},
        )

    def update_pull(self, repo: str, number: int, *, title: str, body: str, base: str) -> dict[str, Any]:
        return self.request("PATCH", f"/repos/{repo}/pulls/{number}", {"title": title, "body": body, "base": base})


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return exc.reason or ""
    message = body.get("message", "") if isinstance(body, dict) else ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        details = "; ".join(
            e.get("message") or f"{e.get('field')} {e.get('code')}" for e in errors if isinstance(e, dict)
        )
        message = f"{message} ({details})"
    return message
