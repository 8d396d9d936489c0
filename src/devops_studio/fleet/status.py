"""`fleet status`: which template version each repo is on, and its open update pull request."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from devops_studio.fleet.answers import AnswersError, read_repo_answers
from devops_studio.fleet.discovery import RepoRef, repo_name
from devops_studio.fleet.gitcmd import GitError, git, is_url
from devops_studio.fleet.github import GitHub, GitHubError, slug_from_url
from devops_studio.fleet.mirror import expand_template_url, parse_version, version_of
from devops_studio.fleet.pullrequest import BRANCH_PREFIX


def newest_tag(source: str) -> str:
    """The newest release tag of a template, asked with `git ls-remote` (no clone needed)."""
    url = expand_template_url(source)
    if not is_url(url):
        url = str(Path(url).expanduser().resolve())
    out = git("ls-remote", "--tags", "--refs", "--", url)
    tags = [line.split("\t", 1)[1].removeprefix("refs/tags/") for line in out.splitlines() if "\t" in line]
    versions = sorted((v, t) for t in tags if (v := parse_version(t)) is not None and not v.is_prerelease)
    if not versions:
        raise ValueError(f"template {source!r} has no release tags")
    return versions[-1][1]


def _pull_request_state(github: GitHub, ref: RepoRef, owner: str | None) -> str:
    slug = ref.github or slug_from_url(ref.location)
    if slug is None and ref.local:
        try:
            slug = slug_from_url(git("remote", "get-url", "origin", cwd=ref.location).strip())
            if slug is None and owner:
                origin = git("remote", "get-url", "origin", cwd=ref.location).strip()
                slug = f"{owner}/{repo_name(origin)}"
        except GitError:
            slug = None
    if slug is None and owner:
        slug = f"{owner}/{ref.name}"
    if slug is None:
        return ""
    try:
        pulls = github.open_template_pulls(slug, BRANCH_PREFIX)
    except GitHubError as exc:
        return f"unknown ({exc})"
    if not pulls:
        return "none"
    return ", ".join(f"#{p['number']} {'draft' if p.get('draft') else 'open'} ({p['head']['ref']})" for p in pulls)


def fleet_status(
    repos: list[RepoRef], *, template: str | None = None, github: GitHub | None = None
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    newest_by_source: dict[str, str | Exception] = {}
    with tempfile.TemporaryDirectory(prefix="devops-studio-status.") as scratch:
        for ref in repos:
            row: dict[str, Any] = {
                "name": ref.name,
                "location": ref.location,
                "version": None,
                "newest": None,
                "behind": None,
                "pull_request": None,
                "error": None,
            }
            rows.append(row)
            try:
                answers = read_repo_answers(ref.location, ref.local, Path(scratch))
            except AnswersError as exc:
                row["error"] = str(exc)
                continue
            row["version"] = answers.commit
            source = template or answers.src_path
            row["template"] = source
            if source not in newest_by_source:
                try:
                    newest_by_source[source] = newest_tag(source)
                except (GitError, ValueError) as exc:
                    newest_by_source[source] = exc
            newest = newest_by_source[source]
            if isinstance(newest, Exception):
                row["error"] = f"template {source}: {newest}"
                continue
            row["newest"] = newest
            current, latest = version_of(answers.commit), version_of(newest)
            # `v2.0.0-3-gabc123` (a commit after v2.0.0) counts as v2.0.0: not behind v2.0.0.
            row["behind"] = None if current is None or latest is None else current < latest
            if github is not None:
                row["pull_request"] = _pull_request_state(github, ref, answers.values.get("github_owner"))
    return rows
