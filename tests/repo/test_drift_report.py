"""`doctor` reports the settings drift of the repos its runner serves, and fails where a fork can reach it."""

from __future__ import annotations

import json

from devops_studio.cli import main
from tests.repo.conftest import new_repo

INVENTORY = """\
version: 1
github: {owner: octo, repos: [app]}
models: {}
nodes:
  selene:
    os: macos
    arch: arm64
    memory_gb: 64
    roles: [runner]
    runner: {repo: app, labels: [selene], user: github-runner}
"""


def doctor(capsys, inventory) -> tuple[int, dict]:
    code = main(["doctor", "selene", "--json", "--inventory", str(inventory)])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    return code, checks


def test_doctor_fails_on_public_repo_without_fork_approval_then_passes_after_setup(gh, capsys, tmp_path):
    inventory = tmp_path / "studio.yml"
    inventory.write_text(INVENTORY)
    repo = new_repo(gh)
    gh.add_runner(f"repos/{repo}", "selene", labels=["selene"], os="osx", architecture="arm64", status="online")
    code, checks = doctor(capsys, inventory)
    assert code == 1
    check = checks[f"repo settings {repo}"]
    assert check["status"] == "fail"
    assert "self-hosted runner" in check["detail"] and "first_time_contributors" in check["detail"]
    assert f"devops-studio repo setup {repo}" in check["detail"]
    assert {r["method"] for r in gh.requests} == {"GET"}  # doctor only reads

    assert main(["repo", "setup", "--all", "--inventory", str(inventory)]) == 0
    capsys.readouterr()
    code, checks = doctor(capsys, inventory)
    assert checks[f"repo settings {repo}"]["status"] == "ok", checks
    assert code == 0, checks

    gh.state(repo)["workflow"]["default_workflow_permissions"] = "write"  # drift that is not critical
    code, checks = doctor(capsys, inventory)
    assert checks[f"repo settings {repo}"]["status"] == "warn"
    assert "workflow token default_workflow_permissions" in checks[f"repo settings {repo}"]["detail"]
