"""One repo's update, in its own fresh clone, in a worker process.

The owner's working copy is never touched: a local repo is only read (refused when it has
uncommitted changes) and cloned; every change happens in the clone, which is deleted at the end.
The result leaves the clone only as a branch pushed to the repo's remote (`--push`), or, without
`--push`, stored in the owner's local repo as a branch (never checked out). On `error` nothing
leaves the clone.
"""

from __future__ import annotations

import os
import re
import shutil
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devops_studio.fleet.answers import ANSWERS_FILE, AnswersError, read_answers
from devops_studio.fleet.checks import Change, changed_paths, find_conflicts, head_blob, sha256
from devops_studio.fleet.gitcmd import GitError, git, git_ok, is_secret_name
from devops_studio.redact import redact

# Our commits on a template-update branch carry this trailer; any other commit there is a person's.
TRAILER = "Template-Update"

UP_TO_DATE = "up-to-date"
UPDATED = "updated"
CONFLICTED = "conflicted"
ERROR = "error"
UNTRUSTED = "untrusted"  # the answers name a template studio.yml does not trust: nothing ran

BINARY_EDIT_KEPT = "binary-edit-kept"
BINARY_EDIT_REVERTED = "binary-edit-reverted"
DELETED_BUT_EDITED = "deleted-but-edited"
BRANCH_HAS_PERSON_COMMITS = "branch-has-person-commits"


@dataclass
class Job:
    """Everything a worker needs; plain data so it crosses the process boundary."""

    name: str
    location: str
    local: bool
    target: str  # template ref to update to (a tag, normally)
    branch: str
    mirror: str  # path of the template mirror
    workdir: str
    dry_run: bool = False
    push: bool = False


@dataclass
class RepoResult:
    name: str
    location: str
    classification: str = ERROR
    from_version: str | None = None
    to_version: str | None = None
    base_branch: str | None = None
    branch: str | None = None
    flags: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    binary_edits_kept: list[str] = field(default_factory=list)
    binary_edits_reverted: list[str] = field(default_factory=list)
    deleted_but_edited: list[str] = field(default_factory=list)
    person_commits: list[str] = field(default_factory=list)
    new_questions: dict[str, Any] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    commit: str | None = None
    published: str | None = None  # "remote", "local" or None
    publish_url: str | None = None
    note: str | None = None
    error: str | None = None
    pr: dict[str, Any] | None = None
    github_owner: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("location", "publish_url", "error", "note"):
            if data[key]:
                data[key] = redact(data[key])
        return data


class Refused(Exception):
    """The repo cannot be updated as it is; the message says why and what to do."""


def init_worker(run_dir: str, git_config_env: dict[str, str]) -> None:
    """ProcessPoolExecutor initializer: a private Copier cache and the template mirror rewrite.

    Copier keeps remote templates in a mirror cache that concurrent processes must not share, so
    each worker gets its own `COPIER_CACHE_DIR`. The `url.<mirror>.insteadOf` rewrite goes only into
    the environment of the git processes Copier starts (plumbum's `local.env`), not into ours: a
    template URL can be a prefix of an app repo URL, and app repos must not be rewritten.
    """
    for key in [k for k in os.environ if is_secret_name(k)]:
        del os.environ[key]  # started without them; a second guard costs nothing
    from plumbum import local

    from devops_studio.fleet.copier_guard import install_speedups

    for key in [k for k in local.env.getdict() if is_secret_name(k)]:  # iterating local.env yields pairs
        del local.env[key]

    # The parent's stdout may carry the JSON report: whatever Copier or a template task prints in
    # a worker goes to stderr instead.
    os.dup2(2, 1)
    own = Path(run_dir, f"worker-{os.getpid()}")
    own.mkdir(parents=True, exist_ok=True)
    os.environ["COPIER_CACHE_DIR"] = str(own / "copier-cache")
    local.env["COPIER_CACHE_DIR"] = str(own / "copier-cache")
    for key, value in git_config_env.items():
        local.env[key] = value
    # Copier commits six times per update in scratch repos; each commit would start
    # `git maintenance run --auto` and `git gc --auto` in the background for nothing.
    count = int(local.env.get("GIT_CONFIG_COUNT", "0"))
    for i, (key, value) in enumerate((("maintenance.auto", "false"), ("gc.auto", "0")), start=count):
        local.env[f"GIT_CONFIG_KEY_{i}"] = key
        local.env[f"GIT_CONFIG_VALUE_{i}"] = value
    local.env["GIT_CONFIG_COUNT"] = str(count + 2)
    for key in ("GIT_TERMINAL_PROMPT",):
        local.env[key] = "0"
    install_speedups(own / "checkouts")


