"""The rendered CI's `git-flow source branch` job, which the `git-flow: main` ruleset requires."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from devops_studio.cli import main
from devops_studio.repo.desired import GIT_FLOW_CHECK

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=["python", "node"])
def git_flow_job(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    stack = request.param
    dest = tmp_path_factory.mktemp(f"gitflow-{stack}") / "app"
    data = ["stack=" + stack, "app_name=demo", "domain=demo.example.org", "ci_runner=self-hosted"]
    assert (
        main(
            [
                "new",
                str(dest),
                "--defaults",
                "--template",
                str(REPO_ROOT),
                *[arg for item in data for arg in ("--data", item)],
            ]
        )
        == 0
    )
    workflow = YAML(typ="safe").load((dest / f".github/workflows/ci-{stack}.yml").read_text())
    jobs = [job for job in workflow["jobs"].values() if job.get("name") == GIT_FLOW_CHECK]
    assert len(jobs) == 1
    return jobs[0]


def test_job_runs_on_github_hosted_runner_with_no_token_and_no_checkout(git_flow_job):
    # Even with self-hosted CI, a job that every pull request into main starts stays on GitHub's runner.
    assert git_flow_job["runs-on"] == "ubuntu-24.04"
    assert git_flow_job["permissions"] == {}
    assert all("uses" not in step for step in git_flow_job["steps"])
    assert git_flow_job["steps"][0]["env"] == {"HEAD_REF": "${{ github.head_ref }}"}


@pytest.mark.parametrize(
    ("head", "allowed"),
    [
        ("release/1.2.0", True),
        ("hotfix/500-error", True),
        ("develop", False),
        ("feature/x", False),
        ("releases/1.0", False),
        ("fix/release/1", False),
        ("$(touch pwned)", False),
    ],
)
def test_only_release_and_hotfix_branches_pass(git_flow_job, tmp_path, head, allowed):
    script = git_flow_job["steps"][0]["run"]
    done = subprocess.run(
        ["bash", "-e", "-c", script],
        env={"HEAD_REF": head, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode == 0) is allowed, done.stdout + done.stderr
    assert not (tmp_path / "pwned").exists()
