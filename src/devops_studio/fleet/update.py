"""`fleet update`: one template mirror, one worker process per update, one pull request per repo."""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from devops_studio.fleet import pullrequest
from devops_studio.fleet.answers import AnswersError, read_repo_answers
from devops_studio.fleet.discovery import RepoRef, repo_name
from devops_studio.fleet.github import GitHub, GitHubError, slug_from_url
from devops_studio.fleet.mirror import TemplateMirror, insteadof_env
from devops_studio.fleet.worker import ERROR, Job, RepoResult, init_worker, update_repo


@dataclass
class UpdateOptions:
    to: str | None = None
    jobs: int = 2
    dry_run: bool = False
    push: bool = False
    pr: bool = False
    template: str | None = None  # fetch the template from here instead of each repo's _src_path


@dataclass
class UpdateRun:
    results: list[dict[str, Any]] = field(default_factory=list)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(r["classification"] == ERROR or (r.get("pr") or {}).get("error") for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r["classification"]] = counts.get(r["classification"], 0) + 1
        return {"templates": self.templates, "repos": self.results, "summary": counts}


@dataclass
class _Plan:
    """What the run works with: the jobs, the repos already settled, the template mirrors."""

    jobs: list[Job] = field(default_factory=list)
    early: list[dict[str, Any]] = field(default_factory=list)
    # Every spelling of a template source (answers' _src_path, --template) -> its mirror.
    rewrites: dict[str, Path] = field(default_factory=dict)
    mirror_of_repo: dict[str, TemplateMirror] = field(default_factory=dict)


def run_update(repos: list[RepoRef], options: UpdateOptions, console: Console) -> UpdateRun:
    if options.pr and not options.push:
        raise ValueError("--pr needs --push: a pull request needs the branch on the remote")
    if options.jobs < 1:
        raise ValueError(f"--jobs {options.jobs}: give 1 or more parallel updates")
    github = GitHub() if options.pr else None
    if github is not None and not github.token:
        raise ValueError("--pr: set GH_TOKEN or GITHUB_TOKEN in the environment (never on the command line)")

    run = UpdateRun()
    run_dir = Path(tempfile.mkdtemp(prefix="devops-studio-fleet."))
    try:
        plan = _plan(repos, options, run_dir, run)
        run.results.extend(plan.early)
        if plan.jobs:
            run.results.extend(_execute(plan.jobs, options, run_dir, plan.rewrites, console))
        order = {ref.name: i for i, ref in enumerate(repos)}
        run.results.sort(key=lambda r: order.get(r["name"], len(order)))
        if github is not None:
            _pull_requests(run, repos, github, plan.mirror_of_repo)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return run


def _plan(repos: list[RepoRef], options: UpdateOptions, run_dir: Path, run: UpdateRun) -> _Plan:
    """Read every repo's answers, fetch each template once, and make one job per repo."""
    plan = _Plan()
    mirrors: dict[str, TemplateMirror] = {}
    for ref in repos:
        try:
            # Only picks the template to mirror: each worker re-reads the committed answers and
            # refuses a dirty clone, so the work-tree copy (no git process per repo) is enough.
            answers = read_repo_answers(ref.location, ref.local, run_dir / "probe", work_tree_ok=True)
        except AnswersError as exc:
            plan.early.append(RepoResult(ref.name, ref.location, error=str(exc)).to_dict())
            continue
        source = options.template or answers.src_path
        mirror = mirrors.get(source)
        if mirror is None:
            mirror = TemplateMirror.fetch(source, run_dir / f"template-{len(mirrors)}.git")
            mirrors[source] = mirror
            target = options.to or mirror.newest()
            mirror.resolve(target)  # a bad --to fails here, before any repo is touched
            run.templates[source] = {"target": target, "versions": mirror.tags()}
            plan.rewrites[source] = mirror.path
        # A repo whose answers name another URL of the same template (--template) reaches the
        # mirror through that URL too.
        plan.rewrites.setdefault(answers.src_path, mirror.path)
        plan.mirror_of_repo[ref.name] = mirror
        target = run.templates[source]["target"]
        plan.jobs.append(
            Job(
                name=ref.name,
                location=ref.location,
                local=ref.local,
                target=target,
                branch=pullrequest.branch_for(target),
                mirror=str(mirror.path),
                workdir=str(run_dir),
                dry_run=options.dry_run,
                push=options.push,
            )
        )
    return plan