def _publish_target(job: Job) -> str | None:
    """Where the update branch goes: the remote with --push, else the local clone it came from."""
    if job.dry_run:
        return None
    if job.push:
        if not job.local:
            return job.location
        try:
            url = git("remote", "get-url", "origin", cwd=job.location).strip()
        except GitError as exc:
            raise Refused(
                f"--push: {job.location} has no `origin` remote; add one (git remote add origin URL)"
            ) from exc
        return local_remote_path(url, Path(job.location))
    return job.location if job.local else None


def local_remote_path(url: str, clone: Path) -> str:
    """`url` as the worker can use it from its own scratch clone.

    git reads a remote with no scheme and no `host:` prefix as a path, relative to the clone that
    names it (`../remotes/app.git`); from the worker's scratch folder it would name something else.
    """
    if "://" in url or re.match(r"[^/]+:", url):
        return url  # a URL or scp-like `host:path`: the same from anywhere
    path = Path(url).expanduser()
    return str(path if path.is_absolute() else (clone / path).resolve())


def _is_ours(message: str) -> bool:
    return any(line.startswith(f"{TRAILER}:") for line in message.splitlines())


def _remote_heads(work: Path, target: str, *branches: str) -> dict[str, str]:
    """Branch -> commit at `target`, for those of `branches` that exist there (one ls-remote)."""
    out = git("ls-remote", target, *(f"refs/heads/{b}" for b in branches), cwd=work)
    heads = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        heads[ref.removeprefix("refs/heads/")] = sha
    return heads


def _person_commits(work: Path, target: str, branch: str, base: str) -> list[str]:
    """The commits on `branch` at `target` (not in `base`) that a person made: not ours."""
    git("fetch", "--quiet", target, f"+refs/heads/{branch}:refs/fleet/existing", cwd=work)
    log = git("log", "--format=%H%x00%an%x00%B%x1e", f"{base}..refs/fleet/existing", cwd=work)
    person = []
    for record in log.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        commit, author, message = record.split("\x00", 2)
        if not _is_ours(message):
            person.append(f"{commit[:12]} {author}: {message.splitlines()[0] if message else ''}")
    return person


def _numstat(work: Path, changed: list[Change]) -> list[dict[str, Any]]:
    """Stage everything and list each changed file with its line counts (None for binaries)."""
    git("add", "-A", cwd=work)
    out = git("diff", "--cached", "--numstat", "-z", "--no-renames", "HEAD", cwd=work)
    # Once staged, a conflicted path is a modification holding conflict markers.
    statuses = {c.path: "M" if c.status == "U" else c.status for c in changed}
    changes = []
    for entry in out.split("\0"):
        if not entry:
            continue
        added, removed, path = entry.split("\t", 2)
        changes.append(
            {
                "path": path,
                "status": statuses.get(path, "M"),
                "added": None if added == "-" else int(added),
                "removed": None if removed == "-" else int(removed),
            }
        )
    return changes


def _check_binaries(work: Path, binary_files: dict[str, tuple[str | None, str | None]], result: RepoResult) -> None:
    """Keep the owner's binary edits where the template left the file alone; report the rest."""
    for rel, (old_digest, new_digest) in sorted(binary_files.items()):
        if new_digest is None:
            continue  # dropped by the new version: handled as deleted-but-edited
        owner = head_blob(work, rel)
        if owner is None or sha256(owner) == old_digest:
            continue  # deleted by the owner (Copier respects that) or not edited
        current_path = work / rel
        current = current_path.read_bytes() if current_path.is_file() else None
        if old_digest is None:
            # The owner and the new version both added this binary: no merge exists either.
            if sha256(owner) == new_digest or current == owner:
                result.binary_edits_kept.append(rel)
            else:
                result.binary_edits_reverted.append(rel)
            continue
        if new_digest == old_digest:
            # The template did not touch the file; Copier reset it anyway. Put the owner's back.
            if current != owner:
                current_path.parent.mkdir(parents=True, exist_ok=True)
                current_path.write_bytes(owner)
            result.binary_edits_kept.append(rel)
        elif current == owner:
            result.binary_edits_kept.append(rel)
        else:
            # Both sides changed a binary file: no merge exists. The new version is proposed and
            # the owner's version stays on the base branch; the pull request names the file.
            result.binary_edits_reverted.append(rel)


