"""The branch name and the pull request of one repo's template update."""

from __future__ import annotations

import re
from typing import Any

BRANCH_PREFIX = "template-update/"


def branch_for(target: str) -> str:
    """`template-update/v2.0.0`: one branch per target version, so a re-run finds it again."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", target).strip(".-") or "latest"
    return f"{BRANCH_PREFIX}{safe}"


def title_for(result: dict[str, Any]) -> str:
    return f"Update the template to {result['to_version']}"


def is_draft(result: dict[str, Any]) -> bool:
    """Draft when the owner must act before merging: conflicts, or a binary changed on both sides."""
    return result["classification"] == "conflicted" or bool(result["binary_edits_reverted"])


def body_for(result: dict[str, Any], changelog: str, question_help: dict[str, str] | None = None) -> str:
    lines = [
        f"This pull request updates the template from `{result['from_version']}` to "
        f"`{result['to_version']}` with `copier update`, made by `devops-studio fleet update`.",
        "",
        f"**Classification:** `{result['classification']}`"
        + (f" — flags: {', '.join(f'`{f}`' for f in result['flags'])}" if result["flags"] else ""),
    ]
    if result["conflicts"]:
        lines += ["", "## Conflicts to resolve before merging", ""]
        lines += [f"- [ ] `{path}`" for path in result["conflicts"]]
        lines += [
            "",
            "Each file holds conflict markers (`<<<<<<< before updating` ... "
            "`>>>>>>> after updating`). Resolve them on this branch, then mark the pull "
            "request ready for review.",
        ]
    if result["deleted_but_edited"]:
        lines += ["", "## Files the new template version drops, kept because you edited them", ""]
        lines += [f"- `{path}`" for path in result["deleted_but_edited"]]
        lines += ["", "Delete them in this branch if you no longer need them."]
    if result["binary_edits_kept"]:
        lines += ["", "## Binary files you edited, kept as they are", ""]
        lines += [f"- `{path}`" for path in result["binary_edits_kept"]]
    if result["binary_edits_reverted"]:
        lines += ["", "## Binary files changed both by you and by the template", ""]
        lines += [
            f"- `{path}`: this branch has the template's new version; yours is on "
            f"`{result['base_branch']}` (`git checkout {result['base_branch']} -- {path}` "
            "brings it back)"
            for path in result["binary_edits_reverted"]
        ]
    lines += ["", "## New questions (answered with their defaults)", ""]
    if result["new_questions"]:
        for name, value in sorted(result["new_questions"].items()):
            helptext = (question_help or {}).get(name)
            lines.append(f"- `{name}`: `{value!r}`" + (f" — {helptext}" if helptext else ""))
        lines += [
            "",
            f"Change an answer with `copier update --vcs-ref {result['to_version']} --data NAME=VALUE` on this branch.",
        ]
    else:
        lines.append("None.")
    lines += ["", "## Changelog", "", changelog.strip() or "(the template has no changelog entry)"]
    changes = result.get("changes") or []
    if changes:
        lines += ["", f"## Files changed ({len(changes)})", ""]
        for change in changes[:200]:
            stat = "binary" if change["added"] is None else f"+{change['added']} -{change['removed']}"
            lines.append(f"- {change['status']} `{change['path']}` ({stat})")
    return "\n".join(lines) + "\n"
