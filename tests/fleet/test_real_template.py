"""The fleet on this project's own template: extensions, generated secrets, skip-if-exists files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fleet.helpers import git, remote_refs, run_fleet
from tests.fleet.template_factory import PROJECT_V2_README_SECTION, build_project_template

BRANCH = "template-update/v2.0.0"


@pytest.fixture(scope="module")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project_template(tmp_path_factory.mktemp("project") / "tpl")


def make_app(root: Path, template: Path, name: str, **data: object) -> Path:
    import copier

    path = root / "apps" / name
    cwd = os.getcwd()
    try:
        copier.run_copy(str(template), path, data={"app_name": name, "github_owner": "acme", **data},
                        vcs_ref="v1.0.0", defaults=True, unsafe=True, quiet=True)
    finally:
        os.chdir(cwd)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "Generated")
    readme = path / "README.md"
    first, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{first}\n\nOwned by the {name} team.\n{rest}")
    compose = path / "compose.yaml"
    compose.write_text(compose.read_text() + "# tuned by the owner\n")
    git(path, "commit", "-qam", "Owner's edits")
    remote = root / "remotes" / f"{name}.git"
    git(root, "init", "-q", "--bare", str(remote))
    git(path, "remote", "add", "origin", str(remote))
    git(path, "push", "-q", "origin", "main")
    return path


def test_project_template_updates_keep_edits_and_secrets_out(project_template, tmp_path, capsys):
    (tmp_path / "apps").mkdir()
    (tmp_path / "remotes").mkdir()
    py = make_app(tmp_path, project_template, "shop", stack="python", database="postgres")
    node = make_app(tmp_path, project_template, "blog", stack="node", proxy="compose-nginx")
    assert (py / ".env").is_file()  # generated, git-ignored, holds the database password
    password_line = next(line for line in (py / ".env").read_text().splitlines()
                         if line.startswith("POSTGRES_PASSWORD="))
    code, report, out = run_fleet(capsys, "update", "--repos", str(py), "--dry-run", "--json")
    # The project's template validates answers and renders secrets through its own Jinja extension,
    # which a dry run never loads: the dry run stops with a message that says so, and writes nothing.
    assert code == 1 and report["repos"][0]["classification"] == "error"
    assert "No test named 'fullmatch'" in report["repos"][0]["error"]
    assert "a dry run runs none of the template's code" in report["repos"][0]["error"]
    code, report, out = run_fleet(capsys, "update", "--repos", str(py), str(node), "--jobs", "2", "--push",
                                  "--json")
    assert code == 0, out
    assert {r["name"]: r["classification"] for r in report["repos"]} == {"shop": "updated", "blog": "updated"}
    for app in ("shop", "blog"):
        remote = tmp_path / "remotes" / f"{app}.git"
        assert f"refs/heads/{BRANCH}" in remote_refs(remote)
        readme = git(remote, "show", f"{BRANCH}:README.md")
        assert f"Owned by the {app} team." in readme
        assert PROJECT_V2_README_SECTION.strip() in readme
        assert "# tuned by the owner" in git(remote, "show", f"{BRANCH}:compose.yaml")
        assert "root = true" in git(remote, "show", f"{BRANCH}:.editorconfig")
        files = git(remote, "ls-tree", "-r", "--name-only", BRANCH).split()
        assert ".env" not in files
        answers = git(remote, "show", f"{BRANCH}:.copier-answers.yml")
        assert "_commit: v2.0.0" in answers and "postgres_password" not in answers
    # The owner's local .env with its generated password is untouched.
    assert password_line in (py / ".env").read_text()
    assert password_line.split("=", 1)[1] not in out
