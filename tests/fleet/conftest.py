"""Fixtures for fleet tests: a tagged test template, app repos generated from it, bare remotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fleet.helpers import Apps
from tests.fleet.template_factory import GIT_ENV, build_template


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Own identity and no user git config; no GitHub token unless a test sets one."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    (tmp_path / "gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("COPIER_CACHE_DIR", str(tmp_path / "copier-cache"))
    for key in ("GH_TOKEN", "GITHUB_TOKEN", "GITHUB_API_URL"):
        monkeypatch.delenv(key, raising=False)
    # The templates the tests build live under the session's temp folder; test_trust narrows this.
    monkeypatch.setenv("DEVOPS_STUDIO_TRUSTED_TEMPLATES", f"{tmp_path_factory.getbasetemp()}/**")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("template") / "tpl")


@pytest.fixture
def apps(tmp_path: Path, template_repo: Path) -> Apps:
    return Apps(tmp_path, template_repo)
