"""Fleet trust: workers never hold a token, and a dry run runs no template code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fleet.helpers import Apps, run_fleet
from tests.fleet.template_factory import COPIER_HEAD, _release, git

TOKENS = {"GH_TOKEN": "ghp_fleetTrustTokenOne1234567890", "GITHUB_TOKEN": "ghs_fleetTrustTokenTwo1234567890",
          "DEPLOY_API_KEY": "fleet-trust-api-key-3"}

DUMP_EXTENSION = '''\
import os
from pathlib import Path

from jinja2.ext import Extension

# Runs when Copier loads the template's extensions: the worker process's own environment.
Path({marker_dir!r}, "extension-ran").write_bytes(Path("/proc/self/environ").read_bytes())


class DumpExtension(Extension):
    pass
'''


def hostile_template(root: Path, marker_dir: Path) -> Path:
    """v1.0.0 plain; v2.0.0 adds a task, a migration and a Jinja extension, each leaving a marker."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    answers = "template/[[ _copier_conf.answers_file ]].jinja"
    _release(root, "v1.0.0", {"copier.yml": COPIER_HEAD, answers: "[[ _copier_answers|to_nice_yaml ]]",
                              "template/README.md.jinja": "# [[ app_name ]]\n"})
    hostile = COPIER_HEAD + f"""
_jinja_extensions:
  - copier_template_extensions.TemplateExtensionLoader
  - extensions/dump.py:DumpExtension
_tasks:
  - "env > {marker_dir}/task-ran"
_migrations:
  - version: v2.0.0
    command: "env > {marker_dir}/migration-ran"
"""
    _release(root, "v2.0.0", {"copier.yml": hostile, "extensions/dump.py": DUMP_EXTENSION.format(
        marker_dir=str(marker_dir)), "template/README.md.jinja": "# [[ app_name ]]\n\nVersion two.\n"})
    return root


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Apps, Path]:
    markers = tmp_path / "markers"
    markers.mkdir()
    template = hostile_template(tmp_path / "hostile-template", markers)
    return Apps(tmp_path, template), markers


def test_dry_run_runs_no_template_code(hostile, capsys):
    apps, markers = hostile
    app = apps.make("dry")
    code, report, out = run_fleet(capsys, "update", "--repos", str(app), "--to", "v2.0.0", "--dry-run", "--json")
    assert code == 0, out
    result = report["repos"][0]
    assert result["classification"] == "updated", result
    assert {c["path"] for c in result["changes"]} >= {"README.md"}
    assert sorted(p.name for p in markers.iterdir()) == []
    # The same update for real runs all three: the markers above could have appeared.
    code, report, out = run_fleet(capsys, "update", "--repos", str(app), "--to", "v2.0.0", "--json")
    assert code == 0, out
    assert sorted(p.name for p in markers.iterdir()) == ["extension-ran", "migration-ran", "task-ran"]


def test_workers_and_template_code_never_see_tokens(hostile, capsys, monkeypatch):
    apps, markers = hostile
    app = apps.make("tokens")
    for key, value in TOKENS.items():
        monkeypatch.setenv(key, value)
    code, report, out = run_fleet(capsys, "update", "--repos", str(app), "--to", "v2.0.0", "--json")
    assert code == 0, out
    assert report["repos"][0]["classification"] == "updated"
    dumps = {p.name: p.read_bytes() for p in markers.iterdir()}
    assert set(dumps) == {"extension-ran", "migration-ran", "task-ran"}
    for name, dump in dumps.items():
        assert b"PATH=" in dump, name  # a real environment was dumped
        for key, value in TOKENS.items():
            assert value.encode() not in dump, f"{key} reached the {name} dump"
            assert f"{key}=".encode() not in dump, f"{key} reached the {name} dump"
    # The parent keeps its token (it opens the pull requests).
    assert os.environ["GH_TOKEN"] == TOKENS["GH_TOKEN"]


def test_git_processes_get_no_tokens_and_no_command_transports(monkeypatch):
    from devops_studio.fleet.gitcmd import GitError, quiet_git_env
    from devops_studio.fleet.gitcmd import git as fleet_git

    for key, value in TOKENS.items():
        monkeypatch.setenv(key, value)
    env = quiet_git_env()
    assert not set(TOKENS) & set(env)
    assert env["GIT_ALLOW_PROTOCOL"] == "file:git:http:https:ssh"
    with pytest.raises(GitError, match="transport 'ext' not allowed"):
        fleet_git("ls-remote", "ext::sh -c touch% /tmp/fleet-ext-ran")