def _run(job: Job, result: RepoResult, work: Path) -> None:
    from devops_studio.fleet.copier_guard import guarded_update

    if job.local:
        dirty = git("status", "--porcelain", "--untracked-files=normal", cwd=job.location)
        if dirty.strip():
            raise Refused(f"{job.location} has uncommitted changes; commit or stash them, then run again")
        base = git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=job.location, check=False).strip()
        if not base:
            raise Refused(f"{job.location} is on a detached HEAD; check out its main branch")
        # --no-hardlinks: git refreshes the mtime of objects it re-creates, and a hard-linked object
        # file would carry that write back into the owner's repo.
        git("clone", "--quiet", "--no-hardlinks", "--branch", base, "--", job.location, str(work))
    else:
        git("clone", "--quiet", "--", job.location, str(work))
        base = git("symbolic-ref", "--short", "HEAD", cwd=work).strip()
    result.base_branch = base
    before = read_answers(work)
    result.from_version = before.commit
    result.github_owner = before.values.get("github_owner")
    mirror = f"--git-dir={job.mirror}"
    target_sha = git(mirror, "rev-parse", f"{job.target}^{{commit}}").strip()
    from_ref = f"{before.commit}^{{commit}}"
    from_sha = git(mirror, "rev-parse", "--verify", "--quiet", from_ref, check=False).strip()
    if not from_sha:
        raise Refused(
            f"_commit {before.commit!r} of {ANSWERS_FILE} is not in the template; "
            "the repo was generated from another template or an unpublished commit"
        )
    if from_sha == target_sha or git_ok(mirror, "merge-base", "--is-ancestor", target_sha, from_sha):
        result.classification = UP_TO_DATE
        result.to_version = before.commit
        if from_sha != target_sha:
            result.note = f"already on {before.commit}, newer than {job.target}"
        return

    publish = _publish_target(job)
    heads = _remote_heads(work, publish, base, job.branch) if publish else {}
    if job.push and job.local and heads.get(base) != git("rev-parse", "HEAD", cwd=work).strip():
        # The pull request compares against the remote's branch: build on exactly that.
        raise Refused(
            f"{job.location}: {base} differs from {base} on origin; push or pull it first, "
            "so the update branch builds on what the pull request compares against"
        )
    existing_sha = heads.get(job.branch)
    person = _person_commits(work, publish, job.branch, "HEAD") if existing_sha else []
    if person:
        result.flags.append(BRANCH_HAS_PERSON_COMMITS)
        result.person_commits = person

    # A dry run runs no template code: no tasks, no migrations, no Jinja extensions.
    seen = guarded_update(work, job.target, run_template_code=not job.dry_run)
    after = read_answers(work)
    if after.commit == before.commit:
        raise RuntimeError(f"Copier left {ANSWERS_FILE} at {before.commit}; the update did not happen")
    result.to_version = after.commit
    result.new_questions = {k: v for k, v in after.values.items() if k not in before.values}
    result.deleted_but_edited = seen.dropped_but_edited
    if seen.dropped_but_edited:
        result.flags.append(DELETED_BUT_EDITED)
    _check_binaries(work, seen.binary_files, result)
    if result.binary_edits_kept:
        result.flags.append(BINARY_EDIT_KEPT)
    if result.binary_edits_reverted:
        result.flags.append(BINARY_EDIT_REVERTED)

    changes = changed_paths(work)
    # A binary both sides changed has no merge: the owner must choose, so it is a conflict too
    # (the owner's bytes stay on the base branch).
    result.conflicts = sorted(set(find_conflicts(work, changes)) | set(result.binary_edits_reverted))
    result.changes = _numstat(work, changes)
    result.classification = CONFLICTED if result.conflicts else UPDATED
    if job.dry_run:
        return

    git("checkout", "--quiet", "-b", job.branch, cwd=work)
    message = _commit_message(job, result)
    git("commit", "--quiet", "--no-verify", "-m", message, cwd=work)
    result.commit = git("rev-parse", "HEAD", cwd=work).strip()
    result.branch = job.branch
    if not publish:
        result.note = "not published: pass --push to push the branch to the repo's remote"
        return
    if person:
        result.note = (
            f"not pushed: {job.branch} has commits a person added; merge or rebase them onto "
            "the new update by hand, or delete the branch to let the fleet recreate it"
        )
        return
    if existing_sha and _same_update(work, existing_sha):
        result.commit = existing_sha
        result.published = "remote" if job.push else "local"
        result.publish_url = publish if job.push else None
        result.note = f"{job.branch} already holds this update"
        return
    lease = f"--force-with-lease=refs/heads/{job.branch}:{existing_sha or ''}"
    try:
        git("push", "--quiet", "--no-verify", lease, publish, f"HEAD:refs/heads/{job.branch}", cwd=work)
    except GitError as exc:
        raise RuntimeError(f"push of {job.branch} failed: {exc.stderr}") from exc
    result.published = "remote" if job.push else "local"
    result.publish_url = publish if job.push else None


