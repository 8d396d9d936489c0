"""A small GitHub REST client (standard library) and where the token comes from.

The token is read from GH_TOKEN, then GITHUB_TOKEN, then `gh auth token`. It is kept in memory only:
never put in a child process's arguments or environment, never printed, never part of an exception.
The API base is GITHUB_API_URL when set (GitHub Enterprise Server, tests), else the inventory's value.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"


class GitHubError(Exception):
    """A GitHub call failed; the message says what and how to fix it, and never contains a token."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class TokenError(GitHubError):
    pass


def resolve_token(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        value = (env.get(name) or "").strip()
        if value:
            return value
    gh = shutil.which("gh", path=env.get("PATH"))
    if gh:
        # The token arrives on stdout and stays in this process; stderr is shown only as a hint.
        done = subprocess.run([gh, "auth", "token"], capture_output=True, text=True, check=False, timeout=30)
        token = done.stdout.strip()
        if done.returncode == 0 and token:
            return token
        raise TokenError("`gh auth token` gave no token; run `gh auth login` (or set GH_TOKEN)")
    raise TokenError(
        "no GitHub token: set GH_TOKEN (or GITHUB_TOKEN), or install the GitHub CLI and run `gh auth login`"
    )


TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")


def env_without_tokens(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for tools this program starts: the caller's GitHub token stays behind."""
    env = os.environ if env is None else env
    return {key: value for key, value in env.items() if key not in TOKEN_VARIABLES}


def api_url(default: str | None = None, env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (env.get("GITHUB_API_URL") or default or DEFAULT_API_URL).rstrip("/")


def server_url(api: str, env: Mapping[str, str] | None = None) -> str:
    """The web address runners register against (https://github.com, or a GHES host)."""
    env = os.environ if env is None else env
    if env.get("GITHUB_SERVER_URL"):
        return env["GITHUB_SERVER_URL"].rstrip("/")
    parts = urllib.parse.urlsplit(api)
    if parts.netloc == "api.github.com":
        return "https://github.com"
    path = parts.path[: -len("/api/v3")] if parts.path.endswith("/api/v3") else parts.path
    return f"{parts.scheme}://{parts.netloc}{path}".rstrip("/")


class GitHub:
    def __init__(self, token: str, base_url: str = DEFAULT_API_URL, timeout: float = 30):
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:  # keeps the token out of tracebacks and logs
        return f"GitHub(base_url={self.base_url!r})"

    def request(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "Authorization": f"Bearer {self._token}",
                "User-Agent": "devops-studio",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise GitHubError(
                f"cannot reach the GitHub API at {self.base_url} ({reason}); check the network or GITHUB_API_URL"
            ) from None
        payload = None
        if raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = raw.decode(errors="replace")
        if status not in ok:
            raise self._error(method, path, status, payload)
        return payload

    def _error(self, method: str, path: str, status: int, payload: Any) -> GitHubError:
        message = payload.get("message", "") if isinstance(payload, dict) else str(payload or "")
        details = ""
        if isinstance(payload, dict) and payload.get("errors"):
            details = "; ".join(
                e.get("message") or f"{e.get('field')}: {e.get('code')}" if isinstance(e, dict) else str(e)
                for e in payload["errors"]
            )
        what = f"GitHub answered {status} to {method} {path}: {message}" + (f" ({details})" if details else "")
        if status == 401:
            what += ". Fix: the token is wrong or expired; refresh GH_TOKEN or run `gh auth login`"
        elif status in (403, 404) and "/actions/runners" in path:
            what += (
                ". Fix: check the owner/repo in studio.yml and that the token may administer it "
                "(classic: repo or admin:org scope; fine-grained: Administration read/write)"
            )
        return GitHubError(what, status)

    def paginate(self, path: str, key: str | None = None, per_page: int = 100) -> list[Any]:
        items: list[Any] = []
        page = 1
        sep = "&" if "?" in path else "?"
        while True:
            payload = self.request("GET", f"{path}{sep}per_page={per_page}&page={page}")
            chunk = payload.get(key, []) if key else payload
            items.extend(chunk)
            total = payload.get("total_count") if key else None
            if len(chunk) < per_page or (total is not None and len(items) >= total):
                return items
            page += 1