def _new(capsys, *argv: str) -> tuple[int, str]:
    import argparse

    from devops_studio.commands import new as new_command

    parser = argparse.ArgumentParser(prog="devops-studio")
    new_command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["new", *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out + err


def test_new_with_a_template_that_runs_code_needs_trust(hostile, tmp_path, capsys, monkeypatch):
    apps, markers = hostile
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    dest = tmp_path / "made"
    argv = (str(dest), "--template", str(apps.template), "--vcs-ref", "v2.0.0", "--defaults")
    code, out = _new(capsys, *argv)
    assert code == 2
    assert "--trust" in out and "jinja_extensions" in out and "tasks" in out
    assert not dest.exists() and list(markers.iterdir()) == []
    code, out = _new(capsys, *argv, "--trust")
    assert code == 0, out
    assert (dest / "README.md").read_text().endswith("Version two.\n")
    assert {p.name for p in markers.iterdir()} >= {"task-ran", "extension-ran"}


def test_new_asks_on_a_terminal_and_a_no_writes_nothing(hostile, tmp_path, capsys, monkeypatch):
    apps, markers = hostile
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    dest = tmp_path / "asked"
    code, out = _new(capsys, str(dest), "--template", str(apps.template), "--vcs-ref", "v2.0.0", "--defaults")
    assert code == 2 and "Trust it" not in out  # the prompt went to input(), the refusal to stderr
    assert not dest.exists() and list(markers.iterdir()) == []
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    code, out = _new(capsys, str(dest), "--template", str(apps.template), "--vcs-ref", "v2.0.0", "--defaults")
    assert code == 0, out
    assert (markers / "task-ran").exists()


def test_a_repo_naming_an_untrusted_template_is_reported_and_nothing_of_it_runs(hostile, capsys, monkeypatch,
                                                                                 tmp_path):
    from devops_studio.fleet import mirror

    apps, markers = hostile
    app = apps.make("stranger")
    git(app, "checkout", "-q", "-b", "evil")  # a merged commit points the answers at a hostile copy
    answers = (app / ".copier-answers.yml").read_text()
    evil = "https://user:ghp_hiddenCredential1234567890@evil.example/t.git"
    (app / ".copier-answers.yml").write_text(answers.replace(str(apps.template), evil))
    git(app, "commit", "-qam", "Point the template elsewhere")
    trusted = str(apps.template)
    monkeypatch.setenv("DEVOPS_STUDIO_TRUSTED_TEMPLATES", trusted)
    fetched: list[str] = []
    real_fetch = mirror.TemplateMirror.fetch
    monkeypatch.setattr(mirror.TemplateMirror, "fetch",
                        classmethod(lambda cls, src, path: fetched.append(src) or real_fetch.__func__(cls, src, path)))
    code, report, out = run_fleet(capsys, "update", "--repos", str(app), "--to", "v2.0.0", "--json")
    assert code == 1
    result = report["repos"][0]
    assert result["classification"] == "untrusted"
    assert "https://***@evil.example/t.git" in result["error"] and "fleet.trusted_templates" in result["error"]
    assert "ghp_hidden" not in out
    assert fetched == [] and list(markers.iterdir()) == []
    # The same repo on the trusted template updates: the refusal was about the source alone.
    git(app, "checkout", "-q", "main")
    code, report, out = run_fleet(capsys, "update", "--repos", str(app), "--to", "v2.0.0", "--json")
    assert code == 0, out
    assert fetched == [trusted]


def test_trust_patterns_match_whole_segments(tmp_path):
    from devops_studio.fleet.trust import TrustPolicy

    policy = TrustPolicy.build(["https://github.com/acme/*", "gh:lab/devops-studio", str(tmp_path / "tpl")], tmp_path)
    assert policy.allows("https://github.com/acme/template.git")
    assert policy.allows("https://bot:secret@github.com/acme/template")
    assert policy.allows("gh:lab/devops-studio") and policy.allows("https://github.com/lab/devops-studio.git")
    assert policy.allows(str(tmp_path / "tpl"))
    for source in ("https://github.com/acme/x/../../evil/t", "https://github.com/acme/sub/t",
                   "https://github.com.evil.example/acme/t", "ext::sh -c id", str(tmp_path / "tpl2"),
                   "https://github.com/acme/t\n"):
        assert not policy.allows(source), source


def test_studio_yml_names_the_trusted_templates(tmp_path):
    from devops_studio.inventory import InventoryError, load_inventory
    from tests.fleet.helpers import inventory_for

    text = inventory_for("acme", ["alpha"])
    (tmp_path / "studio.yml").write_text(text + "fleet:\n  trusted_templates:\n    - gh:acme/*\n")
    assert load_inventory(tmp_path / "studio.yml").trusted_templates == ("gh:acme/*",)
    (tmp_path / "bad.yml").write_text(text + "fleet:\n  trusted_templates: gh:acme/*\n")
    with pytest.raises(InventoryError, match="fleet.trusted_templates"):
        load_inventory(tmp_path / "bad.yml")


def test_status_names_an_untrusted_template_without_asking_it(hostile, capsys, monkeypatch):
    apps, _ = hostile
    app = apps.make("watched")
    monkeypatch.setenv("DEVOPS_STUDIO_TRUSTED_TEMPLATES", "/nowhere/**")
    code, report, out = run_fleet(capsys, "status", "--repos", str(app), "--json")
    assert code == 1
    row = report["repos"][0]
    assert row["untrusted"] is True and row["newest"] is None and "is not trusted" in row["error"]
