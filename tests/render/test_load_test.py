"""The rendered load test runs its tool against a throwaway copy of the app and writes the report.

As the rendered workflow does on its runner: `bash load/run.sh` builds the app from the rendered
repo (the stand-in base image replaces Docker Hub), starts it on a loopback port under a compose
project of its own, runs Locust briefly, and removes the copy whatever happens.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devops_studio.render import render_new
from tests.deploy import harness

from .helpers import answers

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("deploy-box")]


@pytest.fixture(scope="module")
def infra() -> None:
    harness.ensure_infra()


def run_load(repo: Path, stack: str, **env: str) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # this venv's Locust
    return subprocess.run(
        ["bash", "load/run.sh", "--build-arg", f"BASE_IMAGE={harness.STANDIN[stack]}"],
        cwd=repo,
        env={**os.environ, "PATH": path, "LOAD_USERS": "5", "LOAD_DURATION": "4s", **env},
        text=True,
        capture_output=True,
        timeout=600,
    )


def leftovers(app_name: str) -> list[str]:
    names = harness.sh(["docker", "ps", "-a", "--format", "{{.Names}}"]).stdout.split()
    volumes = harness.sh(["docker", "volume", "ls", "-q"]).stdout.split()
    return [n for n in names + volumes if n.startswith(f"{app_name}-load-")]


@pytest.mark.parametrize(
    "combo",
    [{"stack": "python", "database": "postgres", "proxy": "compose-nginx"}, {"stack": "node", "proxy": "host-nginx"}],
    ids=["python-postgres-compose-nginx", "node-host-nginx"],
)
def test_load_test_writes_its_report_and_leaves_nothing_running(infra, tmp_path, combo):
    repo = render_new(tmp_path / "app", data=answers(**combo))
    owners_env = (repo / ".env").read_bytes()
    proc = run_load(repo, combo["stack"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (repo / "load-report" / "report.html").stat().st_size > 0
    with (repo / "load-report" / "load_stats.csv").open() as stats:
        total = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    assert int(total["Request Count"]) > 0 and int(total["Failure Count"]) == 0, total
    assert leftovers("sample-app") == []
    assert (repo / ".env").read_bytes() == owners_env  # the copy has settings of its own


def test_what_someone_typed_into_the_form_is_checked_first(infra, tmp_path):
    repo = render_new(tmp_path / "app", data=answers(stack="python"))
    proc = run_load(repo, "python", LOAD_DURATION="60s; touch /tmp/owned")
    assert proc.returncode == 2
    assert "LOAD_DURATION must look like 60s" in proc.stderr
    assert not (repo / "load-report").exists() and leftovers("sample-app") == []
