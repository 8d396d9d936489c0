"""`devops-studio lint` is only worth something if it fails: each check catches a planted defect."""

from __future__ import annotations

import json

import pytest

from .helpers import answers, lint, studio


@pytest.fixture
def repo(copie):
    # Without the review workflow: it still runs pull requests on the review machine's runner, which
    # test_pull_request_runners.py pins as a known finding until the pull-based reviewer replaces it.
    result = copie.copy(extra_answers=answers(database="postgres", llm_review=False))
    assert result.exit_code == 0, result.exception
    return result.project_dir


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


DEFECTS = {
    # check name: (file, text to replace, replacement)
    "unrendered": ("README.md", "# sample-app", "# [[ app_name ]]"),
    "actionlint": (".github/workflows/ci-python.yml", "runs-on: ubuntu-24.04", "runs-on: ${{ matrix.nope }}"),
    "zizmor": (".github/workflows/ci-python.yml", "run: uv run --no-sync pytest", "run: echo ${{ github.head_ref }}"),
    "yamllint": (".github/dependabot.yml", "version: 2", "version:   2"),
    "check-jsonschema": (".github/dependabot.yml", "interval: weekly", "interval: fortnightly"),
    "hadolint": ("Dockerfile", "USER 10001", "USER root"),
    "nginx -t": ("deploy/nginx/sample-app.conf", "ssl_session_tickets off;", "ssl_session_tickets maybe;"),
    "gixy": ("deploy/nginx/sample-app.conf", "server_tokens off;", "server_tokens on;"),
    "docker compose config": ("compose.db.yaml", "condition: service_healthy", "condition: service_happy"),
    "parses": ("deploy/deploy.json", '"health_path": "/healthz",', '"health_path": "/healthz"'),
    "pull-request runners": (".github/workflows/ci-python.yml", "runs-on: ubuntu-24.04", "runs-on: [self-hosted, x64]"),
    "uv lock": ("pyproject.toml", '"fastapi>=0.115,<1"', '"fastapi>=0.116,<1"'),
    "mypy": ("app/main.py", "def index() -> str:", "def index() -> int:"),
    "ruff": ("app/main.py", "from __future__ import annotations", "import os\nfrom __future__ import annotations"),
}


@pytest.mark.parametrize("check", sorted(DEFECTS))
def test_each_check_reports_its_defect(repo, check):
    name, old, new = DEFECTS[check]
    assert lint(repo)[check] == []
    _edit(repo / name, old, new)
    assert lint(repo)[check], f"{check} did not notice the defect in {name}"


def test_shellcheck_reports_a_bad_script(repo):
    script = repo / "scripts" / "backup.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\nrm -rf $TARGET/*\n")
    assert lint(repo)["shellcheck"]


def test_cli_exit_status_and_json_report(repo):
    clean = studio("lint", str(repo), "--json")
    assert clean.returncode == 0, clean.stdout
    report = json.loads(clean.stdout)
    assert report["findings"] == 0
    assert {
        "actionlint",
        "zizmor",
        "yamllint",
        "check-jsonschema",
        "hadolint",
        "nginx -t",
        "gixy",
        "docker compose config",
    } <= set(report["checks"])

    _edit(repo / "Dockerfile", "USER 10001", "USER root")
    dirty = studio("lint", str(repo))
    assert dirty.returncode == 1
    assert "hadolint" in dirty.stdout and "DL3002" in dirty.stdout


def test_cli_refuses_a_missing_folder(tmp_path):
    proc = studio("lint", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "not a folder" in proc.stderr
