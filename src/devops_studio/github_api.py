"""The one GitHub REST client of the CLI (githubkit underneath) and where the token comes from.

The token is read from GH_TOKEN, then GITHUB_TOKEN, then `gh auth token`. It is kept in memory only:
never put in a child process's arguments or environment, never printed, never part of an exception.
The API base is GITHUB_API_URL when set (GitHub Enterprise Server, tests), else the inventory's value.

githubkit follows GitHub's own OpenAPI description and recognises primary and secondary rate limits
(`retry-after`, `x-ratelimit-remaining: 0` with `x-ratelimit-reset`); `RateLimitWait` bounds how long
one client may wait in total, so a command never hangs for an hour behind a spent quota.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx
from githubkit import GitHub as _GitHubKit
from githubkit import TokenAuthStrategy, UnauthAuthStrategy
from githubkit.exception import GitHubException, RateLimitExceeded, RequestError, RequestFailed
from githubkit.retry import RetryOption

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
# GitHub refuses issue, pull-request and comment bodies over 65,536 characters (422); stay below it.
BODY_LIMIT = 65_536
TOKEN_VARIABLES = ("GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")
SECONDARY_LIMIT_TEXT = "secondary rate limit"


class GitHubError(Exception):
    """A GitHub call failed; the message says what and how to fix it, and never contains a token."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class TokenError(GitHubError):
    pass


class RateLimitError(GitHubError):
    """GitHub's rate limit would need a longer wait than this client allows."""


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


def env_token(env: Mapping[str, str] | None = None) -> str | None:
    """GH_TOKEN or GITHUB_TOKEN when set (no `gh` fallback: for callers that must not start programs)."""
    env = os.environ if env is None else env
    return (env.get("GH_TOKEN") or "").strip() or (env.get("GITHUB_TOKEN") or "").strip() or None


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


def cap_body(body: str, note: str, limit: int = BODY_LIMIT) -> str:
    """`body` kept below GitHub's limit; when cut, it ends with `note` (already safe text), which
    says where the whole text is. The one cap for every body we post (reviews and fleet alike)."""
    if len(body) < limit:
        return body
    tail = f"\n\n{note}"
    return body[: limit - len(tail) - 1].rstrip() + tail


def _is_secondary_limit(exc: GitHubException) -> bool:
    if isinstance(exc, RateLimitExceeded):
        return True
    if not isinstance(exc, RequestFailed) or exc.response.status_code not in (403, 429):
        return False
    # GitHub may answer a secondary limit with neither `retry-after` nor a spent quota; the
    # message is then the only sign, and GitHub's guidance is to wait at least a minute.
    return SECONDARY_LIMIT_TEXT in _message(_payload(exc.response.raw_response)).lower()


class RateLimitWait:
    """githubkit's retry decision: wait out rate limits and 5xx answers, within a total budget."""

    def __init__(self, max_total_wait: float, server_retries: int = 3):
        self.max_total_wait = max_total_wait
        self.server_retries = server_retries
        self.reset()

    def reset(self) -> None:
        self.waited = 0.0
        self.refused: float | None = None

    def __call__(self, exc: GitHubException, retry_count: int) -> RetryOption:
        if _is_secondary_limit(exc):
            wait = exc.retry_after.total_seconds() if isinstance(exc, RateLimitExceeded) else 60.0
            if self.waited + wait > self.max_total_wait:
                self.refused = wait
                return RetryOption(False)
            self.waited += wait
            return RetryOption(True, timedelta(seconds=wait))
        if isinstance(exc, RequestFailed) and exc.response.status_code >= 500 and retry_count < self.server_retries:
            wait = float(2**retry_count)
            if self.waited + wait <= self.max_total_wait:
                self.waited += wait
                return RetryOption(True, timedelta(seconds=wait))
        return RetryOption(False)


