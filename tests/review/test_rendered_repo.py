"""A rendered app repo carries no review workflow or script: the review runs as a service elsewhere."""

from __future__ import annotations

import pytest

from devops_studio.lint.runner_reach import pull_request_reach
from devops_studio.render import RenderError, render_new


@pytest.mark.parametrize("answers", [{}, {"stack": "node", "ci_runner": "self-hosted", "review_blocking": True}])
def test_llm_review_renders_no_workflow_no_script_and_no_self_hosted_pull_request_job(tmp_path, answers):
    repo = render_new(tmp_path / "app", data={"app_name": "demo-app", "github_owner": "octo", **answers})
    assert not (repo / ".github/workflows/llm-review.yml").exists()
    assert not (repo / ".github/scripts").exists()
    answers_file = (repo / ".copier-answers.yml").read_text()
    assert "review_runner_labels" not in answers_file and "ollama_url" not in answers_file
    readme = (repo / "README.md").read_text()
    assert "devops-studio review run" in readme and "/review" in readme
    assert ("llm-review` commit status" in readme) is bool(answers.get("review_blocking"))
    for workflow in (repo / ".github/workflows").glob("*.yml"):
        # A self-hosted CI job may exist for pushes; no job a pull request starts may reach one.
        assert pull_request_reach(workflow) == [], workflow.name


def test_review_model_of_the_dev_models_family_is_still_refused(tmp_path):
    with pytest.raises(RenderError, match="review_model"):
        render_new(tmp_path / "x", data={"app_name": "demo-app", "github_owner": "octo",
                                         "review_model": "gpt-oss:120b", "dev_model": "gpt-oss:20b"})  # fmt: skip
