"""How a settings plan is shown: one line per difference, or "nothing to change"."""

from __future__ import annotations

import json
from typing import Any

from devops_studio.repo.remote import Change


def _short(value: Any) -> str:
    return "(not set)" if value is None else json.dumps(value, sort_keys=True)


def plan_lines(repo: str, changes: list[Change], *, applied: bool) -> list[str]:
    if not changes:
        return [f"{repo}: nothing to change"]
    verb = "changed" if applied else "to change"
    lines = [f"{repo}: {len(changes)} setting{'s' if len(changes) != 1 else ''} {verb}"]
    for change in changes:
        flag = "  CRITICAL" if change.critical else ""
        lines.append(f"  {change.setting} · {change.field}: {_short(change.current)} -> {_short(change.desired)}{flag}")
    return lines


def as_json(repo: str, changes: list[Change], *, applied: bool, error: str | None = None) -> dict[str, Any]:
    return {"repo": repo, "applied": applied, "error": error, "changes": [c.as_json() for c in changes]}
