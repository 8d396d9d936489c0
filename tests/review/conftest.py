"""Fixtures of the reviewer tests: both API test servers, a git repo for diffs, the reviewer in-process."""

from __future__ import annotations

import pytest

from devops_studio.review import poller
from devops_studio.review.github import ReviewGitHub as ReviewClient
from devops_studio.review.model import ReviewModel
from devops_studio.review.settings import ReviewSettings
from devops_studio.review.state import ReviewState

from .llm_review_support import BOT, FULL, MODEL, OWNER, REPO, TOKEN, OllamaServer, ReviewGitHub, Workspace


@pytest.fixture
def github():
    server = ReviewGitHub()
    server.add_token(TOKEN, login=BOT)
    server.add_token("ghp_human", login="alice")
    server.permissions.update({"alice": "write", "mallory": "read"})
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
def review(github, ollama, tmp_path):
    """One pass of the reviewer (`devops-studio review once`) with settings overridden per call."""
    logs: list[str] = []

    def run(**overrides):
        settings = ReviewSettings(
            repos=(FULL,),
            model=overrides.pop("model", MODEL),
            language=overrides.pop("language", "en"),
            ollama_url=overrides.pop("ollama_url", ollama.url),
            api_url=github.url,
            state_file=tmp_path / "state" / "review-state.json",
            **overrides,
        )
        client = ReviewClient(TOKEN, github.url)
        model = ReviewModel(settings.ollama_url, settings.model, settings.request_timeout)
        failed = poller.once(client, model, settings, ReviewState(settings.state_file), logs.append)
        return failed, logs

    return run
