"""`fleet status`: which template version each repo is on, and its open update pull request."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from devops_studio.fleet.answers import AnswersError, read_repo_answers
from devops_studio.fleet.discovery import RepoRef, repo_name
from devops_studio.fleet.gitcmd import GitError, git, is_url
from devops_studio.fleet.mirror import expand_template_url, parse_version, version_of
from devops_studio.fleet.pullrequest import open_template_pulls, slug_from_url
from devops_studio.fleet.trust import TrustPolicy
from devops_studio.github_api import GitHubClient, GitHubError


def newest_tag(source: str) -> str:
    """The newest release tag of a template, asked with `git ls-remote` (no clone needed)."""
    url = expand_template_url(source)
    if not is_url(url):
        url = str(Path(url).expanduser().resolve())
    out = git("ls-remote", "--tags", "--refs", "--", url)
    tags = [line.split("\t", 1)[1].removeprefix("refs/tags/") for line in out.splitlines() if "\t" in line]
    versions = sorted(
        (v, t) for t in tags if (v := parse_version(t)) is not None and not v.is_prerelease
    )
    if not versions:
        raise ValueError(f"template {source!r} has no release tags")
    return versions[-1][1]


def _github_slug(ref: RepoRef, owner: str | None) -> str | None:
    """owner/repo of `ref` on GitHub: the inventory's name, the remote's URL, or the answers' owner."""
    slug = ref.github or slug_from_url(ref.location)
    if slug is None and ref.local:
        try:
            origin = git("remote", "get-url", "origin", cwd=ref.location).strip()
            slug = slug_from_url(origin) or (f"{owner}/{repo_name(origin)}" if owner else None)
        except GitError:
            slug = None
    if slug is None and owner:
        slug = f"{owner}/{ref.name}"
    return slug


def _pull_request_state(github: GitHubClient, slug: str | None) -> str:
    if slug is None:
        return ""
    try:
        pulls = open_template_pulls(github, slug)
    except GitHubError as exc:
        return f"unknown ({exc})"
    if not pulls:
        return "none"
    return ", ".join(
        f"#{p['number']} {'draft' if p.get('draft') else 'open'} ({p['head']['ref']})" for p in pulls
    )


def _settings_state(github: GitHubClient, slug: str, runner_repos: set[str]) -> dict[str, str]:
    """The repo's GitHub settings against what `repo setup` applies (reads only): ok, warn or fail."""
    from devops_studio.repo.audit import audit

    found = audit(github, slug, inventory_runner=slug.split("/", 1)[1] in runner_repos)
    return {"status": found.status, "detail": found.detail}


def fleet_status(repos: list[RepoRef], *, template: str | None = None,
                 github: GitHubClient | None = None, trust: TrustPolicy | None = None,
                 runner_repos: set[str] | None = None) -> list[dict[str, Any]]:
    """One row per repo: template version, newest release, whether it is behind; with `github`, its
    open template-update pull requests and its settings drift (`runner_repos`: the repos an
    inventory runner serves, where a fork's reach is a failure)."""
    rows: list[dict[str, Any]] = []
    newest_by_source: dict[str, str | Exception] = {}
    with tempfile.TemporaryDirectory(prefix="devops-studio-status.") as scratch:
        for ref in repos:
            row: dict[str, Any] = {"name": ref.name, "location": ref.location, "version": None,
                                   "newest": None, "behind": None, "pull_request": None, "error": None}
            rows.append(row)
            # Asked once: the remote's URL names the repo without the answers file, which may not read.
            known_slug = _github_slug(ref, None) if github is not None else None
            if github is not None and known_slug is not None:
                row["settings"] = _settings_state(github, known_slug, runner_repos or set())
            try:
                answers = read_repo_answers(ref.location, ref.local, Path(scratch))
            except AnswersError as exc:
                row["error"] = str(exc)
                continue
            row["version"] = answers.commit
            source = template or answers.src_path
            row["template"] = source
            if trust is not None and not trust.allows(source):
                row["error"] = trust.refusal(source)  # not even asked for its tags
                row["untrusted"] = True
                continue
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
                slug = known_slug if known_slug is not None else _github_slug(ref, answers.values.get("github_owner"))
                row["pull_request"] = _pull_request_state(github, slug)
                if "settings" not in row and slug is not None:
                    row["settings"] = _settings_state(github, slug, runner_repos or set())
    return rows
