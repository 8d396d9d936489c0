"""The pure parts of the fleet: branch names, GitHub slugs, changelog excerpts, PR bodies."""

from __future__ import annotations

import subprocess

from devops_studio.fleet.mirror import TemplateMirror, insteadof_env, version_of
from devops_studio.fleet.pullrequest import body_for, branch_for, is_draft, slug_from_url


def test_branch_is_named_after_the_target_version():
    assert branch_for("v2.0.0") == "template-update/v2.0.0"
    assert branch_for("feature/x y") == "template-update/feature-x-y"


def test_slug_from_github_urls():
    assert slug_from_url("https://github.com/acme/app.git") == "acme/app"
    assert slug_from_url("git@github.com:acme/app.git") == "acme/app"
    assert slug_from_url("ssh://git@github.com/acme/app") == "acme/app"
    assert slug_from_url("/srv/git/app.git") is None


def test_version_of_describe_output():
    assert str(version_of("v1.2.0-3-gabc1234")) == "1.2.0"
    assert version_of("abc1234") is None


def test_changelog_excerpt_covers_only_the_versions_in_between(template_repo, tmp_path):
    mirror = TemplateMirror.fetch(str(template_repo), tmp_path / "m.git")
    assert mirror.tags() == ["v1.0.0", "v2.0.0", "v3.0.0"]
    assert mirror.newest() == "v3.0.0"
    excerpt = mirror.changelog_excerpt("v1.0.0", "v3.0.0")
    assert "## v3.0.0" in excerpt and "## v2.0.0" in excerpt and "## v1.0.0" not in excerpt
    assert "## v3.0.0" not in mirror.changelog_excerpt("v1.0.0", "v2.0.0")
    assert mirror.questions("v2.0.0")["log_level"] == "info"


def test_insteadof_env_rewrites_every_spelling_of_the_template(tmp_path):
    env = insteadof_env({"gh:acme/tpl": tmp_path / "m.git"})
    values = {env[f"GIT_CONFIG_VALUE_{i}"] for i in range(int(env["GIT_CONFIG_COUNT"]))}
    assert values == {"gh:acme/tpl", "https://github.com/acme/tpl.git"}
    assert env["GIT_CONFIG_KEY_0"] == f"url.{tmp_path / 'm.git'}.insteadOf"


def _result(**overrides):
    base = {
        "classification": "updated", "from_version": "v1.0.0", "to_version": "v2.0.0", "flags": [],
        "conflicts": [], "deleted_but_edited": [], "binary_edits_kept": [], "binary_edits_reverted": [],
        "new_questions": {}, "changes": [], "base_branch": "main",
    }
    return {**base, **overrides}


def test_pull_request_body_lists_what_the_owner_must_know():
    result = _result(
        classification="conflicted", conflicts=["README.md"], deleted_but_edited=["legacy.txt"],
        binary_edits_reverted=["logo.png"], new_questions={"log_level": "info"},
        changes=[{"path": "README.md", "status": "M", "added": 2, "removed": 1}],
    )
    body = body_for(result, "## v2.0.0\n\n- New question `log_level`.")
    assert "- [ ] `README.md`" in body
    assert "`legacy.txt`" in body and "`logo.png`" in body
    assert "`log_level`: `'info'`" in body
    assert "## v2.0.0" in body
    assert is_draft(result)
    assert not is_draft(_result())
    assert is_draft(_result(binary_edits_reverted=["x.png"]))


def test_credentials_in_urls_are_redacted():
    from devops_studio.fleet.gitcmd import redact

    assert redact("push to https://x-access-token:ghs_secret@github.com/a/b.git failed") == (
        "push to https://***@github.com/a/b.git failed"
    )
    assert redact("/srv/git/a.git") == "/srv/git/a.git"


def test_conflicts_are_found_in_the_tree_not_trusted_from_copier(tmp_path):
    """Unmerged index entries, `.rej` files and conflict markers each count as a conflict."""
    from devops_studio.fleet.checks import changed_paths, find_conflicts
    from tests.fleet.helpers import git

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for name in ("merged.txt", "marked.txt", "clean.txt", "patched.txt"):
        (repo / name).write_text("one\ntwo\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "merged.txt").write_text("one\nother\n")
    git(repo, "commit", "-qam", "other")
    git(repo, "checkout", "-q", "main")
    (repo / "merged.txt").write_text("one\nmain\n")
    git(repo, "commit", "-qam", "main")
    subprocess.run(["git", "merge", "-q", "other"], cwd=repo, capture_output=True)  # leaves UU
    (repo / "marked.txt").write_text("<<<<<<< before updating\na\n=======\nb\n>>>>>>> after updating\n")
    (repo / "clean.txt").write_text("one\ntwo\nthree\n")
    (repo / "patched.txt.rej").write_text("@@ -1 +1 @@\n-one\n+uno\n")
    changes = changed_paths(repo)
    assert {c.path: c.status for c in changes}["merged.txt"] == "U"
    assert find_conflicts(repo, changes) == ["marked.txt", "merged.txt", "patched.txt"]


def test_changelog_excerpt_reads_keep_a_changelog_headings(tmp_path):
    from tests.fleet.helpers import git

    repo = tmp_path / "tpl"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "CHANGELOG.md").write_text(
        "# Changelog\n\n## [Unreleased]\n\n- Work in progress.\n\n"
        "## [2.1.0] - 2026-11-20\n\n### Added\n\n- Backups.\n\n"
        "## [2.0.0] - 2026-10-01\n\n### Changed\n\n- New proxy.\n\n"
        "## [1.0.0] - 2026-09-01\n\n- First.\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release")
    git(repo, "tag", "v2.1.0")
    mirror = TemplateMirror.fetch(str(repo), tmp_path / "m.git")
    excerpt = mirror.changelog_excerpt("v1.0.0", "v2.1.0")
    assert "### Added" in excerpt and "Backups" in excerpt and "New proxy" in excerpt
    assert "First." not in excerpt and "Work in progress" not in excerpt


def test_the_copier_internals_the_guard_hooks_exist():
    """A Copier upgrade that moves them must fail here, not silently lose owners' edits."""
    from copier import _template

    from devops_studio.fleet.copier_guard import check_copier_internals

    check_copier_internals()
    assert callable(_template.clone) and callable(_template.load_template_config)


def test_redact_hides_url_credentials_and_tokens():
    from devops_studio.redact import redact, redact_url

    assert redact_url("https://bot:s3cret@example.com/a/b.git") == "https://***@example.com/a/b.git"
    assert redact_url("/srv/apps/alpha") == "/srv/apps/alpha"
    text = "push to https://x-access-token:ghs_abcdefghijklmnop1234@github.com/a/b failed; token ghp_" + "A" * 36
    shown = redact(text)
    assert "ghs_" not in shown and "ghp_" not in shown and "https://***@github.com/a/b" in shown
    assert redact("Authorization: Bearer abc.def.ghi123") == "Authorization: Bearer ***"
