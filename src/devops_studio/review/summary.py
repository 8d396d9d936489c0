"""The summary comment and the inline comments, built only from sanitised pieces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devops_studio.github_api import cap_body
from devops_studio.review import markers
from devops_studio.review.diff import ChangedFiles
from devops_studio.review.reviewer import PartResult
from devops_studio.review.sanitize import blockquote, code_span, one_line, safe_text

MAX_INLINE_COMMENTS = 25
MAX_COMMENT_CHARS = 1500
MAX_SUMMARY_CHARS = 6000
MAX_LINE = 10_000_000  # no source file has more lines; anything above is model nonsense
ICONS = {"error": "🔴", "warning": "🟡", "info": "🔵"}


@dataclass
class Findings:
    inline: list[dict[str, Any]] = field(default_factory=list)  # ready for the review API
    off_diff: list[str] = field(default_factory=list)  # summary lines


def format_finding(severity: str, comment: str) -> str:
    return f"{ICONS[severity]} **{severity}**: {comment}"


def place_findings(results: list[PartResult], changed: ChangedFiles) -> Findings:
    """Inline comments only on lines of the diff; the rest listed in the summary, all sanitised."""
    valid_lines = {f.path: f.right_lines() for f in changed.files}
    placed = Findings()
    seen: set[tuple[str, int, str]] = set()
    for result in results:
        for finding in result.findings:
            path = finding["path"].strip().removeprefix("./")
            line = finding["line"]
            comment = safe_text(finding["comment"], MAX_COMMENT_CHARS)
            if not comment or (path, line, comment) in seen:
                continue
            seen.add((path, line, comment))
            text = format_finding(finding["severity"], comment)
            if line in valid_lines.get(path, set()) and len(placed.inline) < MAX_INLINE_COMMENTS:
                placed.inline.append({"path": path, "line": line, "side": "RIGHT", "body": text})
            else:
                shown = str(line) if 0 < line <= MAX_LINE else "?"
                placed.off_diff.append(f"- {code_span(f'{path}:{shown}')} {one_line(text, MAX_COMMENT_CHARS)}")
    return placed


def header(text: dict[str, str], result: str = "") -> list[str]:
    """The summary's first lines: our marker, the result marker readers such as the dashboard parse
    (when there is one), the title and the advisory line."""
    return [markers.SUMMARY_MARKER, *([result] if result else []), text["title"], "", f"_{text['advisory']}_", ""]


def names(paths: list[str], limit: int = 30) -> str:
    shown = ", ".join(code_span(p, 120) for p in paths[:limit])
    return shown + (f" (+{len(paths) - limit})" if len(paths) > limit else "")


def sensitive_lines(text: dict[str, str], changed: ChangedFiles) -> list[str]:
    return [text["sensitive"].format(names=names(changed.sensitive)), ""] if changed.sensitive else []


def notice(text: dict[str, str], message: str, changed: ChangedFiles | None, sha: str, model: str = "") -> str:
    lines = [
        *header(text, markers.result_marker("unavailable", 0, sha, model)),
        *(sensitive_lines(text, changed) if changed else []),
        message,
        "",
        f"<sub>commit {sha[:7]}</sub>",
    ]
    return cap_body("\n".join(lines), text["body_cut"])


@dataclass
class Run:
    changed: ChangedFiles
    results: list[PartResult]
    parts: int
    left_out: list[str]
    part_limit: int
    placed: Findings
    posted: int
    inline_error: str
    footer: str
    sha: str = ""
    model: str = ""

    @property
    def findings(self) -> int:
        return self.posted + len(self.placed.off_diff)


def body(text: dict[str, str], run: Run) -> str:
    changed = run.changed
    result = markers.result_marker("reviewed", run.findings, run.sha, run.model) if run.sha else ""
    lines = [*header(text, result), *sensitive_lines(text, changed)]
    lines.append(text["scope"].format(files=len(changed.files), parts=run.parts) if changed.files else text["nothing"])
    if changed.listing_capped:
        lines.append(text["listing_capped"])
    if run.left_out:
        lines.append(text["too_large"].format(limit=run.part_limit, names=names(run.left_out)))
    if changed.skipped:
        skipped = ", ".join(f"{code_span(p, 120)} ({one_line(r, 60)})" for p, r in sorted(changed.skipped.items())[:30])
        lines.append(text["skipped"].format(names=skipped))
    summaries = [safe_text(r.summary, MAX_SUMMARY_CHARS) for r in run.results if r.summary.strip()]
    if summaries:
        lines += ["", text["model_says"], ""]
        lines += [blockquote(s) + "\n" for s in summaries]
    for result in run.results:
        if result.failure:
            lines += ["", text["failed_part"].format(names=names(result.paths, 10), reason=one_line(result.failure))]
    cut = [r for r in run.results if r.truncated]
    if cut:
        cut_paths = list(dict.fromkeys(p for r in cut for p in r.paths))
        lines += ["", text["truncated"].format(n=len(cut), names=names(cut_paths))]
    lines += ["", text["findings"]]
    if run.posted:
        lines.append(text["inline"].format(n=run.posted))
    if run.placed.off_diff:
        lines += [text["offdiff"], *run.placed.off_diff[:40]]
    if not run.posted and not run.placed.off_diff:
        lines.append(text["no_findings"])
    if run.inline_error:
        lines += ["", f"(inline review not posted: {one_line(run.inline_error)})"]
    lines += ["", "---", f"<sub>{run.footer}</sub>"]
    return cap_body("\n".join(lines), text["body_cut"])
