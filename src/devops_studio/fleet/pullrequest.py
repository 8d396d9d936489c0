"""The branch name and the pull request of one repo's template update."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from devops_studio.github_api import BODY_LIMIT, GitHubClient, GitHubError, cap_body

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


# GitHub answers this 422 for drafts on private repos of free plans; the fleet then opens a ready pull
# request that says in its title and a label that it must not be merged as it is.
DRAFT_REFUSED = "draft pull requests are not supported"
CONFLICTED_LABEL = "template-update: conflicted"
CONFLICTED_TITLE_PREFIX = "[conflicted] "
FULL_REPORT = "`devops-studio fleet update --json` prints the whole report"
CUT_NOTE = f"---\n*Cut to fit GitHub's limit of {BODY_LIMIT:,} characters; the full report: {FULL_REPORT}*"


def slug_from_url(url: str) -> str | None:
    """`owner/repo` from a GitHub remote URL (https, ssh or scp-like), else None."""
    match = re.search(r"github[^/:]*[:/]+(?:[^/]+@[^/]+/)?([^/:]+)/([^/]+?)(?:\.git)?/?\Z", url)
    if not match:
        return None
    return f"{match.group(1)}/{match.group(2)}"


def find_open_pull(github: GitHubClient, repo: str, branch: str) -> dict[str, Any] | None:
    owner = repo.split("/", 1)[0]
    query = urllib.parse.urlencode({"head": f"{owner}:{branch}", "state": "open"})
    pulls = github.paginate(f"/repos/{repo}/pulls?{query}")
    return next((p for p in pulls if p.get("head", {}).get("ref") == branch), None)


def open_template_pulls(github: GitHubClient, repo: str) -> list[dict[str, Any]]:
    pulls = github.paginate(f"/repos/{repo}/pulls?state=open")
    return [p for p in pulls if str(p.get("head", {}).get("ref", "")).startswith(BRANCH_PREFIX)]


def update_pull(github: GitHubClient, repo: str, number: int, *, title: str, body: str, base: str) -> dict[str, Any]:
    body = cap_body(body, CUT_NOTE)
    return github.request("PATCH", f"/repos/{repo}/pulls/{number}", {"title": title, "body": body, "base": base})


def create_pull(
    github: GitHubClient, repo: str, *, head: str, base: str, title: str, body: str, draft: bool
) -> tuple[dict[str, Any], str]:
    """The new pull request and what was done (`opened`, `opened as draft`, `opened marked conflicted`)."""
    body = cap_body(body, CUT_NOTE)
    fields = {"title": title, "head": head, "base": base, "body": body}
    try:
        pull = github.request("POST", f"/repos/{repo}/pulls", {**fields, "draft": draft})
        return pull, "opened as draft" if draft else "opened"
    except GitHubError as error:
        if not (draft and error.status == 422 and DRAFT_REFUSED in str(error).lower()):
            raise
    pull = github.request("POST", f"/repos/{repo}/pulls", {**fields, "title": CONFLICTED_TITLE_PREFIX + title})
    github.request("POST", f"/repos/{repo}/issues/{pull['number']}/labels", {"labels": [CONFLICTED_LABEL]})
    return pull, "opened marked conflicted (drafts are not available)"
