"""The GitHub test server with repository settings, and a new app repo on it."""

from __future__ import annotations

import pytest

from tests.fakes.github_settings import SettingsGitHub

TOKEN = "ghp_reposetup"
ANSWERS = "_src_path: gh:example/devops-studio\napp_name: app\ndeploy_trigger: {trigger}\ne2e: {e2e}\n"


@pytest.fixture
def gh(monkeypatch: pytest.MonkeyPatch, tmp_path):
    fake = SettingsGitHub()
    fake.add_token(TOKEN, login="owner")
    fake.start()
    monkeypatch.setenv("GH_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", fake.url)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no studio.yml here: a named repo needs none
    yield fake
    fake.stop()
    assert not fake.errors, fake.errors


def new_repo(
    gh: SettingsGitHub, name: str = "app", *, private: bool = False, trigger: str = "main", e2e: bool = False
) -> str:
    gh.add_repo("octo", name, private=private)
    gh.add_file("octo", name, ".copier-answers.yml", ANSWERS.format(trigger=trigger, e2e=str(e2e).lower()))
    return f"octo/{name}"
