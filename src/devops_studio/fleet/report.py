"""Output of the fleet commands: live progress, the summary tables, JSON."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

STYLES = {
    "up-to-date": "green",
    "updated": "cyan",
    "conflicted": "yellow",
    "error": "bold red",
    "untrusted": "bold red",
}


def console_for(json_output: bool) -> Console:
    """Human output goes to stderr when stdout carries JSON, so scripts can parse stdout."""
    return Console(stderr=json_output, highlight=False)


def update_table(results: list[dict[str, Any]], dry_run: bool) -> Table:
    table = Table(title="Template update (dry run: nothing written)" if dry_run else "Template update")
    table.add_column("repo")
    table.add_column("result")
    table.add_column("from → to")
    table.add_column("flags / conflicts")
    table.add_column("changes" if dry_run else "branch / pull request")
    for r in results:
        style = STYLES.get(r["classification"], "")
        detail = [*r["flags"]]
        detail += [f"conflict: {p}" for p in r["conflicts"]]
        detail += [f"kept (dropped upstream): {p}" for p in r["deleted_but_edited"]]
        detail += [f"binary reverted: {p}" for p in r["binary_edits_reverted"]]
        if r["error"]:
            detail.append(r["error"])
        if r.get("note"):
            detail.append(r["note"])
        if dry_run:
            last = diff_summary(r["changes"])
        else:
            last = r["branch"] or ""
            if r.get("pr"):
                pr = r["pr"]
                last += f"\n{pr['error']}" if pr.get("error") else f"\n#{pr['number']} {pr['action']}"
        versions = f"{r['from_version'] or '?'} → {r['to_version'] or '?'}"
        table.add_row(r["name"], f"[{style}]{r['classification']}[/]", versions, "\n".join(detail), last)
    return table


def diff_summary(changes: list[dict[str, Any]]) -> str:
    if not changes:
        return ""
    added = sum(c["added"] or 0 for c in changes)
    removed = sum(c["removed"] or 0 for c in changes)
    files = ", ".join(f"{c['status']} {c['path']}" for c in changes[:8])
    more = f", +{len(changes) - 8} more" if len(changes) > 8 else ""
    return f"{len(changes)} files +{added} -{removed}: {files}{more}"


def status_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Fleet status")
    for column in ("repo", "template version", "newest", "behind", "update pull request", "settings"):
        table.add_column(column)
    colour = {"ok": "green", "warn": "yellow", "fail": "red"}
    for row in rows:
        behind_text = {True: "[yellow]yes[/]", False: "[green]no[/]"}.get(row["behind"], "unknown")
        settings = row.get("settings")
        table.add_row(
            row["name"],
            row.get("version") or "?",
            row.get("newest") or "?",
            behind_text if not row.get("error") else f"[red]{escape(row['error'])}[/]",
            row.get("pull_request") or "",
            f"[{colour[settings['status']]}]{escape(settings['detail'])}[/]" if settings else "",
        )
    return table


def _redacted(value: Any) -> Any:
    from devops_studio.redact import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def print_json(data: Any) -> None:
    data = _redacted(data)  # no credential in a URL or token reaches the report
    json.dump(data, sys.stdout, indent=2, sort_keys=True, default=str)
    sys.stdout.write("\n")
