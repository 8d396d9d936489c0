"""The rendered llm-review workflow: only with llm_review on, fork-safe, and clean under the lint bar."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from devops_studio.lint.base import LintContext
from devops_studio.lint.checks import Actionlint, JsonSchema, Ruff, Unrendered, Yamllint, Zizmor
from devops_studio.lint.runner import run_checks
from devops_studio.render import RenderError, render_new

WORKFLOW = ".github/workflows/llm-review.yml"
SCRIPT = ".github/scripts/llm_review.py"
ANSWER_SETS = {
    "defaults": {},
    "english-blocking-custom-labels": {
        "review_language": "en",
        "review_blocking": True,
        "review_runner_labels": ["self-hosted", "macOS", "ARM64", "review-box", "gpu"],
        "ollama_url": "http://192.168.1.20:11434",
        "review_model": "qwen3:14b",
        "dev_model": "devstral-small-2",
    },
    "node-self-hosted-ci": {
        "stack": "node",
        "ci_runner": "self-hosted",
        "ci_runner_labels": ["self-hosted", "linux", "x64", "astraeus"],
        "review_model": "gemma3:12b",
    },
}


def render(tmp_path: Path, name: str, answers: dict) -> Path:
    data = {"app_name": "demo-app", "github_owner": "octo", **answers}
    repo = render_new(tmp_path / name, data=data)
    # actionlint finds its config (the custom runner labels) from the root of the git repo.
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    return repo


def load(repo: Path) -> dict:
    return YAML(typ="safe").load((repo / WORKFLOW).read_text())


def evaluate(expression: str, context: dict[str, object]) -> bool:
    """Evaluates the `a == b && c != d` expressions of our job conditions with GitHub's semantics."""
    terms = [t.strip() for t in expression.replace("${{", "").replace("}}", "").split("&&")]
    result = True
    for term in terms:
        left, op, right = re.fullmatch(r"(\S+)\s*(==|!=)\s*(\S+)", term).groups()
        values = [context[v] if v in context else {"false": False, "true": True}.get(v, v) for v in (left, right)]
        equal = values[0] == values[1]
        result = result and (equal if op == "==" else not equal)
    return result


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    base = tmp_path_factory.mktemp("render")
    return {name: render(base, name, answers) for name, answers in ANSWER_SETS.items()}


@pytest.mark.parametrize("name", list(ANSWER_SETS))
def test_rendered_workflow_and_script_pass_the_lint_bar(rendered, name):
    repo = rendered[name]
    assert (repo / WORKFLOW).is_file() and (repo / SCRIPT).is_file()
    ctx = LintContext.load(repo)
    results = run_checks(ctx, [Unrendered, Actionlint, Zizmor, Yamllint, JsonSchema, Ruff])
    assert set(results) >= {"actionlint", "zizmor", "yamllint", "check-jsonschema"}
    mine = {
        check: [f for f in findings if f.path in ("", WORKFLOW, SCRIPT, ".github/actionlint.yaml")]
        for check, findings in results.items()
    }
    assert {check: findings for check, findings in mine.items() if findings} == {}


def test_script_is_copied_verbatim(rendered):
    template_script = next((Path(__file__).parents[2] / "template/.github/scripts").glob("*llm_review.py*"))
    assert (rendered["defaults"] / SCRIPT).read_bytes() == template_script.read_bytes()


def test_answers_reach_the_workflow(rendered):
    defaults = load(rendered["defaults"])
    review = defaults["jobs"]["review"]
    assert review["runs-on"] == ["self-hosted", "macOS", "ARM64", "selene"]
    env = review["steps"][1]["env"]
    assert env["OLLAMA_URL"] == "http://127.0.0.1:11434" and env["REVIEW_MODEL"] == "olmo-3"
    assert env["REVIEW_LANGUAGE"] == "ja" and env["REVIEW_BLOCKING"] == "false"
    custom = load(rendered["english-blocking-custom-labels"])
    review = custom["jobs"]["review"]
    assert review["runs-on"] == ["self-hosted", "macOS", "ARM64", "review-box", "gpu"]
    env = review["steps"][1]["env"]
    assert env["REVIEW_BLOCKING"] == "true" and env["OLLAMA_URL"] == "http://192.168.1.20:11434"
    assert env["REVIEW_LANGUAGE"] == "en" and env["REVIEW_MODEL"] == "qwen3:14b"
    labels = YAML(typ="safe").load((rendered["node-self-hosted-ci"] / ".github/actionlint.yaml").read_text())
    assert {"selene", "astraeus"} <= set(labels["self-hosted-runner"]["labels"])


def test_triggers_permissions_and_concurrency(rendered):
    workflow = load(rendered["defaults"])
    trigger = workflow["on"]["pull_request"]
    assert trigger["branches"] == ["develop", "main"]
    assert trigger["types"] == ["opened", "synchronize", "reopened", "ready_for_review"]
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.event.pull_request.number" in workflow["concurrency"]["group"]
    review = workflow["jobs"]["review"]
    assert review["permissions"] == {"contents": "read", "pull-requests": "write"}
    checkout = review["steps"][0]
    assert re.fullmatch(r"actions/checkout@[0-9a-f]{40}", checkout["uses"])
    assert checkout["with"]["persist-credentials"] is False and checkout["with"]["fetch-depth"] == 0
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), "github context reaches scripts through env only"


def test_fork_pull_requests_never_reach_the_self_hosted_runner(rendered):
    workflow = load(rendered["defaults"])
    review, notice = workflow["jobs"]["review"], workflow["jobs"]["fork-notice"]
    same_repo = {
        "github.repository": "octo/demo-app",
        "github.event.pull_request.head.repo.full_name": "octo/demo-app",
        "github.event.pull_request.draft": False,
    }
    fork = {**same_repo, "github.event.pull_request.head.repo.full_name": "stranger/demo-app"}
    draft = {**same_repo, "github.event.pull_request.draft": True}
    assert evaluate(review["if"], same_repo) and not evaluate(notice["if"], same_repo)
    assert not evaluate(review["if"], fork) and evaluate(notice["if"], fork)
    assert not evaluate(review["if"], draft)
    # The notice job: GitHub-hosted, no checkout, no token, no secrets.
    assert "self-hosted" not in str(notice["runs-on"]) and notice["permissions"] == {}
    assert all("uses" not in step for step in notice["steps"])
    assert "secrets." not in str(notice)


def test_llm_review_off_renders_no_review_files(tmp_path):
    repo = render(tmp_path, "off", {"llm_review": False})
    assert not (repo / WORKFLOW).exists() and not (repo / SCRIPT).exists()
    assert (repo / ".github/workflows").is_dir()


@pytest.mark.parametrize(
    ("review_model", "dev_model"),
    [("qwen3-coder:30b", "qwen3-coder:30b"), ("gpt-oss:120b", "gpt-oss:20b"), ("gpt-oss", "gpt-oss:latest")],
)
def test_review_model_equal_to_dev_model_is_refused(tmp_path, review_model, dev_model):
    with pytest.raises(RenderError, match="review_model"):
        render(tmp_path, "same", {"review_model": review_model, "dev_model": dev_model})
    assert not (tmp_path / "same").exists()