def _payload(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _message(payload: Any) -> str:
    return str(payload.get("message", "")) if isinstance(payload, dict) else str(payload or "")


class GitHubClient:
    """`request` and `paginate` over GitHub's REST API; errors are `GitHubError` with a fix in the text."""

    def __init__(
        self,
        token: str | None,
        base_url: str = DEFAULT_API_URL,
        timeout: float = 30,
        *,
        max_total_wait: float = 300,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_total_wait = max_total_wait
        self._token = token
        # One budget per call of `request` (reset there); a client is used from one thread.
        self._retry = RateLimitWait(max_total_wait)
        self._kit = _GitHubKit(
            TokenAuthStrategy(token) if token else UnauthAuthStrategy(),
            base_url=self.base_url + "/",
            user_agent="devops-studio",
            timeout=timeout,
            # A cache would hide state changes between two calls of one command.
            http_cache=False,
            auto_retry=self._retry,
        )

    @property
    def has_token(self) -> bool:
        return bool(self._token)

    def __repr__(self) -> str:  # keeps the token out of tracebacks and logs
        return f"GitHubClient(base_url={self.base_url!r})"

    def request(self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201, 204)) -> Any:
        return _payload(self._send(method, path, body, ok))

    def _send(self, method: str, path: str, body: Any, ok: tuple[int, ...]) -> httpx.Response:
        retry = self._retry
        retry.reset()
        url = path if path.startswith(("http://", "https://")) else path.lstrip("/")
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
        try:
            response = self._kit.request(method, url, json=body, headers=headers).raw_response
        except RequestFailed as exc:
            response = exc.response.raw_response
            if response.status_code in ok:
                return response
            raise self._error(method, path, response, retry) from None
        except RequestError as exc:
            raise GitHubError(
                f"cannot reach the GitHub API at {self.base_url} ({exc}); check the network or GITHUB_API_URL"
            ) from None
        except GitHubException as exc:
            raise GitHubError(f"{method} {path}: {type(exc).__name__}") from None
        if response.status_code not in ok:
            raise self._error(method, path, response, retry)
        return response

    def _error(self, method: str, path: str, response: httpx.Response, retry: RateLimitWait) -> GitHubError:
        status = response.status_code
        payload = _payload(response)
        message = _message(payload)
        details = ""
        if isinstance(payload, dict) and payload.get("errors"):
            details = "; ".join(
                (e.get("message") or f"{e.get('field')}: {e.get('code')}") if isinstance(e, dict) else str(e)
                for e in payload["errors"]
            )
        what = f"GitHub answered {status} to {method} {path}: {message}" + (f" ({details})" if details else "")
        if retry.refused is not None or (status in (403, 429) and _rate_limited(response, message)):
            reset = response.headers.get("x-ratelimit-reset")
            when = (
                f" (the quota resets at {time.strftime('%H:%M:%S UTC', time.gmtime(int(reset)))})"
                if (reset and reset.isdigit())
                else ""
            )
            return RateLimitError(
                f"{what}. GitHub's rate limit: waited {retry.waited:.0f} s already, and another "
                f"{retry.refused or 0:.0f} s would pass the limit of {self.max_total_wait:.0f} s{when}. "
                "Fix: try again later, or use a token with a larger quota",
                status,
            )
        if status == 401:
            what += ". Fix: the token is wrong or expired; refresh GH_TOKEN or run `gh auth login`"
        elif status in (403, 404) and "/actions/runners" in path:
            what += (
                ". Fix: check the owner/repo in studio.yml and that the token may administer it "
                "(classic: repo or admin:org scope; fine-grained: Administration read/write)"
            )
        elif status == 403:
            what += ". Fix: the token lacks a permission this call needs (see GitHub's message)"
        elif status == 404:
            what += ". Fix: check the owner and repository name, and that the token can see the repository"
        elif status == 410:
            what += ". Fix: the feature is turned off for this repository (for example issues); turn it on"
        elif status == 422:
            what += ". Fix: GitHub refused the content of the request; see its message above"
        return GitHubError(what, status)

    def paginate(self, path: str, key: str | None = None, per_page: int = 100) -> list[Any]:
        """Every item of a list endpoint, following GitHub's `Link: rel="next"` headers."""
        items: list[Any] = []
        sep = "&" if "?" in path else "?"
        url: str | None = f"{path}{sep}per_page={per_page}"
        while url:
            response = self._send("GET", url, None, (200,))
            payload = _payload(response)
            items.extend(payload.get(key, []) if key else payload)
            url = response.links.get("next", {}).get("url")
        return items


def _rate_limited(response: httpx.Response, message: str) -> bool:
    return (
        "retry-after" in response.headers
        or response.headers.get("x-ratelimit-remaining") == "0"
        or SECONDARY_LIMIT_TEXT in message.lower()
        or "rate limit" in message.lower()
    )


# The name the rest of the CLI has always used.
GitHub = GitHubClient
