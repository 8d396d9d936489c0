"""`fleet update` end to end: real git, bare remotes, real Copier, the tagged test template."""

from __future__ import annotations

import os
from pathlib import Path

from tests.fakes.github_api import FakeGitHub
from tests.fleet.helpers import git, remote_refs, run_fleet
from tests.fleet.template_factory import ICON, LOGO_V1, LOGO_V2

TOKEN = "ghp_fleet_test_token"


def github_for(*repos: str) -> FakeGitHub:
    github = FakeGitHub()
    github.add_token(TOKEN, login="acme-bot")
    for repo in repos:
        github.add_repo("acme", repo)
    return github

BRANCH = "template-update/v2.0.0"


def show(remote: Path, ref: str, path: str) -> str:
    return git(remote, "show", f"{ref}:{path}")


def show_bytes(remote: Path, ref: str, path: str) -> bytes:
    import subprocess

    return subprocess.run(["git", "show", f"{ref}:{path}"], cwd=remote, check=True,
                          capture_output=True).stdout


def files_at(remote: Path, ref: str) -> set[str]:
    return set(git(remote, "ls-tree", "-r", "--name-only", ref).split())


def update(capsys, *repos: Path, to: str = "v2.0.0", extra: tuple[str, ...] = ("--push",)):
    code, report, out = run_fleet(capsys, "update", "--repos", *map(str, repos), "--to", to, *extra, "--json")
    return code, {r["name"]: r for r in report["repos"]}, out


def test_clean_update_pushes_a_branch_and_leaves_the_working_copy_alone(apps, capsys):
    app = apps.make("alpha")
    head_before = git(app, "rev-parse", "HEAD")
    code, repos, _ = update(capsys, app)
    assert code == 0
    result = repos["alpha"]
    assert result["classification"] == "updated"
    assert result["flags"] == []
    assert result["from_version"] == "v1.0.0" and result["to_version"] == "v2.0.0"
    assert result["new_questions"] == {"log_level": "info"}
    remote = apps.remote("alpha")
    refs = remote_refs(remote)
    assert f"refs/heads/{BRANCH}" in refs
    assert "make run" in show(remote, BRANCH, "README.md")
    assert "level = info" in show(remote, BRANCH, "config.ini")
    assert "_commit: v2.0.0" in show(remote, BRANCH, ".copier-answers.yml")
    assert "legacy.txt" not in files_at(remote, BRANCH)  # not edited, so its removal is fine
    assert show_bytes(remote, BRANCH, "assets/logo.png") == LOGO_V2
    # The branch sits on main; main itself and the owner's clone are untouched.
    assert git(remote, "rev-parse", f"{BRANCH}^") == head_before
    assert git(remote, "rev-parse", "main") == head_before
    assert git(app, "rev-parse", "HEAD") == head_before
    assert git(app, "status", "--porcelain") == ""
    assert "Template-Update: v2.0.0" in git(remote, "log", "-1", "--format=%B", BRANCH)


def test_local_edits_in_several_file_types_are_kept(apps, capsys):
    def edits(path: Path) -> None:
        readme = path / "README.md"
        readme.write_text(readme.read_text().replace("Ask the platform team.", "Ask Alice on #alpha."))
        config = path / "config.ini"
        config.write_text(config.read_text().replace("workers = 2", "workers = 8"))
        (path / "app.py").write_text("print('mine')\n")
        (path / "assets" / "data.bin").write_bytes(b"\x00\x01owner")

    app = apps.make("beta", edits=edits)
    code, repos, _ = update(capsys, app)
    assert code == 0
    assert repos["beta"]["classification"] == "updated"
    remote = apps.remote("beta")
    readme = show(remote, BRANCH, "README.md")
    assert "Ask Alice on #alpha." in readme and "make run" in readme
    config = show(remote, BRANCH, "config.ini")
    assert "workers = 8" in config and "level = info" in config
    assert show(remote, BRANCH, "app.py") == "print('mine')\n"
    assert show_bytes(remote, BRANCH, "assets/data.bin") == b"\x00\x01owner"


