"""`fleet status` and repo discovery: versions, behind, open update pull requests, bad input."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.github_settings import SettingsGitHub
from tests.fleet.helpers import git, inventory_for, run_fleet

TOKEN = "ghp_fleet_status_token"


def test_status_shows_versions_behind_and_open_pull_requests(apps, capsys, monkeypatch):
    old = apps.make("old-app")
    current = apps.make("new-app", version="v3.0.0", skip_tasks=True)
    with SettingsGitHub() as github:
        github.add_token(TOKEN)
        github.add_repo("acme", "old-app")
        github.add_repo("acme", "new-app")
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        code, _, _ = run_fleet(capsys, "update", "--repos", str(old), "--to", "v2.0.0", "--push", "--pr")
        assert code == 0
        code, report, out = run_fleet(capsys, "status", "--repos", str(old), str(current), "--json")
    assert code == 0
    rows = {row["name"]: row for row in report["repos"]}
    assert rows["old-app"]["version"] == "v1.0.0"
    assert rows["old-app"]["newest"] == "v3.0.0"
    assert rows["old-app"]["behind"] is True
    assert rows["old-app"]["pull_request"] == "#1 open (template-update/v2.0.0)"
    assert rows["new-app"]["behind"] is False
    assert rows["new-app"]["pull_request"] == "none"
    # New repos' settings differ from what `repo setup` applies; no runner serves them: a warning.
    assert rows["old-app"]["settings"]["status"] == "warn"
    assert "devops-studio repo setup acme/old-app" in rows["old-app"]["settings"]["detail"]
    assert TOKEN not in out


def test_status_fails_on_a_public_repo_a_runner_serves_without_fork_approval(apps, capsys, monkeypatch, tmp_path):
    app = apps.make("served-app")
    inventory = tmp_path / "studio.yml"
    inventory.write_text(inventory_for("acme", ["served-app"]))
    with SettingsGitHub() as github:
        github.add_token(TOKEN)
        github.add_repo("acme", "served-app", private=False)
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GH_TOKEN", TOKEN)
        code, report, out = run_fleet(capsys, "status", "--repos", str(app), "--inventory", str(inventory), "--json")
        assert {r["method"] for r in github.requests} == {"GET"}  # status only reads
    (row,) = report["repos"]
    assert row["error"] is None, row
    assert row["settings"]["status"] == "fail"
    assert "self-hosted runner" in row["settings"]["detail"]
    assert code == 1


def test_status_table_without_github(apps, capsys):
    app = apps.make("plain")
    code, _, out = run_fleet(capsys, "status", "--repos", str(app))
    assert code == 0
    assert "plain" in out and "v1.0.0" in out and "v3.0.0" in out and "yes" in out


def test_status_of_a_repo_without_answers_is_an_error(apps, capsys, tmp_path):
    bare = tmp_path / "not-generated"
    bare.mkdir()
    git(bare, "init", "-q")
    (bare / "README.md").write_text("hi\n")
    git(bare, "add", "-A")
    git(bare, "commit", "-q", "-m", "init")
    code, report, _ = run_fleet(capsys, "status", "--repos", str(bare), "--json")
    assert code == 1
    assert ".copier-answers.yml" in report["repos"][0]["error"]


def test_folder_discovery_finds_generated_clones_only(apps, capsys, tmp_path):
    apps.make("one")
    apps.make("two")
    other = tmp_path / "apps" / "unrelated"
    other.mkdir()
    git(other, "init", "-q")
    code, report, _ = run_fleet(capsys, "status", "--folder", str(tmp_path / "apps"), "--json")
    assert code == 0
    assert [row["name"] for row in report["repos"]] == ["one", "two"]


def test_inventory_repos_are_read_from_github_owner_and_repos(apps, capsys, tmp_path, monkeypatch):
    """studio.yml names repos on GitHub; GITHUB_SERVER_URL points at bare remotes on disk here."""
    apps.make("inv-a")
    apps.make("inv-b")
    server = tmp_path / "server"
    (server / "acme").mkdir(parents=True)
    for name in ("inv-a", "inv-b"):
        (server / "acme" / f"{name}.git").symlink_to(apps.remote(name))
    monkeypatch.setenv("GITHUB_SERVER_URL", f"file://{server}")
    inventory = tmp_path / "studio.yml"
    inventory.write_text(inventory_for("acme", ["inv-a", "inv-b"]))
    code, report, out = run_fleet(capsys, "update", "--inventory", str(inventory), "--to", "v2.0.0", "--push", "--json")
    assert code == 0, out
    results = {r["name"]: r["classification"] for r in report["repos"]}
    assert results == {"inv-a": "updated", "inv-b": "updated"}
    for name in ("inv-a", "inv-b"):
        answers = git(apps.remote(name), "show", "template-update/v2.0.0:.copier-answers.yml")
        assert "_commit: v2.0.0" in answers


def test_bad_inventory_names_the_key(capsys, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    inventory = tmp_path / "elsewhere" / "studio.yml"
    inventory.write_text("version: 1\ngithub:\n  repos: [a]\n")
    code, _, out = run_fleet(capsys, "status", "--inventory", str(inventory))
    assert code == 2 and "github.owner" in out
    code, _, out = run_fleet(capsys, "status")
    assert code == 2 and "--repos" in out  # no studio.yml in the current folder: say what to pass


def test_default_inventory_in_the_current_folder(apps, capsys, tmp_path, monkeypatch):
    apps.make("cwd-app")
    server = tmp_path / "server" / "acme"
    server.mkdir(parents=True)
    (server / "cwd-app.git").symlink_to(apps.remote("cwd-app"))
    monkeypatch.setenv("GITHUB_SERVER_URL", f"file://{tmp_path / 'server'}")
    Path("studio.yml").write_text(inventory_for("acme", ["cwd-app"]))
    code, report, _ = run_fleet(capsys, "status", "--json")
    assert code == 0
    assert report["repos"][0]["version"] == "v1.0.0"


def _cli(tmp_path, *argv):
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "devops_studio", "fleet", *argv], capture_output=True, text=True, cwd=tmp_path
    )
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_fleet_is_a_command_of_the_cli(apps, tmp_path):
    """Through the real entry point, in its own process: stdout is JSON only, the table on stderr."""
    app = apps.make("cli-app")
    code, report, err = _cli(tmp_path, "update", "--repos", str(app), "--dry-run", "--to", "v2.0.0", "--json")
    assert code == 0, err
    assert report["repos"][0]["classification"] == "updated"
    assert report["summary"] == {"updated": 1}
    assert "Template update (dry run: nothing written)" in err


def test_output_of_template_tasks_stays_out_of_the_json_report(apps, tmp_path):
    app = apps.make("noisy-app")
    code, report, err = _cli(tmp_path, "update", "--repos", str(app), "--to", "v3.0.0", "--json")
    assert code == 1
    assert report["summary"] == {"error": 1}
    assert "running the migration" in err
