"""No job a pull request can start runs on a self-hosted runner, in any answer combination.

A pull request's run uses the workflow file of its own merge commit, so a guard inside the file
protects nothing: the rendered workflows must simply never offer a self-hosted runner to such a job.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from devops_studio.lint.base import LintContext
from devops_studio.lint.runner_reach import PullRequestRunners, job_reach, pull_request_reach
from devops_studio.render import render_new

from .helpers import answers
from .test_matrix import MATRIX, _id

BOTH = "on: [push, pull_request]\n"


def reach(text: str) -> dict[str, set[str]]:
    workflow = YAML(typ="rt").load(textwrap.dedent(text))
    return {job.job: set(job.events) for job in job_reach(workflow) if job.self_hosted}


def test_pull_request_job_on_self_hosted_is_flagged(tmp_path):
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "ci.yml").write_text(
        textwrap.dedent(
            """\
            on: [push, pull_request]
            jobs:
              hosted: {runs-on: ubuntu-24.04, steps: [{run: "true"}]}
              lab: {runs-on: [self-hosted, linux], steps: [{run: "true"}]}
            """
        )
    )
    findings = PullRequestRunners().run(LintContext(root=tmp_path))
    assert [(f.path, f.line) for f in findings] == [(".github/workflows/ci.yml", 4)]
    assert "lab" in findings[0].message and "pull_request" in findings[0].message


@pytest.mark.parametrize(
    ("workflow", "flagged"),
    [
        # push only: allowed on a self-hosted runner
        ("on: {push: {branches: [main]}}\njobs: {a: {runs-on: [self-hosted]}}", set()),
        # an if: on the event narrows the job to pushes
        ("on: [push, pull_request]\njobs: {a: {if: \"github.event_name == 'push'\", runs-on: [self-hosted]}}", set()),
        # ... and so does needing a job that runs only on pushes
        (
            "on: [push, pull_request]\njobs:\n  a: {if: \"github.event_name == 'push'\", runs-on: ubuntu-24.04}\n"
            "  b: {needs: a, runs-on: [self-hosted]}",
            set(),
        ),
        # an if: that is not about the event lets every event through
        (BOTH + "jobs: {a: {if: \"github.ref == 'refs/heads/main'\", runs-on: [self-hosted]}}", {"a"}),
        (BOTH + "jobs: {a: {if: \"github.event_name == 'push' || true\", runs-on: [self-hosted]}}", {"a"}),
        # every event that carries pull-request content or can be set off by a stranger
        ("on: pull_request_target\njobs: {a: {runs-on: self-hosted}}", {"a"}),
        ("on: {issue_comment: {types: [created]}}\njobs: {a: {runs-on: [self-hosted, x64]}}", {"a"}),
        ("on: {workflow_run: {workflows: [CI]}}\njobs: {a: {runs-on: [self-hosted]}}", {"a"}),
        # a runner group, an expression or a reusable workflow cannot be proven GitHub-hosted
        ("on: pull_request\njobs: {a: {runs-on: {group: lab}}}", {"a"}),
        ("on: pull_request\njobs: {a: {runs-on: '${{ inputs.runner }}'}}", {"a"}),
        ("on: pull_request\njobs: {a: {uses: ./.github/workflows/x.yml}}", {"a"}),
        ("on: pull_request\njobs: {a: {runs-on: [ubuntu-24.04]}}", set()),
    ],
)
def test_events_that_start_each_job(tmp_path, workflow, flagged):
    path = tmp_path / "w.yml"
    path.write_text(workflow + "\n")
    assert {job.job for job in pull_request_reach(path)} == flagged


SELF_HOSTED_ROLES = {
    "ci_runner": "self-hosted",
    "e2e": True,
    "test_runner": "self-hosted",
    "deploy_method": "registry",
    "build_runner": "self-hosted",
}


def _workflows(repo: Path) -> list[Path]:
    return sorted((repo / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("combo", [*MATRIX, SELF_HOSTED_ROLES], ids=[*map(_id, MATRIX), "every-self-hosted-role"])
def test_no_pull_request_reaches_a_self_hosted_runner(tmp_path, combo):
    repo = render_new(tmp_path / "app", data=answers(**combo))
    checked = _workflows(repo)
    assert checked
    for path in checked:
        assert pull_request_reach(path) == [], path.name


def test_self_hosted_choices_still_run_pull_requests_on_github_hosted(tmp_path):
    repo = render_new(tmp_path / "app", data=answers(**SELF_HOSTED_ROLES, llm_review=False))
    workflow = YAML(typ="safe").load((repo / ".github/workflows/ci-python.yml").read_text())
    runs_on = {name: job["runs-on"] for name, job in workflow["jobs"].items()}
    assert runs_on == {
        "test": "ubuntu-24.04",
        "test-push": ["self-hosted", "linux", "x64", "ci-jit"],
        "e2e": "ubuntu-24.04",
        "e2e-push": ["self-hosted", "macOS", "ARM64", "selene-test"],
        "git-flow-source": "ubuntu-24.04",
    }
    load = YAML(typ="safe").load((repo / ".github/workflows/load-test.yml").read_text())
    assert load["jobs"]["load"]["runs-on"] == ["self-hosted", "windows", "x64", "build"]
    assert set(load["on"]) == {"workflow_dispatch", "push"}  # never a pull request


def test_review_adds_no_workflow_a_pull_request_could_start(tmp_path):
    """The review is a service that pulls pull requests (docs/llm-review.md), so `llm_review` adds no
    workflow at all: nothing of a pull request's own files decides what runs on the review machine."""
    with_review = render_new(tmp_path / "with", data=answers(llm_review=True))
    without = render_new(tmp_path / "without", data=answers(llm_review=False))
    assert [p.name for p in _workflows(with_review)] == [p.name for p in _workflows(without)]
    for path in _workflows(with_review):
        assert pull_request_reach(path) == [], path.name
