"""Our hidden markers, and the one rule that decides whether a comment or review is ours.

A marker proves nothing by itself: anybody can type it. It counts only on a comment or review whose
author is the reviewer's own login (GET /user), so nobody else can silence or steer the review.
"""

from __future__ import annotations

import re
from typing import Any

SUMMARY_MARKER = "<!-- devops-studio:llm-review:summary -->"
INLINE_MARKER_PREFIX = "<!-- devops-studio:llm-review:inline"
# What a summary says, for readers such as the dashboard: written only by us (the sanitiser strips
# anything like a marker from what the model and the pull request wrote) and trusted only by author.
_MODEL_NAME = r"[A-Za-z0-9._:/+-]{1,120}"  # what a model name may hold inside the marker
_RESULT = re.compile(
    r"<!-- devops-studio:llm-review:result outcome=(?P<outcome>reviewed|unavailable) "
    r"findings=(?P<findings>\d{1,6}) commit=(?P<commit>[0-9a-f]{7,40})"
    rf"(?: model=(?P<model>{_MODEL_NAME}))? -->"
)
# Anything that looks like one of our markers, however it is spaced or cased.
ANY_MARKER = re.compile(r"<!--\s*devops-studio:llm-review[^>]*?-->", re.IGNORECASE)


def inline_marker(head_sha: str) -> str:
    return f"{INLINE_MARKER_PREFIX} head={head_sha} -->"


def result_marker(outcome: str, findings: int, commit: str, model: str = "") -> str:
    """The summary's machine-readable result: `reviewed` with its number of findings, or
    `unavailable` (the model could not review this commit). Empty for values it cannot hold."""
    shown = f" model={model}" if re.fullmatch(_MODEL_NAME, model or "") else ""
    facts = f"outcome={outcome} findings={int(findings)} commit={commit}{shown}"
    marker = f"<!-- devops-studio:llm-review:result {facts} -->"
    return marker if _RESULT.fullmatch(marker) else ""  # a commit that is no hex sha: no result


def parse_result(body: str) -> dict[str, Any] | None:
    """The result marker of a summary body (outcome, findings, commit, model), or None."""
    found = _RESULT.search(body or "")
    if not found:
        return None
    return {
        "outcome": found["outcome"],
        "findings": int(found["findings"]),
        "commit": found["commit"][:7],
        "model": found["model"] or "",
    }


def authored_by(item: dict[str, Any], login: str) -> bool:
    user = item.get("user") or {}
    return bool(login) and isinstance(user, dict) and user.get("login") == login


def ours(item: dict[str, Any], marker: str, login: str) -> bool:
    """True when `item` (a comment or review) carries `marker` and was written by `login`."""
    return authored_by(item, login) and marker in str(item.get("body") or "")