def _execute(
    jobs: list[Job], options: UpdateOptions, run_dir: Path, rewrites: dict[str, Path], console: Console
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    git_env = insteadof_env(rewrites)
    # `spawn`: a fresh interpreter per worker, so no state of this process (rich's live display
    # thread, an imported Copier with its environment) leaks into the updates.
    context = multiprocessing.get_context("spawn")
    workers = min(options.jobs, len(jobs))
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    with (
        progress,
        ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=init_worker, initargs=(str(run_dir), git_env)
        ) as pool,
    ):
        verb = "Checking" if options.dry_run else "Updating"
        task = progress.add_task(f"{verb} {len(jobs)} repos with {workers} workers", total=len(jobs))
        futures = {pool.submit(update_repo, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 - a crashed worker is that repo's error
                result = RepoResult(job.name, job.location, error=f"worker crashed: {exc}").to_dict()
            results.append(result)
            style = {"error": "red", "conflicted": "yellow"}.get(result["classification"], "green")
            progress.console.print(f"  [{style}]{result['classification']:>11}[/] {job.name}")
            progress.advance(task)
    return results


def _slug(ref: RepoRef, result: dict[str, Any]) -> str | None:
    if ref.github:
        return ref.github
    if result.get("publish_url") and (slug := slug_from_url(result["publish_url"])):
        return slug
    if not ref.local and (slug := slug_from_url(ref.location)):
        return slug
    owner = result.get("github_owner")
    if owner:
        return f"{owner}/{repo_name(result.get('publish_url') or ref.location)}"
    return None


def _pull_requests(
    run: UpdateRun, repos: list[RepoRef], github: GitHub, mirror_of_repo: dict[str, TemplateMirror]
) -> None:
    by_name = {ref.name: ref for ref in repos}
    for result in run.results:
        if result["classification"] not in ("updated", "conflicted") or not result["branch"]:
            continue
        ref = by_name[result["name"]]
        slug = _slug(ref, result)
        if slug is None:
            result["pr"] = {
                "error": "cannot tell the GitHub repo: use a github.com remote, answer "
                "github_owner, or list the repo in studio.yml"
            }
            continue
        try:
            existing = github.find_open_pull(slug, result["branch"])
            if result["published"] != "remote":
                # Not pushed (a person's commits on the branch): leave their pull request alone.
                if existing:
                    result["pr"] = {
                        "number": existing["number"],
                        "url": existing.get("html_url"),
                        "draft": existing.get("draft"),
                        "action": "left as is",
                    }
                continue
            mirror = mirror_of_repo[result["name"]]
            changelog = mirror.changelog_excerpt(result["from_version"], result["to_version"])
            body = pullrequest.body_for(result, changelog)
            title = pullrequest.title_for(result)
            draft = pullrequest.is_draft(result)
            if existing:
                pr = github.update_pull(slug, existing["number"], title=title, body=body, base=result["base_branch"])
                action = "updated"
            else:
                pr = github.create_pull(
                    slug, head=result["branch"], base=result["base_branch"], title=title, body=body, draft=draft
                )
                action = "opened as draft" if draft else "opened"
            result["pr"] = {
                "number": pr["number"],
                "url": pr.get("html_url"),
                "draft": pr.get("draft"),
                "action": action,
                "repo": slug,
            }
        except GitHubError as exc:
            result["pr"] = {"error": f"pull request for {slug}: {exc}", "repo": slug}
