"""The Python app's Playwright tests pass against its running container, in Debian's Chromium.

The app is rendered with e2e: true, built on the stand-in base image (tests/infra/standin-images.sh)
and started with its own compose file; the end-to-end step of its CI workflow then runs as written,
with PLAYWRIGHT_CHROMIUM_EXECUTABLE pointing at /usr/bin/chromium (tests/infra/chromium.sh), since
`playwright install` cannot download a browser here. A planted break (the page's heading changed)
must make the same tests fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.deploy import harness

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("deploy-box")]

CHROMIUM = "/usr/bin/chromium"
NAME = "e2e-py"


@pytest.fixture(scope="module")
def browser() -> str:
    try:
        harness.ensure_infra()
        harness.sh(["sh", str(harness.INFRA / "chromium.sh")], timeout=1800)
    except Exception as exc:
        pytest.fail(f"the end-to-end tests need Docker, the stand-in images and Chromium: {exc}", pytrace=False)
    return shutil.which("chromium") or CHROMIUM


@pytest.fixture(scope="module")
def repo(tmp_path_factory, browser) -> Path:
    """The rendered app, with its e2e environment installed from its lock as the CI job does."""
    repo = harness.render_app(
        tmp_path_factory.mktemp("e2e") / NAME, app_name=NAME, stack="python", e2e=True, proxy="none", llm_review=False
    )
    install = _e2e_steps(repo)["Install the app and a browser"].splitlines()
    assert install[0].startswith("uv sync --locked --group e2e"), install
    assert "playwright install" in install[1]  # the runner downloads its browser; here it is Chromium's package
    _run(install[0], repo)
    return repo


def _e2e_steps(repo: Path) -> dict[str, str]:
    workflow = YAML(typ="safe").load((repo / ".github/workflows/ci-python.yml").read_text())
    return {step["name"]: step["run"] for step in workflow["jobs"]["e2e"]["steps"] if "run" in step}


def _uv_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "UV_PYTHON": sys.executable, "UV_PYTHON_DOWNLOADS": "never", **extra}
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"):
        env.pop(name, None)
    bin_dir = str(Path(sys.executable).parent)  # uv from the [test] extra
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(command: str, repo: Path, **env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", command],
        cwd=repo,
        env=_uv_env(**env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, f"{command} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@contextlib.contextmanager
def _running(repo: Path, project: str) -> Iterator[str]:
    """Build the app's image on the stand-in base and start it with compose; yields its BASE_URL."""
    port = harness.free_port()
    (repo / ".env").write_text(f"COMPOSE_FILE=compose.yaml\nAPP_HOST_PORT={port}\nAPP_BIND=127.0.0.1\n")
    compose = ["docker", "compose", "-p", project]
    try:
        harness.sh([*compose, "build", "--build-arg", f"BASE_IMAGE={harness.STANDIN['python']}"], cwd=repo, timeout=900)
        harness.sh([*compose, "up", "-d", "--wait", "--wait-timeout", "120"], cwd=repo, timeout=300)
        yield f"http://127.0.0.1:{port}"
    finally:
        harness.sh([*compose, "down", "--volumes", "--rmi", "all"], cwd=repo, check=False, timeout=300)


def _e2e(repo: Path, base_url: str, browser: str) -> subprocess.CompletedProcess[str]:
    command = _e2e_steps(repo)["End-to-end tests"]
    assert command == "uv run --no-sync pytest e2e --browser chromium"
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", command],
        cwd=repo,
        env=_uv_env(BASE_URL=base_url, PLAYWRIGHT_CHROMIUM_EXECUTABLE=browser),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_playwright_tests_pass_against_the_running_container(repo, browser):
    with _running(repo, "studio-e2e-py-ok") as base_url:
        proc = _e2e(repo, base_url, browser)
    assert proc.returncode == 0, f"e2e failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert "1 passed" in proc.stdout


def test_a_changed_heading_fails_them(repo, browser):
    main = repo / "app" / "main.py"
    text = main.read_text()
    heading = "<h1>{settings.app_name}</h1>"
    assert heading in text
    main.write_text(text.replace(heading, "<h1>Welcome</h1>"))
    try:
        with _running(repo, "studio-e2e-py-broken") as base_url:
            proc = _e2e(repo, base_url, browser)
    finally:
        main.write_text(text)
    assert proc.returncode == 1, f"the planted break went unnoticed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert "1 failed" in proc.stdout and "Welcome" in proc.stdout
