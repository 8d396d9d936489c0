"""Node stack with `e2e: true`: the rendered Playwright tests pass against the running container
in Chromium, and fail once the page's heading changes."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.e2e.stack import ComposedApp, have, playwright_env, render


def _playwright(app: ComposedApp) -> subprocess.CompletedProcess:
    # The rendered CI's command; the list reporter (instead of CI's GitHub annotations) names each test.
    return subprocess.run(
        ["npm", "run", "test:e2e", "--", "--reporter=list"],
        cwd=app.repo,
        env=playwright_env(app),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def node_app(e2e_infra, tmp_path_factory):
    have("npm")
    app = render(tmp_path_factory.mktemp("e2e") / "app", f"e2enode{os.getpid()}", "node")
    # The Playwright test runner from the lock, as the rendered CI installs it (no browser download).
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=app.repo, check=True, capture_output=True, timeout=600)
    try:
        app.up()
        yield app
    finally:
        app.down()


def test_playwright_passes_against_the_container(node_app):
    proc = _playwright(node_app)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "2 passed" in out and "[chromium]" in out, out[-4000:]


def test_a_changed_heading_fails_the_playwright_tests(node_app):
    source = node_app.repo / "src" / "app.ts"
    text = source.read_text()
    broken = text.replace("<body><h1>${name}</h1>", "<body><h1>Welcome</h1>")
    assert broken != text, "the home page's heading is no longer where this test plants its break"
    source.write_text(broken)
    try:
        node_app.up()
        proc = _playwright(node_app)
    finally:
        source.write_text(text)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-4000:]
    # Only the page test fails, on the heading; the health test still passes.
    assert "1 failed" in out and "1 passed" in out, out[-4000:]
    assert "home page shows the app and its version" in out and "Welcome" in out, out[-4000:]