def test_true_conflict_is_reported_and_opened_as_a_draft(apps, capsys, monkeypatch):
    def edits(path: Path) -> None:
        readme = path / "README.md"
        new = readme.read_text().replace("Start it on port 8000.", "Start it with docker compose up.")
        readme.write_text(new)

    app = apps.make("gamma", edits=edits)
    with github_for("gamma") as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        code, repos, out = update(capsys, app, extra=("--push", "--pr"))
    assert code == 0
    result = repos["gamma"]
    assert result["classification"] == "conflicted"
    assert result["conflicts"] == ["README.md"]
    (pr,) = github.pulls["acme/gamma"].values()
    assert pr["draft"] is True
    assert pr["head"]["ref"] == BRANCH and pr["base"]["ref"] == "main"
    assert "README.md" in pr["body"] and "Conflicts to resolve" in pr["body"]
    assert "`log_level`: `'info'`" in pr["body"]
    assert "New question `log_level`" in pr["body"]  # the changelog excerpt of v2.0.0
    assert "First release" not in pr["body"]  # v1.0.0's entry is not part of this update
    assert result["pr"]["action"] == "opened as draft"
    assert TOKEN not in out
    readme = show(apps.remote("gamma"), BRANCH, "README.md")
    assert "<<<<<<< before updating" in readme and ">>>>>>> after updating" in readme


def test_failing_template_task_is_an_error_and_the_remote_is_untouched(apps, capsys):
    app = apps.make("delta")
    remote = apps.remote("delta")
    refs_before = remote_refs(remote)
    branches_before = git(app, "branch", "--list")
    code, repos, _ = update(capsys, app, to="v3.0.0")
    assert code == 1
    result = repos["delta"]
    assert result["classification"] == "error"
    assert "migration step failed" in result["error"] or "exit" in result["error"].lower()
    assert result["branch"] is None and result["commit"] is None
    assert remote_refs(remote) == refs_before
    assert git(app, "branch", "--list") == branches_before
    assert "_commit: v1.0.0" in (app / ".copier-answers.yml").read_text()


def test_binary_edits_are_kept_or_reported(apps, capsys):
    def edits(path: Path) -> None:
        (path / "assets" / "icon.ico").write_bytes(b"\x00owner icon\x00")  # template keeps icon.ico
        (path / "assets" / "logo.png").write_bytes(b"\x00owner logo\x00")  # template changes logo.png

    app = apps.make("epsilon", edits=edits)
    code, repos, _ = update(capsys, app)
    assert code == 0
    result = repos["epsilon"]
    assert result["binary_edits_kept"] == ["assets/icon.ico"]
    assert result["binary_edits_reverted"] == ["assets/logo.png"]
    assert {"binary-edit-kept", "binary-edit-reverted"} <= set(result["flags"])
    assert result["classification"] == "conflicted" and "assets/logo.png" in result["conflicts"]
    remote = apps.remote("epsilon")
    # Plain Copier would reset icon.ico to the template's bytes; the fleet keeps the owner's.
    assert show_bytes(remote, BRANCH, "assets/icon.ico") == b"\x00owner icon\x00"
    assert show_bytes(remote, BRANCH, "assets/logo.png") == LOGO_V2
    assert show_bytes(remote, "main", "assets/logo.png") == b"\x00owner logo\x00"
    assert ICON != b"\x00owner icon\x00" and LOGO_V1 != LOGO_V2


def test_file_dropped_by_the_template_but_edited_is_kept_and_named(apps, capsys):
    def edits(path: Path) -> None:
        (path / "legacy.txt").write_text("Our deploy script still reads this.\n")

    edited = apps.make("zeta", edits=edits)
    untouched = apps.make("eta")
    code, repos, _ = update(capsys, edited, untouched)
    assert code == 0
    assert repos["zeta"]["deleted_but_edited"] == ["legacy.txt"]
    assert "deleted-but-edited" in repos["zeta"]["flags"]
    assert show(apps.remote("zeta"), BRANCH, "legacy.txt") == "Our deploy script still reads this.\n"
    assert repos["eta"]["deleted_but_edited"] == []
    assert "legacy.txt" not in files_at(apps.remote("eta"), BRANCH)


def test_dirty_working_copy_is_refused(apps, capsys):
    app = apps.make("theta")
    (app / "README.md").write_text("work in progress\n")
    refs_before = remote_refs(apps.remote("theta"))
    code, repos, _ = update(capsys, app)
    assert code == 1
    assert repos["theta"]["classification"] == "error"
    assert "uncommitted changes" in repos["theta"]["error"]
    assert remote_refs(apps.remote("theta")) == refs_before
    assert (app / "README.md").read_text() == "work in progress\n"


def test_repo_already_current_is_up_to_date(apps, capsys):
    app = apps.make("iota", version="v2.0.0")
    refs_before = remote_refs(apps.remote("iota"))
    code, repos, _ = update(capsys, app)
    assert code == 0
    assert repos["iota"]["classification"] == "up-to-date"
    assert remote_refs(apps.remote("iota")) == refs_before