def _same_update(work: Path, existing_sha: str) -> bool:
    """The branch already holds exactly this update: same tree on the same base commit."""
    ours_tree = git("rev-parse", "HEAD^{tree}", cwd=work).strip()
    ours_parent = git("rev-parse", "HEAD^", cwd=work).strip()
    theirs = git("log", "-1", "--format=%T %P", existing_sha, cwd=work).split()
    return theirs[:2] == [ours_tree, ours_parent]


def _commit_message(job: Job, result: RepoResult) -> str:
    lines = [f"Update the template to {result.to_version}", ""]
    lines.append(f"From {result.from_version}; made with devops-studio fleet update.")
    if result.conflicts:
        lines += ["", "Conflicts to resolve:"] + [f"- {p}" for p in result.conflicts]
    if result.deleted_but_edited:
        lines += ["", "Kept though the template dropped them (edited here):"]
        lines += [f"- {p}" for p in result.deleted_but_edited]
    if result.binary_edits_reverted:
        lines += ["", "Binary files changed on both sides (template version proposed):"]
        lines += [f"- {p}" for p in result.binary_edits_reverted]
    lines += ["", f"{TRAILER}: {job.target}"]
    return "\n".join(lines)


def update_repo(job: Job) -> dict[str, Any]:
    """Update one repo; never raises. Returns `RepoResult.to_dict()`."""
    result = RepoResult(name=job.name, location=job.location)
    work = Path(job.workdir, "clones", job.name)
    if work.exists():
        shutil.rmtree(work)
    work.parent.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    try:
        _run(job, result, work)
    except (Refused, AnswersError) as exc:
        result.classification = ERROR
        result.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure is an `error` for this repo only
        result.classification = ERROR
        # Copier's refusals (a validator, a bad answer) are ValueErrors whose message says it all.
        result.error = str(exc) if isinstance(exc, ValueError) else _describe(exc)
        if job.dry_run:
            result.error += (" (a dry run runs none of the template's code, Jinja extensions included; if the "
                             "template needs them to render, see its changes with an update without --push)")
    finally:
        os.chdir(cwd)  # Copier's API changes the working directory
        shutil.rmtree(work, ignore_errors=True)
    if result.classification == ERROR:
        # Nothing of a failed update is kept or reported as if it happened.
        result.commit = result.branch = result.published = None
        result.changes = []
    return result.to_dict()


def _describe(exc: BaseException) -> str:
    stderr = getattr(exc, "stderr", None)
    if isinstance(stderr, bytes):
        stderr = stderr.decode(errors="replace")
    text = f"{type(exc).__name__}: {exc}"
    if stderr and str(stderr).strip() and str(stderr).strip() not in text:
        text += f" ({str(stderr).strip()[-500:]})"
    if os.environ.get("DEVOPS_STUDIO_DEBUG"):
        text += "\n" + traceback.format_exc()
    return text
