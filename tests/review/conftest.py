"""Fixtures for the LLM review: both API test servers, real git repos and the script as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .llm_review_support import (
    BOT,
    MODEL,
    OWNER,
    REPO,
    RUNNER_SECRET,
    SCRIPT,
    TOKEN,
    OllamaServer,
    PullRequest,
    ReviewGitHub,
    Workspace,
)


@pytest.fixture
def github():
    server = ReviewGitHub()
    server.add_token(TOKEN, login=BOT)
    server.add_token("ghp_human", login="alice")
    with server:
        server.add_repo(OWNER, REPO)
        yield server


@pytest.fixture
def ollama():
    with OllamaServer() as server:
        server.add_model(MODEL, family="qwen3", num_ctx=8192, context_length=40960)
        yield server


@pytest.fixture
def workspace(tmp_path, github):
    return Workspace(tmp_path, github)


@pytest.fixture
def run_review(github, ollama, tmp_path):
    def run(pull: PullRequest, **overrides: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
            "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
            "PR_NUMBER": str(pull.number),
            "BASE_SHA": pull.base_sha,
            "HEAD_SHA": pull.head_sha,
            "REPO_DIR": str(pull.repo_dir),
            "OLLAMA_URL": ollama.url,
            "REVIEW_MODEL": MODEL,
            "REVIEW_LANGUAGE": "en",
            "REVIEW_BLOCKING": "false",
            "DEPLOY_SSH_KEY": RUNNER_SECRET,
        }
        env.update(overrides)
        return subprocess.run(
            [sys.executable, str(SCRIPT)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=pull.repo_dir,
        )

    return run
