"""Property: for any string given to any question, the render either refuses it naming that question
and leaving nothing behind, or writes a repo whose every file parses and that passes the lint bar.

The default run uses a fixed seed and a small budget; `bash scripts/dev.sh test -m fuzz` runs long.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devops_studio.lint import LintContext, run_checks
from devops_studio.lint.checks import Parses, Unrendered
from devops_studio.lint.runner_reach import PullRequestRunners
from devops_studio.render import RenderError, render_new

from .helpers import all_findings, answers

# Each question with a valid answer (as typed after --data) and the answers that make it asked.
QUESTIONS: dict[str, tuple[str, dict[str, object]]] = {
    "app_name": ("todo-api", {}),
    "stack": ("node", {}),
    "app_port": ("8080", {}),
    "python_version": ("3.12", {}),
    "database": ("postgres", {}),
    "postgres_password": ("a" * 20, {"database": "postgres"}),
    "e2e": ("true", {}),
    "github_owner": ("octo-org", {}),
    "domain": ("app.example.org", {}),
    "letsencrypt_email": ("ops@example.org", {}),
    "proxy": ("compose-nginx", {}),
    "apps_dir": ("/srv/apps", {}),
    "deploy_trigger": ("tag", {}),
    "deploy_method": ("registry", {}),
    "registry_url": ("registry.lan:5000/team/app", {"deploy_method": "registry"}),
    "deploy_via": ("ssh", {}),
    "deploy_runner_labels": ("[self-hosted, linux, x64, prod-box]", {}),
    "ci_runner": ("self-hosted", {}),
    "ci_runner_labels": ("[self-hosted, linux, ci-box]", {"ci_runner": "self-hosted"}),
    "test_runner_labels": ("[self-hosted, macOS, tester]", {"e2e": True, "test_runner": "self-hosted"}),
    "load_test": ("false", {}),
    "build_runner": ("self-hosted", {}),
    "build_runner_labels": ("[self-hosted, linux, x64, heavy]", {"build_runner": "self-hosted"}),
    "llm_review": ("false", {}),
    "dev_model": ("qwen3-coder:30b", {}),
    "review_model": ("gpt-oss:20b", {}),
    "review_language": ("en", {}),
    "review_blocking": ("true", {}),
}
# What attackers and careless users type: format breakers of JSON, YAML, shell, nginx and URLs.
HOSTILE = ["\n", "\r\n", '"', "'", "\\", "$", ";", " ", "\t", "..", "/..", "{{", "[[", "#", ":", ",", "]", "\x00", "é"]


@st.composite
def one_answer(draw: st.DrawFn) -> tuple[str, str, dict[str, object]]:
    question = draw(st.sampled_from(sorted(QUESTIONS)))
    valid, context = QUESTIONS[question]
    hostile = st.sampled_from(HOSTILE)
    value = draw(
        st.one_of(
            st.just(valid),
            st.builds(lambda h: valid + h, hostile),
            st.builds(lambda h, at: valid[:at] + h + valid[at:], hostile, st.integers(0, len(valid))),
            st.text(max_size=24),
        )
    )
    return question, value, context


def render_or_refuse(tmp: Path, question: str, value: str, context: dict[str, object]) -> Path | None:
    parent = tmp / "out"
    shutil.rmtree(parent, ignore_errors=True)
    dest = parent / "app"
    try:
        return render_new(dest, data=answers(**context, **{question: value}))
    except RenderError as error:
        assert error.field == question, f"{question}={value!r} refused as {error}"
        assert error.fix, str(error)
        assert not dest.exists()
        assert not parent.exists() or list(parent.iterdir()) == []
        return None


def check_outcome(tmp: Path, question: str, value: str, context: dict[str, object], full_lint: bool) -> None:
    repo = render_or_refuse(tmp, question, value, context)
    if repo is None:
        return
    if full_lint:
        assert all_findings(repo) == [], (question, value)
        return
    results = run_checks(LintContext.load(repo), [Unrendered, Parses, PullRequestRunners])
    findings = [f for found in results.values() for f in found]
    assert findings == [], (question, value)


def _property(max_examples: int, full_lint: bool, derandomize: bool):
    @settings(
        max_examples=max_examples,
        derandomize=derandomize,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(case=one_answer())
    def prop(tmp_path: Path, case: tuple[str, str, dict[str, object]]) -> None:
        check_outcome(tmp_path, *case, full_lint=full_lint)

    return prop


# The default run: fixed seed, a small budget (each example renders a repo).
test_any_answer_is_refused_or_renders_parseable_files = _property(30, full_lint=False, derandomize=True)
test_any_answer_is_refused_or_passes_the_lint_bar = _property(3, full_lint=True, derandomize=True)

# The long run: bash scripts/dev.sh test -m fuzz
test_fuzz_any_answer_parses = pytest.mark.fuzz(_property(600, full_lint=False, derandomize=False))
test_fuzz_any_answer_passes_lint = pytest.mark.fuzz(_property(40, full_lint=True, derandomize=False))