def test_second_run_updates_the_same_branch_and_pull_request(apps, capsys, monkeypatch):
    app = apps.make("kappa")
    remote = apps.remote("kappa")
    with github_for("kappa") as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        code, repos, _ = update(capsys, app, extra=("--push", "--pr"))
        assert code == 0 and repos["kappa"]["pr"]["action"] == "opened"
        first = git(remote, "rev-parse", BRANCH).strip()
        # The owner moves on: a new commit on main, then the fleet runs again.
        (app / "NOTES.md").write_text("notes\n")
        git(app, "add", "NOTES.md")
        git(app, "commit", "-q", "-m", "Add notes")
        git(app, "push", "-q", "origin", "main")
        code, repos, _ = update(capsys, app, extra=("--push", "--pr"))
        assert code == 0
        assert repos["kappa"]["pr"]["action"] == "updated"
        assert len(github.pulls["acme/kappa"]) == 1
        second = git(remote, "rev-parse", BRANCH).strip()
        assert second != first
        assert git(remote, "rev-parse", f"{BRANCH}^").strip() == git(remote, "rev-parse", "main").strip()
        assert "NOTES.md" in files_at(remote, BRANCH)
        # A third run with nothing new leaves branch and PR as they are.
        code, repos, _ = update(capsys, app, extra=("--push", "--pr"))
        assert code == 0
        assert git(remote, "rev-parse", BRANCH).strip() == second
        assert len(github.pulls["acme/kappa"]) == 1
        assert [r["method"] for r in github.requests if r["method"] == "POST"] == ["POST"]


