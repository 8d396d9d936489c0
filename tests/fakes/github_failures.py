"""GitHub's failure modes for the fake GitHub server, with the status codes, headers and messages
GitHub documents (docs.github.com: "Rate limits for the REST API", "Troubleshooting the REST API").

    gh.failures.add("primary", path=r"/repos/.*/pulls", times=1, wait=1)

answers the next matching request with 403 ``API rate limit exceeded``, ``x-ratelimit-remaining: 0``
and ``x-ratelimit-reset`` ``wait`` seconds ahead. Kinds:

- ``primary``: 403, ``x-ratelimit-limit``/``-remaining: 0``/``-used``/``-reset``/``-resource``
- ``secondary``: 403 "You have exceeded a secondary rate limit" with ``retry-after: wait``
- ``secondary-bare``: the same message with no ``retry-after`` and quota left (GitHub's guidance:
  wait at least a minute)
- ``too-many``: 429 with ``retry-after: wait`` (secondary limit, the other status GitHub uses)
- ``server``: 502 "Server Error"
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID."
)
# GitHub's limit for the body of an issue, pull request or comment.
BODY_LIMIT = 65_536
DRAFT_REFUSED = "Draft pull requests are not supported in this repository."
KINDS = ("primary", "secondary", "secondary-bare", "too-many", "server")


@dataclass
class Failure:
    kind: str
    path: re.Pattern[str]
    method: str | None
    times: int
    wait: int


@dataclass
class FailureInjector:
    pending: list[Failure] = field(default_factory=list)
    answered: list[tuple[str, str]] = field(default_factory=list)  # (kind, path) of every injected answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, *, path: str = r".*", method: str | None = None, times: int = 1, wait: int = 1) -> None:
        if kind not in KINDS:
            raise ValueError(f"failure kind {kind!r}: use one of {', '.join(KINDS)}")
        with self.lock:
            self.pending.append(Failure(kind, re.compile(path), method, times, wait))

    def answer(self, method: str, path: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """(status, body, headers) for a request that should fail now, else None."""
        with self.lock:
            for failure in self.pending:
                if failure.times > 0 and failure.path.fullmatch(path) and failure.method in (None, method):
                    failure.times -= 1
                    self.answered.append((failure.kind, path))
                    return _answer(failure)
        return None


def _answer(failure: Failure) -> tuple[int, dict[str, Any], dict[str, str]]:
    now = int(time.time())
    if failure.kind == "primary":
        headers = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(now + failure.wait),
            "x-ratelimit-resource": "core",
        }
        return 403, {"message": "API rate limit exceeded for user ID 1.", "documentation_url": RATE_DOCS}, headers
    if failure.kind == "server":
        return 502, {"message": "Server Error"}, {}
    quota = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4990", "x-ratelimit-reset": str(now + 3600)}
    body = {"message": SECONDARY_MESSAGE, "documentation_url": RATE_DOCS}
    if failure.kind == "secondary-bare":
        return 403, body, quota
    return (429 if failure.kind == "too-many" else 403), body, {**quota, "retry-after": str(failure.wait)}


def body_too_long(resource: str, text: Any) -> dict[str, Any] | None:
    """GitHub's 422 for a body over 65,536 characters, else None."""
    if isinstance(text, str) and len(text) > BODY_LIMIT:
        return {
            "resource": resource,
            "code": "custom",
            "field": "body",
            "message": f"body is too long (maximum is {BODY_LIMIT} characters)",
        }
    return None
