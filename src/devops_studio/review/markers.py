"""Our hidden markers, and the one rule that decides whether a comment or review is ours.

A marker proves nothing by itself: anybody can type it. It counts only on a comment or review whose
author is the reviewer's own login (GET /user), so nobody else can silence or steer the review.
"""

from __future__ import annotations

import re
from typing import Any

SUMMARY_MARKER = "<!-- devops-studio:llm-review:summary -->"
INLINE_MARKER_PREFIX = "<!-- devops-studio:llm-review:inline"
# Anything that looks like one of our markers, however it is spaced or cased.
ANY_MARKER = re.compile(r"<!--\s*devops-studio:llm-review[^>]*?-->", re.IGNORECASE)


def inline_marker(head_sha: str) -> str:
    return f"{INLINE_MARKER_PREFIX} head={head_sha} -->"


def authored_by(item: dict[str, Any], login: str) -> bool:
    user = item.get("user") or {}
    return bool(login) and isinstance(user, dict) and user.get("login") == login


def ours(item: dict[str, Any], marker: str, login: str) -> bool:
    """True when `item` (a comment or review) carries `marker` and was written by `login`."""
    return authored_by(item, login) and marker in str(item.get("body") or "")