def test_a_persons_commit_on_the_branch_is_never_overwritten(apps, capsys, tmp_path):
    app = apps.make("lambda")
    remote = apps.remote("lambda")
    code, _, _ = update(capsys, app)
    assert code == 0
    # Someone fixes something on the update branch and pushes it.
    helper = tmp_path / "person"
    git(tmp_path, "clone", "-q", "--branch", BRANCH, str(remote), str(helper))
    (helper / "README.md").write_text((helper / "README.md").read_text() + "\nReviewed by Bob.\n")
    git(helper, "commit", "-qam", "Note the review")
    git(helper, "push", "-q", "origin", BRANCH)
    persons = git(remote, "rev-parse", BRANCH).strip()
    # The owner moves main, so a new update commit would differ from the branch.
    (app / "NOTES.md").write_text("notes\n")
    git(app, "add", "NOTES.md")
    git(app, "commit", "-q", "-m", "Add notes")
    git(app, "push", "-q", "origin", "main")
    code, repos, _ = update(capsys, app)
    assert code == 0
    result = repos["lambda"]
    assert "branch-has-person-commits" in result["flags"]
    assert any("Note the review" in c for c in result["person_commits"])
    assert result["published"] is None
    assert git(remote, "rev-parse", BRANCH).strip() == persons


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    snap = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            stat = path.stat()
            snap[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return snap


def test_dry_run_writes_nothing(apps, capsys):
    def edits(path: Path) -> None:
        readme = path / "README.md"
        readme.write_text(readme.read_text().replace("Start it on port 8000.", "Start it with compose."))

    clean = apps.make("mu")
    conflicted = apps.make("nu", edits=edits)
    before = {p: _snapshot(p) for p in (clean, conflicted, apps.remote("mu"), apps.remote("nu"))}
    refs = {p: remote_refs(p) for p in (apps.remote("mu"), apps.remote("nu"))}
    code, repos, out = update(capsys, clean, conflicted, extra=("--dry-run",))
    assert code == 0
    assert repos["mu"]["classification"] == "updated"
    assert repos["nu"]["classification"] == "conflicted"
    assert repos["nu"]["conflicts"] == ["README.md"]
    changed = {c["path"]: c["status"] for c in repos["mu"]["changes"]}
    assert changed["README.md"] == "M" and changed["legacy.txt"] == "D"
    assert repos["mu"]["branch"] is None and repos["mu"]["published"] is None
    after = {p: _snapshot(p) for p in before}
    for root, files in before.items():
        changed_files = {f for f in files.keys() | after[root].keys() if files.get(f) != after[root].get(f)}
        assert not changed_files, f"dry run wrote to {root}"
    assert {p: remote_refs(p) for p in refs} == refs


def test_parallel_workers_reach_the_template_only_through_the_mirror(apps, capsys, tmp_path):
    """Answers name an unreachable https template; every Copier clone must come from the mirror.

    Copier treats https templates as remote and caches them in COPIER_CACHE_DIR: each worker has its
    own, and the caller's cache is never touched.
    """
    names = [f"par{i}" for i in range(5)]
    made = []
    for i, name in enumerate(names):
        def edits(path: Path, i: int = i) -> None:
            answers = path / ".copier-answers.yml"
            answers.write_text(answers.read_text().replace(
                f"_src_path: {apps.template}", "_src_path: https://github.com/acme/devops-template.git"))
            readme = path / "README.md"
            readme.write_text(readme.read_text().replace("platform team.", f"platform team {i}."))
        made.append(apps.make(name, edits=edits, app_port=8000 + i))
    user_cache = tmp_path / "copier-cache"
    code, repos, out = update(
        capsys, *made, extra=("--push", "--jobs", "3", "--template", str(apps.template)),
    )
    assert code == 0, out
    for i, name in enumerate(names):
        assert repos[name]["classification"] == "updated", (repos[name]["conflicts"], repos[name]["changes"])
        assert f"port = {8000 + i}" in show(apps.remote(name), BRANCH, "config.ini")
        assert f"platform team {i}." in show(apps.remote(name), BRANCH, "README.md")
        answers = show(apps.remote(name), BRANCH, ".copier-answers.yml")
        assert "_src_path: https://github.com/acme/devops-template.git" in answers
        assert "_commit: v2.0.0" in answers
    assert not user_cache.exists()


def test_bad_input_names_the_field(apps, capsys, monkeypatch):
    app = apps.make("xi")
    code, _, out = run_fleet(capsys, "update", "--repos", str(app), "--to", "v9.0.0")
    assert code == 2 and "--to 'v9.0.0'" in out
    code, _, out = run_fleet(capsys, "update", "--repos", str(app / "nope"))
    assert code == 2 and "--repos" in out
    code, _, out = run_fleet(capsys, "update", "--repos", str(app), "--pr")
    assert code == 2 and "--pr needs --push" in out
    code, _, out = run_fleet(capsys, "update", "--repos", str(app), "--push", "--pr")
    assert code == 2 and "GH_TOKEN" in out
    assert list(remote_refs(apps.remote("xi"))) == ["refs/heads/main"]


def test_a_pull_request_that_cannot_be_opened_fails_the_run(apps, capsys, monkeypatch):
    app = apps.make("omicron")
    with github_for() as github:  # the repo is unknown to GitHub: 404
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        code, repos, out = update(capsys, app, extra=("--push", "--pr"))
    assert code == 1
    assert repos["omicron"]["classification"] == "updated"
    assert "404" in repos["omicron"]["pr"]["error"] and "acme/omicron" in repos["omicron"]["pr"]["error"]
    assert f"refs/heads/{BRANCH}" in remote_refs(apps.remote("omicron"))
    assert TOKEN not in out


def test_pull_request_of_a_branch_a_person_works_on_is_left_alone(apps, capsys, monkeypatch, tmp_path):
    app = apps.make("pi")
    remote = apps.remote("pi")
    with github_for("pi") as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        assert update(capsys, app, extra=("--push", "--pr"))[0] == 0
        helper = tmp_path / "person"
        git(tmp_path, "clone", "-q", "--branch", BRANCH, str(remote), str(helper))
        (helper / "extra.txt").write_text("mine\n")
        git(helper, "add", "extra.txt")
        git(helper, "commit", "-qm", "Add extra")
        git(helper, "push", "-q", "origin", BRANCH)
        body_before = github.pulls["acme/pi"][1]["body"]
        code, repos, _ = update(capsys, app, extra=("--push", "--pr"))
        assert code == 0
        assert repos["pi"]["pr"]["action"] == "left as is"
        assert github.pulls["acme/pi"][1]["body"] == body_before
        assert [r["method"] for r in github.requests].count("PATCH") == 0


def test_a_clone_out_of_step_with_its_remote_is_refused_for_push(apps, capsys):
    app = apps.make("rho")
    (app / "NOTES.md").write_text("not pushed yet\n")
    git(app, "add", "NOTES.md")
    git(app, "commit", "-q", "-m", "Local only")
    refs_before = remote_refs(apps.remote("rho"))
    code, repos, _ = update(capsys, app)
    assert code == 1
    assert "push or pull it first" in repos["rho"]["error"]
    assert remote_refs(apps.remote("rho")) == refs_before


def test_push_to_a_relative_origin_of_a_local_clone(apps, capsys):
    """`origin = ../../remotes/gamma.git` is relative to the clone, not to the worker's scratch copy."""
    app = apps.make("gamma")
    relative = os.path.relpath(apps.remote("gamma"), app)
    git(app, "remote", "set-url", "origin", relative)
    code, repos, out = update(capsys, app)
    assert code == 0, out
    assert repos["gamma"]["classification"] == "updated"
    assert f"refs/heads/{BRANCH}" in remote_refs(apps.remote("gamma"))
    assert git(app, "remote", "get-url", "origin").strip() == relative
